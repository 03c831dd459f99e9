"""The likelihoods every plugin shares, element by element, and the fit statistics.

Every function here is an element-wise, pure JAX function of arrays: it broadcasts its
arguments against each other, returns one value per data point (a spectral channel, a
pixel, a photometric band), and is safe under ``jax.jit``, ``jax.vmap`` and
``jax.grad``. The caller sums over points, so the same call gives a plugin's pointwise
log-likelihoods (for WAIC/LOO) and, summed, its log-likelihood. Nothing loops over
points in Python.

* Counts: :func:`poisson_loglike`, and for binned (OGIP) spectra with a background
  :func:`poisson_profile_background_loglike` (W-stat) and
  :func:`poisson_gaussian_background_loglike` (PG-stat).
* Measurements with Gaussian errors: :func:`gaussian_loglike` (in any unit, fluxes
  included, where it stays right at low signal-to-noise and for negative values),
  :func:`magnitude_loglike` (Gaussian in magnitudes, 3ML's photometric likelihood) and
  :func:`censored_gaussian_loglike` (an upper or lower limit: the probability that the
  measurement lies beyond it).

Two families:

* ``*_loglike``: fully normalised log-likelihoods (``-ln n!``, ``-ln(sigma sqrt(2 pi))``
  and so on are kept), so that summed over channels they give absolute evidences on
  the same scale as 3ML's ``threeML.utils.statistics.likelihood_functions``.
  ``-inf`` marks an impossible model (for example zero expected counts where counts
  were observed, or a negative source expectation).
* ``cstat``, ``wstat``, ``chi2``: the goodness-of-fit statistics XSPEC and Sherpa print,
  ``-2 ln(L / L_saturated)`` (``+inf`` for an impossible model).

Profile likelihoods (``wstat`` and ``pgstat``) maximise over one background nuisance
expectation per channel in closed form; :func:`wstat_profile_background` and
:func:`pgstat_profile_background` return that profiled background, expressed as
expected counts in the *source* spectrum, for plotting and posterior predictive
simulation.

Float64 is expected: import :mod:`jointfit` (which turns on ``jax_enable_x64``)
before calling these functions.

Gradients: where a likelihood is finite its gradient with respect to the model
expectation is finite, including at ``n = 0``, ``b = 0`` and zero source expectation
(one-sided there). Unused ``jnp.where`` branches are fed safe arguments so that no
NaN leaks into gradients. The closed-form profile nuisance is differentiated through,
so second derivatives (Hessians, Laplace approximations) are those of the profile
likelihood.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, log_ndtr
from jax.typing import ArrayLike

__all__ = [
    "poisson_loglike",
    "poisson_profile_background_loglike",
    "poisson_gaussian_background_loglike",
    "gaussian_loglike",
    "magnitude_loglike",
    "censored_gaussian_loglike",
    "cstat",
    "wstat",
    "chi2",
    "wstat_profile_background",
    "pgstat_profile_background",
    "log_factorial_remainder",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _float(x: ArrayLike) -> jax.Array:
    """``x`` as a JAX array of the default float type (float64 under x64)."""
    return jnp.asarray(x, dtype=jnp.result_type(float))


def _elementwise(fn: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
    """Compile ``fn`` once per argument *shape*: arguments are converted to float
    arrays first, so Python ints, NumPy integers and floats share one compilation."""
    compiled = jax.jit(fn)

    @functools.wraps(fn)
    def wrapper(*args: ArrayLike, **kwargs: ArrayLike) -> jax.Array:
        return compiled(*map(_float, args), **{k: None if v is None else _float(v) for k, v in kwargs.items()})

    return wrapper


def _safe_sqrt(x: jax.Array) -> jax.Array:
    """``sqrt(x)`` for ``x >= 0``, with a zero (not infinite) gradient at ``x = 0``."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


@jax.custom_jvp
def _log_ratio(x: jax.Array, ratio: jax.Array) -> jax.Array:
    """``ln(m / n)`` from ``x = (m - n) / n`` and ``ratio = m / n`` with one logarithm.

    Within a factor ~2 of 1 (``|x| < 0.5``) this is ``log1p(x)``, computed as
    ``ln(u) x / (u - 1)`` with ``u = 1 + x`` rounded (Goldberg 1991, exact to a few
    ulps), so that large counts keep their absolute precision; elsewhere ``ln(ratio)``,
    which has no cancellation there. One logarithm instead of ``log1p`` and ``log``
    both evaluated under ``where`` is a tenth of a spectral likelihood's cost.
    """
    near = jnp.abs(x) < 0.5
    u = jnp.where(near, 1.0 + x, ratio)
    log_u = jnp.log(u)
    spacing = u - 1.0
    exact_log1p = jnp.where(spacing == 0.0, x, log_u * x / jnp.where(spacing == 0.0, 1.0, spacing))
    return jnp.where(near, exact_log1p, log_u)


@_log_ratio.defjvp
def _log_ratio_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    # the derivative of Goldberg's form through the rounded u - 1 would be off by the
    # rounding of u relative to x: written from x and ratio directly instead
    x, ratio = primals
    dx, dratio = tangents
    near = jnp.abs(x) < 0.5
    derivative = jnp.where(near, dx / jnp.where(near, 1.0 + x, 1.0), dratio / jnp.where(near, 1.0, ratio))
    return _log_ratio(x, ratio), derivative


def _half_deviance(n: jax.Array, m: jax.Array) -> jax.Array:
    """``m - n + n ln(n / m)`` (half the Cash statistic), ``m`` for ``n = 0``.

    ``+inf`` for ``n > 0, m <= 0``. Computed as ``(m - n) - n ln(m / n)`` with the
    logarithm of :func:`_log_ratio`, precise when ``m`` is close to ``n``; NaN-free
    gradients (``1 - n / m``) elsewhere too.
    """
    n_positive, m_positive = n > 0, m > 0
    ns = jnp.where(n_positive, n, 1.0)
    ms = jnp.where(m_positive, m, 1.0)
    diff = ms - ns
    value = diff - ns * _log_ratio(diff / ns, ms / ns)
    return jnp.where(n_positive, jnp.where(m_positive, value, jnp.inf), m)


_STIRLING_FROM = 30.0


@_elementwise
def log_factorial_remainder(n: ArrayLike) -> jax.Array:
    """``ln n! - n ln n + n`` for ``n >= 0`` (0 at ``n = 0``).

    Uses Stirling's series ``ln(2 pi n)/2 + 1/(12n) - 1/(360n^3) + 1/(1260n^5) -
    1/(1680n^7)`` (truncation error < 1e-16) from ``n = 30`` up, so that
    ``ln P(n | m) = -(m - n + n ln(n/m)) - (ln n! - n ln n + n)`` keeps ~1e-15
    absolute precision at any count, instead of losing ``eps * n ln n``.
    """
    big = n >= _STIRLING_FROM
    nb = jnp.where(big, n, _STIRLING_FROM)
    inv = 1.0 / nb
    inv2 = inv * inv
    series = 0.5 * jnp.log(2.0 * math.pi * nb) + inv * (
        1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0))
    )
    ns = jnp.where(big | (n <= 0), 1.0, n)
    direct = gammaln(ns + 1.0) - ns * jnp.log(ns) + ns
    return jnp.where(n > 0, jnp.where(big, series, direct), 0.0)


def _data_term(log_factorials: jax.Array | None, *counts: jax.Array) -> jax.Array:
    """The data-only ``sum ln k! - k ln k + k`` over ``counts``, unless precomputed."""
    if log_factorials is not None:
        return log_factorials
    return sum(log_factorial_remainder(k) for k in counts)  # type: ignore[return-value]


# ----------------------------------------------------------------------------------
# Closed-form profile nuisance parameters
# ----------------------------------------------------------------------------------


def _poisson_background_profile(
    n: jax.Array, b: jax.Array, s: jax.Array, alpha: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Maximiser ``B`` of ``Pois(n | s + alpha B) Pois(b | B)`` over ``B >= 0``.

    ``B`` is the positive root of ``alpha (1 + alpha) B^2 - C B - b s = 0`` with
    ``C = alpha (n + b) - (1 + alpha) s`` (XSPEC's W-stat ``f_i``, 3ML's ``B_mle``),
    computed without cancellation: ``(C + D) / (2 alpha (1 + alpha))`` for ``C > 0``
    and ``2 b s / (D - C)`` otherwise, ``D = sqrt(C^2 + 4 alpha (1 + alpha) b s)``.
    This single expression contains all of XSPEC's special cases (``n = 0`` gives
    ``B = b / (1 + alpha)``; ``b = 0`` gives ``B = max(0, n / (1 + alpha) - s / alpha)``).

    Returns ``(B, mu)`` with ``mu = s + alpha B`` the total expected source counts.
    """
    a1 = alpha * (1.0 + alpha)
    c = alpha * (n + b) - (1.0 + alpha) * s
    d = _safe_sqrt(c * c + 4.0 * a1 * b * s)
    c_positive = c > 0
    root_plus = (c + d) / (2.0 * a1)
    denominator = d - c
    # b = 0 makes this root exactly 0; a safe denominator keeps its gradient finite
    denominator = jnp.where(c_positive | (b <= 0) | (denominator <= 0), 1.0, denominator)
    root_minus = 2.0 * b * s / denominator
    background = jnp.where(c_positive, root_plus, root_minus)
    return background, s + alpha * background


def _gaussian_background_profile(
    n: jax.Array, b_scaled: jax.Array, variance: jax.Array, s: jax.Array
) -> jax.Array:
    """Maximiser ``mu = s + B`` of ``Pois(n | s + B) N(b_scaled | B, variance)``.

    ``mu`` is the non-negative root of ``mu^2 + q mu - n variance = 0`` with
    ``q = variance - s - b_scaled`` (3ML's ``poisson_observed_gaussian_background``
    closed form), computed as ``(-q + D) / 2`` for ``q <= 0`` and
    ``2 n variance / (q + D)`` for ``q > 0``, ``D = sqrt(q^2 + 4 n variance)``. For
    ``n = 0`` this is ``max(0, s + b_scaled - variance)``. ``B`` itself is not
    constrained to be non-negative, only ``mu`` is.
    """
    q = variance - s - b_scaled
    d = _safe_sqrt(q * q + 4.0 * n * variance)
    q_positive = q > 0
    root_plus = 0.5 * (d - q)
    denominator = jnp.where(q_positive, q + d, 1.0)
    root_minus = 2.0 * n * variance / denominator
    return jnp.where(q_positive, root_minus, root_plus)


# ----------------------------------------------------------------------------------
# Log-likelihoods (normalised)
# ----------------------------------------------------------------------------------


@_elementwise
def poisson_loglike(counts: ArrayLike, expected: ArrayLike, log_factorials: ArrayLike | None = None) -> jax.Array:
    """Poisson log-probability of observed counts, per channel.

    ``ln L = n ln m - m - ln n!``

    Parameters
    ----------
    counts : array_like
        Observed counts ``n >= 0`` (counts).
    expected : array_like
        Expected counts ``m`` (counts), broadcast against ``counts``.
    log_factorials : array_like, optional
        The data-only term: :func:`log_factorial_remainder` of the counts.
        Fits pass it precomputed, so that each evaluation skips the log-gamma
        functions; computed here when not given.

    Returns
    -------
    jax.Array
        ``ln P(n | m)`` per channel. ``0 ln 0 = 0``, so ``n = m = 0`` gives 0;
        ``m = 0`` with ``n > 0`` and any ``m < 0`` give ``-inf``.
    """
    n, m = _float(counts), _float(expected)
    return jnp.where(m >= 0, -_half_deviance(n, m) - _data_term(log_factorials, n), -jnp.inf)


@_elementwise
def poisson_profile_background_loglike(
    counts: ArrayLike,
    background_counts: ArrayLike,
    source_expected: ArrayLike,
    alpha: ArrayLike,
    log_factorials: ArrayLike | None = None,
) -> jax.Array:
    """Profile log-likelihood of Poisson source and Poisson background counts (W-stat).

    ``ln L = n ln(s + alpha B) + b ln B - (1 + alpha) B - s - ln n! - ln b!``
    at ``B = argmax_B [Pois(n | s + alpha B) Pois(b | B)]``.

    The source-region counts are ``n ~ Poisson(s + alpha B)`` and the background
    spectrum counts ``b ~ Poisson(B)``; the background expectation ``B`` (counts in the
    background spectrum) is profiled out in closed form, as in XSPEC's W-statistic
    and 3ML's ``poisson_observed_poisson_background``. This is the log-likelihood of
    *both* ``n`` and ``b``, normalised (it includes ``-ln b!``), equal to 3ML's per
    channel. ``wstat = -2 (ln L - ln L_saturated)``, see :func:`wstat`.

    Parameters
    ----------
    counts : array_like
        Source-spectrum counts ``n >= 0`` (counts).
    background_counts : array_like
        Background-spectrum counts ``b >= 0`` (counts, unscaled).
    source_expected : array_like
        Expected source (model) counts in the source spectrum ``s`` (counts).
    alpha : array_like
        Scalar or per channel, ``> 0``: ``(t_src BACKSCAL_src AREASCAL_src) /
        (t_bkg BACKSCAL_bkg AREASCAL_bkg)``, so ``alpha B`` is the background expected
        in the source spectrum.
    log_factorials : array_like, optional
        The data-only term: :func:`log_factorial_remainder` of the counts plus that
        of the background counts. Fits pass it precomputed, so that each evaluation
        skips the log-gamma functions; computed here when not given.

    Returns
    -------
    jax.Array
        Per-channel profile log-likelihood. Finite for every ``s >= 0`` (including
        ``n = 0``, ``b = 0``, ``s = 0``); ``-inf`` for ``s < 0``.
    """
    n, b, s, a = _float(counts), _float(background_counts), _float(source_expected), _float(alpha)
    background, mu = _poisson_background_profile(n, b, s, a)
    # mu + B = s + (1 + alpha) B: the two Poisson terms are the whole likelihood
    value = -_half_deviance(n, mu) - _half_deviance(b, background) - _data_term(log_factorials, n, b)
    return jnp.where(s >= 0, value, -jnp.inf)


@_elementwise
def poisson_gaussian_background_loglike(
    counts: ArrayLike,
    background_counts: ArrayLike,
    background_error: ArrayLike,
    source_expected: ArrayLike,
    alpha: ArrayLike,
    log_factorials: ArrayLike | None = None,
) -> jax.Array:
    """Profile log-likelihood of Poisson counts over a Gaussian background (PG-stat).

    ``ln L = n ln mu - mu - ln n! - (mu - s - alpha b)^2 / (2 alpha^2 sigma_b^2)
    - ln(alpha sigma_b sqrt(2 pi))`` at the profile ``mu = s + B``.

    Model: ``n ~ Poisson(s + B)``, and the background measurement, scaled to the
    source spectrum, ``alpha b ~ Normal(B, alpha sigma_b)``; ``B`` (background counts
    in the source spectrum) is profiled out in closed form (3ML's
    ``poisson_observed_gaussian_background``). As in 3ML, ``B`` may be negative as long
    as ``s + B >= 0``; the constraint is active only where ``n = 0`` and
    ``s + alpha b < alpha^2 sigma_b^2`` (then ``B = -s``, where 3ML itself returns NaN
    from ``0 * log 0``; here the limit). XSPEC's PG-stat profiles the same likelihood
    for ``n > 0`` (up to data-only constants); its ``n = 0`` special case is not
    reproduced here.

    Scaling convention (3ML's, since threeML PR #536,
    ``PoissonObservedGaussianBackgroundStatistic``): ``background_counts`` and
    ``background_error`` are in background-spectrum counts and are *both multiplied
    by* ``alpha`` here, and the Gaussian normalisation uses the scaled error
    ``alpha sigma_b``. This is the density of the scaled measurement ``alpha b``; the
    density of the raw ``b`` differs by the data-only constant ``ln alpha`` per
    channel. With ``alpha = 1`` (background already in the source exposure, as for
    GBM-style fitted backgrounds) the two agree.

    Edge cases, following 3ML: where ``b <= 0`` the background is ignored and the
    channel contributes ``Pois(n | s)`` (no Gaussian term). Where ``b > 0`` but
    ``sigma_b = 0`` (3ML rejects this input) the background is treated as exactly
    known: ``Pois(n | s + alpha b)``.

    Parameters
    ----------
    counts : array_like
        Source-spectrum counts ``n >= 0`` (counts).
    background_counts : array_like
        Measured background ``b >= 0`` (background-spectrum counts, unscaled).
    background_error : array_like
        Its Gaussian 1-sigma error ``sigma_b >= 0`` (background-spectrum counts).
    source_expected : array_like
        Expected source (model) counts in the source spectrum ``s`` (counts).
    alpha : array_like
        Scalar or per channel, ``> 0``: the source/background exposure times
        BACKSCAL times AREASCAL ratio, as in :func:`poisson_profile_background_loglike`.
    log_factorials : array_like, optional
        The data-only term: :func:`log_factorial_remainder` of the counts (source counts only).
        Fits pass it precomputed, so that each evaluation skips the log-gamma
        functions; computed here when not given.

    Returns
    -------
    jax.Array
        Per-channel profile log-likelihood; ``-inf`` for ``s < 0``.
    """
    n = _float(counts)
    b = _float(background_counts)
    sigma = _float(background_error)
    s = _float(source_expected)
    a = _float(alpha)
    b_scaled = a * b
    variance = (a * sigma) ** 2
    has_variance = variance > 0
    safe_variance = jnp.where(has_variance, variance, 1.0)
    mu = _gaussian_background_profile(n, b_scaled, safe_variance, s)
    profiled = (
        -_half_deviance(n, mu)
        - (mu - s - b_scaled) ** 2 / (2.0 * safe_variance)
        - _LOG_SQRT_2PI
        - 0.5 * jnp.log(safe_variance)
    )
    ideal = -_half_deviance(n, s + b_scaled)
    with_background = jnp.where(has_variance, profiled, ideal)
    value = jnp.where(b > 0, with_background, -_half_deviance(n, s)) - _data_term(log_factorials, n)
    return jnp.where(s >= 0, value, -jnp.inf)


@_elementwise
def gaussian_loglike(observed: ArrayLike, expected: ArrayLike, sigma: ArrayLike) -> jax.Array:
    """Gaussian log-density of a measurement, per channel.

    ``ln L = -(o - m)^2 / (2 sigma^2) - ln(sigma sqrt(2 pi))``

    Parameters
    ----------
    observed : array_like
        Measured value ``o`` (counts).
    expected : array_like
        Model expectation ``m`` (counts).
    sigma : array_like
        Gaussian 1-sigma error, ``> 0`` (counts).

    Returns
    -------
    jax.Array
        Per-channel normalised log-density (3ML's ``-half_chi2`` plus the
        normalisation ``-ln(sigma sqrt(2 pi))``).
    """
    o, m, sd = _float(observed), _float(expected), _float(sigma)
    z = (o - m) / sd
    return -0.5 * z * z - jnp.log(sd) - _LOG_SQRT_2PI


@_elementwise
def magnitude_loglike(observed: ArrayLike, flux: ArrayLike, sigma: ArrayLike,
                      zero_point_flux: ArrayLike = 1.0) -> jax.Array:
    """Gaussian log-density of a magnitude, per band (3ML's photometric likelihood).

    ``m = -2.5 log10(flux / zero_point_flux)``;
    ``ln L = -(o - m)^2 / (2 sigma^2) - ln(sigma sqrt(2 pi))``

    Parameters
    ----------
    observed : array_like
        Measured magnitude ``o`` (mag).
    flux : array_like
        Model flux in the band, in the unit of ``zero_point_flux`` (for AB magnitudes:
        the flux density relative to 3631 Jy with the default ``zero_point_flux = 1``).
    sigma : array_like
        1-sigma error of the magnitude, ``> 0`` (mag).
    zero_point_flux : array_like
        Flux of magnitude 0.

    Returns
    -------
    jax.Array
        Per-band normalised log-density; ``-inf`` where the model flux is not positive
        (it has no magnitude).
    """
    positive = _float(flux) > 0
    ratio = jnp.where(positive, _float(flux) / _float(zero_point_flux), 1.0)
    model_magnitude = -2.5 * jnp.log10(ratio)
    return jnp.where(positive, gaussian_loglike(observed, model_magnitude, sigma), -jnp.inf)


@_elementwise
def censored_gaussian_loglike(limit: ArrayLike, expected: ArrayLike, sigma: ArrayLike,
                              upper: ArrayLike = True) -> jax.Array:
    """Log-probability that a Gaussian measurement lies beyond a limit, per point.

    For an upper limit (``upper`` true), ``ln P(o < limit) = ln Phi((limit - m) / sigma)``;
    for a lower limit ``ln P(o > limit) = ln Phi((m - limit) / sigma)``. An upper limit on
    a flux is a lower limit on a magnitude.

    Parameters
    ----------
    limit : array_like
        The limit, in the unit of ``expected``.
    expected : array_like
        Model value ``m``.
    sigma : array_like
        1-sigma error of the measurement at the limit, ``> 0``.
    upper : array_like of bool
        Whether each limit is an upper limit (else a lower limit).

    Returns
    -------
    jax.Array
        Per-point log-probability, accurate far into both tails (``log_ndtr``).
    """
    z = (_float(limit) - _float(expected)) / _float(sigma)
    return log_ndtr(jnp.where(upper, z, -z))


# ----------------------------------------------------------------------------------
# Conventional fit statistics (-2 ln of the likelihood ratio to the saturated model)
# ----------------------------------------------------------------------------------


@_elementwise
def cstat(counts: ArrayLike, expected: ArrayLike) -> jax.Array:
    """Cash statistic as XSPEC's C-stat, per channel.

    ``C = 2 (m - n + n ln(n / m))``, i.e. ``-2 (ln P(n | m) - ln P(n | n))``

    Parameters
    ----------
    counts : array_like
        Observed counts ``n >= 0`` (counts).
    expected : array_like
        Expected counts ``m`` (counts).

    Returns
    -------
    jax.Array
        Per-channel C-stat: ``2 m`` where ``n = 0``; ``+inf`` where ``m = 0 < n`` or
        ``m < 0``.
    """
    n, m = _float(counts), _float(expected)
    value = 2.0 * _half_deviance(n, m)
    return jnp.where(m >= 0, value, jnp.inf)


@_elementwise
def wstat(
    counts: ArrayLike,
    background_counts: ArrayLike,
    source_expected: ArrayLike,
    alpha: ArrayLike,
) -> jax.Array:
    """XSPEC's W-statistic, per channel.

    ``W = 2 [s + (1 + alpha) B - n - b + n ln(n / (s + alpha B)) + b ln(b / B)]``
    at the profile ``B``; ``W = -2 (ln L_profile - ln P(n | n) - ln P(b | b))``.

    This is XSPEC's formula (Appendix B, "Poisson data with Poisson background") with
    ``t_s m_i = s``, ``t_b f_i = B`` and ``t_s / t_b = alpha``, and it reproduces
    XSPEC's special cases exactly:

    * ``n = 0``: ``W = 2 [s + b ln(1 + alpha)]``;
    * ``b = 0`` and ``s < alpha n / (1 + alpha)``:
      ``W = 2 [-s / alpha - n ln(alpha / (1 + alpha))]``;
    * ``b = 0`` otherwise: ``W = 2 [s - n + n ln(n / s)]`` (the C-stat).

    Parameters
    ----------
    counts : array_like
        Source-spectrum counts ``n >= 0`` (counts).
    background_counts : array_like
        Background-spectrum counts ``b >= 0`` (counts, unscaled).
    source_expected : array_like
        Expected source (model) counts in the source spectrum ``s`` (counts).
    alpha : array_like
        Scalar or per channel, ``> 0``: source/background (exposure x BACKSCAL x
        AREASCAL) ratio.

    Returns
    -------
    jax.Array
        Per-channel W-stat (``>= 0``); ``+inf`` for ``s < 0``.
    """
    n, b, s, a = _float(counts), _float(background_counts), _float(source_expected), _float(alpha)
    background, mu = _poisson_background_profile(n, b, s, a)
    # W / 2 = (mu - n + n ln(n / mu)) + (B - b + b ln(b / B)), as mu + B = s + (1 + alpha) B
    value = 2.0 * (_half_deviance(n, mu) + _half_deviance(b, background))
    return jnp.where(s >= 0, value, jnp.inf)


@_elementwise
def chi2(observed: ArrayLike, expected: ArrayLike, sigma: ArrayLike) -> jax.Array:
    """Chi-square contribution, per channel.

    ``chi2 = ((o - m) / sigma)^2``, i.e. ``-2 (ln N(o | m, sigma) - ln N(o | o, sigma))``

    Parameters
    ----------
    observed : array_like
        Measured value ``o`` (counts).
    expected : array_like
        Model expectation ``m`` (counts).
    sigma : array_like
        Gaussian 1-sigma error, ``> 0`` (counts).

    Returns
    -------
    jax.Array
        Per-channel chi-square.
    """
    o, m, sd = _float(observed), _float(expected), _float(sigma)
    z = (o - m) / sd
    return z * z


# ----------------------------------------------------------------------------------
# Profiled backgrounds (for plots and posterior predictive simulation)
# ----------------------------------------------------------------------------------


@_elementwise
def wstat_profile_background(
    counts: ArrayLike,
    background_counts: ArrayLike,
    source_expected: ArrayLike,
    alpha: ArrayLike,
) -> jax.Array:
    """Profiled background of :func:`poisson_profile_background_loglike`.

    ``alpha B``, ``B = argmax_B [Pois(n | s + alpha B) Pois(b | B)]``

    Parameters
    ----------
    counts, background_counts, source_expected, alpha : array_like
        As in :func:`poisson_profile_background_loglike` (counts).

    Returns
    -------
    jax.Array
        Expected background counts in the *source* spectrum, ``alpha B`` (3ML returns
        the same quantity); divide by ``alpha`` for the background spectrum's ``B``.
    """
    n, b, s, a = _float(counts), _float(background_counts), _float(source_expected), _float(alpha)
    background, _ = _poisson_background_profile(n, b, s, a)
    return a * background


@_elementwise
def pgstat_profile_background(
    counts: ArrayLike,
    background_counts: ArrayLike,
    background_error: ArrayLike,
    source_expected: ArrayLike,
    alpha: ArrayLike,
) -> jax.Array:
    """Profiled background of :func:`poisson_gaussian_background_loglike`.

    ``B = argmax_B [Pois(n | s + B) N(alpha b | B, alpha sigma_b)]``

    Parameters
    ----------
    counts, background_counts, background_error, source_expected, alpha : array_like
        As in :func:`poisson_gaussian_background_loglike` (counts).

    Returns
    -------
    jax.Array
        Expected background counts in the *source* spectrum, ``B`` (can be negative,
        down to ``-s``); ``alpha b`` where ``sigma_b = 0`` and 0 where ``b <= 0``, the
        backgrounds the likelihood uses in those cases.
    """
    n = _float(counts)
    b = _float(background_counts)
    sigma = _float(background_error)
    s = _float(source_expected)
    a = _float(alpha)
    b_scaled = a * b
    variance = (a * sigma) ** 2
    has_variance = variance > 0
    mu = _gaussian_background_profile(n, b_scaled, jnp.where(has_variance, variance, 1.0), s)
    with_background = jnp.where(has_variance, mu - s, b_scaled)
    return jnp.where(b > 0, with_background, jnp.zeros_like(with_background))
