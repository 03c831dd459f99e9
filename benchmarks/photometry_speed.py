"""What a ``PhotometryLike`` adds to the seed-003 joint log-likelihood, per call.

Target: a PhotometryLike evaluation adds under 5 % to the seed-003 joint log-likelihood
per call.

The seed-003 analysis is benchmarks/seed003_sampling.py's: the 3ML tutorial "Point
Source Fluxes and Multiple Sources" (two GBM-like spectra written as PHA files from
fixed seeds and read back, two point sources, kT linked, W-stat, 5 free parameters).
Measured in the same run, the two analyses' calls interleaved (so that drift of the
machine hits both alike), medians of many repeats:

* without: ``BayesianAnalysis(model, DataList(s1, s2)).density``;
* with: the same plus a GROND-like ``PhotometryLike`` (sdss2010-g r i z, twomass-J H Ks,
  magnitudes of the model at the simulated values, 0.05 mag errors) assigned to
  ``src2`` (blackbody plus power law);

each as the compiled joint log-likelihood of one theta (``density.log_likelihood``) and
of a batch of draws (``density.log_likelihood_batch``, ``jax.vmap``). Printed: times per
call, the overhead (with - without) / without, and where the photometry's time goes: its
quadrature nodes, the plugin's log-likelihood alone, the spectrum at its nodes alone.
Times are printed, never asserted.

Run: ``.venv/bin/python benchmarks/photometry_speed.py`` (under a minute);
``--batch N`` sets the batch size (100), ``--repeats N`` the number of timed blocks.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

BANDS = ("sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z", "twomass-J", "twomass-H", "twomass-Ks")
TRUTH = [5e-8, 1e-7, 500.0, 200.0, -1.5]  # src1 K, src2 K_1, kT_1, F_2, index_2 (seed003_sampling.TRUTH)
SOURCE = "src2"
MAG_ERROR = 0.05


def build(folder: Path) -> tuple:
    """The seed-003 analysis without and with the photometry, and the plugin."""
    from jointfit import BayesianAnalysis, DataList
    from jointfit.examples.point_source_fluxes import build_model, read_spectra, write_spectra
    from jointfit.filters import get_filters
    from jointfit_photometry import PhotometryLike

    write_spectra(folder)
    without = BayesianAnalysis(build_model(), read_spectra(folder))
    space = without.space
    values = space.unpack(jnp.asarray(TRUTH))
    spectrum = space.point_source_spectrum([SOURCE])
    magnitudes = {f.band: (f.ab_magnitude(lambda e: np.asarray(spectrum(jnp.asarray(e), values))), MAG_ERROR)
                  for f in get_filters(list(BANDS))}
    photometry = PhotometryLike.from_kwargs("grond", filters=list(BANDS), **magnitudes)
    photometry.assign_to_source(SOURCE)
    with_photometry = BayesianAnalysis(build_model(), DataList(*read_spectra(folder), photometry))
    return without, with_photometry, photometry, magnitudes


def per_call(functions: dict, arguments: dict, repeats: int, calls: int) -> dict:
    """Median seconds per call of each function over ``repeats`` blocks of ``calls``
    calls, the functions' blocks interleaved."""
    for name, function in functions.items():
        for _ in range(3):
            jax.block_until_ready(function(arguments[name]))  # compile and warm up
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            argument = arguments[name]
            start = time.perf_counter()
            for _ in range(calls):
                jax.block_until_ready(function(argument))
            samples[name].append((time.perf_counter() - start) / calls)
    return {name: float(np.median(s)) for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100, help="draws per batched call (100)")
    parser.add_argument("--repeats", type=int, default=41, help="timed blocks per function (41)")
    args = parser.parse_args()
    began = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="jointfit-photometry-speed-") as tmp:
        without, with_photometry, photometry, magnitudes = build(Path(tmp))
    d0, d1 = without.density, with_photometry.density
    theta = jnp.asarray(TRUTH)
    batch = theta * (1 + 1e-3 * jax.random.normal(jax.random.PRNGKey(0), (args.batch, theta.size)))

    # the photometry's own pieces, on the analysis's parameter space
    space = d1.space
    nodes = jnp.asarray(photometry._integrals.nodes_kev)
    spectrum = space.point_source_spectrum([SOURCE])
    matrix = jnp.asarray(photometry._integrals.matrix)

    def plugin_only(t):
        return photometry.loglike(space.unpack(t))

    def spectrum_only(t):
        return spectrum(nodes, space.unpack(t))

    def spectrum_and_matrix(t):
        return matrix @ spectrum(nodes, space.unpack(t))

    single = {"without": d0.log_likelihood, "with": d1.log_likelihood, "photometry plugin alone": jax.jit(plugin_only),
              "spectrum at its nodes alone": jax.jit(spectrum_only),
              "spectrum at nodes + dot product": jax.jit(spectrum_and_matrix)}
    batched = {"without": d0.log_likelihood_batch, "with": d1.log_likelihood_batch,
               "photometry plugin alone": jax.jit(jax.vmap(plugin_only)),
               "spectrum at its nodes alone": jax.jit(jax.vmap(spectrum_only)),
               "spectrum at nodes + dot product": jax.jit(jax.vmap(spectrum_and_matrix))}
    # the two analyses agree on everything but the photometry
    per_plugin = {k: float(v) for k, v in d1.log_likelihood_per_plugin(theta).items()}
    reference = float(d0.log_likelihood(theta))
    difference = float(d1.log_likelihood(theta)) - reference - per_plugin["grond"]

    t_single = per_call(single, {name: theta for name in single}, args.repeats, 200)
    t_batch = per_call(batched, {name: batch for name in batched}, args.repeats, max(5, 2000 // args.batch))
    seconds = time.perf_counter() - began

    n_nodes = int(photometry._integrals.nodes_kev.size)
    print(f"seed-003 analysis (2 spectra x 128 channels, W-stat, 5 free parameters) with and without a "
          f"PhotometryLike of {len(BANDS)} bands")
    print(f"({', '.join(BANDS)}) assigned to {SOURCE!r}; {jax.devices()[0].device_kind}, "
          f"{args.repeats} interleaved blocks each, medians\n")
    print("band  magnitude  (model at the simulated values; data of the 'with' analysis)")
    for band, (mag, err) in magnitudes.items():
        print(f"  {band:3s} {mag:9.4f} +/- {err}")
    print(f"log-likelihood at the simulated values: without {reference:.6f}, photometry {per_plugin['grond']:.6f}, "
          f"with - without - photometry = {difference:.1e}\n")
    ogip_nodes = {plugin.name: int(np.size(getattr(plugin, "_nodes", []))) for plugin in without.data}
    print(f"quadrature nodes of the photometry: {n_nodes} ({n_nodes / len(BANDS):.0f} per band), of the spectrum of "
          f"{SOURCE!r} (Blackbody + Powerlaw_flux); the seed-003 spectra are evaluated at "
          + ", ".join(f"{k}: {v}" for k, v in ogip_nodes.items()) + " nodes\n")
    print(f"{'':34s} {'single call':>14s} {f'batch of {args.batch}':>16s} {'per draw':>12s}")
    for name in single:
        print(f"{name:34s} {t_single[name] * 1e6:11.1f} us {t_batch[name] * 1e6:13.1f} us "
              f"{t_batch[name] / args.batch * 1e6:9.3f} us")
    print()
    for label, t in (("single", t_single), (f"batch of {args.batch}", t_batch)):
        overhead = (t["with"] - t["without"]) / t["without"]
        print(f"overhead (with - without) / without, {label:13s} {overhead * 100:+6.1f} %   (target < 5 %)")
    alone = "photometry plugin alone"
    print(f"\n({alone}) / (without): single {t_single[alone] / t_single['without'] * 100:.1f} %, "
          f"batch {t_batch[alone] / t_batch['without'] * 100:.1f} %")
    per_node = t_batch["spectrum at its nodes alone"] / (args.batch * n_nodes)
    print(f"spectrum per node and draw (batched): {per_node * 1e9:.2f} ns")
    print(f"\n{seconds:.0f} s in all")


if __name__ == "__main__":
    main()
