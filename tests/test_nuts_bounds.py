"""NUTS on a posterior that piles up at a bound: an absorbed power law whose column
N_H is below what the spectrum measures, as 3C 273's short Chandra spectrum.

With a log-uniform prior from 1e-4, the posterior of N_H is flat in ln N_H from the
bound up to ~0.03 and then cut off by the likelihood. In the space's own coordinate
(``ln(N_H - 1e-4)`` for small N_H) that cut-off is a wall whose curvature grows as
``exp(2 z)``: there the run below had 289 to 500 divergences (seeds 2 and 3) and R-hat
up to 1.03. NUTS now moves N_H in ``1e-4 + s softplus(z)``
(:func:`jointfit.samplers._bound_scales`), and its quantiles must match the posterior
integrated on a grid.
"""

from __future__ import annotations

import arviz as az
import jax
import numpy as np
import pytest

from jointfit import BayesianAnalysis, DataList, Log_uniform_prior, Model, PointSource, Powerlaw, TbAbs, Uniform_prior
from jointfit import samplers
from jointfit.nuts_checkpoint import NUTSFrame
from ccd_response import ccd_like_response
from jointfit_ogip import OGIPLike, Response

NH_PATH = "quasar.spectrum.main.composite.NH_1"
QUANTILES = (0.05, 0.16, 0.5, 0.84, 0.95)


def acis_like_response() -> Response:
    """0.2-12 keV, 150 eV-wide Gaussian redistribution into 0.3-10 keV channels,
    500 cm2 flat."""
    return ccd_like_response(160, 97, "acis-like")


def analysis() -> BayesianAnalysis:
    """~1000 counts of a quasar behind the Galactic column of 3C 273 (0.017e22 cm-2),
    0.5-7 keV; log-uniform priors on N_H and K, uniform on the index."""
    truth = TbAbs(NH=0.017) * Powerlaw(K=1.8e-4, index=-1.9)
    plugin = OGIPLike.from_function("acis", truth, acis_like_response(), exposure=4000.0, seed=3)
    plugin.set_active_measurements("0.5-7", quiet=True)
    shape = TbAbs(NH=0.1) * Powerlaw(K=1e-4, index=-2.0)
    shape.NH_1.prior = Log_uniform_prior(lower_bound=1e-4, upper_bound=10.0)
    shape.K_2.prior = Log_uniform_prior(lower_bound=1e-6, upper_bound=1e-2)
    shape.index_2.prior = Uniform_prior(lower_bound=-4.0, upper_bound=0.0)
    return BayesianAnalysis(Model(PointSource("quasar", 187.28, 2.05, spectral_shape=shape)), DataList(plugin))


def grid_quantiles(bayes: BayesianAnalysis) -> list[float]:
    """Quantiles of N_H's marginal posterior by the trapezoid rule on a grid: ln N_H over
    the prior's lower end to 1 (no mass beyond), K and the index over ranges that hold
    the posterior whatever N_H."""
    log_posterior = jax.jit(jax.vmap(bayes.density.log_posterior_fn()))
    ln_nh = np.linspace(np.log(1e-4), np.log(1.0), 93)
    k, index = np.geomspace(1.1e-4, 3.2e-4, 33), np.linspace(-2.5, -1.2, 33)
    plane = np.stack(np.meshgrid(k, index, indexing="ij"), axis=-1).reshape(-1, 2)
    values = np.stack([np.asarray(log_posterior(np.column_stack([np.full(len(plane), np.exp(v)), plane])))
                       for v in ln_nh]).reshape(ln_nh.size, k.size, index.size)
    density = np.exp(values - values.max()) * np.exp(ln_nh)[:, None, None] * k[None, :, None]  # per ln N_H, ln K
    assert density[:, [0, -1], :].sum() + density[:, :, [0, -1]].sum() < 1e-6 * density.sum()  # ranges hold it
    marginal = density.sum(axis=(1, 2))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (marginal[1:] + marginal[:-1]))])
    return [float(np.exp(np.interp(q, cdf / cdf[-1], ln_nh))) for q in QUANTILES]


@pytest.fixture(scope="module")
def run() -> tuple[BayesianAnalysis, object, NUTSFrame]:
    """The analysis, its NUTS results (4 chains x 1500 draws) and the run's frame."""
    frames = {}
    frame = samplers.NUTSSampler._frame

    def recorded(search, init_values):
        frames["frame"] = frame(search, init_values)
        return frames["frame"]

    bayes = analysis()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(samplers.NUTSSampler, "_frame", staticmethod(recorded))
        results = bayes.sample("nuts", num_chains=4, num_warmup=500, num_samples=1500, seed=2, progress_bar=False,
                               quiet=True)
    return bayes, results, frames["frame"]


def test_the_column_gets_coordinates_of_its_own_and_the_chains_start_inside(run):
    bayes, _, frame = run
    names = list(bayes.space.free_names)
    scales = frame.scales
    # N_H only: K and the index are measured far from their bounds
    assert scales[names.index(NH_PATH)] > 0 and np.count_nonzero(scales) == 1
    # s is the distance from the bound over which the likelihood falls: a few hundredths
    assert 0.005 < scales[names.index(NH_PATH)] < 0.2
    start = np.asarray(bayes.space.constrain(frame.start, scales))
    assert 1e-3 < start[names.index(NH_PATH)] < 0.2  # not the MAP at the bound


def test_nuts_has_no_divergences_and_mixes(run):
    _, results, _ = run
    stats_ = results.inference_data.sample_stats
    assert int(stats_["diverging"].sum()) <= 2
    summary = results.summary()
    assert summary["r_hat"].max() < 1.01
    assert summary["ess_bulk"].min() > 400 and summary["ess_tail"].min() > 400


def test_the_column_quantiles_match_the_posterior_on_a_grid(run):
    bayes, results, _ = run
    draws = results.inference_data.posterior[NH_PATH].values  # (chains, draws)
    for q, expected in zip(QUANTILES, grid_quantiles(bayes)):
        # compared in ln N_H, where the posterior is spread evenly over decades
        found = np.quantile(np.log(draws), q)
        error = float(az.mcse(np.log(draws), method="quantile", prob=q))
        assert abs(found - np.log(expected)) < 4.0 * error, (q, np.exp(found), expected, error)


def test_a_run_kept_on_disk_keeps_its_coordinates(tmp_path):
    """The frame in ``nuts_run.json`` holds the bound scales, so that a resumed run moves
    in the coordinates it started in; a file written before there were any reads as
    the space's own coordinates."""
    import json

    from jointfit.nuts_checkpoint import NUTSCheckpoint

    frame = NUTSFrame(np.array([0.5, -4.0]), 12.5, np.array([0.1, 0.2]), np.eye(2), np.array([0.03, 0.0]))
    checkpoint = NUTSCheckpoint(tmp_path, {"parameters": ["NH", "K"]})
    checkpoint.save_frame(frame)
    np.testing.assert_array_equal(checkpoint.saved_frame().scales, [0.03, 0.0])
    path = tmp_path / "nuts_run.json"
    content = json.loads(path.read_text())
    del content["frame"]["bound_scales"]
    path.write_text(json.dumps(content))
    np.testing.assert_array_equal(checkpoint.saved_frame().scales, [0.0, 0.0])
