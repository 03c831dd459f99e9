"""Filters: photon-counting bandpasses, and AB fluxes of photon spectra through them.

A filter is a one-channel response. The AB flux of a photon spectrum N(E)
(photons / (cm2 s keV), E in keV) in a filter with photon-counting response T is its
photon rate relative to that of a source with a flat 3631 Jy flux density,

    r = ∫ N(E) T(E) dE / ∫ N_AB(E) T(E) dE,      N_AB(E) = 3631 Jy / (h E),

so that the AB flux density is ``3631 Jy * r`` and the AB magnitude ``-2.5 log10 r``.
An energy-counting response R (a bolometer's) counts photons with weight E: its
photon-counting equivalent is T(E) = E R(E).

Curves come from the library speclite ships (``"sdss2010-r"``, ``"galex-nuv"``,
``"wise2010-W1"``, ``"twomass-Ks"``, ``"lsst2023-*"``, ...: :func:`speclite_filter_names`),
from speclite ``FilterResponse`` and ``FilterSequence`` objects, or from the user's
own table (:meth:`Filter.read`, :meth:`Filter.from_table`) or arrays
(:class:`Filter`) in wavelength, frequency or energy. A curve is linearly
interpolated in the variable it is tabulated in and is zero outside its table.

Quadrature (Gauss rules of the filters). Tabulated curves are fine-grained (1 Å for
LSST) while spectra are smooth over a band, so an evaluation should cost a few
spectrum values per band whatever the curve's sampling. At setup each filter, as a
measure on ln E (the interpolated curve integrated to machine precision by
Gauss–Legendre points on its segments), gets its own Gaussian quadrature (Stieltjes'
procedure, then Golub–Welsch): n nodes integrate every polynomial in ln E of degree
2n − 1 against the filter exactly. n is the fewest (typically 5 to 8) that integrate
power laws of index −4 to 3 and blackbodies from kT = E_max/30 (deep in the Wien tail)
to 10 E_max to 1e-9 relative; where the spectrum has fixed kinks (edges, fixed breaks)
the measure is split there and each piece gets its rule. An evaluation is one dot
product of the spectrum at those nodes with fixed weights, and agrees with a direct
adaptive quadrature of the interpolated curve to better than 1e-8 (relative) for power
laws, blackbodies, redshifted and absorbed spectra (``tests/test_filters.py``). A kink
whose position is a free parameter cannot be split at: a broken power law whose break
lies inside a band is integrated to ~6e-4 relative (sdss r, a change of index of 1.2;
measured), below photometric errors but not exact.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from .errors import FilterError, PluginError, UnknownFilterError

__all__ = [
    "Filter",
    "get_filter",
    "get_filters",
    "speclite_filter_names",
    "AB_ZERO_POINT",
    "BandIntegrals",
]

AB_ZERO_POINT = 3631.0 * u.Jy
_COUNTING = ("photon", "energy")
_FINE_WIDTH = 0.02  # ln E: the widest segment of the fine measure
_FINE_NODES = 12  # Gauss–Legendre nodes per segment of the fine measure
_TOLERANCE = 1e-9  # relative: how well a filter's Gauss rule integrates the test spectra
_MAX_NODES = 40
_COOLEST_BLACKBODY = 1.0 / 30.0  # kT / E_max of the coolest test blackbody
_BUMP_WIDTH = 0.21  # FWHM / centre of the 2175 Å bump: γ / x0 ≈ 0.99 / 4.6 (1/micron), FM90
_BUMP_CENTRES = 7  # test bumps across each piece
_BUMP_TOLERANCE = 1e-6  # relative, for the bumped power laws: 1e-6 mag, far below any calibration
_H_ERG_S = 6.62607015e-27
# photons / (cm2 s keV) of the AB reference at 1 keV: 3631 Jy / h, per keV of energy
_AB_PHOTONS_AT_1KEV = 3631e-23 / _H_ERG_S


def _energy_kev(grid: u.Quantity) -> np.ndarray:
    return grid.to_value(u.keV, equivalencies=u.spectral())


class Filter:
    """A bandpass: a response tabulated in wavelength, frequency or energy.

    Parameters
    ----------
    name : str
        Name, as in tables and pictures (``"sdss2010-r"``).
    grid : Quantity
        Strictly increasing, positive wavelengths, frequencies or energies where the
        response is tabulated (any astropy unit of length, frequency or energy).
    response : array_like
        Response at ``grid``, finite and non-negative (any normalisation: only ratios
        enter the AB flux); zero outside the table.
    counting : {"photon", "energy"}
        Whether the response counts photons (CCDs, photomultipliers: the convention
        of speclite and of most published curves) or energy (bolometers).
    band : str, optional
        Short band name (``"r"``); the part of ``name`` after its last ``-`` by default.
    description : str
        Where the curve comes from.

    Raises
    ------
    FilterError
        For a grid without a spectral unit, non-increasing or non-positive grid values,
        NaN/inf, a negative response, a response that is zero everywhere, or an unknown
        ``counting``.
    """

    def __init__(self, name: str, grid: Any, response: Any, *, counting: str = "photon",
                 band: str | None = None, description: str = "") -> None:
        if not isinstance(name, str) or not name:
            raise FilterError(f"a filter needs a non-empty name, got {name!r}")
        self.name = name
        self.band = band if band is not None else name.rsplit("-", 1)[-1]
        self.description = description
        if counting not in _COUNTING:
            raise FilterError(f"filter {name!r}: counting must be 'photon' or 'energy', got {counting!r}")
        self.counting = counting
        if not isinstance(grid, u.Quantity):
            raise FilterError(f"filter {name!r}: give the grid with its unit (e.g. wavelength * u.AA, "
                              "frequency * u.Hz or energy * u.keV)")
        kind = next((k for k, unit in (("wavelength", u.AA), ("frequency", u.Hz), ("energy", u.keV))
                     if grid.unit.is_equivalent(unit)), None)
        if kind is None:
            raise FilterError(f"filter {name!r}: the grid's unit {grid.unit} is not a wavelength, frequency "
                              "or energy")
        values = np.asarray(grid.value, dtype=float)
        response = np.asarray(response, dtype=float)
        if values.ndim != 1 or values.shape != response.shape or values.size < 2:
            raise FilterError(f"filter {name!r}: the grid and the response must be 1-d, of equal length and "
                              f"at least 2 points; got shapes {values.shape} and {response.shape}")
        for what, array in (("grid", values), ("response", response)):
            bad = np.flatnonzero(~np.isfinite(array))
            if bad.size:
                raise FilterError(f"filter {name!r}: the {what} has {bad.size} NaN/inf value(s), first at "
                                  f"index {bad[0]}")
        if np.any(values <= 0):
            index = int(np.flatnonzero(values <= 0)[0])
            raise FilterError(f"filter {name!r}: the {kind}s must be > 0; {kind}[{index}] = {float(values[index])!r}")
        steps = np.diff(values)
        if np.any(steps <= 0):
            index = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise FilterError(f"filter {name!r}: the {kind}s must increase strictly; {kind}[{index}] = "
                              f"{float(values[index])!r} follows {float(values[index - 1])!r} (sort the table)")
        if np.any(response < 0):
            index = int(np.flatnonzero(response < 0)[0])
            raise FilterError(f"filter {name!r}: the response must be >= 0; response[{index}] = "
                              f"{float(response[index])!r} at {kind} {float(values[index])!r} {grid.unit}")
        if not np.any(response > 0):
            raise FilterError(f"filter {name!r}: the response is zero everywhere")
        self._kind = kind
        self._grid = values * grid.unit
        self._response = response

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_speclite(cls, response: Any) -> Filter:
        """A filter from a speclite ``FilterResponse`` (photon-counting, wavelengths in Å)."""
        meta = dict(getattr(response, "meta", {}) or {})
        group, band = meta.get("group_name"), meta.get("band_name")
        name = getattr(response, "name", None) or (f"{group}-{band}" if group and band else None)
        if name is None:
            raise FilterError(f"{response!r} is not a speclite FilterResponse (it has no name)")
        return cls(name, np.asarray(response.wavelength, dtype=float) * u.AA, np.asarray(response.response),
                   band=band, description=str(meta.get("description", "")))

    @classmethod
    def from_table(cls, table: Any, *, name: str | None = None, grid_column: str | None = None,
                   response_column: str | None = None, unit: Any = None, counting: str = "photon",
                   band: str | None = None, source: str = "") -> Filter:
        """A filter from an astropy Table: a spectral column (with a unit, or ``unit``)
        and a response column.

        Columns are found by name when not given: the spectral one is the first whose
        unit is a wavelength, frequency or energy (or named like ``wavelength``,
        ``lambda``, ``frequency``, ``energy``), the response one is named like
        ``response``, ``transmission``, ``throughput``, ``trans`` or ``qe``, or is the
        only other column.

        Raises
        ------
        FilterError
            If a column cannot be found or has no spectral unit.
        """
        label = source or "the table"
        columns = list(table.colnames)
        name = name or (Path(source).stem if source else None)
        if not name:
            raise FilterError(f"{label}: give the filter a name=")

        def spectral(column: str) -> bool:
            col_unit = table[column].unit
            return col_unit is not None and any(u.Unit(col_unit).is_equivalent(x) for x in (u.AA, u.Hz, u.keV))

        if grid_column is None:
            by_unit = [c for c in columns if spectral(c)]
            by_name = [c for c in columns if c.lower() in ("wavelength", "wave", "lambda", "wavelength_a",
                                                           "frequency", "freq", "nu", "energy")]
            found = by_unit or by_name
            if not found:
                raise FilterError(f"{label}: no column is a wavelength, frequency or energy (columns: {columns}); "
                                  "give grid_column= and unit=")
            grid_column = found[0]
        if response_column is None:
            names = ("response", "transmission", "throughput", "trans", "qe", "filter", "efficiency")
            found = [c for c in columns if c.lower() in names]
            rest = [c for c in columns if c != grid_column]
            if not found and len(rest) == 1:
                found = rest
            if not found:
                raise FilterError(f"{label}: cannot tell which column is the response (columns: {columns}); "
                                  "give response_column=")
            response_column = found[0]
        for column in (grid_column, response_column):
            if column not in columns:
                raise FilterError(f"{label}: no column {column!r}; columns are {columns}")
        column_unit = unit if unit is not None else table[grid_column].unit
        if column_unit is None:
            raise FilterError(f"{label}: column {grid_column!r} has no unit; give unit= (e.g. u.AA)")
        grid = np.asarray(table[grid_column], dtype=float) * u.Unit(column_unit)
        try:
            return cls(name, grid, np.asarray(table[response_column], dtype=float), counting=counting, band=band,
                       description=source)
        except FilterError as error:
            raise FilterError(f"{label}, columns {grid_column!r} and {response_column!r}: {error}") from None

    @classmethod
    def read(cls, path: str | os.PathLike[str], *, name: str | None = None, counting: str = "photon",
             hdu: int | str | None = None, **columns: Any) -> Filter:
        """A filter from a file astropy's ``Table.read`` understands (ECSV, FITS,
        CSV, ...); ``columns``: ``grid_column``, ``response_column``, ``unit``, ``band``.

        Raises
        ------
        FilterError
            If the file does not exist or cannot be read, or its columns do not make a
            filter.
        """
        from astropy.table import Table

        path = Path(path)
        if not path.is_file():
            raise FilterError(f"filter file {str(path)!r} does not exist (looked in {str(path.resolve().parent)!r})")
        options = {} if hdu is None else {"hdu": hdu}
        try:
            table = Table.read(path, **options)
        except Exception as exc:
            raise FilterError(f"filter file {str(path)!r} could not be read as a table: {exc}") from exc
        return cls.from_table(table, name=name, counting=counting, source=str(path), **columns)

    # -- the curve -----------------------------------------------------------------------------
    @property
    def grid(self) -> u.Quantity:
        """Where the response is tabulated, in the unit it was given."""
        return self._grid

    @property
    def response(self) -> np.ndarray:
        """Response at :attr:`grid`."""
        return self._response.copy()

    def __repr__(self) -> str:
        lo, hi = self.wavelength_range
        return (f"Filter({self.name!r}, {self.counting}-counting, {lo.to_value(u.AA):.6g}-{hi.to_value(u.AA):.6g} Å, "
                f"pivot {self.pivot_wavelength.to_value(u.AA):.6g} Å)")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Filter) and other.name == self.name and other.counting == self.counting
                and other._grid.unit == self._grid.unit and np.array_equal(other._grid.value, self._grid.value)
                and np.array_equal(other._response, self._response))

    def __hash__(self) -> int:
        return hash((self.name, self.counting, self._grid.size))

    @functools.cached_property
    def _support(self) -> tuple[float, float]:
        """Native-variable range outside which the response is zero."""
        x, response = self._grid.value, self._response
        nonzero = np.flatnonzero(response > 0)
        return float(x[max(nonzero[0] - 1, 0)]), float(x[min(nonzero[-1] + 1, x.size - 1)])

    @property
    def energy_range(self) -> tuple[float, float]:
        """Energies (keV) outside which the response is zero."""
        ends = _energy_kev(np.array(self._support) * self._grid.unit)
        return float(ends.min()), float(ends.max())

    @property
    def wavelength_range(self) -> tuple[u.Quantity, u.Quantity]:
        """Wavelengths outside which the response is zero."""
        lo, hi = self.energy_range
        return (hi * u.keV).to(u.AA, u.spectral()), (lo * u.keV).to(u.AA, u.spectral())

    def require_covered_by(self, spectral_shape: Any, source: str, plugin: str, hint: str = "") -> None:
        """Refuse a spectral shape that is not defined over all of this filter
        (:meth:`~jointfit.functions.SpectralFunction.valid_energy_range`).

        Raises
        ------
        PluginError
            Naming the plugin, the filter, the source and both energy ranges
            (``hint``: what the user can do, appended).
        """
        lo, hi = spectral_shape.valid_energy_range()
        band_lo, band_hi = self.energy_range
        if band_lo < lo or band_hi > hi:
            raise PluginError(f"plugin {plugin!r}: filter {self.name!r} reaches {band_lo:.4g}-{band_hi:.4g} keV, "
                              f"outside {lo:.4g}-{hi:.4g} keV where the spectrum of {source!r} is defined{hint}")

    def photon_response(self, energy_kev: Any) -> np.ndarray:
        """Photon-counting response T(E) at energies (keV): the linearly interpolated
        curve (times E for an energy-counting curve), zero outside the table."""
        energy = np.asarray(energy_kev, dtype=float)
        x = (energy * u.keV).to_value(self._grid.unit, u.spectral())
        value = np.interp(x, self._grid.value, self._response, left=0.0, right=0.0)
        return value * energy if self.counting == "energy" else value

    def _moment(self, power: int) -> float:
        """∫ T(E) E**power dE (keV**(power + 1)), exact for the interpolated curve."""
        nodes, weights = self._raw_quadrature(())
        return float(np.sum(weights * nodes**power))

    @functools.cached_property
    def _reference_rate(self) -> float:
        """Photons / (cm2 s) of the 3631 Jy flat-f_nu source through the filter."""
        return _AB_PHOTONS_AT_1KEV * self._moment(-1)

    @property
    def pivot_wavelength(self) -> u.Quantity:
        """Pivot wavelength sqrt(∫ T λ dλ / ∫ T dλ / λ) of the photon-counting response
        (Å): where the AB flux's f_nu and f_lambda convert as a monochromatic source's."""
        energy = math.sqrt(self._moment(-1) / self._moment(-3))
        return (energy * u.keV).to(u.AA, u.spectral())

    @property
    def effective_energy(self) -> float:
        """Energy (keV) of the pivot wavelength: where the SED picture plots the band."""
        return float(self.pivot_wavelength.to_value(u.keV, u.spectral()))

    @property
    def half_maximum_range(self) -> tuple[float, float]:
        """Energies (keV) between which the photon-counting response exceeds half its
        maximum (the horizontal bar of the band in the SED picture)."""
        nodes = np.geomspace(*self.energy_range, 4001)
        response = self.photon_response(nodes)
        above = np.flatnonzero(response >= 0.5 * response.max())
        return float(nodes[above[0]]), float(nodes[above[-1]])

    # -- AB fluxes -------------------------------------------------------------------------------
    def _raw_quadrature(self, breakpoints_kev: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Nodes (keV) and weights with ``Σ w N(E)`` = ∫ N T dE (photons / (cm2 s))."""
        return _product_quadrature(self, tuple(sorted(float(b) for b in breakpoints_kev)))

    def quadrature(self, breakpoints_kev: Iterable[float] = ()) -> BandIntegrals:
        """The AB flux ratio of this filter as fixed nodes and weights (see the module
        docstring); ``breakpoints_kev``: energies where the spectrum has kinks."""
        return BandIntegrals.of([self], breakpoints_kev)

    def ab_flux_ratio(self, spectrum: Any) -> float:
        """AB flux of ``spectrum`` (a callable of energies in keV returning photons /
        (cm2 s keV), e.g. a jointfit spectral function, whose fixed kinks the quadrature
        is split at) relative to 3631 Jy."""
        kinks = spectrum.breakpoints() if hasattr(spectrum, "breakpoints") else ()
        integrals = self.quadrature(kinks)
        return float(integrals.flux_ratios(np.asarray(spectrum(integrals.nodes_kev)))[0])

    def ab_magnitude(self, spectrum: Any) -> float:
        """AB magnitude of ``spectrum`` (see :meth:`ab_flux_ratio`)."""
        return -2.5 * math.log10(self.ab_flux_ratio(spectrum))


def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (nodes + 1.0), 0.5 * weights  # on [0, 1]


def _cuts_in_log_energy(lo: float, hi: float, breakpoints: Sequence[float], width: float) -> np.ndarray:
    """ln E (keV) of cuts over [lo, hi]: the breakpoints, then equal steps at most ``width``."""
    cuts = [math.log(lo), *(math.log(b) for b in breakpoints if lo < b < hi), math.log(hi)]
    edges = [cuts[0]]
    for start, stop in zip(cuts[:-1], cuts[1:]):
        pieces = max(1, math.ceil((stop - start) / width - 1e-9))
        edges.extend(np.linspace(start, stop, pieces + 1)[1:])
    return np.asarray(edges)


def _fine_measure(filt: Filter, breakpoints: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The filter as a discrete measure exact for the interpolated curve: energies (keV)
    and weights with ``Σ w N(E)`` = ∫ N T dE to machine precision for smooth N, and the
    piece (between breakpoints) of each point.

    Gauss–Legendre points on every segment of the table, segments cut further where
    they are wider than ``_FINE_WIDTH`` in ln E and at the breakpoints.
    """
    lo_kev, hi_kev = filt.energy_range
    unit = filt.grid.unit
    x_table, response = filt.grid.value, filt._response
    x_lo, x_hi = filt._support
    log_cuts = _cuts_in_log_energy(lo_kev, hi_kev, breakpoints, _FINE_WIDTH)
    x_cuts = (np.exp(log_cuts) * u.keV).to_value(unit, u.spectral())
    cuts = np.unique(np.concatenate([x_table[(x_table >= x_lo) & (x_table <= x_hi)], x_cuts]))
    cuts = cuts[(cuts >= x_lo * (1 - 1e-15)) & (cuts <= x_hi * (1 + 1e-15))]
    t, w = _gauss_legendre(_FINE_NODES)
    left, width = cuts[:-1, None], np.diff(cuts)[:, None]
    x = left + width * t  # (segments, fine nodes)
    energy = (x * unit).to_value(u.keV, u.spectral())
    # |dE/dx| of the change of variable, exactly: E/λ for wavelengths, E/ν = h for frequencies
    jacobian = energy / x if filt._kind in ("wavelength", "frequency") else (1.0 * unit).to_value(u.keV) + 0 * x
    photon = np.interp(x, x_table, response, left=0.0, right=0.0)
    if filt.counting == "energy":
        photon = photon * energy
    weights = width * w * photon * jacobian
    mid_energy = (0.5 * (cuts[:-1] + cuts[1:]) * unit).to_value(u.keV, u.spectral())
    piece = np.searchsorted(np.asarray(breakpoints), mid_energy)[:, None] + 0 * x.astype(int)
    return energy.ravel(), weights.ravel(), piece.ravel()


def _gauss_rule(log_energy: np.ndarray, weights: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n-point Gauss rule of a discrete measure on ln E (Stieltjes' procedure on the
    measure, then Golub–Welsch): exact for polynomials in ln E up to degree 2n − 1."""
    centre, half = 0.5 * (log_energy.max() + log_energy.min()), 0.5 * np.ptp(log_energy) or 1.0
    s = (log_energy - centre) / half
    total = weights.sum()
    alpha, beta = np.zeros(n), np.zeros(n)
    previous, current = np.zeros_like(s), np.ones_like(s) / math.sqrt(total)
    for k in range(n):  # orthonormal polynomials: stable for the few nodes used here
        alpha[k] = np.sum(weights * s * current**2)
        following = (s - alpha[k]) * current - (math.sqrt(beta[k]) if k else 0.0) * previous
        norm = math.sqrt(np.sum(weights * following**2))
        if k + 1 < n:
            beta[k + 1] = norm**2
        previous, current = current, following / norm
    jacobi = np.diag(alpha) + np.diag(np.sqrt(beta[1:]), 1) + np.diag(np.sqrt(beta[1:]), -1)
    nodes, vectors = np.linalg.eigh(jacobi)
    return np.exp(centre + half * nodes), total * vectors[0] ** 2


def _test_spectra(energy: np.ndarray, lo_kev: float, hi_kev: float) -> tuple[np.ndarray, np.ndarray]:
    """The spectra a rule must integrate, and the relative tolerance of each: power
    laws of index −4 to 3 and blackbodies from kT = E_max / 30 (deep in the Wien tail)
    to 10 E_max (Rayleigh–Jeans), E_max the top of the piece, to ``_TOLERANCE``; and an
    E**-2 power law dimmed by one magnitude of the 2175 Å bump (a Drude profile of
    relative width ``_BUMP_WIDTH``, as dust laws write it) centred anywhere from E_min,
    the bottom of the piece, to E_max, redshift placing the bump at any energy, to
    ``_BUMP_TOLERANCE``. The laws' kinks are breakpoints
    (:meth:`jointfit.functions.dust._DustLaw.breakpoints`); between them the bump is the
    one feature narrower than the band."""
    rows = [energy**index for index in range(-4, 4)]
    temperatures = hi_kev * np.array([_COOLEST_BLACKBODY, 0.1, 0.3, 1.0, 10.0])
    rows += [energy**2 / np.expm1(energy / kT) for kT in temperatures]
    tolerances = [_TOLERANCE] * len(rows)
    for centre in np.geomspace(lo_kev, hi_kev, _BUMP_CENTRES):
        t = energy / centre
        bump = _BUMP_WIDTH**2 * t**2 / ((t**2 - 1.0) ** 2 + (t * _BUMP_WIDTH) ** 2)  # 1 at the centre
        rows.append(energy**-2.0 * 10.0 ** (-0.4 * bump))
        tolerances.append(_BUMP_TOLERANCE)
    return np.array(rows), np.array(tolerances)


@functools.lru_cache(maxsize=256)
def _product_quadrature(filt: Filter, breakpoints: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (keV) and weights of the filter's Gauss rule: per piece between
    breakpoints, the fewest nodes that integrate the test spectra to ``_TOLERANCE``
    of the fine measure."""
    energy, weights, piece = _fine_measure(filt, breakpoints)
    nodes, node_weights = [], []
    for k in np.unique(piece):
        e, w = energy[piece == k], weights[piece == k]
        if not np.any(w > 0):
            continue
        lo, hi = float(e.min()), float(e.max())
        spectra, tolerance = _test_spectra(e, lo, hi)
        exact = spectra @ w
        for n in range(2, _MAX_NODES + 1):
            rule_nodes, rule_weights = _gauss_rule(np.log(e), w, n)
            approximate = _test_spectra(rule_nodes, lo, hi)[0] @ rule_weights
            if np.all(np.abs(approximate / exact - 1.0) <= tolerance):
                break
        nodes.append(rule_nodes)
        node_weights.append(rule_weights)
    return np.concatenate(nodes), np.concatenate(node_weights)


class BandIntegrals:
    """AB flux ratios of several filters as one dense product: ``flux_ratios(N(nodes))``
    is ``W @ N`` with ``W`` of shape (filters, nodes), computed once.

    Attributes
    ----------
    filters : list of Filter
    nodes_kev : ndarray
        Energies (keV) where the spectrum is evaluated, all filters' nodes together.
    matrix : ndarray
        (filters, nodes) weights: AB flux ratio of filter i = ``matrix[i] @ N(nodes_kev)``.
    """

    def __init__(self, filters: Sequence[Filter], nodes_kev: np.ndarray, matrix: np.ndarray) -> None:
        self.filters = list(filters)
        self.nodes_kev = nodes_kev
        self.matrix = matrix

    @classmethod
    def of(cls, filters: Sequence[Filter], breakpoints_kev: Iterable[float] = ()) -> BandIntegrals:
        """The integrals of ``filters``, panels split at ``breakpoints_kev``."""
        breaks = tuple(sorted({float(b) for b in breakpoints_kev if np.isfinite(b) and b > 0}))
        blocks = []
        for filt in filters:
            lo, hi = filt.energy_range
            nodes, weights = filt._raw_quadrature(tuple(b for b in breaks if lo < b < hi))
            blocks.append((nodes, weights / filt._reference_rate))
        nodes = np.concatenate([b[0] for b in blocks])
        matrix = np.zeros((len(blocks), nodes.size))
        start = 0
        for i, (block_nodes, weights) in enumerate(blocks):
            matrix[i, start:start + block_nodes.size] = weights
            start += block_nodes.size
        return cls(filters, nodes, matrix)

    def flux_ratios(self, spectrum_at_nodes: Any) -> Any:
        """AB flux ratios (relative to 3631 Jy), one per filter, of a spectrum given at
        :attr:`nodes_kev` (a numpy or JAX array; leading batch axes are kept)."""
        return spectrum_at_nodes @ self.matrix.T

    def weights_of(self, function: Any) -> np.ndarray:
        """``flux_ratios`` of a numpy callable of energy (keV): per filter."""
        return self.flux_ratios(np.asarray(function(self.nodes_kev), dtype=float))


# -- the speclite library --------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def speclite_filter_names() -> tuple[str, ...]:
    """Names of every filter curve speclite ships (``"sdss2010-r"``, ...)."""
    import speclite.filters

    folder = Path(speclite.filters.__file__).parent / "data" / "filters"
    return tuple(sorted(p.stem for p in folder.glob("*.ecsv")))


@functools.lru_cache(maxsize=None)
def _speclite_filter(name: str) -> Filter:
    import speclite.filters

    return Filter.from_speclite(speclite.filters.load_filter(name))


def _unknown(name: str) -> UnknownFilterError:
    names = speclite_filter_names()
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    lowered = [n for n in names if n.lower() == name.lower() or n.split("-", 1)[-1] == name]
    suggestions = list(dict.fromkeys(lowered + close))
    hint = f"; did you mean {', '.join(map(repr, suggestions))}?" if suggestions else ""
    threeml = ""
    if "/" in name or "." in name:
        threeml = (" (3ML's threeML_filter_library / SVO names need the internet, which jointfit does not use: "
                   "give a speclite name, a speclite FilterResponse or your own curve with Filter.read)")
    groups = sorted({n.rsplit("-", 1)[0] for n in names})
    return UnknownFilterError(f"unknown filter {name!r}{hint}{threeml}; speclite's groups are {groups} "
                              "(jointfit.filters.speclite_filter_names() lists every band)")


def get_filter(spec: Any) -> Filter:
    """One :class:`Filter` from a speclite name, a speclite ``FilterResponse`` or a
    :class:`Filter`.

    Raises
    ------
    UnknownFilterError
        For a name speclite does not ship (suggesting close names).
    FilterError
        For anything else that is not a filter.
    """
    if isinstance(spec, Filter):
        return spec
    if isinstance(spec, str):
        if spec not in speclite_filter_names():
            raise _unknown(spec)
        return _speclite_filter(spec)
    if hasattr(spec, "wavelength") and hasattr(spec, "response") and hasattr(spec, "meta"):
        return Filter.from_speclite(spec)
    raise FilterError(f"{spec!r} is not a filter: give a speclite name ('sdss2010-r'), a speclite FilterResponse "
                      "or a jointfit Filter")


def get_filters(*specs: Any) -> list[Filter]:
    """Filters from names (with wildcards, ``"sdss2010-*"``, ``"sdss2010-[griz]"``: the
    matches by increasing wavelength), speclite
    ``FilterResponse``/``FilterSequence`` objects, :class:`Filter` objects or lists
    of them, in order.

    Raises
    ------
    UnknownFilterError, FilterError
        As :func:`get_filter`; also for a wildcard that matches nothing.
    """
    found: list[Filter] = []
    for spec in specs:
        if isinstance(spec, str) and any(c in spec for c in "*?["):
            matches = [n for n in speclite_filter_names() if fnmatch.fnmatchcase(n, spec)]
            if not matches:
                raise _unknown(spec)
            # by wavelength, as speclite orders a group's bands (u g r i z), not by name
            found.extend(sorted((_speclite_filter(n) for n in matches), key=lambda f: f.pivot_wavelength.value))
        elif isinstance(spec, (list, tuple)) or (not isinstance(spec, (str, Filter)) and hasattr(spec, "__iter__")
                                                   and not hasattr(spec, "wavelength")):
            found.extend(get_filters(*spec))
        else:
            found.append(get_filter(spec))
    return found
