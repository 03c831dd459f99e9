"""DataList, JointLikelihood, BayesianAnalysis (NUTS and UltraNest) and their results,
checked on a straight line whose likelihood, posterior and evidence are analytic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointfit import (BayesianAnalysis, DataList, JointLikelihood, Line, Model, PointSource, Powerlaw, Uniform_prior,
                      XYLike, available_samplers, load_analysis_results)
from jointfit.errors import AnalysisError, JointfitWarning, PriorError

X = np.linspace(1.0, 10.0, 25)
SIGMA = np.full(X.size, 0.5)
A_PATH, B_PATH = "src.spectrum.main.Line.a", "src.spectrum.main.Line.b"
PRIOR_WIDTH = 40.0  # both priors uniform on [-20, 20]


def line_data(seed: int = 3) -> DataList:
    truth = Line(a=1.5, b=0.8)
    first = XYLike.from_function("first", truth, X[::2], yerr=SIGMA[::2], seed=seed)
    second = XYLike.from_function("second", truth, X[1::2], yerr=SIGMA[1::2], seed=seed + 1)
    return DataList(first, second)


def line_model(with_priors: bool = True) -> Model:
    shape = Line(a=0.0, b=1.0)
    if with_priors:
        shape.a.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
        shape.b.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
    return Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape))


def analytic(data: DataList) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted least squares: best (a, b), covariance and the maximum log-likelihood."""
    x = np.concatenate([p.x for p in data])
    y = np.concatenate([p.y for p in data])
    sigma = np.concatenate([p.yerr for p in data])
    design = np.column_stack([np.ones_like(x), x]) / sigma[:, None]
    covariance = np.linalg.inv(design.T @ design)
    best = covariance @ design.T @ (y / sigma)
    residual = (y - best[0] - best[1] * x) / sigma
    log_like = -0.5 * np.sum(residual**2) - np.sum(np.log(sigma * math.sqrt(2 * math.pi)))
    return best, covariance, log_like


def test_data_list_refuses_duplicates_and_non_plugins():
    data = line_data()
    assert [p.name for p in data] == ["first", "second"] and data["second"].name == "second"
    assert "first" in data and len(data) == 2
    with pytest.raises(AnalysisError, match="two plugins are named 'first'"):
        DataList(data["first"], data["first"])
    with pytest.raises(AnalysisError, match="DataList takes plugins"):
        DataList(data["first"], "second")
    with pytest.raises(AnalysisError, match="no plugin 'third' in the DataList; it has \\['first', 'second'\\]"):
        data["third"]


def test_maximum_likelihood_matches_weighted_least_squares(tmp_path):
    data, model = line_data(), line_model(with_priors=False)
    jl = JointLikelihood(model, data)
    results = jl.fit(quiet=True)
    best, covariance, log_like = analytic(data)
    np.testing.assert_allclose([model[A_PATH].value, model[B_PATH].value], best, rtol=1e-7)
    np.testing.assert_allclose(jl.covariance, covariance, rtol=1e-6)
    assert jl.log_like() == pytest.approx(log_like, rel=1e-10)
    assert sum(jl.log_like_per_plugin().values()) == pytest.approx(log_like, rel=1e-10)
    # each plugin's log L at the best fit, from the fit's program, kept through a file
    per_plugin = jl.log_like_per_plugin()
    again = load_analysis_results(results.write(tmp_path / "mle.nc"))
    for stored in (results, again):
        assert stored.log_likelihood_per_plugin() == pytest.approx(per_plugin, rel=1e-12)
        assert stored.inference_data.posterior.attrs["pointwise"] == 0
    table = results.point_estimates()
    np.testing.assert_allclose(table["positive_error"], np.sqrt(np.diag(covariance)), rtol=1e-6)
    criteria = results.information_criteria()
    k, n = 2, X.size
    assert criteria["AIC"] == pytest.approx(-2 * log_like + 2 * k + 2 * k * (k + 1) / (n - k - 1), rel=1e-9)
    assert criteria["BIC"] == pytest.approx(-2 * log_like + k * math.log(n), rel=1e-9)
    correlation = jl.correlation_matrix.to_numpy()
    assert correlation[0, 1] == pytest.approx(covariance[0, 1] / math.sqrt(covariance[0, 0] * covariance[1, 1]))
    # a Gaussian likelihood is an exact parabola: profile errors equal the Hessian's
    profile = jl.profile_errors(B_PATH)
    assert profile.loc[B_PATH, "positive_error"] == pytest.approx(math.sqrt(covariance[1, 1]), rel=1e-4)
    assert profile.loc[B_PATH, "negative_error"] == pytest.approx(-math.sqrt(covariance[1, 1]), rel=1e-4)


def test_large_objectives_take_their_covariance_from_gradient_differences(monkeypatch):
    """Above HESSIAN_COMPILE_WORK (images) the Hessian is central differences of the
    compiled gradient: the same covariance as the compiled JAX Hessian."""
    data, model = line_data(), line_model(with_priors=False)
    exact = JointLikelihood(model, data)
    exact.fit(quiet=True)
    monkeypatch.setattr(JointLikelihood, "HESSIAN_COMPILE_WORK", 0.0)
    differences = JointLikelihood(line_model(with_priors=False), data)
    assert differences._hessian is None
    differences.fit(quiet=True)
    np.testing.assert_allclose(differences.covariance, exact.covariance, rtol=1e-6)
    np.testing.assert_allclose(differences.covariance, analytic(data)[1], rtol=1e-6)


def test_profile_errors_of_a_correlated_nonlinear_fit_match_an_independent_profile():
    """Poisson counts of a power law with its pivot far from the data: K and index are
    strongly correlated and the likelihood is far from a parabola. For fixed index the
    best K is analytic, so index's profile is a 1-d function computed here in numpy."""
    from scipy import optimize

    x = np.linspace(4.0, 20.0, 12)
    truth = Powerlaw(K=40.0, index=-1.6)
    data = DataList(XYLike.from_function("counts", truth, x, poisson=True, seed=5))
    y = data["counts"].y
    jl = JointLikelihood(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=Powerlaw(K=20.0, index=-1.0))),
                         data)
    jl.fit(quiet=True)
    k_path, index_path = "src.spectrum.main.Powerlaw.K", "src.spectrum.main.Powerlaw.index"

    def log_like(k: float, index: float) -> float:
        expected = k * x**index
        return float(np.sum(y * np.log(expected) - expected))

    def index_profile(index: float) -> float:
        return log_like(np.sum(y) / np.sum(x**index), index)

    def k_profile(k: float) -> float:
        return -optimize.minimize_scalar(lambda index: -log_like(k, index), bounds=(-10, 10), method="bounded",
                                         options={"xatol": 1e-12}).fun

    best_index = optimize.minimize_scalar(lambda index: -index_profile(index), bounds=(-10, 10), method="bounded",
                                          options={"xatol": 1e-12}).x
    best_k = np.sum(y) / np.sum(x**best_index)
    peak = log_like(best_k, best_index)
    expected_errors = {}
    for path, profile, best in ((index_path, index_profile, best_index), (k_path, k_profile, best_k)):
        crossing = lambda value, profile=profile: profile(value) - (peak - 0.5)  # noqa: E731
        width = 3.0 if path == index_path else 0.9 * best
        expected_errors[path] = (optimize.brentq(crossing, best - width, best, xtol=1e-12) - best,
                                 optimize.brentq(crossing, best, best + 3 * width, xtol=1e-12) - best)

    errors = jl.profile_errors()
    covariance = jl.covariance
    assert abs(covariance[0, 1]) / math.sqrt(covariance[0, 0] * covariance[1, 1]) > 0.9  # strongly correlated
    for i, path in enumerate((k_path, index_path)):
        negative, positive = expected_errors[path]
        assert errors.loc[path, "negative_error"] == pytest.approx(negative, rel=1e-4)
        assert errors.loc[path, "positive_error"] == pytest.approx(positive, rel=1e-4)
    # the asymmetry is real: the Hessian's symmetric error misses at least one side by > 10 %
    negative, positive = expected_errors[k_path]
    assert max(abs(abs(negative) / math.sqrt(covariance[0, 0]) - 1),
               abs(positive / math.sqrt(covariance[0, 0]) - 1)) > 0.1
    with pytest.raises(AnalysisError, match="'src.spectrum.main.Powerlaw.piv' is not a free parameter"):
        jl.profile_errors("src.spectrum.main.Powerlaw.piv")


def test_bayesian_analysis_needs_every_prior():
    with pytest.raises(PriorError, match="src.spectrum.main.Line.a, src.spectrum.main.Line.b"):
        BayesianAnalysis(line_model(with_priors=False), line_data())
    assert {"nuts", "ultranest"} <= set(available_samplers())
    with pytest.raises(AnalysisError, match="unknown sampler 'emcee'"):
        BayesianAnalysis(line_model(), line_data()).set_sampler("emcee")


def test_nuts_posterior_matches_the_analytic_gaussian(tmp_path):
    data = line_data()
    ba = BayesianAnalysis(line_model(), data)
    results = ba.sample("nuts", num_warmup=300, num_samples=600, num_chains=2, chain_method="vectorized",
                        progress_bar=False, quiet=True)
    best, covariance, _ = analytic(data)
    draws = results.samples_matrix
    assert draws.shape == (1200, 2)
    sigma = np.sqrt(np.diag(covariance))
    np.testing.assert_allclose(draws.mean(axis=0), best, atol=0.15 * sigma.max())
    np.testing.assert_allclose(draws.std(axis=0), sigma, rtol=0.12)
    summary = results.summary()
    assert np.all(summary["r_hat"] < 1.02) and np.all(summary["ess_bulk"] > 200)
    assert list(summary.index) == [A_PATH, B_PATH]
    assert set(results.inference_data.log_likelihood.data_vars) == {"first", "second"}
    # the model is left at the MAP draw
    assert model_value(ba, B_PATH) == pytest.approx(best[1], abs=0.2 * sigma[1])

    path = results.write(tmp_path / "fit.nc")
    again = load_analysis_results(path)
    np.testing.assert_array_equal(again.samples_matrix, results.samples_matrix)
    assert again.information_criteria() == results.information_criteria()
    assert again.model.to_yaml() == results.model.to_yaml()
    with pytest.raises(AnalysisError, match="exists; pass overwrite=True"):
        results.write(path)
    with pytest.raises(AnalysisError, match="have no evidence"):
        again.ln_Z


def test_nuts_chain_methods_agree_and_record_hmc_statistics():
    """Sequential, vectorised and parallel chains (on one device: the one-chain program
    from a thread per core) run the same transitions: with the same seed the parallel
    chains give the sequential draws bit for bit, the vectorised ones up to the rounding
    of batched arithmetic, which grows along a chain's 800 transitions (1e-7 with jaxlib
    0.10, up to 3.3e-4 with 0.12: their programs round differently; chains that parted
    would differ by the posterior's width, ~0.1 here); the recorded energies give
    ArviZ's BFMI."""
    import arviz as az

    runs = {method: BayesianAnalysis(line_model(), line_data()).sample(
        "nuts", num_warmup=300, num_samples=500, num_chains=2, chain_method=method, seed=4, progress_bar=False,
        quiet=True) for method in ("sequential", "vectorized", "parallel")}
    np.testing.assert_allclose(runs["sequential"].samples_matrix, runs["vectorized"].samples_matrix, rtol=1e-3)
    np.testing.assert_array_equal(runs["parallel"].samples_matrix, runs["sequential"].samples_matrix)
    stats = runs["sequential"].inference_data.sample_stats
    assert {"diverging", "n_steps", "energy", "acceptance_rate", "step_size"} <= set(stats.data_vars)
    assert stats["energy"].shape == (2, 500)
    assert np.all(az.bfmi(runs["sequential"].inference_data) > 0.3)
    assert 0.6 < float(stats["acceptance_rate"].mean()) <= 1.0


def test_an_interrupted_nuts_run_resumes_from_its_log_dir_to_the_same_draws(tmp_path, monkeypatch):
    """Each chain's state and draws are on disk after every call of the compiled program:
    a run stopped part-way goes on from there (no second MAP search) and ends with the
    draws of a run never stopped; a folder of another run is refused."""
    from jointfit import samplers
    from jointfit.nuts_checkpoint import NUTSCheckpoint

    options = {"num_warmup": 200, "num_samples": 300, "num_chains": 2, "seed": 5, "progress_bar": False, "quiet": True}
    whole = BayesianAnalysis(line_model(), line_data()).sample("nuts", **options)

    save_group, saves = NUTSCheckpoint.save_group, []

    def interrupted(self, index, progress):
        save_group(self, index, progress)
        saves.append(index)
        if len(saves) == 13:  # part-way through warm-up for one chain, sampling for the other
            raise KeyboardInterrupt

    monkeypatch.setattr(NUTSCheckpoint, "save_group", interrupted)
    with pytest.raises(KeyboardInterrupt):
        BayesianAnalysis(line_model(), line_data()).sample("nuts", log_dir=tmp_path / "run", **options)
    saved_before, saves_after = len(saves), []

    def counted(self, index, progress):
        save_group(self, index, progress)
        saves_after.append(index)

    def no_search(self):
        raise AssertionError("a resumed run searched for the MAP again")

    monkeypatch.setattr(NUTSCheckpoint, "save_group", counted)
    monkeypatch.setattr(samplers._MAPSearch, "run", no_search)
    resumed = BayesianAnalysis(line_model(), line_data()).sample("nuts", log_dir=tmp_path / "run", **options)
    assert len(saves_after) == 2 * 20 - saved_before  # 20 calls per chain, the saved ones not made again
    np.testing.assert_array_equal(resumed.samples_matrix, whole.samples_matrix)
    np.testing.assert_array_equal(resumed.inference_data.sample_stats["step_size"],
                                  whole.inference_data.sample_stats["step_size"])
    # a finished run gives its draws again; sequential chains are the same run as parallel ones
    again = BayesianAnalysis(line_model(), line_data()).sample("nuts", log_dir=tmp_path / "run",
                                                               chain_method="sequential", **options)
    np.testing.assert_array_equal(again.samples_matrix, whole.samples_matrix)
    assert len(saves_after) == 2 * 20 - saved_before

    with pytest.raises(AnalysisError, match=r"run holds another NUTS run \(settings: .*'num_samples': 300.* there, "
                                            r".*'num_samples': 400.* now\): give resume='overwrite'"):
        BayesianAnalysis(line_model(), line_data()).sample("nuts", log_dir=tmp_path / "run",
                                                           **{**options, "num_samples": 400})
    with pytest.raises(AnalysisError, match=r"made with other data or priors: the potential at its start"):
        BayesianAnalysis(line_model(), line_data(seed=8)).sample("nuts", log_dir=tmp_path / "run", **options)
    with pytest.raises(AnalysisError, match=r"resume must be one of \('resume', 'overwrite'\), not 'continue'"):
        BayesianAnalysis(line_model(), line_data()).sample("nuts", log_dir=tmp_path / "run", resume="continue",
                                                           **options)
    monkeypatch.undo()
    other = BayesianAnalysis(line_model(), line_data(seed=8)).sample("nuts", log_dir=tmp_path / "run",
                                                                     resume="overwrite", **options)
    assert not np.array_equal(other.samples_matrix, whole.samples_matrix)


def test_a_nuts_log_dir_starts_afresh_where_nothing_says_what_its_files_are(tmp_path):
    options = {"num_warmup": 100, "num_samples": 200, "seed": np.int64(2), "progress_bar": False, "quiet": True}
    folder = tmp_path / "new"
    first = BayesianAnalysis(line_model(), line_data()).sample("nuts", log_dir=folder, resume="overwrite", **options)
    # chain files without the run's file belong to no run, and a killed process's
    # temporary file is cleared: a run of another seed there starts from its own start
    (folder / "nuts_run.json").unlink()
    (folder / ".nuts_group_0.npz.partial").write_bytes(b"cut short")
    other = BayesianAnalysis(line_model(), line_data()).sample("nuts", log_dir=folder, **{**options, "seed": 3})
    assert not np.array_equal(other.samples_matrix, first.samples_matrix)
    assert not (folder / ".nuts_group_0.npz.partial").exists()
    with pytest.raises(AnalysisError, match=r"init_values: \{\} there, \{'src.spectrum.main.Line.a': 1.0\} now"):
        BayesianAnalysis(line_model(), line_data()).sample("nuts", log_dir=folder, init_values={A_PATH: 1.0},
                                                           **{**options, "seed": 3})
    with pytest.raises(AnalysisError, match=r"resume must be one of \('resume', 'overwrite'\), not 'again'"):
        BayesianAnalysis(line_model(), line_data()).sample("nuts", resume="again", **options)


def test_nuts_bad_options_and_poor_mixing():
    ba = BayesianAnalysis(line_model(), line_data())
    with pytest.raises(AnalysisError, match="chain_method must be 'sequential', 'vectorized' or 'parallel', not 'threads'"):
        ba.sample("nuts", chain_method="threads", quiet=True)
    with pytest.raises(AnalysisError, match="num_samples >= 1"):
        ba.sample("nuts", num_samples=0, quiet=True)
    with pytest.warns(JointfitWarning) as caught:
        ba.sample("nuts", num_warmup=20, num_samples=30, progress_bar=False, quiet=True)
    assert any(str(w.message).startswith("NUTS chains mix poorly: src.spectrum.main.Line.a (R-hat 1.000, ESS")
               for w in caught), [str(w.message) for w in caught]


def model_value(analysis: BayesianAnalysis, path: str) -> float:
    return float(analysis.model[path].value)


def test_ultranest_evidence_matches_the_analytic_value_and_resumes(tmp_path):
    data = line_data()
    best, covariance, log_like_max = analytic(data)
    # Gaussian likelihood, flat prior far wider than it: Z = L_max 2 pi |C|^(1/2) / prior area
    ln_z = log_like_max + math.log(2 * math.pi) + 0.5 * math.log(np.linalg.det(covariance)) - 2 * math.log(PRIOR_WIDTH)

    ba = BayesianAnalysis(line_model(), data)
    ba.set_sampler("ultranest", min_num_live_points=100)
    ba.sampler.setup(show_status=False)  # 3ML's way of adding options
    assert ba.sampler.name == "ultranest"
    assert ba.sampler.options == {"min_num_live_points": 100, "show_status": False}
    partial = ba.sample(log_dir=tmp_path / "run", max_ncalls=3000, quiet=True)
    resumed = ba.sample(log_dir=tmp_path / "run", quiet=True)
    assert resumed.inference_data.posterior.attrs["n_calls"] > partial.inference_data.posterior.attrs["n_calls"]
    assert abs(resumed.ln_Z - ln_z) < 3 * resumed.ln_Z_error + 0.1
    # a likelihood this cheap gets UltraNest's batches of at least 512 points, unless asked otherwise
    assert resumed.inference_data.posterior.attrs["ndraw_min"] == 512
    assert ba.sample(min_num_live_points=50, ndraw_min=64, quiet=True).inference_data.posterior.attrs["ndraw_min"] == 64
    assert ba.sample(min_num_live_points=50, ndraw_max=100, quiet=True).inference_data.posterior.attrs["ndraw_min"] == 100
    assert resumed.log10_Z == pytest.approx(resumed.ln_Z / math.log(10))
    draws = resumed.samples_matrix
    np.testing.assert_allclose(draws.mean(axis=0), best, atol=0.2 * np.sqrt(np.diag(covariance)).max())
    text = resumed.display()
    assert "ln(Z) (natural log)" in text and "log10(Z) (3ML's log(Z))" in text
    figure = resumed.corner_plot(truths={A_PATH: 1.5, B_PATH: 0.8})
    labels = [axis.get_xlabel() for axis in figure.axes if axis.get_xlabel()]
    assert labels == [f"src.a [{resumed.units[A_PATH]}]", f"src.b [{resumed.units[B_PATH]}]"]


def test_results_keep_per_plugin_totals_beyond_the_pointwise_limit(monkeypatch):
    """Pointwise log-likelihoods are kept while draws x points stay under the limit;
    beyond it each plugin's total per draw, the same numbers summed."""
    from jointfit.log_density import JointLogDensity
    from jointfit.results import AnalysisResults

    data = line_data()
    density = JointLogDensity(line_model(), data)
    draws = np.random.default_rng(5).normal([1.5, 0.8], 0.1, size=(2, 37, 2))
    full = AnalysisResults.from_samples(density, draws, analysis="bayesian", sampler="test")
    monkeypatch.setattr(JointLogDensity, "POINTWISE_LIMIT", 10)
    totals = AnalysisResults.from_samples(density, draws, analysis="bayesian", sampler="test")
    for name, plugin in zip(("first", "second"), data):
        pointwise = full.inference_data.log_likelihood[name].values
        assert pointwise.shape == (2, 37, plugin.x.size)
        np.testing.assert_allclose(totals.inference_data.log_likelihood[name].values[..., 0],
                                   pointwise.sum(axis=-1), rtol=1e-12)
    assert full.inference_data.posterior.attrs["pointwise"] == 1
    assert totals.inference_data.posterior.attrs["pointwise"] == 0
    # the per-draw log-likelihood is the exact one of each draw
    expected = np.asarray(density.log_likelihood_batch(draws.reshape(-1, 2))).reshape(2, 37)
    np.testing.assert_allclose(full.inference_data.sample_stats["log_like"].values, expected, rtol=1e-12)


def test_a_heap_frozen_by_the_caller_stays_frozen():
    import gc

    from jointfit.samplers import _existing_objects_frozen

    with _existing_objects_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with _existing_objects_frozen():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_a_failing_parallel_chain_stops_the_others_and_raises_its_error():
    """With chains in threads, the first chain's error reaches the caller as soon as it
    happens, and the chains still running stop after their current call."""
    import threading
    import time
    from types import SimpleNamespace

    from jointfit.nuts import NUTSSettings, run_nuts
    from jointfit.nuts_checkpoint import NUTSFrame

    settings = NUTSSettings(num_warmup=0, num_samples=200)  # 20 calls of 10 transitions per chain
    calls = {0: 0, 1: 0}
    lock = threading.Lock()

    def advance(state, first, start, offset, cholesky):
        chain = int(start[1])
        with lock:
            calls[chain] += 1
        if chain == 1 and first >= 20:
            raise ValueError("chain 1 failed")
        time.sleep(0.05)
        record = {name: np.zeros((settings.chunk,)) for name in
                  ("potential_energy", "energy", "diverging", "num_steps", "accept_prob", "step_size")}
        record["theta"] = np.zeros((settings.chunk, 1))
        return state, record

    programs = SimpleNamespace(settings=settings, num_chains=2, batched=False, concurrent_chains=2,
                               placeholder_state=None, advance=advance)
    started = time.perf_counter()
    with pytest.raises(ValueError, match="chain 1 failed"):
        run_nuts(programs, NUTSFrame(np.zeros(1), 0.0, np.zeros(1), np.eye(1)), progress_bar=False)
    assert time.perf_counter() - started < 0.5  # not the 20 x 0.05 s of chain 0's run
    assert calls[1] == 3 and calls[0] < 10


def test_mle_errors_are_cut_at_the_bounds_and_say_so(capsys):
    """Sherpa's conf says when a limit is hit: an intercept whose 1-sigma interval
    crosses its lower bound of 0 is cut there and flagged, in the table and the summary."""
    data = line_data()
    best, covariance, _ = analytic(data)
    model = line_model()
    model.parameters[A_PATH].value = best[0]
    model.parameters[A_PATH].bounds = (best[0] - 0.5 * math.sqrt(covariance[0, 0]), 20.0)
    jl = JointLikelihood(model, data)
    results = jl.fit(quiet=True)
    table = results.point_estimates()
    sigma_a = math.sqrt(np.diag(jl.covariance)[0])
    low = model.parameters[A_PATH].bounds[0]
    assert table.loc[A_PATH, "negative_error"] == pytest.approx(low - table.loc[A_PATH, "value"], rel=1e-12)
    assert table.loc[A_PATH, "positive_error"] == pytest.approx(sigma_a, rel=1e-12)
    assert list(table["limit"]) == ["lower bound", ""]
    assert "(interval cut at its lower bound)" in results.display().splitlines()[2]


def test_a_posterior_interval_contains_the_map_it_is_quoted_with():
    """A parameter piled against a bound (an exponential posterior): the equal-tailed
    68 % interval leaves out its MAP near 0; the one quoted holds 68 % and contains it."""
    from jointfit.results import _interval_containing

    draws = np.random.default_rng(2).exponential(1.0, 20000)
    mode = draws.min()
    equal_tailed = np.quantile(draws, [0.16, 0.84])
    assert not equal_tailed[0] <= mode <= equal_tailed[1]
    low, high = _interval_containing(draws, mode, 0.68)
    assert low <= mode <= high
    assert np.mean((draws >= low) & (draws <= high)) == pytest.approx(0.68, abs=1e-3)
    assert high == pytest.approx(-math.log(0.32), rel=0.03)  # the exact interval is [0, ln(1/0.32)]
    # for a symmetric posterior and a central point it is about the central interval
    normal = np.random.default_rng(3).normal(size=20000)
    np.testing.assert_allclose(_interval_containing(normal, 0.0, 0.68), [-1.0, 1.0], atol=0.04)


def test_two_analyses_sharing_a_plugin_each_fit_their_own_model():
    """A plugin object set up by a second analysis (so holding that one's state) still
    gives the first analysis its own model's likelihood."""
    from jointfit import Constant

    data = line_data()
    line = JointLikelihood(line_model(), data)
    constant = JointLikelihood(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=Constant(k=1.0))), data)
    assert constant.log_like() < line.log_like() - 1.0  # set up last, the plugins hold the constant's model
    best, covariance, log_like = analytic(data)
    results = line.fit(quiet=True)
    np.testing.assert_allclose(results.point_estimates()["value"].to_numpy(), best, rtol=1e-6)
    assert line.log_like() == pytest.approx(log_like, rel=1e-10)
