"""What the benchmarks share: virtualenvs of the reference tools they compare with (never
jointfit dependencies) and runs of a script in a fresh interpreter that answers in JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

# The 3ML tutorial's model without priors, as astromodels code (the benchmarks' 3ML
# scripts put it where their text says ``# the tutorial's model``).
THREEML_TUTORIAL_MODEL = textwrap.dedent("""
    spectrum_1 = Blackbody()
    spectrum_2 = Blackbody() + Powerlaw_flux(a=10, b=500)
    spectrum_2.F_2.bounds = (None, None)
    spectrum_2.index_2.bounds = (None, None)
    model = Model(PointSource("src1", ra=1, dec=20, spectral_shape=spectrum_1),
                  PointSource("src2", ra=2, dec=-10, spectral_shape=spectrum_2))
    model.link(model.src1.spectrum.main.Blackbody.kT, model.src2.spectrum.main.composite.kT_1)
""").strip() + "\n"


def with_tutorial_model(script: str) -> str:
    """``script`` with the line ``# the tutorial's model`` replaced by that model."""
    if "# the tutorial's model\n" not in script:
        raise ValueError("the script has no '# the tutorial's model' line")
    return script.replace("# the tutorial's model\n", THREEML_TUTORIAL_MODEL)


def reference_python(venv: Path, *packages: str) -> Path:
    """The interpreter of ``venv``, made on first use; ``packages`` are pip-installed
    into it once each (a stamp file in the venv lists those installed)."""
    python = venv / "bin" / "python"
    stamp = venv / "installed-by-benchmarks.txt"
    if not python.exists():
        print(f"making {venv} (first run only)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    installed = set(stamp.read_text().split()) if stamp.exists() else set()
    missing = [p for p in packages if p not in installed]
    if missing:
        print(f"installing {', '.join(missing)} into {venv}...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *missing], check=True)
        stamp.write_text("\n".join(sorted(installed | set(missing))) + "\n")
    return python


def run_json(python: Path | str, arguments: list[str], env: dict | None = None, cwd: Path | None = None) -> dict:
    """Run ``python arguments...`` in a fresh process (``env`` added to the environment)
    and return the JSON object it prints last."""
    completed = subprocess.run([str(python), *arguments], capture_output=True, text=True, cwd=cwd,
                               env={**os.environ, **(env or {})})
    if completed.returncode:
        raise RuntimeError(f"{' '.join(arguments[:3])} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
