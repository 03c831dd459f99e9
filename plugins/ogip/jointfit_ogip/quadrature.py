"""A photon spectrum integrated over the response's energy bins by Gauss–Legendre rules.

Response energy bins are narrow where the instrument resolves lines (0.1–1 % of the
energy for CCDs) and wide elsewhere (5–10 % at the ends of a CCD grid, in gamma-ray
detectors). A fixed number of points per bin either wastes most evaluations on the
narrow bins or is too few on the wide ones, so by default each bin gets the fewest
points that integrate every power law :math:`E^\\alpha`, :math:`-4 \\le \\alpha \\le 3`,
over it to a relative error of :data:`TOLERANCE`. The family stands for the curvature
of photon spectra at the scale of the bin itself (an exponential cut-off at energy
:math:`E_c` curves like :math:`\\alpha \\approx -E/E_c`); a line narrower than a bin
needs ``points=`` set by hand, as with any fixed rule.

Bins are grouped by their number of points, so that the spectrum is evaluated once on
all nodes and each group's sum over its nodes is one dense reduction.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = ["BinIntegrator", "points_needed", "TOLERANCE"]

TOLERANCE = 1e-9
"""Relative error of the default rule on power laws of index -4 to 3 in every bin."""

MAX_POINTS = 8
_TEST_INDICES = (-4.0, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0)


def _rule(lo: np.ndarray, hi: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (keV) of the ``points``-point rule on each bin, shaped
    ``(points, n_bins)``."""
    x, w = np.polynomial.legendre.leggauss(points)
    half, middle = 0.5 * (hi - lo), 0.5 * (hi + lo)
    return middle + half * x[:, None], half * w[:, None]


def _power_law_integral(lo: np.ndarray, hi: np.ndarray, index: float) -> np.ndarray:
    if index == -1.0:
        return np.log(hi / lo)
    return (hi ** (index + 1.0) - lo ** (index + 1.0)) / (index + 1.0)


def _passes(lo: np.ndarray, hi: np.ndarray, points: int, tolerance: float) -> np.ndarray:
    """Which bins the ``points``-point rule integrates every test power law over to
    ``tolerance`` (a bin from 0 keV never)."""
    nodes, weights = _rule(lo, hi, points)
    good = np.ones(lo.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for index in _TEST_INDICES:
            approximate = np.sum(nodes**index * weights, axis=0)
            good &= np.abs(approximate / _power_law_integral(lo, hi, index) - 1.0) <= tolerance
    return good


def points_needed(lo: np.ndarray, hi: np.ndarray, tolerance: float = TOLERANCE) -> np.ndarray:
    """Fewest Gauss–Legendre points (1 to :data:`MAX_POINTS`) that integrate the test
    power laws over each bin ``[lo, hi]`` (keV, ``0 < lo < hi``) to ``tolerance``; a
    bin that no rule of up to ``MAX_POINTS`` integrates so well (wider than about a
    factor 1.5 in energy, or starting at 0 keV) gets ``MAX_POINTS``."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    needed = np.zeros(lo.shape, dtype=int)
    for points in range(1, MAX_POINTS):
        needed[(needed == 0) & _passes(lo, hi, points, tolerance)] = points
    return np.where(needed == 0, MAX_POINTS, needed)


class BinIntegrator:
    """Integrals of a spectrum over energy bins from its values at fixed nodes.

    Parameters
    ----------
    lo, hi : array
        Bin edges, keV (``0 < lo < hi``).
    points : int, optional
        Gauss–Legendre points in every bin; by default each bin's own
        (:func:`points_needed`).

    Attributes
    ----------
    nodes : array
        Energies (keV) at which to evaluate the spectrum, shape ``(n_nodes,)``.
    points : array
        Points of each bin's rule.
    too_wide : array of bool
        Bins the default rule could not integrate to :data:`TOLERANCE` (all False when
        ``points`` was given).
    """

    def __init__(self, lo: np.ndarray, hi: np.ndarray, points: int | None = None) -> None:
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        self.points = points_needed(lo, hi) if points is None else np.full(lo.shape, int(points))
        self.too_wide = np.zeros(lo.shape, dtype=bool)
        if points is None:
            at_most = self.points == MAX_POINTS
            self.too_wide[at_most] = ~_passes(lo[at_most], hi[at_most], MAX_POINTS, TOLERANCE)
        # bins grouped by number of points; within a group, node-major so that the sum
        # over a bin's nodes adds whole rows
        order = np.argsort(self.points, kind="stable")
        nodes, self._groups = [], []
        for count in np.unique(self.points):
            members = order[self.points[order] == count]
            group_nodes, group_weights = _rule(lo[members], hi[members], int(count))
            nodes.append(group_nodes.ravel())
            self._groups.append((int(count), members.size, jnp.asarray(group_weights)))
        self.nodes = np.concatenate(nodes)
        self._restore = None if np.all(order == np.arange(order.size)) else jnp.asarray(np.argsort(order))

    def __call__(self, values: Any) -> Any:
        """Integral over each bin (in the bins' order) of a spectrum whose values at
        :attr:`nodes` are ``values`` (pure JAX; NumPy arrays work too)."""
        values = jnp.broadcast_to(values, self.nodes.shape)  # a constant spectrum may come as a scalar
        integrals, start = [], 0
        for count, n_bins, weights in self._groups:
            block = values[start:start + count * n_bins].reshape(count, n_bins)
            integrals.append(jnp.sum(block * weights, axis=0))
            start += count * n_bins
        joined = integrals[0] if len(integrals) == 1 else jnp.concatenate(integrals)
        return joined if self._restore is None else joined[self._restore]
