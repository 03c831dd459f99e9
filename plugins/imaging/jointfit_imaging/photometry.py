"""An image's photometric zeropoint as its FITS header states it.

The zeropoint is the magnitude of one image unit summed over pixels. Headers state it
in three ways, looked for in this order (the image's HDU first, then the primary HDU,
where HST and others keep keywords that hold for every extension):

1. a zeropoint keyword (:data:`ZEROPOINT_KEYWORDS`: DES's ``MAGZERO``, ZTF's and
   unWISE's ``MAGZP``, ...), taken as it is, in whatever magnitude system the survey
   uses;
2. ``BUNIT`` in units of spectral flux density, read by :mod:`astropy.units`: per
   pixel (``nanomaggy``, ``nJy``, ``Jy/pix``) or per steradian (JWST's ``MJy/sr``,
   with the pixel's solid angle from ``PIXAR_SR`` or else the WCS), giving an AB
   zeropoint (astropy's ``ABmag``, 48.60 in cgs units), or in maggies (SDSS, the
   Legacy Surveys: a nanomaggy is 22.5 by definition);
3. HST's ``PHOTFLAM`` (erg/s/cm^2/Å per electron/s) and ``PHOTPLAM`` (Å), for images
   in electrons (or counts) per second, or in electrons with ``EXPTIME``: an AB zeropoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import astropy.units as u
from astropy.io import fits

from jointfit.errors import DataError

__all__ = ["ZEROPOINT_KEYWORDS", "Zeropoint", "header_zeropoint", "pixel_solid_angle"]

ZEROPOINT_KEYWORDS = ("MAGZERO", "MAGZP", "MAGZPT", "ZEROPT", "ZEROPOINT", "ZPMAG", "MAG_ZP", "PHOTZP", "ZP")
"""Header keywords read as the magnitude of one image unit, in this order."""

_COUNT_UNITS = ("ELECTRON", "COUNT", "DN", "ADU")


@dataclass(frozen=True)
class Zeropoint:
    """A zeropoint (magnitude of one image unit) and where it came from, for messages
    and displays."""

    value: float
    origin: str


def _lookup(headers: Sequence[fits.Header], keyword: str) -> tuple[Any, int] | None:
    """First value of ``keyword`` in ``headers`` and the index of the header holding it."""
    for index, header in enumerate(headers):
        if keyword in header and header[keyword] is not None and not isinstance(header[keyword], fits.Undefined):
            return header[keyword], index
    return None


def _number(headers: Sequence[fits.Header], keyword: str, label: str) -> float | None:
    found = _lookup(headers, keyword)
    if found is None:
        return None
    value = found[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(f"{label}: header keyword {keyword} = {value!r} should be a finite number")
    return float(value)


def _flux_unit(text: str) -> u.UnitBase | None:
    """``text`` (a BUNIT) as a unit of spectral flux density per pixel or per solid
    angle, or of maggies (flux ratios to the AB zero); None for anything else
    (counts, surface brightness in magnitudes, ...)."""
    word = text.strip()
    plural = word.lower()  # SDSS writes "nanomaggies", HST "ELECTRONS"
    singular = plural[:-3] + "y" if plural.endswith("ies") else plural.removesuffix("s")
    for spelling in (word, plural, singular):
        try:
            unit = u.Unit(spelling)
        except (ValueError, TypeError):
            continue
        if "mgy" in unit.to_string() and unit.is_equivalent(u.mgy):
            return unit
        unit = unit * u.pix if unit.is_equivalent(u.Jy / u.pix) else unit
        if unit.is_equivalent(u.Jy) or unit.is_equivalent(u.Jy / u.sr):
            return unit
    return None


def _ab_magnitude(flux: u.Quantity) -> float:
    """AB magnitude (astropy's: -2.5 log10 f_nu - 48.60 in cgs units) of a flux density."""
    return float(flux.to_value(u.ABmag))


def _from_bunit(headers: Sequence[fits.Header], pixel_solid_angle: float, label: str) -> Zeropoint | None:
    found = _lookup(headers, "BUNIT")
    if found is None or not isinstance(found[0], str):
        return None
    unit = _flux_unit(found[0])
    if unit is None:
        return None
    origin = f"BUNIT = {found[0]!r} (AB)"
    if unit.is_equivalent(u.mgy):  # SDSS's definition: one nanomaggy is 22.5
        return Zeropoint(-2.5 * math.log10(unit.to(u.mgy)), origin)
    if unit.is_equivalent(u.Jy):
        return Zeropoint(_ab_magnitude(1.0 * unit), origin)
    area = _number(headers, "PIXAR_SR", label)
    if area is not None and area <= 0:
        raise DataError(f"{label}: header keyword PIXAR_SR = {area!r} should be a positive solid angle (sr)")
    origin = f"BUNIT = {found[0]!r} times the pixel's solid angle ({'PIXAR_SR' if area else 'from the WCS'}) (AB)"
    return Zeropoint(_ab_magnitude(1.0 * unit * (area or pixel_solid_angle) * u.sr), origin)


def _from_photflam(headers: Sequence[fits.Header], label: str) -> Zeropoint | None:
    photflam, photplam = _number(headers, "PHOTFLAM", label), _number(headers, "PHOTPLAM", label)
    if photflam is None or photplam is None:
        return None
    if photflam <= 0 or photplam <= 0:
        raise DataError(f"{label}: PHOTFLAM = {photflam!r} and PHOTPLAM = {photplam!r} should be positive")
    # AB magnitude of one electron per second: f_nu = PHOTFLAM PHOTPLAM^2 / c
    f_nu = (photflam * u.erg / u.s / u.cm**2 / u.AA).to(u.Jy, u.spectral_density(photplam * u.AA))
    value = _ab_magnitude(f_nu)
    found = _lookup(headers, "BUNIT")
    bunit = found[0].strip().upper() if found is not None and isinstance(found[0], str) else ""
    if bunit.replace(" ", "").endswith(("/S", "/SEC", "/SECOND", "S-1", "S**-1", "S^-1")):
        return Zeropoint(value, "PHOTFLAM and PHOTPLAM (AB)")
    if bunit.rstrip("S") in _COUNT_UNITS:
        exposure = _number(headers, "EXPTIME", label)
        if exposure is None or exposure <= 0:
            raise DataError(f"{label}: an image in {bunit} with PHOTFLAM needs a positive EXPTIME (s) for its "
                            f"zeropoint, found {exposure!r}; give zeropoint=")
        return Zeropoint(value + 2.5 * math.log10(exposure), "PHOTFLAM, PHOTPLAM and EXPTIME (AB)")
    return None  # a rate or a total? without BUNIT the header does not say


def header_zeropoint(headers: Sequence[fits.Header], *, pixel_solid_angle: float, label: str) -> Zeropoint | None:
    """The zeropoint the headers state (see the module docstring), or None.

    Parameters
    ----------
    headers : sequence of astropy.io.fits.Header
        The image's header, then any others whose keywords hold for it (the primary's).
    pixel_solid_angle : float
        The pixel's solid angle (sr), for images per steradian without ``PIXAR_SR``.
    label : str
        The image, for messages.

    Raises
    ------
    DataError
        A zeropoint keyword that is not a finite number, a non-positive ``PIXAR_SR``,
        ``PHOTFLAM`` or ``PHOTPLAM``, or an image in electrons without ``EXPTIME``.
    """
    for keyword in ZEROPOINT_KEYWORDS:
        value = _number(headers, keyword, label)
        if value is not None:
            return Zeropoint(value, f"header keyword {keyword}")
    return _from_bunit(headers, pixel_solid_angle, label) or _from_photflam(headers, label)


def pixel_solid_angle(wcs: Any) -> float:
    """Solid angle (sr) of a pixel at the WCS's reference point."""
    return float(wcs.proj_plane_pixel_area().to_value(u.sr))
