"""fit_catalogue: many small simulated X-ray spectra fitted on a 2-worker LocalCluster."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from scipy import stats

import jointfit.catalogue
from jointfit import DataList, JointLikelihood, Model, PointSource, Powerlaw, TbAbs, fit_catalogue
from jointfit.errors import AnalysisError
from jointfit_ogip import OGIPLike, Response

N_SOURCES = 20
CORRUPT = "src_corrupt"
INDEX = "src.spectrum.main.composite.index_1"
BANDS = [(0.5, 2.0), (2.0, 10.0)]
N_DRAWS = 300  # draws of the MLE's Gaussian approximation: the fluxes' intervals


def small_response() -> Response:
    """0.2-12 keV in 48 bins onto 16 channels of 0.3-10 keV, 400 cm2: a fit of an
    absorbed power law takes a fraction of a second."""
    edges = np.geomspace(0.2, 12.0, 49)
    channel_edges = np.geomspace(0.3, 10.0, 17)
    centres = np.sqrt(edges[:-1] * edges[1:])
    cdf = stats.norm.cdf(channel_edges[None, :], centres[:, None], 0.1 * centres[:, None])
    return Response(edges[:-1], edges[1:], np.arange(1, channel_edges.size), channel_edges[:-1],
                    channel_edges[1:], np.diff(cdf, axis=1) * 400.0, "small", has_area=True)


def build(path: str) -> JointLikelihood:
    """One catalogue row: a PHA file (its RSP beside it) fitted with an absorbed power law."""
    shape = Powerlaw(K=0.01, index=-2.0) * TbAbs(NH=1.0)
    shape.NH_2.bounds = (1e-3, 20.0)
    shape.index_1.bounds = (-5.0, 1.0)
    model = Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape))
    return JointLikelihood(model, DataList(OGIPLike("xray", path)))


def build_badly(item: str) -> object:
    if item == "raise":
        raise ValueError("no spectrum for this row")
    return "not an analysis"


def build_dying_once(item: tuple[str, str | None]) -> JointLikelihood:
    """``build`` of (spectrum, marker): a row with a marker not yet written kills its
    worker process (after writing the marker), as a node lost mid-task."""
    path, marker = item
    if marker is not None and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return build(path)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def spectra(tmp_path_factory) -> dict[str, str]:
    """20 simulated spectra of random N_H, index and K, and one file that is not FITS."""
    folder = tmp_path_factory.mktemp("spectra")
    response, rng = small_response(), np.random.default_rng(26)
    items = {}
    for i in range(N_SOURCES):
        truth = Powerlaw(K=rng.uniform(0.01, 0.05), index=rng.uniform(-2.4, -1.4)) * TbAbs(NH=rng.uniform(0.5, 3.0))
        plugin = OGIPLike.from_function("xray", truth, response, exposure=2e4, seed=100 + i)
        items[f"src_{i:02d}"] = str(plugin.write_pha(folder / f"src_{i:02d}")["observation"])
    corrupt = folder / "corrupt.pha"
    corrupt.write_bytes(b"SIMPLE  = this is no FITS file")
    items[CORRUPT] = str(corrupt)
    return items


@pytest.fixture(scope="module")
def catalogue(client, spectra, tmp_path_factory):
    """The catalogue fitted as if interrupted: the first 10 sources, then all of them."""
    output = tmp_path_factory.mktemp("catalogue")
    ids = list(spectra)
    first = fit_catalogue(build, {k: spectra[k] for k in ids[:10]}, output=output, client=client,
                          fluxes=BANDS, progress=False, n_samples=N_DRAWS)
    table = fit_catalogue(build, spectra, output=output, client=client, fluxes=BANDS,
                          progress=False, n_samples=N_DRAWS)
    return output, first, table


def test_a_rerun_fits_only_the_sources_not_finished(catalogue):
    _, first, table = catalogue
    assert (first.attrs["fitted"], first.attrs["skipped"]) == (10, 0)
    assert (table.attrs["fitted"], table.attrs["skipped"]) == (N_SOURCES + 1 - 10, 10)
    pd.testing.assert_frame_equal(table.loc[first.index, first.columns], first)


def test_the_summary_equals_the_same_fits_run_one_by_one(catalogue, spectra):
    output, _, table = catalogue
    ok = table[table.status == "ok"]
    assert sorted(ok.index) == sorted(k for k in spectra if k != CORRUPT)
    for i, sid in enumerate(ok.index):
        results = build(spectra[sid]).fit(quiet=True, n_samples=N_DRAWS)
        best = results.point_estimates()
        for name in results.free_parameters:
            assert ok.loc[sid, name] == pytest.approx(best.loc[name, "value"], rel=1e-6), (sid, name)
            assert ok.loc[sid, f"{name}_upper"] - ok.loc[sid, name] == pytest.approx(
                best.loc[name, "positive_error"], rel=1e-4), (sid, name)
        if i % 7 == 0:  # the fluxes cost more than the fit: a few suffice
            flux = results.get_flux(2.0, 10.0)
            assert ok.loc[sid, "flux_2-10keV"] == pytest.approx(flux["value"].iloc[0], rel=1e-6)
            assert ok.loc[sid, "flux_2-10keV_lower"] == pytest.approx(flux["lower"].iloc[0], rel=1e-6)
    # every finished source has its results file, its status record and nothing half-written
    assert sorted(p.stem for p in output.glob("*.nc")) == sorted(ok.index)
    assert not list(output.glob(".*"))
    assert json.loads((output / "src_03.json").read_text())["row"]["status"] == "ok"
    on_disk = pd.read_csv(output / "summary.csv", index_col="id")
    assert on_disk.loc["src_03", INDEX] == pytest.approx(table.loc["src_03", INDEX], rel=1e-12)
    assert (table.wall_time_s > 0).all()


def test_a_corrupt_file_is_a_failed_row_naming_it(catalogue, spectra):
    _, _, table = catalogue
    assert (table.status == "failed").sum() == 1
    assert table.loc[CORRUPT, "status"] == "failed"
    assert "corrupt.pha" in table.loc[CORRUPT, "error"]


def test_deleted_results_are_fitted_again(catalogue, spectra, client, tmp_path, monkeypatch):
    output, _, table = catalogue
    monkeypatch.setattr(jointfit.catalogue, "IN_FLIGHT", 2)  # tasks submitted as others complete
    copy = tmp_path / "copy"
    shutil.copytree(output, copy)
    (copy / "src_04.nc").unlink()
    (copy / "src_07.json").unlink()
    with open(copy / "src_11.nc", "r+b") as file:  # cut short
        file.truncate(1000)
    again = fit_catalogue(build, spectra, output=copy, client=client, fluxes=BANDS,
                          progress=False, n_samples=N_DRAWS)
    # those three and the failed one
    assert (again.attrs["fitted"], again.attrs["skipped"]) == (4, N_SOURCES - 3)
    assert again.loc["src_11", INDEX] == pytest.approx(table.loc["src_11", INDEX], rel=1e-9)


def test_a_build_that_raises_or_returns_no_analysis_gives_failed_rows(client, tmp_path):
    table = fit_catalogue(build_badly, ["raise", "string"], id=str, output=tmp_path, client=client,
                          progress=False)
    assert list(table.status) == ["failed", "failed"]
    assert "ValueError: no spectrum for this row" in table.loc["raise", "error"]
    assert "build returned a builtins.str, not an analysis" in table.loc["string", "error"]


def test_another_catalogues_folder_and_duplicate_ids_are_refused(catalogue, spectra, tmp_path):
    output, _, _ = catalogue
    with pytest.raises(AnalysisError, match="another catalogue's results.*choose another output folder"):
        fit_catalogue(build_badly, spectra, output=output, client="tcp://nowhere:1")
    with pytest.raises(AnalysisError, match="another catalogue's results"):
        fit_catalogue(build, spectra, method="nuts", output=output, client="tcp://nowhere:1")
    with pytest.raises(AnalysisError, match="duplicate source ids"):
        fit_catalogue(build, ["a.pha", "b.pha"], id=len, output=tmp_path, client="tcp://nowhere:1")
    with pytest.raises(AnalysisError, match="method must be one of"):
        fit_catalogue(build, spectra, method="mcmc", output=tmp_path, client="tcp://nowhere:1")


def test_a_task_whose_worker_died_is_redone_by_dask(catalogue, spectra, client, tmp_path):
    _, _, table = catalogue
    marker = tmp_path / "died"
    items = {sid: (spectra[sid], str(marker) if sid == "src_01" else None) for sid in ["src_00", "src_01", "src_02"]}
    again = fit_catalogue(build_dying_once, items, output=tmp_path / "out", client=client, progress=False,
                          n_samples=N_DRAWS)
    assert marker.exists()
    assert list(again.status) == ["ok"] * 3
    for sid in items:
        assert again.loc[sid, INDEX] == pytest.approx(table.loc[sid, INDEX], rel=1e-6)


def test_the_default_cluster_is_local_and_says_where_its_dashboard_is(tmp_path, capsys):
    table = fit_catalogue(build_badly, ["string"], id=str, output=tmp_path, n_workers=1, progress=True)
    assert list(table.status) == ["failed"]
    assert "Dask dashboard: http" in capsys.readouterr().out
