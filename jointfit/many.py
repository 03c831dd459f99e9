"""Many maximum-likelihood fits as one vectorised program.

A catalogue fits one model to many sources seen by one instrument: their
log-likelihoods are one computation on different arrays (counts, backgrounds,
responses). :func:`fit_many` traces each analysis's log-likelihood, groups the
analyses whose computations are the same (the jaxpr's text, which holds every
operation, shape and scalar, the shapes of the arrays it closes over, the free
parameters and their bounds), stacks each group's arrays along a new leading axis and
fits the whole group at once: a damped Newton (Levenberg-Marquardt) search in the
unconstrained coordinates of the bounds, ``jax.vmap``-ed over sources inside one
``lax.while_loop``, then the Hessian at each best fit, also at once. On a GPU the
group's sources are fitted in parallel; on a CPU one program and one Python loop
replace one per source. With several devices (GPUs, or CPU devices that
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` makes), a group's sources are
split over them.

Each source's results are those :meth:`~jointfit.JointLikelihood.fit` gives (best fit,
covariance, Gaussian draws, per-plugin log L), and each analysis's model is set to its
best fit. A source the batched search does not settle (not converged, a best fit at a
bound, a Hessian that is not positive definite) is fitted again on its own by
:meth:`~jointfit.JointLikelihood.fit`, which says what went wrong where it fails too.
Sources whose computations differ (other selections or groupings, responses of other
sizes, other fixed values) fall in other groups: each group compiles once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._compile import compile_for_work
from ._shared import sharing_programs, structure_key
from .errors import AnalysisError
from .space import constrain_within, move_inside, unconstrain_within

__all__ = ["fit_many", "BatchedFitReport"]

MAX_STEPS = 200
"""Most damped Newton steps of the batched search."""
_CONVERGED = 1e-9
"""The search stops for a source when an accepted step gains less ``log L`` than this."""
_STATIONARY = 1e-3
"""A best fit is accepted where each ``|d(-log L)/d theta_i|`` times ``theta_i``'s
error is below this (a change of ``log L`` of 1e-3 over one sigma)."""
_START_ROWS = 64  # rows of each call of the normalisation start's grid


@dataclass(frozen=True)
class BatchedFitReport:
    """What :func:`fit_many` did: sources fitted in batches and on their own."""

    groups: tuple[int, ...]
    """Sources in each group of one structure (each group compiles one program)."""
    batched: int
    """Sources settled by the batched search."""
    refitted: tuple[int, ...]
    """Indices of the sources fitted again on their own."""


def fit_many(analyses: Sequence[Any], *, n_samples: int = 2000, seed: int = 0, guess: bool = True,
             batch_size: int = 512, quiet: bool = True) -> tuple[list[Any], BatchedFitReport]:
    """Maximum-likelihood fits of many analyses at once (see the module's docstring).

    Parameters
    ----------
    analyses : sequence of JointLikelihood
        One analysis per source; the fits are independent.
    n_samples, seed, guess
        As :meth:`~jointfit.JointLikelihood.fit` (``guess``: normalisations left at
        their functions' defaults start from the data).
    batch_size : int
        Most sources fitted by one call (bounds the memory of the stacked arrays).
    quiet : bool
        Print nothing; otherwise one line saying how the sources were fitted.

    Returns
    -------
    results : list of AnalysisResults
        One per analysis, in order; each analysis's model holds its best fit.
    report : BatchedFitReport

    Raises
    ------
    AnalysisError
        For an item that is not a ``JointLikelihood``, and from a source's own fit
        when it fails there too (its index added to the message).
    """
    from .analysis import JointLikelihood

    for i, analysis in enumerate(analyses):
        if not isinstance(analysis, JointLikelihood):
            raise AnalysisError(f"fit_many takes JointLikelihood analyses; item {i} is a {type(analysis).__name__}")
    traced = [_TracedSource.of(analysis) for analysis in analyses]
    groups: dict[tuple, list[int]] = {}
    for i, source in enumerate(traced):
        groups.setdefault(source.key, []).append(i)
    results: list[Any] = [None] * len(analyses)
    refit: list[int] = []
    for members in groups.values():
        program = _GroupProgram(traced[members[0]])
        for start in range(0, len(members), batch_size):
            chunk = members[start:start + batch_size]
            settled = program.fit([traced[i] for i in chunk], guess)
            for i, outcome in zip(chunk, settled):
                if outcome is None:
                    refit.append(i)
                    continue
                theta, best_value, by_plugin, hessian = outcome
                with sharing_programs():  # the results' programs too are one per group
                    results[i] = analyses[i]._conclude(theta, best_value, by_plugin, hessian,
                                                       sampler="batched Levenberg-Marquardt", quiet=True,
                                                       n_samples=n_samples, seed=seed, guess=guess)
    for i in refit:
        try:
            results[i] = analyses[i].fit(quiet=True, n_samples=n_samples, seed=seed, guess=guess)
        except AnalysisError as exc:
            raise AnalysisError(f"source {i}: {exc}") from exc
    report = BatchedFitReport(tuple(len(m) for m in groups.values()), len(analyses) - len(refit), tuple(refit))
    if not quiet:
        print(f"fit_many: {report.batched} of {len(analyses)} sources fitted in {len(groups)} batched "
              f"program(s); {len(refit)} fitted on their own")
    return results, report


@dataclass
class _TracedSource:
    """One analysis's log-likelihood as a jaxpr and the arrays it closes over."""

    analysis: Any
    jaxpr: Any
    consts: list[np.ndarray]
    plugin_names: list[str]
    lower: np.ndarray
    upper: np.ndarray
    key: tuple

    @classmethod
    def of(cls, analysis: Any) -> _TracedSource:
        space = analysis.space
        shape = jax.ShapeDtypeStruct((len(space.free_names),), float)
        closed = jax.jit(analysis.density._per_plugin).trace(shape).jaxpr
        consts = [np.asarray(c) for c in closed.consts]
        names = list(analysis.density.plugin_names)
        lower, upper = np.asarray(space.lower_bounds, float), np.asarray(space.upper_bounds, float)
        key = (structure_key(closed), tuple(space.free_names), lower.tobytes(), upper.tobytes(), tuple(names))
        return cls(analysis, closed.jaxpr, consts, names, lower, upper, key)

    def start(self) -> np.ndarray:
        return np.clip(np.asarray(self.analysis._current_theta(), dtype=float), self.lower, self.upper)


class _GroupProgram:
    """The compiled programs of one group: the normalisation start's grid, and the
    batched search with the Hessians at its end."""

    def __init__(self, first: _TracedSource) -> None:
        jaxpr, lower, upper = first.jaxpr, first.lower, first.upper
        self.lower, self.upper = lower, upper
        n_plugins = len(first.plugin_names)

        def per_plugin(consts: list[Any], theta: Any) -> list[Any]:
            return jax.core.eval_jaxpr(jaxpr, consts, theta)[:n_plugins]

        def log_like(consts: list[Any], theta: Any) -> Any:
            return sum(per_plugin(consts, theta))

        self._rows = jax.jit(jax.vmap(log_like, in_axes=(None, 0)))

        def to_theta(z: Any) -> Any:
            return constrain_within(z, lower, upper)

        def search(consts: list[Any], theta0: Any) -> tuple[Any, Any, Any, Any, Any]:
            def objective(z: Any) -> Any:
                value = -log_like(consts, to_theta(z))
                return jnp.where(jnp.isfinite(value), value, jnp.inf)

            def step(state: tuple) -> tuple:
                z, value, damping, count, done = state
                gradient = jax.grad(objective)(z)
                hessian = jax.hessian(objective)(z)
                diagonal = jnp.abs(jnp.diag(hessian)) + 1e-12
                move = jnp.linalg.solve(hessian + damping * jnp.diag(diagonal), gradient)
                proposal = z - move
                new_value = objective(proposal)
                accept = jnp.isfinite(new_value) & (new_value <= value)
                # at the optimum a step may fail by rounding alone: what it promised
                # (the quadratic model's gain) then says the search is over
                promised = 0.5 * jnp.dot(gradient, move)
                settled = ((accept & (value - new_value < _CONVERGED)) | (jnp.abs(promised) < _CONVERGED)
                           | (damping > 1e12))
                # a source already settled keeps its state while the others go on
                return (jnp.where(done | ~accept, z, proposal), jnp.where(done | ~accept, value, new_value),
                        jnp.where(done, damping, jnp.where(accept, damping / 3.0, damping * 4.0)),
                        count + jnp.where(done, 0, 1), done | settled)

            z0 = unconstrain_within(theta0, lower, upper)
            state = (z0, objective(z0), jnp.asarray(1e-3), jnp.asarray(0), jnp.asarray(False))
            z, value, damping, _, done = jax.lax.while_loop(
                lambda s: ~s[4] & (s[3] < MAX_STEPS), step, state)
            theta = to_theta(z)
            negative = lambda t: -log_like(consts, t)  # noqa: E731
            hessian = jax.hessian(negative)(theta)
            gradient = jax.grad(negative)(theta)
            return (theta, value, jnp.stack(per_plugin(consts, theta)), hessian, gradient,
                    done & (damping <= 1e12))

        self._search = jax.jit(jax.vmap(search))
        self._search_compiled: dict[int, Any] = {}

    def _search_on_devices(self, consts: list[np.ndarray], starts: np.ndarray) -> tuple:
        """Run the batched search with the sources spread over ``jax.devices()`` (their
        stacked arrays split along the sources' axis; XLA partitions the program), the
        batch padded with copies of its last source to a multiple of the devices."""
        devices = jax.devices()
        size = starts.shape[0]
        padded = -(-size // len(devices)) * len(devices)

        def pad(array: np.ndarray) -> np.ndarray:
            return array if padded == size else np.concatenate([array, np.repeat(array[-1:], padded - size, axis=0)])

        consts, starts = [pad(c) for c in consts], pad(starts)
        sharding = None
        if len(devices) > 1:
            from jax.sharding import Mesh, NamedSharding, PartitionSpec

            mesh = Mesh(np.asarray(devices), ("sources",))
            sharding = NamedSharding(mesh, PartitionSpec("sources"))
            consts = [jax.device_put(c, sharding) for c in consts]
            starts = jax.device_put(starts, sharding)
        if padded not in self._search_compiled:
            shapes = ([jax.ShapeDtypeStruct(c.shape, c.dtype, sharding=sharding) for c in consts],
                      jax.ShapeDtypeStruct(starts.shape, starts.dtype, sharding=sharding))
            self._search_compiled[padded] = compile_for_work(self._search.trace(*shapes), MAX_STEPS)
        return tuple(np.asarray(a)[:size] for a in self._search_compiled[padded](consts, starts))

    def fit(self, sources: list[_TracedSource], guess: bool) -> list[tuple | None]:
        """Each source's ``(theta, -log L, log L by plugin, Hessian)`` at its best fit,
        or None where the batched search did not settle it."""
        from .starts import normalization_start

        starts = []
        for source in sources:
            theta = source.start()
            if guess:
                analysis = source.analysis
                theta, _ = normalization_start(analysis.density, analysis.model, theta, self.lower, self.upper,
                                               lambda rows, consts=source.consts: self._rows(consts, rows),
                                               rows_per_call=_START_ROWS)
            starts.append(move_inside(theta, self.lower, self.upper))  # finite unconstrained coordinates
        consts = [np.stack(column) for column in zip(*(source.consts for source in sources))]
        starts_array = np.asarray(starts, dtype=float)
        theta, value, by_plugin, hessian, gradient, done = self._search_on_devices(consts, starts_array)
        outcomes: list[tuple | None] = []
        for k, source in enumerate(sources):
            if not (done[k] and math.isfinite(value[k]) and np.all(np.isfinite(hessian[k]))
                    and _positive_definite(hessian[k])
                    and _stationary(gradient[k], hessian[k])):
                outcomes.append(None)
                continue
            outcomes.append((theta[k], float(value[k]),
                             {name: float(v) for name, v in zip(source.plugin_names, by_plugin[k])}, hessian[k]))
        return outcomes


def _stationary(gradient: np.ndarray, hessian: np.ndarray) -> bool:
    """Whether the gradient of ``-log L`` vanishes at a best fit on the scale of its
    errors: a search pinned at a bound (``z`` running off to infinity) stops where
    the gradient still pushes outward."""
    sigma = np.sqrt(np.diag(np.linalg.inv(hessian)))
    return bool(np.all(np.abs(gradient) * sigma < _STATIONARY))


def _positive_definite(matrix: np.ndarray) -> bool:
    unit = 1.0 / np.sqrt(np.where(np.diag(matrix) > 0, np.diag(matrix), 1.0))
    try:
        np.linalg.cholesky(matrix * np.outer(unit, unit))
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.diag(matrix) > 0))
