"""The joint log-density of a model given a DataList: one pure JAX function of theta."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._background import in_background
from ._compile import compile_for_work
from .data_list import DataList
from .errors import AnalysisError
from .model import Model
from .space import ParameterSpace

__all__ = ["JointLogDensity"]


class JointLogDensity:
    """Model + data compiled once: log-likelihood, log-prior and log-posterior of theta.

    Every plugin is set up on one :class:`ParameterSpace` holding the model's and the
    plugins' parameters; the sums over plugins are unrolled at trace time, so each
    function below is a single XLA computation. ``log_likelihood_batch`` and
    :meth:`draw_summary` take theta of shape ``(n, n_free)`` (``jax.vmap``).

    Parameters
    ----------
    model : Model
        The sky model (frozen at construction: later edits need a new instance).
    data : DataList
        The plugins; each sees its assigned sources, or all point sources.
    """

    POINTWISE_LIMIT = 20_000_000
    """Most pointwise log-likelihood values (draws times points) results keep."""
    _BATCH_POINTS = 2_000_000

    def __init__(self, model: Model, data: DataList) -> None:
        if not isinstance(model, Model):
            raise AnalysisError(f"expected a Model, got {type(model).__name__}")
        if not isinstance(data, DataList):
            raise AnalysisError(f"expected a DataList, got {type(data).__name__}; wrap plugins as DataList(p1, p2)")
        self.data = data
        self.space: ParameterSpace = model.compile(extra_parameters=data.nuisance_parameters)
        self._loglikes = {plugin.name: plugin.setup(self.space) for plugin in data}
        self._pointwise = {plugin.name: plugin.pointwise_loglike for plugin in data}
        self.log_likelihood = jax.jit(self._log_likelihood)
        self.log_likelihood_batch = jax.jit(jax.vmap(self._log_likelihood))
        self.log_likelihood_per_plugin = jax.jit(self._per_plugin)
        self._draw_summary_jit = jax.jit(self._draw_summary)
        self._draw_summary_compiled: dict[int, Future] = {}
        self._n_points: dict[str, int] | None = None
        self._draw_values_jit = jax.jit(self._draw_values)

    @property
    def plugin_names(self) -> tuple[str, ...]:
        """Names of the plugins, in order."""
        return tuple(self._loglikes)

    def _log_likelihood(self, theta: Any) -> jnp.ndarray:
        values = self.space.unpack(theta)
        return sum(loglike(values) for loglike in self._loglikes.values())  # type: ignore[return-value]

    def _per_plugin(self, theta: Any) -> dict[str, jnp.ndarray]:
        values = self.space.unpack(theta)
        return {name: loglike(values) for name, loglike in self._loglikes.items()}

    def draw_summary(self, theta: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """For draws ``theta`` of shape ``(n, n_free)``: pointwise log-likelihoods by
        plugin, linked values by path and the log-prior (0 where a prior is missing),
        in one compiled call (compiled ahead when :meth:`precompile_draw_summary` was
        told ``n``)."""
        compiled = self._draw_summary_compiled.get(np.shape(theta)[0])
        if compiled is not None:
            return compiled.result()(np.asarray(theta, dtype=float))
        return self._draw_summary_jit(theta)

    def precompile_draw_summary(self, n_draws: int) -> None:
        """Compile :meth:`draw_summary` for ``n_draws`` draws in the background (while
        a sampler runs, say)."""
        if n_draws not in self._draw_summary_compiled:
            shape = jax.ShapeDtypeStruct((n_draws, len(self.space.free_names)), float)
            self._draw_summary_compiled[n_draws] = in_background(
                lambda: compile_for_work(self._draw_summary_jit.trace(shape), 1))

    def _pointwise_all(self, theta: Any) -> dict[str, jnp.ndarray]:
        values = self.space.unpack(theta)
        return {name: f(values) for name, f in self._pointwise.items()}

    def _draw_summary(self, theta: Any) -> tuple[dict[str, jnp.ndarray], dict[str, jnp.ndarray], jnp.ndarray]:
        """For draws ``(n, n_free)``: log-likelihoods by plugin, linked values by path and
        the log-prior (0 where a prior is missing), in one computation.

        The log-likelihoods are pointwise ``(n, points)`` while ``n`` times the number of
        points is at most :attr:`POINTWISE_LIMIT`, and each plugin's total ``(n, 1)``
        beyond (images of 10^5 pixels and thousands of draws would need gigabytes).
        Draws are evaluated in batches small enough that a batch's pointwise values
        take some tens of megabytes.
        """
        n_points = sum(self.n_points.values())
        keep = theta.shape[0] * n_points <= self.POINTWISE_LIMIT

        def one_draw(row: Any) -> dict[str, jnp.ndarray]:
            pointwise = self._pointwise_all(row)
            return pointwise if keep else {k: jnp.sum(v, keepdims=True) for k, v in pointwise.items()}

        batch = max(1, min(theta.shape[0], int(self._BATCH_POINTS // max(n_points, 1))))
        likelihoods = jax.lax.map(one_draw, theta, batch_size=batch)
        return (likelihoods, *self._draw_values(theta))

    def draw_values(self, theta: Any) -> tuple[dict[str, Any], Any]:
        """Linked values by path and the log-prior of draws ``(n, n_free)``, without the
        likelihood."""
        return self._draw_values_jit(theta)

    def _draw_values(self, theta: Any) -> tuple[dict[str, jnp.ndarray], jnp.ndarray]:
        values = jax.vmap(self.space.unpack)(theta)
        linked = {path: values[path] for path in self.space.linked_names}
        log_prior = self.space.log_prior(theta) if not self.space.missing_priors else jnp.zeros(theta.shape[0])
        return linked, log_prior

    @property
    def n_points(self) -> dict[str, int]:
        """Number of data points (bins, pixels) of each plugin."""
        if self._n_points is None:
            shapes = jax.eval_shape(self._pointwise_all, jax.ShapeDtypeStruct((len(self.space.free_names),), float))
            self._n_points = {k: int(np.prod(v.shape)) for k, v in shapes.items()}
        return self._n_points

    def log_posterior_fn(self) -> Callable[[Any], jnp.ndarray]:
        """Pure ``theta -> log-likelihood + log-prior`` (raises if a prior is missing)."""
        self.space.require_priors()

        def log_posterior(theta: Any) -> jnp.ndarray:
            log_prior = self.space.log_prior(theta)
            # outside the prior's support the likelihood may be undefined: keep -inf clean
            return jnp.where(jnp.isfinite(log_prior), log_prior + self._log_likelihood(theta), -jnp.inf)

        return log_posterior
