"""The `make demo` example runs and says something true."""

from __future__ import annotations

import re

from jointfit.examples import point_source_fluxes


def test_demo_builds_saves_and_fits_the_tutorial(tmp_path, capsys):
    point_source_fluxes.main(tmp_path)
    out = capsys.readouterr().out
    assert "Free parameters (5)" in out and "Linked parameters (1)" in out
    assert "5 free, 1 linked parameter(s)" in out
    assert (tmp_path / "point_source_fluxes_model.yml").exists()
    assert "the linked src1 kT equals src2 kT_1 in every draw: True" in out
    deviations = [float(x) for x in re.findall(r"\(([+-]\d+\.\d) sigma\)", out)]
    assert len(deviations) == 5
    assert max(abs(d) for d in deviations) < 3.0  # the simulated truth lies within the errors
