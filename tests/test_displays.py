"""Count-spectrum and spectrum pictures: what they draw equals an independent numpy/scipy
computation of the same model."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import astropy.units as u  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402
from scipy import integrate  # noqa: E402

from jointfit import (BayesianAnalysis, DataList, Line, Model, PointSource, Uniform_prior, XYLike,  # noqa: E402
                      display_spectrum_model_counts, plot_spectra)
from jointfit.errors import AnalysisError  # noqa: E402
from jointfit.examples.point_source_fluxes import TRUTH, build_model, simulate_spectra  # noqa: E402
from jointfit.results import AnalysisResults  # noqa: E402

KEV_TO_ERG = (1 * u.keV).to_value(u.erg)


@pytest.fixture(scope="module")
def analysis_at_truth():
    """The tutorial's analysis whose results hold 4 identical draws at the simulated values."""
    ba = BayesianAnalysis(build_model(), DataList(*simulate_spectra()))
    theta = np.array([TRUTH.get(name, 1.0) for name in ba.space.free_names])
    ba._results = AnalysisResults.from_samples(ba.density, np.tile(theta, (1, 4, 1)), analysis="bayesian",
                                               sampler="fixed draws")
    return ba


def blackbody(e, k, kt):
    return k * e**2 / np.expm1(e / kt)


def test_count_display_draws_the_folded_model_of_each_plugin(analysis_at_truth):
    figure = display_spectrum_model_counts(analysis_at_truth, min_significance=2.0)
    top, bottom = figure.axes
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["s1", "s2"]
    model_steps = [p for p in top.patches if isinstance(p, StepPatch) and not p.get_fill()]
    bands = [p for p in top.patches if isinstance(p, StepPatch) and p.get_fill()]
    assert len(model_steps) == 2 and len(bands) == 2  # median model and band, per plugin
    plugin = analysis_at_truth.data["s1"]
    # independent fold: scipy quad over each response energy bin, numpy matrix product
    response = plugin.response
    photons = np.array([integrate.quad(blackbody, lo, hi, args=(5e-8, 500.0), epsrel=1e-10)[0]
                        for lo, hi in zip(response.energy_lo, response.energy_hi)])
    expected_total = float(np.sum(photons @ response.matrix) * plugin.observation.exposure)
    values, edges, _ = model_steps[0].get_data()
    drawn_total = float(np.sum(values * np.diff(edges) * plugin.observation.exposure))
    assert drawn_total == pytest.approx(expected_total, rel=1e-6)
    assert bottom.get_ylabel() == "residual (σ)"


def test_count_display_needs_results_and_count_spectra():
    data = DataList(XYLike("xy", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], yerr=[0.1, 0.1, 0.1]))
    shape = Line()
    shape.a.prior = Uniform_prior(lower_bound=-5, upper_bound=5)
    shape.b.prior = Uniform_prior(lower_bound=-5, upper_bound=5)
    ba = BayesianAnalysis(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)), data)
    with pytest.raises(AnalysisError, match="no results yet"):
        display_spectrum_model_counts(ba)
    ba._results = AnalysisResults.from_samples(ba.density, np.zeros((1, 3, 2)), analysis="bayesian", sampler="test")
    with pytest.raises(AnalysisError, match=r"no plugin of \['xy'\] draws count spectra"):
        display_spectrum_model_counts(ba)


def test_plot_spectra_draws_nu_f_nu_of_every_component(analysis_at_truth):
    results = analysis_at_truth.results
    figure = plot_spectra(results, 10.0, 1e4, use_components=True, n_energies=50)
    assert figure.axes[0].get_ylabel() == "νFν [erg / (s cm2)]"
    lines = figure.axes[0].get_lines()
    # each composite's components and its total (no absorption here: no unabsorbed total)
    assert [line.get_label() for line in lines] == ["src1: total", "src2: Blackbody", "src2: Powerlaw_flux",
                                                    "src2: total"]
    energies, drawn = lines[0].get_data()
    np.testing.assert_allclose(drawn, energies**2 * blackbody(energies, 5e-8, 500.0) * KEV_TO_ERG, rtol=1e-10)
    energies, drawn = lines[2].get_data()
    index = -1.5
    powerlaw = 200.0 * (index + 1) / (500.0 ** (index + 1) - 10.0 ** (index + 1)) * energies**index
    np.testing.assert_allclose(drawn, energies**2 * powerlaw * KEV_TO_ERG, rtol=1e-10)


def test_count_display_of_results_read_from_a_file(analysis_at_truth, tmp_path):
    from jointfit import load_analysis_results

    results = load_analysis_results(analysis_at_truth.results.write(tmp_path / "fit.nc"))
    with pytest.raises(AnalysisError, match="results alone hold no data"):
        display_spectrum_model_counts(results)
    figure = display_spectrum_model_counts(results, data=DataList(*simulate_spectra()))
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["s1", "s2"]
    s1, s2 = simulate_spectra()
    s2.use_effective_area_correction()  # one more free parameter than the results have
    with pytest.raises(AnalysisError, match="not of this data and model"):
        display_spectrum_model_counts(results, data=DataList(s1, s2))


def test_corner_draws_log_prior_parameters_as_log10_and_keeps_its_text_inside():
    from jointfit import JointLikelihood, Log_uniform_prior, Model, PointSource, Powerlaw, Uniform_prior, XYLike

    x = np.geomspace(1.0, 100.0, 20)
    truth = Powerlaw(K=3e-3, index=-1.6)
    data = DataList(XYLike.from_function("xy", truth, x, yerr=0.05 * np.asarray(truth(x)), seed=5))
    shape = Powerlaw(K=1e-3, index=-2.0)
    shape.K.prior = Log_uniform_prior(lower_bound=1e-6, upper_bound=1.0)
    shape.index.prior = Uniform_prior(lower_bound=-4.0, upper_bound=0.0)
    results = JointLikelihood(Model(PointSource("quasar_3c273_nucleus", ra=0.0, dec=0.0, spectral_shape=shape)), data).fit(quiet=True)
    k_path, index_path = ("quasar_3c273_nucleus.spectrum.main.Powerlaw.K",
                         "quasar_3c273_nucleus.spectrum.main.Powerlaw.index")
    figure = results.corner_plot(truths={k_path: 3e-3, index_path: -1.6})
    bottom_left, bottom_right = figure.axes[2], figure.axes[3]
    assert bottom_left.get_xlabel() == "log10 quasar_3c273_nucleus.K [1 / (keV s cm2)]"
    assert bottom_right.get_xlabel() == "quasar_3c273_nucleus.index"
    low, high = bottom_left.get_xlim()
    assert low < np.log10(results.samples(k_path)).mean() < high  # the axis is in log10 K
    figure.canvas.draw()
    inside = figure.bbox
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        if text.get_visible() and text.get_text():
            box = text.get_window_extent()
            assert box.x0 >= inside.x0 - 1 and box.x1 <= inside.x1 + 1, text.get_text()
            assert box.y0 >= inside.y0 - 1 and box.y1 <= inside.y1 + 1, text.get_text()
    linear = results.corner_plot(log_scale=[])
    assert linear.axes[2].get_xlabel() == "quasar_3c273_nucleus.K [1 / (keV s cm2)]"


def test_plot_spectra_keeps_everything_it_draws_inside_the_figure(analysis_at_truth):
    figure = plot_spectra(analysis_at_truth.results, 10.0, 1e4, flux_unit="erg/(cm2 s keV)", n_energies=30)
    figure.canvas.draw()
    drawn, (width, height) = figure.get_tightbbox(figure.canvas.get_renderer()), figure.get_size_inches()
    assert drawn.x0 >= -1e-6 and drawn.y0 >= -1e-6 and drawn.x1 <= width + 1e-6 and drawn.y1 <= height + 1e-6
    assert figure.subplotpars.left < 0.3 and figure.subplotpars.right > 0.7  # margins widened only as needed
