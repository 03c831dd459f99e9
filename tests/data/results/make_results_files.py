"""Write the results files that tests/test_results_files.py reads under every ArviZ.

Run once under each ArviZ generation (``python tests/data/results/make_results_files.py``
with ArviZ 0.x installed, then with ArviZ 1.x): it fits a straight line to two small
XY data sets with NUTS (two chains) and writes

- ``made_by_arviz<major>.nc``: the results, as ``AnalysisResults.write`` writes them;
- ``made_by_arviz<major>.npz``: every array of the results' posterior, sample_stats and
  log_likelihood groups as they were in memory before writing (``<group>/<variable>``),
  and the posterior's jointfit attributes as JSON (``attributes``).

The files are committed: a file written under one ArviZ must read under the other
bit for bit, whatever versions wrote them.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz
import numpy as np

from jointfit import BayesianAnalysis, DataList, Line, Model, PointSource, Uniform_prior, XYLike

HERE = Path(__file__).resolve().parent
GROUPS = ("posterior", "sample_stats", "log_likelihood")
JOINTFIT_ATTRIBUTES = ("jointfit_format", "analysis", "sampler", "model_yaml", "free_parameters", "linked_parameters",
                       "units", "plugins", "n_points", "pointwise", "log_likelihood_at_mean", "n_divergences",
                       "num_warmup", "chain_method")
"""The posterior attributes jointfit writes (ArviZ adds its own, which differ by version)."""


def fitted_results():
    """NUTS results of a line through two XY data sets (fixed seeds)."""
    truth = Line(a=1.5, b=0.8)
    x = np.linspace(1.0, 10.0, 12)
    data = DataList(XYLike.from_function("first", truth, x[::2], yerr=np.full(6, 0.5), seed=3),
                    XYLike.from_function("second", truth, x[1::2], yerr=np.full(6, 0.5), seed=4))
    shape = Line(a=0.0, b=1.0)
    shape.a.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
    shape.b.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
    model = Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape))
    return BayesianAnalysis(model, data).sample("nuts", num_warmup=100, num_samples=60, num_chains=2,
                                                chain_method="sequential", seed=1, progress_bar=False, quiet=True)


def main() -> None:
    major = arviz.__version__.split(".")[0]
    results = fitted_results()
    arrays = {}
    for name in GROUPS:
        group = getattr(results.inference_data, name)  # a Dataset (ArviZ 0.x) or a DataTree node (1.x)
        arrays.update({f"{name}/{variable}": np.asarray(group[variable]) for variable in group.data_vars})
    attributes = {k: v for k, v in results.inference_data.posterior.attrs.items() if k in JOINTFIT_ATTRIBUTES}
    np.savez(HERE / f"made_by_arviz{major}.npz", attributes=json.dumps(attributes, default=float), **arrays)
    results.write(HERE / f"made_by_arviz{major}.nc", overwrite=True)
    print(f"wrote made_by_arviz{major}.nc and .npz with ArviZ {arviz.__version__}")


if __name__ == "__main__":
    main()
