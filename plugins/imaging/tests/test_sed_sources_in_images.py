"""Sources with a photon spectrum (an SED) in images through filters, checked against
independent numbers: the AB reference computed from physical constants, the band
fluxes by direct adaptive quadrature of the tabulated filter curves, the recovery of
a star's blackbody from three images and a catalogue magnitude, and the equivalence of
a free-magnitude analysis and an SED analysis with as many parameters as bands.

Flux in image units of a source of AB magnitude m, zeropoint zp: 10**(-0.4 (m - zp)).
"""

from __future__ import annotations

import math

import astropy.constants as const
import astropy.units as u
import jax
import numpy as np
import pytest
import speclite.filters
from scipy import integrate

import jointfit as jf
from jointfit import Model, PointSource
from jointfit_imaging import BandMagnitudes, GaussianPSF, ImageLike, simple_wcs
from jointfit_photometry import PhotometryLike

RA, DEC = 187.3119, 12.9783
SHAPE = (33, 37)  # odd: the source at the centre of a pixel, its PSF wholly inside
SCALE = 0.5
ZEROPOINT = 25.1

# photons / (cm2 s keV) at 1 keV of a flat f_nu = 3631 Jy source: N_AB(E) = 3631 Jy / (h E)
AB_PHOTONS_AT_1KEV = (3631.0 * u.Jy / (const.h * (1.0 * u.keV))).to_value(1.0 / (u.cm**2 * u.s * u.keV))
HC_KEV_ANGSTROM = (const.h * const.c).to_value(u.keV * u.AA)


# -- helpers --------------------------------------------------------------------------------------
def image(name: str = "img", *, filter: str | None = None, zeropoint: float = ZEROPOINT, shape=SHAPE,
          scale: float = SCALE, fwhm: float = 1.0, data=None, sigma=None) -> ImageLike:
    data = np.zeros(shape) if data is None else data
    sigma = np.ones(shape) if sigma is None else sigma
    return ImageLike(name, data, sigma=sigma, wcs=simple_wcs(shape, scale, RA, DEC), zeropoint=zeropoint,
                     psf=GaussianPSF(fwhm), filter=filter)


def model_image(model: Model, plugin: ImageLike) -> np.ndarray:
    space = model.compile()
    plugin.setup(space)
    return np.asarray(plugin.model_image(space.unpack(space.initial_theta)))


def star(spectral_shape) -> PointSource:
    source = PointSource("star", RA, DEC, spectral_shape=spectral_shape)
    source.position.ra.free = source.position.dec.free = False  # astrometry known
    return source


def quadrature_ratio(filter_name: str, spectrum, splits_angstrom=()) -> float:
    """AB flux ratio ∫ N T dE / ∫ N_AB T dE, independent of jointfit's filters: the
    speclite curve linearly interpolated in wavelength (photon-counting, zero outside its
    table), scipy.integrate.quad on every tabulated interval (and at ``splits``, where
    the spectrum jumps), in wavelength: N(E) dE = N(hc/λ) hc/λ² dλ, N_AB dE = A dλ / λ.
    ``spectrum``: scalar energy (keV) -> photons / (cm2 s keV)."""
    curve = speclite.filters.load_filter(filter_name)
    lam, response = np.asarray(curve.wavelength, dtype=float), np.asarray(curve.response, dtype=float)
    edges = np.unique(np.concatenate([lam, [s for s in splits_angstrom if lam[0] < s < lam[-1]]]))

    def response_at(w):
        return np.interp(w, lam, response, left=0.0, right=0.0)

    def integral(integrand):
        return math.fsum(integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-12, limit=200)[0]
                         for a, b in zip(edges[:-1], edges[1:]))

    source = integral(lambda w: response_at(w) * spectrum(HC_KEV_ANGSTROM / w) * HC_KEV_ANGSTROM / w**2)
    reference = integral(lambda w: response_at(w) * AB_PHOTONS_AT_1KEV / w)
    return source / reference


def scalar(function):
    """A jointfit spectral function at its current values as a fast scalar callable."""
    compiled = jax.jit(lambda energy: function(energy))
    return lambda energy: float(compiled(energy))


def blackbody(K: float, kT: float):
    """K E² / (exp(E / kT) - 1), written here again (numpy)."""
    return lambda energy: K * energy**2 / math.expm1(energy / kT)


# -- 1. the whole chain from a flat f_nu spectrum ------------------------------------------------
@pytest.mark.parametrize("filter_name", ["decam2014-r", "galex-nuv", "wise2010-W1"])
def test_a_flat_f_nu_source_of_ab_magnitude_m_is_a_band_magnitudes_source_of_magnitude_m(filter_name):
    """N(E) = 10**(-0.4 m) 3631 Jy / (h E), with h from astropy: the AB magnitude is m in
    every filter, whatever the curve, so the image is that of BandMagnitudes(m), whose
    total is 10**(-0.4 (m - zp)): the constant, the ratio and the zeropoint together."""
    m = 19.3
    flat = jf.Powerlaw(K=AB_PHOTONS_AT_1KEV * 10 ** (-0.4 * m), index=-1.0)  # pivot 1 keV
    by_spectrum = model_image(Model(star(flat)), image(filter=filter_name))
    by_magnitude = model_image(Model(star(BandMagnitudes(img=m))), image())
    np.testing.assert_allclose(by_spectrum, by_magnitude, rtol=1e-9, atol=1e-12 * by_magnitude.max())
    # the PSF (11 x 11 pixels) lies wholly inside the box: its total is the flux
    assert by_magnitude.sum() == pytest.approx(10 ** (-0.4 * (m - ZEROPOINT)), rel=1e-12)
    assert by_spectrum.sum() == pytest.approx(10 ** (-0.4 * (m - ZEROPOINT)), rel=1e-9)


# -- 2. any spectrum against a direct quadrature of the filter curve ------------------------------
def reddened_star():
    return jf.Blackbody(K=3e9, kT=6e-4) * jf.Cardelli89(E_BV=0.15)


def reddened_power_law():
    return jf.Powerlaw(K=2e-2, index=-1.7) * jf.Calzetti00(E_BV=0.3)


def reddened_quasar():
    return jf.Powerlaw(K=2e-2, index=-1.5) * jf.Fitzpatrick99(E_BV=0.3)


# The filters' Gauss rules integrate power laws and blackbodies to 1e-9 and a power law
# under one magnitude of a 2175 Å-like bump anywhere in the band to 1e-6 (jointfit.filters);
# the dust laws declare their kinks as breakpoints. Calzetti00 jumps (k by 0.025) at
# 0.63 micron: the reference splits its intervals there.
SMOOTH, BUMPED = 1e-8, 1e-6
CASES = [pytest.param(reddened_star, "galex-nuv", BUMPED, id="Blackbody*Cardelli89-galex-nuv"),
         pytest.param(reddened_star, "decam2014-g", SMOOTH, id="Blackbody*Cardelli89-decam2014-g"),
         pytest.param(reddened_star, "wise2010-W1", SMOOTH, id="Blackbody*Cardelli89-wise2010-W1"),
         pytest.param(reddened_power_law, "galex-nuv", SMOOTH, id="Powerlaw*Calzetti00-galex-nuv"),
         pytest.param(reddened_power_law, "decam2014-g", SMOOTH, id="Powerlaw*Calzetti00-decam2014-g"),
         pytest.param(reddened_power_law, "wise2010-W1", SMOOTH, id="Powerlaw*Calzetti00-wise2010-W1"),
         pytest.param(reddened_quasar, "galex-nuv", BUMPED, id="Powerlaw*Fitzpatrick99-galex-nuv"),
         pytest.param(reddened_quasar, "decam2014-g", SMOOTH, id="Powerlaw*Fitzpatrick99-decam2014-g")]


@pytest.mark.parametrize(("make_spectrum", "filter_name", "tolerance"), CASES)
def test_a_source_s_flux_in_an_image_is_the_direct_quadrature_of_its_spectrum_through_the_filter(
        make_spectrum, filter_name, tolerance):
    """The image's total (its PSF wholly inside the box: the source's flux to ~1e-14)
    against 10**(0.4 zp) times the AB flux ratio by scipy quadrature: 1e-8 relative
    where the band sees smooth spectra, 1e-6 where it sees the 2175 Å bump, what the
    filters' Gauss rules guarantee (jointfit.filters)."""
    spectrum = make_spectrum()
    total = model_image(Model(star(spectrum)), image(filter=filter_name)).sum()
    expected = 10 ** (0.4 * ZEROPOINT) * quadrature_ratio(filter_name, scalar(spectrum), splits_angstrom=(6300.0,))
    assert total == pytest.approx(expected, rel=tolerance)


# -- 3. a star from three images and a catalogue magnitude ---------------------------------------
# the blackbody's K: a sphere of radius R at distance d, N(E) = π (R/d)² 2 E² / (h³ c²) /
# (exp(E/kT) - 1), so K = 2π (R/d)² / (h³ c²); the Sun at 1 kpc, kT = k * 5802 K
TRUE_KT = (const.k_B * 5802.0 * u.K).to_value(u.keV)
TRUE_K = (2 * np.pi * (const.R_sun / (1.0 * u.kpc)) ** 2 / (const.h**3 * const.c**2)).to_value(
    u.keV**-3 * u.cm**-2 * u.s**-1)
STAR_SHAPE = (25, 25)
STAR_ZEROPOINT = 22.5  # nanomaggies
# band: (pixel scale arcsec, PSF FWHM arcsec)
STAR_IMAGES = {"decam2014-g": (0.262, 1.3), "decam2014-r": (0.35, 1.1), "decam2014-z": (0.45, 1.0)}
CATALOGUE = "twomass-J"


def star_image(filter_name: str, data=None, sigma=None, name: str | None = None) -> ImageLike:
    scale, fwhm = STAR_IMAGES[filter_name]
    return image(name or filter_name, filter=filter_name, zeropoint=STAR_ZEROPOINT, shape=STAR_SHAPE, scale=scale,
                 fwhm=fwhm, data=data, sigma=sigma)


def noisy_star(filter_name: str, rng, noise: float, K: float = TRUE_K) -> tuple[np.ndarray, np.ndarray]:
    """Data and sigma of a star of blackbody (K, TRUE_KT) in the band, made without the
    plugin: its flux from the quadrature of its blackbody, times the pixelated PSF centred
    on the centre pixel (where the star is), plus noise of ``noise`` times the peak."""
    scale, fwhm = STAR_IMAGES[filter_name]
    psf = GaussianPSF(fwhm).sample(scale)
    clean = np.zeros(STAR_SHAPE)
    (ky, kx), (cy, cx) = psf.shape, (STAR_SHAPE[0] // 2, STAR_SHAPE[1] // 2)
    clean[cy - ky // 2:cy + ky // 2 + 1, cx - kx // 2:cx + kx // 2 + 1] = psf  # wholly inside
    clean *= 10 ** (0.4 * STAR_ZEROPOINT) * quadrature_ratio(filter_name, blackbody(K, TRUE_KT))
    sigma = np.full(STAR_SHAPE, noise * clean.max())
    return clean + sigma * rng.normal(size=STAR_SHAPE), sigma


@pytest.fixture(scope="module")
def star_fit():
    rng = np.random.default_rng(20240611)
    images = [star_image(name, *noisy_star(name, rng, 0.02)) for name in STAR_IMAGES]  # S/N ~ 200 in each
    true_j = -2.5 * math.log10(quadrature_ratio(CATALOGUE, blackbody(TRUE_K, TRUE_KT)))
    catalogue = PhotometryLike.from_kwargs("twomass", filters=[CATALOGUE], J=(true_j + 0.03 * rng.normal(), 0.03))
    model = Model(star(jf.Blackbody(K=0.6 * TRUE_K, kT=1.3 * TRUE_KT)))
    fit = jf.JointLikelihood(model, jf.DataList(*images, catalogue))
    fit.fit(quiet=True)
    return fit, images, catalogue


def test_the_star_s_temperature_and_normalisation_are_recovered(star_fit):
    """From data made without the plugins (so that an error in their fluxes shows as a
    bias), the maximum-likelihood kT and K are within 3 sigma of the truth (pulls -1.1
    and +0.9 with this seed), and measured (errors 0.5 % and 2.2 %: K's is larger, as K
    and kT trade off at fixed optical flux)."""
    fit, _, _ = star_fit
    estimates = fit.results.point_estimates()
    for parameter, truth in (("kT", TRUE_KT), ("K", TRUE_K)):
        row = estimates.loc[f"star.spectrum.main.Blackbody.{parameter}"]
        assert abs(row["value"] - truth) < 3 * row["positive_error"], parameter
        assert row["positive_error"] < 0.05 * truth, parameter


def test_the_fitted_star_s_band_fluxes_are_the_filter_integrals_of_its_blackbody(star_fit):
    """Images (totals of the model at the best fit), the catalogue plugin's model and
    get_magnitudes against the scipy quadrature of K E² / expm1(E / kT) at the best
    fit: 1e-8 relative (the filters' rules integrate blackbodies to 1e-9)."""
    fit, images, catalogue = star_fit
    estimates = fit.results.point_estimates()["value"]
    values = fit.space.unpack(np.asarray([estimates[name] for name in fit.space.free_names]))
    fitted = blackbody(float(values["star.spectrum.main.Blackbody.K"]), float(values["star.spectrum.main.Blackbody.kT"]))
    ratios = {name: quadrature_ratio(name, fitted) for name in [*STAR_IMAGES, CATALOGUE]}
    for plugin in images:
        total = float(np.sum(plugin.model_image(values)))  # the PSF wholly inside the 25 x 25 box
        assert total == pytest.approx(10 ** (0.4 * STAR_ZEROPOINT) * ratios[plugin.name], rel=1e-8), plugin.name
    assert float(catalogue.flux_ratios(values)[0]) == pytest.approx(ratios[CATALOGUE], rel=1e-8)
    table = fit.results.get_magnitudes(list(ratios))
    for name, ratio in ratios.items():
        flux = table.loc[("star: total", name), "flux density (uJy)"]
        assert flux == pytest.approx(3631e6 * ratio, rel=1e-8), name
        # 1e-8 relative in flux is 1.1e-8 mag
        assert table.loc[("star: total", name), "magnitude"] == pytest.approx(-2.5 * math.log10(ratio), abs=2e-8)


# -- 4. free magnitudes and an SED with as many parameters as bands -------------------------------
TWO_BANDS = {"g": "decam2014-g", "z": "decam2014-z"}
OPTICAL_PIVOT = HC_KEV_ANGSTROM / 6500.0  # keV


def two_band_images(seed: int = 7) -> list[ImageLike]:
    """Images of a 5802 K star (not a power law; the Sun at 10 kpc, g ~ 20) in g and z, noisy."""
    rng = np.random.default_rng(seed)
    return [star_image(name, *noisy_star(name, rng, 0.05, K=TRUE_K / 100.0), name=band)
            for band, name in TWO_BANDS.items()]


def test_free_magnitudes_and_a_two_parameter_sed_fitted_to_two_bands_give_the_same_magnitudes():
    """Two parameters (K, index) map one-to-one onto the two band fluxes, so both
    maximum-likelihood points are the same fluxes, and the errors transform with the
    Jacobian J of the magnitudes (at a maximum the curvature is a tensor).

    How close two fits get: their log-likelihoods (~2e3) are resolved to ~4e-13, which
    places a maximum to ~sqrt(2 * 4e-13) ~ 1e-6 of the errors. Measured: the magnitudes
    agree to 6e-11 of their errors (3.5e-7 with another noise draw), asserted 1e-4 of
    the errors (< 5e-6 mag); J C J^T gives the free magnitudes' errors to 3e-11 (2e-8),
    asserted 1e-5 (relative)."""
    images = two_band_images()
    free = jf.JointLikelihood(Model(star(BandMagnitudes(g=17.0, z=17.0))), jf.DataList(*images))
    free.fit(quiet=True)
    by_band = free.results.point_estimates()
    # pivot in the optical (6500 Å): K and index nearly uncorrelated, so that the Gaussian
    # draws of an MLE fit give the band fluxes' errors (with the default 1 keV, K ~
    # exp(-6 index) at the bands and the draws' fluxes are skewed: g's 68 % interval was
    # m + 0.0002 to m + 0.093)
    power_law = jf.Powerlaw(K=30.0, index=-2.0, piv=OPTICAL_PIVOT)
    sed = jf.JointLikelihood(Model(star(power_law)), jf.DataList(*two_band_images()))  # the same data
    sed.fit(quiet=True)
    table = sed.results.get_magnitudes(list(TWO_BANDS.values()))

    best = sed.results.point_estimates()["value"]
    K, index = best["star.spectrum.main.Powerlaw.K"], best["star.spectrum.main.Powerlaw.index"]
    names = list(sed.space.free_names)
    order = [names.index("star.spectrum.main.Powerlaw.K"), names.index("star.spectrum.main.Powerlaw.index")]
    covariance = sed.covariance[np.ix_(order, order)]
    step = 1e-5
    for band, filter_name in TWO_BANDS.items():
        row = by_band.loc[f"star.spectrum.main.BandMagnitudes.{band}"]
        magnitude, error = row["value"], row["positive_error"]
        sed_magnitude = table.loc[("star: total", filter_name), "magnitude"]
        assert abs(sed_magnitude - magnitude) < 1e-4 * error, band
        assert error < 0.05  # the images measure the magnitudes: the bound above is < 5e-6 mag
        # get_magnitudes' 68 % interval from the fit's 2000 Gaussian draws: m -+ error, to
        # 0.1 error (each percentile of 2000 draws scatters by ~0.035 error)
        bright, faint = table.loc[("star: total", filter_name), ["bright bound", "faint bound"]]
        assert bright == pytest.approx(magnitude - error, abs=0.1 * error), band
        assert faint == pytest.approx(magnitude + error, abs=0.1 * error), band

        # Jacobian of the power law's magnitude: -2.5 / (K ln 10) in K, central difference in index
        # (truncation ~ step² ~ 1e-10), of the independent quadrature's magnitude
        def m(idx, filter_name=filter_name):
            return -2.5 * math.log10(quadrature_ratio(filter_name, lambda e: K * (e / OPTICAL_PIVOT)**idx))

        jacobian = np.array([-2.5 / (K * math.log(10.0)), (m(index + step) - m(index - step)) / (2 * step)])
        assert m(index) == pytest.approx(sed_magnitude, abs=2e-8)
        assert math.sqrt(jacobian @ covariance @ jacobian) == pytest.approx(error, rel=1e-5), band
