"""Long statistical check: W-stat fits of many simulated spectra give calibrated errors."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import optimize

from jointfit import Powerlaw
from jointfit_ogip import OGIPLike

from test_ogip import powerlaw_model, toy_response


@pytest.mark.slow
def test_wstat_pulls_are_standard_normal():
    """Fit 120 independent simulations; (estimate - truth) / Hessian error must look N(0, 1)."""
    truth = (30.0, -1.7)
    response = toy_response()
    pulls = []
    for seed in range(120):
        plugin = OGIPLike.from_function("sim", Powerlaw(K=truth[0], index=truth[1]), response,
                                        background_function=Powerlaw(K=2.0, index=-1.0), exposure=20.0,
                                        seed=seed)
        space = powerlaw_model(K=20.0, index=-2.0).compile(extra_parameters=plugin.nuisance_parameters)
        loglike = plugin.setup(space)

        def neg_loglike(theta, loglike=loglike, space=space):
            return -loglike(space.unpack(theta))

        objective, gradient = jax.jit(neg_loglike), jax.jit(jax.grad(neg_loglike))
        fit = optimize.minimize(lambda t: float(objective(t)), np.array([20.0, -2.0]),
                                jac=lambda t: np.asarray(gradient(t)), method="L-BFGS-B",
                                bounds=[(1e-3, 1e3), (-4.0, 0.0)])
        errors = np.sqrt(np.diag(np.linalg.inv(np.asarray(jax.hessian(neg_loglike)(fit.x)))))
        pulls.append((fit.x - np.asarray(truth)) / errors)
    pulls = np.asarray(pulls)
    # N(0, 1) over 120 draws: the mean within 4 standard errors, the spread within 20 %
    assert np.all(np.abs(pulls.mean(axis=0)) < 4 / np.sqrt(len(pulls)))
    assert np.all(np.abs(pulls.std(axis=0) - 1.0) < 0.2)
