"""Recovery on simulated survey cutouts: the three bands of AstroPhot's tutorial, made
smaller (same pixel scales, PSFs and noise), written to FITS and read back."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointfit import BayesianAnalysis, DataList, JointLikelihood
from jointfit.errors import AnalysisError
from jointfit_imaging import magnitude_table
from jointfit_imaging.tutorial import TUTORIAL_TRUTH, read_band_images, tutorial_model, write_band_images

PATHS = {"ra": "galaxy.Sersic.ra", "dec": "galaxy.Sersic.dec", "n": "galaxy.Sersic.n", "Re": "galaxy.Sersic.Re",
         "q": "galaxy.Sersic.q", "PA": "galaxy.Sersic.PA", "r": "galaxy.spectrum.main.BandMagnitudes.r",
         "W1": "galaxy.spectrum.main.BandMagnitudes.W1", "NUV": "galaxy.spectrum.main.BandMagnitudes.NUV"}


@pytest.fixture(scope="module")
def cutouts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cutouts")
    write_band_images(folder, size_factor=0.3, seed=11)
    return folder


def test_written_cutouts_read_back_with_their_wcs_and_variance(cutouts):
    r, w1, nuv = read_band_images(cutouts)
    assert r.image.data.shape == (150, 150) and w1.image.data.shape == (16, 16) and nuv.image.data.shape == (27, 27)
    assert r.zeropoint == 22.5 and nuv.band == "NUV"
    np.testing.assert_allclose(r.image.variance, 0.008**2, rtol=1e-6)
    scale = np.sqrt(abs(np.linalg.det(w1.image.wcs.pixel_scale_matrix))) * 3600
    assert scale == pytest.approx(2.75)
    # the noise is what the variance says: residuals of the truth are unit normal
    model = tutorial_model(TUTORIAL_TRUTH)
    space = model.compile()
    r.setup(space)
    residual = (r.image.data - np.asarray(r.model_image(space.unpack(space.initial_theta)))) / 0.008
    assert abs(residual.mean()) < 0.05 and residual.std() == pytest.approx(1.0, abs=0.03)


@pytest.fixture(scope="module")
def joint_fit(cutouts):
    fit = JointLikelihood(tutorial_model(), DataList(*read_band_images(cutouts)))
    fit.fit(quiet=True)
    return fit


def test_joint_maximum_likelihood_recovers_the_galaxy_more_tightly_than_the_r_band(cutouts, joint_fit):
    images = read_band_images(cutouts)
    fit, model = joint_fit, joint_fit.model
    sigma = np.sqrt(np.diag(fit.covariance))
    for i, path in enumerate(fit.space.free_names):
        key = next(k for k, v in PATHS.items() if v == path)
        assert abs(model.parameters[path].value - TUTORIAL_TRUTH[key]) < 4.0 * sigma[i], path
    r_only = JointLikelihood(tutorial_model(bands=("r",)), DataList(images[0]))
    r_only.fit(quiet=True)
    r_sigma = dict(zip(r_only.space.free_names, np.sqrt(np.diag(r_only.covariance))))
    joint_sigma = dict(zip(fit.space.free_names, sigma))
    for key in ("n", "Re", "q", "PA"):
        assert joint_sigma[PATHS[key]] < r_sigma[PATHS[key]], key


def test_magnitude_table_gives_colours_with_the_bands_correlation(joint_fit):
    table = magnitude_table(joint_fit.results, colours=["NUV - r", ("r", "W1"), "galaxy: NUV - galaxy: r"])
    assert list(table.index) == ["galaxy: r", "galaxy: W1", "galaxy: NUV", "galaxy: NUV - r", "galaxy: r - W1",
                                 "galaxy: NUV - galaxy: r"]
    best = {band: joint_fit.model.parameters[PATHS[band]].value for band in ("r", "W1", "NUV")}
    for band, value in best.items():
        assert table.loc[f"galaxy: {band}", "value"] == value
    assert table.loc["galaxy: NUV - r", "value"] == pytest.approx(best["NUV"] - best["r"], abs=1e-12)
    np.testing.assert_array_equal(table.loc["galaxy: NUV - r"], table.loc["galaxy: NUV - galaxy: r"])
    # the 68 % interval of a colour is +-1 sigma of the difference, correlation included:
    # a^T C a from the fit's covariance, not the two errors in quadrature
    names = list(joint_fit.space.free_names)
    for colour, (first, second) in {"galaxy: NUV - r": ("NUV", "r"), "galaxy: r - W1": ("r", "W1")}.items():
        a = np.zeros(len(names))
        a[names.index(PATHS[first])], a[names.index(PATHS[second])] = 1.0, -1.0
        sigma = math.sqrt(a @ joint_fit.covariance @ a)
        half_width = 0.5 * (table.loc[colour, "upper"] - table.loc[colour, "lower"])
        assert half_width == pytest.approx(sigma, rel=0.06), colour
    hdi = magnitude_table(joint_fit.results, sources=["galaxy"], interval="hdi", confidence_level=0.9)
    assert len(hdi) == 3 and hdi.attrs["interval"] == "hdi" and (hdi["lower"] < hdi["value"]).all()


def test_a_fixed_magnitude_enters_the_table_as_its_value(cutouts):
    model = tutorial_model()
    model.parameters[PATHS["NUV"]].free = False
    fixed = model.parameters[PATHS["NUV"]].value
    fit = JointLikelihood(model, DataList(*read_band_images(cutouts)[:2]))
    fit.fit(quiet=True)
    table = magnitude_table(fit.results, colours=["NUV - r"])
    assert tuple(table.loc["galaxy: NUV"]) == (fixed, fixed, fixed)
    r, colour = table.loc["galaxy: r"], table.loc["galaxy: NUV - r"]
    assert colour["value"] == pytest.approx(fixed - r["value"], abs=1e-12)
    assert colour["upper"] - colour["lower"] == pytest.approx(r["upper"] - r["lower"], rel=1e-9)


@pytest.mark.parametrize("options, message", [
    ({"colours": ["NUV - g"]}, r"no source has magnitudes in both 'NUV' and 'g'; their bands: \{'galaxy': \['r', "),
    ({"colours": ["NUV"]}, r"a colour is two bands, 'NUV - r' or \('NUV', 'r'\)"),
    ({"colours": ["galaxy: NUV - star: r"]}, r"'star: r' is not a magnitude 'source: band' of the table"),
    ({"sources": ["star"]}, r"no source with BandMagnitudes called \['star'\]; the model's are \['galaxy'\]"),
    ({"confidence_level": 1.5}, r"confidence_level must lie in \(0, 1\)"),
    ({"interval": "central"}, r"interval must be one of \('equal-tailed', 'hdi'\), not 'central'"),
])
def test_magnitude_table_names_what_it_cannot_tabulate(joint_fit, options, message):
    with pytest.raises(AnalysisError, match=message):
        magnitude_table(joint_fit.results, **options)


@pytest.mark.slow
def test_joint_posterior_covers_the_truth(cutouts):
    joint = BayesianAnalysis(tutorial_model(), DataList(*read_band_images(cutouts))).sample(
        "nuts", num_warmup=300, num_samples=500, quiet=True, progress_bar=False, seed=3)
    posterior = joint.inference_data.posterior
    for key, path in PATHS.items():
        low, high = np.quantile(posterior[path].values, [0.005, 0.995])
        assert low < TUTORIAL_TRUTH[key] < high, key
    colours = magnitude_table(joint, colours=["NUV - r", "r - W1"], confidence_level=0.99)
    for colour, (first, second) in {"galaxy: NUV - r": ("NUV", "r"), "galaxy: r - W1": ("r", "W1")}.items():
        assert colours.loc[colour, "lower"] < TUTORIAL_TRUTH[first] - TUTORIAL_TRUTH[second] < colours.loc[colour, "upper"]


def test_a_survey_style_file_with_a_psfex_model_and_quality_flags_recovers_the_galaxy(cutouts, tmp_path):
    """The r cutout as surveys ship it: tile-compressed (image, variance and a DQ image in
    extensions, header-only primary), its PSF as an oversampled PSFEx model (the
    pixel-convolved PSF every half pixel), a few flagged pixels; read without naming an
    HDU, only the flag asked for excluded, the galaxy recovered."""
    from astropy.io import fits
    from scipy import special

    from jointfit_imaging import GaussianPSF, ImageLike, PSFExPSF
    from jointfit_imaging.psf import psf_image
    from psfex_files import write_psfex

    with fits.open(cutouts / "r.fits") as hdul:
        data, header, variance = hdul[0].data, hdul[0].header, hdul["VARIANCE"].data
    dq = np.zeros(data.shape, dtype=np.int32)
    dq[2:4, 140:148] = 1024  # a bad column segment, far from the galaxy: excluded
    dq[70:80, 70:80] = 2  # a harmless flag on the galaxy: kept
    lossless = {"compression_type": "GZIP_2", "quantize_level": 0.0}
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header, **lossless),
                  fits.CompImageHDU(variance.astype(float), name="VAR", **lossless),
                  fits.CompImageHDU(dq, name="DQ")]).writeto(tmp_path / "r.fits.fz")
    sigma = 1.12 / 0.262 / (2.0 * np.sqrt(2.0 * np.log(2.0)))  # image pixels
    offsets = np.arange(-40, 41) * 0.5
    profile = special.ndtr((offsets + 0.5) / sigma) - special.ndtr((offsets - 0.5) / sigma)
    write_psfex(tmp_path / "r.psf", np.outer(profile, profile)[None], degree=0, sampling=0.5)
    psfex = PSFExPSF(tmp_path / "r.psf")
    gaussian = psf_image(GaussianPSF(1.12), 0.262)
    sampled = psf_image(psfex, 0.262)
    half = gaussian.shape[0] // 2
    middle = sampled.shape[0] // 2
    np.testing.assert_allclose(sampled[middle - half:middle + half + 1, middle - half:middle + half + 1], gaussian,
                               rtol=0, atol=1e-3 * gaussian.max())

    image = ImageLike("r", tmp_path / "r.fits.fz", variance="VAR", mask="DQ", mask_bits=1024, psf=psfex,
                      zeropoint=22.5)
    assert int(image.image.excluded.sum()) == 16
    model = tutorial_model(bands=("r",))
    fit = JointLikelihood(model, DataList(image))
    fit.fit(quiet=True)
    errors = dict(zip(fit.space.free_names, np.sqrt(np.diag(fit.covariance))))
    for key in ("ra", "dec", "n", "Re", "q", "PA", "r"):
        path = PATHS[key]
        assert abs(model.parameters[path].value - TUTORIAL_TRUTH[key]) < 4.0 * errors[path], path
