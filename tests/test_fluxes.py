"""get_flux: integrals against scipy quad, the tutorial's tables against a numpy
re-computation from the same draws, linked parameters, units, and bad requests."""

from __future__ import annotations

import math

import astropy.constants as const
import astropy.units as u
import numpy as np
import pytest
from scipy import integrate

from jointfit import (Band, BayesianAnalysis, Blackbody, Constant, Cutoff_powerlaw, DataList, Gaussian,
                      JointLikelihood, Line, Model, PhAbs, PointSource, Powerlaw, Powerlaw_flux, TbAbs, XYLike,
                      load_analysis_results)
from jointfit.errors import AnalysisError, UnitError
from jointfit.examples.point_source_fluxes import TRUTH, build_model, simulate_spectra
from jointfit.flux_units import resolve_flux_unit
from jointfit.fluxes import FluxCalculator, flux_rows
from jointfit.results import AnalysisResults

KEV_TO_ERG = (1 * u.keV).to_value(u.erg)

SPECTRA = {
    "Powerlaw": lambda: Powerlaw(K=3.0, index=-1.7, piv=10.0),
    "Powerlaw_flux": lambda: Powerlaw_flux(F=20.0, index=-2.3, a=10.0, b=500.0),
    "Cutoff_powerlaw": lambda: Cutoff_powerlaw(K=2.0, index=-1.1, xc=150.0, piv=100.0),
    "Band": lambda: Band(K=0.02, alpha=-0.8, xp=300.0, beta=-2.4, piv=100.0),
    "Blackbody": lambda: Blackbody(K=1e-4, kT=30.0),
    "Gaussian": lambda: Gaussian(F=5.0, mu=60.0, sigma=4.0),
    "Constant": lambda: Constant(k=0.3),
    "Line": lambda: Line(a=2.0, b=0.01),
    "Powerlaw*TbAbs": lambda: Powerlaw(K=3.0, index=-1.7) * TbAbs(NH=2.0),
    "Powerlaw*PhAbs": lambda: Powerlaw(K=3.0, index=-1.7) * PhAbs(NH=0.5),
    "Blackbody+Powerlaw": lambda: Blackbody(K=1e-4, kT=30.0) + Powerlaw(K=3.0, index=-1.7, piv=10.0),
}


def single_source_calculator(shape):
    space = Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)).compile()
    return space, FluxCalculator(space)


def scipy_band_integral(function, lo, hi, power, breakpoints=()):
    points = [p for p in breakpoints if lo < p < hi]
    value, _ = integrate.quad(lambda e: float(function(e)) * e**power, lo, hi, epsrel=1e-10, epsabs=0.0,
                              limit=5000, points=points or None)
    return value


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize(("band", "unit", "power"), [((1.0, 1000.0), "erg/(cm2 s)", 1),
                                                   ((10.0, 500.0), "1/(cm2 s)", 0),
                                                   ((0.3, 10.0), "erg2/(cm2 s)", 2)])
def test_quad_agrees_with_scipy_quad_for_every_spectral_function(name, band, unit, power):
    shape = SPECTRA[name]()
    space, calculator = single_source_calculator(shape)
    rows = flux_rows(space)
    ours = calculator.evaluate(np.asarray(space.initial_theta)[None], rows, *band, resolve_flux_unit(unit, False))[0, 0]
    expected = scipy_band_integral(shape, *band, power, shape.breakpoints()) * KEV_TO_ERG**power
    assert ours == pytest.approx(expected, rel=1e-6)


def test_trapz_is_3mls_trapezoid_rule():
    shape = Cutoff_powerlaw(K=2.0, index=-1.1, xc=150.0, piv=100.0)
    space, calculator = single_source_calculator(shape)
    theta = np.asarray(space.initial_theta)[None]
    unit = resolve_flux_unit("keV/(cm2 s)", False)
    trapz = calculator.evaluate(theta, flux_rows(space), 1.0, 1000.0, unit, integration="trapz")[0, 0]
    energies = np.geomspace(1.0, 1000.0, 50)  # 3ML: 50 energies, log-spaced beyond two decades
    assert trapz == pytest.approx(integrate.trapezoid(energies * np.asarray(shape(energies)), energies), rel=1e-12)
    narrow = calculator.evaluate(theta, flux_rows(space), 10.0, 500.0, unit, integration="trapz")[0, 0]
    energies = np.linspace(10.0, 500.0, 50)
    assert narrow == pytest.approx(integrate.trapezoid(energies * np.asarray(shape(energies)), energies), rel=1e-12)
    quad = calculator.evaluate(theta, flux_rows(space), 1.0, 1000.0, unit)[0, 0]
    assert abs(trapz / quad - 1) > 1e-3  # the trapezoid's bias that quad does not have
    with pytest.raises(AnalysisError, match="integration must be 'quad' or 'trapz', not 'simpson'"):
        calculator.evaluate(theta, flux_rows(space), 1.0, 1000.0, unit, integration="simpson")


# -- the tutorial's model, with draws where the linked temperature varies widely ------------------
@pytest.fixture(scope="module")
def tutorial():
    """Results holding 300 draws around the simulated values: kT_1 spread by 20 %, so a
    flux of src1 that ignored the link to src2's kT_1 would have a far narrower interval."""
    density = BayesianAnalysis(build_model(), DataList(*simulate_spectra())).density
    rng = np.random.default_rng(11)
    truth = np.array([TRUTH[name] for name in density.space.free_names if name in TRUTH])
    draws = truth * np.exp(0.2 * rng.normal(size=(300, truth.size)))
    draws[:, -1] = truth[-1] + 0.1 * rng.normal(size=300)  # the photon index (negative)
    names = list(density.space.free_names)
    theta = np.column_stack([draws[:, list(TRUTH).index(n)] if n in TRUTH else np.ones(300) for n in names])
    results = AnalysisResults.from_samples(density, theta[None], analysis="bayesian", sampler="test draws")
    return results, {n: theta[:, i] for i, n in enumerate(names)}


def blackbody(e, k, kt):
    return k * e**2 / np.expm1(e / kt)


def reference_energy_flux(draws, lo, hi):
    """Per draw, numpy/scipy: src1 and src2 energy fluxes (erg/(cm2 s)) with kT from src2."""
    kt = draws["src2.spectrum.main.composite.kT_1"]
    out = {"src1": [], "src2": []}
    for i in range(kt.size):
        k1, k2 = draws["src1.spectrum.main.Blackbody.K"][i], draws["src2.spectrum.main.composite.K_1"][i]
        f, index = draws["src2.spectrum.main.composite.F_2"][i], draws["src2.spectrum.main.composite.index_2"][i]
        norm = f * (index + 1) / (500.0 ** (index + 1) - 10.0 ** (index + 1))
        out["src1"].append(integrate.quad(lambda e: e * blackbody(e, k1, kt[i]), lo, hi, epsrel=1e-12)[0])
        out["src2"].append(integrate.quad(lambda e: e * (blackbody(e, k2, kt[i]) + norm * e**index), lo, hi,
                                          epsrel=1e-12, limit=200)[0])
    return {k: np.asarray(v) * KEV_TO_ERG for k, v in out.items()}


def test_tutorial_tables_match_a_numpy_recomputation_of_the_same_draws(tutorial):
    results, draws = tutorial
    table = results.get_flux(ene_min=1 * u.keV, ene_max=1 * u.MeV, flux_unit="erg/cm2/s")
    assert list(table.index) == ["src1: total", "src2: total"]
    reference = reference_energy_flux(draws, 1.0, 1000.0)
    for source in ("src1", "src2"):
        row = table.loc[f"{source}: total"]
        expected = np.quantile(reference[source], [0.16, 0.5, 0.84])
        assert row["flux"].unit == u.erg / (u.cm**2 * u.s)
        np.testing.assert_allclose([row["lower"], row["value"], row["upper"]], expected, rtol=1e-6)
        assert row["flux"].value == row["value"] and row["low bound"].value == row["lower"]
    # the link carries kT's spread into src1: its interval is as wide as the numpy one
    width = table.loc["src1: total", "upper"] / table.loc["src1: total", "lower"]
    assert width == pytest.approx(np.quantile(reference["src1"], 0.84) / np.quantile(reference["src1"], 0.16),
                                  rel=1e-6)

    by_component = results.get_flux(10.0, 500.0, flux_unit="1/(cm2 s)", sum_sources=True, use_components=True)
    assert list(by_component.index) == ["Blackbody", "Powerlaw_flux", "total"]  # 3ML's labels
    total = results.get_flux(ene_min=1 * u.keV, ene_max=1 * u.MeV, flux_unit="erg/cm2/s", sum_sources=True)
    assert list(total.index) == ["total"]
    np.testing.assert_allclose(total.loc["total", "value"], np.median(reference["src1"] + reference["src2"]),
                               rtol=1e-6)


def test_component_fluxes_and_the_powerlaw_flux_identity(tutorial):
    results, draws = tutorial
    table = results.get_flux(ene_min=10 * u.keV, ene_max=0.5 * u.MeV, use_components=True, flux_unit="1/(cm2 s)")
    assert list(table.index) == ["src1: total", "src2: Blackbody", "src2: Powerlaw_flux"]
    # F is Powerlaw_flux's photon flux between a = 10 and b = 500 keV: exact, draw by draw
    np.testing.assert_allclose(table.loc["src2: Powerlaw_flux", ["lower", "value", "upper"]].astype(float),
                               np.quantile(draws["src2.spectrum.main.composite.F_2"], [0.16, 0.5, 0.84]), rtol=1e-9)
    only = results.get_flux(ene_min=10 * u.keV, ene_max=0.5 * u.MeV, components=["Blackbody"],
                            flux_unit="erg2/(cm2 s)")
    assert list(only.index) == ["src1: total", "src2: Blackbody"]
    assert only["flux"].iloc[0].unit == u.erg**2 / (u.cm**2 * u.s)
    kt, k2 = draws["src2.spectrum.main.composite.kT_1"], draws["src2.spectrum.main.composite.K_1"]
    reference = [integrate.quad(lambda e: e**2 * blackbody(e, k2[i], kt[i]), 10.0, 500.0, epsrel=1e-12)[0]
                 for i in range(kt.size)]
    expected = np.quantile(reference, [0.16, 0.5, 0.84]) * KEV_TO_ERG**2
    np.testing.assert_allclose(only.loc["src2: Blackbody", ["lower", "value", "upper"]].astype(float), expected,
                               rtol=1e-6)


def test_units_energies_and_densities_convert_as_astropy_does(tutorial):
    results, draws = tutorial
    cgs = results.get_flux(1.0, 1000.0, flux_unit="erg/(cm2 s)")
    si = results.get_flux(1 * u.keV, 1 * u.MeV, flux_unit="W/m2")
    np.testing.assert_allclose(si["value"], cgs["value"] * (u.erg / u.cm**2 / u.s).to(u.W / u.m**2), rtol=1e-12)
    mev = results.get_flux(0.001, 1.0, energy_unit="MeV")
    np.testing.assert_allclose(mev["value"], cgs["value"], rtol=1e-12)
    # a band given as wavelengths (either order) or frequencies is the same band
    waves = results.get_flux((1 * u.keV).to(u.AA, u.spectral()), (1 * u.MeV).to(u.AA, u.spectral()))
    hertz = results.get_flux((1 * u.keV).to(u.Hz, u.spectral()), (1 * u.MeV).to(u.Hz, u.spectral()))
    np.testing.assert_allclose(waves["value"], cgs["value"], rtol=1e-9)
    np.testing.assert_allclose(hertz["value"], cgs["value"], rtol=1e-9)

    # densities at 100 keV: N(E), E N(E), nuFnu = E^2 N(E), and F_nu in Jy through astropy
    kt, k1 = draws["src2.spectrum.main.composite.kT_1"], draws["src1.spectrum.main.Blackbody.K"]
    n_e = blackbody(100.0, k1, kt)  # photons/(cm2 s keV)
    photon = results.get_flux(100.0, 100.0, sources=["src1"], flux_unit="1/(cm2 s keV)")
    assert photon.loc["src1: total", "value"] == pytest.approx(np.median(n_e), rel=1e-12)
    energy = results.get_flux(at_energy=100 * u.keV, sources=["src1"], flux_unit="erg/(cm2 s keV)")
    assert energy.loc["src1: total", "value"] == pytest.approx(np.median(100.0 * n_e) * KEV_TO_ERG, rel=1e-12)
    nufnu = results.get_flux(at_energy=100.0, sources=["src1"], flux_unit="erg/(cm2 s)")
    assert nufnu.loc["src1: total", "value"] == pytest.approx(np.median(1e4 * n_e) * KEV_TO_ERG, rel=1e-12)
    jansky = results.get_flux(at_energy=100.0, sources=["src1"], flux_unit="Jy")
    photnu = np.median(n_e) * (u.ph / (u.cm**2 * u.s * u.keV)) * const.h.to(u.keV / u.Hz)
    expected = photnu.to(u.Jy, u.spectral_density(100 * u.keV))
    assert jansky.loc["src1: total", "value"] == pytest.approx(expected.value, rel=1e-10)
    flam = results.get_flux(at_energy=100.0, sources=["src1"], flux_unit="erg/(cm2 s Angstrom)")
    expected = expected.to(u.erg / (u.cm**2 * u.s * u.AA), u.spectral_density(100 * u.keV))
    assert flam.loc["src1: total", "value"] == pytest.approx(expected.value, rel=1e-10)


def test_bad_requests_raise_named_errors(tutorial):
    results, _ = tutorial
    with pytest.raises(UnitError, match="flux_unit 'keV' is not a flux"):
        results.get_flux(1.0, 10.0, flux_unit="keV")
    with pytest.raises(UnitError, match="is a flux density: give ene_min == ene_max or at_energy="):
        results.get_flux(1.0, 10.0, flux_unit="Jy")
    with pytest.raises(UnitError, match="is a flux density"):
        results.get_flux(1.0, 10.0, flux_unit="erg/(cm2 s keV)")
    with pytest.raises(UnitError, match="is a band flux"):
        results.get_flux(at_energy=10.0, flux_unit="1/(cm2 s)")
    with pytest.raises(UnitError, match="not a unit astropy can read"):
        results.get_flux(1.0, 10.0, flux_unit="ergs per fortnight")
    with pytest.raises(UnitError, match=r"ene_min=<Quantity 3. s> .* is not an energy"):
        results.get_flux(3 * u.s, 10.0)
    with pytest.raises(UnitError, match="ene_max=0.0 must be a positive, finite energy; it is 0.0 keV"):
        results.get_flux(1.0, 0.0)
    with pytest.raises(AnalysisError, match=r"unknown source\(s\) \['src3'\]"):
        results.get_flux(1.0, 10.0, sources=["src3"])
    with pytest.raises(AnalysisError, match=r"no component \['Band'\]"):
        results.get_flux(1.0, 10.0, components=["Band"])
    with pytest.raises(AnalysisError, match="confidence_level must lie in"):
        results.get_flux(1.0, 10.0, confidence_level=1.5)
    with pytest.raises(AnalysisError, match="needs ene_min and ene_max"):
        results.get_flux(1.0)


def test_hdi_intervals_and_reloaded_results_give_the_same_table(tutorial, tmp_path):
    results, _ = tutorial
    equal = results.get_flux(1.0, 1000.0, confidence_level=0.9)
    hdi = results.get_flux(1.0, 1000.0, confidence_level=0.9, interval="hdi")
    assert np.all(hdi["upper"] - hdi["lower"] <= equal["upper"] - equal["lower"] + 1e-30)
    reloaded = load_analysis_results(results.write(tmp_path / "fit.nc"))
    again = reloaded.get_flux(1.0, 1000.0, confidence_level=0.9)
    np.testing.assert_array_equal(again[["value", "lower", "upper"]], equal[["value", "lower", "upper"]])


def test_mle_fluxes_are_centred_on_the_best_fit():
    x = np.linspace(1.0, 20.0, 30)
    data = DataList(XYLike.from_function("xy", Powerlaw(K=50.0, index=-1.5), x, yerr=np.full(x.size, 0.5), seed=2))
    jl = JointLikelihood(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=Powerlaw(K=30.0, index=-1.0))),
                         data)
    results = jl.fit(quiet=True)
    table = results.get_flux(2.0, 10.0, flux_unit="1/(cm2 s)")
    k, index = (jl.results.point_estimates()["value"].to_numpy())
    analytic = k * (10.0 ** (index + 1) - 2.0 ** (index + 1)) / (index + 1)
    assert table.loc["src: total", "value"] == pytest.approx(analytic, rel=1e-9)
    assert table.loc["src: total", "lower"] < analytic < table.loc["src: total", "upper"]
    assert math.isclose(table.attrs["confidence_level"], 0.68)


def test_rows_are_chosen_and_labelled_as_3ml_does():
    model = Model(PointSource("src1", ra=0.0, dec=0.0, spectral_shape=Blackbody()),
                  PointSource("src2", ra=1.0, dec=0.0, spectral_shape=Blackbody() + Powerlaw()),
                  PointSource("src3", ra=2.0, dec=0.0, spectral_shape=Powerlaw() + Gaussian(F=1.0, mu=50.0, sigma=3.0)))
    space = model.compile()

    def labels(**options):
        return [row.label for row in flux_rows(space, **options)]

    assert labels() == ["src1: total", "src2: total", "src3: total"]
    assert labels(use_components=True) == ["src1: total", "src2: Blackbody", "src2: Powerlaw", "src3: Powerlaw",
                                           "src3: Gaussian"]
    # a source with none of the chosen components gives its total; "total" adds every total
    assert labels(components=["Blackbody"]) == ["src1: total", "src2: Blackbody", "src3: total"]
    assert labels(components=["Blackbody", "total"]) == ["src1: total", "src2: Blackbody", "src2: total",
                                                         "src3: total"]
    assert labels(sum_sources=True) == ["total"]
    assert labels(sum_sources=True, use_components=True) == ["Blackbody", "Powerlaw", "Gaussian", "total"]
    # the summed "Powerlaw" row is src2's and src3's power laws, draw by draw
    calculator, unit = FluxCalculator(space), resolve_flux_unit("1/(cm2 s)", False)
    theta = np.asarray(space.initial_theta)[None]
    each = calculator.evaluate(theta, flux_rows(space, use_components=True), 10.0, 100.0, unit)[0]
    summed = calculator.evaluate(theta, flux_rows(space, use_components=True, sum_sources=True), 10.0, 100.0, unit)[0]
    np.testing.assert_allclose(summed, [each[1], each[2] + each[3], each[4], each[0]], rtol=1e-12)
    with pytest.raises(AnalysisError, match="no source selected"):
        flux_rows(space, sources=[])


def test_fluences_and_columns_are_not_flux_densities():
    for unit in ("erg/cm2", "1/cm2"):
        with pytest.raises(UnitError, match=f"flux_unit '{unit}' is not a flux"):
            resolve_flux_unit(unit, True)
    assert resolve_flux_unit("erg/(cm2 s Hz)", True).density == "frequency"
    assert resolve_flux_unit(u.erg / (u.cm**2 * u.s * u.Hz), True).density == "frequency"


def test_extended_sources_join_only_when_asked_as_in_3ml():
    from jointfit import ExtendedSource, Gaussian_on_sphere, Uniform_prior

    spectrum = Powerlaw(K=2.0, index=-2.0)
    spectrum.K.prior = Uniform_prior(lower_bound=0.0, upper_bound=10.0)
    spectrum.index.free = False
    shape = Gaussian_on_sphere()
    for parameter in shape.parameters.values():
        parameter.free = False
    model = Model(ExtendedSource("cloud", spatial_shape=shape, spectral_shape=spectrum))
    data = XYLike("xy", [1.0, 2.0, 4.0], [2.0, 0.5, 0.125], yerr=[0.1, 0.1, 0.1])
    data.assign_to_source("cloud")
    density = BayesianAnalysis(model, DataList(data)).density
    results = AnalysisResults.from_samples(density, np.full((1, 3, 1), 2.0), analysis="bayesian", sampler="test")
    with pytest.raises(AnalysisError, match="the model has no point source; include_extended=True"):
        results.get_flux(1.0, 10.0, flux_unit="1/(cm2 s)")
    table = results.get_flux(1.0, 10.0, flux_unit="1/(cm2 s)", include_extended=True)
    assert list(table.index) == ["cloud: total"]
    assert table.loc["cloud: total", "value"] == pytest.approx(2.0 * (1.0 - 0.1), rel=1e-9)  # K (1/1 - 1/10)


def absorbed_disk_and_power_law():
    from jointfit import Cardelli89

    return (Blackbody(K=2e-4, kT=0.4) + Powerlaw(K=5e-2, index=-1.8)) * TbAbs(NH=1.5) * Cardelli89(E_BV=0.2)


def test_absorption_is_never_a_flux_row_and_components_carry_it():
    """Components are the additive terms with the factors that multiply them (as XSPEC
    plots them): they sum to the total; TbAbs and the dust law are no rows."""
    space, calculator = single_source_calculator(absorbed_disk_and_power_law())
    rows = flux_rows(space, use_components=True)
    assert [row.label for row in rows] == ["src: Blackbody", "src: Powerlaw"]
    with pytest.raises(AnalysisError, match="no component"):
        flux_rows(space, components=["TbAbs"])
    unit, theta = resolve_flux_unit("erg/(cm2 s)", False), np.asarray(space.initial_theta)[None]
    parts = calculator.evaluate(theta, rows, 0.3, 10.0, unit)[0]
    total = calculator.evaluate(theta, flux_rows(space), 0.3, 10.0, unit)[0, 0]
    assert parts.sum() == pytest.approx(total, rel=1e-10)
    absorbed_power_law = Powerlaw(K=5e-2, index=-1.8) * TbAbs(NH=1.5)
    breaks = TbAbs(NH=1.5).breakpoints()
    expected = scipy_band_integral(absorbed_power_law, 0.3, 10.0, 1, breaks) * KEV_TO_ERG
    assert parts[1] == pytest.approx(expected, rel=1e-8)


def test_unabsorbed_fluxes_set_absorption_and_extinction_to_one_on_every_draw():
    """absorbed=False (XSPEC's cflux): the intrinsic spectrum's flux, against scipy
    quadrature of the bare functions, per component and in total, for each draw."""
    shape = absorbed_disk_and_power_law()
    space, calculator = single_source_calculator(shape)
    unit = resolve_flux_unit("erg/(cm2 s)", False)
    rows = flux_rows(space, use_components=True, components=["Blackbody", "Powerlaw", "total"], absorbed=False)
    assert [row.label for row in rows] == ["src: Blackbody (unabsorbed)", "src: Powerlaw (unabsorbed)",
                                           "src: total (unabsorbed)"]
    rng = np.random.default_rng(4)
    thetas = np.asarray(space.initial_theta)[None] * rng.uniform(0.8, 1.25, size=(3, len(space.free_names)))
    fluxes = calculator.evaluate(thetas, rows, 0.5, 8.0, unit)
    for theta, (bb, pl, total) in zip(thetas, fluxes):
        values = dict(zip(space.free_names, theta))
        k_bb, kt = values["src.spectrum.main.composite.K_1"], values["src.spectrum.main.composite.kT_1"]
        k_pl, index = values["src.spectrum.main.composite.K_2"], values["src.spectrum.main.composite.index_2"]
        assert bb == pytest.approx(scipy_band_integral(Blackbody(K=k_bb, kT=kt), 0.5, 8.0, 1) * KEV_TO_ERG, rel=1e-8)
        analytic = k_pl * (8.0 ** (index + 2) - 0.5 ** (index + 2)) / (index + 2) * KEV_TO_ERG
        assert pl == pytest.approx(analytic, rel=1e-9)
        assert total == pytest.approx(bb + pl, rel=1e-10)
    absorbed = calculator.evaluate(thetas, flux_rows(space), 0.5, 8.0, unit)[:, 0]
    assert np.all(absorbed < 0.9 * fluxes[:, 2])  # NH = 1.5e22 takes more than a tenth below 8 keV


@pytest.mark.parametrize("order", ["XSPEC's, absorption first", "astromodels', absorption last"])
def test_absorption_is_a_factor_on_either_side_of_a_product(order):
    """TbAbs * Powerlaw (as XSPEC writes it) and Powerlaw * TbAbs: the power law is the
    component with a flux density unit, TbAbs the dimensionless factor that
    absorbed=False removes."""
    absorber, power_law = TbAbs(NH=1.5), Powerlaw(K=5e-2, index=-1.8)
    shape = absorber * power_law if order.startswith("XSPEC") else power_law * absorber
    assert power_law.K.unit == u.Unit("1 / (keV s cm2)") and absorber.NH.unit == u.Unit("1e22 / cm2")
    assert list(shape.components) == ["Powerlaw"]
    space, calculator = single_source_calculator(shape)
    unit, theta = resolve_flux_unit("erg/(cm2 s)", False), np.asarray(space.initial_theta)[None]
    absorbed = calculator.evaluate(theta, flux_rows(space), 0.5, 8.0, unit)[0, 0]
    intrinsic = calculator.evaluate(theta, flux_rows(space, absorbed=False), 0.5, 8.0, unit)[0, 0]
    analytic = 5e-2 * (8.0 ** 0.2 - 0.5 ** 0.2) / 0.2 * KEV_TO_ERG
    assert intrinsic == pytest.approx(analytic, rel=1e-9) and absorbed < 0.9 * intrinsic


def test_get_flux_and_plot_spectra_show_the_unabsorbed_total(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from jointfit import plot_spectra

    x = np.geomspace(0.5, 8.0, 25)
    truth = Powerlaw(K=5e-2, index=-1.8) * TbAbs(NH=1.0)
    data = DataList(XYLike.from_function("xy", truth, x, yerr=0.05 * np.asarray(truth(x)), seed=3))
    fit = JointLikelihood(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=Powerlaw(K=3e-2, index=-2.0)
                                            * TbAbs(NH=0.5))), data)
    results = fit.fit(quiet=True)
    table = results.get_flux(2.0, 10.0, absorbed=False)
    assert list(table.index) == ["src: total (unabsorbed)"] and table.attrs["absorbed"] is False
    k, index = (fit.results.point_estimates().loc[["src.spectrum.main.composite.K_1",
                                                   "src.spectrum.main.composite.index_1"], "value"])
    analytic = k * (10.0 ** (index + 2) - 2.0 ** (index + 2)) / (index + 2) * KEV_TO_ERG
    assert table.loc["src: total (unabsorbed)", "value"] == pytest.approx(analytic, rel=1e-9)
    figure = plot_spectra(results, ene_min=0.3, ene_max=10.0, use_components=True, n_draws=20)
    lines = {line.get_label(): line.get_linestyle() for line in figure.axes[0].get_lines()}
    assert lines == {"src: Powerlaw": "-", "src: total": "-", "src: total (unabsorbed)": "--"}
