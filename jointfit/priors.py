"""Priors: one object, three faces that agree.

Every prior offers

* ``log_pdf(x)``: the normalised log-density, a pure JAX function (``-inf`` outside
  the support);
* ``from_unit_cube(u)``: the inverse CDF, a vectorised pure JAX function mapping
  ``u`` in [0, 1] to the parameter, as nested samplers need;
* ``to_numpyro()``: the same density as a numpyro distribution (numpyro is imported
  only when this is called).

Names and meanings follow astromodels, so a 3ML user's code runs unchanged:
``Uniform_prior(lower_bound, upper_bound)``, ``Log_uniform_prior(lower_bound,
upper_bound)``, ``Gaussian(mu, sigma)`` (see :class:`GaussianPrior`),
``Truncated_gaussian(mu, sigma, lower_bound, upper_bound)`` and
``Log_normal(mu, sigma)`` with ``mu`` and ``sigma`` those of ``ln x``.

A prior placed on a bounded parameter is truncated to the bounds; see
:meth:`Prior.truncated`.

Deviation from astromodels: its ``Uniform_prior`` and ``Log_uniform_prior`` evaluate
to unnormalised densities (1 and 1/x). Here every ``log_pdf`` is normalised, which is
what their unit-cube transforms (the same as astromodels') imply, so evidences from
nested sampling and log-posteriors agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from .errors import PriorError

__all__ = [
    "Prior",
    "Uniform_prior",
    "Log_uniform_prior",
    "GaussianPrior",
    "Truncated_gaussian",
    "Log_normal",
    "prior_from_dict",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
# exp() may underflow to 0 or overflow to inf at the cube's ends; XLA flushes
# subnormal numbers to zero, so the smallest normal double is the floor.
_SMALLEST_POSITIVE = float(np.finfo(float).tiny)
_LARGEST = float(np.finfo(float).max)


# traced once and reused: its many small operations made every new batch shape slow to trace
_ndtri = jax.jit(ndtri)


def _ndtr(z: float) -> float:
    """Standard normal CDF of a Python float, accurate in both tails."""
    if z == math.inf:
        return 1.0
    if z == -math.inf:
        return 0.0
    return 0.5 * math.erfc(-z / math.sqrt(2.0))
_PRIOR_TYPES: dict[str, type[Prior]] = {}


def _number(value: Any, what: str, prior: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PriorError(f"{prior}: {what} must be a number, got {value!r}") from None


def _finite(value: Any, what: str, prior: str) -> float:
    number = _number(value, what, prior)
    if not math.isfinite(number):
        raise PriorError(f"{prior}: {what} must be a finite number, got {value!r}")
    return number


class Prior:
    """Base class of priors. Subclasses are frozen dataclasses of their hyperparameters.

    Attributes
    ----------
    prior_name : str
        The astromodels name, used in ``repr`` and in model files.
    """

    prior_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "prior_name" in cls.__dict__:
            _PRIOR_TYPES[cls.prior_name] = cls

    # -- the three faces ---------------------------------------------------------
    def log_pdf(self, x: Any) -> jnp.ndarray:
        """Normalised log-density at ``x``; ``-inf`` outside the support."""
        raise NotImplementedError

    def from_unit_cube(self, u: Any) -> jnp.ndarray:
        """Inverse CDF: map ``u`` in [0, 1] (any shape) to parameter values."""
        raise NotImplementedError

    def to_numpyro(self) -> Any:
        """The same density as a ``numpyro.distributions.Distribution``."""
        raise NotImplementedError

    # -- support and truncation --------------------------------------------------
    @property
    def support(self) -> tuple[float, float]:
        """Closed interval (lower, upper) outside which the density is zero."""
        raise NotImplementedError

    def truncated(self, lower: float | None, upper: float | None) -> Prior:
        """This prior restricted to ``[lower, upper]`` and renormalised.

        ``None`` means unbounded. Returns ``self`` when the bounds do not cut the
        support.

        Raises
        ------
        PriorError
            If the interval and the support do not overlap, or keep no probability.
        """
        lo = -math.inf if lower is None else float(lower)
        hi = math.inf if upper is None else float(upper)
        s_lo, s_hi = self.support
        new_lo, new_hi = max(lo, s_lo), min(hi, s_hi)
        if not new_lo < new_hi:
            raise PriorError(
                f"{self!r} has support [{s_lo}, {s_hi}], which does not overlap the "
                f"bounds [{lo}, {hi}]; widen the bounds or choose another prior"
            )
        if (new_lo, new_hi) == (s_lo, s_hi):
            return self
        return self._restricted(new_lo, new_hi)

    def _restricted(self, lower: float, upper: float) -> Prior:
        raise NotImplementedError

    # -- files ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{prior_name: {hyperparameter: value}}``, as written in model files."""
        return {self.prior_name: {f.name: getattr(self, f.name) for f in fields(self)}}


def prior_from_dict(data: dict[str, dict[str, float]]) -> Prior:
    """Inverse of :meth:`Prior.to_dict`."""
    if not isinstance(data, dict) or len(data) != 1:
        raise PriorError(f"a prior must be written as {{name: {{...}}}}, got {data!r}")
    ((name, hyper),) = data.items()
    try:
        cls = _PRIOR_TYPES[name]
    except KeyError:
        raise PriorError(
            f"unknown prior {name!r}; known priors are {sorted(_PRIOR_TYPES)}"
        ) from None
    try:
        return cls(**hyper)
    except TypeError as exc:
        raise PriorError(f"prior {name}: {exc}; its hyperparameters are "
                         f"{[f.name for f in fields(cls)]}") from None


@dataclass(frozen=True)
class Uniform_prior(Prior):
    """Uniform density on [lower_bound, upper_bound]:
    p(x) = 1 / (upper_bound - lower_bound)."""

    lower_bound: float = 0.0
    upper_bound: float = 1.0
    prior_name: ClassVar[str] = "Uniform_prior"

    def __post_init__(self) -> None:
        lo = _finite(self.lower_bound, "lower_bound", self.prior_name)
        hi = _finite(self.upper_bound, "upper_bound", self.prior_name)
        if not lo < hi:
            raise PriorError(
                f"Uniform_prior needs lower_bound < upper_bound, got {lo} and {hi}"
            )
        object.__setattr__(self, "lower_bound", lo)
        object.__setattr__(self, "upper_bound", hi)

    @property
    def support(self) -> tuple[float, float]:
        return (self.lower_bound, self.upper_bound)

    def log_pdf(self, x: Any) -> jnp.ndarray:
        x = jnp.asarray(x, dtype=float)
        inside = (x >= self.lower_bound) & (x <= self.upper_bound)
        return jnp.where(inside, -math.log(self.upper_bound - self.lower_bound), -jnp.inf)

    def from_unit_cube(self, u: Any) -> jnp.ndarray:
        u = jnp.asarray(u, dtype=float)
        x = self.lower_bound + u * (self.upper_bound - self.lower_bound)
        return jnp.clip(x, self.lower_bound, self.upper_bound)  # rounding stays inside

    def to_numpyro(self) -> Any:
        import numpyro.distributions as dist

        return dist.Uniform(self.lower_bound, self.upper_bound)

    def _restricted(self, lower: float, upper: float) -> Prior:
        return Uniform_prior(lower, upper)


@dataclass(frozen=True)
class Log_uniform_prior(Prior):
    """Density uniform in ln x on [lower_bound, upper_bound], both > 0:
    p(x) = 1 / (x ln(upper_bound / lower_bound))."""

    lower_bound: float = 1e-20
    upper_bound: float = 100.0
    prior_name: ClassVar[str] = "Log_uniform_prior"

    def __post_init__(self) -> None:
        lo = _finite(self.lower_bound, "lower_bound", self.prior_name)
        hi = _finite(self.upper_bound, "upper_bound", self.prior_name)
        if not 0.0 < lo < hi:
            raise PriorError(
                f"Log_uniform_prior needs 0 < lower_bound < upper_bound, got {lo} and {hi}"
            )
        object.__setattr__(self, "lower_bound", lo)
        object.__setattr__(self, "upper_bound", hi)

    @property
    def support(self) -> tuple[float, float]:
        return (self.lower_bound, self.upper_bound)

    def log_pdf(self, x: Any) -> jnp.ndarray:
        x = jnp.asarray(x, dtype=float)
        inside = (x >= self.lower_bound) & (x <= self.upper_bound)
        safe_x = jnp.where(inside, x, self.lower_bound)
        log_width = math.log(self.upper_bound) - math.log(self.lower_bound)
        return jnp.where(inside, -jnp.log(safe_x) - math.log(log_width), -jnp.inf)

    def from_unit_cube(self, u: Any) -> jnp.ndarray:
        u = jnp.asarray(u, dtype=float)
        log_lo, log_hi = math.log(self.lower_bound), math.log(self.upper_bound)
        x = jnp.exp(log_lo + u * (log_hi - log_lo))
        return jnp.clip(x, self.lower_bound, self.upper_bound)  # exp may round past an end

    def to_numpyro(self) -> Any:
        import numpyro.distributions as dist

        return dist.LogUniform(self.lower_bound, self.upper_bound)

    def _restricted(self, lower: float, upper: float) -> Prior:
        return Log_uniform_prior(lower, upper)


class _NormalFamily(Prior):
    """Shared mathematics of the (possibly truncated) normal and log-normal priors.

    The variable ``z = (t - mu) / sigma`` is a standard normal truncated to
    ``[a, b]``, where ``t = x`` (normal) or ``t = ln x`` (log-normal). The
    normalisation and the inverse CDF are computed on whichever side of the normal
    holds the interval, so that truncations far in a tail keep full precision.
    """

    _log_space: ClassVar[bool] = False
    mu: float
    sigma: float

    def _validate_normal(self) -> None:
        mu = _finite(self.mu, "mu", self.prior_name)
        sigma = _finite(self.sigma, "sigma", self.prior_name)
        if not sigma > 0:
            raise PriorError(f"{self.prior_name} needs sigma > 0, got {sigma}")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "sigma", sigma)

    def _t_interval(self) -> tuple[float, float]:
        """Truncation interval in t (x, or ln x for the log-normal)."""
        return (-math.inf, math.inf)

    @cached_property
    def _standard(self) -> tuple[float, float, float]:
        """(a, b, mass): the standardised truncation interval and the probability it holds.

        The mass is a difference of tail probabilities on the side of the mode where the
        interval lies, so a truncation deep in a tail keeps full precision.
        """
        t_lo, t_hi = self._t_interval()
        a = (t_lo - self.mu) / self.sigma
        b = (t_hi - self.mu) / self.sigma
        mass = _ndtr(-a) - _ndtr(-b) if a > 0.0 else _ndtr(b) - _ndtr(a)
        if not mass > 0.0:
            raise PriorError(
                f"{self!r} keeps no probability (mass {mass:.3g}) between its bounds; "
                "the bounds lie too far in the tail of the prior"
            )
        return a, b, mass

    def log_pdf(self, x: Any) -> jnp.ndarray:
        x = jnp.asarray(x, dtype=float)
        lo, hi = self.support
        inside = (x >= lo) & (x <= hi)
        if self._log_space:
            inside = inside & (x > 0)  # the density vanishes at x = 0
            safe_x = jnp.where(inside, x, 1.0)
            t = jnp.log(safe_x)
            jacobian = -t
        else:
            safe_x = jnp.where(inside, x, self.mu)
            t = safe_x
            jacobian = 0.0
        mass = self._standard[2]
        z = (t - self.mu) / self.sigma
        log_p = -0.5 * z * z - _LOG_SQRT_2PI - math.log(self.sigma) - math.log(mass) + jacobian
        return jnp.where(inside, log_p, -jnp.inf)

    def from_unit_cube(self, u: Any) -> jnp.ndarray:
        u = jnp.asarray(u, dtype=float)
        a, b, mass = self._standard
        # Each half of the cube is measured from its own end of the interval, with the
        # tail probability on the far side of the mode, so that no subtraction cancels:
        # 1 - u is exact for u >= 0.5, and Phi(-a), Phi(b) keep full precision in tails.
        lower = u <= 0.5
        lower_half = jnp.minimum(u, 0.5)
        upper_half = jnp.minimum(1.0 - u, 0.5)
        # z = sign * ndtri(p), each half choosing its own (sign, p): one ndtri per point
        low_sign, low_p = (-1.0, _ndtr(-a) - lower_half * mass) if a > 0.0 else (1.0, _ndtr(a) + lower_half * mass)
        high_sign, high_p = (1.0, _ndtr(b) - upper_half * mass) if b < 0.0 else (-1.0, _ndtr(-b) + upper_half * mass)
        z = jnp.where(lower, low_sign, high_sign) * _ndtri(jnp.where(lower, low_p, high_p))
        t = self.mu + self.sigma * z
        x = jnp.exp(t) if self._log_space else t
        # the arithmetic may round just past an end: a sampler's point must keep a density
        lo, hi = self.support
        if self._log_space:
            lo, hi = max(lo, _SMALLEST_POSITIVE), min(hi, _LARGEST)
        return jnp.clip(x, lo, hi)

    def to_numpyro(self) -> Any:
        import numpyro.distributions as dist

        if self._t_interval() == (-math.inf, math.inf):
            if self._log_space:
                return dist.LogNormal(self.mu, self.sigma)
            return dist.Normal(self.mu, self.sigma)
        from ._numpyro import PriorDistribution

        return PriorDistribution(self)


@dataclass(frozen=True, repr=False)
class GaussianPrior(_NormalFamily):
    """Normal density with mean ``mu`` and standard deviation ``sigma``.

    Users normally write ``Gaussian(mu=..., sigma=...)``: the spectral ``Gaussian``
    line doubles as this prior (it must then have ``F = 1``), as in astromodels.
    """

    mu: float = 0.0
    sigma: float = 1.0
    prior_name: ClassVar[str] = "Gaussian"

    def __post_init__(self) -> None:
        self._validate_normal()

    def __repr__(self) -> str:
        return f"Gaussian(mu={self.mu!r}, sigma={self.sigma!r})"

    @property
    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def _restricted(self, lower: float, upper: float) -> Prior:
        return Truncated_gaussian(self.mu, self.sigma, lower, upper)


@dataclass(frozen=True)
class Truncated_gaussian(_NormalFamily):
    """Normal density N(mu, sigma) truncated to [lower_bound, upper_bound] and
    renormalised. Either bound may be infinite. Defaults as in astromodels."""

    mu: float = 0.0
    sigma: float = 1.0
    lower_bound: float = -1.0
    upper_bound: float = 1.0
    prior_name: ClassVar[str] = "Truncated_gaussian"

    def __post_init__(self) -> None:
        self._validate_normal()
        lo = _number(self.lower_bound, "lower_bound", self.prior_name)
        hi = _number(self.upper_bound, "upper_bound", self.prior_name)
        if math.isnan(lo) or math.isnan(hi) or not lo < hi:
            raise PriorError(
                f"Truncated_gaussian needs lower_bound < upper_bound, got {lo} and {hi}"
            )
        object.__setattr__(self, "lower_bound", lo)
        object.__setattr__(self, "upper_bound", hi)
        self._standard  # refuse bounds that keep no probability

    @property
    def support(self) -> tuple[float, float]:
        return (self.lower_bound, self.upper_bound)

    def _t_interval(self) -> tuple[float, float]:
        return (self.lower_bound, self.upper_bound)

    def _restricted(self, lower: float, upper: float) -> Prior:
        return Truncated_gaussian(self.mu, self.sigma, lower, upper)


@dataclass(frozen=True)
class Log_normal(_NormalFamily):
    """Log-normal density: ln x ~ N(mu, sigma), i.e.
    p(x) = exp(-(ln x - mu)^2 / (2 sigma^2)) / (x sigma sqrt(2 pi)) for x > 0.

    ``lower_bound`` and ``upper_bound`` (defaults 0 and infinity) truncate it; they
    are set by jointfit when the prior sits on a bounded parameter.
    """

    mu: float = 0.0
    sigma: float = 1.0
    lower_bound: float = 0.0
    upper_bound: float = math.inf
    prior_name: ClassVar[str] = "Log_normal"
    _log_space: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._validate_normal()
        lo = _number(self.lower_bound, "lower_bound", self.prior_name)
        hi = _number(self.upper_bound, "upper_bound", self.prior_name)
        if math.isnan(lo) or math.isnan(hi) or not 0.0 <= lo < hi:
            raise PriorError(
                f"Log_normal needs 0 <= lower_bound < upper_bound, got {lo} and {hi}"
            )
        object.__setattr__(self, "lower_bound", lo)
        object.__setattr__(self, "upper_bound", hi)
        self._standard  # refuse bounds that keep no probability

    def __repr__(self) -> str:
        text = f"Log_normal(mu={self.mu!r}, sigma={self.sigma!r}"
        if (self.lower_bound, self.upper_bound) != (0.0, math.inf):
            text += f", lower_bound={self.lower_bound!r}, upper_bound={self.upper_bound!r}"
        return text + ")"

    @property
    def support(self) -> tuple[float, float]:
        return (self.lower_bound, self.upper_bound)

    def _t_interval(self) -> tuple[float, float]:
        log_lo = -math.inf if self.lower_bound == 0.0 else math.log(self.lower_bound)
        log_hi = math.inf if math.isinf(self.upper_bound) else math.log(self.upper_bound)
        return (log_lo, log_hi)

    def _restricted(self, lower: float, upper: float) -> Prior:
        return Log_normal(self.mu, self.sigma, lower, upper)
