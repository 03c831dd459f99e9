"""PhotometryLike: likelihoods against scipy for every kind of datum, unit conversions,
sources and band switches, parameter recovery, simulation, the picture, and bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import astropy.units as u  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import speclite.filters  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

import jointfit  # noqa: E402
from jointfit import Blackbody, DataList, JointLikelihood, Model, PointSource, Powerlaw  # noqa: E402
from jointfit.errors import DataError, FilterError, PluginError, UnknownFilterError  # noqa: E402
from jointfit.filters import get_filter  # noqa: E402
from jointfit_photometry import PhotometricObservation, PhotometryLike, UpperLimit  # noqa: E402

SDSS = ["sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z"]
TWOMASS = ["twomass-J", "twomass-H", "twomass-Ks"]
C_ANGSTROM_S = 299792458.0e10
JY_CGS = 1e-23  # erg / (cm2 s Hz)


def raises_exactly(kind, match):
    """pytest.raises that also insists on the exact class (not a subclass)."""

    class Check:
        def __enter__(self):
            self._context = pytest.raises(kind, match=match)
            self.info = self._context.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self._context.__exit__(*exc)
            assert type(self.info.value) is kind, f"raised {type(self.info.value).__name__}, not {kind.__name__}"
            return suppressed

    return Check()


def truth_shape():
    return Powerlaw(K=1e-3, index=-1.8)


def compiled(*shapes):
    """A model of one point source per shape (``src``, ``src2``, ...), compiled, and its values."""
    sources = [PointSource("src" if i == 0 else f"src{i + 1}", 10.0 + i, 20.0, spectral_shape=shape)
               for i, shape in enumerate(shapes)]
    space = Model(*sources).compile()
    return space, space.unpack(space.initial_theta)


def ratios(shape, names):
    """AB flux / 3631 Jy of ``shape`` in each filter (jointfit.filters, tested on its own)."""
    return np.array([get_filter(n).ab_flux_ratio(shape) for n in names])


def exact_pivot(name):
    """sqrt(∫ T λ dλ / ∫ T / λ dλ) of speclite's curve, linearly interpolated, in closed form."""
    curve = speclite.filters.load_filter(name)
    lam, response = np.asarray(curve.wavelength, float), np.asarray(curve.response, float)
    a, b, ta, tb = lam[:-1], lam[1:], response[:-1], response[1:]
    slope = (tb - ta) / (b - a)
    offset = ta - slope * a
    first = np.sum(offset * (b**2 - a**2) / 2 + slope * (b**3 - a**3) / 3)
    inverse = np.sum(offset * np.log1p((b - a) / a) + slope * (b - a))
    return float(np.sqrt(first / inverse))


def test_magnitudes_give_the_normalised_gaussian_in_magnitude():
    shape = truth_shape()
    space, values = compiled(shape)
    data = {"u": (19.6, 0.08), "g": (19.1, 0.03), "r": (19.0, 0.02), "i": (18.7, 0.05), "z": (18.9, 0.1)}
    plugin = PhotometryLike("sdss", SDSS, data)
    loglike = jax.jit(plugin.setup(space))
    model = -2.5 * np.log10(ratios(shape, SDSS))
    observed, sigma = np.array([v[0] for v in data.values()]), np.array([v[1] for v in data.values()])
    expected = stats.norm(model, sigma).logpdf(observed)
    np.testing.assert_allclose(np.asarray(plugin.pointwise_loglike(values)), expected, rtol=1e-10)
    assert float(loglike(values)) == pytest.approx(expected.sum(), rel=1e-10)
    np.testing.assert_allclose(np.asarray(plugin.model_magnitudes(values)), model, rtol=0, atol=1e-10)


def test_fluxes_in_any_unit_give_the_gaussian_in_flux():
    shape = truth_shape()
    space, values = compiled(shape)
    names = ["sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z", "twomass-J"]
    f_lambda = u.erg / (u.cm**2 * u.s * u.AA)
    data = {
        "g": (70.0 * u.uJy, 4.0 * u.uJy),
        "r": (0.085 * u.mJy, 3e-3 * u.mJy),
        "i": (4.9e-17 * f_lambda, 0.3e-17 * f_lambda),
        "z": (1.1e-27 * u.erg / (u.cm**2 * u.s * u.Hz), 0.1e-27 * u.erg / (u.cm**2 * u.s * u.Hz)),
        "J": (-5.0 * u.uJy, 30.0 * u.uJy),  # forced photometry: a negative flux
    }
    plugin = PhotometryLike("mixed", names, data)
    plugin.setup(space)
    model = ratios(shape, names)
    pivot_i = exact_pivot("sdss2010-i")
    # f_nu = f_lambda λ_p² / c at the pivot wavelength, independently
    i_ratio = 4.9e-17 * pivot_i**2 / C_ANGSTROM_S / (3631 * JY_CGS)
    measured = np.array([70e-6 / 3631, 0.085e-3 / 3631, i_ratio, 1.1e-27 / (3631 * JY_CGS), -5e-6 / 3631])
    errors = np.array([4e-6 / 3631, 3e-6 / 3631, i_ratio * 0.3 / 4.9, 0.1e-27 / (3631 * JY_CGS), 30e-6 / 3631])
    for band, value, error in zip(plugin.bands, measured, errors):
        assert plugin.measurements[band].kind == "flux"
        assert plugin.measurements[band].value == pytest.approx(value, rel=1e-12)
        assert plugin.measurements[band].error == pytest.approx(error, rel=1e-12)
    assert plugin.filters["i"].pivot_wavelength.to_value(u.AA) == pytest.approx(pivot_i, rel=1e-12)
    expected = stats.norm(model, errors).logpdf(measured)
    got = np.asarray(plugin.pointwise_loglike(values))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_abmag_quantities_are_ab_magnitudes():
    shape = truth_shape()
    space, values = compiled(shape)
    plugin = PhotometryLike("units", ["sdss2010-r", "twomass-H", "sdss2010-z"], {
        "r": (75.0 * u.uJy, 5.0 * u.uJy),
        "H": (18.1 * u.ABmag, 0.06 * u.mag),
        "z": UpperLimit(18.5 * u.ABmag, 0.1 * u.mag),
    })
    assert (plugin.measurements["H"].kind, plugin.measurements["H"].value, plugin.measurements["H"].error) == \
        ("magnitude", pytest.approx(18.1, abs=1e-12), pytest.approx(0.06, abs=1e-12))
    plugin.setup(space)
    model = ratios(shape, ["sdss2010-r", "twomass-H", "sdss2010-z"])
    expected = [stats.norm(model[0], 5e-6 / 3631).logpdf(75e-6 / 3631),
                stats.norm(-2.5 * np.log10(model[1]), 0.06).logpdf(18.1),
                stats.norm.logcdf((-2.5 * np.log10(model[2]) - 18.5) / 0.1)]
    np.testing.assert_allclose(np.asarray(plugin.pointwise_loglike(values)), expected, rtol=1e-10)


def test_nanomaggies_are_fluxes():
    shape = truth_shape()
    space, values = compiled(shape)
    plugin = PhotometryLike("legacy", ["sdss2010-r"], {"r": (25.0 * u.nanomaggy, 1.5 * u.nanomaggy)})
    assert plugin.measurements["r"].value == pytest.approx(25e-9, rel=1e-12)  # 1 nanomaggy = 3631 nJy
    assert plugin.measurements["r"].error == pytest.approx(1.5e-9, rel=1e-12)
    plugin.setup(space)
    expected = stats.norm(ratios(shape, ["sdss2010-r"]), 1.5e-9).logpdf(25e-9)
    np.testing.assert_allclose(np.asarray(plugin.pointwise_loglike(values)), expected, rtol=1e-10)


def test_upper_limits_in_flux_and_in_magnitude():
    shape = truth_shape()
    space, values = compiled(shape)
    model = ratios(shape, SDSS)
    flux = PhotometryLike("flux_limits", SDSS[:3], {
        "u": UpperLimit(50.0 * u.uJy, 20.0 * u.uJy),
        "g": UpperLimit(1.0 * u.uJy, 0.5 * u.uJy),  # far below the model: deep in the tail
        "r": (90.0 * u.uJy, 5.0 * u.uJy),
    })
    flux.setup(space)
    limit, sigma = np.array([50e-6, 1e-6]) / 3631, np.array([20e-6, 0.5e-6]) / 3631
    expected = np.append(stats.norm.logcdf((limit - model[:2]) / sigma),  # ln Φ((limit − model) / σ)
                         stats.norm(model[2], 5e-6 / 3631).logpdf(90e-6 / 3631))
    np.testing.assert_allclose(np.asarray(flux.pointwise_loglike(values)), expected, rtol=1e-10)
    # and by a direct integral of the measurement's density below the limit
    from scipy import integrate

    density = stats.norm(model[0], sigma[0]).pdf
    below = integrate.quad(density, model[0] - 40 * sigma[0], limit[0], epsabs=0, epsrel=1e-12)[0]
    assert float(flux.pointwise_loglike(values)[0]) == pytest.approx(np.log(below), rel=1e-9)
    # a magnitude limit: the source is fainter than it, P(measured magnitude > limit)
    magnitudes = PhotometryLike("mag_limits", SDSS, {"u": UpperLimit(19.0, 0.3), "g": UpperLimit(22.5, 0.3),
                                                     "r": UpperLimit(30.0, 0.2), "i": (18.8, 0.05),
                                                     "z": UpperLimit(18.5, 0.1)})
    magnitudes.setup(space)
    model_mag = -2.5 * np.log10(model)
    limits, errors = np.array([19.0, 22.5, 30.0, 18.5]), np.array([0.3, 0.3, 0.2, 0.1])
    censored = stats.norm.logcdf((model_mag[[0, 1, 2, 4]] - limits) / errors)
    expected = np.insert(censored, 3, stats.norm(model_mag[3], 0.05).logpdf(18.8))
    got = np.asarray(magnitudes.pointwise_loglike(values))
    assert got[2] < -100  # a limit 11 mag fainter than the model: the far tail, still exact
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # goodness of fit: chi2 of the detection, -2 ln P(beyond the limit) of each limit
    statistic = -2.0 * np.sum(censored) + ((18.8 - model_mag[3]) / 0.05) ** 2
    assert magnitudes.fit_statistic(values) == ("chi2", pytest.approx(statistic, rel=1e-10))
    np.testing.assert_allclose(np.asarray(magnitudes.observed_data()), [19.0, 22.5, 30.0, 18.8, 18.5])
    label, pivots = magnitudes.data_axis()
    assert label == "pivot wavelength (Å)" and np.all(np.diff(pivots) > 0)


def test_vega_magnitudes_are_shifted_by_their_offsets():
    shape = truth_shape()
    space, values = compiled(shape)
    offsets = {"J": 0.894, "H": 1.374, "Ks": 1.84}
    vega = {"J": (17.5, 0.05), "H": (16.8, 0.06), "Ks": (16.1, 0.08)}
    plugin = PhotometryLike("twomass", TWOMASS, vega, magnitude_system="vega", ab_minus_vega=offsets)
    plugin.setup(space)
    model = -2.5 * np.log10(ratios(shape, TWOMASS))
    expected = [stats.norm(m, vega[b][1]).logpdf(vega[b][0] + offsets[b]) for m, b in zip(model, vega)]
    np.testing.assert_allclose(np.asarray(plugin.pointwise_loglike(values)), expected, rtol=1e-10)
    assert [plugin.measurements[b].value for b in vega] == pytest.approx([18.394, 18.174, 17.94], abs=1e-12)


def test_from_kwargs_assignment_and_band_switches():
    data = {"u": (19.6, 0.08), "g": (19.1, 0.03), "r": (19.0, 0.02), "i": (18.7, 0.05), "z": (18.9, 0.1)}
    first, second = truth_shape(), Blackbody(K=1e-9, kT=1e-3)
    space, values = compiled(first, second)
    spelled = PhotometryLike.from_kwargs("grond", filters=SDSS, **data)
    plain = PhotometryLike("grond", SDSS, data)
    assert spelled.bands == plain.bands == list(data)
    assert {b: f.name for b, f in spelled.filters.items()} == dict(zip(data, SDSS))
    spelled.setup(space)
    plain.setup(space)
    np.testing.assert_array_equal(np.asarray(spelled.pointwise_loglike(values)),
                                  np.asarray(plain.pointwise_loglike(values)))
    # unassigned: every point source; assigned: only that one's spectrum
    np.testing.assert_allclose(np.asarray(plain.flux_ratios(values)), ratios(first, SDSS) + ratios(second, SDSS),
                               rtol=1e-10)
    for source, shape in (("src", first), ("src2", second)):
        only = PhotometryLike("only", SDSS, data)
        only.assign_to_source(source)
        only.setup(space)
        np.testing.assert_allclose(np.asarray(only.flux_ratios(values)), ratios(shape, SDSS), rtol=1e-10)
        model = -2.5 * np.log10(ratios(shape, SDSS))
        expected = stats.norm(model, [v[1] for v in data.values()]).logpdf([v[0] for v in data.values()])
        np.testing.assert_allclose(np.asarray(only.pointwise_loglike(values)), expected, rtol=1e-10)
    # switching r off removes it at the next setup, switching it on restores it
    everything = np.asarray(plain.pointwise_loglike(values))
    assert plain.band_r.on and not plain.band_r.off
    plain.band_r.on = False
    assert not plain.band_r.on and plain.active_bands == ["u", "g", "i", "z"]
    plain.setup(space)
    np.testing.assert_allclose(np.asarray(plain.pointwise_loglike(values)), everything[[0, 1, 3, 4]], rtol=1e-14)
    assert np.asarray(plain.flux_ratios(values)).shape == (4,)
    plain.band_r.on = True
    plain.setup(space)
    np.testing.assert_allclose(np.asarray(plain.pointwise_loglike(values)), everything, rtol=1e-14)


def fit(plugin, shape):
    model = Model(PointSource("src", 10.0, 20.0, spectral_shape=shape))
    analysis = JointLikelihood(model, DataList(plugin))
    results = analysis.fit(quiet=True)
    return analysis, results.point_estimates()


def test_a_band_switched_off_is_left_out_of_the_fit():
    truth = Powerlaw(K=50.0, index=-1.6, piv=2e-3)
    magnitudes = -2.5 * np.log10(ratios(truth, SDSS))
    data = {name.split("-")[1]: (m, 0.03) for name, m in zip(SDSS, magnitudes)}
    data["r"] = (data["r"][0] + 2.0, 0.03)  # an outlier two magnitudes off
    plugin = PhotometryLike("sdss", SDSS, data)
    plugin.band_r.on = False
    analysis, estimates = fit(plugin, Powerlaw(K=20.0, index=-2.0, piv=2e-3))
    # the other four bands are the truth exactly: the fit finds it, and the likelihood
    # is the four bands' Gaussian normalisation only
    assert estimates["value"].to_numpy() == pytest.approx([50.0, -1.6], rel=1e-5)
    expected = 4 * stats.norm(0.0, 0.03).logpdf(0.0)
    assert analysis.results.log_likelihood_per_plugin()["sdss"] == pytest.approx(expected, rel=1e-8)
    plugin.band_r.on = True
    _, with_r = fit(plugin, Powerlaw(K=20.0, index=-2.0, piv=2e-3))
    assert abs(with_r["value"].iloc[1] + 1.6) > 0.05  # the outlier pulls the fit away


def recovery_cases():
    cases = {"Powerlaw": (lambda K, index, **_: Powerlaw(K=K, index=index, piv=2e-3),
                          {"K": 50.0, "index": -1.6}, {"K": 20.0, "index": -2.0})}
    dust = getattr(jointfit, "Cardelli89", None)
    if dust is not None:  # the reddened variant where jointfit has dust laws
        cases["Powerlaw*Cardelli89"] = (
            lambda K, index, E_BV: Powerlaw(K=K, index=index, piv=2e-3) * dust(E_BV=E_BV),
            {"K": 50.0, "index": -1.6, "E_BV": 0.3}, {"K": 20.0, "index": -2.0, "E_BV": 0.1})
    return cases


@pytest.mark.parametrize("case", sorted(recovery_cases()))
def test_fit_recovers_simulated_eight_band_photometry(case):
    build, truth, start = recovery_cases()[case]
    names = SDSS + TWOMASS
    true_shape = build(**truth)
    truth_space = Model(PointSource("src", 10.0, 20.0, spectral_shape=true_shape)).compile()
    noise = np.random.default_rng(20240611).normal(0.0, 0.03, len(names))
    magnitudes = -2.5 * np.log10(ratios(true_shape, names)) + noise
    plugin = PhotometryLike("eight", names, {get_filter(n).band: (m, 0.03) for n, m in zip(names, magnitudes)})
    _, estimates = fit(plugin, build(**start))
    assert list(estimates.index) == list(truth_space.free_names)
    true_values = np.asarray(truth_space.initial_theta)
    sigma = estimates["positive_error"].to_numpy()
    assert np.all(sigma > 0) and np.all(np.isfinite(sigma))
    assert np.all(np.abs(estimates["value"].to_numpy() - true_values) < 3 * sigma), estimates
    index = next(i for i, n in enumerate(truth_space.free_names) if n.split(".")[-1].startswith("index"))
    assert sigma[index] < 0.2  # the eight bands constrain the slope


def test_simulate_scatters_around_the_model_by_the_errors():
    shape = truth_shape()
    space, values = compiled(shape)
    plugin = PhotometryLike("sim", SDSS[:3], {"u": (19.6, 0.08), "g": (19.1, 0.03), "r": (19.0, 0.2)})
    plugin.setup(space)
    n = 4000
    keys = jax.random.split(jax.random.PRNGKey(42), n)
    draws = np.asarray(jax.jit(jax.vmap(lambda key: plugin.simulate(values, key)))(keys))
    assert draws.shape == (n, 3)
    model = -2.5 * np.log10(ratios(shape, SDSS[:3]))
    sigma = np.array([0.08, 0.03, 0.2])
    assert np.all(np.abs(draws.mean(axis=0) - model) < 4 * sigma / np.sqrt(n))
    assert np.all(np.abs(draws.std(axis=0) / sigma - 1) < 4 / np.sqrt(2 * n))
    np.testing.assert_allclose(np.asarray(plugin.simulate(values, keys[0])), draws[0], rtol=1e-14)
    # fluxes scatter in flux
    fluxes = PhotometryLike("simflux", ["sdss2010-g"], {"g": (75.0 * u.uJy, 5.0 * u.uJy)})
    fluxes.setup(space)
    flux_draws = np.asarray(jax.vmap(lambda key: fluxes.simulate(values, key))(keys))[:, 0]
    sigma_flux = 5e-6 / 3631
    assert abs(flux_draws.mean() - ratios(shape, ["sdss2010-g"])[0]) < 4 * sigma_flux / np.sqrt(n)
    assert abs(flux_draws.std() / sigma_flux - 1) < 4 / np.sqrt(2 * n)


def test_plot_model_magnitudes_shows_every_band():
    shape = truth_shape()
    space, values = compiled(shape)
    data = {"u": UpperLimit(19.0, 0.3), "g": (19.1, 0.03), "r": (19.0, 0.02), "i": (18.7, 0.05),
            "z": (18.9, 0.1), "J": (18.4, 0.1)}
    plugin = PhotometryLike("picture", SDSS + ["twomass-J"], data)
    plugin.setup(space)
    figure = plugin.plot_model_magnitudes(values)
    assert isinstance(figure, Figure)
    top, bottom = figure.axes
    detected, limits = top.containers
    assert len(detected.lines[0].get_xdata()) == 5
    assert len(limits.lines[0].get_xdata()) == 1
    pivots = [get_filter(n).pivot_wavelength.to_value(u.AA) for n in SDSS + ["twomass-J"]]
    np.testing.assert_allclose(np.sort(detected.lines[0].get_xdata()), np.sort(pivots[1:]), rtol=1e-12)
    np.testing.assert_allclose(detected.lines[0].get_ydata(), [19.1, 19.0, 18.7, 18.9, 18.4])
    model_line = top.lines[0]
    np.testing.assert_allclose(model_line.get_ydata(), np.asarray(plugin.model_magnitudes(values)), atol=1e-10)
    (residuals,) = bottom.containers
    assert len(residuals.lines[0].get_xdata()) == 5
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_bad_input_is_refused_with_named_errors():
    space, _ = compiled(truth_shape())
    with raises_exactly(DataError, r"band 'r': the error must be > 0"):
        PhotometryLike("bad", ["sdss2010-r"], {"r": (19.0, 0.0)})
    with raises_exactly(DataError, r"band 'r': the error must be > 0"):
        PhotometryLike("bad", ["sdss2010-r"], {"r": (19.0 * u.uJy, -1.0 * u.uJy)})
    with raises_exactly(DataError, r"band 'g': value and error must be finite"):
        PhotometryLike("bad", ["sdss2010-r", "sdss2010-g"], {"r": (19.0, 0.1), "g": (np.nan, 0.1)})
    with raises_exactly(DataError, r"no filter for band\(s\) \['y'\]"):
        PhotometryLike("bad", ["sdss2010-r"], {"r": (19.0, 0.1), "y": (18.0, 0.1)})
    with raises_exactly(DataError, r"filter 'sdss2010-z' has no measurement"):
        PhotometryLike("bad", ["sdss2010-r", "sdss2010-z"], {"r": (19.0, 0.1)})
    with raises_exactly(DataError, r"bands \['r'\] are plain numbers and \['g'\] quantities"):
        PhotometryLike("bad", ["sdss2010-r", "sdss2010-g"], {"r": (19.0, 0.1), "g": (90 * u.uJy, 5 * u.uJy)})
    with raises_exactly(DataError, r"ab_minus_vega lacks \['H'\]"):
        PhotometryLike("bad", ["twomass-J", "twomass-H"], {"J": (17.0, 0.1), "H": (16.0, 0.1)},
                       magnitude_system="vega", ab_minus_vega={"J": 0.894})
    with raises_exactly(DataError, r"band 'r': s is not a flux density"):
        PhotometryLike("bad", ["sdss2010-r"], {"r": (3.0 * u.s, 1.0 * u.s)})
    with raises_exactly(UnknownFilterError, r"unknown filter 'sdss2010-R'; did you mean 'sdss2010-r'"):
        PhotometryLike("bad", ["sdss2010-R"], {"r": (19.0, 0.1)})
    with raises_exactly(FilterError, "is not a filter"):
        PhotometryLike("bad", [3.0], {"r": (19.0, 0.1)})
    with raises_exactly(DataError, r"magnitude_system must be 'AB' or 'vega'"):
        PhotometricObservation({"r": (19.0, 0.1)}, magnitude_system="ST")
    plugin = PhotometryLike("off", ["sdss2010-r", "sdss2010-g"], {"r": (19.0, 0.1), "g": (19.2, 0.1)})
    with raises_exactly(DataError, r"has no band 'y'; its bands are \['r', 'g'\]"):
        plugin.band_y.on = False
    plugin.band_r.on = False
    plugin.band_g.off = True
    with raises_exactly(PluginError, "every band is switched off"):
        plugin.setup(space)
    with raises_exactly(PluginError, "not set up"):
        PhotometryLike("fresh", ["sdss2010-r"], {"r": (19.0, 0.1)}).flux_ratios({})
