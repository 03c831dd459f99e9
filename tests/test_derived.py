"""Derived quantities on every draw: values against a direct numpy evaluation of the
same formula on the draws, storage in the posterior (and a results file), errors."""

from __future__ import annotations

import astropy.units as u
import jax.numpy as jnp
import numpy as np
import pytest

import jointfit as jf
from jointfit.errors import AnalysisError
from jointfit_xy import XYLike

H_ERG_S = 6.62607015e-27
HC_KEV_AA = 12.398419843320026


@pytest.fixture(scope="module")
def fit():
    x = np.geomspace(1e-3, 10.0, 25)  # 1 eV to 10 keV
    truth = jf.Powerlaw(K=3e-4, index=-1.6)
    rng = np.random.default_rng(2)
    y = np.asarray(truth(x)) * (1.0 + 0.05 * rng.normal(size=x.size))
    data = XYLike("sed", x, y, yerr=0.05 * np.asarray(truth(x)))
    shape = jf.Powerlaw(K=1e-4, index=-1.5)
    shape.K.prior = jf.Log_uniform_prior(lower_bound=1e-6, upper_bound=1e-2)
    shape.index.prior = jf.Uniform_prior(lower_bound=-3.0, upper_bound=0.0)
    analysis = jf.BayesianAnalysis(jf.Model(jf.PointSource("agn", 0.0, 0.0, spectral_shape=shape)), jf.DataList(data))
    return analysis.sample("nuts", num_warmup=300, num_samples=400, num_chains=2, progress_bar=False, quiet=True)


def alpha_ox(draw):
    return 0.3838 * jnp.log10(draw.f_nu("agn", 2 * u.keV) / draw.f_nu("agn", 2500 * u.AA))


def test_alpha_ox_and_a_flux_ratio_against_numpy_on_the_draws(fit):
    table = fit.get_derived({"alpha_ox": alpha_ox,
                             "ratio": lambda d: d.nu_f_nu("agn", 1.0) / d.nu_f_nu("agn", 5e14 * u.Hz)},
                            confidence_level=0.9)
    K, index = fit.samples("agn.spectrum.main.Powerlaw.K"), fit.samples("agn.spectrum.main.Powerlaw.index")
    e_uv = HC_KEV_AA / 2500.0
    # f_nu = h E N(E) with N = K E**index: alpha_ox depends on the index alone
    expected = 0.3838 * np.log10((2.0 * K * 2.0**index) / (e_uv * K * e_uv**index))
    e_optical = 5e14 * H_ERG_S / 1.602176634e-9  # keV
    ratio = (K * 1.0**index * 1.0**2) / (K * e_optical**index * e_optical**2)
    for name, draws in (("alpha_ox", expected), ("ratio", ratio)):
        assert table.loc[name, "value"] == pytest.approx(np.median(draws), rel=1e-9)
        low, high = np.quantile(draws, [0.05, 0.95])
        assert table.loc[name, "lower"] == pytest.approx(low, rel=1e-9)
        assert table.loc[name, "upper"] == pytest.approx(high, rel=1e-9)
    # the truth (index -1.6, f_nu oc E**-0.6) inside the 90 % interval
    assert table.loc["alpha_ox", "lower"] < 0.3838 * -0.6 * np.log10(2.0 / e_uv) < table.loc["alpha_ox", "upper"]


def test_stored_quantities_are_samples_corner_plots_and_files_keep(fit, tmp_path):
    fit.get_derived({"alpha_ox": alpha_ox}, store=True)
    draws = fit.samples("alpha_ox")
    index = fit.samples("agn.spectrum.main.Powerlaw.index")
    np.testing.assert_allclose(draws, 0.3838 * (index + 1.0) * np.log10(2.0 / (HC_KEV_AA / 2500.0)), rtol=1e-10)
    figure = fit.corner_plot(parameters=["agn.spectrum.main.Powerlaw.index", "alpha_ox"])
    assert len(figure.axes) == 4
    assert [figure.axes[2].get_xlabel(), figure.axes[3].get_xlabel()] == ["agn.index", "alpha_ox"]
    again = jf.load_analysis_results(fit.write(tmp_path / "fit.nc"))
    np.testing.assert_array_equal(again.samples("alpha_ox"), draws)
    with pytest.raises(AnalysisError, match="already has"):
        fit.get_derived({"alpha_ox": alpha_ox}, store=True)


def test_a_quantity_that_is_not_one_number_per_draw_is_refused(fit):
    with pytest.raises(AnalysisError, match="one number per draw"):
        fit.get_derived({"spectrum": lambda d: d.f_nu("agn", 1.0) * jnp.ones(3)})
    with pytest.raises(AnalysisError, match="not an energy"):
        fit.get_derived({"bad": lambda d: d.f_nu("agn", 3 * u.s)})


def test_luminosities_at_a_redshift_against_astropy_and_scipy():
    """νL_ν and a band luminosity of an absorbed power law at z = 0.3 in a flat ΛCDM,
    against astropy's distance and scipy's quadrature of the same spectrum."""
    from astropy.cosmology import FlatLambdaCDM
    from scipy import integrate

    from jointfit.derived import Draw, luminosity_distance

    cosmology = FlatLambdaCDM(H0=70.0, Om0=0.3)
    spectrum = jf.TbAbs(NH=0.5) * jf.Powerlaw(K=2e-3, index=-1.8)
    space = jf.Model(jf.PointSource("agn", 0.0, 0.0, spectral_shape=spectrum)).compile()
    draw = Draw(space, space.unpack(space.initial_theta))
    z, distance = 0.3, cosmology.luminosity_distance(0.3).to_value(u.cm)
    assert luminosity_distance(z, cosmology) == pytest.approx(distance, rel=1e-12)
    sphere = 4.0 * np.pi * distance**2
    # rest-frame 2-10 keV is observed at 2/1.3-10/1.3 keV, across absorption edges
    expected, _ = integrate.quad(lambda e: e * float(spectrum(np.array([e]))[0]), 2.0 / 1.3, 10.0 / 1.3,
                                 points=[e for e in space.breakpoints() if 2.0 / 1.3 < e < 10.0 / 1.3],
                                 epsabs=0.0, epsrel=1e-11, limit=200)
    luminosity = float(draw.luminosity("agn", 2.0, 10.0, redshift=z, cosmology=cosmology))
    assert luminosity == pytest.approx(sphere * expected * 1.602176634e-9, rel=1e-8)
    at_rest = HC_KEV_AA / 2500.0
    nu_l_nu = float(draw.nu_l_nu("agn", 2500 * u.AA, redshift=z, cosmology=cosmology))
    observed = at_rest / 1.3
    assert nu_l_nu == pytest.approx(sphere * observed**2 * float(spectrum(np.array([observed]))[0]) * 1.602176634e-9,
                                    rel=1e-12)


@pytest.mark.parametrize("redshift", [-0.1, float("nan"), "z"])
def test_a_redshift_that_gives_no_distance_is_refused(redshift):
    from jointfit.derived import luminosity_distance

    with pytest.raises(AnalysisError, match="redshift must be"):
        luminosity_distance(redshift)
