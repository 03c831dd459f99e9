"""Import time of jointfit against numpyro, measured in the same run.

Each import runs in a fresh interpreter, alternating the two, after one warm-up each
(to compile bytecode); the figure is the ratio of medians. Target: <= 1.5.

Run: ``.venv/bin/python benchmarks/import_time.py [repeats]``
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

TIMER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str) -> float:
    result = subprocess.run([sys.executable, "-c", TIMER.format(module=module)],
                            capture_output=True, text=True, check=True)
    return float(result.stdout.strip())


def main(repeats: int = 9) -> None:
    modules = ("numpyro", "jointfit")
    for module in modules:
        import_seconds(module)  # warm-up: bytecode caches
    samples: dict[str, list[float]] = {m: [] for m in modules}
    for _ in range(repeats):
        for module in modules:
            samples[module].append(import_seconds(module))
    medians = {m: statistics.median(s) for m, s in samples.items()}
    for module in modules:
        print(f"import {module:9s} median {medians[module]:.3f} s over {repeats} fresh interpreters")
    ratio = medians["jointfit"] / medians["numpyro"]
    print(f"ratio jointfit / numpyro = {ratio:.2f} (target <= 1.50)")


if __name__ == "__main__":
    start = time.perf_counter()
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
    print(f"(benchmark took {time.perf_counter() - start:.1f} s)")
