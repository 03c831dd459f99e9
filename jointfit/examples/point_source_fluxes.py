"""The model of 3ML's "Point Source Fluxes and Multiple Sources" tutorial.

Two point sources: ``src1`` a blackbody, ``src2`` a blackbody plus a power law
normalised by its 10-500 keV photon flux, with the tutorial's priors and the
blackbody temperature linked across the sources.

Run ``python -m jointfit.examples.point_source_fluxes [output folder]``: it prints the
model summary, saves the model to YAML and reads it back, evaluates the compiled
log-prior and prior transform, simulates the tutorial's two spectra through its GBM-like
response with the OGIP plugin (found through its entry point), and finds the maximum
a posteriori point of the joint fit. (Sampling and fluxes join as they land.)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import jax
import numpy as np
from scipy import optimize

from jointfit import (Blackbody, Gaussian, Log_normal, Model, PointSource, Powerlaw, Powerlaw_flux,
                      load_plugin, load_model)

TRUTH = {
    "src1.spectrum.main.Blackbody.K": 5e-8,
    "src2.spectrum.main.composite.K_1": 1e-7,
    "src2.spectrum.main.composite.kT_1": 500.0,
    "src2.spectrum.main.composite.F_2": 2e2,
    "src2.spectrum.main.composite.index_2": -1.5,
}


def build_model() -> Model:
    """The tutorial's two-source model with its priors and the kT link."""
    spectrum_1 = Blackbody()
    spectrum_1.K.prior = Log_normal(mu=np.log(1e-7), sigma=1)
    spectrum_1.kT.prior = Log_normal(mu=np.log(300), sigma=2)

    spectrum_2 = Blackbody() + Powerlaw_flux(a=10, b=500)
    spectrum_2.K_1.prior = Log_normal(mu=np.log(1e-6), sigma=1)
    spectrum_2.kT_1.prior = Log_normal(mu=np.log(300), sigma=2)
    spectrum_2.F_2.prior = Log_normal(mu=np.log(1e2), sigma=1)
    spectrum_2.F_2.bounds = (None, None)
    spectrum_2.index_2.prior = Gaussian(mu=-1.0, sigma=1)
    spectrum_2.index_2.bounds = (None, None)

    model = Model(
        PointSource("src1", ra=1, dec=20, spectral_shape=spectrum_1),
        PointSource("src2", ra=2, dec=-10, spectral_shape=spectrum_2),
    )
    model.link(model.src1.spectrum.main.Blackbody.kT, model.src2.spectrum.main.composite.kT_1)
    return model


def main(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    model = build_model()
    print(model)

    path = output / "point_source_fluxes_model.yml"
    model.save(path, overwrite=True)
    reloaded = load_model(path)
    print(f"\nsaved to {path} and read back: {len(reloaded.free_parameters)} free, "
          f"{len(reloaded.linked_parameters)} linked parameter(s)")

    space = reloaded.compile()
    theta = space.initial_theta
    print(f"\nlog-prior at the current values: {float(jax.jit(space.log_prior)(theta)):.6f}")

    u = jax.random.uniform(jax.random.PRNGKey(0), (1000, space.n_free))
    draws = jax.jit(space.prior_transform)(u)
    values = jax.vmap(space.unpack)(draws)
    kt1 = np.asarray(values["src1.spectrum.main.Blackbody.kT"])
    kt2 = np.asarray(values["src2.spectrum.main.composite.kT_1"])
    print("1000 prior draws through the compiled unit-cube transform; medians:")
    for name, column in zip(space.free_names, np.asarray(draws).T):
        print(f"  {name:40s} {np.median(column):.4g}")
    print(f"the linked src1 kT equals src2 kT_1 in every draw: {bool(np.array_equal(kt1, kt2))}")

    fit_simulated_spectra(reloaded)


def simulate_spectra() -> list:
    """The tutorial's two spectra, simulated through its demo response (fixed seeds)."""
    spectrum_like = load_plugin("DispersionSpectrumLike")
    response = spectrum_like.demo_response_file()
    background = Powerlaw(K=1, index=-1.5, piv=1.0e3)
    s1 = spectrum_like.from_function("s1", Blackbody(K=5e-8, kT=500.0), response,
                                     background_function=background, seed=1)
    s2 = spectrum_like.from_function(
        "s2", Blackbody(K=1e-7, kT=500.0) + Powerlaw_flux(F=2e2, index=-1.5, a=10, b=500), response,
        background_function=Powerlaw(K=1, index=-1.5, piv=1.0e3), seed=2)
    s1.assign_to_source("src1")
    s2.assign_to_source("src2")
    return [s1, s2]


def fit_simulated_spectra(model: Model) -> None:
    plugins = simulate_spectra()
    extra = {path: p for plugin in plugins for path, p in plugin.nuisance_parameters.items()}
    space = model.compile(extra_parameters=extra)
    loglikes = [plugin.setup(space) for plugin in plugins]

    def neg_log_posterior(z):
        theta = space.constrain(z)
        values = space.unpack(theta)
        return -(sum(loglike(values) for loglike in loglikes) + space.log_prior(theta))

    objective, gradient = jax.jit(neg_log_posterior), jax.jit(jax.grad(neg_log_posterior))
    start = space.unconstrain(np.array([1e-7, 1e-6, 300.0, 100.0, -1.0]))
    best = optimize.minimize(lambda z: float(objective(z)), np.asarray(start),
                             jac=lambda z: np.asarray(gradient(z)), method="BFGS")
    theta = np.asarray(space.constrain(best.x))

    def in_theta(t):
        values = space.unpack(t)
        return -(sum(loglike(values) for loglike in loglikes) + space.log_prior(t))

    errors = np.sqrt(np.diag(np.linalg.inv(np.asarray(jax.hessian(in_theta)(theta)))))
    print(f"\nsimulated {', '.join(f'{p.name} ({p.statistic}, {p.n_bins} channels)' for p in plugins)}; "
          "maximum a posteriori point, 1-sigma errors from the Hessian:")
    for name, value, error in zip(space.free_names, theta, errors):
        print(f"  {name:40s} {value:11.5g} +/- {error:9.3g}   simulated with {TRUTH[name]:.5g} "
              f"({(value - TRUTH[name]) / error:+.1f} sigma)")
    values = space.unpack(theta)
    for plugin, loglike in zip(plugins, loglikes):
        print(f"  -log L({plugin.name}) = {-float(loglike(values)):.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="jointfit-demo-")))
