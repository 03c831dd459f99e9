"""XYLike end to end: likelihood values, bad input, and parameter recovery."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, stats

from jointfit import Log_uniform_prior, Model, PointSource, Powerlaw, Uniform_prior
from jointfit.errors import DataError, PluginError
from jointfit_xy import XYLike

X = np.geomspace(1.0, 100.0, 40)


def powerlaw_model(**values) -> Model:
    spectrum = Powerlaw(**values)
    spectrum.K.prior = Log_uniform_prior(lower_bound=1e-2, upper_bound=1e3)
    spectrum.index.prior = Uniform_prior(lower_bound=-4, upper_bound=0)
    return Model(PointSource("src", ra=10, dec=20, spectral_shape=spectrum))


def test_gaussian_loglike_matches_scipy():
    rng = np.random.default_rng(3)
    y, yerr = rng.normal(5, 1, X.size), rng.uniform(0.5, 2, X.size)
    plugin = XYLike("xy", X, y, yerr)
    space = powerlaw_model(K=20.0, index=-1.2).compile()
    loglike = jax.jit(plugin.setup(space))
    expected = stats.norm(20.0 * X**-1.2, yerr).logpdf(y)
    values = space.unpack(space.initial_theta)
    np.testing.assert_allclose(plugin.pointwise_loglike(values), expected, rtol=1e-12)
    assert float(loglike(values)) == pytest.approx(expected.sum(), rel=1e-12)


def test_poisson_loglike_matches_scipy_including_log_factorial():
    counts = np.random.default_rng(4).poisson(20.0 * X**-0.8).astype(float)
    plugin = XYLike("xy", X, counts, poisson=True)
    space = powerlaw_model(K=20.0, index=-0.8).compile()
    plugin.setup(space)
    values = space.unpack(space.initial_theta)
    expected = stats.poisson(20.0 * X**-0.8).logpmf(counts)
    np.testing.assert_allclose(plugin.pointwise_loglike(values), expected, rtol=1e-12)


def test_bad_input_is_refused_with_named_errors():
    with pytest.raises(DataError, match="x has 40 points but y has 3"):
        XYLike("xy", X, [1, 2, 3], [1, 1, 1])
    with pytest.raises(DataError, match=r"y has 1 NaN/inf value\(s\), first at index 2"):
        XYLike("xy", X[:4], [1, 2, np.nan, 3], np.ones(4))
    with pytest.raises(DataError, match=r"yerr must be > 0; yerr\[1\] = 0.0"):
        XYLike("xy", X[:3], [1, 2, 3], [1, 0, 1])
    with pytest.raises(DataError, match="yerr is required"):
        XYLike("xy", X[:3], [1, 2, 3])
    with pytest.raises(DataError, match=r"non-negative integer counts; y\[1\] = 2.5"):
        XYLike("xy", X[:3], [1, 2.5, 3], poisson=True)
    with pytest.raises(DataError, match="yerr is meaningless"):
        XYLike("xy", X[:3], [1, 2, 3], [1, 1, 1], poisson=True)
    with pytest.raises(PluginError, match="identifier"):
        XYLike("x.y", X[:3], [1, 2, 3], [1, 1, 1])
    plugin = XYLike("xy", X[:3], [1, 2, 3], [1, 1, 1])
    plugin.assign_to_source("nowhere")
    with pytest.raises(PluginError, match=r"assigned to \['nowhere'\]"):
        plugin.setup(powerlaw_model().compile())
    with pytest.raises(PluginError, match="not set up"):
        XYLike("xy", X[:3], [1, 2, 3], [1, 1, 1]).expected({})


def test_map_recovers_simulated_parameters_within_their_errors():
    truth = Powerlaw(K=30.0, index=-1.5)
    plugin = XYLike.from_function("xy", truth, X, yerr=0.05 * truth(X), seed=11)
    space = powerlaw_model().compile()
    loglike = plugin.setup(space)

    @jax.jit
    def neg_log_posterior(theta):
        return -(loglike(space.unpack(theta)) + space.log_prior(theta))

    gradient = jax.jit(jax.grad(neg_log_posterior))
    support = [prior.support for prior in space.priors.values()]  # where the posterior is finite
    fit = optimize.minimize(lambda t: float(neg_log_posterior(t)), np.array([10.0, -2.0]),
                            jac=lambda t: np.asarray(gradient(t)), method="L-BFGS-B", bounds=support)
    assert fit.success
    covariance = np.linalg.inv(np.asarray(jax.hessian(neg_log_posterior)(jnp.asarray(fit.x))))
    errors = np.sqrt(np.diag(covariance))
    for estimate, error, true in zip(fit.x, errors, (30.0, -1.5)):
        assert abs(estimate - true) < 3 * error
    assert errors[1] < 0.05  # the data constrain the index tightly


def test_assigned_plugin_sees_only_its_source_and_simulate_vectorises():
    first, second = Powerlaw(K=10.0, index=-1.0), Powerlaw(K=5.0, index=-2.0)
    model = Model(PointSource("a", 0, 0, first), PointSource("b", 1, 1, second))
    space = model.compile()
    values = space.unpack(space.initial_theta)
    only_a = XYLike("a_only", X, np.ones_like(X), np.ones_like(X))
    only_a.assign_to_source("a")
    everything = XYLike("all", X, np.ones_like(X), np.ones_like(X))
    only_a.setup(space)
    everything.setup(space)
    np.testing.assert_allclose(only_a.expected(values), 10.0 / X, rtol=1e-14)
    np.testing.assert_allclose(everything.expected(values), 10.0 / X + 5.0 / X**2, rtol=1e-14)
    keys = jax.random.split(jax.random.PRNGKey(0), 2000)
    draws = jax.vmap(lambda key: everything.simulate(values, key))(keys)
    assert draws.shape == (2000, X.size)
    np.testing.assert_allclose(draws.mean(axis=0), 10.0 / X + 5.0 / X**2, atol=5 * 1 / np.sqrt(2000))
