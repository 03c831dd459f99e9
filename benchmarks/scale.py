"""Catalogue scale: many X-ray spectra fitted one by one, at once, and on Dask workers,
against 3ML's JointLikelihood loop over the same files, in one run.

The catalogue: ``--sources`` (default 200) absorbed power laws (N_H 0.03-2e22 cm-2,
K 3e-4 to 3e-3, index 1.5-2.3, exposure 5-40 ks, all log- or uniformly random) seen by
the ACIS-like response of :mod:`jointfit_ogip.tutorial` (1090 energies x 1024 channels,
one RMF and ARF for all), written as OGIP files; cstat, 0.5-7 keV, ungrouped; each fit
starts from the functions' defaults. Every measurement runs in a fresh process with a
fresh compilation cache (``XDG_CACHE_HOME``), so each pays its compilations as a new
user's first run does:

- ``loop``: ``JointLikelihood(...).fit()`` per source, as a user's loop; each source's
  wall time, and its *compile share*: the same analysis fitted a second time (its
  programs compiled) against its first fit;
- ``loop, shared``: the same under ``jointfit.sharing_programs()`` (what
  ``fit_catalogue``'s workers do): sources of one structure share compiled programs;
- ``fit_many``: all sources as one vectorised program (:mod:`jointfit.many`);
- ``Dask, 1 and 2 workers``: ``fit_catalogue(method="mle")`` on a LocalCluster,
  throughput and scaling efficiency (throughput with 2 / twice that with 1);
- ``NUTS``: ``BayesianAnalysis.sample("nuts")`` per source on the first
  ``--nuts-sources`` sources (1 chain, 300 + 300), shared programs;
- ``3ML``: threeML's ``JointLikelihood`` (its default minimiser) per source on the first
  ``--threeml-sources`` sources, in ``benchmarks/.venv-threeml`` (made on first use;
  astromodels' own ``TbAbs``), from N_H = 0.1 and K = 1e-3 (3ML has no start from the
  data, and its defaults, K = 1, are a thousand times too bright).

Printed: seconds per source of each, the ratios to 3ML's loop and to jointfit's own
loop, and the best fits' agreement with 3ML's (median and largest difference in units
of jointfit's errors).

Run: ``.venv/bin/python benchmarks/scale.py`` (about 15 minutes on 2 cores, most of
it 3ML's; ``--skip-3ml`` leaves it out).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
THREEML_VENV = HERE / ".venv-threeml"

THREEML_SCRIPT = textwrap.dedent("""
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    from pathlib import Path
    from threeML import DataList, JointLikelihood, Model, OGIPLike, PointSource, Powerlaw, TbAbs, silence_logs
    silence_logs()
    folder, count = Path(sys.argv[1]), int(sys.argv[2])
    times, fits = [], []
    for i in range(count):
        start = time.perf_counter()
        plugin = OGIPLike(f"s{i}", observation=str(folder / f"src{i:04d}.pi"),
                          response=str(folder / "acis.rmf"), arf_file=str(folder / "acis.arf"))
        plugin.set_active_measurements("0.5-7")
        shape = TbAbs() * Powerlaw()
        shape.NH_1 = 0.1  # 3ML has no start from the data: a start a user would give
        shape.K_2 = 1e-3
        model = Model(PointSource("src", 0.0, 0.0, spectral_shape=shape))
        jl = JointLikelihood(model, DataList(plugin), verbose=False)
        try:
            best, _ = jl.fit(quiet=True)
            fits.append([float(v) for v in best["value"]])
        except Exception:
            fits.append([float("nan")] * 3)
        times.append(time.perf_counter() - start)
    print(json.dumps({"times": times, "fits": fits}))
""")


def simulate(folder: Path, count: int) -> None:
    """Write the catalogue's files: one RMF and ARF, one PHA per source."""
    from jointfit import Powerlaw, TbAbs
    from jointfit_ogip import OGIPLike
    from jointfit_ogip.tutorial import acis_like_area, acis_like_response
    from jointfit_ogip.writing import write_arf, write_response, write_spectrum

    response = acis_like_response()
    area = acis_like_area(response)
    write_response(folder / "acis.rmf", response, overwrite=True)
    write_arf(folder / "acis.arf", area, overwrite=True)
    rng = np.random.default_rng(2026)
    truths = []
    for i in range(count):
        nh, k, index = 10 ** rng.uniform(-1.5, 0.3), 10 ** rng.uniform(-3.5, -2.5), -rng.uniform(1.5, 2.3)
        exposure = float(rng.uniform(5e3, 4e4))
        plugin = OGIPLike.from_function("s", TbAbs(NH=nh) * Powerlaw(K=k, index=index), response.with_arf(area),
                                        exposure=exposure, seed=i)
        write_spectrum(folder / f"src{i:04d}.pi", plugin.observation, respfile="acis.rmf", ancrfile="acis.arf",
                       overwrite=True)
        truths.append([nh, k, index])
    (folder / "truths.json").write_text(json.dumps(truths))


def build(path: str, priors: bool = False):
    """One source's analysis from its file: a ``JointLikelihood`` from the functions'
    defaults, or (``priors``) a ``BayesianAnalysis`` with log-uniform priors on N_H and
    K and a uniform one on the index."""
    from jointfit import (BayesianAnalysis, DataList, JointLikelihood, Log_uniform_prior, Model, PointSource,
                          Powerlaw, TbAbs, Uniform_prior)
    from jointfit_ogip import OGIPLike

    plugin = OGIPLike("xray", path)
    plugin.set_active_measurements("0.5-7", quiet=True)
    shape = TbAbs() * Powerlaw()
    if priors:
        shape.NH_1.prior = Log_uniform_prior(lower_bound=1e-3, upper_bound=10.0)
        shape.K_2.prior = Log_uniform_prior(lower_bound=1e-6, upper_bound=1.0)
        shape.index_2.prior = Uniform_prior(lower_bound=-4.0, upper_bound=0.0)
    kind = BayesianAnalysis if priors else JointLikelihood
    return kind(Model(PointSource("src", 0.0, 0.0, spectral_shape=shape)), DataList(plugin))


def paths(folder: Path, count: int) -> list[str]:
    return [str(folder / f"src{i:04d}.pi") for i in range(count)]


# -- workers, each in a fresh process -------------------------------------------------------------
def worker_loop(folder: Path, count: str, shared: str) -> dict:
    import contextlib

    import jointfit

    times, refits, fits = [], [], []
    context = jointfit.sharing_programs() if shared == "1" else contextlib.nullcontext()
    with context:
        for path in paths(folder, int(count)):
            start = time.perf_counter()
            analysis = build(path)
            results = analysis.fit(quiet=True)
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            analysis.fit(quiet=True, guess=False)  # its programs compiled now
            refits.append(time.perf_counter() - start)
            fits.append(results.point_estimates()["value"].tolist())
    return {"times": times, "refits": refits, "fits": fits}


def worker_many(folder: Path, count: str) -> dict:
    import jointfit

    start = time.perf_counter()
    analyses = [build(path) for path in paths(folder, int(count))]
    built = time.perf_counter() - start
    results, report = jointfit.fit_many(analyses)
    total = time.perf_counter() - start
    return {"total": total, "built": built, "batched": report.batched, "groups": list(report.groups),
            "fits": [r.point_estimates()["value"].tolist() for r in results]}


def worker_dask(folder: Path, count: str, workers: str) -> dict:
    import jointfit

    items = {Path(p).stem: p for p in paths(folder, int(count))}
    start = time.perf_counter()
    table = jointfit.fit_catalogue(build, items, method="mle", output=folder / f"dask-{workers}",
                                   n_workers=int(workers), progress=False)
    return {"total": time.perf_counter() - start, "ok": int((table.status == "ok").sum())}


def worker_nuts(folder: Path, count: str) -> dict:
    import jointfit

    times = []
    with jointfit.sharing_programs():
        for path in paths(folder, int(count)):
            start = time.perf_counter()
            build(path, priors=True).sample("nuts", quiet=True, num_warmup=300, num_samples=300, num_chains=1)
            times.append(time.perf_counter() - start)
    return {"times": times}


WORKERS = {"loop": worker_loop, "many": worker_many, "dask": worker_dask, "nuts": worker_nuts}


def run_worker(name: str, folder: Path, *args: str) -> dict:
    from reference_venv import run_json

    cache = folder / f"cache-{name}-{'-'.join(args)}"
    return run_json(sys.executable, [__file__, "--worker", name, str(folder), *args],
                    env={"XDG_CACHE_HOME": str(cache)})


def run_threeml(folder: Path, count: int) -> dict:
    from reference_venv import reference_python, run_json

    python = reference_python(THREEML_VENV, "threeML")
    return run_json(python, ["-c", THREEML_SCRIPT, str(folder), str(count)], cwd=folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--loop-sources", type=int, default=40, help="sources of the one-by-one loops")
    parser.add_argument("--nuts-sources", type=int, default=10)
    parser.add_argument("--threeml-sources", type=int, default=40)
    parser.add_argument("--skip-3ml", action="store_true")
    args = parser.parse_args()
    if args.worker:
        name, folder, *rest = args.worker
        import jointfit_ogip  # noqa: F401  (imports are not timed, as for 3ML)
        print(json.dumps(WORKERS[name](Path(folder), *rest)))
        return

    with tempfile.TemporaryDirectory(prefix="jointfit-scale-") as tmp:
        folder = Path(tmp)
        simulate(folder, args.sources)
        loop = run_worker("loop", folder, str(args.loop_sources), "0")
        shared = run_worker("loop", folder, str(args.loop_sources), "1")
        many = run_worker("many", folder, str(args.sources))
        dask = {n: run_worker("dask", folder, str(args.sources), str(n)) for n in (1, 2)}
        nuts = run_worker("nuts", folder, str(args.nuts_sources))
        reference = None if args.skip_3ml else run_threeml(folder, args.threeml_sources)

    def per_source(times: list[float]) -> str:
        return f"first {times[0]:6.2f} s, median of the rest {np.median(times[1:]):6.3f} s"

    def compile_share(run: dict) -> float:
        first, again = np.asarray(run["times"][1:]), np.asarray(run["refits"][1:])
        return float(np.median((first - again) / first))

    print(f"{args.sources} simulated ACIS-like spectra (TbAbs * Powerlaw, cstat, 0.5-7 keV, 1090 x 1024 response)\n")
    print(f"jointfit loop ({args.loop_sources} sources)          {per_source(loop['times'])}; "
          f"compile share {compile_share(loop):.0%}")
    print(f"jointfit loop, shared programs        {per_source(shared['times'])}; "
          f"compile share {compile_share(shared):.0%}")
    many_rate = many["total"] / args.sources
    print(f"jointfit fit_many ({args.sources} sources)      {many['total']:6.1f} s in all, {many_rate:.3f} s per "
          f"source ({many['batched']} batched in {len(many['groups'])} group(s); building {many['built']:.1f} s)")
    rates = {n: run["total"] / args.sources for n, run in dask.items()}
    for n, run in dask.items():
        print(f"fit_catalogue, Dask {n} worker(s)        {run['total']:6.1f} s in all, {rates[n]:.3f} s per source "
              f"({run['ok']} ok; cluster start included)")
    print(f"NUTS per source ({args.nuts_sources}, shared)           {per_source(nuts['times'])}")
    loop_rate = float(np.median(loop["times"][1:]))
    print()
    print(f"fit_many / jointfit loop (per source)     {many_rate / loop_rate:.3f}")
    print(f"Dask scaling efficiency, 2 workers        {rates[1] / (2 * rates[2]):.2f}")
    if reference:
        theirs = float(np.median(reference["times"][1:]))
        print(f"3ML loop ({args.threeml_sources} sources)               {per_source(reference['times'])}")
        print(f"jointfit loop / 3ML loop (median source)  {loop_rate / theirs:.3f}")
        print(f"jointfit shared loop / 3ML loop           {float(np.median(shared['times'][1:])) / theirs:.3f}")
        print(f"fit_many / 3ML loop (per source)          {many_rate / theirs:.3f}")
        ours, fits = np.asarray(many["fits"][:len(reference["fits"])]), np.asarray(reference["fits"])
        print(f"best fits, fit_many vs 3ML: median |relative difference| {np.median(np.abs(ours / fits - 1)):.1e}, "
              f"largest {np.max(np.abs(ours / fits - 1)):.1e}")


if __name__ == "__main__":
    main()
