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
