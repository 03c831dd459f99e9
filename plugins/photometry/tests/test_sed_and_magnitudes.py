"""Posterior-predictive magnitudes (``results.get_magnitudes``) and the broad-band
picture (``plot_sed``) with its unfolded points, checked against independent
calculations."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from scipy import integrate

import jointfit as jf
from jointfit.errors import AnalysisError, UnknownFilterError
from jointfit.filters import get_filter
from jointfit_ogip import OGIPLike
from jointfit_ogip.response import Response
from jointfit_photometry import PhotometryLike, UpperLimit
from jointfit_xy import XYLike

BANDS = ["sdss2010-g", "sdss2010-r", "sdss2010-i", "twomass-J", "twomass-Ks"]
H_ERG_S = 6.62607015e-27
KEV_ERG = 1.602176634e-9


def _ccd_like_response() -> Response:
    """A CCD-like response: Gaussian redistribution (FWHM ~ 140 eV at 1 keV) times a
    smooth effective area, 0.2-12 keV."""
    energies = np.geomspace(0.2, 12.0, 301)
    lo, hi = energies[:-1], energies[1:]
    centre = np.sqrt(lo * hi)
    channels = np.linspace(0.2, 12.0, 181)
    c_lo, c_hi = channels[:-1], channels[1:]
    sigma = 0.06 * np.sqrt(centre)
    matrix = np.exp(-0.5 * ((0.5 * (c_lo + c_hi))[None, :] - centre[:, None]) ** 2 / sigma[:, None] ** 2)
    matrix /= matrix.sum(axis=1, keepdims=True)
    area = 400.0 * np.exp(-((np.log(centre) - np.log(1.5)) ** 2) / 1.2)
    return Response(lo, hi, np.arange(1, c_lo.size + 1), c_lo, c_hi, matrix * area[:, None], "ccd-like", True)


def _magnitudes(function, noise: float = 0.0, seed: int = 0, bands=BANDS) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return {get_filter(b).band: (get_filter(b).ab_magnitude(function) + noise * rng.normal(), 0.05) for b in bands}


@pytest.fixture(scope="module")
def two_component_fit():
    bands = ["sdss2010-*", "twomass-*", "wise2010-W1", "wise2010-W2"]
    names = [f.name for f in jf.filters.get_filters(*bands)]
    truth = jf.Powerlaw(K=2e-3, index=-1.7) + jf.Blackbody(K=5e9, kT=5e-4)
    photometry = PhotometryLike.from_kwargs("catalogue", filters=bands, **_magnitudes(truth, 0.02, bands=names))
    shape = jf.Powerlaw(K=1.5e-3, index=-1.8) + jf.Blackbody(K=3e9, kT=5.5e-4)
    model = jf.Model(jf.PointSource("star", 10.0, 20.0, spectral_shape=shape))
    fit = jf.JointLikelihood(model, jf.DataList(photometry))
    fit.fit()
    return fit, photometry


def test_magnitudes_at_the_best_fit_are_those_of_the_fitted_spectrum(two_component_fit):
    fit, _ = two_component_fit
    table = fit.results.get_magnitudes(["sdss2010-u", "wise2010-W1"])
    best = fit.model.sources["star"].spectral_shape  # the fit leaves the best-fit values in the model
    for name in ("sdss2010-u", "wise2010-W1"):
        row = table.loc[("star: total", name)]
        assert row["magnitude"] == pytest.approx(get_filter(name).ab_magnitude(best), abs=1e-9)
        assert row["bright bound"] < row["faint bound"]
        # an AB magnitude m is 3631 Jy * 10**(-m / 2.5)
        assert row["flux density (uJy)"] == pytest.approx(3631e6 * 10 ** (-0.4 * row["magnitude"]), rel=1e-9)
        assert row["pivot wavelength (AA)"] == pytest.approx(get_filter(name).pivot_wavelength.value, rel=1e-12)


def test_component_fluxes_add_up_to_the_total(two_component_fit):
    fit, _ = two_component_fit
    table = fit.results.get_magnitudes("sdss2010-r", use_components=True, components=["total", "Powerlaw", "Blackbody"])
    flux = table["flux density (uJy)"]
    total = flux[("star: total", "sdss2010-r")]
    parts = flux[("star: Powerlaw", "sdss2010-r")] + flux[("star: Blackbody", "sdss2010-r")]
    assert parts == pytest.approx(total, rel=1e-12)


def test_unknown_filter_in_get_magnitudes(two_component_fit):
    fit, _ = two_component_fit
    with pytest.raises(UnknownFilterError, match="sdss2010-r"):
        fit.results.get_magnitudes("sdss2010_r")


def test_photometry_sed_points_are_the_measured_fluxes(two_component_fit):
    fit, photometry = two_component_fit
    points = photometry.sed_points({})
    for k, band in enumerate(photometry.active_bands):
        filt = photometry.filters[band]
        magnitude, error = photometry.measurements[band].value, photometry.measurements[band].error
        # nu F_nu at the pivot wavelength: c / lambda_p * 3631 Jy * 10**(-m / 2.5)
        nu = 2.99792458e18 / filt.pivot_wavelength.value  # Hz
        assert points.nufnu[k] == pytest.approx(nu * 3631e-23 * 10 ** (-0.4 * magnitude), rel=1e-9)
        assert points.nufnu_low[k] == pytest.approx(nu * 3631e-23 * 10 ** (-0.4 * (magnitude + error)), rel=1e-9)
        lo, hi = points.energy_low[k], points.energy_high[k]
        assert lo < points.energy[k] < hi
        assert filt.photon_response(np.array([lo, hi])) == pytest.approx(0.5 * filt.response.max(), rel=0.02)


def test_upper_limits_are_drawn_as_limits():
    photometry = PhotometryLike("limits", ["sdss2010-g", "sdss2010-r"],
                                {"g": UpperLimit(23.5, 0.3), "r": (21.0, 0.05)})
    model = jf.Model(jf.PointSource("s", 0.0, 0.0, spectral_shape=jf.Powerlaw(K=1e-3, index=-2.0)))
    jf.JointLikelihood(model, jf.DataList(photometry))  # sets the plugin up
    points = photometry.sed_points({})
    assert points.upper_limit.tolist() == [True, False]


@pytest.fixture(scope="module")
def xray_and_optical():
    truth = jf.Broken_powerlaw(K=1e-3, xb=0.5, alpha=-1.6, beta=-2.1) * jf.TbAbs(NH=0.05)
    spectrum = OGIPLike.from_function("xrt", truth, _ccd_like_response(), exposure=2e4, seed=1)
    photometry = PhotometryLike.from_kwargs("grond", filters=BANDS, **_magnitudes(truth, 0.03, seed=3))
    shape = jf.Broken_powerlaw(K=1e-3, xb=0.3, alpha=-1.5, beta=-2.0) * jf.TbAbs(NH=0.05)
    shape.NH_2.free = False
    model = jf.Model(jf.PointSource("grb", 10.0, 20.0, spectral_shape=shape))
    fit = jf.JointLikelihood(model, jf.DataList(spectrum, photometry))
    fit.fit()
    return fit, spectrum, truth


def test_unfolded_xray_points_scale_the_model_by_data_over_model_counts(xray_and_optical):
    fit, spectrum, _ = xray_and_optical
    values = fit.space.unpack(np.asarray(fit.results.samples_matrix[:1]).ravel())
    points = spectrum.sed_points({k: np.asarray(v)[None] for k, v in values.items()}, min_significance=4.0)
    shape = fit.model.sources["grb"].spectral_shape
    with_draw = {path: float(v) for path, v in values.items()}
    prefix = "grb.spectrum.main.composite."
    local = {k[len(prefix):]: v for k, v in with_draw.items() if k.startswith(prefix)}
    # independent numbers: the model's nuFnu by direct evaluation, and the counts of each
    # display group from the data and from the plugin's folded model
    nufnu_model = np.asarray(shape.evaluate_with(points.energy, local)) * points.energy**2 * KEV_ERG
    counts = np.asarray(spectrum.observation.counts, dtype=float)
    expected = np.asarray(spectrum.expected_counts(values))
    lo = spectrum.response.channel_lo[spectrum.binning.channel_index]
    for k in range(points.energy.size):
        inside = (lo >= points.energy_low[k] - 1e-12) & (lo < points.energy_high[k] - 1e-12)
        ratio = counts[spectrum.binning.channel_index][inside].sum() / expected[inside].sum()
        assert points.nufnu[k] == pytest.approx(ratio * nufnu_model[k], rel=1e-9)
        significance = counts[spectrum.binning.channel_index][inside].sum() ** 0.5
        assert significance >= 4.0 or k == points.energy.size - 1


def test_plot_sed_draws_every_data_set_and_the_model(xray_and_optical):
    fit, _, _ = xray_and_optical
    figure = jf.plot_sed(fit, n_draws=50)
    ax = figure.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert {"xrt", "grond", "model: grb: total"} <= set(labels)
    low, high = ax.get_xlim()
    assert low < get_filter("twomass-Ks").energy_range[0] and high > 12.0
    # the model band spans the data: the median curve at 1 keV is the fitted nuFnu there
    line = next(line for line in ax.get_lines() if line.get_label() == "model: grb: total")
    x, y = line.get_data()
    fitted = fit.model.sources["grb"].spectral_shape
    at_one_kev = float(np.interp(0.0, np.log(x), np.log(y)))
    assert np.exp(at_one_kev) == pytest.approx(float(fitted(np.array([1.0]))[0]) * KEV_ERG, rel=0.05)
    assert len(ax.child_axes) == 2  # frequency and wavelength on top


def test_plot_sed_without_any_data_set_that_has_points():
    x = np.geomspace(1.0, 10.0, 8)
    data = XYLike("xy", x, 2.0 * x**-2.0, yerr=0.1 * np.ones(8))
    model = jf.Model(jf.PointSource("s", 0.0, 0.0, spectral_shape=jf.Powerlaw(K=2.0, index=-2.0)))
    fit = jf.JointLikelihood(model, jf.DataList(data))
    fit.fit()
    with pytest.raises(AnalysisError, match="SED picture"):
        jf.plot_sed(fit)


def test_xy_points_against_a_direct_integral_of_the_filter():
    """A direct check of the AB flux on which the whole file rests: a power law's flux
    through sdss r by scipy quadrature of the speclite curve in wavelength."""
    import speclite.filters

    curve = speclite.filters.load_filter("sdss2010-r")
    hc = 12.398419843320026  # keV Å

    def rate(spectrum):
        pieces = zip(curve.wavelength[:-1], curve.wavelength[1:])
        return sum(integrate.quad(lambda w: np.interp(w, curve.wavelength, curve.response) * spectrum(hc / w)
                                  * hc / w**2, a, b, epsrel=1e-12)[0] for a, b in pieces)

    power_law = jf.Powerlaw(K=1e-3, index=-1.5)
    ratio = rate(lambda e: 1e-3 * e**-1.5) / rate(lambda e: 3631e-23 / (H_ERG_S * e))
    assert get_filter("sdss2010-r").ab_flux_ratio(power_law) == pytest.approx(ratio, rel=1e-9)


def test_a_filter_outside_a_spectral_shape_s_range_is_refused_at_setup():
    from jointfit.errors import PluginError

    strict = jf.Powerlaw(K=1e-3, index=-2.0) * jf.Calzetti00(E_BV=0.1, outside_range="refuse")
    model = jf.Model(jf.PointSource("s", 0.0, 0.0, spectral_shape=strict))
    # Calzetti et al. (2000) is defined from 0.12 to 2.2 micron: the r band lies inside, WISE W1 (3.4 micron) not
    inside = PhotometryLike("inside", ["sdss2010-r"], {"r": (20.0, 0.1)})
    jf.JointLikelihood(model, jf.DataList(inside))
    outside = PhotometryLike("outside", ["sdss2010-r", "wise2010-W1"], {"r": (20.0, 0.1), "W1": (19.0, 0.1)})
    with pytest.raises(PluginError, match="wise2010-W1.*band_W1.on = False"):
        jf.JointLikelihood(model, jf.DataList(outside))
    outside.band_W1.on = False
    jf.JointLikelihood(model, jf.DataList(outside))


def test_pictures_of_an_analysis_redo_the_set_up_another_analysis_of_the_same_plugins_changed(xray_and_optical):
    fit, spectrum, _ = xray_and_optical
    other = jf.Model(jf.PointSource("other", 0.0, 0.0, spectral_shape=jf.Powerlaw(K=1e-3, index=-2.0)))
    jf.JointLikelihood(other, jf.DataList(spectrum))  # sets the spectrum up for another model
    figure = jf.plot_sed(fit, n_draws=20)  # draws the first analysis' model again
    assert "xrt" in figure.axes[0].get_legend_handles_labels()[1]
