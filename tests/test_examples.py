"""`make demo`: the 3ML tutorial end to end, on files it writes and reads back."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jointfit.examples import point_source_fluxes
from jointfit.examples.point_source_fluxes import TRUTH
from jointfit.fluxes import FluxCalculator, flux_rows
from jointfit.flux_units import resolve_flux_unit


def test_demo_samples_writes_pictures_and_quotes_fluxes_that_cover_the_truth(tmp_path, capsys):
    out = point_source_fluxes.run(tmp_path, live_points=150, nuts_samples=500, show_status=False)
    printed = capsys.readouterr().out
    assert "Free parameters (5)" in printed and "ln(Z) (natural log)" in printed
    for name in ("fit.nc", "corner.png", "counts.png", "spectra.png", "fluxes.csv", "data/s1.pha", "data/s2.rsp"):
        assert (tmp_path / name).stat().st_size > 0, name
    tables = out["fluxes"]
    assert [list(t.index) for t in tables.values()] == [
        ["src1: total", "src2: total"], ["total"], ["src1: total", "src2: Blackbody", "src2: Powerlaw_flux"],
        ["src1: total", "src2: Blackbody"]]
    saved = pd.read_csv(tmp_path / "fluxes.csv")
    assert len(saved) == 8 and set(saved["unit"]) == {"erg / (s cm2)", "1 / (s cm2)", "erg2 / (s cm2)"}

    # the simulated sources' fluxes lie inside the 99 % intervals of both samplers
    results = out["ultranest"]
    space = results.model.compile()
    truth = np.array([TRUTH[name] for name in space.free_names])
    rows = flux_rows(space, use_components=True)
    expected = FluxCalculator(space).evaluate(truth[None], rows, 10.0, 500.0, resolve_flux_unit("1/(cm2 s)", False))[0]
    for sampled in (results, out["nuts"]):
        table = sampled.get_flux(10.0, 500.0, use_components=True, flux_unit="1/(cm2 s)", confidence_level=0.99)
        assert np.all((table["lower"] < expected) & (expected < table["upper"])), table
    assert abs(expected[2] - 200.0) < 1e-9  # Powerlaw_flux's F is its 10-500 keV photon flux
