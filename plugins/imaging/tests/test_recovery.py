"""Recovery on simulated survey cutouts: the three bands of AstroPhot's tutorial, made
smaller (same pixel scales, PSFs and noise), written to FITS and read back."""

from __future__ import annotations

import numpy as np
import pytest

from jointfit import BayesianAnalysis, DataList, JointLikelihood
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


def test_joint_maximum_likelihood_recovers_the_galaxy_more_tightly_than_the_r_band(cutouts):
    images = read_band_images(cutouts)
    model = tutorial_model()
    fit = JointLikelihood(model, DataList(*images))
    fit.fit(quiet=True)
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


@pytest.mark.slow
def test_joint_posterior_covers_the_truth(cutouts):
    joint = BayesianAnalysis(tutorial_model(), DataList(*read_band_images(cutouts))).sample(
        "nuts", num_warmup=300, num_samples=500, quiet=True, progress_bar=False, seed=3)
    posterior = joint.inference_data.posterior
    for key, path in PATHS.items():
        low, high = np.quantile(posterior[path].values, [0.005, 0.995])
        assert low < TUTORIAL_TRUTH[key] < high, key


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
