"""3ML's tutorial "Point Source Fluxes and Multiple Sources", done with jointfit.

Two point sources: ``src1`` a blackbody, ``src2`` a blackbody plus a power law
normalised by its 10-500 keV photon flux, with the tutorial's priors and the
blackbody temperature linked across the sources. Their spectra are simulated through
the GBM-like demo response (fixed seeds) and written as OGIP files.

Run ``python -m jointfit.examples.point_source_fluxes [output folder]`` (``make demo``):
it reads the files back as a user would, samples the posterior with UltraNest, prints
3ML's results display and the tutorial's flux tables, runs NUTS on the same model, and
writes to the folder ``fit.nc`` (the results), ``corner.png``, ``counts.png``,
``spectra.png`` and ``fluxes.csv``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import astropy.units as u
import numpy as np

from jointfit import (BayesianAnalysis, Blackbody, DataList, Gaussian, Log_normal, Model, PointSource, Powerlaw,
                      Powerlaw_flux, display_spectrum_model_counts, load_analysis_results, load_plugin,
                      plot_spectra)

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


# The tutorial's get_flux calls: (label, keyword arguments)
FLUX_REQUESTS = (
    ("energy flux 1 keV - 1 MeV", dict(ene_min=1 * u.keV, ene_max=1 * u.MeV, flux_unit="erg/cm2/s")),
    ("summed over sources", dict(ene_min=1 * u.keV, ene_max=1 * u.MeV, flux_unit="erg/cm2/s", sum_sources=True)),
    ("components, photon flux 10-500 keV", dict(ene_min=10 * u.keV, ene_max=0.5 * u.MeV, use_components=True,
                                                flux_unit="1/(cm2 s)")),
    ("Blackbody component, erg2/(cm2 s) 10-500 keV", dict(ene_min=10 * u.keV, ene_max=0.5 * u.MeV,
                                                          components=["Blackbody"], flux_unit="erg2/(cm2 s)")),
)


def write_spectra(folder: Path) -> None:
    """The simulated spectra as PHA, background PHA and response files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for plugin in simulate_spectra():
        plugin.write_pha(folder / plugin.name, overwrite=True)


def read_spectra(folder: Path) -> DataList:
    """The spectra read from their files, assigned to the tutorial's sources."""
    ogip = load_plugin("OGIPLike")
    plugins = [ogip(name, folder / f"{name}.pha") for name in ("s1", "s2")]
    for plugin, source in zip(plugins, ("src1", "src2")):
        plugin.assign_to_source(source)
    return DataList(*plugins)


def flux_tables(results) -> dict:
    """The tutorial's four flux tables (pandas DataFrames) by label."""
    return {label: results.get_flux(**request) for label, request in FLUX_REQUESTS}


def run(output: Path, live_points: int = 400, nuts_samples: int = 1000, show_status: bool = True) -> dict:
    """The whole tutorial; returns the results (UltraNest's and NUTS's) and flux tables."""
    import matplotlib

    matplotlib.use("Agg")
    output.mkdir(parents=True, exist_ok=True)
    write_spectra(output / "data")
    data = read_spectra(output / "data")
    model = build_model()
    print(model)

    analysis = BayesianAnalysis(model, data)
    analysis.set_sampler("ultranest")
    start = time.perf_counter()
    results = analysis.sample(min_num_live_points=live_points, show_status=show_status, quiet=True)
    print(f"\nUltraNest: {time.perf_counter() - start:.1f} s, compilation included\n")
    results.display()
    path = results.write(output / "fit.nc", overwrite=True)
    results = load_analysis_results(path)  # everything below works on the file as well
    print(f"\nresults written to {path} and read back")

    display_spectrum_model_counts(analysis, min_significance=3.0).savefig(output / "counts.png", dpi=100)
    results.corner_plot(truths=TRUTH).savefig(output / "corner.png", dpi=80)
    plot_spectra(results, 10.0, 1e4, use_components=True).savefig(output / "spectra.png", dpi=100)

    tables = flux_tables(results)
    for label, table in tables.items():
        print(f"\n{label}:")
        print(table[["flux", "low bound", "hi bound"]].to_string())
    combined = [table.assign(request=label) for label, table in tables.items()]
    import pandas as pd

    pd.concat(combined)[["request", "value", "lower", "upper", "unit"]].to_csv(output / "fluxes.csv",
                                                                               index_label="row")
    start = time.perf_counter()
    nuts = analysis.sample(sampler="nuts", num_warmup=500, num_samples=nuts_samples, num_chains=2,
                           chain_method="vectorized", progress_bar=show_status, quiet=True)
    print(f"\nNUTS: {time.perf_counter() - start:.1f} s, compilation included")
    summary = nuts.summary()
    print(summary[["median", "lower_68", "upper_68", "ess_bulk", "r_hat"]].to_string())
    print(f"\nwritten to {output}: fit.nc, corner.png, counts.png, spectra.png, fluxes.csv, data/")
    return {"ultranest": results, "nuts": nuts, "fluxes": tables}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, help="folder for the results and pictures "
                        "(default: a new temporary folder)")
    parser.add_argument("--live-points", type=int, default=400)
    args = parser.parse_args(argv)
    output = args.output or Path(tempfile.mkdtemp(prefix="jointfit-demo-"))
    run(output, live_points=args.live_points)


if __name__ == "__main__":
    main(sys.argv[1:])
