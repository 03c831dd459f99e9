"""Priors: the three faces (log_pdf, from_unit_cube, to_numpyro) against scipy.stats.

Every reference value comes from scipy.stats, or from formulas built on scipy.special
(the truncated log-normal; truncated-normal quantiles, where scipy's ppf is polished by
Newton steps because it loses ~1e-7 near u = 1), never from jointfit itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

import jointfit
from jointfit.errors import PriorError
from jointfit.priors import (
    GaussianPrior,
    Log_normal,
    Log_uniform_prior,
    Prior,
    Truncated_gaussian,
    Uniform_prior,
    prior_from_dict,
)

RTOL = 1e-10
ATOL = 1e-12
N = 120  # every grid has this length, so eager JAX reuses its compiled operations

# N values of u from 1e-12 to 1 - 1e-12, dense in both tails and across the body
U_GRID = np.concatenate(
    [
        np.logspace(-12, -1, 34),
        np.linspace(0.02, 0.98, 52),
        1.0 - np.logspace(-1, -12, 34),
    ]
)


# ---------------------------------------------------------------------------------------
# independent references
# ---------------------------------------------------------------------------------------
def _polished_truncnorm_ppf(a: float, b: float, u: np.ndarray) -> np.ndarray:
    """Standard normal truncated to [a, b]: scipy's ppf, polished by Newton steps on
    tail-accurate forms of the CDF (u <= 1/2) and survival function (u > 1/2).

    scipy's ``truncnorm.ppf`` alone loses up to ~1e-7 (relative) close to u = 1 for some
    intervals (e.g. a = -0.5, b = inf), so it is used only as the starting point. Each
    residual is a difference of normal tail probabilities taken on the far side of the
    mode (scipy.special.ndtr), so it is computed to full precision.
    """
    u = np.asarray(u, dtype=float)
    ndtr = special.ndtr
    mass = ndtr(-a) - ndtr(-b) if a > 0 else ndtr(b) - ndtr(a)
    z = np.asarray(stats.truncnorm.ppf(u, a, b), dtype=float)
    lower = u <= 0.5
    q = np.where(lower, u, 1.0 - u)  # 1 - u is exact for u > 1/2
    for _ in range(3):
        if a > 0:
            cdf = (ndtr(-a) - ndtr(-z)) / mass
        else:
            cdf = (ndtr(z) - ndtr(a)) / mass
        if b < 0:
            sf = (ndtr(b) - ndtr(z)) / mass
        else:
            sf = (ndtr(-z) - ndtr(-b)) / mass
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) / mass
        step = np.where(lower, (cdf - q) / pdf, -(sf - q) / pdf)
        z = np.clip(z - step, a, b)
    return z


class TruncNormalRef:
    """N(mu, sigma) truncated to [lo, hi]: scipy's truncnorm, with a polished ppf."""

    def __init__(self, mu: float, sigma: float, lo: float, hi: float) -> None:
        self.mu, self.sigma = mu, sigma
        self.a, self.b = (lo - mu) / sigma, (hi - mu) / sigma
        self.t = stats.truncnorm(self.a, self.b, loc=mu, scale=sigma)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        return self.t.logpdf(x)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.mu + self.sigma * _polished_truncnorm_ppf(self.a, self.b, u)

    def mean(self) -> float:
        return float(self.t.mean())

    def var(self) -> float:
        return float(self.t.var())


class TruncLogNormalRef:
    """ln x ~ N(mu, sigma) truncated to [lo, hi] (in x), built from scipy's truncnorm
    on t = ln x with the 1/x Jacobian."""

    def __init__(self, mu: float, sigma: float, lo: float, hi: float) -> None:
        self.mu, self.sigma = mu, sigma
        t_lo = -np.inf if lo == 0 else math.log(lo)
        t_hi = np.inf if math.isinf(hi) else math.log(hi)
        self.a = (t_lo - mu) / sigma
        self.b = (t_hi - mu) / sigma
        self.t = stats.truncnorm(self.a, self.b, loc=mu, scale=sigma)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return self.t.logpdf(np.log(x)) - np.log(x)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.exp(self.mu + self.sigma * _polished_truncnorm_ppf(self.a, self.b, u))

    def _raw_moment(self, k: int) -> float:
        # E[X^k] = exp(k mu + k^2 sigma^2 / 2) (Phi(b - k sigma) - Phi(a - k sigma)) / Z
        n = stats.norm
        z = n.cdf(self.b) - n.cdf(self.a)
        s = k * self.sigma
        return math.exp(k * self.mu + 0.5 * s * s) * (n.cdf(self.b - s) - n.cdf(self.a - s)) / z

    def mean(self) -> float:
        return self._raw_moment(1)

    def var(self) -> float:
        return self._raw_moment(2) - self._raw_moment(1) ** 2


@dataclass
class Case:
    id: str
    make: Callable[[], Prior]
    ref: Any  # object with logpdf, ppf, mean, var
    inside: np.ndarray  # interior points
    outside: np.ndarray  # points outside the support
    dlogpdf: Callable[[np.ndarray], np.ndarray]  # analytic derivative of the log-density


def _normal_dlog(mu: float, sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: -(x - mu) / sigma**2


def _lognormal_dlog(mu: float, sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: -(np.log(x) - mu) / (sigma**2 * x) - 1.0 / x


Z30 = np.linspace(-30.0, 30.0, N)

CASES = [
    Case(
        "uniform",
        lambda: Uniform_prior(-3.5, 7.25),
        stats.uniform(loc=-3.5, scale=10.75),
        np.linspace(-3.5, 7.25, N + 2)[1:-1],
        np.array([-1e6, -3.5001, 7.2501, 1e6]),
        lambda x: np.zeros_like(x),
    ),
    Case(
        "log_uniform",
        lambda: Log_uniform_prior(1e-3, 1e4),
        stats.loguniform(1e-3, 1e4),
        np.geomspace(1e-3, 1e4, N + 2)[1:-1],
        np.array([-1.0, 0.0, 9.99e-4, 1.0001e4]),
        lambda x: -1.0 / x,
    ),
    Case(
        "gaussian",
        lambda: GaussianPrior(1.5, 2.5),
        stats.norm(1.5, 2.5),
        1.5 + 2.5 * Z30,
        np.array([]),
        _normal_dlog(1.5, 2.5),
    ),
    Case(
        "truncated_gaussian",
        lambda: Truncated_gaussian(1.0, 2.0, -3.0, 4.0),
        TruncNormalRef(1.0, 2.0, -3.0, 4.0),
        np.linspace(-3.0, 4.0, N + 2)[1:-1],
        np.array([-1e3, -3.0001, 4.0001, 1e3]),
        _normal_dlog(1.0, 2.0),
    ),
    Case(
        "gaussian_truncated_symmetric",
        lambda: GaussianPrior(0.0, 5.0).truncated(-10.0, 10.0),
        TruncNormalRef(0.0, 5.0, -10.0, 10.0),
        np.linspace(-10.0, 10.0, N + 2)[1:-1],
        np.array([-1e4, -10.001, 10.001, 1e4]),
        _normal_dlog(0.0, 5.0),
    ),
    Case(
        "gaussian_truncated_positive",
        lambda: GaussianPrior(1.0, 2.0).truncated(0.0, None),
        TruncNormalRef(1.0, 2.0, 0.0, np.inf),
        np.concatenate([[1e-9, 1e-3], 1.0 + 2.0 * np.linspace(-0.49, 30.0, N - 2)]),
        np.array([-1e3, -1.0, -1e-9, -1e-300]),
        _normal_dlog(1.0, 2.0),
    ),
    Case(
        "gaussian_truncated_above",
        lambda: GaussianPrior(-2.0, 0.5).truncated(None, -1.0),
        TruncNormalRef(-2.0, 0.5, -np.inf, -1.0),
        -2.0 + 0.5 * np.linspace(-30.0, 1.99, N),
        np.array([-0.999, 0.0, 10.0, 1e3]),
        _normal_dlog(-2.0, 0.5),
    ),
    Case(
        "gaussian_truncated_right_tail",
        lambda: GaussianPrior(0.0, 1.0).truncated(5.0, 9.0),
        TruncNormalRef(0.0, 1.0, 5.0, 9.0),
        np.linspace(5.0, 9.0, N + 2)[1:-1],
        np.array([0.0, 4.999, 9.001, 1e3]),
        _normal_dlog(0.0, 1.0),
    ),
    Case(
        "gaussian_truncated_left_tail",
        lambda: GaussianPrior(0.0, 1.0).truncated(-9.0, -5.0),
        TruncNormalRef(0.0, 1.0, -9.0, -5.0),
        np.linspace(-9.0, -5.0, N + 2)[1:-1],
        np.array([0.0, -4.999, -9.001, -1e3]),
        _normal_dlog(0.0, 1.0),
    ),
    Case(
        "log_normal",
        lambda: Log_normal(0.7, 0.6),
        stats.lognorm(s=0.6, scale=math.exp(0.7)),
        np.exp(0.7 + 0.6 * Z30),
        np.array([-1e3, -1.0, -1e-9, -1e-300]),
        _lognormal_dlog(0.7, 0.6),
    ),
    Case(
        "log_normal_truncated",
        lambda: Log_normal(0.7, 0.6).truncated(1.0, 100.0),
        TruncLogNormalRef(0.7, 0.6, 1.0, 100.0),
        np.geomspace(1.0, 100.0, N + 2)[1:-1],
        np.array([-1.0, 0.0, 0.999, 100.01]),
        _lognormal_dlog(0.7, 0.6),
    ),
    Case(
        "log_normal_truncated_below",
        lambda: Log_normal(-1.0, 1.5).truncated(2.0, None),
        TruncLogNormalRef(-1.0, 1.5, 2.0, math.inf),
        np.exp(np.linspace(math.log(2.0) + 1e-6, -1.0 + 1.5 * 30.0, N)),
        np.array([-1.0, 0.0, 0.5, 1.999]),
        _lognormal_dlog(-1.0, 1.5),
    ),
]
CASE_IDS = [c.id for c in CASES]


def test_polished_reference_ppf_is_scipys_ppf_made_exact() -> None:
    """The truncated-normal reference: within scipy's own accuracy of scipy's ppf, and
    exact where a closed form exists (a one-sided truncation's upper tail)."""
    for a, b in [(-2.0, 1.5), (-0.5, np.inf), (5.0, 9.0), (-9.0, -5.0), (-np.inf, 2.0)]:
        # scipy's truncnorm.ppf is good to 3e-7 from scipy 1.16 on, to 3.1e-6 before (at
        # u = 1 - 1e-12 of a = -0.5, b = inf, where the closed form below is exact)
        np.testing.assert_allclose(
            _polished_truncnorm_ppf(a, b, U_GRID), stats.truncnorm.ppf(U_GRID, a, b), rtol=5e-6, atol=1e-12
        )
        body = U_GRID[(U_GRID > 1e-3) & (U_GRID < 1 - 1e-3)]
        np.testing.assert_allclose(
            stats.truncnorm.cdf(_polished_truncnorm_ppf(a, b, body), a, b), body, rtol=1e-10
        )
    upper = U_GRID[U_GRID > 0.5]
    closed = -special.ndtri((1.0 - upper) * special.ndtr(0.5))  # Phi_c(z) = (1-u) Phi_c(a)
    np.testing.assert_allclose(_polished_truncnorm_ppf(-0.5, np.inf, upper), closed, rtol=1e-14)


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


# one case per kind of prior (and truncation) for the JAX-transformation tests, whose
# cost is compilation
JAX_CASE_IDS = [
    "uniform", "log_uniform", "gaussian", "gaussian_truncated_positive",
    "gaussian_truncated_right_tail", "log_normal", "log_normal_truncated",
]
JAX_CASES = [c for c in CASES if c.id in JAX_CASE_IDS]


@pytest.fixture(params=JAX_CASES, ids=JAX_CASE_IDS)
def jax_case(request: pytest.FixtureRequest) -> Case:
    return request.param


# ---------------------------------------------------------------------------------------
# face 1: log_pdf
# ---------------------------------------------------------------------------------------
def test_log_pdf_matches_scipy(case: Case) -> None:
    prior = case.make()
    got = np.asarray(prior.log_pdf(case.inside))
    want = case.ref.logpdf(case.inside)
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_log_pdf_is_minus_inf_outside_support(case: Case) -> None:
    prior = case.make()
    if case.outside.size == 0:  # unbounded support: nothing is outside, all finite
        values = np.asarray(prior.log_pdf(np.array([-1e6, -1.0, 0.0, 1e6])))
        assert np.all(np.isfinite(values))
        return
    values = np.asarray(prior.log_pdf(case.outside))
    assert values.shape == case.outside.shape
    assert np.all(values == -np.inf)
    lo, hi = prior.support
    assert np.all((case.outside < lo) | (case.outside > hi))


def test_log_pdf_integrates_to_one(case: Case) -> None:
    """Normalisation checked independently of scipy's logpdf: integrate exp(log_pdf)."""
    from scipy import integrate

    prior = case.make()
    density = jax.jit(lambda v: jnp.exp(prior.log_pdf(v)))
    lo, hi = prior.support
    lo = max(lo, float(case.ref.ppf(1e-15)))
    hi = min(hi, float(case.ref.ppf(1.0 - 1e-15)))
    points = [float(case.ref.ppf(q)) for q in (0.25, 0.5, 0.75)]
    total, _ = integrate.quad(
        lambda x: float(density(x)), lo, hi, points=points, limit=200, epsabs=0.0, epsrel=1e-11
    )
    assert total == pytest.approx(1.0, rel=1e-8)


def test_log_normal_density_vanishes_at_zero() -> None:
    """x = 0 is the closed end of the log-normal support but its density is 0 there:
    log_pdf(0) must be -inf (scipy: lognorm.logpdf(0) == -inf)."""
    assert stats.lognorm(s=1.0).logpdf(0.0) == -np.inf
    for prior in (Log_normal(0.0, 1.0), Log_normal(0.7, 0.6, 0.0, 10.0)):
        assert float(prior.log_pdf(0.0)) == -np.inf
        assert np.all(np.asarray(prior.log_pdf(jnp.array([0.0, -0.0]))) == -np.inf)


def test_log_pdf_at_closed_bounds_is_finite() -> None:
    for prior, x in [
        (Uniform_prior(-1.0, 2.0), [-1.0, 2.0]),
        (Log_uniform_prior(0.5, 8.0), [0.5, 8.0]),
        (Truncated_gaussian(0.0, 1.0, -1.0, 3.0), [-1.0, 3.0]),
        (Log_normal(0.0, 1.0, 1.0, 10.0), [1.0, 10.0]),
    ]:
        assert np.all(np.isfinite(np.asarray(prior.log_pdf(jnp.array(x)))))
    np.testing.assert_allclose(
        np.asarray(Uniform_prior(-1.0, 2.0).log_pdf(jnp.array([-1.0, 2.0]))),
        [-math.log(3.0)] * 2,
        rtol=RTOL,
    )


# ---------------------------------------------------------------------------------------
# face 2: from_unit_cube (inverse CDF)
# ---------------------------------------------------------------------------------------
def _check_ppf(case: Case, transform: Callable[[Any], Any]) -> None:
    got = np.asarray(transform(jnp.asarray(U_GRID)))
    want = case.ref.ppf(U_GRID)
    assert np.all(np.isfinite(want))
    # an absolute floor for values through zero, scaled with the spread of the prior
    scale = float(case.ref.ppf(0.75) - case.ref.ppf(0.25))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * scale)


def test_from_unit_cube_matches_scipy_ppf(case: Case) -> None:
    """Full precision over u in [1e-12, 1 - 1e-12]."""
    _check_ppf(case, case.make().from_unit_cube)


def test_jitted_from_unit_cube_matches_scipy_ppf(jax_case: Case) -> None:
    """Under jit XLA may fuse the arithmetic differently; that must not cost precision."""
    _check_ppf(jax_case, jax.jit(jax_case.make().from_unit_cube))


def test_from_unit_cube_endpoints_stay_in_support(case: Case) -> None:
    """Every u in [0, 1] maps into the support, to a point of non-zero density where the
    support end carries density; u = 0 and u = 1 map onto finite support ends."""
    prior = case.make()
    lo, hi = prior.support
    u = jnp.array([0.0, 1e-300, 1e-16, 0.5, 1.0 - 2.0**-53, 1.0])
    x = np.asarray(prior.from_unit_cube(u))
    assert not np.any(np.isnan(x))
    assert np.all(x >= lo) and np.all(x <= hi), (x, lo, hi)
    assert np.all(np.diff(x) >= 0)
    lp = np.asarray(prior.log_pdf(x))
    assert np.all(np.isfinite(lp[1:-1])), lp
    lower_has_density = math.isfinite(lo) and not (isinstance(prior, Log_normal) and lo == 0.0)
    if lower_has_density:
        assert x[0] == pytest.approx(lo, rel=1e-12, abs=1e-300)
        assert np.isfinite(lp[0])
    if math.isfinite(hi):
        assert x[-1] == pytest.approx(hi, rel=1e-12)
        assert np.isfinite(lp[-1])


def _random_priors(kind: str, n: int) -> list[Prior]:
    rng = np.random.default_rng(20240611)
    priors: list[Prior] = []
    for _ in range(n):
        mu, sigma = rng.normal(), rng.uniform(0.1, 3.0)
        lo, hi = np.sort(rng.normal(mu, 2.0 * sigma, 2))
        priors.append(
            {
                "Uniform_prior": lambda: Uniform_prior(lo, hi),
                "Log_uniform_prior": lambda: Log_uniform_prior(math.exp(lo), math.exp(hi)),
                "Truncated_gaussian": lambda: Truncated_gaussian(mu, sigma, lo, hi),
                "Log_normal": lambda: Log_normal(mu, sigma, math.exp(lo), math.exp(hi)),
            }[kind]()
        )
    return priors


@pytest.mark.parametrize(
    "kind", ["Uniform_prior", "Log_uniform_prior", "Truncated_gaussian", "Log_normal"]
)
def test_from_unit_cube_never_leaves_the_support(kind: str) -> None:
    """u = 0 and u = 1 (and their neighbours) map inside [lower, upper] even when the
    final arithmetic (lo + u (hi - lo), exp, mu + sigma z) rounds: a sampler's point
    must never get a -inf prior density."""
    u = jnp.array([0.0, 2.0**-1074, 0.5, 1.0 - 2.0**-53, 1.0])
    escaped = []
    for prior in _random_priors(kind, 40):
        lo, hi = prior.support
        x = np.asarray(prior.from_unit_cube(u))
        lp = np.asarray(prior.log_pdf(x))
        if np.any(x < lo) or np.any(x > hi) or not np.all(np.isfinite(lp)):
            escaped.append((prior, x.tolist()))
    assert not escaped, f"{len(escaped)} of 40 priors map u into -inf density, e.g. {escaped[:2]}"


def test_from_unit_cube_is_monotone_and_inverts_log_pdf(jax_case: Case) -> None:
    """d x / d u = 1 / p(x): the inverse CDF and the density describe the same law."""
    case = jax_case
    prior = case.make()
    u = jnp.asarray(np.linspace(1e-4, 1 - 1e-4, N))
    x = prior.from_unit_cube(u)
    assert np.all(np.diff(np.asarray(x)) > 0)
    dxdu = jax.vmap(jax.grad(prior.from_unit_cube))(u)
    np.testing.assert_allclose(
        np.asarray(dxdu) * np.exp(np.asarray(prior.log_pdf(x))), 1.0, rtol=1e-9
    )


def test_from_unit_cube_keeps_shape(case: Case) -> None:
    prior = case.make()
    u = np.linspace(0.05, 0.95, 12).reshape(3, 4)
    x = prior.from_unit_cube(u)
    assert x.shape == (3, 4)
    np.testing.assert_allclose(np.asarray(x), case.ref.ppf(u), rtol=RTOL, atol=ATOL)
    assert prior.from_unit_cube(0.5).shape == ()


def test_log_pdf_keeps_shape(case: Case) -> None:
    prior = case.make()
    x = np.asarray(case.inside[:12]).reshape(4, 3)
    lp = prior.log_pdf(x)
    assert lp.shape == (4, 3)
    np.testing.assert_allclose(np.asarray(lp), case.ref.logpdf(x), rtol=RTOL, atol=ATOL)
    assert prior.log_pdf(float(case.inside[5])).shape == ()


# ---------------------------------------------------------------------------------------
# face 3: numpyro
# ---------------------------------------------------------------------------------------
def test_numpyro_log_prob_matches_scipy(case: Case) -> None:
    d = case.make().to_numpyro()
    got = np.asarray(d.log_prob(jnp.asarray(case.inside)))
    np.testing.assert_allclose(got, case.ref.logpdf(case.inside), rtol=RTOL, atol=ATOL)


def test_numpyro_icdf_matches_scipy(case: Case) -> None:
    d = case.make().to_numpyro()
    u = U_GRID
    got = np.asarray(d.icdf(jnp.asarray(u)))
    want = case.ref.ppf(u)
    scale = float(case.ref.ppf(0.75) - case.ref.ppf(0.25))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * scale)


def test_numpyro_support(case: Case) -> None:
    d = case.make().to_numpyro()
    assert np.all(np.asarray(d.support(jnp.asarray(case.inside))))
    outside = case.outside if case.outside.size else np.array([np.inf, -np.inf, np.nan, np.nan])
    assert not np.any(np.asarray(d.support(jnp.asarray(outside))))


@pytest.mark.parametrize(
    "lo, hi",
    [(5.0, 9.0), (7.0, 9.0), (8.0, 9.0), (10.0, 12.0)],
    ids=["5-9", "7-9", "8-9", "10-12"],
)
def test_numpyro_deep_right_tail_truncation(lo: float, hi: float) -> None:
    """The truncated normal far right of its mode: jointfit's own log_pdf keeps full
    precision there, and its numpyro face must agree with it and with scipy."""
    prior = GaussianPrior(0.0, 1.0).truncated(lo, hi)
    x = np.linspace(lo, hi, 41)[1:-1]
    want = stats.truncnorm(lo, hi).logpdf(x)
    np.testing.assert_allclose(np.asarray(prior.log_pdf(x)), want, rtol=RTOL, atol=ATOL)
    d = prior.to_numpyro()
    np.testing.assert_allclose(np.asarray(d.log_prob(jnp.asarray(x))), want, rtol=RTOL, atol=ATOL)
    # as a numpyro model evaluates it: under jit
    np.testing.assert_allclose(
        np.asarray(jax.jit(lambda v: d.log_prob(v))(jnp.asarray(x))), want, rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize(
    "lower, upper", [(0.0, 10.0), (None, 10.0), (0.5, 10.0)], ids=["0-10", "None-10", "0.5-10"]
)
def test_numpyro_log_normal_truncated_above(lower: float | None, upper: float) -> None:
    """A Log_normal on a parameter bounded above (e.g. bounds (0, 10)) must still give a
    numpyro distribution, with the truncated density."""
    prior = Log_normal(0.7, 0.6).truncated(lower, upper)
    ref = TruncLogNormalRef(0.7, 0.6, prior.support[0], upper)
    x = np.geomspace(max(prior.support[0], 1e-3) * 1.001, upper * 0.999, 50)
    np.testing.assert_allclose(np.asarray(prior.log_pdf(x)), ref.logpdf(x), rtol=RTOL, atol=ATOL)
    d = prior.to_numpyro()
    np.testing.assert_allclose(np.asarray(d.log_prob(jnp.asarray(x))), ref.logpdf(x), rtol=RTOL, atol=ATOL)
    assert np.all(np.asarray(d.support(jnp.asarray(x))))
    assert not np.any(np.asarray(d.support(jnp.array([-1.0, upper * 1.01]))))


@pytest.mark.parametrize(
    "make, ref",
    [
        (lambda: GaussianPrior(1.0, 2.0).truncated(0.0, None), TruncNormalRef(1.0, 2.0, 0.0, np.inf)),
        (lambda: Truncated_gaussian(0.0, 1.0, 5.0, 9.0), TruncNormalRef(0.0, 1.0, 5.0, 9.0)),
        (lambda: Log_normal(0.7, 0.6).truncated(1.0, 100.0), TruncLogNormalRef(0.7, 0.6, 1.0, 100.0)),
        (lambda: Log_uniform_prior(1e-2, 1e2), stats.loguniform(1e-2, 1e2)),
    ],
    ids=["normal_0_inf", "normal_5_9", "lognormal_1_100", "log_uniform"],
)
def test_numpyro_samples_have_the_right_mean(make: Callable[[], Prior], ref: Any) -> None:
    prior = make()
    n = 20000
    samples = np.asarray(prior.to_numpyro().sample(jax.random.PRNGKey(0), (n,)))
    assert samples.shape == (n,)
    lo, hi = prior.support
    assert np.all(samples >= lo) and np.all(samples <= hi)
    mean, sd = float(ref.mean()), math.sqrt(float(ref.var()))
    # five standard errors: a fixed seed, and a 1 in 1.7 million false-alarm rate
    assert abs(samples.mean() - mean) < 5.0 * sd / math.sqrt(n)
    # the inverse CDF of the same prior gives the same law
    u = np.asarray(jax.random.uniform(jax.random.PRNGKey(1), (n,), dtype=float))
    cube = np.asarray(prior.from_unit_cube(u))
    assert abs(cube.mean() - mean) < 5.0 * sd / math.sqrt(n)


# ---------------------------------------------------------------------------------------
# JAX transformations
# ---------------------------------------------------------------------------------------
def test_jit_and_vmap(jax_case: Case) -> None:
    case = jax_case
    prior = case.make()
    # jit, with the outside points mixed in
    x = jnp.asarray(np.concatenate([case.inside, case.outside]))
    lp = np.asarray(jax.jit(prior.log_pdf)(x))
    n_in = case.inside.size
    want = case.ref.logpdf(case.inside)
    np.testing.assert_allclose(lp[:n_in], want, rtol=RTOL, atol=ATOL)
    assert np.all(lp[n_in:] == -np.inf)
    # vmap of both faces (the inverse CDF over the body; tails: see above)
    np.testing.assert_allclose(
        np.asarray(jax.vmap(prior.log_pdf)(jnp.asarray(case.inside))), want, rtol=RTOL, atol=ATOL
    )
    u = jnp.asarray(np.linspace(0.01, 0.99, N))
    scale = float(case.ref.ppf(0.75) - case.ref.ppf(0.25))
    np.testing.assert_allclose(
        np.asarray(jax.vmap(prior.from_unit_cube)(u)), case.ref.ppf(np.asarray(u)),
        rtol=RTOL, atol=ATOL * scale,
    )


def test_grad_of_log_pdf(jax_case: Case) -> None:
    """jax.grad of log_pdf: the analytic derivative inside the support, central finite
    differences in the body, and finite (no NaN) values outside the support."""
    case = jax_case
    prior = case.make()
    grad = jax.vmap(jax.grad(prior.log_pdf))
    x = case.inside
    grads = np.asarray(grad(jnp.asarray(x)))
    want = case.dlogpdf(x)
    scale = np.max(np.abs(want)) if np.any(want) else 1.0
    np.testing.assert_allclose(grads, want, rtol=1e-10, atol=1e-13 * scale)
    # central finite differences of the density itself, in the body of the distribution
    h = 1e-5 * np.maximum(np.abs(x), 1e-3)
    fd = (np.asarray(prior.log_pdf(x + h)) - np.asarray(prior.log_pdf(x - h))) / (2 * h)
    body = slice(N // 3, 2 * N // 3)
    np.testing.assert_allclose(grads[body], fd[body], rtol=1e-6, atol=1e-8)
    # outside the support the gradient is not NaN (samplers must not be poisoned)
    if case.outside.size:
        assert np.all(np.isfinite(np.asarray(grad(jnp.asarray(case.outside)))))


# ---------------------------------------------------------------------------------------
# truncation
# ---------------------------------------------------------------------------------------
def test_truncation_builds_the_expected_priors() -> None:
    assert GaussianPrior(0.0, 5.0).truncated(-10, 10) == Truncated_gaussian(0.0, 5.0, -10.0, 10.0)
    assert GaussianPrior(1.0, 2.0).truncated(0, None) == Truncated_gaussian(1.0, 2.0, 0.0, math.inf)
    assert Log_normal(0.7, 0.6).truncated(1, 100) == Log_normal(0.7, 0.6, 1.0, 100.0)
    assert Uniform_prior(0, 10).truncated(2, None) == Uniform_prior(2.0, 10.0)
    assert Log_uniform_prior(1e-3, 1e3).truncated(None, 1.0) == Log_uniform_prior(1e-3, 1.0)
    assert Truncated_gaussian(0, 1, -3, 3).truncated(-1, 5) == Truncated_gaussian(0, 1, -1, 3)
    # a truncation of a truncation equals the direct one
    twice = GaussianPrior(0.5, 1.5).truncated(-4, 4).truncated(-1, 6)
    assert twice == GaussianPrior(0.5, 1.5).truncated(-1, 4)


def test_truncated_log_uniform_and_uniform_match_scipy() -> None:
    p = Log_uniform_prior(1e-3, 1e3).truncated(0.1, 50.0)
    x = np.geomspace(0.1, 50.0, 30)[1:-1]
    np.testing.assert_allclose(np.asarray(p.log_pdf(x)), stats.loguniform(0.1, 50.0).logpdf(x), rtol=RTOL)
    q = Uniform_prior(0, 10).truncated(2, None)
    np.testing.assert_allclose(np.asarray(q.from_unit_cube(U_GRID)), stats.uniform(2, 8).ppf(U_GRID), rtol=RTOL)


@pytest.mark.parametrize(
    "prior, lower, upper",
    [
        (GaussianPrior(0.0, 1.0), None, None),
        (GaussianPrior(0.0, 1.0), -math.inf, math.inf),
        (Uniform_prior(0.0, 1.0), -1.0, 2.0),
        (Uniform_prior(0.0, 1.0), 0.0, 1.0),
        (Log_uniform_prior(1.0, 10.0), 0.0, None),
        (Log_normal(0.0, 1.0), 0.0, None),
        (Log_normal(0.0, 1.0), -5.0, None),
        (Truncated_gaussian(0.0, 1.0, -1.0, 1.0), -2.0, 2.0),
        (Log_normal(0.0, 1.0, 1.0, 10.0), 0.5, 20.0),
    ],
)
def test_truncated_returns_self_when_bounds_do_not_cut(prior: Prior, lower: Any, upper: Any) -> None:
    assert prior.truncated(lower, upper) is prior


@pytest.mark.parametrize(
    "prior, lower, upper",
    [
        (GaussianPrior(0.0, 1.0), 5.0, 4.0),
        (Uniform_prior(0.0, 1.0), 2.0, 3.0),
        (Uniform_prior(0.0, 1.0), 1.0, 2.0),  # touching: empty interior
        (Uniform_prior(0.0, 1.0), None, -0.5),
        (Log_uniform_prior(1.0, 10.0), None, 0.5),
        (Log_uniform_prior(1.0, 10.0), 10.0, None),
        (Log_normal(0.0, 1.0), None, -1.0),
        (Log_normal(0.0, 1.0), None, 0.0),
        (Truncated_gaussian(0.0, 1.0, -1.0, 1.0), 2.0, None),
        (Log_normal(0.0, 1.0, 1.0, 10.0), 20.0, 30.0),
    ],
)
def test_non_overlapping_bounds_raise(prior: Prior, lower: Any, upper: Any) -> None:
    with pytest.raises(PriorError):
        prior.truncated(lower, upper)


def test_truncation_keeping_no_probability_raises() -> None:
    with pytest.raises(PriorError):
        GaussianPrior(0.0, 1.0).truncated(40.0, 50.0)
    with pytest.raises(PriorError):
        Truncated_gaussian(0.0, 1.0, -50.0, -40.0)
    with pytest.raises(PriorError):
        Log_normal(0.0, 0.1).truncated(1e30, None)


# ---------------------------------------------------------------------------------------
# validation and files
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianPrior(0.0, 0.0),
        lambda: GaussianPrior(0.0, -1.0),
        lambda: GaussianPrior(math.nan, 1.0),
        lambda: GaussianPrior(math.inf, 1.0),
        lambda: GaussianPrior(0.0, math.inf),
        lambda: GaussianPrior(0.0, math.nan),
        lambda: Truncated_gaussian(0.0, 0.0, -1.0, 1.0),
        lambda: Truncated_gaussian(0.0, 1.0, 1.0, 1.0),
        lambda: Truncated_gaussian(0.0, 1.0, 2.0, 1.0),
        lambda: Truncated_gaussian(0.0, 1.0, math.nan, 1.0),
        lambda: Truncated_gaussian(-math.inf, 1.0, -1.0, 1.0),
        lambda: Uniform_prior(1.0, 1.0),
        lambda: Uniform_prior(2.0, 1.0),
        lambda: Uniform_prior(0.0, math.inf),
        lambda: Uniform_prior(math.nan, 1.0),
        lambda: Log_uniform_prior(0.0, 10.0),
        lambda: Log_uniform_prior(-1.0, 10.0),
        lambda: Log_uniform_prior(10.0, 1.0),
        lambda: Log_uniform_prior(1.0, math.inf),
        lambda: Log_normal(0.0, 0.0),
        lambda: Log_normal(0.0, -2.0),
        lambda: Log_normal(math.nan, 1.0),
        lambda: Log_normal(-math.inf, 1.0),
        lambda: Log_normal(0.0, 1.0, -1.0, 10.0),
        lambda: Log_normal(0.0, 1.0, 10.0, 1.0),
        lambda: jointfit.Gaussian(F=2.0, mu=0.0, sigma=1.0).as_prior(),
    ],
)
def test_invalid_hyperparameters_raise(make: Callable[[], Prior]) -> None:
    with pytest.raises(PriorError):
        make()


def test_prior_errors_are_jointfit_errors() -> None:
    assert issubclass(PriorError, jointfit.errors.ModelError)
    assert issubclass(PriorError, jointfit.errors.JointfitError)


def test_dict_round_trip(case: Case) -> None:
    prior = case.make()
    data = prior.to_dict()
    assert isinstance(data, dict) and len(data) == 1
    again = prior_from_dict(data)
    assert again == prior
    assert type(again) is type(prior)
    np.testing.assert_array_equal(
        np.asarray(again.log_pdf(case.inside)), np.asarray(prior.log_pdf(case.inside))
    )


def test_dict_layout_uses_astromodels_names() -> None:
    assert GaussianPrior(1.0, 2.0).to_dict() == {"Gaussian": {"mu": 1.0, "sigma": 2.0}}
    assert Uniform_prior(0.0, 5.0).to_dict() == {
        "Uniform_prior": {"lower_bound": 0.0, "upper_bound": 5.0}
    }
    assert Log_uniform_prior(1.0, 5.0).to_dict() == {
        "Log_uniform_prior": {"lower_bound": 1.0, "upper_bound": 5.0}
    }
    assert prior_from_dict({"Gaussian": {"mu": -1.0, "sigma": 0.5}}) == GaussianPrior(-1.0, 0.5)
    assert prior_from_dict({"Log_normal": {"mu": 1.0, "sigma": 0.5}}) == Log_normal(1.0, 0.5)
    assert prior_from_dict(
        {"Truncated_gaussian": {"mu": 0.0, "sigma": 1.0, "lower_bound": 0.0, "upper_bound": math.inf}}
    ) == GaussianPrior(0.0, 1.0).truncated(0.0, None)


@pytest.mark.parametrize(
    "data",
    [
        {"No_such_prior": {"a": 1.0}},
        {},
        {"Gaussian": {"mu": 0.0, "sigma": 1.0}, "Uniform_prior": {}},
        [("Gaussian", {})],
        {"Gaussian": {"mu": 0.0, "sigma": -1.0}},
    ],
)
def test_prior_from_bad_dict_raises(data: Any) -> None:
    with pytest.raises(PriorError):
        prior_from_dict(data)


def test_priors_are_immutable_and_hashable() -> None:
    p = GaussianPrior(0.0, 1.0)
    with pytest.raises(Exception):
        p.mu = 3.0  # type: ignore[misc]
    assert hash(p) == hash(GaussianPrior(0.0, 1.0))
    assert jointfit.Gaussian(mu=0.0, sigma=1.0).as_prior() == p
    assert repr(p) == "Gaussian(mu=0.0, sigma=1.0)"


# ---------------------------------------------------------------------------------------
# priors on parameters
# ---------------------------------------------------------------------------------------
def test_parameter_effective_prior_is_the_truncation() -> None:
    par = jointfit.Parameter("x", 1.0, bounds=(-10, 10), prior=GaussianPrior(0, 5))
    assert par.prior == GaussianPrior(0.0, 5.0)
    eff = par.effective_prior
    assert eff == Truncated_gaussian(0.0, 5.0, -10.0, 10.0)
    x = np.linspace(-9.9, 9.9, 50)
    np.testing.assert_allclose(
        np.asarray(eff.log_pdf(x)), stats.truncnorm(-2, 2, scale=5).logpdf(x), rtol=RTOL, atol=ATOL
    )
    assert float(eff.log_pdf(10.5)) == -np.inf


def test_parameter_without_bounds_or_prior() -> None:
    par = jointfit.Parameter("x", 1.0)
    assert par.prior is None and par.effective_prior is None and not par.has_prior
    g = GaussianPrior(0.0, 1.0)
    par.prior = g
    assert par.has_prior and par.effective_prior is g
    par.prior = None
    assert par.effective_prior is None


@pytest.mark.parametrize(
    "prior, bounds, value",
    [
        (GaussianPrior(0.0, 5.0), (-10.0, 10.0), 1.0),
        (GaussianPrior(2.0, 1.0), (0.0, None), 1.0),
        (Log_normal(0.7, 0.6), (1.0, 100.0), 2.0),
        (Log_uniform_prior(1e-5, 1e5), (1e-2, None), 1.0),
        (Uniform_prior(-5.0, 5.0), (None, 1.0), 0.0),
    ],
)
def test_prior_then_bounds_equals_bounds_then_prior(prior: Prior, bounds: Any, value: float) -> None:
    a = jointfit.Parameter("x", value, prior=prior)
    a.bounds = bounds
    b = jointfit.Parameter("x", value, bounds=bounds)
    b.prior = prior
    c = jointfit.Parameter("x", value, bounds=bounds, prior=prior)
    lo = None if bounds[0] is None else bounds[0]
    hi = None if bounds[1] is None else bounds[1]
    expected = prior.truncated(lo, hi)
    assert a.effective_prior == b.effective_prior == c.effective_prior == expected
    assert a.prior == b.prior == prior


def test_parameter_bounds_excluding_prior_support_raise() -> None:
    # bounds first, then the prior
    par = jointfit.Parameter("x", -2.0, bounds=(-5.0, -1.0))
    with pytest.raises(PriorError):
        par.prior = Log_normal(0.0, 1.0)
    assert par.prior is None  # the refused prior was not kept
    # prior first, then the bounds
    par = jointfit.Parameter("x", 2.0, prior=Log_normal(0.0, 1.0))
    with pytest.raises(PriorError):
        par.bounds = (-5.0, -1.0)
    assert par.bounds == (None, None) and par.value == 2.0
    assert par.prior == Log_normal(0.0, 1.0)
    with pytest.raises(PriorError):
        par.max_value = -1.0
    # both at construction
    with pytest.raises(PriorError):
        jointfit.Parameter("x", -2.0, bounds=(-5.0, -1.0), prior=Log_normal(0.0, 1.0))
    # a uniform prior disjoint from the bounds
    par = jointfit.Parameter("x", 2.5, bounds=(2.0, 3.0))
    with pytest.raises(PriorError):
        par.prior = Uniform_prior(0.0, 1.0)
    par = jointfit.Parameter("x", 0.5, prior=Uniform_prior(0.0, 1.0))
    with pytest.raises(PriorError):
        par.min_value = 1.0


def test_gaussian_function_with_f_not_one_is_not_a_prior() -> None:
    par = jointfit.Parameter("x", 0.0)
    with pytest.raises(PriorError):
        par.prior = jointfit.Gaussian(F=2.0, mu=0.0, sigma=1.0)
    assert par.prior is None
    with pytest.raises(PriorError):
        par.prior = "Gaussian"  # not a prior at all
    par.prior = jointfit.Gaussian(F=1.0, mu=0.5, sigma=2.0)
    assert par.prior == GaussianPrior(0.5, 2.0)


def test_parameter_prior_survives_dict_round_trip() -> None:
    par = jointfit.Parameter("x", 2.0, bounds=(1.0, 100.0), prior=Log_normal(0.7, 0.6))
    other = jointfit.Parameter("x", 5.0)
    other.update_from_dict(par.to_dict())
    assert other.prior == par.prior
    assert other.effective_prior == Log_normal(0.7, 0.6, 1.0, 100.0)
    assert other.bounds == (1.0, 100.0) and other.value == 2.0


@pytest.mark.parametrize("make_prior", [
    lambda: Uniform_prior("a", 1), lambda: Uniform_prior(None, 1), lambda: Log_normal(None, 1),
    lambda: Truncated_gaussian(0, 1, "low", 2),
])
def test_non_numeric_hyperparameters_raise_prior_errors(make_prior):
    with pytest.raises(PriorError, match="must be a number"):
        make_prior()


def test_prior_from_dict_with_unknown_hyperparameters():
    with pytest.raises(PriorError, match=r"hyperparameters are \['lower_bound', 'upper_bound'\]"):
        prior_from_dict({"Uniform_prior": {"lo": 1}})


def test_log_normal_cube_ends_keep_a_finite_density():
    prior = Log_normal(0.0, 1.0)
    x = prior.from_unit_cube(jnp.array([0.0, 1.0]))
    assert np.all(np.isfinite(np.asarray(x))) and np.all(np.asarray(x) > 0)
