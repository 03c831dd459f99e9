"""Spectral functions against independent numpy formulas; composites; files.

The reference formulas below are written from the astromodels definitions in plain
numpy; jointfit's ``evaluate`` is never used to build a reference value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import jointfit
from jointfit import (
    Band,
    Blackbody,
    CompositeFunction,
    Constant,
    Cutoff_powerlaw,
    Broken_powerlaw,
    Gaussian,
    Line,
    Powerlaw,
    Powerlaw_flux,
)
from jointfit.errors import ModelError, ParameterError, PriorError, UnknownNameError
from jointfit.functions import function_from_dict
from jointfit.priors import GaussianPrior, Log_normal, Log_uniform_prior, Uniform_prior

RTOL = 1e-12
TINY = 1e-300  # absolute floor only for values that underflow (subnormals may be flushed)
X = np.geomspace(0.1, 1e4, 301)  # keV
FLUX_UNIT = u.Unit("1/(cm2 s keV)")


def assert_close(actual: Any, desired: Any, rtol: float, atol: Any, what: str = "") -> None:
    """Like numpy's assert_allclose, but ``atol`` may be an array (one per point)."""
    actual, desired = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    bad = ~(np.abs(actual - desired) <= atol + rtol * np.abs(desired))
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise AssertionError(
            f"{what}: {bad.sum()} of {bad.size} points differ; first at index {i}: "
            f"{actual.flat[i]!r} != {desired.flat[i]!r}"
        )


# ---------------------------------------------------------------------------------------
# plain numpy references
# ---------------------------------------------------------------------------------------
def ref_powerlaw(x, K, piv, index):
    return K * (x / piv) ** index


def ref_powerlaw_flux(x, F, index, a, b):
    if index == -1.0:
        return F / (x * np.log(b / a))
    g = index + 1.0
    # b^g - a^g = a^g expm1(g ln(b/a)): no cancellation, even for g close to 0
    return F * g * x**index / (a**g * np.expm1(g * np.log(b / a)))


def ref_cutoff_powerlaw(x, K, piv, index, xc):
    return K * (x / piv) ** index * np.exp(-x / xc)


def ref_broken_powerlaw(x, K, xb, alpha, beta, piv=1.0):
    return K * (x / xb) ** np.where(x < xb, alpha, beta)


def ref_band(x, K, alpha, xp, beta, piv):
    e0 = xp / (2.0 + alpha)
    x_break = (alpha - beta) * e0
    out = np.empty_like(x)
    low = x < x_break
    out[low] = K * (x[low] / piv) ** alpha * np.exp(-x[low] / e0)
    out[~low] = (
        K * (x_break / piv) ** (alpha - beta) * math.exp(beta - alpha) * (x[~low] / piv) ** beta
    )
    return out


def ref_blackbody(x, K, kT):
    return K * x**2 / np.expm1(x / kT)


def ref_gaussian(x, F, mu, sigma):
    return F / (sigma * math.sqrt(2.0 * math.pi)) * np.exp(-((x - mu) ** 2) / (2.0 * sigma**2))


def ref_constant(x, k):
    return np.full_like(x, k)


def ref_line(x, a, b):
    return b * x + a


@dataclass
class FCase:
    id: str
    cls: type
    values: dict[str, float]
    ref: Callable[..., np.ndarray]


FCASES = [
    FCase("powerlaw", Powerlaw, dict(K=3.2e-2, piv=50.0, index=-1.7), ref_powerlaw),
    FCase("powerlaw_hard", Powerlaw, dict(K=7.0, piv=3.0, index=1.3), ref_powerlaw),
    FCase("powerlaw_flux", Powerlaw_flux, dict(F=5.5, index=-2.3, a=10.0, b=1000.0), ref_powerlaw_flux),
    FCase("powerlaw_flux_soft", Powerlaw_flux, dict(F=0.25, index=-0.5, a=2.0, b=30.0), ref_powerlaw_flux),
    FCase("powerlaw_flux_at_minus_one", Powerlaw_flux, dict(F=2.0, index=-1.0, a=10.0, b=1000.0), ref_powerlaw_flux),
    FCase("cutoff_powerlaw", Cutoff_powerlaw, dict(K=0.4, piv=20.0, index=-1.2, xc=300.0), ref_cutoff_powerlaw),
    FCase("broken_powerlaw", Broken_powerlaw, dict(K=0.3, xb=40.0, alpha=-0.6, beta=-2.2, piv=1.0), ref_broken_powerlaw),
    FCase("broken_powerlaw_optical_break", Broken_powerlaw, dict(K=2e3, xb=3e-3, alpha=-0.7, beta=-1.6, piv=1.0),
          ref_broken_powerlaw),
    FCase("band", Band, dict(K=2e-2, alpha=-0.8, xp=350.0, beta=-2.4, piv=100.0), ref_band),
    FCase("band_hard", Band, dict(K=5e-3, alpha=0.7, xp=40.0, beta=-3.1, piv=50.0), ref_band),
    FCase("blackbody", Blackbody, dict(K=3e-4, kT=45.0), ref_blackbody),
    FCase("gaussian", Gaussian, dict(F=2.5, mu=511.0, sigma=300.0), ref_gaussian),
    FCase("constant", Constant, dict(k=3.7), ref_constant),
    FCase("line", Line, dict(a=2.5, b=1.5e-3), ref_line),
]


@pytest.fixture(params=FCASES, ids=[c.id for c in FCASES])
def fcase(request: pytest.FixtureRequest) -> FCase:
    return request.param


# one case per function (plus Powerlaw_flux at index -1) for the tests whose cost is
# compilation (jit, grad, vmap)
JAX_FCASES = [c for c in FCASES if c.id not in ("powerlaw_hard", "powerlaw_flux_soft", "band_hard",
                                                "broken_powerlaw_optical_break")]


@pytest.fixture(params=JAX_FCASES, ids=[c.id for c in JAX_FCASES])
def jax_fcase(request: pytest.FixtureRequest) -> FCase:
    return request.param


def _make(case: FCase):
    f = case.cls()
    for name, value in case.values.items():
        getattr(f, name).value = value
    return f


# ---------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------
def test_evaluation_matches_numpy_reference(fcase: FCase) -> None:
    f = _make(fcase)
    got = f(X)
    assert isinstance(got, jax.Array)
    assert got.shape == X.shape and got.dtype == jnp.float64
    want = fcase.ref(X, **fcase.values)
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(np.asarray(got), want, rtol=RTOL, atol=TINY)


def test_constructor_keywords_set_values(fcase: FCase) -> None:
    f = fcase.cls(**fcase.values)
    assert f.current_values() == pytest.approx(fcase.values, rel=0, abs=0)
    np.testing.assert_allclose(np.asarray(f(X)), fcase.ref(X, **fcase.values), rtol=RTOL, atol=TINY)


def test_scalar_and_2d_inputs(fcase: FCase) -> None:
    f = _make(fcase)
    x2 = X[:300].reshape(20, 15)
    got = f(x2)
    assert got.shape == (20, 15)
    want = fcase.ref(x2.ravel(), **fcase.values).reshape(20, 15)
    np.testing.assert_allclose(np.asarray(got), want, rtol=RTOL, atol=TINY)
    scalar = f(42.0)
    assert scalar.shape == ()
    np.testing.assert_allclose(float(scalar), fcase.ref(np.array([42.0]), **fcase.values)[0], rtol=RTOL)


def test_evaluate_with_uses_the_given_values(fcase: FCase) -> None:
    f = fcase.cls()  # defaults on the instance; values only in the dict
    got = f.evaluate_with(jnp.asarray(X), fcase.values)
    np.testing.assert_allclose(np.asarray(got), fcase.ref(X, **fcase.values), rtol=RTOL, atol=TINY)


@pytest.mark.parametrize(
    "index", [-2.3, -1.0, -0.5, 0.0, 1.5], ids=["-2.3", "-1", "-0.5", "0", "1.5"]
)
def test_powerlaw_flux_integrates_to_F(index: float) -> None:
    f = Powerlaw_flux(F=3.25, index=index, a=10.0, b=1000.0)
    fj = jax.jit(f.evaluate_with)
    vals = f.current_values()
    total, _ = integrate.quad(
        lambda e: float(fj(e, vals)), 10.0, 1000.0, points=[30.0, 100.0, 300.0],
        epsabs=0.0, epsrel=1e-12, limit=200,
    )
    assert total == pytest.approx(3.25, rel=1e-8)


@pytest.mark.parametrize("delta", [1e-11, -1e-11, 1e-9, -1e-9, 1e-7, 1e-5])
def test_powerlaw_flux_is_accurate_near_index_minus_one(delta: float) -> None:
    """Close to index = -1 the normalisation (index+1)/(b^(index+1) - a^(index+1)) is 0/0
    to rounding; the value must stay accurate (reference: a^g expm1(g ln(b/a)))."""
    index = -1.0 + delta
    f = Powerlaw_flux(F=2.0, index=index, a=1.0, b=100.0)
    want = ref_powerlaw_flux(X, 2.0, index, 1.0, 100.0)
    np.testing.assert_allclose(np.asarray(f(X)), want, rtol=1e-10)


def test_powerlaw_flux_gradient_at_index_minus_one() -> None:
    """The derivative in ``index`` at exactly -1 is that of the continuous function:
    d/dindex = F/(x ln(b/a)) * (ln x - (ln a + ln b)/2)."""
    F, a, b = 2.0, 1.0, 100.0
    f = Powerlaw_flux(F=F, index=-1.0, a=a, b=b)
    x = jnp.asarray(X)
    vals = f.current_values()
    _, grad = jax.jvp(lambda v: f.evaluate_with(x, {**vals, "index": v}), (-1.0,), (1.0,))
    analytic = F / (X * math.log(b / a)) * (np.log(X) - 0.5 * (math.log(a) + math.log(b)))
    assert_close(grad, analytic, rtol=1e-6, atol=1e-9 * np.abs(np.asarray(f(x))), what="d/dindex")


def test_gaussian_integrates_to_F() -> None:
    f = Gaussian(F=4.5, mu=6.4, sigma=0.15)
    fj = jax.jit(f.evaluate_with)
    vals = f.current_values()
    total, _ = integrate.quad(
        lambda e: float(fj(e, vals)), 6.4 - 40 * 0.15, 6.4 + 40 * 0.15, points=[6.4],
        epsabs=0.0, epsrel=1e-12, limit=200,
    )
    assert total == pytest.approx(4.5, rel=1e-8)
    # its peak value
    assert float(f(6.4)) == pytest.approx(4.5 / (0.15 * math.sqrt(2 * math.pi)), rel=RTOL)


@pytest.mark.parametrize(
    "alpha, xp, beta, piv",
    [
        (-1.0, 500.0, -2.0, 100.0),
        (-0.8, 350.0, -2.4, 100.0),
        (0.7, 40.0, -3.1, 50.0),
        (-1.45, 2000.0, -1.7, 10.0),
        (-1.45, 200.0, -4.5, 10.0),
    ],
)
def test_band_is_continuous_at_the_break(alpha: float, xp: float, beta: float, piv: float) -> None:
    f = Band(K=2e-2, alpha=alpha, xp=xp, beta=beta, piv=piv)
    vals = f.current_values()
    x_break = (alpha - beta) * xp / (2.0 + alpha)
    eps = 1e-12
    below, at, above = (float(v) for v in f(np.array([x_break * (1 - eps), x_break, x_break * (1 + eps)])))
    assert below == pytest.approx(at, rel=1e-10)
    assert above == pytest.approx(at, rel=1e-10)

    @jax.jit
    def slopes(e: Any) -> Any:
        # d ln f / d ln x, and d(x^2 f)/dx
        log_slope = jax.vmap(jax.grad(lambda v: jnp.log(f.evaluate_with(jnp.exp(v), vals))))(jnp.log(e))
        nufnu_slope = jax.vmap(jax.grad(lambda v: v * v * f.evaluate_with(v, vals)))(e)
        return log_slope, nufnu_slope

    log_slope, nufnu_slope = slopes(jnp.array([x_break * (1 - 1e-9), x_break * (1 + 1e-9), xp]))
    # C1 as well: the logarithmic slope is beta on both sides of the break
    assert float(log_slope[0]) == pytest.approx(beta, rel=1e-6)
    assert float(log_slope[1]) == pytest.approx(beta, rel=1e-6)
    # the nuFnu peak is at xp (there is one when beta < -2)
    if beta < -2.0:
        assert float(nufnu_slope[2]) == pytest.approx(0.0, abs=1e-10 * xp * float(f(xp)))
    elif beta > -2.0:  # nuFnu still rising above the break: no peak
        assert float(nufnu_slope[2]) > 0.0


def test_blackbody_is_zero_not_nan_at_the_edges() -> None:
    bb = Blackbody(K=3e-4, kT=10.0)
    x = jnp.array([0.0, 7000.5, 7000.0001, 1e4, 1e6])  # x/kT = 0, >700, >700, 1000, 1e5
    values = np.asarray(bb(x))
    assert not np.any(np.isnan(values))
    np.testing.assert_array_equal(values, 0.0)
    # just inside the regular region it is the formula (tiny but not zero)
    inside = np.array([1e-8, 6990.0])
    np.testing.assert_allclose(np.asarray(bb(inside)), ref_blackbody(inside, 3e-4, 10.0), rtol=RTOL)

    # gradients with respect to both parameters are finite (zero) there
    @jax.jit
    def derivatives(vals: dict[str, Any]) -> Any:
        per_energy = jax.jacfwd(lambda v: bb.evaluate_with(x, v))(vals)
        total = jax.grad(lambda v: jnp.sum(bb.evaluate_with(x, v)))(vals)
        return per_energy, total

    per_energy, total = derivatives({"K": jnp.asarray(3e-4), "kT": jnp.asarray(10.0)})
    for name in ("K", "kT"):
        np.testing.assert_array_equal(np.asarray(per_energy[name]), 0.0)
        assert float(total[name]) == 0.0


def test_blackbody_small_argument_limit() -> None:
    bb = Blackbody(K=2.0, kT=30.0)
    x = np.array([1e-10, 1e-6])
    # K x^2 / (x/kT + ...) -> K x kT
    np.testing.assert_allclose(np.asarray(bb(x)), 2.0 * x * 30.0 / (1 + x / 60.0), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# JAX transformations
# ---------------------------------------------------------------------------------------
def _param_names(case: FCase) -> list[str]:
    return list(case.values)


def test_jit(jax_fcase: FCase) -> None:
    fcase = jax_fcase
    f = _make(fcase)
    jitted = jax.jit(f.evaluate_with)
    got = jitted(jnp.asarray(X), fcase.values)
    np.testing.assert_allclose(np.asarray(got), fcase.ref(X, **fcase.values), rtol=RTOL, atol=TINY)
    # jit of the call with current values (closing over the instance)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda e: f(e))(X)), np.asarray(f(X)), rtol=RTOL, atol=TINY)


def test_grad_matches_finite_differences(jax_fcase: FCase) -> None:
    """Forward mode (per energy) against fourth-order central differences of the numpy
    reference, and reverse mode (jax.grad of a weighted sum) against forward mode."""
    fcase = jax_fcase
    f = _make(fcase)
    x = jnp.asarray(X)
    fx = np.abs(fcase.ref(X, **fcase.values))
    weights = 1.0 / np.maximum(fx, 1e-300)
    w = jnp.asarray(weights)

    @jax.jit
    def derivatives(vals: dict[str, Any]) -> Any:
        per_energy = jax.jacfwd(lambda v: f.evaluate_with(x, v))(vals)
        total = jax.grad(lambda v: jnp.sum(f.evaluate_with(x, v) * w))(vals)
        return per_energy, total

    per_energy, total = derivatives({k: jnp.asarray(v, dtype=float) for k, v in fcase.values.items()})
    for name in _param_names(fcase):
        v0 = fcase.values[name]
        h = 1e-6 * max(abs(v0), 1e-3)

        def ref_at(v: float, name: str = name) -> np.ndarray:
            return fcase.ref(X, **{**fcase.values, name: v})

        fd = (-ref_at(v0 + 2 * h) + 8 * ref_at(v0 + h) - 8 * ref_at(v0 - h) + ref_at(v0 - 2 * h)) / (12 * h)
        if fcase.cls is Band and name in ("alpha", "xp", "beta"):
            # the break moves with these: skip the energies the moving break sweeps over
            e0 = fcase.values["xp"] / (2 + fcase.values["alpha"])
            x_break = (fcase.values["alpha"] - fcase.values["beta"]) * e0
            keep = np.abs(X / x_break - 1) > 1e-3
        else:
            keep = np.ones_like(X, dtype=bool)
        tangent = np.asarray(per_energy[name])
        assert tangent.shape == X.shape and np.all(np.isfinite(tangent))
        assert_close(
            tangent[keep], fd[keep], rtol=1e-6,
            atol=1e-9 * fx[keep] / max(abs(v0), 1e-3), what=f"d/d{name}",
        )
        g = float(total[name])
        assert np.isfinite(g)
        assert g == pytest.approx(float(np.sum(tangent * weights)), rel=1e-9, abs=1e-9 * len(X))


def test_vmap_over_parameter_batches(jax_fcase: FCase) -> None:
    fcase = jax_fcase
    f = _make(fcase)
    n = 5
    offsets = 0.01 * np.arange(n)
    batch = {k: jnp.asarray(v * (1.0 + offsets) if v != 0 else v + offsets) for k, v in fcase.values.items()}
    x = jnp.asarray(X)

    @jax.jit
    def both(batch: dict[str, Any]) -> Any:
        over_values = jax.vmap(lambda vals: f.evaluate_with(x, vals))(batch)
        over_energies = jax.vmap(lambda e: f.evaluate_with(e, fcase.values))(x)
        return over_values, over_energies

    over_values, over_energies = both(batch)
    assert over_values.shape == (n, X.size)
    for i in range(n):
        vals = {k: float(v[i]) for k, v in batch.items()}
        np.testing.assert_allclose(np.asarray(over_values[i]), fcase.ref(X, **vals), rtol=RTOL, atol=TINY)
    np.testing.assert_allclose(np.asarray(over_energies), fcase.ref(X, **fcase.values), rtol=RTOL, atol=TINY)


# ---------------------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------------------
def test_quantity_in_mev_returns_a_flux_quantity(fcase: FCase) -> None:
    f = _make(fcase)
    energies = X[::10] / 1000.0 * u.MeV
    got = f(energies)
    assert isinstance(got, u.Quantity)
    assert got.unit == FLUX_UNIT
    np.testing.assert_allclose(got.to_value(FLUX_UNIT), fcase.ref(X[::10], **fcase.values), rtol=RTOL, atol=TINY)
    # the same number in keV given as a quantity
    np.testing.assert_allclose(
        f(X[::10] * u.keV).to_value(FLUX_UNIT), np.asarray(f(X[::10])), rtol=RTOL, atol=TINY
    )


def test_composite_with_quantity() -> None:
    f = Blackbody(K=3e-4, kT=45.0) + Powerlaw(K=3.2e-2, piv=50.0, index=-1.7)
    got = f(X * u.keV.to(u.MeV) * u.MeV)
    assert got.unit == FLUX_UNIT
    want = ref_blackbody(X, 3e-4, 45.0) + ref_powerlaw(X, 3.2e-2, 50.0, -1.7)
    np.testing.assert_allclose(got.value, want, rtol=RTOL)


# ---------------------------------------------------------------------------------------
# defaults as in astromodels
# ---------------------------------------------------------------------------------------
Y_UNIT = u.Unit("1/(cm2 s keV)")

DEFAULTS = {
    Powerlaw: {
        "K": (1.0, (1e-30, 1e3), True, Y_UNIT),
        "piv": (1.0, (None, None), False, u.keV),
        "index": (-2.01, (-10.0, 10.0), True, u.dimensionless_unscaled),
    },
    Powerlaw_flux: {
        "F": (1.0, (1e-30, 1e3), True, u.Unit("1/(cm2 s)")),
        "index": (-2.0, (-10.0, 10.0), True, u.dimensionless_unscaled),
        "a": (1.0, (None, None), False, u.keV),
        "b": (100.0, (None, None), False, u.keV),
    },
    Cutoff_powerlaw: {
        "K": (1.0, (1e-30, 1e3), True, Y_UNIT),
        "piv": (1.0, (None, None), False, u.keV),
        "index": (-2.0, (-10.0, 10.0), True, u.dimensionless_unscaled),
        "xc": (10.0, (1.0, None), True, u.keV),
    },
    Broken_powerlaw: {  # astromodels' defaults; K > 0 and xb down to 1e-6 keV (astromodels: 1 keV)
        "K": (1.0, (1e-30, None), True, Y_UNIT),
        "xb": (10.0, (1e-6, 1e6), True, u.keV),
        "alpha": (-1.5, (-10.0, 10.0), True, u.dimensionless_unscaled),
        "beta": (-2.5, (-10.0, 10.0), True, u.dimensionless_unscaled),
        "piv": (1.0, (None, None), False, u.keV),
    },
    Band: {
        "K": (1e-4, (1e-50, None), True, Y_UNIT),
        "alpha": (-1.0, (-1.5, 3.0), True, u.dimensionless_unscaled),
        "xp": (500.0, (10.0, None), True, u.keV),
        "beta": (-2.0, (-5.0, -1.6), True, u.dimensionless_unscaled),
        "piv": (100.0, (None, None), False, u.keV),
    },
    Blackbody: {
        "K": (1e-4, (0.0, None), True, u.Unit("1/(cm2 s keV3)")),
        "kT": (30.0, (0.0, None), True, u.keV),
    },
    Gaussian: {
        "F": (1.0, (None, None), True, u.Unit("1/(cm2 s)")),
        "mu": (0.0, (None, None), True, u.keV),
        "sigma": (1.0, (1e-12, None), True, u.keV),
    },
    Constant: {"k": (0.0, (None, None), True, Y_UNIT)},
    Line: {
        "a": (0.0, (None, None), True, Y_UNIT),
        "b": (1.0, (None, None), True, u.Unit("1/(cm2 s keV2)")),
    },
}


@pytest.mark.parametrize("cls", list(DEFAULTS), ids=[c.__name__ for c in DEFAULTS])
def test_defaults_bounds_units_follow_astromodels(cls: type) -> None:
    f = cls()
    assert list(f.parameters) == list(DEFAULTS[cls])
    for name, (value, bounds, free, unit) in DEFAULTS[cls].items():
        p = getattr(f, name)
        assert p is f.parameters[name]
        assert p.name == name
        assert p.value == value, name
        assert p.bounds == bounds, name
        assert p.free is free, name
        assert p.unit == unit, name
    assert f.name == cls.__name__


def test_named_defaults_from_the_brief() -> None:
    assert Blackbody().K.value == 1e-4
    assert Blackbody().K.bounds == (0.0, None)
    assert Powerlaw().piv.free is False
    assert Powerlaw_flux().a.free is False
    assert Band().beta.bounds == (-5.0, -1.6)
    assert Powerlaw().index.value == -2.01
    assert Blackbody().K.unit == u.Unit("1/(cm2 s keV3)")
    assert Powerlaw_flux().F.unit == u.Unit("1/(cm2 s)")


def test_instances_do_not_share_parameters() -> None:
    a, b = Powerlaw(), Powerlaw()
    a.index = -1.5
    assert b.index.value == -2.01
    assert a.index is not b.index


def test_value_out_of_bounds_raises() -> None:
    p = Powerlaw()
    with pytest.raises(ParameterError):
        p.index = 20
    assert p.index.value == -2.01
    with pytest.raises(ParameterError):
        p.index.value = -10.5
    with pytest.raises(ParameterError):
        Powerlaw(index=20)
    with pytest.raises(ParameterError):
        Blackbody(kT=-1.0)
    with pytest.raises(ParameterError):
        p.K = math.nan
    p.index = 9.5  # inside: accepted
    assert p.index.value == 9.5
    p.K = 5.0 * u.Unit("1/(m2 s keV)")  # a quantity is converted
    assert p.K.value == pytest.approx(5e-4, rel=1e-15)
    with pytest.raises(ParameterError):
        p.K = 5.0 * u.keV


def test_unknown_constructor_keyword_raises() -> None:
    with pytest.raises(UnknownNameError):
        Powerlaw(foo=1)
    with pytest.raises(UnknownNameError):
        Blackbody(K=1e-4, temperature=3.0)
    assert issubclass(UnknownNameError, AttributeError)
    assert issubclass(UnknownNameError, KeyError)


# ---------------------------------------------------------------------------------------
# composites
# ---------------------------------------------------------------------------------------
def test_sum_names_attributes_and_components() -> None:
    bb, pf = Blackbody(), Powerlaw_flux()
    f = bb + pf
    assert isinstance(f, CompositeFunction)
    assert list(f.parameters) == ["K_1", "kT_1", "F_2", "index_2", "a_2", "b_2"]
    assert f.kT_1 is bb.kT
    assert isinstance(f.kT_1, jointfit.Parameter)
    f.K_1 = 2e-4
    assert bb.K.value == 2e-4 and f.K_1.value == 2e-4
    assert f.a_2.free is False and f.F_2.free is True
    assert list(f.components) == ["Blackbody", "Powerlaw_flux"]
    vals = f.current_values()
    x = jnp.asarray(X)
    np.testing.assert_allclose(
        np.asarray(f.components["Blackbody"](x, vals)), ref_blackbody(X, 2e-4, 30.0), rtol=RTOL
    )
    np.testing.assert_allclose(
        np.asarray(f.components["Powerlaw_flux"](x, vals)),
        ref_powerlaw_flux(X, 1.0, -2.0, 1.0, 100.0), rtol=RTOL,
    )
    np.testing.assert_allclose(
        np.asarray(f(X)), ref_blackbody(X, 2e-4, 30.0) + ref_powerlaw_flux(X, 1.0, -2.0, 1.0, 100.0), rtol=RTOL
    )
    with pytest.raises(ParameterError):
        f.index_2 = 20.0


def test_two_functions_of_the_same_kind() -> None:
    f = Powerlaw(K=2.0, index=-1.5) + Powerlaw(K=0.5, index=-2.5)
    assert list(f.components) == ["Powerlaw_n1", "Powerlaw_n2"]
    assert list(f.parameters) == ["K_1", "piv_1", "index_1", "K_2", "piv_2", "index_2"]
    vals = f.current_values()
    x = jnp.asarray(X)
    for label, (K, index) in {"Powerlaw_n1": (2.0, -1.5), "Powerlaw_n2": (0.5, -2.5)}.items():
        np.testing.assert_allclose(
            np.asarray(f.components[label](x, vals)), ref_powerlaw(X, K, 1.0, index), rtol=RTOL
        )
    np.testing.assert_allclose(
        np.asarray(f(X)), ref_powerlaw(X, 2.0, 1.0, -1.5) + ref_powerlaw(X, 0.5, 1.0, -2.5), rtol=RTOL
    )


def test_product_with_a_constant_factor() -> None:
    f = (Blackbody(K=3e-4, kT=45.0) + Powerlaw(K=3.2e-2, piv=50.0, index=-1.7)) * Constant(k=2)
    assert list(f.parameters) == ["K_1", "kT_1", "K_2", "piv_2", "index_2", "k_3"]
    want = (ref_blackbody(X, 3e-4, 45.0) + ref_powerlaw(X, 3.2e-2, 50.0, -1.7)) * 2.0
    np.testing.assert_allclose(np.asarray(f(X)), want, rtol=RTOL)
    assert f.k_3.unit == u.dimensionless_unscaled
    assert f.K_1.unit == u.Unit("1/(cm2 s keV3)")
    assert f.K_2.unit == Y_UNIT
    f.k_3 = 0.5
    np.testing.assert_allclose(np.asarray(f(X)), want / 4.0, rtol=RTOL)
    # jit, grad and vmap through the composite
    vals = f.current_values()
    g = jax.grad(lambda k: jnp.sum(f.evaluate_with(jnp.asarray(X), {**vals, "k_3": k})))(0.5)
    assert float(g) == pytest.approx(float(np.sum(want / 2.0)), rel=1e-12)
    batch = {k: jnp.full(3, v) for k, v in vals.items()}
    batch["kT_1"] = jnp.array([20.0, 45.0, 90.0])
    got = jax.jit(jax.vmap(lambda v: f.evaluate_with(jnp.asarray(X), v)))(batch)
    for i, kT in enumerate([20.0, 45.0, 90.0]):
        w = (ref_blackbody(X, 3e-4, kT) + ref_powerlaw(X, 3.2e-2, 50.0, -1.7)) * 0.5
        np.testing.assert_allclose(np.asarray(got[i]), w, rtol=RTOL)


def test_composite_right_factor_is_dimensionless() -> None:
    """Every function inside a right-hand factor is a pure number, as in astromodels."""
    f = Powerlaw(K=3.2e-2, piv=50.0, index=-1.7) * (Constant(k=2.0) + Line(a=1.0, b=0.5))
    assert list(f.parameters) == ["K_1", "piv_1", "index_1", "k_2", "a_3", "b_3"]
    assert f.K_1.unit == Y_UNIT
    assert f.k_2.unit == u.dimensionless_unscaled
    assert f.a_3.unit == u.dimensionless_unscaled
    assert f.b_3.unit == u.Unit("1/keV")
    want = ref_powerlaw(X, 3.2e-2, 50.0, -1.7) * (2.0 + ref_line(X, 1.0, 0.5))
    np.testing.assert_allclose(np.asarray(f(X)), want, rtol=RTOL)
    again = function_from_dict(f.to_dict())
    assert [p.unit for p in again.parameters.values()] == [p.unit for p in f.parameters.values()]
    np.testing.assert_array_equal(np.asarray(again(X)), np.asarray(f(X)))


def test_arithmetic_with_numbers() -> None:
    pl_vals = dict(K=3.2e-2, piv=50.0, index=-1.7)
    ref = ref_powerlaw(X, **pl_vals)
    two = 2 * Powerlaw(**pl_vals)
    assert list(two.parameters) == ["K_1", "piv_1", "index_1"]
    np.testing.assert_allclose(np.asarray(two(X)), 2 * ref, rtol=RTOL)
    np.testing.assert_allclose(np.asarray((Powerlaw(**pl_vals) * 2)(X)), 2 * ref, rtol=RTOL)
    np.testing.assert_allclose(np.asarray((Powerlaw(**pl_vals) - 1.5)(X)), ref - 1.5, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(np.asarray((1.5 - Powerlaw(**pl_vals))(X)), 1.5 - ref, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(np.asarray((Powerlaw(**pl_vals) + 0.25)(X)), ref + 0.25, rtol=RTOL)
    np.testing.assert_allclose(np.asarray((Powerlaw(**pl_vals) / 4)(X)), ref / 4, rtol=RTOL)
    np.testing.assert_allclose(np.asarray((3 / Powerlaw(**pl_vals))(X)), 3 / ref, rtol=RTOL)
    ratio = Powerlaw(**pl_vals) / Constant(k=4.0)
    np.testing.assert_allclose(np.asarray(ratio(X)), ref / 4.0, rtol=RTOL)
    assert ratio.k_2.unit == u.dimensionless_unscaled
    diff = Blackbody(K=3e-4, kT=45.0) - Powerlaw(**pl_vals)
    np.testing.assert_allclose(
        np.asarray(diff(X)), ref_blackbody(X, 3e-4, 45.0) - ref, rtol=1e-10, atol=1e-15
    )
    with pytest.raises(TypeError):
        Powerlaw() + "a string"  # type: ignore[operator]


def test_nested_composites_keep_left_to_right_numbering() -> None:
    a = Blackbody(K=3e-4, kT=45.0) + Powerlaw(K=3.2e-2, piv=50.0, index=-1.7)
    b = Gaussian(F=2.5, mu=511.0, sigma=300.0) + Constant(k=1e-3)
    f = a + b
    assert list(f.parameters) == ["K_1", "kT_1", "K_2", "piv_2", "index_2", "F_3", "mu_3", "sigma_3", "k_4"]
    want = (
        ref_blackbody(X, 3e-4, 45.0) + ref_powerlaw(X, 3.2e-2, 50.0, -1.7)
        + ref_gaussian(X, 2.5, 511.0, 300.0) + 1e-3
    )
    np.testing.assert_allclose(np.asarray(f(X)), want, rtol=RTOL)
    assert list(f.components) == ["Blackbody", "Powerlaw", "Gaussian", "Constant"]


def test_the_same_instance_twice_raises() -> None:
    p = Powerlaw()
    with pytest.raises(ModelError):
        p + p
    with pytest.raises(ModelError):
        (p + Blackbody()) + p
    with pytest.raises(ModelError):
        p - p


def test_refused_product_leaves_the_function_unchanged() -> None:
    """``p * p`` is refused; the refusal must not have relabelled p's units (a right
    factor is made dimensionless only when the product is actually built)."""
    p = Powerlaw()
    with pytest.raises(ModelError):
        p * p
    assert p.K.unit == Y_UNIT
    q = Powerlaw()
    s = q + Blackbody()
    with pytest.raises(ModelError):
        s * q
    assert q.K.unit == Y_UNIT


def test_unknown_attribute_raises_unknown_name_error() -> None:
    f = Blackbody() + Powerlaw_flux()
    with pytest.raises(UnknownNameError):
        f.kT_3
    with pytest.raises(AttributeError):
        f.not_a_parameter
    assert not hasattr(f, "kT_3")
    assert hasattr(f, "kT_1")
    assert not hasattr(Powerlaw(), "foo")
    assert "K_1" in dir(f) and "index" in dir(Powerlaw())


# ---------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------
def _state(f) -> dict[str, tuple]:
    return {
        name: (p.value, p.bounds, p.free, p.unit, p.prior, p.effective_prior)
        for name, p in f.parameters.items()
    }


def _customised_simple():
    f = Band(K=2e-2, alpha=-0.8, xp=350.0, beta=-2.4)
    f.alpha.bounds = (-1.2, 1.0)
    f.xp.prior = Log_uniform_prior(10.0, 1e4)
    f.K.prior = Log_normal(math.log(2e-2), 1.0)
    f.beta.prior = GaussianPrior(-2.3, 0.3)
    f.piv.value = 150.0
    f.beta.free = False
    return f


def _customised_sum():
    bb, pf = Blackbody(K=3e-4, kT=45.0), Powerlaw_flux(F=5.5, index=-2.3, a=10.0, b=1000.0)
    f = bb + pf
    f.kT_1.prior = Log_uniform_prior(1.0, 1e3)
    f.index_2.prior = Uniform_prior(-4.0, 0.0)
    f.a_2.free = True
    f.K_1.bounds = (1e-10, 1.0)
    return f


def _customised_product():
    f = (Blackbody(K=3e-4, kT=45.0) + Powerlaw(K=3.2e-2, piv=50.0, index=-1.7)) * Constant(k=2)
    f.k_3.bounds = (0.5, 4.0)
    f.k_3.prior = GaussianPrior(2.0, 0.5)
    f.index_2.prior = jointfit.Gaussian(mu=-2.0, sigma=0.5)
    return f


def _customised_numbers():
    return 2.0 * Powerlaw(K=3.2e-2, piv=50.0, index=-1.7) - 1.5


@pytest.mark.parametrize(
    "make",
    [_customised_simple, _customised_sum, _customised_product, _customised_numbers,
     lambda: Gaussian(F=2.5, mu=511.0, sigma=30.0), lambda: Line(a=2.5, b=1.5e-3) / Constant(k=3.0)],
    ids=["band", "sum", "product", "numbers", "gaussian", "ratio"],
)
def test_dict_round_trip(make: Callable[[], Any]) -> None:
    f = make()
    data = f.to_dict()
    again = function_from_dict(data)
    assert type(again) is type(f)
    assert list(again.parameters) == list(f.parameters)
    assert _state(again) == _state(f)
    if isinstance(f, CompositeFunction):
        assert again.expression == f.expression
        assert list(again.components) == list(f.components)
    assert again.to_dict() == data
    np.testing.assert_array_equal(np.asarray(again(X)), np.asarray(f(X)))
    # independent objects
    first = next(iter(again.parameters.values()))
    assert first is not next(iter(f.parameters.values()))


def test_round_trip_through_yaml_text() -> None:
    import yaml

    f = _customised_product()
    again = function_from_dict(yaml.safe_load(yaml.safe_dump(f.to_dict())))
    assert _state(again) == _state(f)
    np.testing.assert_array_equal(np.asarray(again(X)), np.asarray(f(X)))


# ---------------------------------------------------------------------------------------
# the Gaussian line as a prior
# ---------------------------------------------------------------------------------------
def test_gaussian_function_assigned_as_prior() -> None:
    par = jointfit.Parameter("index", -1.0)
    par.prior = Gaussian(mu=-1.0, sigma=1)
    assert par.prior == GaussianPrior(-1.0, 1.0)
    x = np.linspace(-31.0, 29.0, 121)
    np.testing.assert_allclose(
        np.asarray(par.prior.log_pdf(x)), stats.norm(-1.0, 1.0).logpdf(x), rtol=1e-10, atol=1e-12
    )
    # on a spectral parameter, through the function's attribute
    pl = Powerlaw()
    pl.index.prior = Gaussian(mu=-2.0, sigma=0.5)
    assert pl.index.effective_prior == GaussianPrior(-2.0, 0.5).truncated(-10.0, 10.0)
    with pytest.raises(PriorError):
        pl.index.prior = Gaussian(F=3.0, mu=-2.0, sigma=0.5)


def test_unknown_attribute_of_a_simple_function_names_its_parameters():
    with pytest.raises(UnknownNameError, match=r"Powerlaw has no attribute 'foo'; its parameters are \['K', 'piv', 'index'\]"):
        Powerlaw().foo  # noqa: B018
    assert not hasattr(Powerlaw(), "foo")


def test_blackbody_gradient_is_finite_at_zero_temperature():
    grad = jax.grad(lambda kt: Blackbody.evaluate(jnp.array(5.0), 1.0, kt))(0.0)
    assert np.isfinite(float(grad))


def test_composition_with_redshift_shifts_any_shape():
    from jointfit import Blackbody, Constant, Redshift
    from jointfit.functions import function_from_dict

    x = np.geomspace(0.5, 50.0, 9)
    shifted = Powerlaw(K=2.0, index=-1.7).of(Redshift(z=0.8))
    assert list(shifted.parameters) == ["K_1", "piv_1", "index_1", "z_2"]
    assert shifted.expression == "Powerlaw_1.of(Redshift_2)"
    np.testing.assert_allclose(shifted(x), 2.0 * (1.8 * x) ** -1.7, rtol=1e-13)
    mixed = (Blackbody(K=1e-3, kT=3.0) + Powerlaw(K=2.0)).of(Redshift(z=0.5)) * Constant(k=0.7)
    reference = 0.7 * (1e-3 * (1.5 * x) ** 2 / np.expm1(1.5 * x / 3.0) + 2.0 * (1.5 * x) ** -2.01)
    np.testing.assert_allclose(mixed(x), reference, rtol=1e-12)
    # Redshift is an argument and Constant a factor: the components are the added
    # spectra, each with the factor that multiplies their sum
    assert list(mixed.components) == ["Blackbody", "Powerlaw"]
    np.testing.assert_allclose(mixed.components["Blackbody"](x, mixed.current_values()),
                               0.7 * 1e-3 * (1.5 * x) ** 2 / np.expm1(1.5 * x / 3.0), rtol=1e-12)
    assert mixed.z_3.unit == u.dimensionless_unscaled and mixed.K_1.unit == u.Unit("1/(cm2 s keV3)")
    again = function_from_dict(mixed.to_dict())
    assert again.expression == mixed.expression
    np.testing.assert_array_equal(again(x), mixed(x))
    gradient = jax.grad(lambda z: shifted.evaluate_with(jnp.array(3.0), {**shifted.current_values(), "z_2": z}))
    assert float(gradient(0.8)) == pytest.approx(2.0 * -1.7 * 3.0 ** -1.7 * 1.8 ** -2.7, rel=1e-12)
    with pytest.raises(ModelError, match="takes a function"):
        Powerlaw().of(2.0)


def test_a_user_function_shadowing_a_builtin_name_is_announced():
    import importlib

    from jointfit import JointfitWarning
    from jointfit.functions import base, spectral

    with pytest.warns(JointfitWarning, match="replaces the one of jointfit.functions.spectral"):
        class Powerlaw(base.SpectralFunction):  # noqa: F811 - deliberately shadows the built-in
            K = base.ParameterSpec(1.0)

            @staticmethod
            def evaluate(x, K):
                return K * x
    base._FUNCTION_TYPES["Powerlaw"] = spectral.Powerlaw  # restore for the other tests
    assert importlib.import_module("jointfit").Powerlaw is spectral.Powerlaw
