"""NUTS on a posterior that piles up at a bound, against UltraNest in the same run.

The case: an absorbed power law, ``TbAbs * Powerlaw``, on Chandra ACIS's short spectrum
of 3C 273 (``../shared/data/ogip-real/chandra-acis-3c273``: 736 counts, chi2 with the
file's errors, 0.5-7 keV), log-uniform priors on N_H (1e-4 to 10, in 1e22 cm-2) and K,
uniform on the index. 3C 273's Galactic column, ~0.017e22, is below what this spectrum
measures, so N_H's posterior is flat in ln N_H from the bound up to a few hundredths
and cut off beyond. Without that folder, a simulated spectrum of the same kind: ~1000
counts through a 500 cm2 response with 150 eV resolution, Poisson (cstat).

Each run is a fresh process; all share one compilation cache, which the first NUTS and
the first UltraNest run fill ("cold": wall time with compilation), the others find
("warm"). Runs:

- NUTS as it is now (N_H in coordinates of its own at its bound,
  :func:`jointfit.samplers._bound_scales`), 2 chains x (500 warm-up + 500 draws), the
  settings of the user report, seeds 0, 1, 2;
- NUTS as before the change: in the space's own coordinates (``ln(N_H - 1e-4)``
  through the logistic), from the MAP point, in the frame of the Hessian there (in that
  process ``AT_BOUND_NATS = -inf``, so that no parameter counts as at a bound, and no
  cap at the prior's variance), same seeds;
- UltraNest, 400 live points (MLFriends), seeds 0 and 1.

Printed per run: wall time of ``sample()``, divergences, the smallest bulk and tail ESS
over the parameters, the largest R-hat, ESS per second, gradient evaluations per draw
and N_H's 5/50/95 % quantiles; then the ratio of NUTS's time to UltraNest's (cold to
cold, warm to warm). UltraNest's ESS is Kish's, of its weighted points.

Run: ``.venv/bin/python benchmarks/nuts_at_a_bound.py`` (about two minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "data" / "ogip-real" / "chandra-acis-3c273"
NH_PATH = "quasar.spectrum.main.composite.NH_1"
QUANTILES = (0.05, 0.5, 0.95)
NUTS_OPTIONS = {"num_chains": 2, "num_warmup": 500, "num_samples": 500}


def plugin(simulated: bool) -> object:
    """The 3C 273 ACIS spectrum, or a simulated one of the same kind."""
    from jointfit_ogip import OGIPLike

    if not simulated:
        acis = OGIPLike("acis", REAL / "3c273.pi")
    else:
        from scipy import stats

        from jointfit import Powerlaw, TbAbs
        from jointfit_ogip import Response

        edges = np.geomspace(0.2, 12.0, 161)
        channel_edges = np.linspace(0.3, 10.0, 98)
        centres = np.sqrt(edges[:-1] * edges[1:])
        cdf = stats.norm.cdf(channel_edges[None, :], centres[:, None], 0.15 / 2.355)
        response = Response(edges[:-1], edges[1:], np.arange(1, channel_edges.size), channel_edges[:-1],
                            channel_edges[1:], np.diff(cdf, axis=1) * 500.0, "acis-like", has_area=True)
        acis = OGIPLike.from_function("acis", TbAbs(NH=0.017) * Powerlaw(K=1.8e-4, index=-1.9), response,
                                      exposure=4000.0, seed=3)
    acis.set_active_measurements("0.5-7", quiet=True)
    return acis


def analysis(simulated: bool) -> object:
    """The user's analysis: ``TbAbs * Powerlaw`` with log-uniform priors on N_H and K."""
    from jointfit import (BayesianAnalysis, DataList, Log_uniform_prior, Model, PointSource, Powerlaw, TbAbs,
                          Uniform_prior)

    shape = TbAbs(NH=0.1) * Powerlaw(K=1e-4, index=-2.0)
    shape.NH_1.prior = Log_uniform_prior(lower_bound=1e-4, upper_bound=10.0)
    shape.K_2.prior = Log_uniform_prior(lower_bound=1e-6, upper_bound=1e-2)
    shape.index_2.prior = Uniform_prior(lower_bound=-4.0, upper_bound=0.0)
    model = Model(PointSource("quasar", ra=187.28, dec=2.05, spectral_shape=shape))
    return BayesianAnalysis(model, DataList(plugin(simulated)))


# -- workers: each runs in a fresh process ------------------------------------------------------------
def worker_nuts(simulated: bool, coordinates: str, seed: int) -> dict:
    import warnings

    from jointfit import samplers

    if coordinates == "space":  # the sampler before the change
        samplers.AT_BOUND_NATS = -np.inf
        samplers._prior_variances = lambda space, scales: np.full(len(space.free_names), np.inf)
    frames = []
    frame = samplers.NUTSSampler._frame
    samplers.NUTSSampler._frame = staticmethod(lambda search, init: frames.append(frame(search, init)) or frames[-1])
    bayes = analysis(simulated)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # divergences and poor mixing are what is measured
        results = bayes.sample("nuts", seed=seed, progress_bar=False, quiet=True, **NUTS_OPTIONS)
    seconds = time.perf_counter() - start
    summary = results.summary()
    stats = results.inference_data.sample_stats
    draws = results.inference_data.posterior[NH_PATH].values
    return {"seconds": seconds, "divergences": int(stats["diverging"].sum()),
            "ess": float(min(summary["ess_bulk"].min(), summary["ess_tail"].min())),
            "r_hat": float(summary["r_hat"].max()), "steps": float(stats["n_steps"].mean()),
            "nh_scale": float(frames[0].scales[list(bayes.space.free_names).index(NH_PATH)]),
            "quantiles": np.quantile(draws, QUANTILES).tolist()}


def worker_ultranest(simulated: bool, coordinates: str, seed: int) -> dict:
    bayes = analysis(simulated)
    start = time.perf_counter()
    results = bayes.sample("ultranest", seed=seed, quiet=True, min_num_live_points=400, show_status=False)
    seconds = time.perf_counter() - start
    attributes = results.inference_data.posterior.attrs
    return {"seconds": seconds, "ess": float(attributes["effective_sample_size"]),
            "calls": int(attributes["n_calls"]),
            "quantiles": np.quantile(results.samples(NH_PATH), QUANTILES).tolist()}


WORKERS = {"nuts": worker_nuts, "ultranest": worker_ultranest}


def run_worker(name: str, simulated: bool, cache: Path, coordinates: str = "", seed: int = 0) -> dict:
    from reference_venv import run_json

    return run_json(sys.executable, [__file__, "--worker", name, str(int(simulated)), coordinates or "-", str(seed)],
                    env={"XDG_CACHE_HOME": str(cache)})


# -- report ----------------------------------------------------------------------------------------------
def nuts_line(label: str, run: dict) -> str:
    return (f"{label:38s} {run['seconds']:6.1f} s  {run['divergences']:4d} divergent  min ESS {run['ess']:5.0f}  "
            f"max R-hat {run['r_hat']:.3f}  {run['ess'] / run['seconds']:6.1f} ESS/s  {run['steps']:5.1f} steps/draw  "
            f"N_H 5/50/95 % {' '.join(f'{q:.2g}' for q in run['quantiles'])}")


def ultranest_line(label: str, run: dict) -> str:
    return (f"{label:38s} {run['seconds']:6.1f} s                  ESS {run['ess']:5.0f}                  "
            f"{run['ess'] / run['seconds']:6.1f} ESS/s  {run['calls']:7d} calls      "
            f"N_H 5/50/95 % {' '.join(f'{q:.2g}' for q in run['quantiles'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--simulated", action="store_true", help="the simulated spectrum even where the real one is")
    parser.add_argument("--seeds", type=int, default=3, help="NUTS seeds per setting (default 3)")
    args = parser.parse_args()
    if args.worker:
        name, simulated, coordinates, seed = args.worker
        # imports are not timed
        import arviz, numpyro, ultranest  # noqa: F401
        import jointfit, jointfit_ogip  # noqa: F401
        print(json.dumps(WORKERS[name](simulated == "1", coordinates, int(seed))))
        return

    simulated = args.simulated or not REAL.is_dir()
    seeds = range(args.seeds)
    with tempfile.TemporaryDirectory(prefix="jointfit-nuts-bound-") as tmp:
        cache = Path(tmp)
        nuts = {("bound", seed): run_worker("nuts", simulated, cache, "bound", seed) for seed in seeds}
        nested = {seed: run_worker("ultranest", simulated, cache, seed=seed) for seed in (0, 1)}
        nuts.update({("space", seed): run_worker("nuts", simulated, cache, "space", seed) for seed in seeds})

    data = "a simulated ACIS-like spectrum (~1000 counts, cstat)" if simulated else f"{REAL.name}/3c273.pi (chi2)"
    print(f"TbAbs * Powerlaw on {data}, 0.5-7 keV; N_H log-uniform 1e-4..10\n")
    scale = nuts[("bound", 0)]["nh_scale"]
    print(f"NUTS {NUTS_OPTIONS['num_chains']} chains x ({NUTS_OPTIONS['num_warmup']} warm-up + "
          f"{NUTS_OPTIONS['num_samples']} draws); now N_H moves in 1e-4 + {scale:.3g} softplus(z)")
    for (coordinates, seed), run in nuts.items():
        cold = " (cold)" if (coordinates, seed) == ("bound", 0) else ""
        label = "now" if coordinates == "bound" else "before"
        print(nuts_line(f"  {label}, seed {seed}{cold}", run))
    for seed, run in nested.items():
        print(ultranest_line(f"  UltraNest 400 live, seed {seed}{' (cold)' if seed == 0 else ''}", run))
    print()
    warm_nuts = [run for (coordinates, seed), run in nuts.items() if coordinates == "bound" and seed > 0]
    before = [run for (coordinates, _), run in nuts.items() if coordinates == "space"]
    print(f"NUTS / UltraNest time, cold: {nuts[('bound', 0)]['seconds'] / nested[0]['seconds']:.2f}")
    if warm_nuts:
        print(f"NUTS / UltraNest time, warm: {np.median([r['seconds'] for r in warm_nuts]) / nested[1]['seconds']:.2f} "
              "(median of the warm NUTS runs)")
    now = [run for (coordinates, _), run in nuts.items() if coordinates == "bound"]
    for label, runs in (("now", now), ("before", before)):
        print(f"{label:6s}: divergences {[r['divergences'] for r in runs]}, max R-hat "
              f"{[round(r['r_hat'], 3) for r in runs]}, min ESS {[round(r['ess']) for r in runs]}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
