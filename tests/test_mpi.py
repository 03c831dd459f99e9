"""UltraNest under MPI (docs/scaling.md): ``mpiexec -n 2 python fit.py`` runs one nested
sampling run in two processes that share the likelihood evaluations, and gives the ln Z
of a run in one process, the same results on both ranks, one results file and one
printed summary, both from rank 0.

The analysis is the straight line of tests/test_analysis.py (two XYLike data sets, flat
priors), whose evidence is analytic, rather than the seed case (3ML's tutorial): its run
took 21-45 s on two cores (one process; two ranks), twice that while another job ran,
which leaves no room for the run in one process that this test compares with.

Needs an MPI launcher (``mpiexec``) and mpi4py: ``make venv`` installs mpi4py where
``mpicc`` is on PATH, and CI (.ci/run) installs Open MPI first and sets
``JOINTFIT_REQUIRE_MPI``, which turns the skip into a failure.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jointfit import load_analysis_results

_MISSING = [name for name, found in (("mpiexec", shutil.which("mpiexec")),
                                     ("mpi4py", importlib.util.find_spec("mpi4py"))) if found is None]
if _MISSING and os.environ.get("JOINTFIT_REQUIRE_MPI"):
    raise RuntimeError(f"JOINTFIT_REQUIRE_MPI is set but {' and '.join(_MISSING)} "
                       f"{'is' if len(_MISSING) == 1 else 'are'} missing: install Open MPI "
                       "(Debian: openmpi-bin libopenmpi-dev) and mpi4py (pip install 'jointfit[mpi]')")
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=f"UltraNest under MPI needs {' and '.join(_MISSING)} "
                                                       "(Open MPI's openmpi-bin libopenmpi-dev, then "
                                                       "pip install 'jointfit[mpi]')")

FIT_SCRIPT = '''
"""The user's script: the same on every rank. What the test reads, each rank writes to
files of its own (the launcher may interleave the ranks' standard output)."""
import contextlib
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

import jointfit._arviz
import jointfit.samplers
from jointfit import BayesianAnalysis, DataList, Line, Model, PointSource, Uniform_prior, XYLike, _mpi

# bookkeeping the test reads: the points each rank evaluates itself, and actual writes
own_points, writes = 0, []
transform, write_netcdf = jointfit.samplers._UnitCubeDensity.transform, jointfit._arviz.write_netcdf


def counting_transform(self, u):
    global own_points
    own_points += len(u)
    return transform(self, u)


def reporting_write(data, path):
    writes.append(str(path))
    return write_netcdf(data, path)


jointfit.samplers._UnitCubeDensity.transform = counting_transform
jointfit._arviz.write_netcdf = reporting_write

x = np.linspace(1.0, 10.0, 25)
sigma = np.full(x.size, 0.5)
truth = Line(a=1.5, b=0.8)
data = DataList(XYLike.from_function("first", truth, x[::2], yerr=sigma[::2], seed=3),
                XYLike.from_function("second", truth, x[1::2], yerr=sigma[1::2], seed=4))
shape = Line(a=0.0, b=1.0)
shape.a.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
shape.b.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
model = Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape))

out = Path(sys.argv[1])
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    ba = BayesianAnalysis(model, data)
    results = ba.sample(min_num_live_points=200, show_status=False, seed=1, log_dir=out / "ultranest")  # prints
    results.write(out / "fit.nc")
(out / f"report-{_mpi.rank()}.json").write_text(json.dumps({
    "rank": _mpi.rank(), "size": _mpi.size(), "mpi_ranks": results.mpi_ranks, "ln_Z": results.ln_Z,
    "ln_Z_error": results.ln_Z_error, "own_points": own_points, "writes": writes, "printed": printed.getvalue(),
    "draws": hashlib.sha256(np.ascontiguousarray(results.samples_matrix).tobytes()).hexdigest(),
    "x": [p.x.tolist() for p in data], "y": [p.y.tolist() for p in data], "yerr": [p.yerr.tolist() for p in data]}))
'''


def _environment() -> dict[str, str]:
    """The environment for the launches, given explicitly: ``os.environ`` leaves out what
    an MPI initialised in this process (UltraNest's, in an earlier test) set at the C
    level, which a child inherits otherwise, and with which Open MPI's mpiexec takes itself
    for a nested launch and exits 1 without a word."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_"))}


def _launcher() -> list[str]:
    """``mpiexec -n 2``, with Open MPI's flags for more ranks than cores and for root."""
    command = [shutil.which("mpiexec"), "-n", "2"]
    version = subprocess.run(command[:1] + ["--version"], capture_output=True, text=True, env=_environment()).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        command.append("--oversubscribe")
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
    return command


def _run(command: list[str], out: Path) -> list[dict]:
    """Each rank's report of running the script under ``command`` (none: one process)."""
    out.mkdir()
    done = subprocess.run([*command, sys.executable, str(out.parent / "fit.py"), str(out)], capture_output=True,
                          text=True, timeout=600, env=_environment())
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return [json.loads(path.read_text()) for path in sorted(out.glob("report-*.json"))]


def _analytic_ln_z(report: dict) -> float:
    """ln Z of the line: Gaussian likelihood, flat priors 40 wide far wider than it."""
    x, y, sigma = (np.concatenate(report[k]) for k in ("x", "y", "yerr"))
    design = np.column_stack([np.ones_like(x), x]) / sigma[:, None]
    covariance = np.linalg.inv(design.T @ design)
    best = covariance @ design.T @ (y / sigma)
    residual = (y - best[0] - best[1] * x) / sigma
    log_like = -0.5 * np.sum(residual**2) - np.sum(np.log(sigma * math.sqrt(2 * math.pi)))
    return float(log_like + math.log(2 * math.pi) + 0.5 * math.log(np.linalg.det(covariance)) - 2 * math.log(40.0))


def test_mpiexec_two_ranks_share_one_ultranest_run_and_rank_0_alone_writes(tmp_path):
    (tmp_path / "fit.py").write_text(FIT_SCRIPT)
    first, second = _run(_launcher(), tmp_path / "mpi")
    [alone] = _run([], tmp_path / "alone")

    assert (first["rank"], first["size"], second["rank"], second["size"]) == (0, 2, 1, 2)
    assert first["mpi_ranks"] == second["mpi_ranks"] == 2 and alone["mpi_ranks"] == 1
    # one run: each rank evaluated its share of the points
    assert first["own_points"] > 0 and second["own_points"] > 0, (first["own_points"], second["own_points"])
    # the same results in memory on both ranks: ln Z and every draw
    assert (first["ln_Z"], first["ln_Z_error"], first["draws"]) == (second["ln_Z"], second["ln_Z_error"],
                                                                       second["draws"])
    # written and printed once, by rank 0
    assert (first["writes"], second["writes"]) == ([str(tmp_path / "mpi" / "fit.nc")], [])
    assert "ln(Z) (natural log)" in first["printed"] and second["printed"] == ""
    assert "ln(Z) (natural log)" in alone["printed"] and alone["writes"] == [str(tmp_path / "alone" / "fit.nc")]
    assert sorted(path.name for path in (tmp_path / "mpi").glob("*.nc")) == ["fit.nc"]
    written = load_analysis_results(tmp_path / "mpi" / "fit.nc")
    assert (written.ln_Z, written.mpi_ranks) == (first["ln_Z"], 2)
    assert (tmp_path / "mpi" / "ultranest" / "info" / "results.json").exists()

    # the evidence of one process, and the analytic one
    assert abs(first["ln_Z"] - alone["ln_Z"]) < 3 * math.hypot(first["ln_Z_error"], alone["ln_Z_error"]), (
        first["ln_Z"], first["ln_Z_error"], alone["ln_Z"], alone["ln_Z_error"])
    expected = _analytic_ln_z(first)
    for report in (first, alone):
        assert abs(report["ln_Z"] - expected) < 3 * report["ln_Z_error"] + 0.1, (report["ln_Z"], expected)
