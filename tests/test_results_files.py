"""Results are what users of the installed ArviZ expect, and results files move between
ArviZ generations: a file written under ArviZ 0.x (InferenceData) or 1.x (DataTree)
reads under either, every array bit for bit.

The committed files in tests/data/results were written by make_results_files.py there,
one under ArviZ 0.23 and one under ArviZ 1.3; each CI run (one per ArviZ generation)
reads both.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pytest

from jointfit import load_analysis_results
from jointfit.errors import AnalysisError

DATA = Path(__file__).resolve().parent / "data" / "results"
WRITTEN_BY = ("arviz0", "arviz1")
GROUPS = ("posterior", "sample_stats", "log_likelihood")
ARVIZ_1 = int(az.__version__.split(".")[0]) >= 1


def reference(writer: str) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """The arrays and jointfit attributes the results held in memory when written."""
    with np.load(DATA / f"made_by_{writer}.npz") as stored:
        arrays = {key: stored[key] for key in stored.files if key != "attributes"}
        attributes = json.loads(str(stored["attributes"]))
    return arrays, attributes


def arrays_of(results) -> dict[str, np.ndarray]:
    arrays = {}
    for name in GROUPS:
        group = getattr(results.inference_data, name)
        arrays.update({f"{name}/{variable}": np.asarray(group[variable]) for variable in group.data_vars})
    return arrays


def assert_bit_for_bit(found: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(found) == sorted(expected)
    for key, value in expected.items():
        assert found[key].dtype == value.dtype, key
        # same bytes: NaN where NaN, and -0.0 stays -0.0
        assert found[key].shape == value.shape and found[key].tobytes() == value.tobytes(), key


@pytest.mark.parametrize("writer", WRITTEN_BY)
def test_a_file_of_either_arviz_generation_reads_bit_for_bit(writer):
    expected_arrays, expected_attributes = reference(writer)
    results = load_analysis_results(DATA / f"made_by_{writer}.nc")
    assert_bit_for_bit(arrays_of(results), expected_arrays)
    attrs = results.inference_data.posterior.attrs
    for key, value in expected_attributes.items():
        assert attrs[key] == value or (isinstance(value, float) and np.isnan(value) and np.isnan(attrs[key])), key
    # what a user reads from it is the same too
    assert results.free_parameters == ["src.spectrum.main.Line.a", "src.spectrum.main.Line.b"]
    assert results.samples_matrix.shape == (120, 2)
    np.testing.assert_array_equal(results.samples("src.spectrum.main.Line.b"),
                                  expected_arrays["posterior/src.spectrum.main.Line.b"].ravel())


@pytest.mark.parametrize("writer", WRITTEN_BY)
def test_a_file_rewritten_under_this_arviz_reads_back_unchanged(writer, tmp_path):
    results = load_analysis_results(DATA / f"made_by_{writer}.nc")
    again = load_analysis_results(results.write(tmp_path / "rewritten.nc"))
    assert_bit_for_bit(arrays_of(again), reference(writer)[0])
    assert again.information_criteria() == results.information_criteria()
    assert again.model.to_yaml() == results.model.to_yaml()


def test_results_are_the_installed_arviz_container_and_work_with_its_functions():
    """ArviZ 0.x users get an InferenceData, ArviZ 1.x users a DataTree; ArviZ's own
    summary, loo, compare and plot_trace take it as it is."""
    import xarray

    results = load_analysis_results(DATA / "made_by_arviz1.nc")
    data = results.inference_data
    names = results.free_parameters
    if ARVIZ_1:
        assert isinstance(data, xarray.DataTree)
    else:
        assert isinstance(data, az.InferenceData)

    table = az.summary(data, var_names=names)
    assert set(names) <= set(table.index)
    # ArviZ's own mean is the draws' mean
    mean_column = "mean"
    np.testing.assert_allclose(table.loc[names, mean_column].astype(float),
                               results.samples_matrix.mean(axis=0), atol=1e-2)

    loo = az.loo(data, var_name="first")
    elpd = float(loo.elpd if ARVIZ_1 else loo.elpd_loo)
    # for 6 well-fitted Gaussian points PSIS-LOO and WAIC (numpy, Watanabe 2010) agree to
    # a fraction of their penalty (~2.6 here)
    pointwise = np.asarray(data.log_likelihood["first"]).reshape(-1, 6)
    lppd = np.log(np.mean(np.exp(pointwise), axis=0))
    waic = float(np.sum(lppd - pointwise.var(axis=0)))
    assert elpd == pytest.approx(waic, abs=0.5) and elpd < float(np.sum(lppd)) - 1.0

    other = load_analysis_results(DATA / "made_by_arviz0.nc").inference_data
    comparison = az.compare({"arviz1": data, "arviz0": other}, var_name="first")
    assert set(comparison.index) == {"arviz1", "arviz0"}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plotted = az.plot_trace(data, var_names=names)
    assert plotted is not None
    plt.close("all")


def test_a_file_that_is_not_results_is_a_named_error(tmp_path):
    path = tmp_path / "not_results.nc"
    path.write_bytes(b"this is no netCDF file")
    with pytest.raises(AnalysisError, match="is not a results file"):
        load_analysis_results(path)
    with pytest.raises(AnalysisError, match="does not exist"):
        load_analysis_results(tmp_path / "missing.nc")


def test_a_loaded_file_can_be_overwritten_by_its_own_results(tmp_path):
    path = tmp_path / "fit.nc"
    path.write_bytes((DATA / "made_by_arviz0.nc").read_bytes())
    results = load_analysis_results(path)
    results.write(path, overwrite=True)  # the file was read whole and closed
    assert_bit_for_bit(arrays_of(load_analysis_results(path)), reference("arviz0")[0])


def test_results_without_every_group_jointfit_wrote_are_a_named_error(tmp_path):
    results = load_analysis_results(DATA / "made_by_arviz1.nc")
    data = results.inference_data
    if ARVIZ_1:
        del data["log_likelihood"]
    else:
        data = az.InferenceData(posterior=data.posterior, sample_stats=data.sample_stats)
    from jointfit.results import AnalysisResults

    with pytest.raises(AnalysisError, match="lack their log_likelihood group"):
        AnalysisResults(data)
