"""Brightness of a source in imaging bands: the spectral shape of imaging.

``ExtendedSource("gal", Sersic(...), BandMagnitudes(r=17.1, W1=16.0, NUV=19.5))``
gives one source with one magnitude parameter per band, so that every image sees the
same shape; an image of band ``b`` with zeropoint ``zp`` (magnitude of one image unit
summed over pixels) scales the shape's unit total flux by ``10**(-0.4 (m_b - zp))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jointfit.errors import ModelError
from jointfit.functions import SpectralFunction
from jointfit.functions.base import ParameterSpec

__all__ = ["BandMagnitudes", "band_flux"]


class BandMagnitudes(SpectralFunction):
    """One magnitude per imaging band, by band name (``r=17.1, W1=16.0``).

    Parameters are ``<source>.spectrum.main.BandMagnitudes.<band>``. A band's flux in
    an image's units is ``10**(-0.4 (m - zeropoint))``. Not a photon spectrum: an
    X-ray plugin that sees such a source raises :class:`~jointfit.errors.ModelError`.
    """

    photon_spectrum = False

    def __init__(self, **magnitudes: float) -> None:
        if not magnitudes:
            raise ModelError("BandMagnitudes needs at least one band, e.g. BandMagnitudes(r=17.2)")
        specs = {}
        for band in magnitudes:
            if not band.isidentifier():
                raise ModelError(f"BandMagnitudes: band name {band!r} must be an identifier (letters, digits, _)")
            spec = ParameterSpec(20.0, bounds=(-50.0, 60.0), unit="", description=f"Magnitude in band {band}")
            spec.name = band
            specs[band] = spec
        self._specs = specs  # per instance: the bands are the user's
        super().__init__(**magnitudes)

    @classmethod
    def _new_for_state(cls, state: Mapping[str, Any]) -> BandMagnitudes:
        return cls(**{band: 20.0 for band in state})

    @property
    def bands(self) -> tuple[str, ...]:
        """The band names, in order."""
        return tuple(self._parameters)

    def evaluate(self, x: Any, **magnitudes: Any) -> Any:  # type: ignore[override]
        raise ModelError(f"BandMagnitudes({', '.join(magnitudes)}) gives brightness in imaging bands, not a photon "
                         "spectrum: assign spectral plugins to sources with a spectral shape such as Powerlaw()")


def band_flux(magnitude: Any, zeropoint: float) -> Any:
    """Total flux in image units of a source of ``magnitude`` in an image whose
    ``zeropoint`` is the magnitude of one unit."""
    return 10.0 ** (-0.4 * (magnitude - zeropoint))
