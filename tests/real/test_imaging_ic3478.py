"""A real SDSS image fitted as a user would, against imfit's own fit of it.

IC 3478 in SDSS r (64x64 cutout, sky subtracted, gain 4.725 e-/ADU, read noise 4.3 e-,
original sky 130.1 ADU), one Sérsic, chi^2 with imfit's data-based errors. imfit's
reference (its README): chi^2 = 4555.947654; X0 32.9439, Y0 34.0933 (1-based pixel
centres); PA 18.2612 deg counter-clockwise from +y; ell 0.235989; n 2.40028;
r_e 60.7613 px. The image's WCS is rotated by ~91 degrees, so imfit's PA is converted
to east of north through the WCS, independently of the plugin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits

from jointfit import DataList, ExtendedSource, JointLikelihood, Model
from jointfit_imaging import BandMagnitudes, ImageLike, Sersic, variance_from_counts

IMFIT = {"chi2": 4555.947654, "x0": 32.9439, "y0": 34.0933, "pa": 18.2612, "ell": 0.235989, "n": 2.40028,
         "r_e": 60.7613}


def imfit_pa_east_of_north(wcs, x0: float, y0: float, pa_image: float) -> float:
    """imfit's PA (degrees counter-clockwise from +y in pixels) as a position angle on
    the sky, by mapping a short step along the major axis through the WCS."""
    angle = math.radians(pa_image)
    ra0, dec0 = wcs.pixel_to_world_values(x0, y0)
    ra1, dec1 = wcs.pixel_to_world_values(x0 - 0.01 * math.sin(angle), y0 + 0.01 * math.cos(angle))
    east = (ra1 - ra0) * math.cos(math.radians(dec0))
    return math.degrees(math.atan2(east, dec1 - dec0)) % 180.0


def test_ic3478_matches_imfit(shared_data):
    path = shared_data / "imaging-real" / "ic3478-64" / "ic3478rss_64x64.fits"
    counts = fits.getdata(path).astype(float)
    variance = variance_from_counts(counts, gain=4.725, read_noise=4.3, sky=130.1)
    image = ImageLike("sdss_r", path, variance=variance, band="r")
    wcs = image.image.wcs
    # a user's start: the image centre, a round-ish galaxy of a few arcsec
    ra, dec = (float(v) for v in wcs.pixel_to_world_values(31.0, 31.0))
    shape = Sersic(ra=ra, dec=dec, n=1.5, Re=10.0, q=0.8, PA=100.0)
    shape.ra.bounds, shape.dec.bounds = (ra - 0.01, ra + 0.01), (dec - 0.01, dec + 0.01)
    shape.PA.bounds, shape.Re.bounds = (0.0, 180.0), (0.1, 100.0)
    model = Model(ExtendedSource("ic3478", spatial_shape=shape, spectral_shape=BandMagnitudes(r=-15.0)))
    fit = JointLikelihood(model, DataList(image))
    fit.fit(quiet=True)
    best = {name.rsplit(".", 1)[1]: p.value for name, p in model.free_parameters.items()}

    values = fit.space.unpack(fit.space.pack({k: p.value for k, p in model.free_parameters.items()}))
    assert float(image.chi2(values)) == pytest.approx(IMFIT["chi2"], rel=1e-3)
    x, y = wcs.world_to_pixel_values(best["ra"], best["dec"])
    assert x + 1 == pytest.approx(IMFIT["x0"], abs=0.05) and y + 1 == pytest.approx(IMFIT["y0"], abs=0.05)
    pixel_scale = math.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600.0
    assert best["Re"] / pixel_scale == pytest.approx(IMFIT["r_e"], rel=0.01)
    assert best["n"] == pytest.approx(IMFIT["n"], rel=0.01)
    assert 1.0 - best["q"] == pytest.approx(IMFIT["ell"], rel=0.01)
    expected_pa = imfit_pa_east_of_north(wcs, IMFIT["x0"] - 1, IMFIT["y0"] - 1, IMFIT["pa"])
    assert abs((best["PA"] - expected_pa + 90.0) % 180.0 - 90.0) < 0.2
