"""Integration over response energy bins: points per bin and accuracy against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

import jointfit  # noqa: F401  (64-bit mode)
from jointfit_ogip.quadrature import MAX_POINTS, TOLERANCE, BinIntegrator, points_needed


def ccd_like_grid() -> tuple[np.ndarray, np.ndarray]:
    """0.1 % wide bins in the middle, 5-10 % wide ones at both ends, as CCD RMFs have."""
    edges = np.concatenate([np.geomspace(0.1, 0.3, 12, endpoint=False), np.geomspace(0.3, 8.0, 3300, endpoint=False),
                            np.geomspace(8.0, 12.0, 6)])
    return edges[:-1], edges[1:]


def test_narrow_bins_get_fewer_points_than_wide_ones():
    lo, hi = ccd_like_grid()
    points = points_needed(lo, hi)
    width = (hi - lo) / (0.5 * (hi + lo))
    assert points[width < 0.002].max() <= 2 < points[width > 0.05].min()
    assert points_needed([0.0], [1.0])[0] == MAX_POINTS  # a bin from 0 keV: no power law converges there


@pytest.mark.parametrize("function", [
    lambda e: 0.3 * e**2 / np.expm1(e / 0.7),          # blackbody, kT = 0.7 keV
    lambda e: 10.0 * e**-1.8 * np.exp(-e / 3.0),       # cut-off power law
])
def test_integrals_match_scipy_quad_in_every_bin(function):
    lo, hi = ccd_like_grid()
    integrator = BinIntegrator(lo, hi)
    assert len(np.unique(integrator.points)) > 1  # several groups: the bins' order is restored
    ours = np.asarray(integrator(function(integrator.nodes)))
    reference = np.array([integrate.quad(function, a, b, epsrel=1e-13, epsabs=0)[0] for a, b in zip(lo, hi)])
    np.testing.assert_allclose(ours, reference, rtol=10 * TOLERANCE)


def test_a_fixed_number_of_points_is_used_in_every_bin():
    lo, hi = ccd_like_grid()
    integrator = BinIntegrator(lo, hi, points=5)
    assert integrator.nodes.size == 5 * lo.size and np.all(integrator.points == 5)
    e = integrator.nodes
    np.testing.assert_allclose(np.asarray(integrator(e**3)), (hi**4 - lo**4) / 4, rtol=1e-13)


def test_bins_too_wide_for_the_largest_rule_are_flagged():
    lo, hi = np.array([1.0, 5.0, 0.0]), np.array([1.05, 50.0, 1.0])
    integrator = BinIntegrator(lo, hi)
    assert integrator.too_wide.tolist() == [False, True, True]
    assert not BinIntegrator(lo, hi, points=3).too_wide.any()  # a rule chosen by hand is the user's
    # a constant spectrum may come as a scalar
    np.testing.assert_allclose(np.asarray(integrator(2.0)), 2.0 * (hi - lo), rtol=1e-15)
