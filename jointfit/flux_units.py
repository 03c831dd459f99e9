"""What a requested flux unit means: which moment of the photon spectrum to integrate
(or evaluate, for a flux density) and how to convert the result.

Spectra are photons / (cm2 s keV) of energies in keV. A flux unit selects

* over a band: photon flux ``1/(cm2 s)`` = ∫N dE, energy flux ``erg/(cm2 s)``
  (``W/m2``...) = ∫E N dE, or 3ML's ``erg2/(cm2 s)`` = ∫E² N dE;
* at one energy (a flux density): ``1/(cm2 s keV)`` = N(E), ``erg/(cm2 s keV)`` =
  E N(E), per unit frequency (``Jy``, ``erg/(cm2 s Hz)``, ``1/(cm2 s Hz)``), per unit
  wavelength (``erg/(cm2 s Angstrom)``), and ``erg/(cm2 s)`` at one energy = E² N(E)
  (νFν).

``erg/(cm2 s keV)`` and ``1/(cm2 s)`` have the same dimension; an energy unit in the
denominator marks the former as a density. The conversions per unit frequency and
wavelength are written out here (dE = h dν, |dE/dλ| = E/λ) rather than through
astropy's ``spectral_density``, which has no photon-per-energy unit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import astropy.constants as const
import astropy.units as u
import numpy as np

from .errors import UnitError

__all__ = ["FluxUnit", "resolve_flux_unit", "energy_in_kev"]

_AREA_TIME = u.cm**-2 * u.s**-1
_PER_KEV = u.keV**-1
_PER_HZ = u.Hz**-1
_PER_ANGSTROM = u.AA**-1


@dataclass(frozen=True)
class FluxUnit:
    """A flux unit resolved: ``power`` is the power of E multiplying N(E);
    ``density`` is ``None`` for a band flux, else ``"energy"``, ``"frequency"`` or
    ``"wavelength"`` (what the density is per)."""

    unit: u.UnitBase
    power: int
    density: str | None

    @property
    def native(self) -> u.UnitBase:
        """Unit of the number computed from a spectrum in photons/(cm2 s keV)."""
        if self.density is None:
            return u.keV**self.power * _AREA_TIME
        return u.keV**self.power * _AREA_TIME * _PER_KEV

    def conversion(self, energy_kev: float) -> float:
        """Factor from :attr:`native` to :attr:`unit` (at ``energy_kev`` for densities)."""
        native = 1.0 * self.native
        if self.density == "frequency":
            native = native * const.h.to(u.keV / u.Hz)
        elif self.density == "wavelength":
            energy = energy_kev * u.keV
            native = native * energy / energy.to(u.AA, equivalencies=u.spectral())
        return float(native.to_value(self.unit))


def _without_photons(unit: u.UnitBase) -> u.UnitBase:
    """``ph/(cm2 s)`` is read as ``1/(cm2 s)``."""
    power = dict(zip(unit.bases, unit.powers)).get(u.photon, 0) if hasattr(unit, "bases") else 0
    return unit / u.photon**power if power else unit


def _written_per_frequency(value: Any, unit: u.UnitBase) -> bool:
    """Whether a unit with the dimension of a density per frequency says so (Hz or Jy
    written in it): ``erg/cm2``, a fluence, has that dimension too. The text is read as
    well because astropy's parser cancels ``s Hz``."""
    bases = list(zip(getattr(unit, "bases", [unit]), getattr(unit, "powers", [1])))
    named = any((power < 0 and base.physical_type == "frequency") or (power > 0 and base.is_equivalent(u.Jy))
                for base, power in bases)
    return named or (isinstance(value, str) and ("Hz" in value or "Jy" in value))


def _energy_in_denominator(unit: u.UnitBase) -> bool:
    return any(power < 0 and base.physical_type == "energy"
               for base, power in zip(getattr(unit, "bases", []), getattr(unit, "powers", [])))


def resolve_flux_unit(value: Any, at_one_energy: bool) -> FluxUnit:
    """Resolve ``value`` (a unit or its string) for a band flux or, if
    ``at_one_energy``, a flux density.

    Raises
    ------
    UnitError
        If the unit cannot be parsed, is not a flux, or is a density asked for over a
        band (or a band flux at one energy).
    """
    try:
        with warnings.catch_warnings():  # 3ML's spelling "erg/cm2/s" is fine here
            warnings.filterwarnings("ignore", "'.*' contains multiple slashes", u.UnitsWarning)
            unit = _without_photons(u.Unit(value))
    except (ValueError, TypeError) as exc:
        raise UnitError(f"flux_unit {value!r} is not a unit astropy can read: {exc}") from None
    band_kinds = {0: _AREA_TIME, 1: u.erg * _AREA_TIME, 2: u.erg**2 * _AREA_TIME}
    densities = {("energy", 0): _AREA_TIME * _PER_KEV, ("frequency", 0): _AREA_TIME * _PER_HZ,
                 ("wavelength", 0): _AREA_TIME * _PER_ANGSTROM, ("frequency", 1): u.erg * _AREA_TIME * _PER_HZ,
                 ("wavelength", 1): u.erg * _AREA_TIME * _PER_ANGSTROM}
    for (per, power), template in densities.items():
        if unit.is_equivalent(template):
            if per == "frequency" and not _written_per_frequency(value, unit):
                raise UnitError(f"flux_unit {value!r} is not a flux (a fluence or a column has its dimension); "
                                "per unit frequency write e.g. 'Jy', 'erg/(cm2 s Hz)' or '1/(cm2 s Hz)'")
            if not at_one_energy:
                raise UnitError(f"flux_unit {value!r} is a flux density: give ene_min == ene_max or at_energy=")
            return FluxUnit(unit, power, per)
    if unit.is_equivalent(_AREA_TIME) and _energy_in_denominator(unit):  # erg/(cm2 s keV)
        if not at_one_energy:
            raise UnitError(f"flux_unit {value!r} is a flux density: give ene_min == ene_max or at_energy=")
        return FluxUnit(unit, 1, "energy")
    for power, template in band_kinds.items():
        if unit.is_equivalent(template):
            if not at_one_energy:
                return FluxUnit(unit, power, None)
            if power == 1:  # an energy flux at one energy: nu F_nu = E^2 N(E)
                return FluxUnit(unit, 2, "energy")
            raise UnitError(f"flux_unit {value!r} is a band flux; at one energy use a density such as "
                            "'1/(cm2 s keV)', 'erg/(cm2 s keV)', 'Jy' or 'erg/(cm2 s)' (nuFnu)")
    raise UnitError(f"flux_unit {value!r} is not a flux: expected a photon flux (1/(cm2 s)), an energy flux "
                    "(erg/(cm2 s)), erg2/(cm2 s), or a flux density (1/(cm2 s keV), erg/(cm2 s keV), Jy)")


def energy_in_kev(value: Any, energy_unit: Any, name: str) -> float:
    """``value`` (a number in ``energy_unit``, or an astropy quantity of energy,
    frequency or wavelength) in keV.

    Raises
    ------
    UnitError
        If it is not convertible, not finite or not positive.
    """
    try:
        quantity = value if isinstance(value, u.Quantity) else float(value) * u.Unit(energy_unit)
        kev = float(quantity.to_value(u.keV, equivalencies=u.spectral()))
    except (u.UnitConversionError, u.UnitsError, ValueError, TypeError) as exc:
        raise UnitError(f"{name}={value!r} (energy_unit {energy_unit!r}) is not an energy, frequency or "
                        f"wavelength: {exc}") from None
    if not (np.isfinite(kev) and kev > 0):
        raise UnitError(f"{name}={value!r} must be a positive, finite energy; it is {kev} keV")
    return kev
