"""Credible intervals of derived quantities from posterior draws."""

from __future__ import annotations

import numpy as np

from .errors import AnalysisError

__all__ = ["INTERVALS", "check_interval", "credible_bounds"]

INTERVALS = ("equal-tailed", "hdi")


def check_interval(confidence_level: float, interval: str) -> None:
    """Raise :class:`~jointfit.errors.AnalysisError` for a level outside (0, 1) or an
    interval type other than :data:`INTERVALS`."""
    if not 0.0 < confidence_level < 1.0:
        raise AnalysisError(f"confidence_level must lie in (0, 1), not {confidence_level!r}")
    if interval not in INTERVALS:
        raise AnalysisError(f"interval must be one of {INTERVALS}, not {interval!r}")


def credible_bounds(values: np.ndarray, confidence_level: float = 0.68, interval: str = "equal-tailed") -> np.ndarray:
    """Lower and upper bounds ``(quantities, 2)`` of each column of ``values`` ``(draws,
    quantities)``: the equal-tailed interval or the highest-density interval (arviz)
    holding ``confidence_level`` of the draws.

    Raises
    ------
    AnalysisError
        A level outside (0, 1) or an unknown interval type.
    """
    check_interval(confidence_level, interval)
    values = np.asarray(values, dtype=float)
    if interval == "hdi":
        from ._arviz import hdi

        return np.array([hdi(values[:, j], confidence_level) for j in range(values.shape[1])])
    tail = 0.5 * (1.0 - confidence_level)
    return np.quantile(values, [tail, 1.0 - tail], axis=0).T
