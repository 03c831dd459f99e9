"""What the benchmarks share: virtualenvs of the reference tools they compare with (never
jointfit dependencies) and runs of a script in a fresh interpreter that answers in JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


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
