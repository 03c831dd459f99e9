"""Package-level promises: quiet import, float64, explicit exports, no star imports."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import jointfit

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_import_is_silent_enables_float64_and_loads_no_plugins_or_plotting():
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "import jointfit, jax.numpy as jnp\n"
        "assert jnp.zeros(1).dtype == jnp.float64\n"
        "lazy = ['jointfit_xy', 'matplotlib', 'numpyro', 'ultranest', 'arviz', 'corner', 'pandas', 'scipy']\n"
        "print(','.join(m for m in lazy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr == ""
    assert result.stdout.strip() == ""


def test_all_lists_every_public_name_once_and_each_exists():
    assert len(jointfit.__all__) == len(set(jointfit.__all__))
    for name in jointfit.__all__:
        assert hasattr(jointfit, name), name


def test_no_star_imports_anywhere():
    offenders = []
    for path in [*ROOT.joinpath("jointfit").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py"),
                 *ROOT.joinpath("tests").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_every_error_is_a_jointfit_error():
    from jointfit import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        if name != "JointfitWarning":
            assert issubclass(cls, errors.JointfitError), name
