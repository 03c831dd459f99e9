"""3ML's tutorial "Point Source Fluxes and Multiple Sources" as a 3ML user ports it:
the tutorial's code with only the lines docs/coming_from_3ml.md changes (marked
``# jointfit:``), and fewer live points to stay quick."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "coming_from_3ml.md"

# the port's jointfit lines, as the page gives them
PAGE_LINES = (
    "from jointfit import *",
    "from jointfit import DispersionSpectrumLike",
    "from jointfit_ogip import read_rmf",
    'response_1 = read_rmf(DispersionSpectrumLike.demo_response_file())',
    'ba.sampler.setup(min_num_live_points=400, frac_remain=0.5, use_mlfriends=False)',
    'integration="trapz"',
    'result.write("fit.nc", overwrite=True)',
    'load_analysis_results("fit.nc")',
)

# What the notebook displays is kept in names (first, summed, ...) for the checks.
TUTORIAL = """\
import matplotlib.pyplot as plt
import numpy as np

import astropy.units as u
from jointfit import *  # jointfit: was from threeML import *
from jointfit import DispersionSpectrumLike  # jointfit: plugins are imported by name
from jointfit_ogip import read_rmf  # jointfit: was OGIPResponse and get_path_of_data_file

np.random.seed(1234)

# we will use a demo response
response_1 = read_rmf(DispersionSpectrumLike.demo_response_file())  # jointfit: the shipped demo response

source_function_1 = Blackbody(K=5e-8, kT=500.0)
background_function_1 = Powerlaw(K=1, index=-1.5, piv=1.0e3)

spectrum_generator_1 = DispersionSpectrumLike.from_function(
    "s1",
    source_function=source_function_1,
    background_function=background_function_1,
    response=response_1,
    seed=1,  # jointfit: its own seed, not numpy's global one
)

fig = spectrum_generator_1.view_count_spectrum()

response_2 = read_rmf(DispersionSpectrumLike.demo_response_file())  # jointfit: as response_1

source_function_2 = Blackbody(K=1e-7, kT=500.0) + Powerlaw_flux(F=2e2, index=-1.5, a=10, b=500)
background_function_2 = Powerlaw(K=1, index=-1.5, piv=1.0e3)

spectrum_generator_2 = DispersionSpectrumLike.from_function(
    "s2",
    source_function=source_function_2,
    background_function=background_function_2,
    response=response_2,
    seed=2,  # jointfit: as s1
)

fig = spectrum_generator_2.view_count_spectrum()

spectrum_1 = Blackbody()

spectrum_1.K.prior = Log_normal(mu=np.log(1e-7), sigma=1)
spectrum_1.kT.prior = Log_normal(mu=np.log(300), sigma=2)

ps1 = PointSource("src1", ra=1, dec=20, spectral_shape=spectrum_1)

spectrum_2 = Blackbody() + Powerlaw_flux(a=10, b=500)  # a,b are the bounds for the flux

spectrum_2.K_1.prior = Log_normal(mu=np.log(1e-6), sigma=1)
spectrum_2.kT_1.prior = Log_normal(mu=np.log(300), sigma=2)

spectrum_2.F_2.prior = Log_normal(mu=np.log(1e2), sigma=1)
spectrum_2.F_2.bounds = (None, None)

spectrum_2.index_2.prior = Gaussian(mu=-1.0, sigma=1)
spectrum_2.index_2.bounds = (None, None)

ps2 = PointSource("src2", ra=2, dec=-10, spectral_shape=spectrum_2)

model = Model(ps1, ps2)

model.link(model.src1.spectrum.main.Blackbody.kT, model.src2.spectrum.main.composite.kT_1)

summary_text = repr(model)  # the notebook displays `model`

spectrum_generator_1.assign_to_source("src1")

spectrum_generator_2.assign_to_source("src2")

data = DataList(spectrum_generator_1, spectrum_generator_2)

ba = BayesianAnalysis(model, data)
ba.set_sampler("ultranest")
ba.sampler.setup(min_num_live_points=100, frac_remain=0.5, use_mlfriends=False)  # the test: 100, not 400
_ = ba.sample()

fig = display_spectrum_model_counts(ba)
ax = fig.get_axes()[0]
ax.set_ylim(1e-6)

result = ba.results
fig = result.corner_plot()

# jointfit: threeML_config.point_source.integrate_flux_method = "quad" goes (quad is the default)
first = result.get_flux(ene_min=1 * u.keV, ene_max=1 * u.MeV, flux_unit="erg/cm2/s")

# jointfit: threeML_config.point_source.integrate_flux_method = "trapz" becomes integration="trapz"
summed = result.get_flux(ene_min=1 * u.keV, ene_max=1 * u.MeV, confidence_level=0.95, sum_sources=True,
                         flux_unit="erg/cm2/s", integration="trapz")

components = result.get_flux(ene_min=10 * u.keV, ene_max=0.5 * u.MeV, use_components=True,
                             flux_unit="1/(cm2 s)")

chosen = result.get_flux(ene_min=10 * u.keV, ene_max=0.5 * u.MeV, use_components=True,
                         components_to_use=["Blackbody"], flux_unit="erg2/(cm2 s)")

one_source = result.get_flux(ene_min=10 * u.keV, ene_max=0.5 * u.MeV, sources=["src2"], use_components=True,
                             components_to_use=["Blackbody"], flux_unit="1/(cm2 s)")

flux = result.get_flux(ene_min=1 * u.keV, ene_max=1 * u.MeV, flux_unit="erg/cm2/s")
flux["flux"]
src1_flux = flux["flux"]["src1: total"]

# saving and reading back
result.write("fit.nc", overwrite=True)  # jointfit: was result.write_to("fit.fits", overwrite=True)
again = load_analysis_results("fit.nc")  # jointfit: a netCDF file, not FITS
plt.close("all")
"""


def test_the_page_gives_the_lines_of_this_port():
    text = PAGE.read_text()
    for line in PAGE_LINES:
        assert line in text, line


def test_the_tutorial_runs_as_ported(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(TUTORIAL, "3ML tutorial, ported", "exec"), namespace)  # noqa: S102 - our own text
    model, result, again = namespace["model"], namespace["result"], namespace["again"]
    first, summed, components = namespace["first"], namespace["summed"], namespace["components"]
    chosen, one_source, src1_flux = namespace["chosen"], namespace["one_source"], namespace["src1_flux"]
    summary_text, u = namespace["summary_text"], namespace["u"]

    assert "Free parameters (5)" in summary_text and "Linked parameters (1)" in summary_text
    attrs = result.inference_data.posterior.attrs
    assert attrs["region_class"] == "RobustEllipsoidRegion" and attrs["n_live_points"] == 100  # use_mlfriends=False

    # the link holds in every draw and in the model left at the MAP draw
    kT_1 = result.samples("src2.spectrum.main.composite.kT_1")
    np.testing.assert_array_equal(result.samples("src1.spectrum.main.Blackbody.kT"), kT_1)
    assert model.src1.spectrum.main.Blackbody.kT.value == model.src2.spectrum.main.composite.kT_1.value
    # kT recovered: the simulated 500 keV inside the 99 % interval, which is under 100 keV wide
    low, high = np.quantile(kT_1, [0.005, 0.995])
    assert low < 500.0 < high and high - low < 100.0, (low, high)

    # the flux tables: 3ML's rows and columns
    columns = ["flux", "low bound", "hi bound"]
    for table, rows in ((first, ["src1: total", "src2: total"]), (summed, ["total"]),
                        (components, ["src1: total", "src2: Blackbody", "src2: Powerlaw_flux"]),
                        (chosen, ["src1: total", "src2: Blackbody"]), (one_source, ["src2: Blackbody"])):
        assert list(table.index) == rows
        assert list(table.columns[:3]) == columns and {"value", "lower", "upper", "unit"} <= set(table.columns)
        assert np.all((table["lower"] < table["value"]) & (table["value"] < table["upper"]))
    assert src1_flux.unit == u.erg / u.cm**2 / u.s and src1_flux.value == first.loc["src1: total", "value"]
    assert set(chosen["unit"]) == {"erg2 / (s cm2)"} and set(components["unit"]) == {"1 / (s cm2)"}
    # the summed flux by the trapezoid rule is near the sum of the exact ones, not equal to it
    exact_sum = first["value"].sum()
    assert summed.loc["total", "value"] != exact_sum
    assert summed.loc["total", "value"] == pytest.approx(exact_sum, rel=0.01)
    assert summed.attrs["integration"] == "trapz" and first.attrs["integration"] == "quad"

    # evidence: natural log, and 3ML's log(Z) as log10
    assert result.log10_Z == pytest.approx(result.ln_Z / np.log(10.0))

    # the file gives the same results and fluxes
    np.testing.assert_array_equal(again.samples_matrix, result.samples_matrix)
    assert again.model.to_yaml() == result.model.to_yaml()
    reread = again.get_flux(ene_min=1 * u.keV, ene_max=1 * u.MeV, flux_unit="erg/cm2/s")
    np.testing.assert_array_equal(reread[["value", "lower", "upper"]].to_numpy(),
                                  first[["value", "lower", "upper"]].to_numpy())
