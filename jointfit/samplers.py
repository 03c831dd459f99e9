"""Posterior samplers behind one small protocol, found by name in a registry.

A sampler adapter turns a :class:`~jointfit.log_density.JointLogDensity` into posterior
samples of shape ``(chains, draws, n_free)`` plus its own statistics; adding a sampler
is one class with a ``name`` and a ``sample`` method, registered with
:func:`register_sampler`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import jax
import numpy as np

from ._optimize import scipy_objective
from .errors import AnalysisError, JointfitWarning

__all__ = ["SamplerOutput", "Sampler", "UltraNestSampler", "NUTSSampler", "register_sampler", "get_sampler",
           "available_samplers"]


@dataclass
class SamplerOutput:
    """What a sampler returns: draws ``(chains, draws, n_free)``, per-draw statistics
    ``(chains, draws)`` and scalar attributes (ln Z, call counts...)."""

    samples: np.ndarray
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


class Sampler:
    """Protocol of a sampler adapter."""

    name: ClassVar[str] = ""

    def sample(self, density: Any, **options: Any) -> SamplerOutput:  # pragma: no cover - protocol
        raise NotImplementedError


_REGISTRY: dict[str, type[Sampler]] = {}


def register_sampler(cls: type[Sampler]) -> type[Sampler]:
    """Class decorator: make a sampler available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def available_samplers() -> list[str]:
    """Names of the registered samplers."""
    return sorted(_REGISTRY)


def get_sampler(name: str) -> Sampler:
    """A new instance of the sampler called ``name``."""
    try:
        return _REGISTRY[name.lower()]()
    except KeyError:
        raise AnalysisError(f"unknown sampler {name!r}; available samplers are {available_samplers()}") from None


def _padded_call(function: Any, batch: np.ndarray) -> Any:
    """``function`` of a batch whose length UltraNest varies call to call, padded to the
    next power of two: about log2(n) sizes, each compiled once, and at most half of a
    call wasted (the cost of a small batch grows with its length on the CPU)."""
    n = batch.shape[0]
    size = 1 << max(n - 1, 0).bit_length()
    padded = np.concatenate([batch, np.repeat(batch[-1:], size - n, axis=0)]) if size > n else batch
    return jax.tree_util.tree_map(lambda out: np.asarray(out)[:n], function(padded))


class _UnitCubeDensity:
    """UltraNest's two callbacks from one compiled call per batch.

    UltraNest maps unit-cube points through ``transform`` and then asks ``loglike`` for
    (a subset of) the points it got back. Both are computed in one call when the cube
    points arrive, and ``loglike`` finds its values by row; any other batch is computed.
    """

    def __init__(self, density: Any) -> None:
        def transform_and_loglike(u: Any) -> tuple[Any, Any]:
            theta = density.space.prior_transform(u)
            return theta, density._log_likelihood(theta)

        self._both = jax.jit(jax.vmap(transform_and_loglike))
        self._loglike = density.log_likelihood_batch
        self._values: dict[bytes, float] = {}

    def transform(self, u: np.ndarray) -> np.ndarray:
        theta, values = _padded_call(self._both, np.ascontiguousarray(u, dtype=float))
        self._values = dict(zip(map(bytes, theta), values.tolist()))
        return theta

    def loglike(self, theta: np.ndarray) -> np.ndarray:
        theta = np.ascontiguousarray(theta, dtype=float)
        known = [self._values.get(bytes(row)) for row in theta]
        if any(value is None for value in known):
            values = _padded_call(self._loglike, theta)
        else:
            values = np.asarray(known, dtype=float)
        # UltraNest cannot take -inf or NaN: a very low finite value sends the point away
        return np.where(np.isfinite(values), values, -1e300)


@register_sampler
class UltraNestSampler(Sampler):
    """Nested sampling with UltraNest's ``ReactiveNestedSampler``, vectorised: each
    batch of live-point proposals is one compiled JAX call of the prior transform and
    one of the log-likelihood."""

    name = "ultranest"

    def sample(self, density: Any, *, min_num_live_points: int = 400, dlogz: float = 0.5,
               frac_remain: float = 0.01, log_dir: str | os.PathLike[str] | None = None,
               resume: str = "resume", seed: int | None = 0, show_status: bool = True,
               max_ncalls: int | None = None, ndraw_min: int = 128, ndraw_max: int = 65536,
               region_class: str | type = "mlfriends", **run_options: Any) -> SamplerOutput:
        """Run UltraNest.

        Parameters
        ----------
        min_num_live_points, dlogz, frac_remain, max_ncalls
            UltraNest's ``run`` options (its defaults).
        log_dir : path, optional
            Folder where UltraNest keeps its state and results; a run interrupted there
            resumes where it stopped (``resume="resume"``; ``"overwrite"`` restarts).
        seed : int or None
            Seeds numpy's global generator, which UltraNest draws from.
        show_status : bool
            UltraNest's progress display.
        ndraw_min, ndraw_max : int
            Bounds of the number of points drawn from the region per batch.
        region_class : {"mlfriends", "ellipsoid"} or UltraNest region class
            ``"mlfriends"`` (UltraNest's and 3ML's default) follows curved and multimodal
            likelihood contours; ``"ellipsoid"`` (``RobustEllipsoidRegion``, 3ML's
            ``use_mlfriends=False``) skips the nearest-neighbour bookkeeping, which is
            cheaper per iteration when the posterior is one roughly elliptical mode.
        """
        import ultranest
        import ultranest.mlfriends

        regions = {"mlfriends": ultranest.mlfriends.MLFriends, "ellipsoid": ultranest.mlfriends.RobustEllipsoidRegion}
        if isinstance(region_class, str):
            if region_class.lower() not in regions:
                raise AnalysisError(f"unknown UltraNest region_class {region_class!r}; use one of {sorted(regions)} "
                                    "or an ultranest.mlfriends region class")
            region_class = regions[region_class.lower()]

        space = density.space
        space.require_priors()
        callbacks = _UnitCubeDensity(density)

        if seed is not None:
            np.random.seed(seed)
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
        sampler = ultranest.ReactiveNestedSampler(
            list(space.free_names), callbacks.loglike, callbacks.transform, vectorized=True,
            log_dir=None if log_dir is None else os.fspath(log_dir), resume=resume,
            ndraw_min=ndraw_min, ndraw_max=ndraw_max)
        result = sampler.run(min_num_live_points=min_num_live_points, dlogz=dlogz, frac_remain=frac_remain,
                             show_status=show_status, viz_callback=False, max_ncalls=max_ncalls,
                             region_class=region_class, **run_options)
        samples = np.asarray(result["samples"])[None, :, :]
        return SamplerOutput(samples, attributes={
            "ln_Z": float(result["logz"]), "ln_Z_error": float(result["logzerr"]),
            "n_calls": int(result["ncall"]), "n_iterations": int(result["niter"]),
            "n_live_points": int(min_num_live_points), "region_class": region_class.__name__,
            "effective_sample_size": float(result["ess"])})


@register_sampler
class NUTSSampler(Sampler):
    """numpyro's No-U-Turn sampler on the priors' unconstrained space, started at the
    maximum a posteriori point."""

    name = "nuts"

    def sample(self, density: Any, *, num_warmup: int = 500, num_samples: int = 1000, num_chains: int = 1,
               chain_method: str = "sequential", dense_mass: bool = True, target_accept_prob: float = 0.8,
               seed: int = 0, progress_bar: bool = True, init_values: dict[str, float] | None = None,
               max_tree_depth: int = 10) -> SamplerOutput:
        """Run NUTS (numpyro). ``init_values`` (by path) override the MAP start.

        NUTS moves in the unconstrained coordinates ``z`` of the parameter space
        (:meth:`~jointfit.space.ParameterSpace.constrain`), on the potential
        ``-(ln posterior(theta(z)) + ln |d theta / d z|)``: one compiled function, so
        that numpyro never runs the model operation by operation."""
        from numpyro.infer import MCMC, NUTS

        space = density.space
        log_posterior = density.log_posterior_fn()

        @jax.jit  # numpyro evaluates it once outside its compiled loop, at the start
        def potential(z: Any) -> Any:
            return -(log_posterior(space.constrain(z)) + space.log_jacobian(z))

        start = init_values or map_point(density)
        z0 = np.asarray(jax.jit(space.unconstrain)(np.array([float(start[name]) for name in space.free_names])))
        if not np.all(np.isfinite(z0)):
            raise AnalysisError(f"NUTS start {start} lies outside the priors' support")
        kernel = NUTS(potential_fn=potential, dense_mass=dense_mass, target_accept_prob=target_accept_prob,
                      max_tree_depth=max_tree_depth)
        if chain_method == "parallel" and jax.local_device_count() < num_chains:
            chain_method = "vectorized"  # one device: run the chains as one vectorised computation
        mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                    chain_method=chain_method, progress_bar=progress_bar)
        init_params = np.tile(z0, (num_chains, 1)) if num_chains > 1 else z0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpyro's note about chains on one device
            mcmc.run(jax.random.PRNGKey(seed), init_params=init_params, extra_fields=("diverging", "num_steps"))
        z = np.asarray(mcmc.get_samples(group_by_chain=True))
        samples = np.asarray(jax.jit(space.constrain)(z))
        extra = mcmc.get_extra_fields(group_by_chain=True)
        stats = {"diverging": np.asarray(extra["diverging"]), "n_steps": np.asarray(extra["num_steps"])}
        divergences = int(np.sum(stats["diverging"]))
        if divergences:
            warnings.warn(f"NUTS: {divergences} divergent transitions after warm-up; raise target_accept_prob "
                          "or reparameterise", JointfitWarning, stacklevel=3)
        return SamplerOutput(samples, stats, {"n_divergences": divergences, "num_warmup": num_warmup})


def map_point(density: Any) -> dict[str, float]:
    """Maximum a posteriori point by L-BFGS in the unconstrained space (from the model's
    current values), by parameter path."""
    from scipy import optimize

    space = density.space
    log_posterior = density.log_posterior_fn()

    def objective(z: Any) -> Any:
        theta = space.constrain(z)
        # the Jacobian is left out: this is the MAP of theta, not of z
        return -log_posterior(theta)

    value_and_grad = jax.jit(jax.value_and_grad(objective))
    lower, upper = space.support_bounds()
    start = np.clip(np.asarray(space.initial_theta), lower, upper)
    margin = 1e-6 * (1.0 + np.abs(np.nan_to_num(start)))
    start = np.where(start <= lower, start + margin, start)  # strictly inside the support
    start = np.where(start >= upper, start - margin, start)
    z0 = np.asarray(jax.jit(space.unconstrain)(start))
    if not np.all(np.isfinite(z0)):
        z0 = np.nan_to_num(z0)

    result = optimize.minimize(scipy_objective(value_and_grad), z0, jac=True, method="L-BFGS-B")
    theta = np.asarray(jax.jit(space.constrain)(result.x))
    return dict(zip(space.free_names, theta.tolist()))
