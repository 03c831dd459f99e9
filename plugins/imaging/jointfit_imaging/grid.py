"""Where an image's pixels lie on the sky: tangent-plane coordinates from its WCS.

A :class:`SkyGrid` holds, for a rectangle of pixels (which may reach beyond the image,
for the margins that let light outside a window scatter in), the tangent-plane
coordinates (arcsec, ``xi`` east, ``eta`` north) of every pixel centre about the
rectangle's central pixel, computed through the full WCS (distortions included), and
the local linear map from pixel offsets to tangent-plane offsets used within pixels.
Every image is modelled in its own grid, so images of different scales, sizes and
orientations align through their WCS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

from .shapes import gnomonic

__all__ = ["SkyGrid", "simple_wcs"]


def _gnomonic(ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    return gnomonic(np.asarray(ra, dtype=float), np.asarray(dec, dtype=float), ra0, dec0, xp=np)


@dataclass(frozen=True)
class SkyGrid:
    """Tangent-plane coordinates of a rectangle of pixels.

    Attributes
    ----------
    x0, y0 : int
        Zero-based image pixel indices of the rectangle's first column and row.
    xi, eta : ndarray, shape (ny, nx)
        Tangent-plane coordinates of the pixel centres (arcsec, east and north) about
        (``ra0``, ``dec0``), the sky position of the central pixel.
    jacobian : ndarray, shape (2, 2)
        d(xi, eta) / d(x, y) at the centre, arcsec per pixel.
    """

    x0: int
    y0: int
    ra0: float
    dec0: float
    xi: np.ndarray
    eta: np.ndarray
    jacobian: np.ndarray

    @classmethod
    def from_wcs(cls, wcs: WCS, x0: int, x1: int, y0: int, y1: int) -> SkyGrid:
        """The rectangle of columns ``x0 <= x < x1`` and rows ``y0 <= y < y1``
        (zero-based) of an image with celestial ``wcs``."""
        xc, yc = (x0 + x1 - 1) / 2.0, (y0 + y1 - 1) / 2.0
        ra0, dec0 = (float(v) for v in wcs.pixel_to_world_values(xc, yc))
        y, x = np.mgrid[y0:y1, x0:x1].astype(float)
        xi, eta = _gnomonic(*wcs.pixel_to_world_values(x, y), ra0, dec0)
        # the map's derivative at the centre, by central differences over one pixel
        step = 0.5
        columns = []
        for dx, dy in ((step, 0.0), (0.0, step)):
            plus = _gnomonic(*wcs.pixel_to_world_values(xc + dx, yc + dy), ra0, dec0)
            minus = _gnomonic(*wcs.pixel_to_world_values(xc - dx, yc - dy), ra0, dec0)
            columns.append([(p - m) / (2 * step) for p, m in zip(plus, minus)])
        jacobian = np.array(columns, dtype=float).T
        return cls(x0, y0, ra0, dec0, xi, eta, jacobian)

    @property
    def shape(self) -> tuple[int, int]:
        return self.xi.shape

    @property
    def pixel_area(self) -> float:
        """Area of a pixel at the centre (arcsec^2)."""
        return float(abs(np.linalg.det(self.jacobian)))

    @property
    def pixel_scale(self) -> float:
        """Square root of the pixel area (arcsec)."""
        return float(np.sqrt(self.pixel_area))

    @property
    def centre_pixel(self) -> tuple[float, float]:
        """(x, y) of the central pixel, in the rectangle's own zero-based indices."""
        ny, nx = self.shape
        return (nx - 1) / 2.0, (ny - 1) / 2.0


def simple_wcs(shape: tuple[int, int], pixel_scale: float, ra: float, dec: float,
               reference_pixel: tuple[float, float] | None = None) -> WCS:
    """A gnomonic WCS with north up and east left: ``pixel_scale`` arcsec per pixel,
    and (``ra``, ``dec``) degrees at ``reference_pixel`` (zero-based x, y; default the
    image centre)."""
    ny, nx = shape
    x_ref, y_ref = reference_pixel if reference_pixel is not None else ((nx - 1) / 2.0, (ny - 1) / 2.0)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [x_ref + 1.0, y_ref + 1.0]
    wcs.wcs.cdelt = [-pixel_scale / 3600.0, pixel_scale / 3600.0]
    wcs.wcs.cunit = ["deg", "deg"]
    return wcs
