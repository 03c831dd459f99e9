"""Cross-check of TbAbs and PhAbs with XSPEC's cross-sections, as astromodels ships them.

astromodels (3ML's modelling package) tabulates XSPEC 12's ``tbabs`` and ``phabs``
cross-sections per H atom, 0.1-20 keV, for several abundance tables. This script
installs astromodels in its own virtualenv (``benchmarks/.venv-astromodels``, first
run only), reads those tables and compares jointfit's cross-sections at the same
energies. It prints, per model and abundance table, the median and 99th percentile of
the relative difference away from the O K (0.51-0.60 keV), Fe L (0.69-0.74 keV) and
Ne K (0.86-0.88 keV) edge regions, where XSPEC's tbabs uses laboratory edge structure
and jointfit the smooth Verner fits, and the largest difference inside them. Points
within 0.1 % of an absorption edge are left out: there the 0.05 %-spaced tables
themselves cannot say where the edge is.

Run: ``.venv/bin/python benchmarks/absorption_crosscheck.py``
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from astropy.io import fits
from reference_venv import reference_python

from jointfit import PhAbs, TbAbs
from jointfit.functions import cross_sections as xs

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-astromodels"
EDGE_REGIONS_KEV = ((0.51, 0.60), (0.69, 0.74), (0.86, 0.88))
CASES = (("tbabs", "wilm"), ("tbabs", "angr"), ("tbabs", "aspl"), ("phabs", "angr"), ("phabs", "aspl"))


def astromodels_tables() -> Path:
    python = reference_python(VENV, "astromodels")
    out = subprocess.run([str(python), "-c", "import astromodels, pathlib; "
                          "print(pathlib.Path(astromodels.__file__).parent / 'data' / 'xsect')"],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def main() -> None:
    folder = astromodels_tables()
    edges = xs.edge_energies(tuple(range(1, 31))) / 1e3
    print(f"{'model':6} {'abund':5} {'median |rel|':>13} {'99% |rel|':>10} {'max |rel| in O/Fe L/Ne edges':>30}")
    for model, table in CASES:
        with fits.open(folder / f"xsect_{model}_{table}.fits") as hdus:
            energy = np.asarray(hdus[1].data["ENERGY"], dtype=float)
            reference = np.asarray(hdus[1].data["SIGMA"], dtype=float)
        function = (TbAbs if model == "tbabs" else PhAbs)(NH=1e-3, abundance_table=table)
        ours = -np.log(np.asarray(function(energy))) / 1e-3
        relative = np.abs(ours / reference - 1.0)
        near_edge = np.any(np.abs(energy[:, None] / edges[None, :] - 1.0) < 1e-3, axis=1)
        in_regions = np.any([(energy >= lo) & (energy < hi) for lo, hi in EDGE_REGIONS_KEV], axis=0)
        clean = ~near_edge & ~in_regions
        print(f"{model:6} {table:5} {np.median(relative[clean]):13.2e} {np.percentile(relative[clean], 99):10.2e} "
              f"{relative[in_regions & ~near_edge].max():30.2f}")


if __name__ == "__main__":
    main()
