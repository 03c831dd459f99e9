"""What a photometric catalogue measured: per band a magnitude or a flux density with
its error, or a limit, turned into the two scales the likelihood works on (AB
magnitudes and AB flux ratios, flux / 3631 Jy)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import astropy.units as u

from jointfit.errors import DataError
from jointfit.filters import AB_ZERO_POINT, Filter

__all__ = ["Measurement", "UpperLimit", "PhotometricObservation", "MAGNITUDE", "FLUX"]

MAGNITUDE, FLUX = "magnitude", "flux"


@dataclass(frozen=True)
class UpperLimit:
    """A band where the source was not detected: the measurement lies below ``value``.

    ``value`` and ``error`` are a flux density and its 1-sigma noise (astropy
    quantities), or AB magnitudes (numbers or ``u.ABmag``): a flux upper limit is a
    magnitude *fainter* than ``value``. The likelihood is the probability that a
    Gaussian measurement with that error falls beyond the limit.
    """

    value: Any
    error: Any


@dataclass(frozen=True)
class Measurement:
    """One band's datum on the likelihood's scale.

    Attributes
    ----------
    kind : {"magnitude", "flux"}
        Magnitudes are compared in AB magnitudes (Gaussian in magnitude), fluxes as AB
        flux ratios (Gaussian in flux, right at low S/N and for negative fluxes).
    value, error : float
        AB magnitude and its error (mag), or flux / 3631 Jy and its error.
    limit : bool
        Whether the datum is a limit (an upper limit in flux, a lower one in magnitude).
    as_given : str
        The datum as the user wrote it, for summaries.
    """

    kind: str
    value: float
    error: float
    limit: bool
    as_given: str


def _is_magnitude_unit(unit: Any) -> bool:
    return unit is not None and (unit == u.mag or isinstance(unit, u.MagUnit) or unit == u.ABmag)


def _flux_ratio(quantity: u.Quantity, filt: Filter, what: str) -> float:
    """A flux density (per frequency or per wavelength, or maggies) as a ratio to 3631 Jy,
    f_lambda converted at the filter's pivot wavelength."""
    try:  # maggies are AB flux ratios by definition
        ratio = (quantity.to(u.Jy, u.zero_point_flux(AB_ZERO_POINT)) / AB_ZERO_POINT).to_value(u.one)
    except u.UnitConversionError:
        try:
            ratio = (quantity.to(u.Jy, u.spectral_density(filt.pivot_wavelength)) / AB_ZERO_POINT).to_value(u.one)
        except u.UnitConversionError:
            raise DataError(f"{what}: {quantity.unit} is not a flux density (Jy, nanomaggies, erg/(cm2 s Hz), "
                            "erg/(cm2 s Å), ...) nor a magnitude") from None
    return float(ratio)


class PhotometricObservation:
    """Measured photometry by band name: ``{"g": (19.92, 0.1), "W1": (12 * u.uJy, 1 * u.uJy),
    "u": UpperLimit(22.5, 0.3)}``.

    A pair of plain numbers is an AB magnitude and its error (3ML's convention), unless
    ``magnitude_system="vega"`` (then ``ab_minus_vega`` gives each band's m_AB − m_Vega).
    A pair of flux densities in any astropy unit (Jy, nanomaggies, erg/(cm2 s Å), ...)
    is a flux; ``u.ABmag`` quantities are AB magnitudes whatever the system. Plain
    numbers and quantities cannot be mixed: a catalogue that gives both says which is
    which with units.

    Raises
    ------
    DataError
        For NaN/inf, errors <= 0, an entry that is not a pair, a unit that is not a flux
        density or magnitude, plain numbers mixed with quantities, or a Vega magnitude
        without its offset.
    """

    def __init__(self, measurements: Mapping[str, Any], *, magnitude_system: str = "AB",
                 ab_minus_vega: Mapping[str, float] | None = None, name: str = "observation") -> None:
        if not isinstance(measurements, Mapping) or not measurements:
            raise DataError(f"{name}: photometry is a mapping band -> (value, error); got {measurements!r}")
        system = str(magnitude_system).lower()
        if system not in ("ab", "vega"):
            raise DataError(f"{name}: magnitude_system must be 'AB' or 'vega', got {magnitude_system!r}")
        self.name = name
        self.magnitude_system = "AB" if system == "ab" else "vega"
        self.ab_minus_vega = dict(ab_minus_vega or {})
        self._raw: dict[str, tuple[Any, Any, bool]] = {}
        plain, quantities = [], []
        for band, entry in measurements.items():
            limit = isinstance(entry, UpperLimit)
            pair = (entry.value, entry.error) if limit else entry
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise DataError(f"{name}: band {band!r} must be (value, error) or UpperLimit(value, error); "
                                f"got {entry!r}")
            (quantities if any(isinstance(v, u.Quantity) for v in pair) else plain).append(band)
            self._raw[band] = (pair[0], pair[1], limit)
        if plain and quantities:
            raise DataError(f"{name}: bands {plain} are plain numbers and {quantities} quantities with units: "
                            "say which are magnitudes and which fluxes by giving every value a unit "
                            "(u.ABmag / u.mag for magnitudes, u.Jy, u.nanomaggy, ... for fluxes)")
        if self.magnitude_system == "vega":
            missing = [b for b in plain if b not in self.ab_minus_vega]
            if missing:
                raise DataError(f"{name}: Vega magnitudes need each band's AB - Vega offset; ab_minus_vega lacks "
                                f"{missing}")

    @property
    def bands(self) -> list[str]:
        """Band names, in the order given."""
        return list(self._raw)

    def measurement(self, band: str, filt: Filter) -> Measurement:
        """The datum of ``band`` on the likelihood's scale (fluxes through ``filt``'s
        pivot wavelength where they are per unit wavelength).

        Raises
        ------
        DataError
            As described in the class docstring.
        """
        value, error, limit = self._raw[band]
        what = f"{self.name}: band {band!r}"
        as_given = f"{'< ' if limit else ''}{value} ± {error}"
        if isinstance(value, u.Quantity) or isinstance(error, u.Quantity):
            value_q, error_q = u.Quantity(value, subok=True), u.Quantity(error, subok=True)
            if _is_magnitude_unit(value_q.unit):
                magnitude = float(value_q.to_value(u.ABmag)) if value_q.unit != u.mag else float(value_q.value)
                sigma = float(error_q.to_value(u.mag)) if error_q.unit != u.dimensionless_unscaled else float(error_q.value)
                return self._checked(Measurement(MAGNITUDE, magnitude, sigma, limit, as_given), what)
            if _is_magnitude_unit(error_q.unit):
                raise DataError(f"{what}: the value {value_q} is a flux but its error {error_q} a magnitude")
            flux = _flux_ratio(value_q, filt, what)
            sigma = _flux_ratio(error_q, filt, what)
            return self._checked(Measurement(FLUX, flux, sigma, limit, as_given), what)
        try:
            magnitude, sigma = float(value), float(error)
        except (TypeError, ValueError):
            raise DataError(f"{what}: (value, error) must be numbers or quantities, got ({value!r}, {error!r})") from None
        if self.magnitude_system == "vega":
            magnitude += float(self.ab_minus_vega[band])
        return self._checked(Measurement(MAGNITUDE, magnitude, sigma, limit, as_given), what)

    @staticmethod
    def _checked(measurement: Measurement, what: str) -> Measurement:
        if not (math.isfinite(measurement.value) and math.isfinite(measurement.error)):
            raise DataError(f"{what}: value and error must be finite, got {measurement.as_given}")
        if measurement.error <= 0:
            raise DataError(f"{what}: the error must be > 0, got {measurement.as_given}")
        return measurement

    def __repr__(self) -> str:
        return f"PhotometricObservation({', '.join(f'{b}: {v[0]} ± {v[1]}' for b, v in self._raw.items())})"
