"""Glue between compiled JAX objectives and scipy's minimisers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np


def scipy_objective(value_and_grad: Callable[[Any], tuple[Any, Any]]) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """``x -> (value, gradient)`` in numpy for ``minimize(..., jac=True)``; a
    non-finite value becomes 1e300 with a zero gradient, so that line searches back off
    instead of failing."""

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = value_and_grad(jnp.asarray(x))
        value = float(value)
        if not math.isfinite(value):
            return 1e300, np.zeros_like(x)
        return value, np.asarray(gradient)

    return fun


def scipy_bounds(lower: np.ndarray, upper: np.ndarray) -> list[tuple[float | None, float | None]]:
    """Bounds for ``minimize(method="L-BFGS-B")``: infinite ends become ``None``."""
    return [(lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None) for lo, hi in zip(lower, upper)]


def hessian_from_gradient(gradient: Callable[[np.ndarray], Any], theta: np.ndarray, steps: np.ndarray,
                          at_theta: np.ndarray | None = None) -> np.ndarray:
    """Symmetrised Hessian at ``theta`` by central differences of a (compiled, exact)
    ``gradient`` with per-parameter ``steps``: 2n calls and no compilation. Given the
    gradient ``at_theta``, forward differences instead: n calls, errors of the order of
    the steps (enough to precondition an optimiser, not for a covariance)."""
    columns = []
    for i in range(theta.size):
        shift = np.zeros(theta.size)
        shift[i] = steps[i]
        if at_theta is None:
            columns.append((np.asarray(gradient(theta + shift)) - np.asarray(gradient(theta - shift))) / (2.0 * steps[i]))
        else:
            columns.append((np.asarray(gradient(theta + shift)) - at_theta) / steps[i])
    hessian = np.column_stack(columns)
    return 0.5 * (hessian + hessian.T)
