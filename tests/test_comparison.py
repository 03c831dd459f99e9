"""compare_models: Bayes factors checked against the closed-form evidence of linear
models with Gaussian priors, WAIC and PSIS-LOO against ArviZ's own, and refusals."""

from __future__ import annotations

import math
import warnings

import arviz as az
import numpy as np
import pytest

from jointfit import (BayesianAnalysis, Constant, DataList, GaussianPrior, JointLikelihood, Line, Model, PointSource,
                      XYLike, compare_models, load_analysis_results)
from jointfit import _arviz
from jointfit.comparison import _reading
from jointfit.errors import AnalysisError
from jointfit.log_density import JointLogDensity
from jointfit.results import AnalysisResults

X = np.linspace(1.0, 10.0, 20)
SIGMA = 0.5
PRIOR_SIGMA = {"line": (5.0, 1.0), "wide_slope": (5.0, 20.0), "constant": (5.0,)}
"""Standard deviations of the zero-mean Gaussian priors: (intercept, slope) or (constant,)."""


def data(name: str = "xy", x: np.ndarray = X) -> DataList:
    return DataList(XYLike.from_function(name, Line(a=1.5, b=0.4), x, yerr=np.full(x.size, SIGMA), seed=11))


def model(name: str) -> Model:
    if name == "constant":
        shape = Constant(k=0.0)
        shape.k.prior = GaussianPrior(mu=0.0, sigma=PRIOR_SIGMA[name][0])
    else:
        shape = Line(a=0.0, b=0.0)
        shape.a.prior = GaussianPrior(mu=0.0, sigma=PRIOR_SIGMA[name][0])
        shape.b.prior = GaussianPrior(mu=0.0, sigma=PRIOR_SIGMA[name][1])
    return Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape))


def analytic_ln_z(name: str) -> float:
    """A linear model y = D theta + noise with theta ~ N(0, P) and noise ~ N(0, S)
    makes y ~ N(0, S + D P D^T): the evidence is that Gaussian density at the data."""
    y = data()["xy"].y
    design = np.column_stack([np.ones_like(X), X])[:, : len(PRIOR_SIGMA[name])]
    covariance = SIGMA**2 * np.eye(X.size) + design @ np.diag(np.square(PRIOR_SIGMA[name])) @ design.T
    _, log_det = np.linalg.slogdet(covariance)
    return -0.5 * (y @ np.linalg.solve(covariance, y) + log_det + X.size * math.log(2 * math.pi))


@pytest.fixture(scope="module")
def nested() -> dict[str, AnalysisResults]:
    return {name: BayesianAnalysis(model(name), data()).sample(quiet=True, show_status=False, min_num_live_points=200,
                                                               seed=1)
            for name in ("constant", "wide_slope", "line")}


@pytest.fixture(scope="module")
def others() -> dict[str, AnalysisResults]:
    nuts = BayesianAnalysis(model("line"), data()).sample(sampler="nuts", quiet=True, progress_bar=False,
                                                          num_warmup=200, num_samples=300, num_chains=2, seed=1)
    return {"nuts": nuts, "mle": JointLikelihood(model("line"), data()).fit(quiet=True)}


def test_bayes_factors_match_the_closed_form_evidences(nested, tmp_path):
    table = compare_models(nested)
    assert list(table.index) == ["line", "wide_slope", "constant"]
    assert table.attrs["reference"] == "line" and table.attrs["rank_by"] == "ln_Z"
    for name, row in table.iterrows():
        assert row["ln_Z"] == nested[name].ln_Z and row["ln_Z_error"] == nested[name].ln_Z_error
        expected = analytic_ln_z(name) - analytic_ln_z("line")
        if name == "line":
            assert row["ln_B"] == 0.0 and row["ln_B_error"] == 0.0 and row["B"] == 1.0
        else:
            assert row["ln_B_error"] == pytest.approx(math.hypot(row["ln_Z_error"], table.loc["line", "ln_Z_error"]))
            assert abs(row["ln_B"] - expected) < 4 * row["ln_B_error"], (name, row["ln_B"], expected)
        assert row["B"] == pytest.approx(math.exp(row["ln_B"]))
    # a broader slope prior costs its Occam factor: B ~ 1/18 (analytic ln B = -2.92)
    assert list(table["reading"]) == ["reference", "strong evidence for 'line'", "decisive evidence for 'line'"]

    against_constant = compare_models(nested, reference="constant")
    assert against_constant.attrs["reference"] == "constant"
    assert list(against_constant.index) == ["line", "wide_slope", "constant"]
    np.testing.assert_allclose(against_constant["ln_B"], table["ln_B"] - table.loc["constant", "ln_B"])
    assert against_constant.loc["line", "reading"] == "decisive evidence for 'line'"
    assert against_constant.loc["constant", "reading"] == "reference"

    # results read back from their files compare the same
    loaded = {name: load_analysis_results(results.write(tmp_path / f"{name}.nc")) for name, results in nested.items()}
    again = compare_models(loaded)
    np.testing.assert_array_equal(again.select_dtypes(float).to_numpy(), table.select_dtypes(float).to_numpy())


def test_aic_and_bic_are_the_results_own_and_differ_from_the_smallest(nested):
    table = compare_models(nested, rank_by="BIC")
    assert table.attrs["rank_by"] == "BIC"
    assert list(table["BIC"]) == sorted(table["BIC"])
    for name, row in table.iterrows():
        criteria = nested[name].information_criteria()
        assert (row["AIC"], row["BIC"]) == (criteria["AIC"], criteria["BIC"])
        assert row["AIC_diff"] == row["AIC"] - table["AIC"].min()
        assert row["BIC_diff"] == row["BIC"] - table["BIC"].min()
        assert row["n_free"] == len(nested[name].free_parameters) and row["sampler"] == "ultranest"
    assert table.loc["constant", "AIC_diff"] > 50  # the slope is detected


def test_waic_and_loo_are_arvizs_compare(nested):
    """One-chain (nested sampling) draws: ArviZ takes their relative efficiency as 1,
    as jointfit does, so its compare of the results' own data gives the same table."""
    table = compare_models(nested)
    data = {name: results.inference_data for name, results in nested.items()}
    if _arviz.uses_datatree():
        loo = az.compare(data, round_to="none")
        columns, sign = ["elpd", "se", "p", "elpd_diff", "dse", "weight"], 1.0
    else:
        loo = az.compare(data, ic="loo", scale="log")
        columns, sign = ["elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight"], -1.0
    ours = ["elpd_loo", "elpd_loo_se", "p_loo", "elpd_loo_diff", "elpd_loo_diff_se", "loo_weight"]
    expected = loo.loc[table.index, columns].astype(float).to_numpy(copy=True)
    expected[:, 3] *= sign
    np.testing.assert_allclose(table[ours].to_numpy(), expected, rtol=1e-9, atol=1e-9)

    ours = ["elpd_waic", "elpd_waic_se", "p_waic", "elpd_waic_diff", "elpd_waic_diff_se"]
    if _arviz.uses_datatree():  # ArviZ 1.x has no WAIC: Watanabe's from every draw
        pointwise = {name: results.inference_data.log_likelihood["xy"].values.reshape(-1, X.size)
                     for name, results in nested.items()}
        elpd_i = {name: np.log(np.mean(np.exp(v), axis=0)) - np.var(v, axis=0) for name, v in pointwise.items()}
        best = max(elpd_i, key=lambda name: elpd_i[name].sum())
        expected = np.array([[elpd_i[n].sum(), math.sqrt(X.size * np.var(elpd_i[n], ddof=1)),
                              np.var(pointwise[n], axis=0).sum(),
                              (elpd_i[n] - elpd_i[best]).sum(), math.sqrt(X.size * np.var(elpd_i[n] - elpd_i[best]))]
                             for n in table.index])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # WAIC's variance warning, which the table's notes give
            waic = az.compare(data, ic="waic", scale="log")
        expected = waic.loc[table.index, ["elpd_waic", "se", "p_waic", "elpd_diff", "dse"]].to_numpy(float, copy=True)
        expected[:, 3] *= -1.0
        np.testing.assert_allclose(table["waic_weight"], waic.loc[table.index, "weight"].astype(float), atol=1e-9)
    np.testing.assert_allclose(table[ours].to_numpy(), expected, rtol=1e-9, atol=1e-9)
    assert table["waic_weight"].sum() == pytest.approx(1.0) and table["waic_weight"].between(0, 1).all()

    # the same elpd as each result's information criteria (deviance scale)
    for name, row in table.iterrows():
        criteria = nested[name].information_criteria()
        assert row["elpd_loo"] == pytest.approx(-criteria["LOO"] / 2, rel=1e-12)
        assert row["elpd_waic"] == pytest.approx(-criteria["WAIC"] / 2, rel=1e-12)


def test_nuts_and_mle_results_lack_what_they_cannot_give(nested, others):
    results = {"line": nested["line"], **others}
    table = compare_models(results)
    assert table.attrs["rank_by"] == "AIC" and table.attrs["reference"] == "line"
    for name in ("nuts", "mle"):
        assert np.isnan(table.loc[name, ["ln_Z", "ln_Z_error", "ln_B", "B"]].astype(float)).all()
        assert table.loc[name, "reading"] == "no evidence"
        assert np.isfinite(table.loc[name, ["AIC", "BIC"]].astype(float)).all()
    predictive = [c for c in table.columns if "loo" in c or "waic" in c]
    assert table.loc["mle", predictive].isna().all()
    assert table.loc[["line", "nuts"], predictive].notna().all().all()
    assert table.loc[["line", "nuts"], "loo_weight"].sum() == pytest.approx(1.0)
    notes = " ".join(table.attrs["notes"])
    assert "no evidence for 'nuts', 'mle'" in notes and "'mle': maximum-likelihood" in notes
    with pytest.raises(AnalysisError, match="reference 'nuts' has no evidence \\(nuts results\\)"):
        compare_models(results, reference="nuts")

    # a single model with pointwise log-likelihoods has WAIC and LOO but nothing to compare them with
    single = compare_models({"line": nested["line"], "mle": others["mle"]}, rank_by="elpd_loo")
    assert list(single.index) == ["line", "mle"]
    assert single.loc["line", "elpd_loo"] == pytest.approx(-nested["line"].information_criteria()["LOO"] / 2)
    assert single.loc["line", ["elpd_loo_diff", "loo_weight", "elpd_waic_diff", "waic_weight"]].isna().all()
    assert any("only 'line' has pointwise" in note for note in single.attrs["notes"])

    # no evidence anywhere: no Bayes factors; the fit has no LOO, so AIC ranks
    without = compare_models(others | {"nuts_too": others["nuts"]})
    assert without.attrs["reference"] is None and without.attrs["rank_by"] == "AIC"
    assert without["ln_B"].isna().all() and set(without["reading"]) == {""}


def test_per_plugin_totals_and_plugin_order(monkeypatch):
    """Posteriors kept as per-plugin totals cannot enter WAIC and LOO; the same draws of
    data listed in another plugin order compare equal."""
    first = XYLike.from_function("first", Line(a=1.5, b=0.4), X[::2], yerr=np.full(10, SIGMA), seed=1)
    second = XYLike.from_function("second", Line(a=1.5, b=0.4), X[1::2], yerr=np.full(10, SIGMA), seed=2)
    draws = np.random.default_rng(5).normal([1.5, 0.4], 0.05, size=(2, 50, 2))
    forward = AnalysisResults.from_samples(JointLogDensity(model("line"), DataList(first, second)), draws,
                                           analysis="bayesian", sampler="test")
    backward = AnalysisResults.from_samples(JointLogDensity(model("line"), DataList(second, first)), draws,
                                            analysis="bayesian", sampler="test")
    monkeypatch.setattr(JointLogDensity, "POINTWISE_LIMIT", 10)
    totals = AnalysisResults.from_samples(JointLogDensity(model("line"), DataList(first, second)), draws,
                                          analysis="bayesian", sampler="test")
    table = compare_models({"forward": forward, "backward": backward, "totals": totals})
    assert table.loc["forward", "elpd_loo"] == table.loc["backward", "elpd_loo"]
    assert table.loc[["forward", "backward"], "elpd_loo_diff"].tolist() == [0.0, 0.0]
    assert table.loc["totals", [c for c in table.columns if "loo" in c or "waic" in c]].isna().all()
    assert any("'totals': per-plugin totals" in note for note in table.attrs["notes"])


def test_points_no_draw_changes_enter_loo_by_their_plain_estimate():
    """Channels whose likelihood no draw changes have no tail for PSIS to smooth (ArviZ
    1.x refuses them): the comparison takes them as :func:`_arviz.elpd_loo` does."""
    rng = np.random.default_rng(6)
    constant = np.broadcast_to(np.array([-0.5, 0.0]), (2, 400, 2))
    pointwise = {name: np.concatenate([rng.normal(-1.0, width, size=(2, 400, 12)), constant], axis=-1)
                 for name, width in (("narrow", 0.1), ("broad", 0.3))}
    for criterion, total in (("loo", _arviz.elpd_loo), ("waic", _arviz.elpd_waic)):
        table = _arviz.compare(pointwise, criterion)
        for name, values in pointwise.items():
            assert table.loc[name, "elpd"] == pytest.approx(total(values), rel=1e-12)
        assert table["weight"].sum() == pytest.approx(1.0)
        assert table.loc["narrow", "elpd_diff"] == 0.0 and table.loc["broad", "elpd_diff"] < 0.0
        assert np.isfinite(table[["se", "p", "dse"]].to_numpy()).all()


def test_readings_follow_jeffreys_half_decades():
    assert _reading(math.log(2.0), "a", "b") == "evidence for 'a' barely worth mentioning"
    assert _reading(-math.log(2.0), "a", "b") == "evidence for 'b' barely worth mentioning"
    assert _reading(math.log(5.0), "a", "b") == "substantial evidence for 'a'"
    assert _reading(-math.log(20.0), "a", "b") == "strong evidence for 'b'"
    assert _reading(math.log(50.0), "a", "b") == "very strong evidence for 'a'"
    assert _reading(math.log(200.0), "a", "b") == "decisive evidence for 'a'"
    assert _reading(-1e4, "a", "b") == "decisive evidence for 'b'"
    assert _reading(0.0, "b", "b") == "reference" and _reading(math.nan, "a", "b") == "no evidence"


def test_bad_input_is_refused_naming_what_is_wrong(nested, others):
    mle = others["mle"]
    with pytest.raises(AnalysisError, match="at least two results, got 1"):
        compare_models({"mle": mle})
    with pytest.raises(AnalysisError, match="takes a mapping of model names to AnalysisResults.*not a list"):
        compare_models([mle, mle])
    with pytest.raises(AnalysisError, match="results\\['broken'\\] is a str, not AnalysisResults"):
        compare_models({"mle": mle, "broken": "line.nc"})
    with pytest.raises(AnalysisError, match="reference 'curve' is not one of the models \\['mle', 'line'\\]"):
        compare_models({"mle": mle, "line": nested["line"]}, reference="curve")
    with pytest.raises(AnalysisError, match="cannot rank models by 'DIC'"):
        compare_models({"mle": mle, "line": nested["line"]}, rank_by="DIC")
    renamed = JointLikelihood(model("line"), data(name="other")).fit(quiet=True)
    with pytest.raises(AnalysisError, match="models 'mle' and 'renamed' were fitted to different data: plugins "
                                            "\\['xy'\\] and \\['other'\\]"):
        compare_models({"mle": mle, "renamed": renamed})
    shorter = JointLikelihood(model("line"), data(x=X[:-1])).fit(quiet=True)
    with pytest.raises(AnalysisError, match="models 'mle' and 'shorter' were fitted to different data: plugin 'xy' "
                                            "has 20 points in 'mle' but 19 in 'shorter'"):
        compare_models({"mle": mle, "shorter": shorter})
