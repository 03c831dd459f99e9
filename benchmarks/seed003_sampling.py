"""Sampling the 3ML tutorial "Point Source Fluxes and Multiple Sources": jointfit against 3ML.

The tutorial's two spectra (GBM-like demo response, W-stat, kT linked, its priors) are
simulated once and written as PHA files, so that every run below sees the same data.
Measured in the same run, each in a fresh process:

(a) 3ML: ``BayesianAnalysis(model, data).sample()`` with UltraNest, 400 live points
    (3ML in its own virtualenv, ``benchmarks/.venv-threeml``, made on first use);
(b) jointfit: the same analysis with UltraNest (MLFriends, as 3ML; and the ellipsoid
    region), compile included, persistent compilation cache empty;
(c) the floor: UltraNest with the same settings (``ndraw_min`` as jointfit chose) on a
    likelihood that costs nothing, a vectorised 5-d Gaussian carrying about 21 nats of
    information, as this problem;
(c') UltraNest's own cost on this very problem: a run from the same seed replays (b)'s
    path exactly, every prior transform and log-likelihood value looked up in a table
    recorded by a first run (the Gaussian of (c) needs about 3x fewer calls than this
    posterior, so (b) - (c') is what jointfit itself costs: compilation and calls);
(d) jointfit NUTS (numpyro, dense mass, from the MAP), once with an empty compilation
    cache (cold) and once with it filled (warm): bulk ESS per second, compile included.

(e) ln Z by importance sampling: 20000 draws from a Student t fitted to NUTS draws,
    weighed by jointfit's and by 3ML's likelihood and priors (the same draws), so that the
    two codes' evidences are compared to ~0.005 instead of UltraNest's ~0.35.

Printed: ln Z (natural log) with errors, likelihood calls and iterations, the ratios
(b)/(c) and (a)/(b), the speed-up of NUTS over 3ML's UltraNest run, whether the 5/50/95 %
quantiles of UltraNest and NUTS agree within their Monte-Carlo errors, 3ML's and
jointfit's log-likelihoods per plugin at the same parameter values, and the CPU dispatch
setting with the single-call and batched timings that chose it.

Run: ``.venv/bin/python benchmarks/seed003_sampling.py`` (a few minutes on 2 cores;
``--skip-3ml`` leaves 3ML out).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
THREEML_VENV = HERE / ".venv-threeml"
LIVE_POINTS = 400
QUANTILES = (0.05, 0.5, 0.95)
TRUTH = [5e-8, 1e-7, 500.0, 200.0, -1.5]  # src1 K, src2 K_1, kT_1, F_2, index_2

THREEML_SCRIPT = textwrap.dedent("""
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    from threeML import (Blackbody, BayesianAnalysis, DataList, Gaussian, JointLikelihood, Log_normal, Model,
                         OGIPLike, PointSource, Powerlaw_flux, silence_logs)
    silence_logs()
    folder, values = sys.argv[1], json.loads(sys.argv[2])

    def plugin(name):
        return OGIPLike(name, observation=f"{folder}/{name}.pha", background=f"{folder}/{name}_bak.pha",
                        response=f"{folder}/{name}.rsp")

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
    model = Model(PointSource("src1", ra=1, dec=20, spectral_shape=spectrum_1),
                  PointSource("src2", ra=2, dec=-10, spectral_shape=spectrum_2))
    model.link(model.src1.spectrum.main.Blackbody.kT, model.src2.spectrum.main.composite.kT_1)
    s1, s2 = plugin("s1"), plugin("s2")
    s1.assign_to_source("src1")
    s2.assign_to_source("src2")
    data = DataList(s1, s2)

    # log-likelihood per plugin at given values (what 3ML's get_log_like returns)
    JointLikelihood(model, data, verbose=False)
    for parameter, value in zip(model.free_parameters.values(), values):
        parameter.value = value
    per_plugin = {"s1": float(s1.get_log_like()), "s2": float(s2.get_log_like())}

    # ln Z by importance sampling on the proposal draws jointfit wrote (same draws, same q)
    proposal = np.load(sys.argv[4])
    log_weights = []
    for row, log_q in zip(proposal["theta"], proposal["log_q"]):
        try:
            for parameter, value in zip(model.free_parameters.values(), row):
                parameter.value = value
        except Exception:  # outside 3ML's parameter bounds: no prior mass there
            log_weights.append(-np.inf)
            continue
        log_prior = sum(np.log(p.prior(p.value)) for p in model.free_parameters.values())
        log_weights.append(float(s1.get_log_like()) + float(s2.get_log_like()) + log_prior - log_q)
    log_weights = np.asarray(log_weights)
    top = log_weights.max()
    ln_z = top + np.log(np.mean(np.exp(log_weights - top)))
    is_error = float(np.std(np.exp(log_weights - ln_z)) / np.sqrt(log_weights.size))
    for parameter, value in zip(model.free_parameters.values(), values):
        parameter.value = value

    ba = BayesianAnalysis(model, data)
    ba.set_sampler("ultranest")
    ba.sampler.setup(min_num_live_points=int(sys.argv[3]))
    start = time.perf_counter()
    ba.sample(quiet=True)
    seconds = time.perf_counter() - start
    result = ba.sampler._sampler.results
    print(json.dumps({"seconds": seconds, "ln_Z": float(result["logz"]), "ln_Z_error": float(result["logzerr"]),
                      "n_calls": int(result["ncall"]), "n_iterations": int(result["niter"]),
                      "log_like": per_plugin, "is_ln_Z": float(ln_z), "is_ln_Z_error": is_error,
                      "is_outside": int(np.sum(~np.isfinite(log_weights)))}))
""")


# -- the data ---------------------------------------------------------------------------------------
def write_data(folder: Path) -> None:
    """The tutorial's two spectra (fixed seeds), as PHA, background PHA and RSP files."""
    from jointfit.examples.point_source_fluxes import write_spectra

    write_spectra(folder)


def load_analysis(folder: Path, kind: str = "bayes") -> object:
    """jointfit's analysis of the files in ``folder``, with the tutorial's model."""
    from jointfit import BayesianAnalysis, JointLikelihood
    from jointfit.examples.point_source_fluxes import build_model, read_spectra

    analysis = BayesianAnalysis if kind == "bayes" else JointLikelihood
    return analysis(build_model(), read_spectra(folder))


# -- workers: each runs in a fresh process ------------------------------------------------------------
def quantiles_with_errors(samples: np.ndarray, ess: float | None = None) -> dict:
    """5/50/95 % quantiles of each parameter and their Monte-Carlo standard errors
    (ArviZ's quantile MCSE), samples shaped ``(chains, draws, n_free)``. ``ess``: the
    effective size of resampled (nested sampling) draws, whose MCSE ArviZ would take
    as that of independent draws."""
    import arviz as az

    inflation = 1.0 if ess is None else np.sqrt(samples[..., 0].size / ess)
    out = {}
    for i in range(samples.shape[-1]):
        column = samples[..., i]
        out[i] = [(float(np.quantile(column, q)), inflation * float(az.mcse(column, method="quantile", prob=q)))
                  for q in QUANTILES]
    return out


def worker_ultranest(folder: Path, region: str) -> dict:
    start = time.perf_counter()
    analysis = load_analysis(folder)
    results = analysis.sample(quiet=True, min_num_live_points=LIVE_POINTS, show_status=False, region_class=region)
    seconds = time.perf_counter() - start
    attrs = results.inference_data.posterior.attrs
    return {"seconds": seconds, "ln_Z": results.ln_Z, "ln_Z_error": results.ln_Z_error,
            "n_calls": int(attrs["n_calls"]), "n_iterations": int(attrs["n_iterations"]),
            "ndraw_min": int(attrs["ndraw_min"]),
            "quantiles": quantiles_with_errors(results.samples_matrix[None], attrs["effective_sample_size"])}


def worker_replay(folder: Path, region: str) -> dict:
    """UltraNest's own cost on this very problem: one run records every prior transform
    and log-likelihood value it is served, then a second run from the same seed takes the
    identical path with every value looked up (a likelihood that costs nothing)."""
    from jointfit import samplers

    transformed: dict[bytes, np.ndarray] = {}
    log_likes: dict[bytes, float] = {}

    class Recording(samplers._UnitCubeDensity):
        def transform(self, u: np.ndarray) -> np.ndarray:
            u = np.ascontiguousarray(u, dtype=float)
            theta = super().transform(u)
            transformed.update(zip(map(bytes, u), theta))
            return theta

        def loglike(self, theta: np.ndarray) -> np.ndarray:
            theta = np.ascontiguousarray(theta, dtype=float)
            values = super().loglike(theta)
            log_likes.update(zip(map(bytes, theta), values.tolist()))
            return values

    class Replaying:
        def __init__(self, density: object) -> None:
            pass

        def transform(self, u: np.ndarray) -> np.ndarray:
            return np.array([transformed[bytes(row)] for row in np.ascontiguousarray(u, dtype=float)])

        def loglike(self, theta: np.ndarray) -> np.ndarray:
            return np.array([log_likes[bytes(row)] for row in np.ascontiguousarray(theta, dtype=float)])

        def release(self) -> None:
            pass  # nothing compiled

    runs = {}
    for label, callbacks in (("recorded", Recording), ("replayed", Replaying)):
        samplers._UnitCubeDensity = callbacks
        analysis = load_analysis(folder)
        start = time.perf_counter()
        results = analysis.sample(quiet=True, min_num_live_points=LIVE_POINTS, show_status=False, region_class=region)
        attrs = results.inference_data.posterior.attrs
        runs[label] = {"seconds": time.perf_counter() - start, "ln_Z": results.ln_Z, "ln_Z_error": results.ln_Z_error,
                       "n_calls": int(attrs["n_calls"]), "n_iterations": int(attrs["n_iterations"])}
    return runs


def worker_nuts(folder: Path) -> dict:
    start = time.perf_counter()
    analysis = load_analysis(folder)
    results = analysis.sample(sampler="nuts", quiet=True, num_warmup=500, num_samples=1000, progress_bar=False)
    seconds = time.perf_counter() - start
    posterior = results.inference_data.posterior
    min_ess = float(results.summary()["ess_bulk"].loc[results.free_parameters].min())
    samples = np.stack([posterior[name].values for name in results.free_parameters], axis=-1)
    return {"seconds": seconds, "min_bulk_ess": min_ess, "quantiles": quantiles_with_errors(samples),
            "log_like": None}


def worker_evidence(folder: Path, n_draws: str = "20000") -> dict:
    """ln Z by importance sampling: a Student t (5 degrees of freedom) fitted to NUTS
    draws in the unconstrained space is the proposal q; its draws (as parameter values)
    and ln q of them go to ``proposal.npz`` so that 3ML weighs the very same draws."""
    import jax
    from scipy import special, stats

    analysis = load_analysis(folder)
    space, density = analysis.space, analysis.density
    results = analysis.sample(sampler="nuts", quiet=True, num_warmup=500, num_samples=2000, progress_bar=False)
    z = np.asarray(jax.jit(space.unconstrain)(results.samples_matrix))
    proposal = stats.multivariate_t(loc=z.mean(axis=0), shape=1.5 * np.cov(z.T), df=5, seed=3)
    draws = proposal.rvs(int(n_draws))
    theta = np.asarray(jax.jit(space.constrain)(draws))
    # density of theta under q: q(z) / |d theta / d z|
    log_q = proposal.logpdf(draws) - np.asarray(jax.jit(space.log_jacobian)(draws))
    log_posterior = jax.jit(jax.vmap(density.log_posterior_fn()))
    log_weights = np.asarray(log_posterior(theta)) - log_q
    ln_z = float(special.logsumexp(log_weights) - np.log(log_weights.size))
    np.savez(folder / "proposal.npz", theta=theta, log_q=log_q)
    return {"ln_Z": ln_z, "ln_Z_error": float(np.std(np.exp(log_weights - ln_z)) / np.sqrt(log_weights.size)),
            "n_draws": int(n_draws)}


def worker_log_like(folder: Path) -> dict:
    analysis = load_analysis(folder, kind="mle")
    analysis._set_parameters(np.asarray(TRUTH))
    return {"log_like": analysis.log_like_per_plugin()}


def worker_latency(folder: Path) -> dict:
    """Seconds per joint log-likelihood call: single point, and batches of 16 and 256."""
    import jax

    density = load_analysis(folder).density
    theta = np.asarray(TRUTH)
    timings = {}
    for n in (1, 16, 256):
        function = density.log_likelihood if n == 1 else density.log_likelihood_batch
        argument = theta if n == 1 else theta * (1 + 1e-3 * np.random.default_rng(0).normal(size=(n, theta.size)))
        jax.block_until_ready(function(argument))
        repeats = max(50, 5000 // n)
        start = time.perf_counter()
        for _ in range(repeats):
            np.asarray(function(argument))
        timings[n] = (time.perf_counter() - start) / repeats
    return {"timings": timings, "async_dispatch": bool(jax.config.read("jax_cpu_enable_async_dispatch"))}


WORKERS = {"ultranest": worker_ultranest, "replay": worker_replay, "nuts": worker_nuts, "log_like": worker_log_like, "evidence": worker_evidence,
           "latency": worker_latency}


def run_worker(name: str, folder: Path, cache: Path, *args: str, env: dict | None = None) -> dict:
    """Run ``name`` in a fresh interpreter whose cache folder (jointfit's persistent
    compilation cache included) is ``cache``."""
    from reference_venv import run_json

    return run_json(sys.executable, [__file__, "--worker", name, str(folder), *args],
                    env={"XDG_CACHE_HOME": str(cache), **(env or {})})


# -- reference and floor -------------------------------------------------------------------------------
def run_threeml(folder: Path) -> dict:
    from reference_venv import reference_python, run_json

    python = reference_python(THREEML_VENV, "threeML", "ultranest")
    return run_json(python, ["-c", THREEML_SCRIPT, str(folder), json.dumps(TRUTH), str(LIVE_POINTS),
                             str(folder / "proposal.npz")], cwd=folder)


def run_floor(region: str, ndraw_min: int, information: float = 21.0, ndim: int = 5) -> dict:
    """UltraNest on a zero-cost vectorised Gaussian likelihood in the unit cube whose
    posterior holds ``information`` nats (KL divergence from the prior), with the batch
    floor ``ndraw_min`` jointfit chose for its run."""
    import ultranest
    import ultranest.mlfriends

    # KL(posterior || uniform prior) = -ndim (ln(sigma sqrt(2 pi e)))
    sigma = np.exp(-information / ndim) / np.sqrt(2 * np.pi * np.e)

    def loglike(u: np.ndarray) -> np.ndarray:
        return -0.5 * np.sum(((u - 0.5) / sigma) ** 2, axis=1) - ndim * np.log(sigma * np.sqrt(2 * np.pi))

    regions = {"mlfriends": ultranest.mlfriends.MLFriends, "ellipsoid": ultranest.mlfriends.RobustEllipsoidRegion}
    logging.getLogger("ultranest").setLevel(logging.WARNING)
    np.random.seed(0)
    start = time.perf_counter()
    sampler = ultranest.ReactiveNestedSampler([f"x{i}" for i in range(ndim)], loglike, lambda u: u, vectorized=True,
                                              ndraw_min=ndraw_min)
    result = sampler.run(min_num_live_points=LIVE_POINTS, show_status=False, viz_callback=False,
                         region_class=regions[region])
    return {"seconds": time.perf_counter() - start, "ln_Z": float(result["logz"]),
            "ln_Z_error": float(result["logzerr"]), "n_calls": int(result["ncall"]),
            "n_iterations": int(result["niter"])}


# -- report ----------------------------------------------------------------------------------------------
def agreement(first: dict, second: dict) -> tuple[bool, float]:
    """Whether every 5/50/95 % quantile agrees within 3 combined Monte-Carlo errors, and
    the largest difference in units of that error."""
    worst = 0.0
    for i in first:
        for (q1, e1), (q2, e2) in zip(first[i], second[i]):
            worst = max(worst, abs(q1 - q2) / np.hypot(e1, e2))
    return worst < 3.0, worst


def line(label: str, run: dict) -> str:
    return (f"{label:56s} {run['seconds']:7.1f} s   ln Z = {run['ln_Z']:9.2f} +/- {run['ln_Z_error']:.2f}   "
            f"{run['n_calls']:7d} calls {run['n_iterations']:6d} iterations")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--skip-3ml", action="store_true", help="leave the 3ML run out")
    args = parser.parse_args()
    if args.worker:
        name, folder, *rest = args.worker
        # imports are not timed, as for 3ML (its script imports threeML before the clock starts)
        import arviz, numpyro, ultranest  # noqa: F401
        import jointfit.examples.point_source_fluxes, jointfit_ogip  # noqa: F401
        print(json.dumps(WORKERS[name](Path(folder), *rest)))
        return

    with tempfile.TemporaryDirectory(prefix="jointfit-seed003-") as tmp:
        folder, cold, warm = Path(tmp), Path(tmp) / "cache-cold", Path(tmp) / "cache-warm"
        write_data(folder)
        latency = {mode: run_worker("latency", folder, warm, env={"JOINTFIT_CPU_ASYNC_DISPATCH": flag})
                   for mode, flag in (("inline", "0"), ("async", "1"))}
        ours = {region: run_worker("ultranest", folder, cold / region, region) for region in ("mlfriends", "ellipsoid")}
        floors = {region: run_floor(region, ours[region]["ndraw_min"]) for region in ("mlfriends", "ellipsoid")}
        replays = {region: run_worker("replay", folder, warm, region)["replayed"] for region in ("mlfriends", "ellipsoid")}
        nuts_cold = run_worker("nuts", folder, cold / "nuts")
        nuts_warm = run_worker("nuts", folder, cold / "nuts")
        log_like = run_worker("log_like", folder, warm)["log_like"]
        evidence = run_worker("evidence", folder, cold / "nuts")
        reference = None if args.skip_3ml else run_threeml(folder)

    print("3ML tutorial 'Point Source Fluxes and Multiple Sources': 2 spectra x 128 channels, W-stat, 5 free "
          f"parameters, kT linked; UltraNest {LIVE_POINTS} live points\n")
    chosen = "inline (jax_cpu_enable_async_dispatch=False)"
    print(f"CPU dispatch: jointfit's default is {chosen}; joint log-likelihood per call:")
    for mode, run in latency.items():
        t = {int(k): v for k, v in run["timings"].items()}
        print(f"  {mode:7s} single {t[1] * 1e6:7.1f} us   batch of 16 {t[16] * 1e6:8.1f} us   "
              f"batch of 256 {t[256] / 256 * 1e6:6.2f} us per point")
    print()
    print(f"UltraNest batches: ndraw_min {ours['mlfriends']['ndraw_min']} in jointfit's runs and the floors (its "
          "choice for a likelihood this cheap); 3ML's run has UltraNest's 128\n")
    if reference:
        print(line("(a) 3ML BayesianAnalysis, UltraNest", reference))
    print(line("(b) jointfit, UltraNest (MLFriends)", ours["mlfriends"]))
    print(line("    jointfit, UltraNest (ellipsoid region)", ours["ellipsoid"]))
    print(line("(c) floor: zero-cost Gaussian (MLFriends)", floors["mlfriends"]))
    print(line("    floor: zero-cost Gaussian (ellipsoid)", floors["ellipsoid"]))
    print(line("(c') (b)'s path replayed, values looked up (MLFriends)", replays["mlfriends"]))
    print(line("     (b)'s path replayed, values looked up (ellipsoid)", replays["ellipsoid"]))
    print()
    for region in ("mlfriends", "ellipsoid"):
        ratio = ours[region]["seconds"] / floors[region]["seconds"]
        replayed = ours[region]["seconds"] / replays[region]["seconds"]
        print(f"(b)/(c) {region:10s} {ratio:5.2f}   (b)/(c') {replayed:5.2f}   (target <= 1.25)   jointfit's own share "
              f"of (b): {ours[region]['seconds'] - replays[region]['seconds']:.1f} s")
    if reference:
        for region in ("mlfriends", "ellipsoid"):
            print(f"(a)/(b) {region:10s} {reference['seconds'] / ours[region]['seconds']:5.2f}   "
                  f"ln Z difference {ours[region]['ln_Z'] - reference['ln_Z']:+.2f} (target within 0.3)")
    print(f"\nln Z by importance sampling ({evidence['n_draws']} draws from a Student t fitted to NUTS draws; the same "
          "draws weighed by each code):")
    print(f"  jointfit {evidence['ln_Z']:.3f} +/- {evidence['ln_Z_error']:.3f}")
    if reference:
        print(f"  3ML      {reference['is_ln_Z']:.3f} +/- {reference['is_ln_Z_error']:.3f}   difference "
              f"{evidence['ln_Z'] - reference['is_ln_Z']:+.4f} ({reference['is_outside']} draws outside 3ML's bounds)")
    for region in ("mlfriends", "ellipsoid"):
        pull = (ours[region]["ln_Z"] - evidence["ln_Z"]) / np.hypot(ours[region]["ln_Z_error"], evidence["ln_Z_error"])
        print(f"  jointfit UltraNest ({region}) minus importance sampling: {pull:+.2f} of its stated error")
    if reference:
        pull = (reference["ln_Z"] - evidence["ln_Z"]) / np.hypot(reference["ln_Z_error"], evidence["ln_Z_error"])
        print(f"  3ML UltraNest minus importance sampling: {pull:+.2f} of its stated error")
    print()
    for label, run in (("cold cache", nuts_cold), ("warm cache", nuts_warm)):
        speedup = f"   {reference['seconds'] / run['seconds']:5.1f}x faster than 3ML's UltraNest run" if reference else ""
        print(f"NUTS {label}: {run['seconds']:6.1f} s, min bulk ESS {run['min_bulk_ess']:6.0f}, "
              f"{run['min_bulk_ess'] / run['seconds']:7.1f} ESS/s{speedup}")
    target = "targets: >= 10x cold, >= 20x warm"
    print(f"  ({target})")
    agree, worst = agreement(ours["mlfriends"]["quantiles"], nuts_warm["quantiles"])
    print(f"UltraNest vs NUTS 5/50/95 % quantiles agree within 3 MC errors: {agree} (largest {worst:.1f} sigma)")
    if reference:
        print("\nlog-likelihood per plugin at the simulated values (3ML get_log_like vs jointfit log_like_per_plugin):")
        for name in ("s1", "s2"):
            theirs, mine = reference["log_like"][name], log_like[name]
            print(f"  {name}: 3ML {theirs:.9f}   jointfit {mine:.9f}   relative difference "
                  f"{abs(mine - theirs) / abs(theirs):.1e}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
