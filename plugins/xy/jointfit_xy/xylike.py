"""``XYLike``: points ``y(x)`` compared with the summed spectrum of the assigned sources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jointfit import statistics as stats
from jointfit.errors import DataError
from jointfit.plugin import Plugin
from jointfit.space import ParameterSpace

__all__ = ["XYLike"]

def _as_vector(values: Any, what: str, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"XYLike {name!r}: {what} must be numbers, got {values!r}") from None
    if array.ndim != 1 or array.size == 0:
        raise DataError(f"XYLike {name!r}: {what} must be a non-empty 1-d array, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise DataError(
            f"XYLike {name!r}: {what} has {bad.size} NaN/inf value(s), first at index {bad[0]}"
        )
    return array


class XYLike(Plugin):
    """Points ``y`` at ``x`` fitted by a spectral model, as 3ML's ``XYLike``.

    The model value at ``x`` is the summed spectrum of the assigned sources (all point
    sources if unassigned), evaluated at ``x`` in keV.

    Parameters
    ----------
    name : str
        Name of the data set.
    x : array_like
        Independent variable (keV), finite.
    y : array_like
        Measured values: any finite numbers with ``yerr`` (Gaussian), or non-negative
        integer counts when ``poisson`` is true.
    yerr : array_like, optional
        Gaussian standard deviations, all > 0. Required unless ``poisson``.
    poisson : bool
        Poisson likelihood for counts (``yerr`` must then be omitted).
    poisson_data : bool, optional
        3ML's spelling of ``poisson``.

    Raises
    ------
    DataError
        For mismatched lengths, NaN/inf, non-positive ``yerr``, negative or
        non-integer counts, or a missing ``yerr``.
    """

    def __init__(self, name: str, x: Any, y: Any, yerr: Any = None, poisson: bool = False,
                 poisson_data: bool | None = None) -> None:
        super().__init__(name)
        if poisson_data is not None:
            poisson = poisson_data
        self.x = _as_vector(x, "x", name)
        self.y = _as_vector(y, "y", name)
        if self.y.size != self.x.size:
            raise DataError(f"XYLike {name!r}: x has {self.x.size} points but y has {self.y.size}")
        self.poisson = bool(poisson)
        if self.poisson:
            if yerr is not None:
                raise DataError(f"XYLike {name!r}: yerr is meaningless for Poisson data; omit it")
            bad = np.flatnonzero((self.y < 0) | (self.y != np.round(self.y)))
            if bad.size:
                raise DataError(
                    f"XYLike {name!r}: Poisson y must be non-negative integer counts; "
                    f"y[{bad[0]}] = {float(self.y[bad[0]])!r}"
                )
            self.yerr = None
        else:
            if yerr is None:
                raise DataError(f"XYLike {name!r}: yerr is required for Gaussian data (or pass poisson=True)")
            self.yerr = _as_vector(yerr, "yerr", name)
            if self.yerr.size != self.x.size:
                raise DataError(f"XYLike {name!r}: x has {self.x.size} points but yerr has {self.yerr.size}")
            bad = np.flatnonzero(self.yerr <= 0)
            if bad.size:
                raise DataError(
                    f"XYLike {name!r}: yerr must be > 0; yerr[{bad[0]}] = {float(self.yerr[bad[0]])!r}"
                )

    @classmethod
    def from_function(cls, name: str, function: Any, x: Any, yerr: Any = None,
                      poisson: bool = False, seed: int = 0) -> XYLike:
        """Simulate a data set from a spectral function at ``x`` (fixed ``seed``)."""
        x = np.asarray(x, dtype=float)
        expected = np.asarray(function(x), dtype=float)
        rng = np.random.default_rng(seed)
        if poisson:
            if not np.all(np.isfinite(expected)) or np.any(expected < 0):
                raise DataError(f"XYLike {name!r}: the function must be finite and non-negative to "
                                "simulate Poisson counts")
            return cls(name, x, rng.poisson(expected).astype(float), poisson=True)
        if yerr is None:
            raise DataError(f"XYLike {name!r}: yerr is required for Gaussian data (or pass poisson=True)")
        yerr = np.broadcast_to(np.asarray(yerr, dtype=float), x.shape)
        return cls(name, x, expected + rng.normal(size=x.size) * yerr, yerr=yerr)

    def recipe(self) -> dict[str, Any]:
        """The points themselves (a few numbers each) and the assigned sources."""
        return {"plugin": type(self).__name__, "name": self.name, "x": self.x.tolist(), "y": self.y.tolist(),
                "yerr": None if self.yerr is None else self.yerr.tolist(), "poisson": self.poisson,
                "sources": None if self.assigned_sources is None else list(self.assigned_sources)}

    @classmethod
    def from_recipe(cls, recipe: Mapping[str, Any]) -> XYLike:
        """The data set :meth:`recipe` describes."""
        plugin = cls(recipe["name"], recipe["x"], recipe["y"], yerr=recipe["yerr"], poisson=recipe["poisson"])
        if recipe.get("sources") is not None:
            plugin.assign_to_source(*recipe["sources"])
        return plugin

    def _setup(self, space: ParameterSpace) -> None:
        self._spectrum = self._source_spectrum(space)
        self._x = jnp.asarray(self.x)
        self._y = jnp.asarray(self.y)
        if self.poisson:
            self._log_factorials = stats.log_factorial_remainder(self._y)
        else:
            self._yerr = jnp.asarray(self.yerr)

    def expected(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """Model value at each ``x`` (pure JAX)."""
        self._require_setup()
        return self._spectrum(self._x, values)

    def pointwise_loglike(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """Normalised log-likelihood of each point: Gaussian with ``yerr``, or Poisson
        including ``-ln y!``; a non-positive model where counts were seen gives ``-inf``."""
        model = self.expected(values)
        if self.poisson:
            return stats.poisson_loglike(self._y, model, self._log_factorials)
        return stats.gaussian_loglike(self._y, model, self._yerr)

    def observed_data(self) -> jnp.ndarray:
        """The measured ``y``."""
        self._require_setup()
        return self._y

    def discrepancy(self, values: Mapping[str, Any], data: Any) -> jnp.ndarray:
        """Chi2 of ``data`` (new ``y``) at ``values`` for Gaussian data, C-stat for
        Poisson counts (pure JAX)."""
        model = self.expected(values)
        if self.poisson:
            return jnp.sum(stats.cstat(data, model))
        return jnp.sum(stats.chi2(data, model, self._yerr))

    def discrepancy_name(self) -> str:
        """``"cstat"`` for counts, ``"chi2"`` for Gaussian data."""
        return "cstat" if self.poisson else "chi2"

    def fit_statistic(self, values: Mapping[str, Any]) -> tuple[str, float]:
        """``("chi2", value)`` for Gaussian data, ``("cstat", value)`` for counts."""
        return self.discrepancy_name(), float(self.discrepancy(values, self.observed_data()))

    def data_axis(self) -> tuple[str, np.ndarray]:
        """The points' ``x``."""
        return "x", self.x

    def simulate(self, values: Mapping[str, Any], key: Any) -> jnp.ndarray:
        """New ``y`` drawn at ``values``: Poisson counts or Gaussian scatter by ``yerr``."""
        model = self.expected(values)
        if self.poisson:
            return jax.random.poisson(key, jnp.clip(model, 0.0, None)).astype(float)
        return model + self._yerr * jax.random.normal(key, model.shape)
