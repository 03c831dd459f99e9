"""PSFs sampled on an image's pixels: from an image, or a Gaussian or Moffat by FWHM.

A PSF image (an array, a FITS file or HDU) may have any size, odd or even (its centre
is its geometric centre), and any sampling: given its own pixel scale it is resampled
onto the image's pixels (cubic interpolation, flux kept). A FITS PSF gives its own
scale through a celestial WCS or the ``PIXELSCL`` (WebbPSF) or ``PIXSCALE`` (Tiny Tim)
keyword, in arcsec. Analytic PSFs are integrated over the pixels; PSFEx models
(:mod:`~jointfit_imaging.psfex`) are evaluated at a position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from astropy.io import fits
from astropy.wcs.utils import proj_plane_pixel_area

from jointfit.errors import DataError

from .data import celestial_wcs, read_array
from .psfex import PSFExPSF

__all__ = ["GaussianPSF", "MoffatPSF", "header_pixel_scale", "psf_image"]


@dataclass(frozen=True)
class GaussianPSF:
    """Circular Gaussian PSF of full width at half maximum ``fwhm`` (arcsec)."""

    fwhm: float

    def sample(self, pixel_scale: float) -> np.ndarray:
        """Integrated over pixels of ``pixel_scale`` arcsec, out to 5 sigma, unit sum."""
        sigma = self.fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0))) / pixel_scale
        half = max(1, int(math.ceil(5.0 * sigma)))
        edges = np.arange(-half - 0.5, half + 1.0)
        profile = np.diff(special.ndtr(edges / sigma))
        image = np.outer(profile, profile)
        return image / image.sum()


@dataclass(frozen=True)
class MoffatPSF:
    """Circular Moffat PSF, ``(1 + (r/alpha)^2)^-beta``, by ``fwhm`` (arcsec) and ``beta``."""

    fwhm: float
    beta: float = 3.0

    def sample(self, pixel_scale: float, enclosed: float = 0.999) -> np.ndarray:
        """Integrated over pixels (9x9 samples each) out to the radius that encloses
        ``enclosed`` of the light, then normalised to unit sum."""
        if self.beta <= 1.0:
            raise DataError(f"a Moffat PSF needs beta > 1 for a finite flux, got {self.beta}")
        alpha = self.fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / self.beta) - 1.0)) / pixel_scale
        # enclosed fraction 1 - (1 + (r/alpha)^2)^(1 - beta)
        radius = alpha * math.sqrt((1.0 - enclosed) ** (1.0 / (1.0 - self.beta)) - 1.0)
        half = max(1, int(math.ceil(radius)))
        sub = (np.arange(9) + 0.5) / 9.0 - 0.5
        centres = np.arange(-half, half + 1, dtype=float)
        x = (centres[:, None] + sub[None, :]).ravel()
        r2 = x[:, None] ** 2 + x[None, :] ** 2
        fine = (1.0 + r2 / alpha**2) ** (-self.beta)
        n = centres.size
        image = fine.reshape(n, 9, n, 9).sum(axis=(1, 3))
        return image / image.sum()


def psf_image(psf: Any, pixel_scale: float, psf_pixel_scale: float | None = None) -> np.ndarray:
    """The PSF on pixels of ``pixel_scale`` arcsec, unit sum.

    ``psf`` is a :class:`GaussianPSF`, a :class:`MoffatPSF`, a PSFEx model
    (:class:`~jointfit_imaging.psfex.PSFExPSF`), or an image: an array, a
    FITS path or HDU list (its first image HDU; WebbPSF's ``calc_psf`` returns one) or
    an image HDU, sampled at ``psf_pixel_scale``
    arcsec per pixel (default: the FITS header's scale, else the image's).

    Raises
    ------
    DataError
        A PSF image that cannot be read, is not 2-D, has NaNs or a sum that is not
        positive.
    """
    if isinstance(psf, (GaussianPSF, MoffatPSF, PSFExPSF)):
        return psf.sample(pixel_scale)
    array, header, label = read_array(psf, "PSF")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{label}: the PSF image has {int(np.sum(~np.isfinite(array)))} NaN or infinite pixels")
    if not array.sum() > 0:
        raise DataError(f"{label}: the PSF image must have a positive sum, got {array.sum()}")
    if psf_pixel_scale is None and header is not None:
        psf_pixel_scale = header_pixel_scale(header, label)
    if psf_pixel_scale is not None and not math.isclose(psf_pixel_scale, pixel_scale, rel_tol=1e-6):
        array = _resample(array, psf_pixel_scale / pixel_scale)
    return array / array.sum()


def header_pixel_scale(header: fits.Header, label: str = "PSF") -> float | None:
    """Pixel scale (arcsec, square root of the pixel area) a PSF file states: its
    celestial WCS's when the header gives the WCS's scale (``CDELT`` or ``CD``), else
    ``PIXELSCL`` or ``PIXSCALE`` in arcsec; ``None`` if it states none."""
    scaled = any(key.startswith(("CDELT", "CD1_", "CD2_")) for key in header)
    try:
        wcs = celestial_wcs(header, label) if scaled else None
    except DataError:  # a PSF may carry a linear or otherwise non-sky WCS
        wcs = None
    if wcs is not None:
        return float(np.sqrt(proj_plane_pixel_area(wcs))) * 3600.0
    for key in ("PIXELSCL", "PIXSCALE"):
        if isinstance(header.get(key), (int, float)) and header[key] > 0:
            return float(header[key])
    return None


def _resample(psf: np.ndarray, zoom: float) -> np.ndarray:
    """``psf`` on pixels ``1 / zoom`` times its own (odd size, same centre): cubic
    interpolation averaged over each new pixel (enough samples to cover the old ones)."""
    from scipy import ndimage

    ky, kx = psf.shape
    ny, nx = (2 * int(math.ceil((k * zoom - 1) / 2.0)) + 1 for k in (ky, kx))
    samples = max(1, int(math.ceil(2.0 / zoom - 1e-9)))  # not 5 for a zoom of 0.5 - 1e-15
    sub = (np.arange(samples) + 0.5) / samples - 0.5
    # sample positions in the input's pixel coordinates, about the geometric centres
    y = ((np.arange(ny)[:, None] + sub[None, :]).ravel() - (ny - 1) / 2.0) / zoom + (ky - 1) / 2.0
    x = ((np.arange(nx)[:, None] + sub[None, :]).ravel() - (nx - 1) / 2.0) / zoom + (kx - 1) / 2.0
    fine = ndimage.map_coordinates(psf, np.meshgrid(y, x, indexing="ij"), order=3, mode="constant", cval=0.0)
    return np.clip(fine.reshape(ny, samples, nx, samples).mean(axis=(1, 3)), 0.0, None)
