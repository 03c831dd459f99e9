"""get_flux on the 3ML tutorial's posterior: jointfit against 3ML, the same draws.

The tutorial's two spectra are simulated and written as PHA files; jointfit samples the
posterior (NUTS, 4 chains x 1000 draws) and writes it. Then, each in a fresh process:

* jointfit: the results file is read back and the tutorial's four ``get_flux`` tables
  are computed (``integration="quad"``, exact to 1e-9), timed call by call with an
  empty compilation cache (cold) and again in the same process (warm);
* 3ML (its own virtualenv, ``benchmarks/.venv-threeml``): the very same draws are put in
  a ``BayesianResults`` of the same astromodels model, and the same four tables are
  computed with ``integrate_flux_method`` "quad" and "trapz".

Printed: the four tables side by side with the relative differences, the time of the
timed request (3 rows: every draw's photon flux of src1 and of src2's two components,
10-500 keV) and its ratios, and each code's total for the four tables.

Run: ``.venv/bin/python benchmarks/get_flux.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import json
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
THREEML_VENV = HERE / ".venv-threeml"

# The tutorial's get_flux calls; energies in keV, units as the tutorial writes them.
REQUESTS = [
    {"label": "energy flux 1 keV-1 MeV", "ene_min": 1.0, "ene_max": 1000.0, "flux_unit": "erg/(cm2 s)"},
    {"label": "sum of sources", "ene_min": 1.0, "ene_max": 1000.0, "flux_unit": "erg/(cm2 s)", "sum_sources": True},
    {"label": "components, photons 10-500 keV", "ene_min": 10.0, "ene_max": 500.0, "flux_unit": "1/(cm2 s)",
     "use_components": True},
    {"label": "Blackbody, erg2 10-500 keV", "ene_min": 10.0, "ene_max": 500.0, "flux_unit": "erg2/(cm2 s)",
     "components": ["Blackbody"]},
]
TIMED = 2  # the request with 3 rows (all draws x 3 components)

THREEML_SCRIPT = textwrap.dedent("""
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    import astropy.units as u
    import numpy as np
    from threeML import Blackbody, Model, PointSource, Powerlaw_flux, silence_logs, threeML_config
    from threeML.analysis_results import BayesianResults
    silence_logs()
    draws = np.load(sys.argv[1])
    requests = json.loads(sys.argv[2])

    # the tutorial's model
    for parameter, value in zip(model.free_parameters.values(), draws["best"]):
        parameter.value = value
    samples = draws["samples"]
    results = BayesianResults(model, samples, {}, {}, np.zeros(samples.shape[0]))

    out = {}
    for method in ("quad", "trapz"):
        threeML_config.point_source.integrate_flux_method = method
        tables, seconds = [], []
        for request in requests:
            options = {k: v for k, v in request.items() if k not in ("label", "ene_min", "ene_max")}
            if "components" in options:  # 3ML's names
                options.update(use_components=True, components_to_use=options.pop("components"))
            start = time.perf_counter()
            table = results.get_flux(ene_min=request["ene_min"] * u.keV, ene_max=request["ene_max"] * u.keV,
                                     **options)
            seconds.append(time.perf_counter() - start)
            tables.append({row: [table.loc[row, "flux"].value, table.loc[row, "low bound"].value,
                                 table.loc[row, "hi bound"].value] for row in table.index})
        out[method] = {"tables": tables, "seconds": seconds}
    print(json.dumps(out))
""")


def sample_posterior(folder: Path) -> Path:
    """jointfit's NUTS posterior of the tutorial, written to ``folder/fit.nc``; its
    draws (and the MAP draw) also go to ``draws.npz`` for 3ML."""
    from jointfit import BayesianAnalysis
    from jointfit.examples.point_source_fluxes import build_model, read_spectra, write_spectra

    write_spectra(folder)
    analysis = BayesianAnalysis(build_model(), read_spectra(folder))
    results = analysis.sample(sampler="nuts", num_warmup=500, num_samples=1000, num_chains=4,
                              chain_method="vectorized", progress_bar=False, quiet=True)
    best = results.point_estimates().loc[results.free_parameters, "value"].to_numpy()
    np.savez(folder / "draws.npz", samples=results.samples_matrix, best=best)
    return results.write(folder / "fit.nc", overwrite=True)


def worker_jointfit(path: str) -> dict:
    """The four tables from the results file: cold (first calls compile), then warm."""
    import astropy.units as u

    from jointfit import load_analysis_results

    results = load_analysis_results(path)
    out = {}
    for label in ("cold", "warm"):
        tables, seconds = [], []
        for request in REQUESTS:
            options = {k: v for k, v in request.items() if k not in ("label", "ene_min", "ene_max")}
            start = time.perf_counter()
            table = results.get_flux(request["ene_min"] * u.keV, request["ene_max"] * u.keV, **options)
            seconds.append(time.perf_counter() - start)
            tables.append({row: [table.loc[row, "value"], table.loc[row, "lower"], table.loc[row, "upper"]]
                           for row in table.index})
        out[label] = {"tables": tables, "seconds": seconds}
    out["n_draws"] = int(results.samples_matrix.shape[0])
    return out


def src1_with_kt_shuffled(path: Path) -> list[float]:
    """src1's 1 keV-1 MeV energy flux (median, 16 %, 84 %) when the linked kT is drawn
    independently of src1's K (the kT column shuffled): what a propagation that treats
    the linked parameter as an independent variate would give."""
    from jointfit import load_analysis_results
    from jointfit.fluxes import FluxCalculator, flux_rows
    from jointfit.flux_units import resolve_flux_unit

    results = load_analysis_results(path)
    space = results.model.compile()
    thetas = results.samples_matrix.copy()
    column = results.free_parameters.index("src2.spectrum.main.composite.kT_1")
    thetas[:, column] = np.random.default_rng(0).permutation(thetas[:, column])
    values = FluxCalculator(space).evaluate(thetas, flux_rows(space, ["src1"]), 1.0, 1000.0,
                                            resolve_flux_unit("erg/(cm2 s)", False))[:, 0]
    return np.quantile(values, [0.5, 0.16, 0.84]).tolist()


def main() -> None:
    from reference_venv import reference_python, run_json, with_tutorial_model

    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        print(json.dumps(worker_jointfit(sys.argv[2])))
        return
    with tempfile.TemporaryDirectory(prefix="jointfit-get-flux-") as tmp:
        folder = Path(tmp)
        path = sample_posterior(folder)
        ours = run_json(sys.executable, [__file__, "--worker", str(path)], env={"XDG_CACHE_HOME": str(folder / "cache")})
        python = reference_python(THREEML_VENV, "threeML", "ultranest")
        theirs = run_json(python, ["-c", with_tutorial_model(THREEML_SCRIPT), str(folder / "draws.npz"),
                                   json.dumps(REQUESTS)], cwd=folder)
        decorrelated = src1_with_kt_shuffled(path)

    print(f"get_flux on the 3ML tutorial's posterior ({ours['n_draws']} draws, NUTS), the same draws in both codes\n")
    for i, request in enumerate(REQUESTS):
        print(f"{request['label']} [{request['flux_unit']}]  (median, 16 %, 84 %)")
        for row, mine in ours["cold"]["tables"][i].items():
            quad, trapz = theirs["quad"]["tables"][i].get(row), theirs["trapz"]["tables"][i].get(row)
            print(f"  {row:22s} jointfit {mine[0]:.6e} [{mine[1]:.6e}, {mine[2]:.6e}]")
            for name, other in (("3ML quad", quad), ("3ML trapz", trapz)):
                if other is None:
                    print(f"  {'':22s} {name:9s} has no row {row!r}")
                    continue
                worst = max(abs(a / b - 1) for a, b in zip(other, mine))
                print(f"  {'':22s} {name:9s}{other[0]:.6e} [{other[1]:.6e}, {other[2]:.6e}]  "
                      f"largest relative difference {worst:.1e}")
    print(f"\nsrc1 energy flux with kT drawn independently of K (kT column shuffled): {decorrelated[0]:.6e} "
          f"[{decorrelated[1]:.6e}, {decorrelated[2]:.6e}]")
    threeml_src1 = theirs["quad"]["tables"][0]["src1: total"]
    worst = max(abs(a / b - 1) for a, b in zip(threeml_src1, decorrelated))
    print(f"  3ML quad's src1 row against it: largest relative difference {worst:.1e} (Monte-Carlo scatter of a "
          "shuffle ~1e-2)\n")
    timed = REQUESTS[TIMED]["label"]
    cold, warm = ours["cold"]["seconds"][TIMED], ours["warm"]["seconds"][TIMED]
    quad, trapz = theirs["quad"]["seconds"][TIMED], theirs["trapz"]["seconds"][TIMED]
    print(f"timed request: {timed} ({ours['n_draws']} draws x 3 rows)")
    print(f"  jointfit quad  cold {cold:7.3f} s   warm {warm:7.3f} s")
    print(f"  3ML quad            {quad:7.3f} s   ratio 3ML quad / jointfit: cold {quad / cold:7.1f}x, warm "
          f"{quad / warm:7.1f}x   (target >= 100x)")
    print(f"  3ML trapz           {trapz:7.3f} s   ratio 3ML trapz / jointfit: cold {trapz / cold:7.1f}x, warm "
          f"{trapz / warm:7.1f}x   (target > 1x)")
    print(f"all four tables: jointfit cold {sum(ours['cold']['seconds']):.2f} s, warm {sum(ours['warm']['seconds']):.2f} s;"
          f" 3ML quad {sum(theirs['quad']['seconds']):.2f} s, trapz {sum(theirs['trapz']['seconds']):.2f} s")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
