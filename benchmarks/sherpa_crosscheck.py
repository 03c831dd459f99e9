"""Cross-check with Sherpa: files jointfit writes, read by Sherpa, give the same statistic.

jointfit simulates two spectra through a small response (one with a Poisson
background, one without), writes them with ``write_pha`` (PHA + background + RSP), and
computes W-stat and C-stat for a power law. Sherpa, in its own virtualenv, loads the
same files (following BACKFILE and RESPFILE) and computes its statistics for the same
model. The script prints both and their relative difference.

Sherpa is built from source by pip on machines without a wheel: it then needs
``byacc flex bison libfftw3-dev pkg-config`` (Debian packages). Its virtualenv,
``benchmarks/.venv-sherpa``, is made here on first use.

Run: ``.venv/bin/python benchmarks/sherpa_crosscheck.py``
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from reference_venv import reference_python
from scipy import stats

HERE = Path(__file__).resolve().parent
SHERPA_VENV = HERE / ".venv-sherpa"
AMPLITUDE, GAMMA = 25.0, 1.6  # the power law both tools evaluate: 25 (E / 1 keV)^-1.6

SHERPA_SCRIPT = textwrap.dedent("""
    import json, sys
    from sherpa.astro import ui
    results = {}
    for stem, stat in json.loads(sys.argv[1]):
        ui.clean()
        ui.load_pha(stem + ".pha")
        ui.set_stat(stat)
        ui.set_source(ui.powlaw1d.p)
        p.ampl, p.gamma, p.ref = float(sys.argv[2]), float(sys.argv[3]), 1.0
        results[stem] = ui.calc_stat()
    print(json.dumps(results))
""")


def toy_response():
    """A 60 x 24 Gaussian-redistribution response with 50 cm2 folded in."""
    from jointfit_ogip import Response

    edges = np.geomspace(1.0, 100.0, 61)
    channel_edges = np.geomspace(0.8, 120.0, 25)
    centres = np.sqrt(edges[:-1] * edges[1:])
    cdf = stats.norm.cdf(np.log(channel_edges)[None, :], np.log(centres)[:, None], 0.1)
    matrix = np.diff(cdf, axis=1) * 50.0
    matrix[matrix < 1e-6] = 0.0
    return Response(edges[:-1], edges[1:], np.arange(1, 25), channel_edges[:-1], channel_edges[1:], matrix,
                    "toy", has_area=True)


def main() -> None:
    import jointfit  # noqa: F401  (float64)
    from jointfit import Model, PointSource, Powerlaw
    from jointfit_ogip import OGIPLike

    folder = Path(tempfile.mkdtemp(prefix="jointfit-sherpa-"))
    cases = {
        "wstat": OGIPLike.from_function("with_bkg", Powerlaw(K=30.0, index=-1.7), toy_response(),
                                        background_function=Powerlaw(K=5.0, index=-1.0), exposure=100.0, seed=3),
        "cstat": OGIPLike.from_function("no_bkg", Powerlaw(K=30.0, index=-1.7), toy_response(),
                                        exposure=100.0, seed=4),
    }
    ours, jobs = {}, []
    for statistic, plugin in cases.items():
        stem = folder / plugin.name
        plugin.write_pha(stem)
        space = Model(PointSource("s", 0.0, 0.0, Powerlaw(K=AMPLITUDE, index=-GAMMA))).compile(
            extra_parameters=plugin.nuisance_parameters)
        plugin.setup(space)
        ours[str(stem)] = float(plugin.statistic_value(space.unpack(space.initial_theta)))
        jobs.append((str(stem), statistic))
    python = reference_python(SHERPA_VENV, "sherpa", "astropy")
    result = subprocess.run([str(python), "-c", SHERPA_SCRIPT, json.dumps(jobs), str(AMPLITUDE),
                             str(GAMMA)], capture_output=True, text=True, check=True)
    theirs = json.loads(result.stdout.strip().splitlines()[-1])
    for stem, statistic in jobs:
        difference = abs(ours[stem] - theirs[stem]) / abs(theirs[stem])
        print(f"{statistic}: jointfit {ours[stem]:.10f}  Sherpa {theirs[stem]:.10f}  relative difference {difference:.1e}")


if __name__ == "__main__":
    main()
