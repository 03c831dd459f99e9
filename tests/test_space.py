"""The compiled parameter space: unpack, log-prior, prior transform, numpyro model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jointfit import Blackbody, Line, Model, Parameter, PointSource, Powerlaw, Uniform_prior
from jointfit.errors import AnalysisError, ModelError, PriorError
from jointfit.examples.point_source_fluxes import build_model

KT_SRC1 = "src1.spectrum.main.Blackbody.kT"
KT_SRC2 = "src2.spectrum.main.composite.kT_1"


def scipy_log_prior(theta: np.ndarray) -> float:
    """Independent log-prior of the tutorial model, from scipy.stats."""
    k1, k2, kt, f2, index = theta
    return float(
        stats.lognorm(s=1, scale=1e-7).logpdf(k1)
        + stats.lognorm(s=1, scale=1e-6).logpdf(k2)
        + stats.lognorm(s=2, scale=300).logpdf(kt)
        + stats.lognorm(s=1, scale=1e2).logpdf(f2)
        + stats.norm(-1, 1).logpdf(index)
    )


@pytest.fixture(scope="module")
def space():
    return build_model().compile()


def test_free_names_and_unpack_apply_links(space):
    assert space.free_names == (
        "src1.spectrum.main.Blackbody.K",
        "src2.spectrum.main.composite.K_1",
        KT_SRC2,
        "src2.spectrum.main.composite.F_2",
        "src2.spectrum.main.composite.index_2",
    )
    theta = jnp.array([2e-7, 3e-6, 456.0, 120.0, -1.3])
    values = jax.jit(space.unpack)(theta)
    assert float(values[KT_SRC1]) == 456.0
    assert float(values["src2.spectrum.main.composite.a_2"]) == 10.0
    assert set(values) == set(space.names)
    np.testing.assert_array_equal(space.pack(values), theta)


def test_log_prior_matches_scipy_and_is_jit_vmap_grad(space):
    rng = np.random.default_rng(1)
    thetas = np.column_stack([
        np.exp(rng.normal(np.log(1e-7), 1, 64)), np.exp(rng.normal(np.log(1e-6), 1, 64)),
        np.exp(rng.normal(np.log(300), 2, 64)), np.exp(rng.normal(np.log(1e2), 1, 64)),
        rng.normal(-1, 1, 64),
    ])
    batched = jax.jit(jax.vmap(space.log_prior))(thetas)
    expected = [scipy_log_prior(t) for t in thetas]
    np.testing.assert_allclose(batched, expected, rtol=1e-12)
    np.testing.assert_allclose(space.log_prior(thetas), expected, rtol=1e-12)  # leading axes
    gradient = jax.grad(space.log_prior)(jnp.asarray(thetas[0]))
    assert np.all(np.isfinite(gradient))
    # d/d index of the Gaussian(-1, 1) prior is -(index + 1)
    assert float(gradient[4]) == pytest.approx(-(thetas[0, 4] + 1), rel=1e-12)
    outside = thetas[0].copy()
    outside[0] = -1.0  # K below its bound 0
    assert float(space.log_prior(outside)) == -np.inf


def test_prior_transform_maps_the_cube_through_each_inverse_cdf(space):
    u = np.random.default_rng(2).uniform(size=(500, space.n_free))
    theta = np.asarray(jax.jit(space.prior_transform)(u))
    assert theta.shape == (500, 5)
    np.testing.assert_allclose(theta[:, 2], stats.lognorm(s=2, scale=300).ppf(u[:, 2]), rtol=1e-10)
    np.testing.assert_allclose(theta[:, 4], stats.norm(-1, 1).ppf(u[:, 4]), rtol=1e-10)
    assert np.all(np.isfinite(space.log_prior(theta)))


def test_bounds_truncate_the_prior_in_all_faces():
    spectrum = Powerlaw()
    spectrum.index.prior = Uniform_prior(lower_bound=-20, upper_bound=20)  # bounds are (-10, 10)
    spectrum.K.prior = Uniform_prior(lower_bound=0.5, upper_bound=2)
    space = Model(PointSource("p", 0, 0, spectrum)).compile()
    i = space.free_names.index("p.spectrum.main.Powerlaw.index")
    u = np.linspace(0, 1, 11)
    cube = np.tile(np.full(space.n_free, 0.5), (11, 1))
    cube[:, i] = u
    np.testing.assert_allclose(np.asarray(space.prior_transform(cube))[:, i], -10 + 20 * u, rtol=1e-14)
    assert space.priors["p.spectrum.main.Powerlaw.index"] == Uniform_prior(-10, 10)


def test_numpyro_model_has_the_same_log_density(space):
    from numpyro.infer.util import log_density

    theta = jnp.array([2e-7, 3e-6, 456.0, 120.0, -1.3])
    params = dict(zip(space.free_names, theta))
    model = space.numpyro_model(loglike=lambda values: -0.5 * (values[KT_SRC1] / 100.0) ** 2)
    density, trace = log_density(model, (), {}, params)
    assert float(density) == pytest.approx(float(space.log_prior(theta)) - 0.5 * 4.56**2, rel=1e-12)
    assert float(trace[KT_SRC1]["value"]) == 456.0  # linked values recorded as deterministic sites


def test_missing_priors_are_reported_by_name():
    model = Model(PointSource("p", 0, 0, Powerlaw()), PointSource("q", 0, 0, Blackbody()))
    model.p.spectrum.main.Powerlaw.K.prior = Uniform_prior(lower_bound=0.1, upper_bound=10)
    space = model.compile()
    assert space.missing_priors == ("p.spectrum.main.Powerlaw.index", "q.spectrum.main.Blackbody.K",
                                    "q.spectrum.main.Blackbody.kT")
    message = "p.spectrum.main.Powerlaw.index, q.spectrum.main.Blackbody.K, q.spectrum.main.Blackbody.kT"
    for face in (lambda: space.log_prior(space.initial_theta),
                 lambda: space.prior_transform(np.full(3, 0.5)), space.numpyro_model):
        with pytest.raises(PriorError, match=message):
            face()
    # an MLE needs no priors: unpack still works
    assert float(space.unpack(space.initial_theta)["p.spectrum.main.Powerlaw.K"]) == 1.0


def test_space_is_frozen_against_later_model_changes():
    model = build_model()
    space = model.compile()
    model.src2.spectrum.main.composite.index_2.fix = True
    model.src2.spectrum.main.composite.a_2.value = 20.0
    assert space.n_free == 5
    assert space.unpack(space.initial_theta)["src2.spectrum.main.composite.a_2"] == 10.0


def test_chained_links_and_free_link_function_parameters():
    model = Model(PointSource("a", 0, 0, Powerlaw()), PointSource("b", 0, 0, Powerlaw()),
                  PointSource("c", 0, 0, Powerlaw()))
    model.link("c.spectrum.main.Powerlaw.index", "b.spectrum.main.Powerlaw.index", Line(a=-1.0, b=1.0))
    model.link("b.spectrum.main.Powerlaw.index", "a.spectrum.main.Powerlaw.index")
    slope = model["b.spectrum.main.Powerlaw.index.Line.b"]
    slope.free = True
    space = model.compile()
    assert "b.spectrum.main.Powerlaw.index.Line.b" in space.free_names
    theta = space.pack({**{k: 1.0 for k in space.free_names}, "a.spectrum.main.Powerlaw.index": -2.0,
                        "b.spectrum.main.Powerlaw.index.Line.b": 3.0})
    values = space.unpack(theta)
    assert float(values["b.spectrum.main.Powerlaw.index"]) == -6.0
    assert float(values["c.spectrum.main.Powerlaw.index"]) == -7.0


def test_spectra_sum_the_assigned_sources(space):
    values = space.unpack(space.initial_theta)
    energies = jnp.geomspace(1.0, 1e3, 7)
    both = space.point_source_spectrum()(energies, values)
    one = space.point_source_spectrum(["src1"])(energies, values)
    two = space.spectrum("src2")(energies, values)
    np.testing.assert_allclose(both, one + two, rtol=1e-14)
    bb = 1e-4 * energies**2 / np.expm1(energies / 30.0)
    np.testing.assert_allclose(one, bb, rtol=1e-12)
    with pytest.raises(AnalysisError, match="unknown source"):
        space.point_source_spectrum(["src9"])


def test_extra_parameters_join_the_space():
    model = build_model()
    nuisance = Parameter("cons", 1.0, bounds=(0.8, 1.2), prior=Uniform_prior(0.8, 1.2))
    space = model.compile(extra_parameters={"s1.cons": nuisance})
    assert space.free_names[-1] == "s1.cons"
    with pytest.raises(ModelError, match="same paths"):
        model.compile(extra_parameters={KT_SRC2: nuisance})


def test_constrain_and_unconstrain_are_inverse_and_respect_supports(space):
    lower, upper = space.support_bounds()
    assert lower[0] == 0.0 and np.isinf(upper[0])           # Log_normal on K >= 0
    assert np.isinf(lower[4]) and np.isinf(upper[4])         # Gaussian on an open index
    theta = jnp.array([2e-7, 3e-6, 456.0, 120.0, -1.3])
    np.testing.assert_allclose(space.constrain(space.unconstrain(theta)), theta, rtol=1e-12)
    z = np.random.default_rng(5).normal(0, 5, (100, space.n_free))
    inside = np.asarray(space.constrain(z))
    assert np.all(inside[:, :4] > 0)
    bounded = Model(PointSource("p", 0, 0, Powerlaw())).compile()   # index bounded to (-10, 10)
    values = np.asarray(bounded.constrain(np.array([[0.0, 40.0], [0.0, -40.0], [0.0, 0.0]])))
    assert np.all(values[:, 1] <= 10) and np.all(values[:, 1] >= -10) and values[2, 1] == 0.0


def test_space_is_immutable(space):
    with pytest.raises(AttributeError, match="immutable"):
        space.free_names = ("x",)
