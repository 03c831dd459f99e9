"""Virtualenvs of the reference tools the benchmarks compare with (never jointfit dependencies)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def reference_python(venv: Path, *packages: str) -> Path:
    """The interpreter of ``venv``, made and filled with ``packages`` from pip on first use."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making {venv} with {', '.join(packages)} (first run only)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
    return python
