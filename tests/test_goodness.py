"""Goodness of fit by simulation (posterior predictive checks, Q-Q plots), checked on
straight lines with Gaussian errors, where the simulated statistics are chi2 by theory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from jointfit import (BayesianAnalysis, Constant, DataList, JointLikelihood, Line, Model, Plugin, PointSource,
                      Uniform_prior, XYLike, load_analysis_results, posterior_predictive_check)
from jointfit.errors import AnalysisError

X = np.linspace(1.0, 10.0, 30)
SIGMA = 0.5


def line_data(seed: int = 3) -> DataList:
    truth = Line(a=1.5, b=0.8)
    return DataList(XYLike.from_function("first", truth, X[::2], yerr=SIGMA, seed=seed),
                    XYLike.from_function("second", truth, X[1::2], yerr=SIGMA, seed=seed + 1))


def model_of(shape) -> Model:
    for parameter in shape.parameters.values():
        if parameter.free:
            parameter.prior = Uniform_prior(lower_bound=-20.0, upper_bound=20.0)
    return Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape))


@pytest.fixture(scope="module")
def line_fit():
    data = line_data()
    analysis = JointLikelihood(model_of(Line(a=0.0, b=1.0)), data)
    analysis.fit(quiet=True)
    return analysis


def test_simulated_statistics_are_chi2_and_observed_ones_are_the_datas(line_fit):
    check = posterior_predictive_check(line_fit, n_draws=2000, seed=1)
    assert check.n_draws == 2000 and list(check.draws.columns) == list(line_fit.space.free_names)
    for plugin in line_fit.data:
        observed, simulated = check.discrepancies(plugin.name)
        # data simulated at a draw and compared with the model at that draw: chi2 with
        # one degree of freedom per point, whatever the draw
        assert stats.kstest(simulated, stats.chi2(plugin.x.size).cdf).pvalue > 1e-3
        a, b = check.draws.iloc[:, 0].to_numpy(), check.draws.iloc[:, 1].to_numpy()
        by_numpy = np.sum(((plugin.y[None, :] - a[:, None] - b[:, None] * plugin.x[None, :]) / SIGMA) ** 2, axis=1)
        np.testing.assert_allclose(observed, by_numpy, rtol=1e-12)
    total_observed, total_simulated = check.discrepancies()
    assert check.p_value() == np.mean(total_simulated >= total_observed)
    table = check.table()
    assert list(table.index) == ["first", "second", "total"]
    assert table.loc["total", "n_points"] == X.size and set(table["statistic"]) == {"chi2"}
    assert table.loc["first", "p_value_error"] == pytest.approx(
        np.sqrt(table.loc["first", "p_value"] * (1 - table.loc["first", "p_value"]) / 2000))


def test_joint_p_value_of_a_linear_model_equals_its_closed_form(line_fit):
    # for a linear model with Gaussian errors and flat priors the draws are Gaussian and
    # the data's chi2 at a draw is the minimum plus a chi2 with k = 2 degrees of
    # freedom, while simulated data give a chi2 with n: p = E_u[P(chi2_n >= min + u)]
    check = posterior_predictive_check(line_fit, n_draws=4000, seed=3)
    minimum = sum(value for _, value in line_fit.results.fit_statistics.values())
    exact, _ = integrate.quad(lambda u: stats.chi2.pdf(u, 2) * stats.chi2.sf(minimum + u, X.size), 0, np.inf)
    assert 0.01 < exact < 0.1  # these data (seed 3) are in the tail: the check has something to find
    assert check.p_value() == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 4000))
    assert check.table().loc["total", "p_value"] == check.p_value()


def test_a_right_model_passes_and_a_wrong_one_fails():
    data = line_data(seed=5)
    right = JointLikelihood(model_of(Line(a=0.0, b=1.0)), data)
    right.fit(quiet=True)
    wrong = JointLikelihood(model_of(Constant(k=5.0)), data)
    wrong.fit(quiet=True)
    good, bad = right.goodness_of_fit(seed=2, quiet=True), wrong.goodness_of_fit(seed=2, quiet=True)
    assert good.p_value() > 0.05 and good.table()["p_value_cumulative"].drop("total").min() > 0.05
    # a constant through a slope of 0.8 over 9 units with errors of 0.5: hopeless
    assert bad.p_value() < 0.002 and bad.table()["p_value_cumulative"].drop("total").max() < 0.002


def test_bayesian_check_uses_the_posterior_draws_and_prints_a_reading(capsys):
    data = line_data()
    analysis = BayesianAnalysis(model_of(Line(a=0.0, b=1.0)), data)
    results = analysis.sample("nuts", num_warmup=200, num_samples=300, num_chains=1, progress_bar=False, quiet=True)
    check = analysis.goodness_of_fit(n_draws=5000)
    assert check.n_draws == 300 and check.analysis == "bayesian"  # every draw when there are fewer
    np.testing.assert_array_equal(check.draws.to_numpy(), results.samples_matrix)
    text = capsys.readouterr().out
    assert "Posterior predictive check (300 posterior draws)" in text
    assert f"p = {check.p_value('first'):.3f}" in text and "consistent" in text


def test_check_of_reloaded_results_equals_the_live_one(line_fit, tmp_path):
    live = posterior_predictive_check(line_fit, n_draws=300, seed=5)
    loaded = load_analysis_results(line_fit.results.write(tmp_path / "fit.nc"))
    again = posterior_predictive_check(loaded, data=line_fit.data, n_draws=300, seed=5)
    pd.testing.assert_frame_equal(again.table(), live.table(), check_exact=True)
    other_seed = posterior_predictive_check(line_fit, n_draws=300, seed=6)
    assert not np.array_equal(other_seed.discrepancies()[1], live.discrepancies()[1])
    # XY points travel inside the results: no data needed to check them again
    rebuilt = posterior_predictive_check(loaded, n_draws=300, seed=5)
    pd.testing.assert_frame_equal(rebuilt.table(), live.table(), check_exact=True)


class _Unchecked(XYLike):
    """An XY data set whose plugin does not give its data for checks (a third party's)."""

    observed_data = Plugin.observed_data
    discrepancy = Plugin.discrepancy
    fit_statistic = Plugin.fit_statistic


def test_plugins_without_a_discrepancy_are_left_out_and_named(capsys):
    data = line_data()
    truth = Line(a=1.5, b=0.8)
    extra = _Unchecked("third", X, truth(X) + 0.1, yerr=np.full(X.size, SIGMA))
    analysis = JointLikelihood(model_of(Line(a=0.0, b=1.0)), DataList(*data, extra))
    analysis.fit(quiet=True)
    check = analysis.goodness_of_fit(n_draws=100)
    assert check.plugin_names == ["first", "second"] and "third" in check.skipped
    assert "third                          not checked: _Unchecked gives no observed_data" in capsys.readouterr().out
    with pytest.raises(AnalysisError, match="no predictive check of 'third': _Unchecked gives no observed_data"):
        check.p_value("third")
    alone = JointLikelihood(model_of(Line(a=0.0, b=1.0)), DataList(_Unchecked("only", X, truth(X),
                                                                            yerr=np.full(X.size, SIGMA))))
    alone.fit(quiet=True)
    with pytest.raises(AnalysisError, match="no plugin of this analysis can be checked by simulation"):
        alone.goodness_of_fit()


@pytest.mark.parametrize("n_draws", [0, -3, 2.5, True, "100"])
def test_the_number_of_draws_must_be_a_positive_integer(line_fit, n_draws):
    with pytest.raises(AnalysisError, match="n_draws must be a positive integer"):
        posterior_predictive_check(line_fit, n_draws=n_draws)


def _text_inside(figure) -> None:
    figure.canvas.draw()
    drawn, (width, height) = figure.get_tightbbox(figure.canvas.get_renderer()), figure.get_size_inches()
    assert drawn.x0 >= -1e-6 and drawn.y0 >= -1e-6 and drawn.x1 <= width + 1e-6 and drawn.y1 <= height + 1e-6


def test_pictures_draw_the_data_against_the_simulations(line_fit):
    check = posterior_predictive_check(line_fit, n_draws=400, seed=0)
    figure = check.plot()
    assert len(figure.axes) == 4  # data and residuals for each plugin
    top = figure.axes[0]
    np.testing.assert_array_equal(top.lines[-1].get_ydata(), line_fit.data["first"].y)
    np.testing.assert_array_equal(top.lines[-1].get_xdata(), line_fit.data["first"].x)
    assert top.get_title().startswith(f"first: p = {check.p_value('first'):.3f}")
    _text_inside(figure)
    qq = check.qq_plot("second")
    curve = [line for line in qq.axes[0].lines if line.get_label() == "data"][0]
    np.testing.assert_allclose(curve.get_ydata(), np.concatenate([[0.0], np.cumsum(line_fit.data["second"].y)]))
    _text_inside(qq)
    with pytest.raises(AnalysisError, match="no predictive check of 'third'"):
        check.qq_plot("third")
    unkept = posterior_predictive_check(line_fit, n_draws=50, keep_simulations=False)
    with pytest.raises(AnalysisError, match="needs the simulated data sets, which were not kept"):
        unkept.plot("first")
    assert np.isnan(unkept.table().loc["first", "p_value_cumulative"])


def test_xy_results_keep_the_chi2_at_the_best_fit(line_fit):
    best = line_fit.results.point_estimates()["value"].to_numpy()
    for plugin in line_fit.data:
        name, value = line_fit.results.fit_statistics[plugin.name]
        assert name == "chi2"
        assert value == pytest.approx(np.sum(((plugin.y - best[0] - best[1] * plugin.x) / SIGMA) ** 2), rel=1e-10)
