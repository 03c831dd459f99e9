"""An image's photometric zeropoint as its FITS header states it.

The zeropoint is the magnitude of one image unit summed over pixels. Read by default
are only statements whose meaning a standard fixes:

1. ESO's ``PHOTZP`` (Phase 3: ``mag = -2.5 log10(data) + PHOTZP``) and ``FLUXMAG0``
   (the LSST and HSC pipelines: the image units of a magnitude-0 source), in the
   survey's magnitude system;
2. ``BUNIT`` in maggies (SDSS's ``nanomaggies``, the Legacy Surveys' ``nanomaggy``: a
   nanomaggy is 22.5 by definition) or in spectral flux density, per pixel (``nJy``,
   ``Jy/pix``) or per steradian (JWST's ``MJy/sr``, with the pixel's solid angle from
   ``PIXAR_SR`` or else the WCS), read by :mod:`astropy.units`: AB (astropy's
   ``ABmag``, 48.60 in cgs units);
3. HST's ``PHOTFLAM`` (erg/s/cm^2/Å per electron/s) and ``PHOTPLAM`` (Å), for images
   in electrons (or counts) per second, or in electrons with ``EXPTIME``: AB.

The keywords surveys write without a common convention (:data:`SURVEY_KEYWORDS`:
DES's ``MAGZERO``, ZTF's and unWISE's ``MAGZP``, ...) are per image unit in some
pipelines and per second in others (CASU's ``MAGZPT``, not read at all, is for 1 s at
airmass 1): they are read only when asked for (``survey_keywords``), as per image unit.

The image's own header comes first: the first header that states a zeropoint gives
it (survey keywords only after every standard statement), its companion keywords (``BUNIT``, ``EXPTIME``, ``PHOTPLAM``, ``PIXAR_SR``) looked
up in the image's header, then the primary's (HST keeps ``PHOTFLAM`` and ``EXPTIME``
in the primary header and ``BUNIT`` in the image's).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from jointfit.errors import DataError, JointfitWarning

__all__ = ["STANDARD_KEYWORDS", "SURVEY_KEYWORDS", "Zeropoint", "header_zeropoint", "survey_keywords_present"]

STANDARD_KEYWORDS = ("PHOTZP", "FLUXMAG0")
"""Zeropoint keywords whose meaning a standard fixes, read by default."""

SURVEY_KEYWORDS = ("MAGZERO", "MAGZP", "ZEROPT", "ZEROPOINT", "MAG_ZP", "ZPMAG")
"""Zeropoint keywords read, as per image unit, only when asked for."""

_COUNT_UNITS = ("ELECTRON", "COUNT", "DN", "ADU")
_RATE_ENDINGS = ("/S", "/SEC", "/SECOND", "S-1", "S**-1", "S^-1")


@dataclass(frozen=True)
class Zeropoint:
    """A zeropoint and where it came from.

    Attributes
    ----------
    value : float
        Magnitude (mag) of one image unit summed over pixels.
    origin : str
        The keywords it came from and the magnitude system, for messages and displays.
    """

    value: float
    origin: str


class _Headers:
    """Keyword lookups in an image's headers, the image's own first."""

    def __init__(self, headers: Sequence[fits.Header], label: str) -> None:
        self.headers, self.label = tuple(headers), label

    def value(self, keyword: str, headers: Sequence[fits.Header] | None = None) -> Any:
        """The first value of ``keyword`` (None if absent or without a value)."""
        for header in self.headers if headers is None else headers:
            value = header.get(keyword)
            if value is not None:
                return value
        return None

    def number(self, keyword: str, headers: Sequence[fits.Header] | None = None, positive: bool = False
               ) -> float | None:
        """``keyword`` as a finite number (positive if asked), None if absent.

        Raises
        ------
        DataError
            A value that is not such a number.
        """
        value = self.value(keyword, headers)
        if value is None:
            return None
        if (isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real) or not math.isfinite(value)
                or positive and value <= 0):
            expected = "a positive number" if positive else "a finite number"
            raise DataError(f"{self.label}: header keyword {keyword} = {value!r} should be {expected}")
        return float(value)


def _flux_unit(text: str) -> u.UnitBase | None:
    """``text`` (a BUNIT) as a unit of spectral flux density per pixel or per solid
    angle, or of maggies (flux ratios to the AB zero); None for anything else (counts,
    surface brightness in magnitudes, ...). Only maggies are read case-insensitively
    and in the plural: elsewhere case tells milli from mega."""
    word = text.strip()
    spellings = [word]
    lower = word.lower()
    if "magg" in lower:
        spellings.append(lower[:-3] + "y" if lower.endswith("ies") else lower)
    for spelling in spellings:
        try:
            unit = u.Unit(spelling)
        except (ValueError, TypeError):
            continue
        # magnitudes and dex (mag(AB), dex(Jy)) are logarithmic: not a unit of image values
        if isinstance(unit, u.FunctionUnitBase) or not (math.isfinite(unit.scale) and unit.scale > 0):
            return None
        if "mgy" in unit.to_string() and unit.is_equivalent(u.mgy):
            return unit
        unit = unit * u.pix if unit.is_equivalent(u.Jy / u.pix) else unit
        if unit.is_equivalent(u.Jy) or unit.is_equivalent(u.Jy / u.sr):
            return unit
    return None


def _ab_magnitude(flux: u.Quantity) -> float:
    """AB magnitude (astropy's: -2.5 log10 f_nu - 48.60 in cgs units) of a flux density."""
    return float(flux.to_value(u.ABmag))


def _from_keywords(lookup: _Headers, header: fits.Header, keywords: Sequence[str]) -> Zeropoint | None:
    """A zeropoint keyword of ``header``: ``FLUXMAG0`` as 2.5 log10 of it, the others as
    they are, in the survey's system (ESO's ``PHOTSYS`` named when given)."""
    photsys = lookup.value("PHOTSYS")
    system = "the survey's magnitude system" + (f", PHOTSYS = {photsys!r}" if isinstance(photsys, str) else "")
    for keyword in keywords:
        value = lookup.number(keyword, [header], positive=keyword == "FLUXMAG0")
        if value is not None:
            if keyword == "FLUXMAG0":
                value = 2.5 * math.log10(value)
            return Zeropoint(value, f"header keyword {keyword} ({system})")
    return None


def _from_bunit(lookup: _Headers, header: fits.Header, wcs: Any) -> Zeropoint | None:
    """The AB zeropoint of ``header``'s BUNIT, when it is a unit of flux density."""
    bunit = lookup.value("BUNIT", [header])
    unit = _flux_unit(bunit) if isinstance(bunit, str) else None
    if unit is None:
        return None
    origin = f"BUNIT = {bunit!r} (AB)"
    if unit.is_equivalent(u.mgy):  # SDSS's definition: one nanomaggy is 22.5
        return Zeropoint(-2.5 * math.log10(unit.to(u.mgy)) + 0.0, origin)  # + 0.0: maggies give 0, not -0
    if unit.is_equivalent(u.Jy):
        return Zeropoint(_ab_magnitude(1.0 * unit), origin)
    wcs_area = float(wcs.proj_plane_pixel_area().to_value(u.sr))
    area, where = lookup.number("PIXAR_SR", positive=True), "PIXAR_SR"
    if area is None:
        area, where = wcs_area, "from the WCS"
    elif abs(area / wcs_area - 1.0) > 0.02:
        # a nominal detector pixel's area, kept in the header of a resampled image
        warnings.warn(f"{lookup.label}: PIXAR_SR = {area:.4g} sr differs from the WCS pixel's {wcs_area:.4g} sr by "
                      f"{100 * abs(area / wcs_area - 1):.0f} %; the WCS pixel's is used for the zeropoint",
                      JointfitWarning, stacklevel=5)
        area, where = wcs_area, "from the WCS, not PIXAR_SR"
    origin = f"BUNIT = {bunit!r} times the pixel's solid angle ({where}) (AB)"
    return Zeropoint(_ab_magnitude(1.0 * unit * area * u.sr), origin)


def _from_photflam(lookup: _Headers, header: fits.Header) -> Zeropoint | None:
    """The AB zeropoint from ``header``'s PHOTFLAM, with PHOTPLAM, BUNIT and EXPTIME from
    any header; None when BUNIT does not say whether the image is a rate or a total."""
    photflam = lookup.number("PHOTFLAM", [header], positive=True)
    if photflam is None:
        return None
    photplam = lookup.number("PHOTPLAM", positive=True)
    if photplam is None:
        return None
    # AB magnitude of one electron per second: f_nu = PHOTFLAM PHOTPLAM^2 / c
    f_nu = (photflam * u.erg / u.s / u.cm**2 / u.AA).to(u.Jy, u.spectral_density(photplam * u.AA))
    value = _ab_magnitude(f_nu)
    bunit = lookup.value("BUNIT")
    bunit = bunit.strip().upper().replace(" ", "") if isinstance(bunit, str) else ""
    if bunit.endswith(_RATE_ENDINGS):
        return Zeropoint(value, "PHOTFLAM and PHOTPLAM (AB)")
    if bunit.rstrip("S") in _COUNT_UNITS:
        exposure = lookup.number("EXPTIME", positive=True)
        if exposure is None:
            raise DataError(f"{lookup.label}: an image in {bunit} with PHOTFLAM needs EXPTIME (s) for its zeropoint")
        return Zeropoint(value + 2.5 * math.log10(exposure), "PHOTFLAM, PHOTPLAM and EXPTIME (AB)")
    return None


def header_zeropoint(headers: Sequence[fits.Header], *, wcs: Any, label: str,
                     survey_keywords: bool = False) -> Zeropoint | None:
    """The zeropoint the headers state (see the module docstring).

    Parameters
    ----------
    headers : sequence of astropy.io.fits.Header
        The image's header, then any others whose keywords hold for it (the primary's).
    wcs : astropy.wcs.WCS
        The image's celestial WCS: the pixel's solid angle for images per steradian
        without ``PIXAR_SR``.
    label : str
        The image, for messages.
    survey_keywords : bool
        Also read :data:`SURVEY_KEYWORDS`, as the magnitude of one image unit.

    Returns
    -------
    Zeropoint or None
        None when no header states one.

    Raises
    ------
    DataError
        A zeropoint keyword that is not a finite number, a non-positive ``FLUXMAG0``,
        ``PIXAR_SR``, ``PHOTFLAM``, ``PHOTPLAM`` or ``EXPTIME``, or an image in
        electrons with ``PHOTFLAM`` but no ``EXPTIME``.
    """
    lookup = _Headers(headers, label)
    for header in lookup.headers:
        found = (_from_keywords(lookup, header, STANDARD_KEYWORDS) or _from_bunit(lookup, header, wcs)
                 or _from_photflam(lookup, header))
        if found is not None:
            return found
    # survey keywords only after every standard statement, in any header
    for header in lookup.headers if survey_keywords else ():
        found = _from_keywords(lookup, header, SURVEY_KEYWORDS)
        if found is not None:
            return found
    return None


def survey_keywords_present(headers: Sequence[fits.Header]) -> list[str]:
    """The :data:`SURVEY_KEYWORDS` the headers hold, with their values, for a hint."""
    return [f"{keyword} = {header[keyword]!r}" for header in headers for keyword in SURVEY_KEYWORDS
            if header.get(keyword) is not None]
