"""Sampler options: jointfit's names, 3ML's spellings of them (``use_mlfriends``,
``chain_name``, ``resume=True``, ``n_iterations``...), and unknown options refused
with the accepted ones listed before anything runs."""

from __future__ import annotations

import functools
import inspect

import numpy as np
import pytest

from jointfit import BayesianAnalysis, DataList, Line, Model, PointSource, Uniform_prior, XYLike
from jointfit.errors import AnalysisError
from jointfit.samplers import NUTSSampler, UltraNestSampler

A_PATH, B_PATH = "src.spectrum.main.Line.a", "src.spectrum.main.Line.b"


@pytest.fixture
def analysis() -> BayesianAnalysis:
    """A straight line through 13 points, flat priors on its intercept and slope."""
    x = np.linspace(1.0, 10.0, 13)
    data = DataList(XYLike.from_function("points", Line(a=1.5, b=0.8), x, yerr=np.full(x.size, 0.5), seed=3))
    shape = Line(a=0.0, b=1.0)
    shape.a.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
    shape.b.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
    return BayesianAnalysis(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)), data)


@pytest.fixture
def never_runs(monkeypatch):
    """Samplers that fail the test if they are started (their signatures, which give
    their option names, kept)."""
    for sampler in (UltraNestSampler, NUTSSampler):
        @functools.wraps(sampler.sample)
        def ran(self, density, **options):
            raise AssertionError(f"{self.name} ran with {options}")

        monkeypatch.setattr(sampler, "sample", ran)


def test_3ml_ultranest_setup_is_taken_under_jointfit_names(analysis):
    analysis.set_sampler("ultranest")
    analysis.sampler.setup(min_num_live_points=400, frac_remain=0.5, use_mlfriends=False)  # 3ML's call
    assert analysis.sampler.options == {"min_num_live_points": 400, "frac_remain": 0.5, "region_class": "ellipsoid"}
    analysis.sampler.setup(chain_name="chains/fit-", resume=True, use_mlfriends=True, Lepsilon=0.01)
    assert analysis.sampler.options == {"min_num_live_points": 400, "frac_remain": 0.5, "region_class": "mlfriends",
                                        "log_dir": "chains/fit-", "resume": "resume", "Lepsilon": 0.01}
    analysis.sampler.setup(resume=False)
    assert analysis.sampler.options["resume"] == "overwrite"
    for mode in UltraNestSampler.RESUME_MODES:  # UltraNest's own strings pass as they are
        assert analysis.set_sampler("UltraNest", resume=mode).options == {"resume": mode}
    assert analysis.sampler.name == "ultranest"


def test_accepted_names_follow_the_sample_signature_and_ultranests_run():
    import ultranest

    own = {name for name, parameter in inspect.signature(UltraNestSampler.sample).parameters.items()
           if parameter.kind is inspect.Parameter.KEYWORD_ONLY} - {"on_start"}
    run = set(inspect.signature(ultranest.ReactiveNestedSampler.run).parameters) - {"self", "viz_callback"}
    assert UltraNestSampler.option_names() == own | run
    assert {"wrapped_params", "stepsampler", "Lepsilon", "min_ess", "dKL"} <= UltraNestSampler.option_names()
    assert "viz_callback" not in UltraNestSampler.option_names()  # jointfit sets it
    nuts = {name for name, parameter in inspect.signature(NUTSSampler.sample).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY} - {"on_start"}
    assert NUTSSampler.option_names() == nuts
    for sampler in (UltraNestSampler, NUTSSampler):  # every alias names a real option
        assert {canonical for canonical, _ in sampler.OPTION_ALIASES.values()} <= sampler.option_names()


@pytest.mark.parametrize("call", ["set_sampler", "setup", "sample"])
def test_an_unknown_option_is_refused_before_anything_runs(analysis, never_runs, call):
    with pytest.raises(AnalysisError) as caught:
        if call == "set_sampler":
            analysis.set_sampler("ultranest", min_num_live_points=100, use_mlfriend=False)
        elif call == "setup":
            analysis.sampler.setup(use_mlfriend=False)
        else:
            analysis.sample(use_mlfriend=False)
    message = str(caught.value)
    assert message.startswith("unknown ultranest option 'use_mlfriend'; the ultranest sampler accepts Lepsilon, ")
    assert "frac_remain, " in message and "min_num_live_points, " in message and "wrapped_params" in message
    assert message.endswith("and 3ML's chain_name (= log_dir), use_mlfriends (= region_class)")
    assert analysis.sampler.options == {}  # nothing was kept


def test_bad_values_and_double_spellings_are_refused(analysis, never_runs):
    setup = analysis.sampler.setup
    with pytest.raises(AnalysisError, match=r"'chain_name' and 'log_dir' both set the ultranest option 'log_dir'"):
        setup(chain_name="a", log_dir="b")
    with pytest.raises(AnalysisError, match=r"'region_class' and 'use_mlfriends' both set .* 'region_class'"):
        setup(region_class="mlfriends", use_mlfriends=False)
    with pytest.raises(AnalysisError, match=r"use_mlfriends must be True or False, not 'no'"):
        setup(use_mlfriends="no")
    with pytest.raises(AnalysisError, match=r"resume must be one of \('resume', 'resume-similar', 'overwrite', "
                                            r"'subfolder'\), not 'continue' \(or 3ML's bool"):
        setup(resume="continue")
    with pytest.raises(AnalysisError, match=r"unknown UltraNest region_class 'box'"):
        analysis.sample(region_class="box")
    with pytest.raises(AnalysisError, match=r"stepsampler must be an UltraNest step sampler .* not 3"):
        setup(stepsampler=3)
    with pytest.raises(AnalysisError, match=r"wrapped_params must be a list of bools .* not 'abc'"):
        setup(wrapped_params="abc")
    with pytest.raises(AnalysisError, match=r"wrapped_params must be all bools or all parameter paths"):
        setup(wrapped_params=[True, A_PATH])
    assert analysis.sampler.options == {}


def test_wrapped_params_are_checked_against_the_free_parameters(analysis):
    with pytest.raises(AnalysisError, match=r"wrapped_params has 1 flags for 2 free parameters \["):
        analysis.sample(wrapped_params=[True], quiet=True)
    with pytest.raises(AnalysisError, match=r"wrapped_params names \['src.a'\], which are not free parameters; "
                                            r"they are \['src.spectrum.main.Line.a', 'src.spectrum.main.Line.b'\]"):
        analysis.sample(wrapped_params=["src.a"], quiet=True)


def test_a_direct_sampler_call_checks_its_options(analysis):
    with pytest.raises(AnalysisError, match=r"unknown ultranest option 'n_live_points'; the ultranest sampler accepts"):
        UltraNestSampler().sample(analysis.density, n_live_points=100)
    with pytest.raises(AnalysisError, match=r"give log_dir rather than 3ML's chain_name to UltraNestSampler.sample"):
        UltraNestSampler().sample(analysis.density, chain_name="chains/fit-")


def test_3ml_ultranest_options_reach_ultranest(analysis, tmp_path):
    """chain_name is UltraNest's log folder, use_mlfriends=False its ellipsoid region,
    wrapped_params (by path) its circular axes; a stepsampler function gets the
    ReactiveNestedSampler and its step sampler is used."""
    import ultranest.stepsampler as steps

    given = []

    def slice_sampler(sampler):
        given.append(sampler)
        return steps.SliceSampler(nsteps=2 * len(sampler.paramnames),
                                  generate_direction=steps.generate_mixture_random_direction)

    analysis.set_sampler("ultranest")
    analysis.sampler.setup(min_num_live_points=20, max_ncalls=1000, use_mlfriends=False, resume=False,
                           chain_name=str(tmp_path / "chains" / "fit-"), wrapped_params=[B_PATH],
                           stepsampler=slice_sampler)
    results = analysis.sample(quiet=True)
    assert results.inference_data.posterior.attrs["region_class"] == "RobustEllipsoidRegion"
    assert (tmp_path / "chains" / "fit-" / "info" / "results.json").exists()
    [sampler] = given
    assert list(sampler.wrapped_axes) == [1] and isinstance(sampler.stepsampler, steps.SliceSampler)
    assert len(sampler.stepsampler.logstat) > 0  # the run proposed its points through the step sampler

    with pytest.raises(AnalysisError, match=r"the stepsampler function returned None, not an UltraNest step sampler"):
        analysis.sample(stepsampler=lambda sampler: None, max_ncalls=100, quiet=True)


def test_3ml_mcmc_names_for_nuts(analysis, never_runs):
    analysis.set_sampler("nuts", n_iterations=300, n_burn_in=200, delta=0.9, chain_name="chains/nuts", resume=False)
    assert analysis.sampler.options == {"num_samples": 300, "num_warmup": 200, "target_accept_prob": 0.9,
                                        "log_dir": "chains/nuts", "resume": "overwrite"}
    analysis.sampler.setup(n_adapt=100)  # 3ML's NUTS name for the warm-up
    assert analysis.sampler.options["num_warmup"] == 100
    with pytest.raises(AnalysisError, match=r"^unknown nuts option 'n_walkers' \(NUTS runs independent chains, not an "
                                            r"ensemble of walkers; num_chains sets how many\); the nuts sampler "
                                            r"accepts chain_method, "):
        analysis.sampler.setup(n_walkers=20)
    with pytest.raises(AnalysisError, match=r"'n_burn_in' and 'n_adapt' both set the nuts option 'num_warmup'"):
        analysis.sample("nuts", n_burn_in=10, n_adapt=10)
    with pytest.raises(AnalysisError, match=r"unknown nuts option 'min_num_live_points'"):
        analysis.sample("nuts", min_num_live_points=10)  # UltraNest's options are not NUTS's


@pytest.mark.filterwarnings("ignore::jointfit.errors.JointfitWarning")  # chains this short mix poorly
def test_nuts_runs_under_3ml_names_and_quiet_silences_its_progress(analysis, capfd):
    results = analysis.sample("nuts", n_iterations=60, n_burn_in=40, seed=1, quiet=True)
    assert results.samples_matrix.shape == (60, 2)
    assert np.all(np.isfinite(results.samples_matrix))
    captured = capfd.readouterr()
    assert "warmup" not in captured.err and "sample" not in captured.err and captured.out == ""


def test_a_sampler_of_open_options_passes_them_on_and_one_of_named_options_checks_them():
    from jointfit.samplers import Sampler

    class Open(Sampler):
        name = "open"

        def sample(self, density, *, steps: int = 3, on_start=None, **options):
            raise NotImplementedError

    class Closed(Sampler):
        name = "closed"
        OPTION_ALIASES = {"n_steps": ("steps", int)}

        def sample(self, density, *, steps: int = 3, on_start=None):
            raise NotImplementedError

    assert Open.normalize_options({"steps": 1, "its_own": 2}) == {"steps": 1, "its_own": 2}
    assert Closed.normalize_options({"n_steps": 2.0}) == {"steps": 2}
    with pytest.raises(AnalysisError, match=r"^unknown closed option 'its_own'; the closed sampler accepts steps, "
                                            r"and 3ML's n_steps \(= steps\)$"):
        Closed.normalize_options({"its_own": 2})


def test_a_sampler_whose_options_are_positional_parameters_keeps_them():
    from jointfit.samplers import Sampler

    class Plain(Sampler):
        name = "plain"

        def sample(self, density, steps=3, thin=1, on_start=None):
            raise NotImplementedError

    assert Plain.option_names() == {"steps", "thin"}
    assert Plain.normalize_options({"steps": 5}) == {"steps": 5}
    with pytest.raises(AnalysisError, match=r"^unknown plain option 'density'; the plain sampler accepts steps, thin"):
        Plain.normalize_options({"density": 1})


def test_quiet_silences_ultranest_and_leaves_its_console_as_it_was(analysis):
    import io
    import logging

    options = {"min_num_live_points": 50, "dlogz": 2.0, "frac_remain": 0.5}
    analysis.sample("ultranest", quiet=True, **options)  # UltraNest makes its console handlers
    handlers = [h for h in logging.getLogger("ultranest").handlers if type(h) is logging.StreamHandler]
    assert handlers and all(h.level == logging.INFO for h in handlers)  # back at their level
    console = io.StringIO()
    previous = [handler.setStream(console) for handler in handlers]
    try:
        analysis.sample("ultranest", quiet=True, **options)
        assert console.getvalue() == ""
        analysis.sample("ultranest", **options)  # showing its status: UltraNest speaks
        assert "[ultranest] Sampling 50 live points from prior" in console.getvalue()
    finally:
        for handler, stream in zip(handlers, previous):
            handler.setStream(stream)
