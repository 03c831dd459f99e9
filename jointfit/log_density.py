"""The joint log-density of a model given a DataList: one pure JAX function of theta."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._batches import RowProgram
from ._compile import compile_for_work
from ._shared import is_sharing
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
    _SUMMARY_POINTS = 2_000_000
    """Pointwise values (draws times points) of one compiled summary call: some tens of
    megabytes."""

    def __init__(self, model: Model, data: DataList) -> None:
        if not isinstance(model, Model):
            raise AnalysisError(f"expected a Model, got {type(model).__name__}")
        if not isinstance(data, DataList):
            raise AnalysisError(f"expected a DataList, got {type(data).__name__}; wrap plugins as DataList(p1, p2)")
        self.data = data
        self.space: ParameterSpace = model.compile(extra_parameters=data.nuisance_parameters)
        for plugin in data:
            plugin.setup(self.space)
        self._loglikes = {plugin.name: self._on_this_space(plugin, plugin.loglike) for plugin in data}
        self._pointwise = {plugin.name: self._on_this_space(plugin, plugin.pointwise_loglike) for plugin in data}
        self.log_likelihood = jax.jit(self._log_likelihood)
        self.log_likelihood_batch = jax.jit(jax.vmap(self._log_likelihood))
        self.log_likelihood_per_plugin = jax.jit(self._per_plugin)
        self._summary: RowProgram | None = None
        self._n_points: dict[str, int] | None = None
        self._draw_values_jit = jax.jit(jax.vmap(self._draw_values_row))

    def _on_this_space(self, plugin: Any, method: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``method`` of ``plugin``, set up again on this density's space when it is
        traced if another analysis set the same plugin object up since (its state is
        the last set-up's)."""

        def on_this_space(values: Any) -> Any:
            if not plugin.is_set_up_for(self.space):
                with jax.ensure_compile_time_eval():  # the set-up's arrays are constants, not tracers
                    plugin.setup(self.space)
            return method(values)

        return on_this_space

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
        """For draws ``theta`` of shape ``(n, n_free)``: log-likelihoods by plugin,
        linked values by path and the log-prior (0 where a prior is missing).

        The log-likelihoods are pointwise ``(n, points)`` while ``n`` times the number
        of points is at most :attr:`POINTWISE_LIMIT`, and each plugin's total ``(n, 1)``
        beyond (images of 10^5 pixels and thousands of draws would need gigabytes).
        One compiled program serves any ``n`` (:meth:`precompile_draw_summary`).
        """
        theta = np.asarray(theta, dtype=float)
        self.precompile_draw_summary()
        keep = theta.shape[0] * sum(self.n_points.values()) <= self.POINTWISE_LIMIT

        def totals(piece: tuple) -> tuple:
            likelihoods, linked, log_prior = piece
            return {k: v.sum(axis=tuple(range(1, v.ndim)))[:, None] for k, v in likelihoods.items()}, linked, log_prior

        return self._summary(theta, reduce=None if keep else totals)

    def precompile_draw_summary(self, draws: int = 5000) -> None:
        """Start compiling :meth:`draw_summary`'s program in the background (while a
        sampler or a fit runs, say), for about ``draws`` draws (a fit's results need
        one: its program is compiled for speed of compilation rather than of calls)."""
        if self._summary is None:
            capacity = max(4, min(4096, self._SUMMARY_POINTS // max(1, sum(self.n_points.values()))))
            self._summary = RowProgram(self._draw_summary_row, len(self.space.free_names), capacity=capacity,
                                       rows_per_run=draws)

    def _pointwise_all(self, theta: Any) -> dict[str, jnp.ndarray]:
        values = self.space.unpack(theta)
        return {name: f(values) for name, f in self._pointwise.items()}

    def _draw_summary_row(self, row: Any) -> tuple[dict[str, jnp.ndarray], dict[str, jnp.ndarray], jnp.ndarray]:
        """Pointwise log-likelihoods by plugin, linked values by path and the log-prior
        of one draw."""
        return (self._pointwise_all(row), *self._draw_values_row(row))

    def _draw_values_row(self, row: Any) -> tuple[dict[str, jnp.ndarray], jnp.ndarray]:
        """Linked values by path and the log-prior (0 where a prior is missing) of one draw."""
        values = self.space.unpack(row)
        linked = {path: values[path] for path in self.space.linked_names}
        return linked, self.space.log_prior(row) if not self.space.missing_priors else jnp.zeros(())

    def draw_values(self, theta: Any) -> tuple[dict[str, Any], Any]:
        """Linked values by path and the log-prior of draws ``(n, n_free)``, without the
        likelihood."""
        if is_sharing():  # one program for every analysis of this structure
            traced = self._draw_values_jit.trace(jax.ShapeDtypeStruct(np.shape(theta), float))
            return compile_for_work(traced, 1)(np.asarray(theta, dtype=float))
        return self._draw_values_jit(theta)

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
