"""The compiled parameter space: a frozen, pure-JAX view of a model.

``model.compile()`` returns a :class:`ParameterSpace`. It maps the flat vector
``theta`` of free parameters to the values of every named parameter (links applied,
fixed values included), and gives the log-prior, the unit-cube prior transform and a
numpyro model. Everything it returns is a pure function of its array arguments, so
``jax.jit``, ``jax.vmap`` and ``jax.grad`` apply. Later changes to the model do not
affect a space already compiled.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from .errors import AnalysisError, ModelError, PriorError, UnknownNameError
from .parameter import Parameter
from .priors import Prior

if TYPE_CHECKING:
    from .functions.base import Function
    from .model import Model

__all__ = ["ParameterSpace", "constrain_within", "unconstrain_within", "move_inside"]

Values = Mapping[str, Any]
SpectrumFn = Callable[[Any, Values], Any]


def _spectral_evaluator(function: Function, prefix: str) -> SpectrumFn:
    names = list(function._parameters)

    def evaluate(x: Any, values: Values) -> Any:
        return function.evaluate_with(x, {name: values[prefix + name] for name in names})

    return evaluate


class ParameterSpace:
    """Frozen parameter space of a model (build it with :meth:`Model.compile`).

    Attributes
    ----------
    free_names : tuple of str
        Paths of the free parameters, in the order of ``theta``.
    names : tuple of str
        Paths of every parameter (free, fixed, linked).
    source_names, point_source_names, extended_source_names : tuple of str
        Sources of the model, in order.
    """

    def __init__(self, model: Model, extra_parameters: Mapping[str, Parameter]) -> None:
        # A deep copy freezes the model as it is now: the space never changes after.
        snapshot = model.clone()
        parameters = snapshot.parameters
        extras = {path: copy.deepcopy(p) for path, p in extra_parameters.items()}
        clash = sorted(set(extras) & set(parameters))
        if clash:
            raise ModelError(f"extra parameters {clash} have the same paths as model parameters")
        parameters.update(extras)
        path_of = {id(p): path for path, p in parameters.items()}

        self._model = snapshot
        self.names: tuple[str, ...] = tuple(parameters)
        self.free_names: tuple[str, ...] = tuple(k for k, p in parameters.items() if p.free)
        self._fixed = {k: p.value for k, p in parameters.items() if not p.free and not p.is_linked}
        self._units = {k: p.unit for k, p in parameters.items()}
        self._links = self._ordered_links(parameters, path_of)
        self._priors: tuple[Prior | None, ...] = tuple(parameters[k].effective_prior for k in self.free_names)
        self.missing_priors: tuple[str, ...] = tuple(
            k for k, prior in zip(self.free_names, self._priors) if prior is None
        )
        self._initial = np.array([parameters[k].value for k in self.free_names], dtype=float)
        self._lower = np.array([_bound(parameters[k].min_value, -np.inf) for k in self.free_names])
        self._upper = np.array([_bound(parameters[k].max_value, np.inf) for k in self.free_names])

        self.source_names: tuple[str, ...] = tuple(snapshot.sources)
        self.point_source_names: tuple[str, ...] = tuple(snapshot.point_sources)
        self.extended_source_names: tuple[str, ...] = tuple(snapshot.extended_sources)
        self._spectra = {
            name: _spectral_evaluator(source.spectral_shape, source.spectral_prefix())
            for name, source in snapshot.sources.items()
        }
        self._frozen = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"a ParameterSpace is immutable; recompile the model to change {name!r}")
        object.__setattr__(self, name, value)

    @staticmethod
    def _ordered_links(parameters: Mapping[str, Parameter],
                       path_of: Mapping[int, str]) -> list[tuple[str, str, SpectrumFn]]:
        """Linked parameters in an order where each comes after what it depends on."""
        pending = {k: p for k, p in parameters.items() if p.is_linked}
        ordered: list[tuple[str, str, SpectrumFn]] = []
        while pending:
            progressed = False
            for path, parameter in list(pending.items()):
                link = parameter.link
                assert link is not None
                target = path_of[id(link.target)]
                prefix = f"{path}.{link.function.name}."
                dependencies = [target, *(prefix + k for k in link.function._parameters)]
                if any(d in pending for d in dependencies):
                    continue
                ordered.append((path, target, _spectral_evaluator(link.function, prefix)))
                del pending[path]
                progressed = True
            if not progressed:  # Model.link refuses cycles; this guards hand-edited state
                raise ModelError(f"cyclic links among {sorted(pending)}")
        return ordered

    # -- shape and bookkeeping -------------------------------------------------------------
    @property
    def linked_names(self) -> tuple[str, ...]:
        """Paths of the linked parameters, each after those it depends on."""
        return tuple(path for path, _, _ in self._links)

    @property
    def n_free(self) -> int:
        """Number of free parameters (length of ``theta``)."""
        return len(self.free_names)

    @property
    def initial_theta(self) -> jnp.ndarray:
        """``theta`` holding the model's values at compile time."""
        return jnp.asarray(self._initial)

    @property
    def lower_bounds(self) -> np.ndarray:
        """Lower bound of each free parameter (``-inf`` if open)."""
        return self._lower.copy()

    @property
    def upper_bounds(self) -> np.ndarray:
        """Upper bound of each free parameter (``inf`` if open)."""
        return self._upper.copy()

    @property
    def priors(self) -> dict[str, Prior | None]:
        """Prior of each free parameter, truncated to its bounds (``None`` if missing)."""
        return dict(zip(self.free_names, self._priors))

    def unit(self, path: str) -> Any:
        """Astropy unit of the parameter at ``path``."""
        try:
            return self._units[path]
        except KeyError:
            raise UnknownNameError(f"no parameter {path!r} in this parameter space") from None

    @property
    def model(self) -> Model:
        """A copy of the model as it was compiled."""
        return self._model.clone()

    # -- theta <-> values ---------------------------------------------------------------------
    def unpack(self, theta: Any) -> dict[str, Any]:
        """Values of every parameter by path from one ``theta`` (shape ``(n_free,)``).

        Links are applied and fixed values included. Pure JAX; for a batch of thetas
        use ``jax.vmap(space.unpack)``.
        """
        theta = jnp.asarray(theta)
        values: dict[str, Any] = dict(self._fixed)
        for i, name in enumerate(self.free_names):
            values[name] = theta[..., i]
        for path, target, function in self._links:
            values[path] = function(values[target], values)
        return values

    def pack(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """``theta`` from values by path (the inverse of :meth:`unpack` on free parameters)."""
        missing = [k for k in self.free_names if k not in values]
        if missing:
            raise UnknownNameError(f"values lack the free parameters {missing}")
        return jnp.stack([jnp.asarray(values[k], dtype=float) for k in self.free_names], axis=-1)

    # -- unconstrained coordinates ---------------------------------------------------------------
    def support_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of each free parameter where the posterior can be finite:
        the prior's support (already cut by the bounds), or the bounds without a prior."""
        lower, upper = self._lower.copy(), self._upper.copy()
        for i, prior in enumerate(self._priors):
            if prior is not None:
                lower[i], upper[i] = prior.support
        return lower, upper

    def constrain(self, z: Any, bound_scales: Any = None) -> jnp.ndarray:
        """Map unconstrained ``z`` (any real vector, shape ``(..., n_free)``) to ``theta``
        inside :meth:`support_bounds`: ``lo + exp(z)`` for one finite side, a scaled
        logistic for two, the identity for none. Optimisers and samplers work in ``z``.

        ``bound_scales`` (shape ``(n_free,)``, may be traced) gives parameters whose
        posterior reaches a bound coordinates of their own: where its entry ``s`` is
        positive, ``theta`` lies ``u = s softplus(z)`` above the lower bound (between two
        finite bounds ``W`` apart, ``W (1 - exp(-u / W))``, so that ``theta`` stays
        inside); where negative, as far below the upper bound, with ``|s|``; where 0
        (and for parameters without a finite bound), the map above. A density flat up to
        the bound and falling off over ``~s`` beyond it is then flat in ``z`` down to an
        exponential tail, with a Gaussian edge of unit scale on the other side, where
        ``exp(z)`` or the logistic make that edge a wall whose curvature grows as
        ``exp(2 z)`` (NUTS's coordinates: :func:`jointfit.samplers._bound_scales`).
        """
        z = jnp.asarray(z, dtype=float)
        lower, upper = self.support_bounds()
        columns = []
        for i, (lo, hi) in enumerate(zip(lower, upper)):
            zi = z[..., i]
            column = _constrain_column(zi, lo, hi)
            if bound_scales is not None and (np.isfinite(lo) or np.isfinite(hi)):
                scale = bound_scales[i]
                distance = _bound_distance(zi, jnp.where(scale == 0, 1.0, jnp.abs(scale)), hi - lo)
                near_bound = lo + distance if not np.isfinite(hi) else (
                    hi - distance if not np.isfinite(lo) else jnp.where(scale > 0, lo + distance, hi - distance))
                column = jnp.where(scale == 0, column, near_bound)
            columns.append(column)
        return jnp.stack(columns, axis=-1)

    def log_jacobian(self, z: Any, bound_scales: Any = None) -> jnp.ndarray:
        """``ln |d theta / d z|`` of :meth:`constrain` (with the same ``bound_scales``) at
        ``z`` (summed over the free parameters; shape ``z.shape[:-1]``): the term a
        density in ``theta`` gains when sampled in ``z``."""
        z = jnp.asarray(z, dtype=float)
        lower, upper = self.support_bounds()
        total = jnp.zeros(z.shape[:-1])
        for i, (lo, hi) in enumerate(zip(lower, upper)):
            zi = z[..., i]
            if np.isfinite(lo) and np.isfinite(hi):
                term = math.log(hi - lo) + jax.nn.log_sigmoid(zi) + jax.nn.log_sigmoid(-zi)
            elif np.isfinite(lo) or np.isfinite(hi):
                term = zi
            else:
                continue
            if bound_scales is not None:
                scale = jnp.where(bound_scales[i] == 0, 1.0, jnp.abs(bound_scales[i]))
                # d/dz of W (1 - exp(-s softplus(z) / W)) is s sigmoid(z) exp(-s softplus(z) / W)
                near_bound = jnp.log(scale) + jax.nn.log_sigmoid(zi)
                if np.isfinite(hi - lo):
                    near_bound = near_bound - scale * jax.nn.softplus(zi) / (hi - lo)
                term = jnp.where(bound_scales[i] == 0, term, near_bound)
            total = total + term
        return total

    def unconstrain(self, theta: Any, bound_scales: Any = None) -> jnp.ndarray:
        """Inverse of :meth:`constrain` (with the same ``bound_scales``)."""
        theta = jnp.asarray(theta, dtype=float)
        lower, upper = self.support_bounds()
        columns = []
        for i, (lo, hi) in enumerate(zip(lower, upper)):
            ti = theta[..., i]
            column = _unconstrain_column(ti, lo, hi)
            if bound_scales is not None and (np.isfinite(lo) or np.isfinite(hi)):
                scale = bound_scales[i]
                distance = ti - lo if not np.isfinite(hi) else (
                    hi - ti if not np.isfinite(lo) else jnp.where(scale > 0, ti - lo, hi - ti))
                width = hi - lo
                u = distance if not np.isfinite(width) else -width * jnp.log1p(-distance / width)
                x = u / jnp.where(scale == 0, 1.0, jnp.abs(scale))
                column = jnp.where(scale == 0, column, x + jnp.log(-jnp.expm1(-x)))  # softplus^-1(x)
            columns.append(column)
        return jnp.stack(columns, axis=-1)

    # -- priors ----------------------------------------------------------------------------------
    def require_priors(self) -> None:
        """Raise :class:`PriorError` naming every free parameter without a prior."""
        if self.missing_priors:
            raise PriorError(
                "a Bayesian analysis needs a prior on every free parameter; these have none: "
                + ", ".join(self.missing_priors)
            )

    def log_prior(self, theta: Any) -> jnp.ndarray:
        """Sum of the log-priors of the free parameters (``-inf`` outside the support).

        Vectorised over leading axes of ``theta`` (shape ``(..., n_free)``).
        """
        self.require_priors()
        theta = jnp.asarray(theta, dtype=float)
        total = jnp.zeros(theta.shape[:-1])
        for i, prior in enumerate(self._priors):
            total = total + prior.log_pdf(theta[..., i])  # type: ignore[union-attr]
        return total

    def prior_transform(self, u: Any) -> jnp.ndarray:
        """Map points of the unit cube to ``theta``; ``u`` has shape ``(..., n_free)``."""
        self.require_priors()
        u = jnp.asarray(u, dtype=float)
        columns = [prior.from_unit_cube(u[..., i]) for i, prior in enumerate(self._priors)]  # type: ignore[union-attr]
        return jnp.stack(columns, axis=-1)

    def numpyro_distributions(self) -> dict[str, Any]:
        """numpyro distribution of each free parameter, by path."""
        self.require_priors()
        return {name: prior.to_numpyro() for name, prior in zip(self.free_names, self._priors)}  # type: ignore[union-attr]

    def numpyro_model(self, loglike: Callable[[dict[str, Any]], Any] | None = None) -> Callable[[], None]:
        """A numpyro model: samples each free parameter from its prior, records linked
        parameters as deterministic sites, and adds ``loglike(values)`` as a factor."""
        import numpyro
        from numpyro.distributions import Unit

        distributions = self.numpyro_distributions()
        linked = [path for path, _, _ in self._links]

        def model() -> None:
            theta = jnp.stack([numpyro.sample(name, d) for name, d in distributions.items()])
            values = self.unpack(theta)
            for path in linked:
                numpyro.deterministic(path, values[path])
            if loglike is not None:
                # numpyro.factor, written with the names numpyro.distributions exports:
                # factor reaches Unit as numpyro.distributions.distribution.Unit, and in
                # some pytest-xdist workers under Python 3.13 that submodule attribute of
                # numpyro.distributions is missing (the module itself is complete)
                factor = Unit(loglike(values))
                numpyro.sample("loglike", factor, obs=factor.sample(None), infer={"is_auxiliary": True})

        return model

    # -- spectra ------------------------------------------------------------------------------------
    def spectrum(self, source: str) -> SpectrumFn:
        """Pure ``(energies_keV, values) -> photons/(cm2 s keV)`` of one source."""
        try:
            return self._spectra[source]
        except KeyError:
            raise UnknownNameError(f"no source {source!r}; sources are {list(self.source_names)}") from None

    def breakpoints(self, sources: Sequence[str] | None = None) -> np.ndarray:
        """Energies (keV, sorted, unique) where the spectra of ``sources`` (every
        source if ``None``) have fixed kinks or jumps (absorption edges, fixed breaks):
        where integrals over energy split their panels.

        Raises
        ------
        UnknownNameError
            If a name is not a source of the model.
        """
        names = self.source_names if sources is None else tuple(sources)
        unknown = [n for n in names if n not in self._spectra]
        if unknown:
            raise UnknownNameError(f"no source {unknown}; sources are {list(self.source_names)}")
        shapes = (self.model.sources[name].spectral_shape for name in names)
        return np.unique(np.concatenate([np.empty(0), *(shape.breakpoints() for shape in shapes)]))

    def point_source_spectrum(self, sources: Sequence[str] | None = None) -> SpectrumFn:
        """Pure summed spectrum of the given sources (all point sources if ``None``).

        Raises
        ------
        AnalysisError
            If a name is not a source of the model, or the model has no point source.
        """
        names = tuple(self.point_source_names if sources is None else sources)
        unknown = [n for n in names if n not in self._spectra]
        if unknown:
            raise AnalysisError(f"unknown source(s) {unknown}; the model has {list(self.source_names)}")
        if not names:
            raise AnalysisError("the model has no point source to compute a spectrum from")
        spectra = [self._spectra[n] for n in names]

        def summed(x: Any, values: Values) -> Any:
            total = spectra[0](x, values)
            for spectrum in spectra[1:]:
                total = total + spectrum(x, values)
            return total

        return summed


def _bound(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def _bound_distance(z: Any, scale: Any, width: float) -> Any:
    """Distance of ``theta`` from its bound in the coordinates of
    :meth:`ParameterSpace.constrain`'s ``bound_scales``: ``u = scale softplus(z)``, or
    ``width (1 - exp(-u / width))`` between two finite bounds ``width`` apart."""
    u = scale * jax.nn.softplus(z)
    return u if not np.isfinite(width) else -width * jnp.expm1(-u / width)


def constrain_within(z: Any, lower: np.ndarray, upper: np.ndarray) -> jnp.ndarray:
    """Map unconstrained ``z`` (shape ``(..., n)``) inside ``[lower, upper]`` (each
    ``(n,)``, infinite where open): a scaled logistic between two finite bounds,
    ``lo + exp(z)`` or ``hi - exp(z)`` for one, the identity for none, as
    :meth:`ParameterSpace.constrain` does within the priors' support."""
    z = jnp.asarray(z, dtype=float)
    return jnp.stack([_constrain_column(z[..., i], lo, hi) for i, (lo, hi) in enumerate(zip(lower, upper))],
                     axis=-1)


def unconstrain_within(theta: Any, lower: np.ndarray, upper: np.ndarray) -> jnp.ndarray:
    """Inverse of :func:`constrain_within` (``theta`` strictly inside the bounds:
    :func:`move_inside`)."""
    theta = jnp.asarray(theta, dtype=float)
    return jnp.stack([_unconstrain_column(theta[..., i], lo, hi) for i, (lo, hi) in enumerate(zip(lower, upper))],
                     axis=-1)


def move_inside(theta: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``theta`` clipped to ``[lower, upper]`` and moved off a bound it sits on by
    ``1e-6 (1 + |theta|)``, where the unconstrained coordinates are finite."""
    start = np.clip(theta, lower, upper)
    margin = 1e-6 * (1.0 + np.abs(np.nan_to_num(start)))
    start = np.where(start <= lower, start + margin, start)
    return np.where(start >= upper, start - margin, start)


def _constrain_column(z: Any, lo: float, hi: float) -> Any:
    if np.isfinite(lo) and np.isfinite(hi):
        return lo + (hi - lo) * jax.nn.sigmoid(z)
    if np.isfinite(lo):
        return lo + jnp.exp(z)
    if np.isfinite(hi):
        return hi - jnp.exp(z)
    return z


def _unconstrain_column(theta: Any, lo: float, hi: float) -> Any:
    if np.isfinite(lo) and np.isfinite(hi):
        fraction = (theta - lo) / (hi - lo)
        return jnp.log(fraction) - jnp.log1p(-fraction)
    if np.isfinite(lo):
        return jnp.log(theta - lo)
    if np.isfinite(hi):
        return jnp.log(hi - theta)
    return theta
