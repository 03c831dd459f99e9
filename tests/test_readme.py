"""The README's example runs as written."""

from __future__ import annotations

import contextlib
import io
import math
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_prints_a_finite_log_prior():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README should hold a Python example"
    namespace: dict = {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(blocks[0], str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert "Free parameters (5)" in output.getvalue()
    log_prior = float(namespace["space"].log_prior(namespace["space"].initial_theta))
    assert math.isfinite(log_prior)
