"""Images seen through their filters: a source with a photon spectrum appears with its
AB flux in the image's filter, beside sources with free band magnitudes."""

from __future__ import annotations

import numpy as np
import pytest

import jointfit as jf
from jointfit import ExtendedSource, Model, PointSource
from jointfit.errors import PluginError
from jointfit.filters import get_filter
from jointfit_imaging import BandMagnitudes, GaussianPSF, ImageLike, Sersic, simple_wcs

RA, DEC = 187.3119, 12.9783
SHAPE = (33, 37)
SCALE = 0.5


def image(**options) -> ImageLike:
    return ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                     zeropoint=22.5, psf=GaussianPSF(1.2), **options)


def model_image(model: Model, plugin: ImageLike) -> np.ndarray:
    space = model.compile()
    plugin.setup(space)
    return np.asarray(plugin.model_image(space.unpack(space.initial_theta)))


def nucleus_spectrum():
    return jf.Powerlaw(K=2e-2, index=-1.7) * jf.Cardelli89(E_BV=0.1)


def test_a_photon_spectrum_appears_with_its_ab_flux_in_the_filter():
    """The same image as a BandMagnitudes source whose magnitude is the spectrum's AB
    magnitude in decam r, computed independently by the filter."""
    magnitude = get_filter("decam2014-r").ab_magnitude(nucleus_spectrum())
    by_spectrum = model_image(Model(PointSource("qso", RA, DEC, spectral_shape=nucleus_spectrum())),
                              image(filter="decam2014-r"))
    by_magnitude = model_image(Model(PointSource("qso", RA, DEC, spectral_shape=BandMagnitudes(r=magnitude))),
                               image())
    np.testing.assert_allclose(by_spectrum, by_magnitude, rtol=1e-10, atol=1e-14)
    assert by_spectrum.sum() == pytest.approx(10 ** (-0.4 * (magnitude - 22.5)), rel=2e-3)  # PSF wings off the box


def test_a_galaxy_with_free_magnitudes_and_a_nucleus_that_follows_its_sed_share_an_image():
    galaxy = ExtendedSource("host", spatial_shape=Sersic(ra=RA, dec=DEC, n=2.0, Re=2.5, q=0.7, PA=20.0),
                            spectral_shape=BandMagnitudes(r=18.0))
    nucleus = PointSource("qso", RA, DEC, spectral_shape=nucleus_spectrum())
    both = model_image(Model(galaxy, nucleus), image(filter="decam2014-r"))
    host_only = model_image(Model(galaxy), image(filter="decam2014-r"))
    nucleus_only = model_image(Model(nucleus), image(filter="decam2014-r"))
    np.testing.assert_allclose(both, host_only + nucleus_only, rtol=1e-10, atol=1e-12)


def test_an_extended_source_with_a_physical_sed():
    sed = jf.Blackbody(K=3e9, kT=5e-4) * jf.Calzetti00(E_BV=0.2)
    shape = Sersic(ra=RA, dec=DEC, n=1.0, Re=3.0, q=0.8, PA=0.0)
    magnitude = get_filter("decam2014-r").ab_magnitude(sed)
    by_spectrum = model_image(Model(ExtendedSource("gal", spatial_shape=shape, spectral_shape=sed)),
                              image(filter="decam2014-r"))
    shape_again = Sersic(ra=RA, dec=DEC, n=1.0, Re=3.0, q=0.8, PA=0.0)
    by_magnitude = model_image(Model(ExtendedSource("gal", spatial_shape=shape_again,
                                                    spectral_shape=BandMagnitudes(r=magnitude))), image())
    np.testing.assert_allclose(by_spectrum, by_magnitude, rtol=1e-10, atol=1e-14)


def test_a_photon_spectrum_in_an_image_without_a_filter_is_refused_with_what_to_add():
    model = Model(PointSource("qso", RA, DEC, spectral_shape=nucleus_spectrum()))
    with pytest.raises(PluginError, match=r"source 'qso' has a photon spectrum .*filter='decam2014-r'"):
        model_image(model, image())


def test_the_summary_says_the_filter_and_the_zeropoint_and_where_they_came_from():
    summary = image(filter="decam2014-r").summary()
    assert summary["filter"] == "decam2014-r" and summary["filter from"] == "speclite's library"
    assert summary["filter pivot wavelength (AA)"] == pytest.approx(get_filter("decam2014-r").pivot_wavelength.value)
    assert summary["zeropoint (AB mag of one image unit)"] == 22.5 and summary["zeropoint from"] == "given"


def test_the_band_flux_follows_the_spectrum_s_parameters_in_a_fit():
    """A power law's normalisation recovered from an image of its point source."""
    truth = jf.Powerlaw(K=2e-2, index=-1.7)
    truth_image = model_image(Model(PointSource("qso", RA, DEC, spectral_shape=truth)), image(filter="decam2014-r"))
    rng = np.random.default_rng(5)
    sigma = 0.02 * truth_image.max()
    data = truth_image + sigma * rng.normal(size=truth_image.shape)
    plugin = ImageLike("r", data, sigma=np.full(SHAPE, sigma), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                       zeropoint=22.5, psf=GaussianPSF(1.2), filter="decam2014-r")
    fitted = jf.Powerlaw(K=1e-2, index=-1.7)
    fitted.index.free = False
    source = PointSource("qso", RA, DEC, spectral_shape=fitted)
    source.position.ra.free = source.position.dec.free = False
    fit = jf.JointLikelihood(Model(source), jf.DataList(plugin))
    fit.fit()
    estimate = fit.results.point_estimates().loc["qso.spectrum.main.Powerlaw.K"]
    assert abs(estimate["value"] - 2e-2) < 3 * estimate["positive_error"]
    assert estimate["positive_error"] < 0.1 * 2e-2  # and the image measures it


def test_a_photon_spectrum_in_an_image_without_a_zeropoint_is_refused():
    plugin = ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                       psf=GaussianPSF(1.2), filter="decam2014-r")
    assert plugin.zeropoint_origin.startswith("not stated")
    model = Model(PointSource("qso", RA, DEC, spectral_shape=nucleus_spectrum()))
    with pytest.raises(PluginError, match=r"source 'qso' has a photon spectrum, whose AB flux .*zeropoint=\.\.\."):
        model_image(model, plugin)


@pytest.mark.parametrize("spectrum, what", [
    (jf.Line(a=-1.0, b=0.0), "is negative or not finite in filter decam2014-r"),
    (jf.Blackbody(K=1e-4, kT=1e-6), "has no flux in filter decam2014-r"),
])
def test_a_spectrum_negative_or_empty_in_the_band_is_refused_before_fitting(spectrum, what):
    model = Model(PointSource("qso", RA, DEC, spectral_shape=spectrum))
    with pytest.raises(PluginError, match=rf"source 'qso' {what}"):
        model_image(model, image(filter="decam2014-r"))


def test_sed_points_measure_the_nucleus_flux_beside_the_host_by_a_linear_fit():
    """The image's νFν point of the SED-driven nucleus: its flux fitted with the host's
    free, within 3 sigma of the truth, with the error of weighted least squares."""
    galaxy = ExtendedSource("host", spatial_shape=Sersic(ra=RA, dec=DEC, n=2.0, Re=2.5, q=0.7, PA=20.0),
                            spectral_shape=BandMagnitudes(r=17.5))
    nucleus = PointSource("qso", RA, DEC, spectral_shape=nucleus_spectrum())
    model = Model(galaxy, nucleus)
    truth = model_image(model, image(filter="decam2014-r"))
    sigma = 0.01 * truth.max()
    data = truth + sigma * np.random.default_rng(3).normal(size=SHAPE)
    plugin = ImageLike("r", data, sigma=np.full(SHAPE, sigma), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                       zeropoint=22.5, psf=GaussianPSF(1.2), filter="decam2014-r")
    space = model.compile()
    plugin.setup(space)
    values = space.unpack(space.initial_theta)
    draws = {path: np.full(3, float(value)) for path, value in values.items()}
    points = plugin.sed_points(draws)
    band = get_filter("decam2014-r")
    truth_ratio = 10 ** (-0.4 * band.ab_magnitude(nucleus_spectrum()))
    to_nufnu = band.effective_energy * 2.417989242084918e17 * 3631e-23
    measured, error = points.nufnu[0] / to_nufnu, (points.nufnu_high[0] - points.nufnu[0]) / to_nufnu
    assert abs(measured - truth_ratio) < 3 * error
    # the nucleus' error alone, were the host known, is sigma / sqrt(sum PSF^2); fitting
    # the host too can only widen it
    psf_only = model_image(Model(nucleus), image(filter="decam2014-r")) / (truth_ratio * 10 ** (0.4 * 22.5))
    known_host_error = sigma / np.sqrt(np.sum(psf_only**2)) * 10 ** (-0.4 * 22.5)
    assert known_host_error <= error < 3 * known_host_error
    assert points.energy[0] == pytest.approx(band.effective_energy)
    assert points.label == "r (qso)"


def test_the_sed_picture_draws_the_nucleus_model_and_each_image_s_point_not_the_host():
    """plot_sed of a fit with a band-magnitude host beside an SED-driven nucleus: the
    model curve is the nucleus' spectrum alone (the host has none), one point per image."""
    import matplotlib

    matplotlib.use("Agg")
    galaxy = ExtendedSource("host", spatial_shape=Sersic(ra=RA, dec=DEC, n=2.0, Re=2.5, q=0.7, PA=20.0),
                            spectral_shape=BandMagnitudes(g=18.0, r=17.5))
    model = Model(galaxy, PointSource("qso", RA, DEC, spectral_shape=nucleus_spectrum()))
    plugins = []
    for band in ("g", "r"):
        plugin = ImageLike(band, np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                           zeropoint=22.5, psf=GaussianPSF(1.2), filter=f"decam2014-{band}")
        space = model.compile()
        plugin.setup(space)
        truth = np.asarray(plugin.model_image(space.unpack(space.initial_theta)))
        sigma = 0.01 * truth.max()
        plugins.append(ImageLike(band, truth + sigma * np.random.default_rng(len(plugins)).normal(size=SHAPE),
                                 sigma=np.full(SHAPE, sigma), wcs=simple_wcs(SHAPE, SCALE, RA, DEC), zeropoint=22.5,
                                 psf=GaussianPSF(1.2), filter=f"decam2014-{band}"))
    fit = jf.JointLikelihood(model, jf.DataList(*plugins))
    fit.fit(quiet=True)
    figure = jf.plot_sed(fit, n_draws=20)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert [label for label in labels if label.startswith("model")] == ["model: qso: total"]
    assert sorted(label for label in labels if not label.startswith("model")) == ["g (qso)", "r (qso)"]
