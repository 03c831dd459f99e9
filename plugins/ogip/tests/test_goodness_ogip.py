"""Goodness of fit of X-ray spectra by simulation: the statistics a check compares, and
checks that pass a right model and fail a wrong one."""

from __future__ import annotations

import numpy as np
import pytest
from test_absorbed_fit import soft_xray_response

from jointfit import statistics as stats
from jointfit import (DataList, JointLikelihood, Model, PointSource, Powerlaw, TbAbs, load_analysis_results,
                      posterior_predictive_check)
from jointfit_ogip import OGIPLike

TRUTH = Powerlaw(K=0.02, index=-1.8) * TbAbs(NH=2.0)


def spectrum(**options) -> OGIPLike:
    return OGIPLike.from_function("xray", TRUTH, soft_xray_response(), exposure=2e4, seed=11, **options)


def fitted(shape, plugin: OGIPLike) -> JointLikelihood:
    analysis = JointLikelihood(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)), DataList(plugin))
    analysis.fit(quiet=True)
    return analysis


@pytest.fixture(scope="module")
def absorbed_fit() -> JointLikelihood:
    return fitted(Powerlaw(K=0.01, index=-2.0) * TbAbs(NH=1.0), spectrum())


def test_the_discrepancy_of_the_data_is_the_cstat_by_numpy(absorbed_fit):
    plugin = absorbed_fit.data["xray"]
    values = absorbed_fit.space.unpack(absorbed_fit._current_theta())
    n, m = np.asarray(plugin.observed_data()), np.asarray(plugin.expected_counts(values))
    by_numpy = 2.0 * np.sum(m - n + np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / m), 0.0))
    assert float(plugin.discrepancy(values, plugin.observed_data())) == pytest.approx(by_numpy, rel=1e-12)
    assert float(plugin.statistic_value(values)) == pytest.approx(by_numpy, rel=1e-12)
    assert absorbed_fit.results.fit_statistics["xray"] == ("cstat", pytest.approx(by_numpy, rel=1e-9))
    label, energies = plugin.data_axis()
    assert label == "energy (keV)" and energies.size == plugin.n_bins and np.all(np.diff(energies) > 0)


def test_chi2_checks_background_subtracted_counts():
    background = Powerlaw(K=2.0, index=-1.0)
    plugin = OGIPLike.from_function("xray", TRUTH, soft_xray_response(), exposure=2e4, seed=11,
                                    background_function=background, statistic="chi2", chi2_variance="gehrels")
    analysis = fitted(Powerlaw(K=0.01, index=-2.0) * TbAbs(NH=1.0), plugin)
    binning = plugin.binning
    net = binning.sum(plugin.observation.counts) - plugin.background_scale(binning) * binning.sum(
        plugin.background.counts)
    np.testing.assert_allclose(np.asarray(plugin.observed_data()), net, rtol=1e-12)
    check = analysis.goodness_of_fit(n_draws=300, quiet=True)
    assert check.table().loc["xray", "statistic"] == "chi2" and 0.01 < check.p_value() <= 1.0


def test_an_absorbed_power_law_passes_and_a_bare_one_fails(absorbed_fit):
    good = absorbed_fit.goodness_of_fit(n_draws=400, seed=1, quiet=True)
    assert good.p_value() > 0.05 and good.table().loc["xray", "p_value_cumulative"] > 0.05
    # N_H = 2e22 cuts the spectrum below 1 keV: a bare power law cannot follow it
    bare = fitted(Powerlaw(K=0.01, index=-2.0), absorbed_fit.data["xray"])
    bad = bare.goodness_of_fit(n_draws=400, seed=1, quiet=True)
    assert bad.p_value() < 0.0025 and bad.table().loc["xray", "p_value_cumulative"] < 0.0025
    observed, simulated = bad.discrepancies("xray")
    assert np.median(observed) > np.percentile(simulated, 99.9)


def test_wstat_is_checked_with_the_background_held():
    plugin = OGIPLike.from_function("xray", TRUTH, soft_xray_response(), exposure=2e4, seed=11,
                                    background_function=Powerlaw(K=2.0, index=-1.0), statistic="wstat")
    analysis = fitted(Powerlaw(K=0.01, index=-2.0) * TbAbs(NH=1.0), plugin)
    check = posterior_predictive_check(analysis, n_draws=300, seed=0)
    observed, simulated = check.discrepancies("xray")
    assert np.all(np.isfinite(observed)) and np.all(np.isfinite(simulated))
    assert check.p_value() > 0.01
    # the counts simulated include the scaled background counts
    assert check.table().loc["xray", "statistic"] == "cstat (source + background)"
    # on counts simulated around source + the background W-stat profiles, which is
    # near the scaled background counts
    values = analysis.space.unpack(analysis._current_theta())
    profiled = np.asarray(plugin.expected_background(values))
    scaled_background = plugin.background_scale(plugin.binning) * plugin.binning.sum(plugin.background.counts)
    np.testing.assert_allclose(profiled, stats.wstat_profile_background(
        plugin.binning.sum(plugin.observation.counts), plugin.binning.sum(plugin.background.counts),
        plugin.expected_counts(values), plugin.background_scale(plugin.binning)), rtol=1e-12)
    assert np.sum(profiled) == pytest.approx(np.sum(scaled_background), rel=0.02)
    simulated = check.simulated_data("xray").mean(axis=0)
    assert np.sum(simulated) == pytest.approx(np.sum(np.asarray(plugin.expected_counts(values)) + profiled), rel=0.02)


def test_the_data_unfolded_without_a_model_follow_the_true_spectrum():
    from jointfit.sed import KEV_TO_ERG
    from jointfit_ogip.plots import unfolded_points

    truth = Powerlaw(K=0.02, index=-1.8) * TbAbs(NH=0.3)
    plugin = OGIPLike.from_function("xray", truth, soft_xray_response(), exposure=2e4, seed=11,
                                    background_function=Powerlaw(K=0.5, index=-1.0))
    plugin.set_active_measurements("0.5-9", quiet=True)
    points = unfolded_points(plugin, min_significance=5.0)
    assert points.energy_low[0] >= 0.5 - 0.05 and points.energy_high[-1] <= 9.0 + 0.05
    assert not points.upper_limit.any()
    # where the spectrum is smooth on the scale of the 150 eV resolution: a flat
    # spectrum's fold divides out the response
    smooth = points.energy > 1.0
    true = np.asarray(truth(points.energy[smooth])) * points.energy[smooth] ** 2 * KEV_TO_ERG
    pull = (points.nufnu[smooth] - true) / (points.nufnu_high[smooth] - points.nufnu[smooth])
    assert np.all(np.abs(pull) < 4.0) and abs(np.mean(pull)) < 4.0 / np.sqrt(pull.size)
    figure = plugin.view_unfolded_spectrum()
    assert figure.axes[0].get_xscale() == "log" and "no model" in figure.axes[0].get_title()


def test_results_read_back_rebuild_their_spectrum_from_its_files(tmp_path, monkeypatch):
    from jointfit import display_spectrum_model_counts
    from jointfit.errors import AnalysisError, DataError

    simulated = OGIPLike.from_function("sim", TRUTH, soft_xray_response(), exposure=2e4, seed=11,
                                       background_function=Powerlaw(K=2.0, index=-1.0))
    paths = simulated.write_pha(tmp_path / "obs")
    monkeypatch.chdir(tmp_path)
    plugin = OGIPLike("xray", "obs.pha", statistic="wstat")   # a relative path: kept absolute
    plugin.set_active_measurements("0.5-8", exclude="2-2.5", quiet=True)
    plugin.group_optimal()
    plugin.fix_effective_area_correction(0.95)
    analysis = fitted(Powerlaw(K=0.01, index=-2.0) * TbAbs(NH=1.0), plugin)
    saved = analysis.results.write(tmp_path / "fit.nc")
    monkeypatch.chdir("/")
    reloaded = load_analysis_results(saved)
    rebuilt = reloaded.data_list()["xray"]
    assert rebuilt.statistic == "wstat" and rebuilt.n_bins == plugin.n_bins
    np.testing.assert_array_equal(rebuilt.binning.channel_index, plugin.binning.channel_index)
    correction = rebuilt.nuisance_parameters["xray.effective_area_correction"]
    assert not correction.free and correction.value == 0.95
    figure = display_spectrum_model_counts(reloaded)  # no data passed
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["xray"]
    again = posterior_predictive_check(reloaded, n_draws=100, seed=0)
    live = posterior_predictive_check(analysis, n_draws=100, seed=0)
    np.testing.assert_allclose(again.discrepancies()[0], live.discrepancies()[0], rtol=1e-12)
    paths["background"].unlink()
    with pytest.raises(DataError, match="obs_bak.pha"):
        reloaded.data_list()
    in_memory = fitted(Powerlaw(K=0.01, index=-2.0) * TbAbs(NH=1.0), spectrum())
    with pytest.raises(AnalysisError, match=r"the data \['xray'\] cannot be rebuilt from these results"):
        load_analysis_results(in_memory.results.write(tmp_path / "memory.nc")).data_list()
