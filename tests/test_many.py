"""Many maximum-likelihood fits as one vectorised program (:func:`jointfit.fit_many`):
each source's results are those of its own fit, sources of other structures fall in
groups of their own, a source the batched search cannot settle is fitted on its own,
and programs shared by analyses of one structure give their own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from jointfit import DataList, JointLikelihood, Model, PointSource, Powerlaw, TbAbs, fit_many
from jointfit._shared import sharing_programs, statistics
from jointfit.errors import AnalysisError
from ccd_response import ccd_like_response
from jointfit_ogip import OGIPLike


RESPONSE = ccd_like_response(120, 80)  # 0.2-12 keV into 0.3-10 keV, 150 eV FWHM, 500 cm2


def analysis(seed: int, selection: str = "0.5-7") -> JointLikelihood:
    """An absorbed power law of random column, flux, index and exposure (cstat,
    ungrouped), fitted from the functions' defaults."""
    rng = np.random.default_rng(seed)
    truth = TbAbs(NH=10 ** rng.uniform(-1.0, 0.3)) * Powerlaw(K=10 ** rng.uniform(-3.3, -2.7),
                                                              index=rng.uniform(-2.3, -1.5))
    plugin = OGIPLike.from_function("xray", truth, RESPONSE, exposure=float(rng.uniform(5e3, 2e4)), seed=seed)
    plugin.set_active_measurements(selection, quiet=True)
    return JointLikelihood(Model(PointSource("src", 0.0, 0.0, spectral_shape=TbAbs() * Powerlaw())), DataList(plugin))


def table(results) -> np.ndarray:
    return results.point_estimates()[["value", "negative_error", "positive_error"]].to_numpy()


def test_batched_fits_equal_each_source_fitted_on_its_own() -> None:
    """12 sources, one structure: one group, all settled in it; best fits within 1e-4
    of their errors and errors within 1e-4 (relative) of L-BFGS's per-source fits,
    per-plugin log L within 1e-6, and each model set to its best fit."""
    analyses = [analysis(seed) for seed in range(12)]
    results, report = fit_many(analyses)
    assert report.groups == (12,) and report.batched == 12 and report.refitted == ()
    for seed, (batched, jl) in enumerate(zip(results, analyses)):
        single = analysis(seed).fit(quiet=True)
        mine, theirs = table(batched), table(single)
        sigma = theirs[:, 2:3]
        assert np.all(np.abs(mine[:, 0] - theirs[:, 0]) < 1e-4 * sigma[:, 0])
        np.testing.assert_allclose(mine[:, 1:], theirs[:, 1:], rtol=1e-4)
        for name, value in single.log_likelihood_per_plugin().items():
            assert batched.log_likelihood_per_plugin()[name] == pytest.approx(value, abs=1e-6)
        assert batched.sampler == "batched Levenberg-Marquardt"
        np.testing.assert_allclose([jl.model[p].value for p in jl.space.free_names], mine[:, 0])


def test_sources_of_other_structures_fall_in_groups_of_their_own() -> None:
    """Another selection is another number of bins: two groups, both batched."""
    analyses = [analysis(0), analysis(1, "1-7"), analysis(2), analysis(3, "1-7"), analysis(4)]
    results, report = fit_many(analyses)
    assert sorted(report.groups) == [2, 3] and report.batched == 5
    for seed, selection in zip(range(5), ("0.5-7", "1-7", "0.5-7", "1-7", "0.5-7")):
        single = table(analysis(seed, selection).fit(quiet=True))
        assert np.all(np.abs(table(results[seed])[:, 0] - single[:, 0]) < 1e-4 * single[:, 2])


def test_a_source_without_signal_is_refitted_alone_and_its_failure_named() -> None:
    """A spectrum of background alone: the batched search runs its K to the bound, so
    it is fitted on its own, whose error (K at its lower bound) names the source."""
    empty = OGIPLike.from_function("xray", Powerlaw(K=1e-12, index=-2.0), RESPONSE, exposure=1e4, seed=5)
    empty.set_active_measurements("0.5-7", quiet=True)
    silent = JointLikelihood(Model(PointSource("src", 0.0, 0.0, spectral_shape=TbAbs() * Powerlaw())),
                             DataList(empty))
    with pytest.raises(AnalysisError, match=r"^source 1: .*lower bound"):
        fit_many([analysis(0), silent, analysis(2)])


def test_only_likelihood_analyses_are_taken() -> None:
    with pytest.raises(AnalysisError, match="item 1 is a str"):
        fit_many([analysis(0), "spectrum.pha"])


def test_shared_programs_give_each_analysis_its_own_numbers() -> None:
    """Under sharing_programs, the second analysis of one structure compiles nothing
    and its fit equals the unshared one (1e-6 of the errors)."""
    unshared = [table(analysis(seed).fit(quiet=True)) for seed in (6, 7)]
    with sharing_programs():
        first = table(analysis(6).fit(quiet=True))
        compiled = statistics.compiled
        second = table(analysis(7).fit(quiet=True))
        assert statistics.compiled == compiled
    for shared, alone in zip((first, second), unshared):
        assert np.all(np.abs(shared[:, 0] - alone[:, 0]) < 1e-6 * alone[:, 2])
