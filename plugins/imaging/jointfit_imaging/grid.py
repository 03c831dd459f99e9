"""Where an image's pixels lie on the sky: tangent-plane coordinates from its WCS.

A :class:`SkyGrid` holds, for a rectangle of pixels (which may reach beyond the image,
for the margins that let light outside a window scatter in), the tangent-plane
coordinates (arcsec, ``xi`` east, ``eta`` north, in ICRS) of every pixel centre about
the rectangle's central pixel, computed through the full WCS (distortions included;
images whose WCS is in FK5, FK4, Galactic or ecliptic coordinates are transformed to
ICRS with astropy, so that sources' positions are ICRS in every image), and
the local linear map from pixel offsets to tangent-plane offsets used within pixels.
Every image is modelled in its own grid, so images of different scales, sizes and
orientations align through their WCS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.coordinates import ICRS, BarycentricMeanEcliptic, SkyCoord
from astropy.time import Time
from astropy.wcs import WCS
from astropy.wcs.utils import wcs_to_celestial_frame

from .shapes import gnomonic

__all__ = ["SkyGrid", "celestial_frame", "icrs_to_pixel", "local_jacobian", "pixel_scale_at", "pixel_to_icrs",
           "simple_wcs"]


def celestial_frame(wcs: WCS) -> Any:
    """The astropy frame of a celestial WCS's sky axes: astropy's reading of
    ``RADESYS``/``EQUINOX`` and the axis types, except ecliptic axes (``ELON``/``ELAT``),
    which astropy reads as ICRS: the barycentric mean ecliptic of ``EQUINOX`` (J2000 by
    default), a rotation of ICRS without aberration, as positions of distant sources
    need.

    Raises
    ------
    ValueError
        For frames astropy does not know (helioprojective without sunpy, say).
    """
    if wcs.wcs.ctype[wcs.wcs.lng].upper().startswith("ELON"):
        equinox = wcs.wcs.equinox if np.isfinite(wcs.wcs.equinox) else 2000.0
        return BarycentricMeanEcliptic(equinox=Time(equinox, format="jyear"))
    return wcs_to_celestial_frame(wcs)


def pixel_to_icrs(wcs: WCS, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """ICRS (ra, dec) in degrees of zero-based pixel positions, whatever the WCS's
    celestial frame (:func:`celestial_frame`: ICRS, FK5, FK4, Galactic, ecliptic) and
    axis order."""
    world = wcs.pixel_to_world_values(x, y)
    lon, lat = (np.asarray(world[i], dtype=float) for i in (wcs.wcs.lng, wcs.wcs.lat))
    frame = celestial_frame(wcs)
    if isinstance(frame, ICRS):
        return lon, lat
    icrs = SkyCoord(lon, lat, unit="deg", frame=frame).icrs
    return np.asarray(icrs.ra.deg, dtype=float), np.asarray(icrs.dec.deg, dtype=float)


def icrs_to_pixel(wcs: WCS, ra: Any, dec: Any) -> tuple[np.ndarray, np.ndarray]:
    """Zero-based pixel positions (x, y) of ICRS (ra, dec) in degrees, the inverse of
    :func:`pixel_to_icrs`."""
    frame = celestial_frame(wcs)
    lon, lat = np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)
    if not isinstance(frame, ICRS):
        sky = SkyCoord(lon, lat, unit="deg", frame="icrs").transform_to(frame).spherical
        lon, lat = sky.lon.deg, sky.lat.deg
    world = [lat, lon] if wcs.wcs.lng == 1 else [lon, lat]
    x, y = wcs.world_to_pixel_values(*world)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _tangent_plane(wcs: WCS, x: Any, y: Any, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    return gnomonic(*pixel_to_icrs(wcs, x, y), ra0, dec0, xp=np)


def local_jacobian(wcs: WCS, x: float, y: float, ra0: float, dec0: float) -> np.ndarray:
    """d(xi, eta) / d(x, y) (arcsec per pixel) at pixel (``x``, ``y``), tangent plane
    about (``ra0``, ``dec0``), by central differences over one pixel."""
    step = 0.5
    columns = []
    for dx, dy in ((step, 0.0), (0.0, step)):
        plus = _tangent_plane(wcs, x + dx, y + dy, ra0, dec0)
        minus = _tangent_plane(wcs, x - dx, y - dy, ra0, dec0)
        columns.append([(p - m) / (2 * step) for p, m in zip(plus, minus)])
    return np.array(columns, dtype=float).T


def pixel_scale_at(wcs: WCS, x: float, y: float) -> float:
    """Square root of the pixel area (arcsec) at pixel (``x``, ``y``)."""
    ra0, dec0 = (float(v) for v in pixel_to_icrs(wcs, x, y))
    return float(np.sqrt(abs(np.linalg.det(local_jacobian(wcs, x, y, ra0, dec0)))))


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
        ra0, dec0 = (float(v) for v in pixel_to_icrs(wcs, xc, yc))
        y, x = np.mgrid[y0:y1, x0:x1].astype(float)
        xi, eta = _tangent_plane(wcs, x, y, ra0, dec0)
        return cls(x0, y0, ra0, dec0, xi, eta, local_jacobian(wcs, xc, yc, ra0, dec0))

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
