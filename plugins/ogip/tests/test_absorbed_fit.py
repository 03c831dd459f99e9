"""An absorbed power law through an X-ray-like response: N_H, index and K recovered."""

from __future__ import annotations

import jax
import numpy as np
from scipy import optimize, stats

from jointfit import Log_normal, Model, PointSource, Powerlaw, TbAbs, Uniform_prior
from jointfit_ogip import OGIPLike, Response


def soft_xray_response() -> Response:
    """0.2-12 keV, 150 eV-wide Gaussian redistribution into 0.3-10 keV channels,
    500 cm2 flat: enough to see the O K edge and the low-energy cut-off."""
    edges = np.geomspace(0.2, 12.0, 301)
    channel_edges = np.linspace(0.3, 10.0, 195)
    centres = np.sqrt(edges[:-1] * edges[1:])
    cdf = stats.norm.cdf(channel_edges[None, :], centres[:, None], 0.15 / 2.355)
    matrix = np.diff(cdf, axis=1) * 500.0
    return Response(edges[:-1], edges[1:], np.arange(1, channel_edges.size), channel_edges[:-1],
                    channel_edges[1:], matrix, "soft-xray", has_area=True)


def test_absorbed_powerlaw_parameters_are_recovered_within_three_sigma():
    truth = {"K_1": 0.02, "index_1": -1.8, "NH_2": 2.0}
    source = Powerlaw(K=truth["K_1"], index=truth["index_1"]) * TbAbs(NH=truth["NH_2"])
    plugin = OGIPLike.from_function("xray", source, soft_xray_response(), exposure=2e4, seed=11)
    assert plugin.statistic == "cstat"

    shape = Powerlaw(K=0.01, index=-2.0) * TbAbs(NH=1.0)
    shape.K_1.prior = Log_normal(mu=np.log(0.01), sigma=3.0)
    shape.index_1.prior = Uniform_prior(lower_bound=-4.0, upper_bound=0.0)
    shape.NH_2.prior = Uniform_prior(lower_bound=0.01, upper_bound=10.0)
    space = Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)).compile(
        extra_parameters=plugin.nuisance_parameters)
    loglike = plugin.setup(space)

    def neg_loglike(theta):
        return -loglike(space.unpack(theta))

    objective, gradient = jax.jit(neg_loglike), jax.jit(jax.grad(neg_loglike))
    fit = optimize.minimize(lambda t: float(objective(t)), np.asarray(space.initial_theta, dtype=float),
                            jac=lambda t: np.asarray(gradient(t)), method="L-BFGS-B",
                            bounds=[(1e-4, 1.0), (-4.0, 0.0), (0.01, 10.0)])
    assert fit.success
    errors = np.sqrt(np.diag(np.linalg.inv(np.asarray(jax.hessian(neg_loglike)(fit.x)))))
    names = [name.split(".")[-1] for name in space.free_names]
    for name, value, error in zip(names, fit.x, errors):
        assert abs(value - truth[name]) < 3.0 * error, (name, value, error)
    # 2e4 s at 500 cm2 measure N_H to a few per cent
    assert errors[names.index("NH_2")] < 0.1 * truth["NH_2"]
