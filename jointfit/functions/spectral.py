"""Spectral shapes with astromodels' definitions.

Energies ``x`` in keV; values in photons / (cm2 s keV). Parameter names, defaults,
bounds and formulas follow astromodels 2.x; where jointfit deviates (to stay finite
and differentiable where astromodels returns NaN), the docstring says so.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from ..errors import PriorError
from ..priors import GaussianPrior
from .base import SpectralFunction, X, Y
from .base import ParameterSpec as P

__all__ = [
    "Powerlaw",
    "Powerlaw_flux",
    "Cutoff_powerlaw",
    "Broken_powerlaw",
    "Band",
    "Blackbody",
    "Gaussian",
    "Constant",
    "Line",
    "Redshift",
]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_EXP_OVERFLOW = 700.0  # exp(700) ~ 1e304: beyond, the Blackbody is 0 to double precision


@jax.custom_jvp
def _expm1(t: Any) -> Any:
    """``jnp.expm1`` with its derivative written as ``exp(t)``: jax 0.4.31's own rule
    (which reuses the output) fails with an AssertionError under ``jit(hessian(...))``,
    where the maximum-likelihood fit computes its covariance."""
    return jnp.expm1(t)


@_expm1.defjvp
def _expm1_jvp(primals: tuple[Any], tangents: tuple[Any]) -> tuple[Any, Any]:
    (t,), (dt,) = primals, tangents
    return _expm1(t), dt * jnp.exp(t)


def _t_over_expm1(t: Any) -> Any:
    """t / (exp(t) - 1), smooth through t = 0 (value 1, derivative -1/2)."""
    small = jnp.abs(t) < 1e-4
    safe_t = jnp.where(small, 1.0, t)
    series = 1.0 - t / 2.0 + t * t / 12.0  # next term t^4/720 < 2e-19
    return jnp.where(small, series, safe_t / _expm1(safe_t))


class Powerlaw(SpectralFunction):
    r"""Power law: :math:`K\,(x/\mathrm{piv})^{\mathrm{index}}`."""

    K = P(1.0, bounds=(1e-30, 1e3), unit=Y,
          description="Normalization (differential flux at the pivot value)")
    piv = P(1.0, unit=X, free=False, description="Pivot value")
    index = P(-2.01, bounds=(-10.0, 10.0), description="Photon index")

    @staticmethod
    def evaluate(x: Any, K: Any, piv: Any, index: Any) -> Any:
        return K * jnp.exp(index * (jnp.log(x) - jnp.log(piv)))  # ln x folds at compile time


class Broken_powerlaw(SpectralFunction):
    r"""Broken power law, normalised at the break:
    :math:`K\,(x/x_b)^{\alpha}` below :math:`x_b`, :math:`K\,(x/x_b)^{\beta}` from it on.

    As astromodels' ``Broken_powerlaw`` (``piv`` is kept for its model files and is not
    used), except that ``K`` must be positive and ``xb`` may go down to 1e-6 keV
    (astromodels: 1 keV), so that a break between the optical and X-rays (an
    afterglow's cooling break) can be fitted.
    The kink is sharp: where ``xb`` is free, integrals over a band that contains it
    converge more slowly than for smooth spectra.
    """

    K = P(1.0, bounds=(1e-30, None), unit=Y, description="Normalization (differential flux at the break)")
    xb = P(10.0, bounds=(1e-6, 1e6), unit=X, description="Break point")
    alpha = P(-1.5, bounds=(-10.0, 10.0), description="Index before the break xb")
    beta = P(-2.5, bounds=(-10.0, 10.0), description="Index after the break xb")
    piv = P(1.0, unit=X, free=False, description="Pivot energy (unused, as in astromodels)")

    @staticmethod
    def evaluate(x: Any, K: Any, xb: Any, alpha: Any, beta: Any, piv: Any) -> Any:
        log_ratio = jnp.log(x) - jnp.log(xb)
        return K * jnp.exp(jnp.where(log_ratio < 0.0, alpha, beta) * log_ratio)


class Powerlaw_flux(SpectralFunction):
    r"""Power law normalised by its photon flux F between a and b:
    :math:`F\,(\mathrm{index}+1)\,x^{\mathrm{index}} / (b^{\mathrm{index}+1} - a^{\mathrm{index}+1})`.

    Deviation from astromodels: at ``index = -1`` astromodels returns NaN (0/0) and
    loses precision near it; jointfit evaluates the same formula in a form that is
    exact there (the limit :math:`F / (x \ln(b/a))`) and smooth through it.
    """

    F = P(1.0, bounds=(1e-30, 1e3), unit=Y * X, description="Integral between a and b")
    index = P(-2.0, bounds=(-10.0, 10.0), description="Photon index")
    a = P(1.0, unit=X, free=False,
          description="lower bound for the band in which computing the integral F")
    b = P(100.0, unit=X, free=False,
          description="upper bound for the band in which computing the integral F")

    @staticmethod
    def evaluate(x: Any, F: Any, index: Any, a: Any, b: Any) -> Any:
        # (index+1) / (b^(index+1) - a^(index+1)) = h(t) / (ln(b/a) a^(index+1)) with
        # t = (index+1) ln(b/a) and h(t) = t / expm1(t): no cancellation near index -1.
        log_ratio = jnp.log(b / a)
        t = (index + 1.0) * log_ratio
        # x^index as exp(index ln x): ln x of fixed energy grids is folded at compile time
        return F * _t_over_expm1(t) / (log_ratio * a ** (index + 1.0)) * jnp.exp(index * jnp.log(x))


class Cutoff_powerlaw(SpectralFunction):
    r"""Power law with exponential cut-off:
    :math:`K\,(x/\mathrm{piv})^{\mathrm{index}} \exp(-x/x_c)`."""

    K = P(1.0, bounds=(1e-30, 1e3), unit=Y,
          description="Normalization (differential flux at the pivot value)")
    piv = P(1.0, unit=X, free=False, description="Pivot value")
    index = P(-2.0, bounds=(-10.0, 10.0), description="Photon index")
    xc = P(10.0, bounds=(1.0, None), unit=X, description="Cutoff energy")

    @staticmethod
    def evaluate(x: Any, K: Any, piv: Any, index: Any, xc: Any) -> Any:
        return K * jnp.exp(index * jnp.log(x / piv) - x / xc)


class Band(SpectralFunction):
    r"""Band et al. (1993) GRB function, with :math:`E_0 = x_p / (2 + \alpha)`:

    .. math::
        K (x/\mathrm{piv})^{\alpha} e^{-x/E_0}
            \quad x < (\alpha - \beta) E_0 \\
        K \left[(\alpha-\beta) E_0/\mathrm{piv}\right]^{\alpha-\beta} e^{\beta-\alpha}
            (x/\mathrm{piv})^{\beta} \quad \text{otherwise}

    If alpha < beta (outside the default bounds) alpha is replaced by beta while
    :math:`E_0` keeps the original alpha, as astromodels 2.x does after warning; older
    astromodels refused such values.
    """

    K = P(1e-4, bounds=(1e-50, None), unit=Y, description="Differential flux at the pivot energy")
    alpha = P(-1.0, bounds=(-1.5, 3.0), description="low-energy photon index")
    xp = P(500.0, bounds=(10.0, None), unit=X,
           description="peak in the x * x * N (nuFnu if x is a energy)")
    beta = P(-2.0, bounds=(-5.0, -1.6), description="high-energy photon index")
    piv = P(100.0, unit=X, free=False, description="pivot energy")

    @staticmethod
    def evaluate(x: Any, K: Any, alpha: Any, xp: Any, beta: Any, piv: Any) -> Any:
        e0 = xp / (2.0 + alpha)
        alpha = jnp.where(alpha < beta, beta, alpha)
        x_break = (alpha - beta) * e0
        low = (x / piv) ** alpha * jnp.exp(-x / e0)
        high = (x_break / piv) ** (alpha - beta) * jnp.exp(beta - alpha) * (x / piv) ** beta
        return K * jnp.where(x < x_break, low, high)


class Blackbody(SpectralFunction):
    r"""Blackbody photon spectrum: :math:`K\,x^2 / (\exp(x/kT) - 1)`.

    Deviation from astromodels (same values elsewhere): at ``x = 0`` jointfit returns
    the limit 0 where astromodels gives NaN, and for ``x/kT > 700`` it returns 0
    explicitly so that gradients stay finite.
    """

    K = P(1e-4, bounds=(0.0, None), unit=Y / X**2, description="")
    kT = P(30.0, bounds=(0.0, None), unit=X, description="temperature of the blackbody")

    @staticmethod
    def evaluate(x: Any, K: Any, kT: Any) -> Any:
        hot = kT > 0.0
        arg = x / jnp.where(hot, kT, 1.0)  # kT = 0 (its bound) must not poison gradients
        regular = hot & (arg > 0.0) & (arg < _EXP_OVERFLOW)
        safe_arg = jnp.where(regular, arg, 1.0)
        return jnp.where(regular, K * x * x / _expm1(safe_arg), 0.0)


class Gaussian(SpectralFunction):
    r"""Gaussian line of integral F:
    :math:`F / (\sigma\sqrt{2\pi}) \exp(-(x-\mu)^2 / (2\sigma^2))`.

    With ``F = 1`` it is the normal density and serves as a prior, as in astromodels:
    ``parameter.prior = Gaussian(mu=-1.0, sigma=1)``.
    """

    F = P(1.0, unit=Y * X,
          description="Integral between -inf and +inf. Fix this to 1 to obtain a Normal distribution")
    mu = P(0.0, unit=X, description="Central value")
    sigma = P(1.0, bounds=(1e-12, None), unit=X, description="standard deviation")

    @staticmethod
    def evaluate(x: Any, F: Any, mu: Any, sigma: Any) -> Any:
        z = (x - mu) / sigma
        return F / (sigma * _SQRT_2PI) * jnp.exp(-0.5 * z * z)

    def as_prior(self) -> GaussianPrior:
        """This Gaussian as a normal prior N(mu, sigma).

        Raises
        ------
        PriorError
            If ``F`` is not 1 (the density would not be normalised).
        """
        if self.F.value != 1.0:
            raise PriorError(
                f"a Gaussian used as a prior must have F = 1 (a normalised density), got F = {self.F.value}"
            )
        return GaussianPrior(mu=self.mu.value, sigma=self.sigma.value)


class Constant(SpectralFunction):
    r"""Constant: :math:`k`."""

    k = P(0.0, unit=Y, description="Constant value")

    @staticmethod
    def evaluate(x: Any, k: Any) -> Any:
        return k * jnp.ones_like(x)


class Line(SpectralFunction):
    r"""Straight line: :math:`b\,x + a` (``a`` the intercept, ``b`` the slope).

    ``Line(a=0, b=1)`` is the identity, the default link function.
    """

    a = P(0.0, unit=Y, description="intercept")
    b = P(1.0, unit=Y / X, description="coeff")

    @staticmethod
    def evaluate(x: Any, a: Any, b: Any) -> Any:
        return b * x + a


class Redshift(SpectralFunction):
    r"""Energy map of a redshift: :math:`x (1 + z)`.

    Used as the argument of a composition, it puts any spectral shape at redshift z:
    ``Powerlaw().of(Redshift(z=0.5))`` is :math:`N(E (1 + z))`, the convention of
    XSPEC's z-models (``zpowerlw`` and friends); normalisations keep their meaning
    in the source's rest frame.
    """

    z = P(0.0, bounds=(-0.999, None), free=False, description="redshift")

    @staticmethod
    def evaluate(x: Any, z: Any) -> Any:
        return x * (1.0 + z)
