"""Derived quantities: any user function of a draw's values, on every draw at once.

Users quote things computed from several parameters: αox = 0.3838 log10(f_ν(2 keV) /
f_ν(2500 Å)), colours, luminosities at a redshift, flux ratios. A derived quantity is a
function of a :class:`Draw` (one posterior draw: its parameter values by path and its
sources' spectra), written with ``jax.numpy``; it is compiled once and mapped over every
draw (``jax.vmap``), so a table of several quantities over thousands of draws costs one
call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np

from .errors import AnalysisError

__all__ = ["Draw", "evaluate_derived", "luminosity_distance"]

_H_ERG_S = 6.62607015e-27
_KEV_ERG = 1.602176634e-9
_PANELS_PER_DECADE = 4  # of 16 Gauss–Legendre nodes in ln E: smooth spectra to ~1e-12


def luminosity_distance(redshift: float, cosmology: Any = None) -> float:
    """Luminosity distance (cm) at ``redshift`` in an astropy cosmology (default
    ``astropy.cosmology.Planck18``).

    Raises
    ------
    AnalysisError
        If the redshift is not a finite number >= 0 (a redshift that is a free
        parameter has no single distance: fix it, or compute the distance yourself).
    """
    try:
        z = float(redshift)
    except (TypeError, ValueError, jax.errors.ConcretizationTypeError):
        raise AnalysisError(f"redshift must be a number (a fixed redshift), got {redshift!r}") from None
    if not (np.isfinite(z) and z >= 0):
        raise AnalysisError(f"redshift must be finite and >= 0, got {z}")
    if cosmology is None:
        from astropy.cosmology import Planck18 as cosmology
    return float(cosmology.luminosity_distance(z).to_value(u.cm))


def _energy_kev(at: Any) -> float:
    """An energy in keV from a number (keV) or a quantity of energy, wavelength or frequency."""
    if isinstance(at, u.Quantity):
        try:
            return float(at.to_value(u.keV, u.spectral()))
        except u.UnitConversionError:
            raise AnalysisError(f"{at} is not an energy, wavelength or frequency") from None
    return float(at)


class Draw:
    """One posterior draw, as a derived quantity's function sees it (inside compiled code).

    ``draw["src.spectrum.main.Powerlaw.index"]`` is a parameter's value; the spectra of the
    model's sources are evaluated at energies given in keV or as quantities of energy,
    wavelength or frequency (``2 * u.keV``, ``2500 * u.AA``, ``5e14 * u.Hz``).
    """

    def __init__(self, space: Any, values: Mapping[str, Any]) -> None:
        self._space = space
        self._values = values

    def __getitem__(self, path: str) -> Any:
        try:
            return self._values[path]
        except KeyError:
            raise AnalysisError(f"no parameter {path!r}; the draw has {sorted(self._values)}") from None

    def photon_flux_density(self, source: str, at: Any) -> Any:
        """N(E) of ``source`` at ``at``, photons / (cm2 s keV)."""
        energy = _energy_kev(at)
        return self._space.spectrum(source)(jnp.asarray([energy]), self._values)[0]

    def f_nu(self, source: str, at: Any) -> Any:
        """Flux density per unit frequency of ``source`` at ``at``, erg / (cm2 s Hz)."""
        energy = _energy_kev(at)
        return self.photon_flux_density(source, energy) * energy * _H_ERG_S

    def nu_f_nu(self, source: str, at: Any) -> Any:
        """νF_ν = E² N(E) of ``source`` at ``at``, erg / (cm2 s)."""
        energy = _energy_kev(at)
        return self.photon_flux_density(source, energy) * energy**2 * _KEV_ERG

    def energy_flux(self, source: str, ene_min: Any, ene_max: Any) -> Any:
        """∫ E N(E) dE of ``source`` between two observed energies (keV or spectral
        quantities, either order), erg / (cm2 s): Gauss–Legendre in ln E, 16 nodes per
        quarter decade, split at the spectrum's fixed kinks."""
        from .fluxes import gauss_legendre_log

        lo, hi = sorted((_energy_kev(ene_min), _energy_kev(ene_max)))
        if not (0 < lo < hi and np.isfinite(hi)):
            raise AnalysisError(f"an energy flux needs 0 < ene_min < ene_max, got {lo} and {hi} keV")
        panels = max(1, int(np.ceil(_PANELS_PER_DECADE * np.log10(hi / lo))))
        nodes, weights = gauss_legendre_log(lo, hi, panels, self._space.breakpoints([source]))
        nodes = jnp.asarray(nodes)
        return jnp.sum(self._space.spectrum(source)(nodes, self._values) * nodes * weights) * _KEV_ERG

    def nu_l_nu(self, source: str, at: Any, redshift: float, cosmology: Any = None) -> Any:
        """νL_ν (erg / s) of ``source`` at the rest-frame energy or wavelength ``at``:
        4π d_L² νF_ν at the observed ``at / (1 + z)`` (no K-correction needed for νL_ν).
        ``cosmology``: an astropy cosmology (default Planck18)."""
        distance = luminosity_distance(redshift, cosmology)
        observed = _energy_kev(at) / (1.0 + float(redshift))
        return 4.0 * np.pi * distance**2 * self.nu_f_nu(source, observed)

    def luminosity(self, source: str, ene_min: Any, ene_max: Any, redshift: float, cosmology: Any = None) -> Any:
        """Luminosity (erg / s) of ``source`` between two rest-frame energies:
        4π d_L² times its energy flux between their observed energies ``E / (1 + z)``.
        ``cosmology``: an astropy cosmology (default Planck18)."""
        distance = luminosity_distance(redshift, cosmology)
        stretch = 1.0 + float(redshift)
        flux = self.energy_flux(source, _energy_kev(ene_min) / stretch, _energy_kev(ene_max) / stretch)
        return 4.0 * np.pi * distance**2 * flux


def evaluate_derived(space: Any, thetas: np.ndarray, functions: Mapping[str, Callable[[Draw], Any]]) -> np.ndarray:
    """Every function of ``functions`` on every draw ``thetas`` (rows of the space's free
    parameters), shape ``(n_draws, n_functions)``, in one compiled call.

    Raises
    ------
    AnalysisError
        If there is no function, or a function does not return one number per draw.
    """
    if not functions:
        raise AnalysisError("give at least one derived quantity: {name: function of a Draw}")
    names = list(functions)

    def per_draw(theta: Any) -> Any:
        draw = Draw(space, space.unpack(theta))
        results = []
        for name in names:
            value = jnp.asarray(functions[name](draw), dtype=float)
            if value.shape != ():
                raise AnalysisError(f"derived quantity {name!r} must be one number per draw, got shape {value.shape}")
            results.append(value)
        return jnp.stack(results)

    return np.asarray(jax.jit(jax.vmap(per_draw))(jnp.asarray(np.atleast_2d(thetas), dtype=float)))
