"""PhotometryLike cross-check: jointfit's AB magnitudes and chi-square against 3ML's.

The same magnitudes (8 bands: sdss2010-u g r i z, twomass-J H Ks, from a power law with
a fixed-seed scatter), the same speclite filter curves and the same spectral model, at a
few parameter sets of a ``Powerlaw`` (K, piv, index: the same definitions in jointfit
and astromodels) and of a ``Blackbody + Powerlaw``:

* 3ML: ``threeML.plugins.PhotometryLike.PhotometryLike(name, filters=<speclite
  FilterSequence>, observation=PhotometericObservation.from_kwargs(...))``, its model
  magnitudes (``_get_total_expectation``) and ``-2 get_log_like()``, which is chi-square
  (3ML's Gaussian in magnitude has no normalisation terms);
* jointfit: ``PhotometryLike.from_kwargs`` with the same speclite names, its
  ``model_magnitudes`` and chi-square = -2 * sum(pointwise log-likelihood + ln(sigma
  sqrt(2 pi))) (jointfit's Gaussian is fully normalised).

3ML integrates the spectrum times the curve with the trapezoid rule on each filter's
tabulated grid (and divides by speclite's AB zero point, also a trapezoid on that grid);
jointfit integrates the linearly interpolated curve exactly and the spectrum to ~1e-8.
Checks (exit status 1 if one fails):

(A) |3ML - jointfit| <= TOLERANCE_MAG (1e-4 mag) in every band, except in sdss2010-u,
    whose table jumps from 4160 to 7620 Å in one step (the red leak): the trapezoid
    across it errs by up to ~1e-3 mag for steep spectra, so there U_TOLERANCE_MAG
    (2e-3 mag); the chi-squares within the bound these imply,
    sum_i (2 |m_i - d_i| tol_i + tol_i^2) / sigma_i^2;
(B) the difference is the quadrature rule and nothing else: 3ML's magnitudes equal the
    trapezoid rule on each table, computed here with numpy from jointfit's spectrum
    without 3ML, within RULE_TOLERANCE_MAG (1e-9 mag).

Also printed: jointfit's magnitudes against speclite's own ``get_ab_magnitudes`` (the
same trapezoid and zero points as 3ML's; informative), and the AB zero points (photons /
(cm2 s) of the 3631 Jy source) of speclite against jointfit's exact ones.

3ML and astromodels run in their own virtualenv (``benchmarks/.venv-threeml``, made here
on first use with ``pip install threeML``; never a jointfit dependency). Exit status: 0
when everything agrees within the tolerance, 1 when not, 2 when 3ML could not be
installed or imported (the reason is printed).

Run: ``.venv/bin/python benchmarks/photometry_crosscheck.py`` (~20 s once the
virtualenv exists; making it takes several minutes).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
THREEML_VENV = HERE / ".venv-threeml"
FILTERS = ("sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z", "twomass-J", "twomass-H",
           "twomass-Ks")
TOLERANCE_MAG = 1e-4
U_TOLERANCE_MAG = 2e-3  # sdss2010-u: one 3460 Å step in its table (see the docstring)
RULE_TOLERANCE_MAG = 1e-9
PIVOT = 1.0  # keV

# the data: magnitudes of this power law, scattered by their errors (fixed seed)
TRUTH = {"K": 3e-4, "piv": PIVOT, "index": -2.1}
ERRORS = (0.10, 0.05, 0.05, 0.05, 0.06, 0.08, 0.08, 0.10)

# (label, model, parameter values by astromodels' names; jointfit's names are the same)
PARAMETER_SETS = (
    ("PL truth", "Powerlaw", {"K": 3e-4, "piv": PIVOT, "index": -2.1}),
    ("PL hard", "Powerlaw", {"K": 1.6e-3, "piv": PIVOT, "index": -1.8}),
    ("PL soft", "Powerlaw", {"K": 6e-5, "piv": PIVOT, "index": -2.4}),
    ("BB+PL warm", "Blackbody+Powerlaw", {"K_1": 2e7, "kT_1": 1.5e-3, "K_2": 1e-4, "piv_2": PIVOT, "index_2": -2.1}),
    ("BB+PL cool", "Blackbody+Powerlaw", {"K_1": 4e8, "kT_1": 4e-4, "K_2": 2e-4, "piv_2": PIVOT, "index_2": -2.0}),
    ("BB+PL hot", "Blackbody+Powerlaw", {"K_1": 1e6, "kT_1": 8e-3, "K_2": 5e-5, "piv_2": PIVOT, "index_2": -2.3}),
)

THREEML_SCRIPT = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import speclite.filters
    from astromodels import Blackbody, Model, PointSource, Powerlaw
    from threeML import silence_logs
    from threeML.plugins.PhotometryLike import PhotometryLike
    from threeML.utils.photometry import PhotometericObservation
    import threeML
    silence_logs()
    request = json.loads(sys.argv[1])
    filters = speclite.filters.load_filters(*request["filters"])
    observation = PhotometericObservation.from_kwargs(**{band: tuple(v) for band, v in request["data"].items()})
    shapes = {"Powerlaw": Powerlaw, "Blackbody+Powerlaw": lambda: Blackbody() + Powerlaw()}
    out = []
    for label, kind, values in request["sets"]:
        plugin = PhotometryLike("grond", filters=filters, observation=observation)
        shape = shapes[kind]()
        for name, value in values.items():
            parameter = getattr(shape, name)
            parameter.bounds = (None, None)
            parameter.value = value
        plugin.set_model(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)))
        magnitudes = np.asarray(plugin._get_total_expectation(), dtype=float)
        out.append({"label": label, "bands": [str(b) for b in plugin._filter_set.filter_names],
                    "magnitudes": magnitudes.tolist(), "minus_2_log_like": -2.0 * float(plugin.get_log_like())})
    print(json.dumps({"results": out, "threeML": threeML.__version__, "speclite": speclite.__version__}))
""")


# -- jointfit ------------------------------------------------------------------------------------------------
def jointfit_shape(kind: str, values: dict):
    import jointfit as jf

    if kind == "Powerlaw":
        return jf.Powerlaw(K=values["K"], piv=values["piv"], index=values["index"])
    return (jf.Blackbody(K=values["K_1"], kT=values["kT_1"])
            + jf.Powerlaw(K=values["K_2"], piv=values["piv_2"], index=values["index_2"]))


def jointfit_side(data: dict) -> list[dict]:
    """jointfit's model magnitudes and chi-square at each parameter set."""
    import jax.numpy as jnp
    import jointfit as jf
    from jointfit_photometry import PhotometryLike

    out = []
    for label, kind, values in PARAMETER_SETS:
        plugin = PhotometryLike.from_kwargs("grond", filters=list(FILTERS), **data)
        shape = jointfit_shape(kind, values)
        space = jf.Model(jf.PointSource("src", 0.0, 0.0, spectral_shape=shape)).compile()
        plugin.setup(space)
        point = space.unpack(jnp.asarray(space.initial_theta))
        # every parameter at its set value, free or fixed
        for name, value in values.items():
            assert any(path.endswith("." + name) and float(v) == value for path, v in point.items()), (label, name)
        magnitudes = np.asarray(plugin.model_magnitudes(point))
        pointwise = np.asarray(plugin.pointwise_loglike(point))
        sigma = np.array([data[b][1] for b in plugin.active_bands])
        chi2 = -2.0 * float(np.sum(pointwise + np.log(sigma * math.sqrt(2 * math.pi))))
        out.append({"label": label, "bands": plugin.active_bands, "magnitudes": magnitudes.tolist(),
                    "chi2": chi2, "spectrum": lambda e, s=shape: np.asarray(s(np.asarray(e, dtype=float)))})
    return out


def speclite_magnitudes(spectrum) -> np.ndarray:
    """speclite's ``get_ab_magnitudes`` of a photon spectrum (photons / (cm2 s keV) of
    keV), given to it as f_lambda in erg / (cm2 s Å) of wavelength."""
    import astropy.units as u
    import speclite.filters

    erg_per_kev = (1 * u.keV).to_value(u.erg)
    kev_angstrom = (1 * u.keV).to(u.AA, u.spectral()).value  # E (keV) * lambda (Å)

    def f_lambda(wavelength):
        angstrom = np.asarray(wavelength.to_value(u.AA) if hasattr(wavelength, "unit") else wavelength, dtype=float)
        energy = kev_angstrom / angstrom
        # f_lambda = N(E) E |dE / d lambda| = N(E) E^2 / lambda
        return spectrum(energy) * energy**2 / angstrom * erg_per_kev * (u.erg / (u.cm**2 * u.s * u.AA))

    table = speclite.filters.load_filters(*FILTERS).get_ab_magnitudes(f_lambda)
    return np.array([float(table[name][0]) for name in FILTERS])


def make_data() -> dict:
    """Magnitudes of TRUTH in FILTERS plus a fixed-seed scatter by their errors."""
    from jointfit.filters import get_filter

    shape = jointfit_shape("Powerlaw", TRUTH)
    rng = np.random.default_rng(3)
    data = {}
    for name, error in zip(FILTERS, ERRORS):
        filt = get_filter(name)
        data[filt.band] = (round(filt.ab_magnitude(lambda e: np.asarray(shape(e))) + error * rng.normal(), 4), error)
    return data


# -- 3ML ----------------------------------------------------------------------------------------------------
def threeml_side(data: dict) -> dict:
    """3ML's magnitudes and -2 log L; exits with status 2 if 3ML cannot be had."""
    from reference_venv import reference_python, run_json

    try:
        python = reference_python(THREEML_VENV, "threeML")
    except subprocess.CalledProcessError as error:
        print(f"\n3ML COULD NOT BE INSTALLED: `{' '.join(map(str, error.cmd))}` exited with status {error.returncode} "
              "(pip's error is printed above). No comparison with 3ML was made.")
        sys.exit(2)
    request = {"filters": list(FILTERS), "data": data, "sets": PARAMETER_SETS}
    try:
        return run_json(python, ["-c", THREEML_SCRIPT, json.dumps(request)], cwd=HERE)
    except RuntimeError as error:
        if "ModuleNotFoundError" in str(error) or "ImportError" in str(error):
            print(f"\n3ML COULD NOT BE IMPORTED from {python}: no comparison with 3ML was made.\n{error}")
            sys.exit(2)
        raise


def tolerances() -> np.ndarray:
    """Check (A)'s tolerance of each band of FILTERS (mag)."""
    return np.array([U_TOLERANCE_MAG if name == "sdss2010-u" else TOLERANCE_MAG for name in FILTERS])


def chi2_bound(magnitudes: np.ndarray, data: dict, bands: list[str]) -> float:
    """Largest chi-square difference magnitudes within check (A)'s tolerances of these
    can make."""
    measured = np.array([data[b][0] for b in bands])
    sigma = np.array([data[b][1] for b in bands])
    tol = tolerances()
    return float(np.sum((2 * np.abs(magnitudes - measured) * tol + tol**2) / sigma**2))


def trapezoid_magnitudes(spectrum) -> np.ndarray:
    """3ML's rule, with numpy: AB magnitudes of a photon spectrum by the trapezoid rule
    on each filter's tabulated wavelengths, photon rate over that of the AB source (whose
    photon spectrum is proportional to 1/E)."""
    import astropy.constants as const
    import astropy.units as u
    import speclite.filters

    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    # photon spectrum of the flat 3631 Jy source: f_nu / (h E), photons / (cm2 s keV) at 1 keV
    ab_at_1kev = (3631 * u.Jy / (const.h * u.keV)).to_value(u.Unit("1/(cm2 s keV)"))
    out = []
    for name in FILTERS:
        curve = speclite.filters.load_filter(name)
        wavelength, response = np.asarray(curve.wavelength, dtype=float), np.asarray(curve.response, dtype=float)
        energy = (wavelength * u.AA).to_value(u.keV, u.spectral())
        jacobian = energy / wavelength  # |dE / d lambda|
        rate = trapezoid(spectrum(energy) * response * jacobian, wavelength)
        reference = trapezoid(ab_at_1kev / energy * response * jacobian, wavelength)
        out.append(-2.5 * np.log10(rate / reference))
    return np.array(out)


def zero_points() -> list[tuple[str, float, float]]:
    """(name, speclite's ab_zeropoint, jointfit's) in photons / (cm2 s), per filter."""
    import astropy.units as u
    import speclite.filters
    from jointfit.filters import get_filter

    return [(name, float(speclite.filters.load_filter(name).ab_zeropoint.to_value(u.Unit("1/(cm2 s)"))),
             float(get_filter(name)._reference_rate)) for name in FILTERS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    began = time.perf_counter()
    data = make_data()
    ours = jointfit_side(data)
    reference = threeml_side(data)
    theirs = {r["label"]: r for r in reference["results"]}

    print(f"PhotometryLike: jointfit vs 3ML {reference['threeML']} (speclite {reference['speclite']} there); "
          f"{len(FILTERS)} bands, AB magnitudes")
    print("data: " + "  ".join(f"{band} {m:.4f}+/-{e}" for band, (m, e) in data.items()) + "\n")
    tol = tolerances()
    worst = {"A": 0.0, "B": 0.0, "speclite": 0.0}
    failures = []
    for result in ours:
        label = result["label"]
        other = theirs[label]
        if other["bands"] != result["bands"]:
            raise SystemExit(f"{label}: band order differs: 3ML {other['bands']} vs jointfit {result['bands']}")
        mine, them = np.array(result["magnitudes"]), np.array(other["magnitudes"])
        rule = trapezoid_magnitudes(result["spectrum"])
        spec = speclite_magnitudes(result["spectrum"])
        values = dict(next(v for lab, _, v in PARAMETER_SETS if lab == label))
        print(f"{label}: " + ", ".join(f"{k}={v:g}" for k, v in values.items()))
        print(f"  {'band':4s} {'jointfit':>9s} {'3ML':>9s} {'3ML-jf':>9s} {'(A) tol':>7s} {'trapz-jf':>9s} "
              f"{'3ML-trapz':>9s} {'speclite':>9s} {'spcl-jf':>9s}")
        for band, a, b, t, r, c in zip(result["bands"], mine, them, tol, rule, spec):
            print(f"  {band:4s} {a:9.5f} {b:9.5f} {b - a:+9.1e} {t:7.0e} {r - a:+9.1e} {b - r:+9.1e} {c:9.5f} "
                  f"{c - a:+9.1e}")
        chi2_mine, chi2_them = result["chi2"], other["minus_2_log_like"]
        bound = chi2_bound(mine, data, result["bands"])
        print(f"  chi2: jointfit {chi2_mine:.6f}   3ML (-2 log L) {chi2_them:.6f}   "
              f"difference {chi2_them - chi2_mine:+.2e}   (bound from (A)'s tolerances: {bound:.2e})\n")
        worst["A"] = max(worst["A"], float(np.max(np.abs(them - mine) / tol)))
        worst["B"] = max(worst["B"], float(np.max(np.abs(them - rule))))
        worst["speclite"] = max(worst["speclite"], float(np.max(np.abs(spec - mine))))
        if (np.any(np.abs(them - mine) > tol) or abs(chi2_them - chi2_mine) > bound
                or np.max(np.abs(them - rule)) > RULE_TOLERANCE_MAG):
            failures.append(label)
    print("AB zero points (photons / (cm2 s)): speclite (trapezoid on the table) vs jointfit (exact), in mag")
    print("  " + "  ".join(f"{name.split('-')[1]} {2.5 * np.log10(theirs_zp / ours_zp):+.1e}"
                           for name, theirs_zp, ours_zp in zero_points()))
    print(f"(A) largest |3ML - jointfit| / tolerance: {worst['A']:.2f}   (tolerance {TOLERANCE_MAG:g} mag, "
          f"sdss2010-u {U_TOLERANCE_MAG:g} mag)")
    print(f"(B) largest |3ML - trapezoid rule (numpy)|: {worst['B']:.1e} mag   (tolerance {RULE_TOLERANCE_MAG:g} mag)")
    print(f"largest |speclite get_ab_magnitudes - jointfit|: {worst['speclite']:.1e} mag (informative)")
    print(f"{time.perf_counter() - began:.0f} s in all")
    if failures:
        print(f"DISAGREEMENT beyond the tolerance in: {', '.join(failures)}")
        sys.exit(1)
    print("agreement within the tolerances (A) and (B) and the chi-square bounds: yes")

if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
