"""Starts from the data: default normalisations scaled to the data before a fit, the
advice when a fit ends at a bound, and profile intervals cut at bounds."""

from __future__ import annotations

import numpy as np
import pytest
from ccd_response import ccd_like_response
from jointfit_ogip import OGIPLike, Response

from jointfit import (
    Blackbody,
    Constant,
    DataList,
    JointLikelihood,
    Log_uniform_prior,
    Model,
    PointSource,
    Powerlaw,
    Redshift,
    TbAbs,
    Uniform_prior,
)
from jointfit.starts import normalization_start
from jointfit.errors import AnalysisError, ParameterError
from jointfit.log_density import JointLogDensity
from jointfit.samplers import _MAPSearch, map_point

TRUE_K = 1e-3  # photons / (cm2 s keV) at 1 keV: a faint source, a thousandth of the default
K_PATH = "src.spectrum.main.composite.K_2"


def xray_response() -> Response:
    """0.2-12 keV into 0.3-10 keV channels, 150 eV FWHM Gaussian redistribution, a flat
    500 cm2: a small CCD-like response."""
    return ccd_like_response(300, 194, "ccd")


@pytest.fixture(scope="module")
def faint_spectrum() -> OGIPLike:
    """An absorbed power law of K = 1e-3 over a flat background (20 ks): with the
    background, the fit from K = 1 runs to K's lower bound, as in the user's report."""
    truth = TbAbs(NH=0.5) * Powerlaw(K=TRUE_K, index=-1.8)
    return OGIPLike.from_function("faint", truth, xray_response(), background_function=Constant(k=1e-3),
                                  exposure=2e4, seed=3)


def absorbed_model(**powerlaw: float) -> Model:
    """``TbAbs * Powerlaw``, the user's model (Powerlaw's K at its default unless given)."""
    return Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=TbAbs() * Powerlaw(**powerlaw)))


def test_default_normalisation_is_started_from_the_data(faint_spectrum, capsys):
    model = absorbed_model()
    assert not model[K_PATH].user_set
    results = JointLikelihood(model, DataList(faint_spectrum)).fit()
    printed = capsys.readouterr().out
    assert printed.startswith("start: scaled the normalisation K_2 of src by ")
    factor = float(printed.splitlines()[0].split(" by ")[1].split()[0])
    assert 1e-4 < factor < 1e-2  # the start lands within a decade of the truth
    row = results.point_estimates().loc[K_PATH]
    assert row["value"] + row["negative_error"] <= TRUE_K <= row["value"] + row["positive_error"]
    assert row["positive_error"] < 0.05 * TRUE_K and row["limit"] == ""
    # the fit set K: it is the user's now, and a second fit leaves its start alone
    assert model[K_PATH].user_set
    JointLikelihood(model, DataList(faint_spectrum)).fit()
    assert "start:" not in capsys.readouterr().out


def test_without_the_guess_the_fit_ends_at_the_bound_with_advice(faint_spectrum):
    model = absorbed_model()
    with pytest.raises(AnalysisError) as failure:
        JointLikelihood(model, DataList(faint_spectrum)).fit(quiet=True, guess=False)
    assert type(failure.value) is AnalysisError
    message = str(failure.value)
    assert f"{K_PATH} = 1e-30 at its lower bound 1e-30" in message
    assert "set a start value nearer the data, widen the bound" in message
    assert "fix the parameter" in message
    assert "fit(guess=True) starts normalisations left at their defaults from the data" in message
    assert f"A normalisation at its lower bound ({K_PATH}): the source may not be detected" in message
    assert "upper limit" in message and "BayesianAnalysis" in message
    assert model[K_PATH].value == 1.0 and not model[K_PATH].user_set  # a failed fit changes nothing


def test_a_value_the_user_set_is_never_scaled(faint_spectrum, capsys):
    # the same K = 1, but set by the user: the guess leaves it, and the fit fails as without it
    model = absorbed_model(K=1.0)
    assert model[K_PATH].user_set
    analysis = JointLikelihood(model, DataList(faint_spectrum))
    theta = np.asarray(analysis._current_theta())
    start, note = normalization_start(analysis.density, model, theta, analysis.space.lower_bounds,
                                      analysis.space.upper_bounds)
    assert note is None
    np.testing.assert_array_equal(start, theta)
    with pytest.raises(AnalysisError, match=r"K_2 = 1e-30 at its lower bound") as failure:
        analysis.fit()
    assert "fit(guess=True)" not in str(failure.value)  # the guess was on: no point suggesting it
    assert "start:" not in capsys.readouterr().out
    assert model[K_PATH].value == 1.0
    # a value assigned after construction is the user's too
    other = absorbed_model()
    other[K_PATH].value = 2e-3
    assert other[K_PATH].user_set
    analysis = JointLikelihood(other, DataList(faint_spectrum))
    theta = np.asarray(analysis._current_theta())
    assert normalization_start(analysis.density, other, theta, analysis.space.lower_bounds,
                               analysis.space.upper_bounds) == (pytest.approx(theta), None)


def test_only_the_default_normalisations_are_scaled_within_their_bounds(faint_spectrum):
    shape = TbAbs() * (Powerlaw() + Blackbody(K=1e-6, kT=0.3))
    model = Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape))
    assert list(shape.normalization_parameters()) == ["K_2", "K_3"]
    analysis = JointLikelihood(model, DataList(faint_spectrum))
    names = list(analysis.space.free_names)
    theta = np.asarray(analysis._current_theta())
    lower, upper = analysis.space.lower_bounds, analysis.space.upper_bounds
    start, note = normalization_start(analysis.density, model, theta, lower, upper)
    assert note is not None and note.startswith("start: scaled the normalisation K_2 of src by ")
    changed = np.flatnonzero(start != theta)
    assert [names[i] for i in changed] == [K_PATH]
    assert 1e-4 < start[names.index(K_PATH)] < 1e-2
    # a bound the factor may not cross: the start stops there
    upper = upper.copy()
    upper[names.index(K_PATH)] = 2.0
    lower = lower.copy()
    lower[names.index(K_PATH)] = 0.1
    start, note = normalization_start(analysis.density, model, theta, lower, upper)
    assert start[names.index(K_PATH)] == pytest.approx(0.1) and "by 0.1 " in note


def test_the_flag_survives_model_files():
    shape = TbAbs() * Powerlaw(index=-1.7)
    shape.NH_1 = 0.3
    again = Model.from_yaml(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)).to_yaml())
    flags = {path: p.user_set for path, p in again.parameters.items() if "composite" in path}
    assert flags == {"src.spectrum.main.composite.NH_1": True, "src.spectrum.main.composite.redshift_1": False,
                     K_PATH: False, "src.spectrum.main.composite.piv_2": False,
                     "src.spectrum.main.composite.index_2": True}
    assert "user_set" not in shape.NH_1.to_dict() and shape.K_2.to_dict()["user_set"] is False
    # files written before the flag existed hold the user's values
    state = shape.K_2.to_dict()
    del state["user_set"]
    twin = (TbAbs() * Powerlaw()).K_2
    twin.update_from_dict(state)
    assert twin.user_set and twin.value == 1.0
    # a bad entry leaves the flag as it was, with the rest
    with pytest.raises(ParameterError, match="must be a number"):
        twin.update_from_dict({**shape.K_2.to_dict(), "value": "nope"})
    assert twin.user_set
    assert list((Powerlaw().of(Redshift()) + Blackbody()).normalization_parameters()) == ["K_1", "K_3"]
    assert list((Constant(k=1.0) * TbAbs() * Powerlaw()).normalization_parameters()) == ["K_3"]


def test_the_map_search_starts_from_the_data_too(faint_spectrum):
    shape = TbAbs() * Powerlaw()
    shape.K_2.prior = Log_uniform_prior(lower_bound=1e-8, upper_bound=10.0)
    shape.index_2.prior = Uniform_prior(lower_bound=-4.0, upper_bound=0.0)
    shape.NH_1.prior = Uniform_prior(lower_bound=0.01, upper_bound=10.0)
    density = JointLogDensity(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)),
                              DataList(faint_spectrum))
    search = _MAPSearch(density)
    best = np.asarray(search.constrain(search.run()))
    assert search.start_note is not None
    assert search.start_note.startswith("start: scaled the normalisation K_2 of src by ")
    assert best[list(density.space.free_names).index(K_PATH)] == pytest.approx(TRUE_K, rel=0.1)
    assert map_point(density)[K_PATH] == pytest.approx(best[list(density.space.free_names).index(K_PATH)])
    # the priors' support bounds the factor: K may not go below 0.01 here
    shape.K_2.prior = Log_uniform_prior(lower_bound=0.01, upper_bound=10.0)
    search = _MAPSearch(JointLogDensity(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)),
                                        DataList(faint_spectrum)))
    search.run()
    assert search.start_note is not None and " by 0.01 " in search.start_note


@pytest.fixture(scope="module")
def unabsorbed_spectrum() -> OGIPLike:
    """A power law with no absorption at all: N_H's best fit is at (or next to) its
    lower bound, 1e-4 (1e22 cm^-2)."""
    return OGIPLike.from_function("bare", Powerlaw(K=TRUE_K, index=-1.8), xray_response(), exposure=2e4, seed=0)


def test_profile_interval_stops_at_the_bound(unabsorbed_spectrum):
    model = Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=Powerlaw() * TbAbs(NH=0.1)))
    analysis = JointLikelihood(model, DataList(unabsorbed_spectrum))
    analysis.fit(quiet=True)
    nh_path = "src.spectrum.main.composite.NH_2"
    table = analysis.profile_errors(nh_path, "src.spectrum.main.composite.index_1")
    assert list(table.columns) == ["value", "negative_error", "positive_error", "limit"]
    nh = table.loc[nh_path]
    assert nh["value"] > 1e-4  # the best fit itself is off the bound: the profile walked to it
    assert nh["value"] + nh["negative_error"] == 1e-4 and nh["limit"] == "lower bound"
    assert 0.0 < nh["positive_error"] < 0.01
    index = table.loc["src.spectrum.main.composite.index_1"]
    assert index["limit"] == "" and index["negative_error"] < 0.0 < index["positive_error"]
    # the profile's upper end is where -log L has risen by 0.5 with the others refitted
    assert analysis.results.point_estimates().loc[nh_path, "limit"] == "lower bound"
