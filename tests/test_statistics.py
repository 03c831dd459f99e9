"""Per-channel OGIP statistics against independent numpy/scipy references.

The profile likelihoods are checked against a brute-force numerical maximisation of
the joint likelihood over the background nuisance parameter (one
``scipy.optimize.minimize_scalar`` per channel), the goodness-of-fit statistics
against their saturated-model identities and XSPEC's documented W-stat formula
(with its special cases), and everything for jit/vmap/grad behaviour.
"""

from __future__ import annotations

import functools
import itertools
import math

import jointfit  # noqa: F401  (turns on float64)
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, special, stats

from jointfit import statistics as st

LN2PI_HALF = 0.5 * math.log(2.0 * math.pi)
EPS = np.finfo(float).eps  # 2.2e-16, one ulp at 1


# ----------------------------------------------------------------------------------
# Independent references (scipy / math, no JAX)
# ----------------------------------------------------------------------------------


def logpois(n: float, mu: float) -> float:
    """ln Pois(n | mu) from math; 0 ln 0 = 0."""
    if mu < 0 or (mu == 0 and n > 0):
        return -math.inf
    return (n * math.log(mu) if n > 0 else 0.0) - mu - math.lgamma(n + 1.0)


def lognorm(x: float, mean: float, sd: float) -> float:
    return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd) - LN2PI_HALF


def _maximise(f, lo: float, hi: float) -> tuple[float, float]:
    """max of a unimodal f on [lo, hi] (Brent), the lower endpoint included."""
    res = optimize.minimize_scalar(
        lambda x: -f(x),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-12, "maxiter": 2000},
    )
    best_x, best = float(res.x), -float(res.fun)
    if f(lo) >= best:
        best_x, best = lo, f(lo)
    return best, best_x


def ref_wstat_loglike(n, b, s, alpha) -> tuple[float, float]:
    """max over B >= 0 of ln Pois(n | s + alpha B) + ln Pois(b | B), and the argmax B."""

    def joint(B):
        return logpois(n, s + alpha * B) + logpois(b, B)

    return _maximise(joint, 0.0, (n + b) / (1.0 + alpha) + 1.0)


def ref_pgstat_loglike(n, b, sigma, s, alpha) -> tuple[float, float]:
    """3ML's PG-stat by brute force: background ignored for b = 0; otherwise max over
    B >= -s of ln Pois(n | s + B) + ln N(alpha b | B, alpha sigma); returns (max, B)."""
    if b <= 0:
        return logpois(n, s), 0.0
    bt, sd = alpha * b, alpha * sigma
    if sd == 0:
        return logpois(n, s + bt), bt

    def joint(B):
        return logpois(n, s + B) + lognorm(bt, B, sd)

    return _maximise(joint, -s, max(bt, n - s) + 1.0 + 5.0 * sd)


def xspec_wstat(S: float, B: float, m: float, ts: float, tb: float) -> float:
    """XSPEC manual, Appendix B, W-statistic for one channel, in its own variables:
    S source counts, B background counts, m model *rate*, ts and tb the source and
    background exposures (times BACKSCAL), with its special cases as documented."""
    tt = ts + tb
    if S == 0:
        return 2.0 * (ts * m - B * math.log(tb / tt))
    if B == 0:
        if m < S / tt:
            return 2.0 * (-tb * m - S * math.log(ts / tt))
        return 2.0 * (ts * m + S * (math.log(S) - math.log(ts * m) - 1.0))
    d = math.sqrt((tt * m - S - B) ** 2 + 4.0 * tt * B * m)
    f = (S + B - tt * m + d) / (2.0 * tt)
    return 2.0 * (
        ts * m
        + tt * f
        - S * math.log(ts * m + ts * f)
        - B * math.log(tb * f)
        - S * (1.0 - math.log(S))
        - B * (1.0 - math.log(B))
    )


PAD = 1024  # every array call is padded to this many channels: one compilation each


def _padded(arrays) -> tuple[list[np.ndarray], int]:
    arrays = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in arrays))
    size = arrays[0].size
    assert arrays[0].ndim == 1 and size <= PAD
    return [np.concatenate([x, np.ones(PAD - size)]) for x in arrays], size


def ev(fn, *args) -> np.ndarray:
    """fn on 1-D channel arrays (scalars broadcast), padded so each fn compiles once."""
    padded, size = _padded(args)
    return np.asarray(fn(*padded))[:size]


@functools.lru_cache(maxsize=None)
def _grad_fn(fn, n_before: int, n_after: int):
    def scalar(si, *others):
        return fn(*others[:n_before], si, *others[n_before:])

    return jax.jit(jax.vmap(jax.grad(scalar), in_axes=(0,) * (1 + n_before + n_after)))


def per_channel_grad(fn, *before, s, after=()) -> np.ndarray:
    """d fn / d s channel by channel (fn is element-wise in s), via jit(vmap(grad))."""
    padded, size = _padded((s, *before, *after))
    return np.asarray(_grad_fn(fn, len(before), len(after))(*padded))[:size]


def central_difference(f, x: np.ndarray, rel: float = 1e-6) -> np.ndarray:
    """Element-wise central difference of an element-wise f."""
    h = rel * np.maximum(np.abs(x), 1.0)
    return (np.asarray(f(x + h)) - np.asarray(f(x - h))) / (2.0 * h)


# ----------------------------------------------------------------------------------
# Grids
# ----------------------------------------------------------------------------------

W_GRID = np.array(
    list(
        itertools.product(
            [0, 1, 3, 12, 20000],  # n
            [0, 1, 4, 150],  # b
            [0.0, 1e-12, 1e-3, 0.7, 9.0, 1.5e4],  # s
            [0.05, 1.0, 7.0],  # alpha
        )
    ),
    dtype=float,
).T

PG_GRID = np.array(
    list(
        itertools.product(
            [0, 1, 5, 3000],  # n
            [0.0, 0.5, 3.0, 2500.0],  # b
            [0.4, 2.0, 40.0],  # sigma_b
            [0.0, 1e-10, 0.5, 6.0, 2000.0],  # s
            [0.1, 1.0, 4.0],  # alpha
        )
    ),
    dtype=float,
).T


# ----------------------------------------------------------------------------------
# Hand-computed values
# ----------------------------------------------------------------------------------

LN2, LN3 = math.log(2.0), math.log(3.0)


@pytest.mark.parametrize(
    "fn, args, expected",
    [
        (st.poisson_loglike, (2, 3.0), 2 * LN3 - 3 - LN2),
        (st.poisson_loglike, (0, 0.0), 0.0),
        (st.poisson_loglike, (0, 2.5), -2.5),
        (st.poisson_loglike, (3, 0.0), -math.inf),
        (st.poisson_loglike, (0, -1.0), -math.inf),
        # n=3, b=2, alpha=1, s=1: C=3, D=5, B=2, mu=3 (the saturated point)
        (st.poisson_profile_background_loglike, (3, 2, 1.0, 1.0), 2 * LN3 - 5),
        (st.wstat, (3, 2, 1.0, 1.0), 0.0),
        # n=0: B = b/(1+alpha)
        (st.poisson_profile_background_loglike, (0, 4, 2.0, 1.0), 4 * LN2 - 6 - math.log(24)),
        (st.wstat, (0, 4, 2.0, 1.0), 4 + 8 * LN2),
        (st.poisson_profile_background_loglike, (0, 4, 1.0, 3.0), -5 - math.log(24)),
        (st.wstat, (0, 4, 1.0, 3.0), 2 + 16 * LN2),
        # b=0, s < alpha n/(1+alpha): B = n/(1+alpha) - s/alpha = 0.5, mu = 1
        (st.poisson_profile_background_loglike, (2, 0, 0.5, 1.0), -1.5 - LN2),
        (st.wstat, (2, 0, 0.5, 1.0), -1 + 4 * LN2),
        # b=0, s >= alpha n/(1+alpha): B = 0, the C-stat
        (st.wstat, (2, 0, 4.0, 1.0), 2 * (4 - 2 + 2 * math.log(0.5))),
        (st.poisson_profile_background_loglike, (0, 0, 0.0, 1.0), 0.0),
        (st.wstat, (0, 0, 2.5, 0.3), 5.0),
        (st.poisson_profile_background_loglike, (1, 1, -0.1, 1.0), -math.inf),
        (st.wstat, (1, 1, -0.1, 1.0), math.inf),
        # pgstat, alpha=2: b~=3, sigma~=2, s=1, n=4: q=0, mu=4, B=3=b~
        (
            st.poisson_gaussian_background_loglike,
            (4, 1.5, 1.0, 1.0, 2.0),
            4 * math.log(4) - 4 - math.log(24) - LN2PI_HALF - LN2,
        ),
        # n=0, interior: mu = s + b - sigma^2 = 0.5, B = 0
        (st.poisson_gaussian_background_loglike, (0, 1.0, 1.0, 0.5, 1.0), -1 - LN2PI_HALF),
        # n=0, boundary: q = 2 > 0, mu = 0, B = -s = -1
        (st.poisson_gaussian_background_loglike, (0, 1.0, 2.0, 1.0, 1.0), -0.5 - LN2PI_HALF - LN2),
        # b = 0: background ignored (3ML); sigma_b = 0 < b: ideal background
        (st.poisson_gaussian_background_loglike, (2, 0.0, 1.0, 3.0, 2.0), 2 * LN3 - 3 - LN2),
        (st.poisson_gaussian_background_loglike, (2, 1.0, 0.0, 1.0, 2.0), 2 * LN3 - 3 - LN2),
        (st.poisson_gaussian_background_loglike, (2, 1.0, 1.0, -1.0, 2.0), -math.inf),
        (st.gaussian_loglike, (3.0, 1.0, 2.0), -0.5 - LN2 - LN2PI_HALF),
        (st.chi2, (3.0, 1.0, 2.0), 1.0),
        (st.cstat, (2, 1.0), 4 * LN2 - 2),
        (st.cstat, (0, 3.0), 6.0),
        (st.cstat, (0, 0.0), 0.0),
        (st.cstat, (3, 0.0), math.inf),
        (st.wstat_profile_background, (3, 2, 1.0, 1.0), 2.0),
        (st.wstat_profile_background, (0, 4, 1.0, 3.0), 3.0),
        (st.pgstat_profile_background, (4, 1.5, 1.0, 1.0, 2.0), 3.0),
        (st.pgstat_profile_background, (0, 1.0, 2.0, 1.0, 1.0), -1.0),
    ],
)
def test_hand_computed_values(fn, args, expected):
    value = float(fn(*args))
    if math.isinf(expected):
        assert value == expected
    else:
        assert value == pytest.approx(expected, rel=1e-13, abs=1e-13)


def test_float64_and_integer_inputs():
    n, b = np.int32(3), np.int64(2)
    out = st.poisson_profile_background_loglike(n, b, 1, 1)  # hand case: 2 ln 3 - 5
    assert out.dtype == jnp.float64
    assert float(out) == pytest.approx(2 * LN3 - 5, rel=1e-14)
    assert st.poisson_loglike(n, 1).dtype == jnp.float64


# ----------------------------------------------------------------------------------
# Against scipy
# ----------------------------------------------------------------------------------


def test_poisson_loglike_matches_scipy():
    n = np.array([0, 0, 1, 3, 10, 250, 10**6, 5, 0])
    m = np.array([0.0, 1e-300, 1e-12, 2.5, 10.0, 180.3, 1.001e6, 0.0, 7.0])
    expected = stats.poisson.logpmf(n, m)
    # scipy's n ln m - m - ln n! loses ~eps n ln n (4e-10 at n = 1e6); ours does not
    np.testing.assert_allclose(ev(st.poisson_loglike, n, m), expected, rtol=1e-13, atol=1e-9)
    # ln Pois(10^6 | 1.001e6) to 50 digits (Decimal, Stirling series for ln n!)
    exact = -8.3263608119869763178
    assert float(st.poisson_loglike(10**6, 1.001e6)) == pytest.approx(exact, abs=1e-13)
    assert float(st.poisson_loglike(5, 0.0)) == -np.inf
    assert float(st.poisson_loglike(0, -1e-3)) == -np.inf
    # the fast reference used below agrees with scipy
    for ni, mi, ei in zip(n, m, expected):
        assert logpois(float(ni), float(mi)) == pytest.approx(ei, rel=1e-13, abs=1e-9)


def test_gaussian_loglike_and_chi2_match_scipy():
    rng = np.random.default_rng(1)
    o, m, sd = rng.normal(10, 5, 50), rng.normal(10, 5, 50), rng.uniform(0.01, 30, 50)
    expected = stats.norm.logpdf(o, m, sd)
    np.testing.assert_allclose(ev(st.gaussian_loglike, o, m, sd), expected, rtol=1e-13)
    np.testing.assert_allclose(ev(st.chi2, o, m, sd), ((o - m) / sd) ** 2, rtol=1e-13)
    saturated = ev(st.gaussian_loglike, o, o, sd)
    identity = -2 * (ev(st.gaussian_loglike, o, m, sd) - saturated)
    np.testing.assert_allclose(ev(st.chi2, o, m, sd), identity, rtol=1e-10)


def test_wstat_loglike_is_numerical_profile_maximum():
    n, b, s, alpha = W_GRID
    ours = ev(st.poisson_profile_background_loglike, n, b, s, alpha)
    ours_B = ev(st.wstat_profile_background, n, b, s, alpha) / alpha
    ref = np.array([ref_wstat_loglike(*p) for p in W_GRID.T])
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, ref[:, 0], rtol=1e-8, atol=1e-10)
    # the closed form is the argmax: never beaten by the numerical search...
    assert np.all(ours >= ref[:, 0] - 1e-12 * np.abs(ref[:, 0]) - 1e-12)
    # ...sits where the search ends...
    scale = (n + b) / (1 + alpha) + 1
    np.testing.assert_allclose(ours_B / scale, ref[:, 1] / scale, rtol=1e-5, atol=1e-6)
    # ...and is the maximum of the joint likelihood, not merely stationary
    for (ni, bi, si, ai), Bi, Li in zip(W_GRID.T, ours_B, ours):
        joint_at = logpois(ni, si + ai * Bi) + logpois(bi, Bi)
        assert joint_at == pytest.approx(Li, rel=1e-12, abs=1e-12)
        for Bx in (Bi * (1 + 1e-4) + 1e-9, max(Bi * (1 - 1e-4) - 1e-9, 0.0)):
            assert logpois(ni, si + ai * Bx) + logpois(bi, Bx) <= Li + 1e-12 * abs(Li)


def test_pgstat_loglike_is_numerical_profile_maximum():
    n, b, sigma, s, alpha = PG_GRID
    ours = ev(st.poisson_gaussian_background_loglike, n, b, sigma, s, alpha)
    ours_B = ev(st.pgstat_profile_background, n, b, sigma, s, alpha)
    ref = np.array([ref_pgstat_loglike(*p) for p in PG_GRID.T])
    finite = np.isfinite(ref[:, 0])
    np.testing.assert_array_equal(np.isfinite(ours), finite)
    np.testing.assert_allclose(ours[finite], ref[finite, 0], rtol=1e-8, atol=1e-10)
    assert np.all(ours[finite] >= ref[finite, 0] - 1e-12 * np.abs(ref[finite, 0]) - 1e-12)
    scale = np.maximum(alpha * b, n) + alpha * sigma + s + 1
    np.testing.assert_allclose(ours_B / scale, ref[:, 1] / scale, rtol=1e-5, atol=1e-6)


def test_pgstat_scaling_convention_is_3ml():
    """b and sigma_b are in background counts and scaled by alpha (threeML PR #536):
    the result equals the alpha = 1 likelihood of (alpha b, alpha sigma_b)."""
    n = np.array([0.0, 2.0, 9.0, 40.0])
    b = np.array([1.0, 3.0, 0.5, 60.0])
    sigma = np.array([0.5, 1.5, 0.7, 8.0])
    s = np.array([0.3, 1.0, 4.0, 25.0])
    for alpha in (0.2, 3.0):
        scaled = ev(st.poisson_gaussian_background_loglike, n, b, sigma, s, alpha)
        unit = ev(st.poisson_gaussian_background_loglike, n, alpha * b, alpha * sigma, s, 1.0)
        np.testing.assert_allclose(scaled, unit, rtol=1e-13)
        # not the density of the raw b: that would differ by ln(alpha)
        raw = np.array([ref_pgstat_loglike(*p, 1.0)[0] for p in zip(n, b, sigma, s)])
        assert not np.allclose(scaled, raw)


def test_alpha_scalar_or_per_channel():
    n, b, s, alpha = W_GRID
    a = 0.37
    padded, size = _padded((n, b, s))
    scalar = np.asarray(st.poisson_profile_background_loglike(*padded, a))[:size]
    per_channel = ev(st.poisson_profile_background_loglike, n, b, s, a)
    # A scalar and an array alpha compile to different XLA programs, which may round
    # differently (1 ulp on jax 0.12), so equal to a few ulp, not bit for bit: ulp of the
    # terms summed, up to ~30 x scale (counts times logarithms), where they cancel.
    scale = n + b + s + a * b + 1.0
    np.testing.assert_array_equal(np.isfinite(scalar), np.isfinite(per_channel))
    np.testing.assert_allclose(scalar / scale, per_channel / scale, rtol=4 * EPS, atol=64 * EPS)


# ----------------------------------------------------------------------------------
# Statistics vs likelihoods, and XSPEC's formula
# ----------------------------------------------------------------------------------


def test_cstat_is_minus_twice_loglike_ratio_to_saturated():
    n = np.array([0, 0, 1, 3, 10, 250, 10**6, 7])
    m = np.array([0.0, 3.0, 1e-12, 2.5, 10.0, 180.3, 1.001e6, 7.0])
    c = ev(st.cstat, n, m)
    identity = -2 * (ev(st.poisson_loglike, n, m) - ev(st.poisson_loglike, n, n))
    np.testing.assert_allclose(c, identity, rtol=1e-9, atol=1e-9)
    by_scipy = 2 * (m - n + special.xlogy(n, n) - special.xlogy(n, m))
    np.testing.assert_allclose(c, by_scipy, rtol=1e-12, atol=1e-8)
    assert c[-1] == 0.0 and np.all(c >= 0)


def test_wstat_is_minus_twice_loglike_ratio_to_saturated():
    n, b, s, alpha = W_GRID
    w = ev(st.wstat, n, b, s, alpha)
    saturated = ev(st.poisson_loglike, n, n) + ev(st.poisson_loglike, b, b)
    identity = -2 * (ev(st.poisson_profile_background_loglike, n, b, s, alpha) - saturated)
    np.testing.assert_allclose(w, identity, rtol=1e-9, atol=1e-8)
    assert np.all(w >= 0)
    # zero at the saturated model s = n - alpha b (where that is >= 0)
    n2, b2, a2 = np.array([5.0, 100.0, 3.0]), np.array([2.0, 30.0, 0.0]), np.array([1.0, 2.5, 0.4])
    np.testing.assert_allclose(ev(st.wstat, n2, b2, n2 - a2 * b2, a2), 0.0, atol=1e-10)


def test_wstat_equals_xspec_formula_with_its_special_cases():
    n, b, s, alpha = W_GRID
    tb = 2000.0
    ts = alpha * tb
    ref = np.array([xspec_wstat(Si, Bi, si / tsi, tsi, tb) for Si, Bi, si, tsi in zip(n, b, s, ts)])
    np.testing.assert_allclose(ev(st.wstat, n, b, s, alpha), ref, rtol=1e-9, atol=1e-8)
    # every XSPEC branch is exercised by the grid
    assert np.any(n == 0) and np.any((b == 0) & (n > 0) & (s < alpha * n / (1 + alpha)))
    assert np.any((b == 0) & (n > 0) & (s >= alpha * n / (1 + alpha))) and np.any((b > 0) & (n > 0))


# ----------------------------------------------------------------------------------
# jit, vmap, grad
# ----------------------------------------------------------------------------------

ALL = [
    (st.poisson_loglike, lambda s: (np.array([0, 2, 9.0]), s)),
    (
        st.poisson_profile_background_loglike,
        lambda s: (np.array([0, 2, 9.0]), np.array([3, 0, 4.0]), s, 0.6),
    ),
    (
        st.poisson_gaussian_background_loglike,
        lambda s: (np.array([0, 2, 9.0]), np.array([3, 0, 4.0]), np.array([1, 1, 2.0]), s, 0.6),
    ),
    (st.gaussian_loglike, lambda s: (np.array([0, 2, 9.0]), s, np.array([1, 2, 3.0]))),
    (st.cstat, lambda s: (np.array([0, 2, 9.0]), s)),
    (st.wstat, lambda s: (np.array([0, 2, 9.0]), np.array([3, 0, 4.0]), s, 0.6)),
    (st.chi2, lambda s: (np.array([0, 2, 9.0]), s, np.array([1, 2, 3.0]))),
]


@pytest.mark.parametrize("fn, make_args", ALL, ids=[f.__name__ for f, _ in ALL])
def test_jit_vmap_and_grad_compose(fn, make_args):
    s = np.array([0.5, 1.7, 8.0])
    batch = np.array([s, 2 * s, s + 3])

    @jax.jit
    def everything(sv, sb):
        value = fn(*make_args(sv))
        batched = jax.vmap(lambda x: fn(*make_args(x)))(sb)
        total_grad = jax.grad(lambda x: jnp.sum(fn(*make_args(x))))(sv)
        return value, batched, total_grad

    value, batched, total_grad = everything(jnp.asarray(s), jnp.asarray(batch))
    np.testing.assert_allclose(value, ev(fn, *make_args(s)), rtol=1e-14)
    for row, sv in zip(np.asarray(batched), batch):
        np.testing.assert_allclose(row, ev(fn, *make_args(sv)), rtol=1e-14)
    assert np.all(np.isfinite(np.asarray(total_grad)))


SMOOTH_W = W_GRID[:, W_GRID[2] > 1e-3]  # s away from the s = 0 boundary
# ... and, for PG-stat, away from the n = 0 kink s + alpha b = (alpha sigma_b)^2
SMOOTH_PG = PG_GRID[
    :,
    (PG_GRID[3] > 1e-3)
    & (np.abs((PG_GRID[4] * PG_GRID[2]) ** 2 - PG_GRID[3] - PG_GRID[4] * PG_GRID[1]) > 1e-2),
]


def test_wstat_gradients_match_finite_differences_and_envelope_theorem():
    n, b, s, alpha = SMOOTH_W
    g = per_channel_grad(st.poisson_profile_background_loglike, n, b, s=s, after=(alpha,))
    fd = central_difference(lambda x: ev(st.poisson_profile_background_loglike, n, b, x, alpha), s)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)
    # envelope theorem: d lnL / ds = n / mu - 1 at the profiled mu = s + alpha B
    mu = s + ev(st.wstat_profile_background, n, b, s, alpha)
    np.testing.assert_allclose(g, n / mu - 1, rtol=1e-9, atol=1e-12)
    gw = per_channel_grad(st.wstat, n, b, s=s, after=(alpha,))
    np.testing.assert_allclose(gw, -2 * g, rtol=1e-9, atol=1e-12)


def test_pgstat_gradients_match_finite_differences():
    n, b, sigma, s, alpha = SMOOTH_PG
    g = per_channel_grad(st.poisson_gaussian_background_loglike, n, b, sigma, s=s, after=(alpha,))
    fd = central_difference(
        lambda x: ev(st.poisson_gaussian_background_loglike, n, b, sigma, x, alpha), s
    )
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


def test_simple_gradients_match_analytic():
    n = np.array([0.0, 1.0, 4.0, 300.0])
    m = np.array([0.0, 0.3, 4.0, 280.0])
    d_loglike = np.array([-1.0, 1 / 0.3 - 1, 0.0, 300 / 280 - 1])  # n / m - 1; -1 at n = m = 0
    np.testing.assert_allclose(per_channel_grad(st.poisson_loglike, n, s=m), d_loglike)
    np.testing.assert_allclose(per_channel_grad(st.cstat, n, s=m), -2 * d_loglike)
    o, sd = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    mm = np.array([0.2, 4.0])
    d_gauss = (o - mm) / sd**2
    np.testing.assert_allclose(per_channel_grad(st.gaussian_loglike, o, s=mm, after=(sd,)), d_gauss)
    np.testing.assert_allclose(per_channel_grad(st.chi2, o, s=mm, after=(sd,)), -2 * d_gauss)


EDGES_W = np.array(
    [
        # n, b, s, alpha ; expected one-sided d lnL/ds
        [0, 0, 0.0, 1.0, -1.0],
        [0, 5, 0.0, 0.5, -1.0],
        [4, 0, 0.0, 2.0, 1 / 2.0],  # B = n/(1+alpha): d/ds = 1/alpha
        [4, 3, 0.0, 2.0, 4 / (2.0 * 7 / 3) - 1],  # mu = alpha (n+b)/(1+alpha)
        [0, 0, 1e-300, 1.0, -1.0],
        [3, 0, 1.5, 1.0, 1.0],  # the b = 0 kink s = alpha n / (1 + alpha): C^1
        [6, 0, 4.0, 2.0, 0.5],  # the b = 0 kink with alpha = 2
    ]
)


def test_wstat_gradients_finite_and_correct_at_edge_cases():
    n, b, s, alpha, expected = EDGES_W.T
    g = per_channel_grad(st.poisson_profile_background_loglike, n, b, s=s, after=(alpha,))
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-12)
    gw = per_channel_grad(st.wstat, n, b, s=s, after=(alpha,))
    np.testing.assert_allclose(gw, -2 * expected, rtol=1e-9, atol=1e-12)
    # at the kinks both one-sided differences agree with the gradient
    for row in EDGES_W[-2:]:
        ni, bi, si, ai, ge = row
        h = 1e-6
        f = lambda x: float(st.poisson_profile_background_loglike(ni, bi, x, ai))  # noqa: E731
        assert (f(si + h) - f(si)) / h == pytest.approx(ge, rel=1e-5)
        assert (f(si) - f(si - h)) / h == pytest.approx(ge, rel=1e-5)


def test_pgstat_gradients_finite_at_edge_cases():
    # n, b, sigma, s, alpha
    edges = np.array(
        [
            [0, 1.0, 1.0, 0.0, 1.0],
            [0, 1.0, 2.0, 0.0, 1.0],  # mu = 0 boundary
            [1, 1.0, 1.0, 0.0, 1.0],
            [0, 3.0, 2.0, 1.0, 1.0],  # the q = 0 kink (s + b = sigma^2)
            [5, 0.0, 1.0, 0.0, 1.0],  # b = 0: Poisson(n | s) at s = 0 is -inf ...
            [0, 0.0, 1.0, 0.0, 1.0],  # ... but finite for n = 0
            [3, 2.0, 0.0, 0.0, 1.0],  # sigma = 0: ideal background
            [7, 2.0, 0.5, 0.0, 3.0],
            [2, 1e-8, 1e-8, 1e-12, 1.0],
        ]
    )
    n, b, sigma, s, alpha = edges.T
    value = ev(st.poisson_gaussian_background_loglike, n, b, sigma, s, alpha)
    g = per_channel_grad(st.poisson_gaussian_background_loglike, n, b, sigma, s=s, after=(alpha,))
    assert not np.any(np.isnan(g))
    assert np.all(np.isfinite(g[np.isfinite(value)]))
    assert np.isneginf(value[4]) and np.all(np.isfinite(np.delete(value, 4)))
    # q = 0 kink: left and right differences agree with the gradient (C^1)
    f = lambda x: float(st.poisson_gaussian_background_loglike(0, 3.0, 2.0, x, 1.0))  # noqa: E731
    h = 1e-6
    assert g[3] == pytest.approx(-1.0, rel=1e-9)
    assert (f(1.0 + h) - f(1.0)) / h == pytest.approx(-1.0, rel=1e-5)
    assert (f(1.0) - f(1.0 - h)) / h == pytest.approx(-1.0, rel=1e-5)


def test_no_nan_gradients_outside_support():
    s = jnp.array([-1.0, -1e-9, 0.0, 2.0])
    n, b = jnp.array([0.0, 3.0, 2.0, 1.0]), jnp.array([1.0, 0.0, 0.0, 2.0])
    for fn, args in [
        (st.poisson_loglike, lambda x: (n, x)),
        (st.cstat, lambda x: (n, x)),
        (st.poisson_profile_background_loglike, lambda x: (n, b, x, 0.5)),
        (st.wstat, lambda x: (n, b, x, 0.5)),
        (st.poisson_gaussian_background_loglike, lambda x: (n, b, jnp.ones(4), x, 0.5)),
    ]:

        def finite_total(x, fn=fn, args=args):
            value = fn(*args(x))
            return jnp.sum(jnp.where(jnp.isfinite(value), value, 0.0))

        g = jax.jit(jax.grad(finite_total))(s)
        assert not np.any(np.isnan(np.asarray(g))), fn.__name__


def test_second_derivatives_match_finite_differences():
    """The profile is differentiated through, so Hessians are those of the profile."""

    def second(fn, argnum, *args):
        padded, size = _padded(args)
        d2 = jax.jit(jax.vmap(jax.grad(jax.grad(fn, argnums=argnum), argnums=argnum)))
        return np.asarray(d2(*padded))[:size]

    n, b, s, alpha = SMOOTH_W
    h2 = second(st.poisson_profile_background_loglike, 2, n, b, s, alpha)

    def g(x):
        return per_channel_grad(st.poisson_profile_background_loglike, n, b, s=x, after=(alpha,))

    np.testing.assert_allclose(h2, central_difference(g, s, rel=1e-5), rtol=1e-4, atol=1e-8)
    n, b, sigma, s, alpha = SMOOTH_PG
    h2 = second(st.poisson_gaussian_background_loglike, 3, n, b, sigma, s, alpha)

    def g2(x):
        return per_channel_grad(
            st.poisson_gaussian_background_loglike, n, b, sigma, s=x, after=(alpha,)
        )

    np.testing.assert_allclose(h2, central_difference(g2, s, rel=1e-5), rtol=1e-4, atol=1e-8)


def test_one_logarithm_log_ratio_is_as_precise_as_log1p_and_log():
    """ln(m/n) from one logarithm: log1p's precision near m = n (to a few ulps, value
    and derivative), log's elsewhere, on tiny and on extreme ratios."""
    from jointfit.statistics import _log_ratio

    x = np.concatenate([np.geomspace(1e-300, 0.49, 400), -np.geomspace(1e-300, 0.49, 400), [0.0]])
    near = jnp.asarray(x)
    np.testing.assert_allclose(np.asarray(_log_ratio(near, 1.0 + near)), np.log1p(x), rtol=4e-16, atol=0)
    slope = jax.vmap(jax.grad(lambda t: _log_ratio(t, 1.0 + t)))(near)
    np.testing.assert_allclose(np.asarray(slope), 1.0 / (1.0 + x), rtol=4e-16)
    ratio = np.concatenate([np.geomspace(1e-300, 0.5, 200), np.geomspace(1.5, 1e300, 200)])
    np.testing.assert_allclose(np.asarray(_log_ratio(jnp.asarray(ratio - 1.0), jnp.asarray(ratio))), np.log(ratio),
                               rtol=4e-16)
