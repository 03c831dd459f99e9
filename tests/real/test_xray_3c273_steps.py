"""The steps of notebooks/xray_spectrum_3c273_like.ipynb on the real Chandra ACIS files of
3C 273: a fit from the power law's default normalisation lands on Sherpa's numbers, the
checks by simulation pass it, model comparison and fluxes work on real data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointfit import (BayesianAnalysis, Blackbody, DataList, JointLikelihood, Log_uniform_prior, Model, PointSource,
                      Powerlaw, TbAbs, Uniform_prior, compare_models, load_analysis_results,
                      posterior_predictive_check)
from jointfit_ogip import OGIPLike

# Sherpa 4.19, powlaw1d with ref = 1 keV, 0.5-7 keV noticed, cstat, no background (README)
SHERPA_CSTAT = dict(gamma=1.873791, ampl=1.833935e-4, stat=497.1445, bins=446)


def spectrum(shared_data) -> OGIPLike:
    plugin = OGIPLike("acis", shared_data / "ogip-real/chandra-acis-3c273/3c273.pi", background=None,
                      statistic="cstat", group=False)
    plugin.set_active_measurements(0.5, 7.0, quiet=True)
    return plugin


def quasar(shape) -> Model:
    return Model(PointSource("quasar", ra=187.2779, dec=2.0524, spectral_shape=shape))


def test_a_fit_from_the_default_normalisation_is_sherpas_and_passes_its_checks(shared_data, capsys):
    acis = spectrum(shared_data)
    assert acis.n_bins == SHERPA_CSTAT["bins"]
    fit = JointLikelihood(quasar(Powerlaw()), DataList(acis))  # K = 1: a thousand times too bright
    results = fit.fit()
    assert "start: scaled the normalisation K of quasar by" in capsys.readouterr().out
    best = results.point_estimates()["value"]
    assert best["quasar.spectrum.main.Powerlaw.K"] == pytest.approx(SHERPA_CSTAT["ampl"], rel=1e-3)
    assert -best["quasar.spectrum.main.Powerlaw.index"] == pytest.approx(SHERPA_CSTAT["gamma"], rel=1e-3)
    assert results.fit_statistics["acis"] == ("cstat", pytest.approx(SHERPA_CSTAT["stat"], rel=1e-4))
    check = fit.goodness_of_fit(n_draws=400, quiet=True)
    # C-stat 497 in 446 bins is a fair fit of 736 counts
    assert 0.01 < check.p_value() < 0.99 and check.table().loc["acis", "p_value_cumulative"] > 0.01
    figure = check.qq_plot()
    assert figure.axes[1].get_xlabel() == "energy (keV)"
    unfolded = acis.view_unfolded_spectrum()
    assert unfolded.axes[0].get_yscale() == "log"


def test_an_absorbed_power_law_from_defaults_fits_with_its_column_at_a_bound(shared_data):
    """The report's model, TbAbs * Powerlaw from K = 1: it fits, and N_H, which this
    spectrum cannot measure (3C 273's Galactic column is 1.7e20 cm-2), has an
    interval cut at its lower bound."""
    acis = spectrum(shared_data)
    shape = TbAbs(NH=0.1) * Powerlaw()
    shape.NH_1.bounds = (1e-4, 10.0)
    results = JointLikelihood(quasar(shape), DataList(acis)).fit(quiet=True)
    estimates = results.point_estimates()
    k = estimates.loc["quasar.spectrum.main.composite.K_2"]
    assert k["value"] == pytest.approx(SHERPA_CSTAT["ampl"], rel=0.1)
    nh = estimates.loc["quasar.spectrum.main.composite.NH_1"]
    assert nh["value"] + nh["negative_error"] >= 1e-4 and nh["value"] < 0.1


def model_with_priors(kind: str) -> Model:
    if kind == "powerlaw":
        shape = TbAbs(NH=0.1) * Powerlaw()
        shape.K_2.prior = Log_uniform_prior(lower_bound=1e-6, upper_bound=1.0)
        shape.index_2.prior = Uniform_prior(lower_bound=-4.0, upper_bound=0.0)
    else:
        shape = TbAbs(NH=0.1) * Blackbody(K=1e-4, kT=1.0)
        shape.K_2.prior = Log_uniform_prior(lower_bound=1e-10, upper_bound=1.0)
        shape.kT_2.prior = Log_uniform_prior(lower_bound=0.05, upper_bound=20.0)
    shape.NH_1.bounds = (1e-4, 10.0)
    shape.NH_1.prior = Log_uniform_prior(lower_bound=1e-4, upper_bound=10.0)
    return quasar(shape)


def test_models_compared_checked_and_fluxes_with_and_without_absorption(shared_data, tmp_path):
    acis = spectrum(shared_data)
    analyses = {kind: BayesianAnalysis(model_with_priors(kind), DataList(acis)) for kind in ("powerlaw", "blackbody")}
    results = {kind: analysis.sample("ultranest", quiet=True, min_num_live_points=200, seed=1)
               for kind, analysis in analyses.items()}
    table = compare_models(results)
    assert list(table.index) == ["powerlaw", "blackbody"]
    assert table.loc["blackbody", "ln_B"] < -math.log(100) and table.loc["blackbody", "reading"].startswith("decisive")
    good = analyses["powerlaw"].goodness_of_fit(n_draws=300, quiet=True)
    bad = analyses["blackbody"].goodness_of_fit(n_draws=300, quiet=True)
    assert good.p_value() > 0.01 and bad.p_value() < 0.01
    absorbed = results["powerlaw"].get_flux(0.5, 2.0)
    unabsorbed = results["powerlaw"].get_flux(0.5, 2.0, absorbed=False)
    assert unabsorbed.index[0] == "quasar: total (unabsorbed)"
    assert unabsorbed["value"].iloc[0] >= absorbed["value"].iloc[0]
    # 736 counts, a quarter of them below 2 keV: the 0.5-2 keV flux to better than 20 %
    assert absorbed["upper"].iloc[0] - absorbed["lower"].iloc[0] < 0.4 * absorbed["value"].iloc[0]
    reloaded = load_analysis_results(results["powerlaw"].write(tmp_path / "powerlaw.nc"))
    again = posterior_predictive_check(reloaded, data=DataList(acis), n_draws=300)
    np.testing.assert_array_equal(again.discrepancies()[1], good.discrepancies()[1])
