"""Spectral shapes with astromodels' definitions.

Energies ``x`` in keV; values in photons / (cm2 s keV). Parameter names, defaults,
bounds and formulas follow astromodels 2.x; where jointfit deviates (to stay finite
and differentiable where astromodels returns NaN), the docstring says so.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import astropy.constants as const
import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np

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
    "DiskBB",
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

    normalizations = ("K",)
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

    normalizations = ("K",)
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

    normalizations = ("F",)
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

    normalizations = ("K",)
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

    normalizations = ("K",)
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

    normalizations = ("K",)
    K = P(1e-4, bounds=(0.0, None), unit=Y / X**2, description="")
    kT = P(30.0, bounds=(0.0, None), unit=X, description="temperature of the blackbody")

    @staticmethod
    def evaluate(x: Any, K: Any, kT: Any) -> Any:
        hot = kT > 0.0
        arg = x / jnp.where(hot, kT, 1.0)  # kT = 0 (its bound) must not poison gradients
        regular = hot & (arg > 0.0) & (arg < _EXP_OVERFLOW)
        safe_arg = jnp.where(regular, arg, 1.0)
        return jnp.where(regular, K * x * x / _expm1(safe_arg), 0.0)


def _bernoulli_over_factorial(count: int) -> list[Fraction]:
    """B_n / n! for n = 0 .. count - 1, exactly (B_1 = -1/2), from the recurrence
    sum_{k=0}^{n} (B_k / k!) / (n + 1 - k)! = 0 of t / (e^t - 1) = sum_n B_n t^n / n!."""
    c: list[Fraction] = [Fraction(1)]
    for n in range(1, count):
        c.append(-sum(c[k] / math.factorial(n + 1 - k) for k in range(n)))
    return c


def _zeta(s: float, terms: int = 10, corrections: int = 8) -> float:
    """Riemann zeta(s), s > 1, by Euler-Maclaurin summation after ``terms`` terms
    (for s = 8/3 the first correction left out is 6e-18)."""
    c = _bernoulli_over_factorial(2 * corrections + 1)
    n = float(terms)
    total = math.fsum(k**-s for k in range(1, terms)) + n ** (1.0 - s) / (s - 1.0) + 0.5 * n**-s
    rising = s  # s (s + 1) ... (s + 2j - 2)
    for j in range(1, corrections + 1):
        total += float(c[2 * j]) * rising * n ** (-s - 2 * j + 1)
        rising *= (s + 2 * j - 1) * (s + 2 * j)
    return total


# DiskBB's G(a) = int_a^inf t^(5/3) / (e^t - 1) dt (see DiskBB); below _DISK_SWITCH it is
# G(0) - a^(5/3) sum_n B_n a^n / (n! (n + 5/3)), a series of radius 2 pi whose terms
# fall by (a / 2 pi)^2 = 0.31 per even order at a = 3.5: B_70 is below 1e-17 of G there.
_DISK_SWITCH = 3.5
_DISK_G0 = math.gamma(8.0 / 3.0) * _zeta(8.0 / 3.0)  # G(0) = 1.9321616...
_BN = _bernoulli_over_factorial(71)
_DISK_SERIES_LINEAR = float(_BN[1] * Fraction(3, 3 + 5))  # the a^1 term (B_1 = -1/2)
# coefficients of a^(2m), m = 35 .. 1, highest first for Horner's rule in a^2
_DISK_SERIES_EVEN = tuple(float(_BN[n] * Fraction(3, 3 * n + 5)) for n in range(70, 0, -2))
# from _DISK_SWITCH on, G(a) = a^(5/3) e^-a int_0^inf e^-u (1 + u/a)^(5/3) / (1 - e^-a e^-u) du
# by a 16-point Gauss-Laguerre rule: relative error below 1e-14 for every a >= 3.5 (the
# branch point of (1 + u/a)^(5/3) at u = -a limits it: 3e-11 at a = 2)
_DISK_NODES, _DISK_WEIGHTS = np.polynomial.laguerre.laggauss(16)
_DISK_EXP_NODES = np.exp(-_DISK_NODES)
# exp(-a) is 0 in double precision beyond ~745; beyond the cap G is returned as 0
_DISK_CUTOFF = 750.0
# (8 pi / 3) 2 / (h^3 c^2) (1 km / 10 kpc)^2 in photons / (cm2 s keV3): 2.768e-3
_DISK_NORM = float(
    8.0 * math.pi / 3.0 * 2.0 / (const.h.to_value(u.keV * u.s) ** 3 * const.c.to_value(u.cm / u.s) ** 2)
    * (u.km / (10.0 * u.kpc)).to_value(u.dimensionless_unscaled) ** 2
)


@jax.custom_jvp
def _disk_g(a: Any) -> Any:
    """G(a) = int_a^inf t^(5/3) / (e^t - 1) dt for 0 < a < _DISK_CUTOFF, to ~1e-14.

    The derivative is the integrand, -a^(5/3) / (e^a - 1), exactly: gradients and
    Hessians need not go through the two branches (which meet to ~1e-14)."""
    small = a < _DISK_SWITCH
    a_small = jnp.where(small, a, 1.0)  # each branch sees only inputs it is accurate at
    a_large = jnp.where(small, _DISK_SWITCH, a)

    a2 = a_small * a_small
    even = 0.0
    for coefficient in _DISK_SERIES_EVEN:
        even = (even + coefficient) * a2
    series = _DISK_G0 - jnp.exp(5.0 / 3.0 * jnp.log(a_small)) * (0.6 + _DISK_SERIES_LINEAR * a_small + even)

    # the sum is of order 1 and a^(5/3) e^-a multiplies it once: with e^-a in every
    # term, the small terms would be subnormal, and flushed to 0, for a > ~680
    powers = jnp.exp(5.0 / 3.0 * jnp.log1p(_DISK_NODES / a_large[..., None]))  # (1 + u/a)^(5/3)
    terms = powers / (1.0 - jnp.exp(-a_large)[..., None] * _DISK_EXP_NODES)
    quadrature = jnp.exp(5.0 / 3.0 * jnp.log(a_large) - a_large) * jnp.sum(_DISK_WEIGHTS * terms, axis=-1)
    return jnp.where(small, series, quadrature)


@_disk_g.defjvp
def _disk_g_jvp(primals: tuple[Any], tangents: tuple[Any]) -> tuple[Any, Any]:
    (a,), (da,) = primals, tangents
    # a^(5/3) / (e^a - 1) written with e^-a, which stays finite (and differentiable)
    # where e^a would overflow
    integrand = jnp.exp(5.0 / 3.0 * jnp.log(a) - a) / -_expm1(-a)
    return _disk_g(a), -integrand * da


class DiskBB(SpectralFunction):
    r"""Multi-colour accretion-disk blackbody, XSPEC's ``diskbb`` (Mitsuda et al. 1984,
    PASJ 36, 741; Makishima et al. 1986, ApJ 308, 635):

    .. math::
        N(E) = C\,K\,T_{\rm in}^2\,a^{-2/3}\,G(a), \quad a = E / T_{\rm in}, \quad
        G(a) = \int_a^\infty \frac{t^{5/3}}{e^t - 1}\,dt,

    in photons / (cm2 s keV) for E and :math:`T_{\rm in}` in keV.

    Notes
    -----
    A geometrically thin, optically thick disk seen at inclination i from distance D
    radiates as a blackbody at every radius r, from :math:`r_{\rm in}` to infinity,
    with :math:`T(r) = T_{\rm in} (r / r_{\rm in})^{-3/4}`. The photon flux density
    is the blackbody photon intensity
    :math:`I_E = 2 E^2 / (h^3 c^2) / (e^{E/kT} - 1)` (photons / (cm2 s keV sr))
    integrated over the disk's projected solid angle,

    .. math::
        N(E) = \frac{\cos i}{D^2} \int_{r_{\rm in}}^\infty I_E(T(r))\,2\pi r\,dr.

    With :math:`x = T / T_{\rm in}`, :math:`2\pi r\,dr = -(8\pi/3)\,r_{\rm in}^2
    x^{-11/3}\,dx` (x from 1 down to 0), and with :math:`t = E / kT = a / x`,

    .. math::
        N(E) = \frac{r_{\rm in}^2 \cos i}{D^2}\,\frac{8\pi}{3}\,\frac{2 E^2}{h^3 c^2}
               \,a^{-8/3}\,G(a).

    ``K`` is XSPEC's norm, :math:`(r_{\rm in} / 1\,{\rm km})^2 / (D / 10\,{\rm kpc})^2
    \cos i`, so that :math:`C = (8\pi/3)\,2 / (h^3 c^2)\,(1\,{\rm km} / 10\,{\rm kpc})^2
    = 2.7680 \times 10^{-3}` photons / (cm2 s keV3), from astropy's CODATA
    :math:`h`, :math:`c` and the IAU parsec. XSPEC's code divides by a rounded 361
    instead (:math:`1/361 = 2.7701 \times 10^{-3}`, 0.07 % more) and evaluates G from a
    fitted formula (within 1e-4 of the exact G); jointfit's G is exact to ~1e-13
    relative (a series in :math:`a^{5/3}` below a = 3.5, a 16-point Gauss-Laguerre rule
    above) and its derivatives are exact. Like XSPEC, there is no outer radius and no
    colour correction: :math:`T_{\rm in}` is the colour temperature, :math:`r_{\rm in}`
    the apparent radius.

    Limits: below :math:`T_{\rm in}` the spectrum is :math:`\propto E^{-2/3}`
    (:math:`F_\nu \propto \nu^{1/3}`); above it it falls as :math:`a\,e^{-a}`; the
    energy flux :math:`\int E N\,dE` is
    :math:`2 \sigma_{\rm SB} T_{\rm in}^4 r_{\rm in}^2 \cos i / D^2`. The value is 0
    where :math:`e^{-a}` underflows (:math:`a > 750`) or :math:`T_{\rm in} \le 0`, and
    :math:`+\infty` at E = 0, where :math:`N \propto E^{-2/3}` diverges (integrably).
    """

    normalizations = ("K",)
    K = P(1.0, bounds=(0.0, None),
          description="(R_in / 1 km)^2 / (D / 10 kpc)^2 cos(i), as XSPEC's norm")
    Tin = P(1.0, bounds=(1e-5, 1e3), unit=X, description="temperature at the inner disk radius")

    @staticmethod
    def evaluate(x: Any, K: Any, Tin: Any) -> Any:
        hot = Tin > 0.0
        safe_tin = jnp.where(hot, Tin, 1.0)
        a = x / safe_tin
        regular = hot & (a > 0.0) & (a < _DISK_CUTOFF)
        safe_a = jnp.where(regular, a, 1.0)
        value = _DISK_NORM * K * safe_tin * safe_tin * jnp.exp(-2.0 / 3.0 * jnp.log(safe_a)) * _disk_g(safe_a)
        return jnp.where(regular, value, jnp.where(hot & (x == 0.0), jnp.inf, 0.0))


class Gaussian(SpectralFunction):
    r"""Gaussian line of integral F:
    :math:`F / (\sigma\sqrt{2\pi}) \exp(-(x-\mu)^2 / (2\sigma^2))`.

    With ``F = 1`` it is the normal density and serves as a prior, as in astromodels:
    ``parameter.prior = Gaussian(mu=-1.0, sigma=1)``.
    """

    normalizations = ("F",)
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
    r"""Constant: :math:`k`.

    ``k`` is none of the :attr:`normalizations` that fits start from the data: as a
    factor (XSPEC's ``constant * tbabs * powerlaw``) it is a calibration constant, and
    its default, 0, cannot be scaled.
    """

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
