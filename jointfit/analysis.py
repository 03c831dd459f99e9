"""Analyses in 3ML's vocabulary: ``BayesianAnalysis`` (posterior sampling) and
``JointLikelihood`` (maximum likelihood with errors)."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from functools import cached_property
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._background import in_background
from ._compile import compile_for_work, jaxpr_work
from ._optimize import hessian_from_gradient, scipy_bounds, scipy_objective
from .data_list import DataList
from .errors import AnalysisError, JointfitWarning
from .log_density import JointLogDensity
from .model import Model
from .results import AnalysisResults
from .samplers import get_sampler
from .starts import normalization_paths, normalization_start

__all__ = ["BayesianAnalysis", "JointLikelihood", "SamplerSetup"]


class _Analysis:
    def __init__(self, model: Model, data: DataList) -> None:
        self.model = model
        self.data = data
        self.density = JointLogDensity(model, data)
        self._results: AnalysisResults | None = None

    @property
    def space(self) -> Any:
        """The compiled parameter space (model and plugin parameters)."""
        return self.density.space

    @property
    def results(self) -> AnalysisResults:
        """Results of the last fit or sampling run."""
        if self._results is None:
            raise AnalysisError("no results yet: run the analysis first")
        return self._results

    def _parameter(self, path: str) -> Any:
        nuisance = self.data.nuisance_parameters
        return nuisance[path] if path in nuisance else self.model[path]

    def _current_theta(self) -> jnp.ndarray:
        return jnp.asarray([float(self._parameter(p).value) for p in self.space.free_names])

    def _set_parameters(self, theta: np.ndarray) -> None:
        for path, value in zip(self.space.free_names, np.asarray(theta, dtype=float)):
            self._parameter(path).value = float(value)

    def log_like(self) -> float:
        """Joint log-likelihood at the model's current parameter values."""
        return float(self.density.log_likelihood(self._current_theta()))

    def log_like_per_plugin(self) -> dict[str, float]:
        """Each plugin's log-likelihood at the model's current values, by name."""
        return {k: float(v) for k, v in self.density.log_likelihood_per_plugin(self._current_theta()).items()}

    def goodness_of_fit(self, n_draws: int = 500, seed: int = 0, quiet: bool = False) -> Any:
        """Goodness of fit by simulation from the results: each plugin's posterior
        predictive p-value and the joint one, printed unless ``quiet``; the returned
        :class:`~jointfit.goodness.PredictiveCheck` also draws the data against the
        predictive band and Q-Q plots (:func:`~jointfit.goodness.posterior_predictive_check`)."""
        from .goodness import posterior_predictive_check

        check = posterior_predictive_check(self, n_draws=n_draws, seed=seed)
        if not quiet:
            check.display()
        return check


class SamplerSetup:
    """The sampler a :class:`BayesianAnalysis` will run and its options:
    ``ba.sampler.setup(min_num_live_points=400)`` adds options, as 3ML's does."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name
        self.options = options  # the analysis's own dict: setup() changes what sample() uses

    def setup(self, **options: Any) -> None:
        """Set options of the sampler's ``sample`` method, under jointfit's names or
        3ML's (``chain_name``, ``use_mlfriends``...; the sampler's ``OPTION_ALIASES``).

        Unlike 3ML's ``setup``, which starts from the defaults each time, a later call
        adds to or replaces the options of earlier ones.

        Raises
        ------
        AnalysisError
            For an option the sampler does not know (the message lists those it
            accepts) or a value it cannot take.
        """
        self.options.update(get_sampler(self.name).normalize_options(options))

    def __repr__(self) -> str:
        return f"SamplerSetup({self.name!r}, {self.options})"


class BayesianAnalysis(_Analysis):
    """Posterior sampling of a model given data: ``BayesianAnalysis(model, data_list)``.

    Every free parameter needs a prior (the error lists those without). The sampler is
    UltraNest by default (``set_sampler("ultranest")``, as in 3ML) or NUTS
    (``"nuts"``); options go to :meth:`set_sampler` or :meth:`sample`.
    """

    def __init__(self, model: Model, data: DataList) -> None:
        super().__init__(model, data)
        self.space.require_priors()
        self._sampler_name = "ultranest"
        self._sampler_options: dict[str, Any] = {}

    def _prepare_results(self) -> None:
        """Compile the per-draw summary of the results while the sampler runs."""
        self.density.precompile_draw_summary()

    def set_sampler(self, name: str = "ultranest", **options: Any) -> SamplerSetup:
        """Choose the sampler by name and set its options (see its ``sample`` method;
        3ML's spellings too); more options later with ``ba.sampler.setup(...)``, as in 3ML.

        Raises
        ------
        AnalysisError
            For an unknown sampler, or an option it does not know or cannot take.
        """
        sampler = get_sampler(name)
        self._sampler_name, self._sampler_options = sampler.name, sampler.normalize_options(options)
        return self.sampler

    @property
    def sampler(self) -> SamplerSetup:
        """The chosen sampler and its options."""
        return SamplerSetup(self._sampler_name, self._sampler_options)

    def sample(self, sampler: str | None = None, quiet: bool = False, **options: Any) -> AnalysisResults:
        """Sample the posterior and return the results (also in :attr:`results`); the
        model's parameters are set to the MAP draw, as 3ML does.

        Parameters
        ----------
        sampler : str, optional
            A sampler other than the one :meth:`set_sampler` chose, for this run only
            (without the options set for that one).
        quiet : bool
            Print nothing: neither the results nor, unless ``show_status`` or
            ``progress_bar`` is given, the sampler's progress (as 3ML's ``quiet``).
        **options
            Options of the sampler's ``sample`` method (3ML's spellings too), over
            those set with :meth:`set_sampler` and ``sampler.setup``.

        Raises
        ------
        AnalysisError
            For an option the sampler does not know or cannot take, before it runs.
        """
        engine = get_sampler(sampler or self._sampler_name)
        name = engine.name
        settings = dict(self._sampler_options) if name == self._sampler_name else {}
        settings.update(engine.normalize_options(options))
        if quiet:
            settings = {**engine.QUIET_OPTIONS, **settings}
        output = engine.sample(self.density, on_start=self._prepare_results, **settings)
        self._results = AnalysisResults.from_samples(self.density, output.samples, analysis="bayesian",
                                                     sampler=name, sample_stats=output.sample_stats,
                                                     extra=output.attributes)
        best = self._results.point_estimates()
        self._set_parameters(best.loc[list(self.space.free_names), "value"].to_numpy())
        if not quiet:
            self._results.display()
        return self._results


class JointLikelihood(_Analysis):
    """Maximum-likelihood fit of a model to data: ``JointLikelihood(model, data_list)``.

    Priors are ignored; parameter bounds are respected. Gradients come from JAX, the
    covariance from the JAX Hessian at the optimum (for objectives of more than
    :attr:`HESSIAN_COMPILE_WORK` operations per call, such as images, from central
    differences of the JAX gradient, which costs 2n calls and no compilation).
    """

    MAX_ROUNDS = 20
    """Most optimiser runs (each rescaled at the last one's end) in :meth:`fit`."""
    ROUND_ITERATIONS = 500
    """L-BFGS iterations of one round of :meth:`fit`."""
    CONVERGED_LOG_LIKE = 1e-4
    """:meth:`fit` stops when a round converges and improves ``log L`` by less than this."""
    HESSIAN_COMPILE_WORK = 1e7
    """Operations per objective call above which the covariance comes from central
    differences of the compiled (exact) gradient rather than a compiled JAX Hessian."""

    @cached_property
    def _objective_traced(self) -> Any:
        per_plugin = self.density._per_plugin

        def negative_log_likelihood(theta: Any) -> tuple[Any, dict[str, Any]]:
            by_plugin = per_plugin(theta)
            return -sum(by_plugin.values()), by_plugin

        shape = jax.ShapeDtypeStruct((len(self.space.free_names),), float)
        return jax.jit(jax.value_and_grad(negative_log_likelihood, has_aux=True)).trace(shape)

    @cached_property
    def _objective_program(self) -> Any:
        """Compiled ``theta -> ((-log L, log L by plugin), gradient of -log L)``: the one
        program of a fit (the results take each plugin's log L at the best fit from it,
        rather than compiling another), shared with the profiles."""
        # an optimisation and a few profiles: some thousands of calls
        return compile_for_work(self._objective_traced, 3000)

    def _objective(self, theta: Any) -> tuple[Any, Any]:
        """``-log L`` and its gradient at ``theta``."""
        (value, _), gradient = self._objective_program(theta)
        return value, gradient

    def _scaled(self, scale: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
        """The objective of ``x = theta / scale`` for the optimiser, and its bounds."""
        value_and_grad = self._objective

        def scaled(x: Any) -> tuple[Any, Any]:
            value, gradient = value_and_grad(np.asarray(x) * scale)
            return value, np.asarray(gradient) * scale

        return scaled, self.space.lower_bounds / scale, self.space.upper_bounds / scale

    def _whitened(self, origin: np.ndarray, scale: np.ndarray,
                  transform: np.ndarray) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """``x -> (-log L, gradient)`` at ``theta = origin + transform @ x`` for the
        optimiser: ``theta`` is clipped to the bounds, and beyond them a quadratic of
        unit curvature in ``scale`` units pulls back (so that a best fit on a bound is
        found there)."""
        value_and_grad = scipy_objective(self._objective)
        lower, upper = self.space.lower_bounds, self.space.upper_bounds

        def whitened(x: np.ndarray) -> tuple[float, np.ndarray]:
            theta = origin + transform @ x
            clipped = np.clip(theta, lower, upper)
            value, gradient = value_and_grad(clipped)
            outside = (theta - clipped) / scale
            gradient = np.where(outside == 0.0, gradient, 0.0) + outside / scale
            return value + 0.5 * float(outside @ outside), transform.T @ gradient

        return whitened

    def _preconditioner(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-parameter scale ``1 / sqrt(d2(-log L) / d theta_i^2)`` at ``theta`` (``|theta_i|``
        or 1 where that curvature is not positive), and the matrix ``T`` that whitens the
        curvature there: in ``theta = theta_0 + T x`` the Hessian in ``x`` is the identity
        (eigenvalues' magnitudes, floored at 1e-8 of the largest). Both by forward
        differences of the compiled gradient (n + 1 calls).

        Optimising in ``x`` makes the problem of unit curvature in every direction: a
        source position in degrees (value ~100, constrained to ~1e-6) and a magnitude
        (value ~20, constrained to ~0.01) otherwise differ by 10^8 in curvature, and
        correlated parameters (a free radial profile's intensities, say) make narrow
        valleys where L-BFGS creeps.
        """
        fallback = np.where(theta != 0.0, np.abs(theta), 1.0)
        hessian = self._hessian_from_gradients(theta, 1e-7 * fallback, at_theta=np.asarray(self._objective(theta)[1]))
        curvature = np.diag(hessian)
        usable = np.isfinite(curvature) & (curvature > 0)
        scale = np.where(usable, 1.0 / np.sqrt(np.where(usable, curvature, 1.0)), fallback)
        scaled = hessian * np.outer(scale, scale)
        if not np.all(np.isfinite(scaled)):
            return scale, np.diag(scale)
        eigenvalues, vectors = np.linalg.eigh(scaled)
        magnitude = np.abs(eigenvalues)
        magnitude = np.maximum(magnitude, 1e-8 * max(float(magnitude.max()), 1.0))
        return scale, scale[:, None] * ((vectors / np.sqrt(magnitude)) @ vectors.T)

    @cached_property
    def _hessian(self) -> Future | None:
        """The compiled Hessian of ``-log L`` in ``theta``, compiled in the background
        (it overlaps with the optimisation, and takes longer to compile); ``None`` for
        objectives of more than :attr:`HESSIAN_COMPILE_WORK` operations (images), where
        compiling it took longer (15-20 s for three survey cutouts) than the whole fit."""
        if jaxpr_work(self._objective_traced.jaxpr.jaxpr) > self.HESSIAN_COMPILE_WORK:
            return None
        shape = jax.ShapeDtypeStruct((len(self.space.free_names),), float)
        hessian = jax.jit(jax.hessian(lambda t: -self.density._log_likelihood(t)))
        return in_background(lambda: compile_for_work(hessian.trace(shape), 1))

    def _hessian_from_gradients(self, theta: np.ndarray, steps: np.ndarray,
                                at_theta: np.ndarray | None = None) -> np.ndarray:
        """Hessian of ``-log L`` at ``theta`` by central differences of the compiled
        gradient (exact, from JAX) with per-parameter ``steps``, symmetrised (the
        covariance uses a thousandth of each curvature scale: truncation errors ~1e-6
        relative); by forward differences given the gradient ``at_theta``."""
        value_and_grad = self._objective
        return hessian_from_gradient(lambda t: value_and_grad(t)[1], theta, steps, at_theta)

    def fit(self, quiet: bool = False, n_samples: int = 2000, seed: int = 0, guess: bool = True) -> AnalysisResults:
        """Find the maximum-likelihood point, set the model's parameters to it and
        return the results (best fit, covariance, per-plugin -log L, AIC and BIC; the
        posterior group holds ``n_samples`` draws of the Gaussian approximation).

        Parameters
        ----------
        quiet : bool
            Print nothing (neither the start's line nor the results).
        n_samples : int
            Draws of the Gaussian approximation kept in the results.
        seed : int
            Seed of those draws.
        guess : bool
            Start the free normalisations still at their functions' defaults (``K = 1``
            photons / (cm2 s keV) of a ``Powerlaw``, say) from the data: they are scaled
            together by the factor that maximises the likelihood
            (:func:`~jointfit.starts.normalization_start`; one line says by how much). Values the user
            set are never changed.

        Raises
        ------
        AnalysisError
            If the optimiser fails or the Hessian is not positive definite (the message
            names the parameters at a bound or unconstrained and what to do).
        """
        from scipy import optimize

        hessian_program = self._hessian
        theta = np.asarray(self._current_theta(), dtype=float)
        lower, upper = self.space.lower_bounds, self.space.upper_bounds
        if guess:
            theta, note = normalization_start(self.density, self.model, theta, lower, upper)
            if note is not None and not quiet:
                print(note)
        previous = math.inf
        for _ in range(self.MAX_ROUNDS):
            # each round whitens the curvature where the last one ended: from a poor
            # start the first is rough, and the next rounds correct it
            scale, transform = self._preconditioner(theta)
            best = optimize.minimize(self._whitened(theta, scale, transform), np.zeros(theta.size), jac=True,
                                     method="L-BFGS-B",
                                     options={"maxiter": self.ROUND_ITERATIONS, "ftol": 1e-13, "gtol": 1e-9})
            if not np.all(np.isfinite(best.x)) or not math.isfinite(best.fun):
                raise AnalysisError(f"the maximum-likelihood fit failed: {best.message}")
            theta = np.clip(theta + transform @ best.x, lower, upper)
            if best.nit < self.ROUND_ITERATIONS and previous - best.fun < self.CONVERGED_LOG_LIKE:
                break
            previous = best.fun
        else:
            warnings.warn(f"the maximum-likelihood fit did not converge in {self.MAX_ROUNDS} rounds of "
                          f"{self.ROUND_ITERATIONS} L-BFGS iterations (last: {best.message}); start closer to the "
                          "best fit or fix poorly constrained parameters", JointfitWarning, stacklevel=2)
        (best_value, by_plugin), _ = self._objective_program(theta)
        if hessian_program is not None:
            hessian = np.asarray(hessian_program.result()(np.asarray(theta, dtype=float)))
        else:
            hessian = self._hessian_from_gradients(theta, 1e-3 * scale)
        return self._conclude(theta, float(best_value), {k: float(v) for k, v in by_plugin.items()}, hessian,
                              sampler="L-BFGS-B", quiet=quiet, n_samples=n_samples, seed=seed, guess=guess)

    def _conclude(self, theta: np.ndarray, best_value: float, by_plugin: dict[str, float], hessian: np.ndarray, *,
                  sampler: str, quiet: bool, n_samples: int, seed: int, guess: bool) -> AnalysisResults:
        """The results of a fit that ended at ``theta``, where ``-log L`` is
        ``best_value`` (``by_plugin``: each plugin's log L) and its Hessian ``hessian``:
        covariance, draws of the Gaussian approximation, the model's parameters set."""
        # inverted and drawn in units of each parameter's curvature scale: parameters in
        # degrees beside normalisations of 1e9 leave the raw matrices conditioned beyond
        # double precision, and the draws would see rounding as negative variances
        unit = 1.0 / np.sqrt(np.where(np.diag(hessian) > 0, np.diag(hessian), 1.0))
        try:
            correlation = np.linalg.inv(hessian * np.outer(unit, unit))
            correlation = 0.5 * (correlation + correlation.T)
            covariance = correlation * np.outer(unit, unit)
        except np.linalg.LinAlgError:
            raise AnalysisError("the Hessian at the best fit is singular: a parameter is not constrained"
                                f"{self._suspects(theta, np.diag(hessian), guess)}") from None
        if np.any(np.diag(covariance) <= 0) or not np.all(np.isfinite(covariance)):
            raise AnalysisError("the Hessian at the best fit is not positive definite: the fit did not converge "
                                "to a maximum, or a parameter sits at a bound"
                                f"{self._suspects(theta, np.diag(covariance), guess)}")
        self._set_parameters(theta)
        draws = theta + unit * np.random.default_rng(seed).multivariate_normal(np.zeros(theta.size), correlation,
                                                                               size=n_samples)
        self._results = AnalysisResults.from_samples(
            self.density, np.vstack([draws, theta])[None], analysis="mle", sampler=sampler,
            extra={"mle": theta.tolist(), "covariance": covariance.tolist(),
                   "mle_log_likelihood": -best_value},
            best_fit_log_likelihoods=by_plugin)
        if not quiet:
            self._results.display()
        return self._results

    def _suspects(self, theta: np.ndarray, variances: np.ndarray, guessed: bool = True) -> str:
        """The parameters to look at when the covariance fails: those at a bound
        (within 1e-6 of the bounds' span) and those of non-positive variance, with what
        to do about them (``guessed``: whether the fit started its default
        normalisations from the data)."""
        lower, upper = self.space.lower_bounds, self.space.upper_bounds
        span = np.where(np.isfinite(upper - lower), upper - lower, np.maximum(1.0, np.abs(theta)))
        normalizations = normalization_paths(self.model)
        lines, at_bound, undetected = [], False, []
        for name, value, low, high, width, variance in zip(self.space.free_names, theta, lower, upper, span, variances):
            if value - low <= 1e-6 * width:
                lines.append(f"{name} = {value:.6g} at its lower bound {low:.6g}")
                at_bound = True
                if name in normalizations:
                    undetected.append(name)
            elif high - value <= 1e-6 * width:
                lines.append(f"{name} = {value:.6g} at its upper bound {high:.6g}")
                at_bound = True
            elif not variance > 0:
                lines.append(f"{name} = {value:.6g} is not constrained (curvature {variance:.3g})")
        if not lines:
            return ""
        advice = ""
        if at_bound:
            advice = (". A parameter at a bound: set a start value nearer the data, widen the bound if "
                      "the physics allows, or fix the parameter (or free one held fixed at a poor value)")
            if not guessed and any(not self.model[p].user_set for p in undetected):
                advice += "; fit(guess=True) starts normalisations left at their defaults from the data"
        if undetected:
            advice += (f". A normalisation at its lower bound ({', '.join(undetected)}): the source may not be "
                       "detected; rather than a best fit with errors, quote an upper limit (from the draws of a "
                       "BayesianAnalysis with a prior on it, or from how log L falls as it is fixed at larger "
                       "values)")
        return "; look at: " + "; ".join(lines) + advice

    @property
    def covariance(self) -> np.ndarray:
        """Covariance matrix of the free parameters at the best fit."""
        return np.asarray(json.loads(self.results.inference_data.posterior.attrs["covariance"]))

    @property
    def correlation_matrix(self) -> Any:
        """Correlation matrix as a pandas DataFrame labelled by parameter path."""
        import pandas as pd

        covariance = self.covariance
        sigma = np.sqrt(np.diag(covariance))
        names = list(self.space.free_names)
        return pd.DataFrame(covariance / np.outer(sigma, sigma), index=names, columns=names)

    def profile_errors(self, *paths: str, delta_log_like: float = 0.5) -> Any:
        """Asymmetric errors from the profile likelihood: where ``-log L`` maximised over
        the other parameters rises by ``delta_log_like`` (0.5: 68 %), as a pandas
        DataFrame with columns ``value``, ``negative_error``, ``positive_error`` and
        ``limit``.

        Where the profile does not rise that much before the parameter's bound, the
        interval ends at the bound and ``limit`` says so (``"lower bound"``, ``"upper
        bound"``, ``"both bounds"``; ``""`` where no bound cut it), as in
        :meth:`AnalysisResults.point_estimates`. An error is NaN where the profile stays
        flat for 1000 sigma with no bound in the way.
        """
        import pandas as pd
        from scipy import optimize

        results = self.results
        mle = np.asarray(json.loads(results.inference_data.posterior.attrs["mle"]))
        sigma = np.sqrt(np.diag(self.covariance))
        best_value = -float(results.inference_data.posterior.attrs["mle_log_likelihood"])
        value_and_grad, lower, upper = self._scaled(sigma)
        scale = sigma
        rows = []
        for path in paths or self.space.free_names:
            if path not in self.space.free_names:
                raise AnalysisError(f"{path!r} is not a free parameter; they are {list(self.space.free_names)}")
            i = self.space.free_names.index(path)
            others = [j for j in range(mle.size) if j != i]

            def profile(value: float, i: int = i, others: list[int] = others) -> float:
                def fixed_at_value(y: Any) -> tuple[Any, Any]:
                    v, g = value_and_grad(jnp.insert(y, i, value / scale[i]))
                    return v, jnp.delete(g, i)

                found = optimize.minimize(scipy_objective(fixed_at_value), np.delete(mle / scale, i), jac=True,
                                          method="L-BFGS-B", bounds=scipy_bounds(lower[others], upper[others]),
                                          options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10})
                return found.fun - best_value - delta_log_like

            errors, cut = [], []
            for direction in (-1.0, 1.0):
                bound = upper[i] * scale[i] if direction > 0 else lower[i] * scale[i]
                end, at_bound = self._profile_end(profile, mle[i], direction * sigma[i], bound)
                errors.append(end - mle[i])
                cut.append(at_bound)
            limit = {(True, True): "both bounds", (True, False): "lower bound", (False, True): "upper bound",
                     (False, False): ""}[cut[0], cut[1]]
            rows.append({"parameter": path, "value": mle[i], "negative_error": errors[0], "positive_error": errors[1],
                         "limit": limit})
        return pd.DataFrame(rows).set_index("parameter")

    @staticmethod
    def _profile_end(profile: Callable[[float], float], best: float, step: float,
                     bound: float) -> tuple[float, bool]:
        """Where ``profile`` (negative at ``best``) crosses zero going from ``best`` in the
        direction of ``step``, towards ``bound`` (infinite where open): the crossing, or
        the bound itself (and ``True``) where the profile is still negative there, or NaN
        where it stays negative for 1000 steps with no bound in the way."""
        from scipy import optimize

        if (bound - best) * step <= 0.0:  # the best fit sits on the bound
            return bound, True
        reach = abs(step)
        while True:
            far = best + math.copysign(reach, step)
            if (bound - far) * step <= 0.0:
                if profile(bound) < 0:
                    return bound, True
                far = bound
            elif profile(far) < 0:
                if reach > 1e3 * abs(step):
                    return math.nan, False
                reach *= 2.0
                continue
            return optimize.brentq(profile, best, far, xtol=1e-6 * abs(step)), False
