"""Fluxes of the model's sources for every posterior draw at once, with intervals.

Each draw ``theta`` becomes parameter values through the compiled parameter space
(links applied, so a parameter linked from another source carries its posterior into
this source's flux), and every requested row (a source, one of its components, or a
sum over sources) is integrated over the band in one compiled, vectorised call.

``integration="quad"``: composite Gauss–Legendre in ln E (16 nodes per panel, panels
split at the functions' fixed breakpoints such as absorption edges), refined by
doubling the panels until two successive results agree to 1e-9 relative for every
draw. A feature much narrower than a panel whose position depends on free parameters
(an emission line with sigma below ~1e-4 of its energy) can escape both levels; give
such bands narrowly around the line.

``integration="trapz"``: 3ML's fast method, the trapezoid rule on 50 energies
(log-spaced over more than two decades; biased for curved spectra), only when asked for.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .errors import AnalysisError, JointfitWarning
from .flux_units import FluxUnit, energy_in_kev, resolve_flux_unit
from .functions.base import CompositeFunction
from .intervals import check_interval, credible_bounds
from .space import SpectrumFn

__all__ = ["FluxRow", "flux_rows", "FluxCalculator", "flux_table", "magnitude_table", "gauss_legendre_log"]

_NODES_PER_PANEL = 16
_BASE_PANELS = 16
_MAX_REFINEMENTS = 8
_TOLERANCE = 1e-9
_TRAPZ_POINTS = 50
_NODE_BLOCK = 512  # node arrays are padded to a multiple of this: one compilation serves many bands
_DRAW_CHUNK_ELEMENTS = 1 << 22  # draws x nodes evaluated per chunk (memory bound)


@dataclass(frozen=True)
class FluxRow:
    """One row of a flux table: its label (``"src2: Blackbody"``) and the photon
    spectrum it integrates, ``(energies_keV, values_by_path) -> photons/(cm2 s keV)``."""

    label: str
    spectrum: SpectrumFn


def _prefixed(function: SpectrumFn, prefix: str, names: Sequence[str]) -> SpectrumFn:
    def evaluate(x: Any, values: Any) -> Any:
        return function(x, {name: values[prefix + name] for name in names})

    return evaluate


UNABSORBED = " (unabsorbed)"  # the label's suffix for rows with absorption and extinction set to one


def _source_rows(space: Any, name: str, use_components: bool, components: Sequence[str],
                 absorbed: bool = True) -> tuple[list[FluxRow], FluxRow | None]:
    """One source's component rows and its total row (``None`` when not wanted), as
    3ML chooses them: with components, a composite spectrum gives one row per selected
    additive component (with the factors that multiply it); the total comes when no
    component was selected or ``"total"`` is asked for. ``absorbed=False``: absorption
    and extinction set to one, labels ending in ``" (unabsorbed)"``."""
    source = space.model.sources[name]
    shape = source.spectral_shape
    prefix, local = source.spectral_prefix(), list(shape._parameters)
    if absorbed or not isinstance(shape, CompositeFunction):
        total = FluxRow(f"{name}: total", space.spectrum(name))
    else:
        total = FluxRow(f"{name}: total{UNABSORBED}", _prefixed(shape.unabsorbed(), prefix, local))
    if not use_components:
        return [], total
    found = _components(space, name, absorbed)
    wanted = [label for label in (components or found) if label in found]
    suffix = "" if absorbed else UNABSORBED
    rows = [FluxRow(f"{name}: {label}{suffix}", _prefixed(found[label], prefix, local)) for label in wanted]
    return rows, (total if not rows or "total" in components else None)


def flux_rows(space: Any, sources: Sequence[str] | None = None, use_components: bool = False,
              components: Sequence[str] = (), sum_sources: bool = False, absorbed: bool = True) -> list[FluxRow]:
    """The rows of a flux table, labelled and chosen as 3ML's ``get_flux`` does:
    ``"<source>: total"`` or ``"<source>: <component>"``; summed over sources,
    ``"total"``, or with components one row per component name and a ``"total"`` of
    the sources that gave their total. ``absorbed=False``: absorption and extinction
    set to one, labels ending in ``" (unabsorbed)"``.

    Raises
    ------
    AnalysisError
        If a source or component is unknown, or no source is selected.
    """
    names = list(space.source_names) if sources is None else list(sources)
    if not names:
        raise AnalysisError("no source selected for the flux table")
    unknown = [n for n in names if n not in space.source_names]
    if unknown:
        raise AnalysisError(f"unknown source(s) {unknown}; the model has {list(space.source_names)}")
    use_components = use_components or bool(components)
    if components:
        known = {label for n in names for label in _components(space, n)} | {"total"}
        missing = [c for c in components if c not in known]
        if missing:
            raise AnalysisError(f"no component {missing} in the sources {names}; their components are "
                                f"{sorted(known)}")
    per_source = [_source_rows(space, n, use_components, components, absorbed) for n in names]
    if not sum_sources:
        return [row for rows, total in per_source for row in rows + ([total] if total else [])]
    by_component: dict[str, list[SpectrumFn]] = {}
    for rows, _ in per_source:
        for row in rows:
            by_component.setdefault(row.label.split(": ", 1)[1], []).append(row.spectrum)
    totals = [total.spectrum for _, total in per_source if total is not None]
    summed = [FluxRow(label, _summed(spectra)) for label, spectra in by_component.items()]
    total_label = "total" if absorbed else f"total{UNABSORBED}"
    return summed + ([FluxRow(total_label, _summed(totals))] if totals else [])


def _components(space: Any, name: str, absorbed: bool = True) -> dict[str, SpectrumFn]:
    """The additive components of a source's composite spectrum by 3ML's name (none
    for a simple spectrum: its only row is the total)."""
    shape = space.model.sources[name].spectral_shape
    return shape.component_spectra(absorbed) if isinstance(shape, CompositeFunction) else {}


def has_absorption(space: Any, name: str) -> bool:
    """Whether the source's spectrum has absorption or extinction factors."""
    shape = space.model.sources[name].spectral_shape
    return isinstance(shape, CompositeFunction) and bool(shape.absorbing_leaves)


def _summed(spectra: list[SpectrumFn]) -> SpectrumFn:
    def evaluate(x: Any, values: Any) -> Any:
        return sum(spectrum(x, values) for spectrum in spectra[1:]) + spectra[0](x, values)

    return evaluate


def gauss_legendre_log(lo: float, hi: float, panels: int, breakpoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (keV) and weights (keV) of composite Gauss–Legendre in ln E over
    ``[lo, hi]``: ``sum(f(nodes) * weights)`` ≈ ∫ f dE."""
    inside = np.log(breakpoints[(breakpoints > lo) & (breakpoints < hi)])
    edges = np.unique(np.concatenate([np.linspace(math.log(lo), math.log(hi), panels + 1), inside]))
    x, w = np.polynomial.legendre.leggauss(_NODES_PER_PANEL)
    half, middle = 0.5 * np.diff(edges)[:, None], 0.5 * (edges[1:] + edges[:-1])[:, None]
    log_nodes = (middle + half * x).ravel()
    nodes = np.exp(log_nodes)
    return nodes, (half * w).ravel() * nodes


def _trapezoid(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (keV) of 3ML's trapezoid: 50 energies, log-spaced over more
    than two decades, else evenly spaced."""
    nodes = np.geomspace(lo, hi, _TRAPZ_POINTS) if hi / lo > 100 else np.linspace(lo, hi, _TRAPZ_POINTS)
    gaps = np.diff(nodes)
    weights = np.zeros_like(nodes)
    weights[:-1] += 0.5 * gaps
    weights[1:] += 0.5 * gaps
    return nodes, weights


def _rules(*rules: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Several quadrature rules as one node array and a weight matrix ``(n_rules,
    n_nodes)`` (each rule's weights zero on the others' nodes), padded to a multiple of
    ``_NODE_BLOCK`` nodes with zero-weight copies of the first node."""
    nodes = np.concatenate([n for n, _ in rules])
    weights = np.zeros((len(rules), nodes.size))
    start = 0
    for i, (n, w) in enumerate(rules):
        weights[i, start:start + n.size] = w
        start += n.size
    extra = -nodes.size % _NODE_BLOCK
    return np.concatenate([nodes, np.full(extra, nodes[0])]), np.pad(weights, ((0, 0), (0, extra)))


class FluxCalculator:
    """Fluxes of posterior draws of one model (compiled programs cached per set of rows).

    Parameters
    ----------
    space : ParameterSpace
        The model's compiled parameter space.
    """

    def __init__(self, space: Any) -> None:
        self.space = space
        self._programs: dict[tuple[Any, ...], Any] = {}

    def _program(self, rows: list[FluxRow], power: int) -> Any:
        """The compiled program of these rows (JAX compiles it once per shape)."""
        key = (tuple(r.label for r in rows), power)
        if key not in self._programs:
            space = self.space

            def per_draw(theta: Any, nodes: Any, weights: Any) -> Any:
                values = space.unpack(theta)
                integrands = jnp.stack([row.spectrum(nodes, values) for row in rows]) * nodes**power
                return integrands @ weights.T  # (rows, rules)

            def all_draws(thetas: Any, nodes: Any, weights: Any) -> Any:
                chunk = max(1, min(thetas.shape[0], _DRAW_CHUNK_ELEMENTS // nodes.shape[0]))
                return jax.lax.map(lambda t: per_draw(t, nodes, weights), thetas, batch_size=chunk)

            self._programs[key] = jax.jit(all_draws)
        return self._programs[key]

    def evaluate(self, thetas: np.ndarray, rows: list[FluxRow], lo_kev: float, hi_kev: float, unit: FluxUnit,
                 integration: str = "quad") -> np.ndarray:
        """Values in ``unit.unit`` of every row for every draw, shape ``(n_draws, n_rows)``.

        ``thetas``: draws of the space's free parameters, shape ``(n_draws, n_free)``.
        """
        thetas = jnp.asarray(np.atleast_2d(np.asarray(thetas, dtype=float)))
        if unit.density is not None:
            raw = self._run(rows, unit.power, thetas, *_rules((np.array([lo_kev]), np.array([1.0]))))[..., 0]
        elif integration == "trapz":
            raw = self._run(rows, unit.power, thetas, *_rules(_trapezoid(lo_kev, hi_kev)))[..., 0]
        elif integration == "quad":
            raw = self._quad(rows, unit.power, thetas, lo_kev, hi_kev)
        else:
            raise AnalysisError(f"integration must be 'quad' or 'trapz', not {integration!r}")
        return raw * unit.conversion(lo_kev)

    def spectra(self, thetas: np.ndarray, rows: list[FluxRow], energies_kev: np.ndarray, unit: FluxUnit) -> np.ndarray:
        """Flux densities in ``unit.unit`` of every row at each energy for every draw,
        shape ``(n_draws, n_rows, n_energies)`` (one compiled call)."""
        if unit.density is None:
            raise AnalysisError("spectra need a flux density unit (or erg/(cm2 s) for nuFnu)")
        energies = np.asarray(energies_kev, dtype=float)
        key = ("spectra", tuple(r.label for r in rows), unit.power)
        if key not in self._programs:
            space, power = self.space, unit.power

            def per_draw(theta: Any, x: Any) -> Any:
                values = space.unpack(theta)
                return jnp.stack([row.spectrum(x, values) * x**power for row in rows])

            self._programs[key] = jax.jit(jax.vmap(per_draw, in_axes=(0, None)))
        raw = np.asarray(self._programs[key](jnp.asarray(np.atleast_2d(thetas)), jnp.asarray(energies)))
        return raw * np.array([unit.conversion(e) for e in energies])

    def band_flux_ratios(self, thetas: np.ndarray, rows: list[FluxRow], integrals: Any) -> np.ndarray:
        """AB flux / 3631 Jy of every row in each filter of ``integrals``
        (:class:`~jointfit.filters.BandIntegrals`) for every draw, shape
        ``(n_draws, n_rows, n_filters)`` (one compiled call)."""
        thetas = jnp.asarray(np.atleast_2d(np.asarray(thetas, dtype=float)))
        return self._run(rows, 0, thetas, integrals.nodes_kev, integrals.matrix)

    def _run(self, rows: list[FluxRow], power: int, thetas: Any, nodes: np.ndarray, weights: np.ndarray) -> np.ndarray:
        program = self._program(rows, power)
        return np.asarray(program(thetas, jnp.asarray(nodes), jnp.asarray(weights)))

    def _quad(self, rows: list[FluxRow], power: int, thetas: Any, lo: float, hi: float) -> np.ndarray:
        """Gauss–Legendre with ``_BASE_PANELS * 2**level`` panels: levels ``L`` and
        ``L + 1`` in one call, until they agree."""
        breakpoints = self.space.breakpoints()
        for level in range(_MAX_REFINEMENTS):
            coarse, fine = (gauss_legendre_log(lo, hi, _BASE_PANELS << n, breakpoints) for n in (level, level + 1))
            both = self._run(rows, power, thetas, *_rules(coarse, fine))
            previous, current = both[..., 0], both[..., 1]
            scale = np.maximum(np.abs(current), np.max(np.abs(current), axis=0, keepdims=True) * 1e-12)
            change = float(np.max(np.abs(current - previous) / np.where(scale > 0, scale, 1.0)))
            if change <= _TOLERANCE:
                return current
        warnings.warn(f"flux integral over {lo:g}-{hi:g} keV changed by {change:.1e} (relative) at the last "
                      f"refinement ({fine[0].size} nodes); the values may be inaccurate at that level",
                      JointfitWarning, stacklevel=4)
        return current


def band_in_kev(ene_min: Any, ene_max: Any, energy_unit: Any, at_energy: Any) -> tuple[float, float, bool]:
    """The band (keV, ordered) and whether a single energy (flux density) is asked for."""
    if at_energy is not None:
        energy = energy_in_kev(at_energy, energy_unit, "at_energy")
        return energy, energy, True
    lo = energy_in_kev(ene_min, energy_unit, "ene_min")
    hi = energy_in_kev(ene_max, energy_unit, "ene_max")
    lo, hi = min(lo, hi), max(lo, hi)  # wavelengths run the other way
    return lo, hi, math.isclose(lo, hi, rel_tol=1e-12)


def flux_table(space: Any, thetas: np.ndarray, best: np.ndarray | None, ene_min: Any, ene_max: Any, *,
               sources: Sequence[str] = (), confidence_level: float = 0.68, flux_unit: Any = "erg/(cm2 s)",
               energy_unit: Any = "keV", use_components: bool = False, components: Sequence[str] = (),
               sum_sources: bool = False, integration: str = "quad", interval: str = "equal-tailed",
               at_energy: Any = None, calculator: FluxCalculator | None = None, absorbed: bool = True) -> Any:
    """The flux table of :meth:`AnalysisResults.get_flux` (see there), from draws
    ``thetas`` of the space's free parameters; ``best``: the point whose flux is the
    central value (an MLE), or ``None`` for the draws' median."""
    import pandas as pd

    check_interval(confidence_level, interval)
    lo, hi, at_one_energy = band_in_kev(ene_min, ene_max, energy_unit, at_energy)
    unit = resolve_flux_unit(flux_unit, at_one_energy)
    rows = flux_rows(space, list(sources) or None, use_components, components, sum_sources, absorbed)
    calculator = calculator or FluxCalculator(space)
    values = calculator.evaluate(thetas, rows, lo, hi, unit, integration)
    if best is None:
        central = np.median(values, axis=0)
    else:
        central = calculator.evaluate(best[None], rows, lo, hi, unit, integration)[0]
    bounds = credible_bounds(values, confidence_level, interval)
    table = pd.DataFrame(index=pd.Index([r.label for r in rows]))
    table["flux"] = [v * unit.unit for v in central]
    table["low bound"] = [v * unit.unit for v in bounds[:, 0]]
    table["hi bound"] = [v * unit.unit for v in bounds[:, 1]]
    table["value"], table["lower"], table["upper"] = central, bounds[:, 0], bounds[:, 1]
    table["unit"] = unit.unit.to_string()
    table.attrs.update({"ene_min_keV": lo, "ene_max_keV": hi, "confidence_level": confidence_level,
                        "interval": interval, "integration": integration, "n_draws": int(values.shape[0]),
                        "absorbed": absorbed})
    return table


def magnitude_table(space: Any, thetas: np.ndarray, best: np.ndarray | None, filters: Any, *,
                    sources: Sequence[str] = (), confidence_level: float = 0.68, use_components: bool = False,
                    components: Sequence[str] = (), sum_sources: bool = False, interval: str = "equal-tailed",
                    calculator: FluxCalculator | None = None) -> Any:
    """The magnitude table of :meth:`AnalysisResults.get_magnitudes` (see there)."""
    import pandas as pd

    from .filters import BandIntegrals, get_filters

    check_interval(confidence_level, interval)
    chosen = get_filters(filters)
    if not chosen:
        raise AnalysisError("get_magnitudes needs at least one filter")
    rows = flux_rows(space, list(sources) or None, use_components, components, sum_sources)
    integrals = BandIntegrals.of(chosen, space.breakpoints())
    calculator = calculator or FluxCalculator(space)
    ratios = calculator.band_flux_ratios(thetas, rows, integrals)  # (draws, rows, filters)
    central_ratio = (np.median(ratios, axis=0) if best is None
                     else calculator.band_flux_ratios(best[None], rows, integrals)[0])
    n_draws, n_rows, n_filters = ratios.shape
    flux_bounds = credible_bounds(ratios.reshape(n_draws, -1), confidence_level, interval)
    # magnitudes are a decreasing function of the flux: the interval of the fluxes, in
    # magnitudes (a flux bound <= 0 has no magnitude: the faint bound is then infinite)
    with np.errstate(divide="ignore", invalid="ignore"):
        central = np.where(central_ratio > 0, -2.5 * np.log10(np.abs(central_ratio)), np.nan)
        bright = np.where(flux_bounds[:, 1] > 0, -2.5 * np.log10(np.abs(flux_bounds[:, 1])), np.nan)
        faint = np.where(flux_bounds[:, 0] > 0, -2.5 * np.log10(np.abs(flux_bounds[:, 0])), np.inf)
    microjansky = 3631e6
    index = pd.MultiIndex.from_product([[r.label for r in rows], [f.name for f in chosen]], names=["row", "filter"])
    table = pd.DataFrame(index=index)
    table["magnitude"] = central.ravel()
    table["bright bound"], table["faint bound"] = bright, faint
    table["flux density (uJy)"] = central_ratio.ravel() * microjansky
    table["flux low bound (uJy)"] = flux_bounds[:, 0] * microjansky
    table["flux hi bound (uJy)"] = flux_bounds[:, 1] * microjansky
    table["pivot wavelength (AA)"] = np.tile([f.pivot_wavelength.value for f in chosen], n_rows)
    table.attrs.update({"confidence_level": confidence_level, "interval": interval, "n_draws": int(n_draws),
                        "magnitude_system": "AB"})
    return table
