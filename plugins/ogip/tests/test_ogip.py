"""OGIPLike on files it writes and on hand-made layouts: reading, errors, fold, statistics."""

from __future__ import annotations

import dataclasses
import gzip
import re
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits
from scipy import integrate, optimize, stats

from jointfit import statistics as stats_module
from jointfit import Log_normal, Model, PointSource, Powerlaw, Uniform_prior
from jointfit.errors import DataError, PluginError
from jointfit_ogip import (DispersionSpectrumLike, EffectiveArea, OGIPLike, Response,
                           group_min_counts, read_arf, read_pha, read_pha_rows, read_rmf)
from jointfit_ogip.writing import ebounds_hdu, matrix_hdu, write_arf, write_response
from mission_layouts import write_3ml_pha2

N_ENERGY, N_CHANNEL = 60, 24


def toy_response(first_channel: int = 1) -> Response:
    """A small response: Gaussian redistribution (10 % resolution) of 1-100 keV into 24 channels."""
    edges = np.geomspace(1.0, 100.0, N_ENERGY + 1)
    channel_edges = np.geomspace(0.8, 120.0, N_CHANNEL + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    cdf = stats.norm.cdf(np.log(channel_edges)[None, :], np.log(centres)[:, None], 0.1)
    matrix = np.diff(cdf, axis=1) * 50.0  # 50 cm2 folded in
    matrix[matrix < 1e-6] = 0.0           # sparse rows: several groups where it matters
    return Response(edges[:-1], edges[1:], np.arange(first_channel, first_channel + N_CHANNEL),
                    channel_edges[:-1], channel_edges[1:], matrix, "toy", has_area=True)


def powerlaw_model(**values) -> Model:
    shape = Powerlaw(**values)
    shape.K.prior = Log_normal(mu=0.0, sigma=3.0)
    shape.index.prior = Uniform_prior(lower_bound=-4, upper_bound=0)
    return Model(PointSource("src", ra=10.0, dec=-5.0, spectral_shape=shape))


def reference_counts(response: Response, function, exposure: float) -> np.ndarray:
    """Independent fold: scipy quad over each energy bin, then a plain matrix product."""
    integrals = np.array([integrate.quad(function, lo, hi, epsrel=1e-12)[0]
                          for lo, hi in zip(response.energy_lo, response.energy_hi)])
    return integrals @ response.matrix * exposure


@pytest.fixture()
def simulated(tmp_path) -> tuple[OGIPLike, dict[str, Path]]:
    plugin = OGIPLike.from_function("sim", Powerlaw(K=30.0, index=-1.7), toy_response(),
                                    background_function=Powerlaw(K=5.0, index=-1.0), exposure=100.0, seed=3)
    return plugin, plugin.write_pha(tmp_path / "sim")


def test_fold_matches_an_independent_quadrature():
    truth = Powerlaw(K=30.0, index=-1.7)
    plugin = OGIPLike.from_function("sim", truth, toy_response(), exposure=100.0, seed=1)
    space = powerlaw_model(K=30.0, index=-1.7).compile(extra_parameters=plugin.nuisance_parameters)
    plugin.setup(space)
    expected = plugin.expected_counts(space.unpack(space.initial_theta))
    reference = reference_counts(plugin.response, lambda e: 30.0 * e**-1.7, 100.0)
    np.testing.assert_allclose(expected, reference, rtol=1e-9)


def test_write_and_read_back_exactly(simulated):
    plugin, paths = simulated
    again = OGIPLike("again", paths["observation"])  # BACKFILE and RESPFILE from the header
    np.testing.assert_array_equal(again.observation.counts, plugin.observation.counts)
    np.testing.assert_array_equal(again.background.counts, plugin.background.counts)
    np.testing.assert_array_equal(again.response.matrix, plugin.response.matrix)
    np.testing.assert_array_equal(again.response.energy_lo, plugin.response.energy_lo)
    np.testing.assert_array_equal(again.response.channel_hi, plugin.response.channel_hi)
    assert again.statistic == plugin.statistic == "wstat"
    with pytest.raises(DataError, match="exists; pass overwrite=True"):
        plugin.write_pha(paths["observation"].with_suffix(""))


def test_same_seed_same_spectrum_and_statistic_choice():
    response = toy_response()
    first = OGIPLike.from_function("a", Powerlaw(K=30.0), response, exposure=10.0, seed=7)
    second = OGIPLike.from_function("b", Powerlaw(K=30.0), response, exposure=10.0, seed=7)
    np.testing.assert_array_equal(first.observation.counts, second.observation.counts)
    assert first.statistic == "cstat"
    assert DispersionSpectrumLike.from_function("c", Powerlaw(K=30.0), response, seed=7).statistic == "cstat"


def test_header_files_resolve_and_explicit_none_wins(simulated):
    plugin, paths = simulated
    assert OGIPLike("nobkg", paths["observation"], background=None, statistic="cstat").background is None
    paths["background"].unlink()
    folder = str(paths["observation"].parent.resolve())
    with pytest.raises(DataError, match=r"BACKFILE names .*sim_bak.pha', which does not exist in "
                                        rf"'{re.escape(folder)}'.*; pass background=<path>.*background=None"):
        OGIPLike("missing", paths["observation"])
    paths["response"].rename(paths["response"].with_name("elsewhere.rsp"))
    # a typo in a file name: the folder's closest names are offered
    typo = paths["observation"].with_name(paths["observation"].name.replace("sim", "smi"))
    with pytest.raises(DataError, match=rf"which does not exist in '{re.escape(folder)}'; did you mean "
                                        rf"'{paths['observation'].name}'"):
        OGIPLike("typo", typo)
    with pytest.raises(DataError, match="RESPFILE names"):
        OGIPLike("missing", paths["observation"], background=None)
    explicit = OGIPLike("explicit", paths["observation"], background=None,
                        response=paths["response"].with_name("elsewhere.rsp"))
    assert explicit.response.n_channels == N_CHANNEL


def test_gzipped_files_and_gz_twins(simulated):
    _, paths = simulated
    for path in paths.values():
        with open(path, "rb") as source, gzip.open(path.with_name(path.name + ".gz"), "wb") as target:
            shutil.copyfileobj(source, target)
        path.unlink()
    plugin = OGIPLike("gz", paths["observation"])  # the names in the header resolve to .gz twins
    assert plugin.observation.origin.endswith(".pha.gz[SPECTRUM]")


def _pha2(path: Path, counts: np.ndarray, rate: bool = False, exposure=100.0) -> None:
    n_rows, n = counts.shape
    column = "RATE" if rate else "COUNTS"
    data = counts / exposure if rate else counts
    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="SPEC_NUM", format="I", array=np.arange(1, n_rows + 1)),
        fits.Column(name="CHANNEL", format=f"{n}J", array=np.tile(np.arange(1, n + 1), (n_rows, 1))),
        fits.Column(name=column, format=f"{n}D", array=data),
        fits.Column(name="EXPOSURE", format="D", array=np.full(n_rows, exposure)),
        fits.Column(name="BACKSCAL", format="D", array=np.linspace(1.0, 2.0, n_rows)),
    ], name="SPECTRUM")
    hdu.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "SPECTRUM", "HDUCLAS4": "TYPE:II",
                       "POISSERR": True, "RESPFILE": "toy.rsp", "BACKFILE": "none", "ANCRFILE": "none"})
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)


def test_pha_type_ii_rows_selectors_and_rate(tmp_path):
    counts = np.random.default_rng(0).poisson(5.0, (3, N_CHANNEL)).astype(float)
    write_response(tmp_path / "toy.rsp", toy_response())
    _pha2(tmp_path / "rows.pha", counts)
    _pha2(tmp_path / "rate.pha", counts, rate=True)
    rows = read_pha_rows(tmp_path / "rows.pha")
    assert len(rows) == 3 and [r.backscal[0] for r in rows] == [1.0, 1.5, 2.0]
    np.testing.assert_array_equal(read_pha(f"{tmp_path / 'rows.pha'}{{2}}").counts, counts[1])
    np.testing.assert_array_equal(read_pha(tmp_path / "rate.pha", spectrum_number=3).counts, counts[2])
    plugin = OGIPLike("row2", f"{tmp_path / 'rows.pha'}{{2}}")  # RESPFILE of the row's header
    np.testing.assert_array_equal(plugin.observation.counts, counts[1])
    with pytest.raises(DataError, match=r"choose one with spectrum_number=<1..3>"):
        read_pha(tmp_path / "rows.pha")
    with pytest.raises(DataError, match=r"spectrum 4 requested, the file holds 3"):
        read_pha(tmp_path / "rows.pha", spectrum_number=4)


def test_pha_type_ii_of_one_row_as_3ml_writes_it_reads_by_plain_path(tmp_path):
    path, counts, background = write_3ml_pha2(tmp_path, "grb", rows=1)
    plain, numbered = read_pha(path), read_pha(path, spectrum_number=1)
    for field in ("channels", "counts", "sys_err", "quality", "grouping", "backscal", "areascal"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(numbered, field), err_msg=field)
    for field in ("origin", "exposure", "poisson", "backfile", "respfile", "ancrfile", "row"):
        assert getattr(plain, field) == getattr(numbered, field), field
    assert (plain.row, plain.backfile, plain.respfile, plain.ancrfile) == (0, "grb_bak.pha{1}", "grb.rsp{1}", None)
    np.testing.assert_array_equal(plain.counts, counts[0])  # RATE (float32) x EXPOSURE, rounded
    plugin = OGIPLike("grb", path)  # BACKFILE and RESPFILE columns, with {1}
    np.testing.assert_array_equal(plugin.observation.counts, counts[0])
    np.testing.assert_array_equal(plugin.background.counts, background[0])
    assert plugin.response.has_area and plugin.statistic == "wstat"
    np.testing.assert_array_equal(plugin.response.matrix, OGIPLike("grb1", path, spectrum_number=1).response.matrix)
    np.testing.assert_array_equal(plugin.response.matrix, read_rmf(tmp_path / "grb.rsp").matrix)

    two, _, _ = write_3ml_pha2(tmp_path, "two", rows=2)
    with pytest.raises(DataError, match=r"two\.pha is a PHA type II file with 2 spectra: choose one with "
                                        r"spectrum_number=<1\.\.2>"):
        read_pha(two)
    with pytest.raises(DataError, match=r"PHA type II file with 2 spectra"):
        OGIPLike("two", two)
    assert OGIPLike("two_2", two, spectrum_number=2).response.matrix.max() == pytest.approx(
        2 * plugin.response.matrix.max(), rel=1e-6)  # row 2 names the second matrix, {2}


def test_background_in_a_second_hdu_of_the_same_file(tmp_path, simulated):
    plugin, paths = simulated
    with fits.open(paths["observation"]) as source, fits.open(paths["background"]) as background:
        header = source["SPECTRUM"].header.copy()
        header["BACKFILE"] = "none"
        both = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(source["SPECTRUM"].data, header, name="SPECTRUM"),
                             fits.BinTableHDU(background["SPECTRUM"].data, background["SPECTRUM"].header,
                                              name="BACKGROUND")])
        both.writeto(tmp_path / "both.pha")
    merged = OGIPLike("merged", tmp_path / "both.pha", response=paths["response"])
    np.testing.assert_array_equal(merged.background.counts, plugin.background.counts)
    assert merged.statistic == "wstat"


def test_rmf_layouts_multiple_matrices_zero_based_channels_and_arf(tmp_path):
    response = toy_response(first_channel=0)
    write_response(tmp_path / "zero.rmf", response)
    again = read_rmf(tmp_path / "zero.rmf")
    np.testing.assert_array_equal(again.matrix, response.matrix)
    assert again.channels[0] == 0
    with fits.open(tmp_path / "zero.rmf") as hdus:
        assert hdus["SPECRESP MATRIX"].header["TLMIN4"] == 0  # the toy response holds its area: an RSP
        assert max(int(n) for n in hdus["SPECRESP MATRIX"].data["N_GRP"]) >= 1
    other = Response(response.energy_lo, response.energy_hi, response.channels, response.channel_lo,
                     response.channel_hi, np.full_like(response.matrix, 0.5), "other", has_area=True)
    fits.HDUList([fits.PrimaryHDU(), matrix_hdu(response), matrix_hdu(other), ebounds_hdu(response)]).writeto(
        tmp_path / "two.rmf")
    assert read_rmf(f"{tmp_path / 'two.rmf'}{{2}}").matrix[0].max() == 0.5
    with pytest.raises(DataError, match="matrix 3 requested, the file holds 2"):
        read_rmf(f"{tmp_path / 'two.rmf'}{{3}}")
    area = EffectiveArea(response.energy_lo, response.energy_hi, np.full(N_ENERGY, 2.0), "flat.arf")
    redistribution = dataclasses.replace(again, has_area=False)  # as if an RMF: an RSP warns (mission tests)
    np.testing.assert_allclose(redistribution.with_arf(area).matrix, 2.0 * response.matrix)
    shifted = EffectiveArea(response.energy_lo * 1.01, response.energy_hi, np.ones(N_ENERGY), "shifted.arf")
    with pytest.raises(DataError, match="energy grids of shifted.arf and .* differ, first at bin 0"):
        again.with_arf(shifted)
    write_arf(tmp_path / "short.arf", EffectiveArea(response.energy_lo[:-1], response.energy_hi[:-1],
                                                    np.ones(N_ENERGY - 1), "short"))
    with pytest.raises(DataError, match="59 energy bins but the matrix .* has 60"):
        again.with_arf(read_arf(tmp_path / "short.arf"))


def test_bad_spectra_are_refused_with_named_errors(tmp_path, simulated):
    _, paths = simulated

    def edited(name, **changes):
        with fits.open(paths["observation"]) as hdus:
            table = hdus["SPECTRUM"]
            for key, value in changes.items():
                if key in table.columns.names:
                    table.data[key][:] = value
                else:
                    table.header[key] = value
            target = tmp_path / name
            hdus.writeto(target)
        return target

    with pytest.raises(DataError, match="EXPOSURE must be a positive number of seconds, got -5.0"):
        OGIPLike("bad", edited("neg.pha", EXPOSURE=-5.0))
    counts_float = tmp_path / "nan.pha"
    with fits.open(paths["observation"]) as hdus:
        table = hdus["SPECTRUM"]
        columns = [fits.Column(name=c.name, format="D" if c.name == "COUNTS" else c.format,
                               array=np.where(np.arange(N_CHANNEL) == 4, np.nan, table.data[c.name])
                               if c.name == "COUNTS" else table.data[c.name]) for c in table.columns]
        fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns, header=table.header,
                                                                        name="SPECTRUM")]).writeto(counts_float)
    with pytest.raises(DataError, match="COUNTS has 1 NaN/inf value.*index 4"):
        OGIPLike("bad", counts_float)
    write_response(tmp_path / "small.rsp", Response(*[a[:N_ENERGY] for a in (
        toy_response().energy_lo, toy_response().energy_hi)], np.arange(1, 11), np.arange(10.0),
        np.arange(1.0, 11.0), np.ones((N_ENERGY, 10)), "small"))
    with pytest.raises(DataError, match=f"has {N_CHANNEL} channels but the response .* has 10"):
        OGIPLike("bad", paths["observation"], response=tmp_path / "small.rsp")
    with pytest.raises(DataError, match="no SPECTRUM extension"):
        read_pha(paths["response"])


def test_statistics_are_chosen_from_the_data_and_checked(simulated):
    plugin, paths = simulated
    assert plugin.statistic == "wstat"
    with pytest.raises(DataError, match="cstat does not use a background; pass background=None"):
        OGIPLike("s", paths["observation"], statistic="cstat")
    with pytest.raises(DataError, match="wstat needs a background"):
        OGIPLike("s", paths["observation"], background=None, statistic="wstat")
    with pytest.raises(DataError, match="pgstat needs background errors"):
        OGIPLike("s", paths["observation"], statistic="pgstat")
    with pytest.raises(DataError, match="chi2 with variance from the file needs STAT_ERR"):
        OGIPLike("s", paths["observation"], statistic="chi2")
    with pytest.raises(PluginError, match="statistic must be one of"):
        OGIPLike("s", paths["observation"], statistic="cash")
    zero_bin = OGIPLike("s", paths["observation"], background=None, statistic="chi2", chi2_variance="data")
    zero_bin.observation.counts[3] = 0.0  # a bin without counts has no data variance
    space = powerlaw_model().compile(extra_parameters=zero_bin.nuisance_parameters)
    with pytest.raises(DataError, match="chi2 needs a positive variance in every bin; bin 3"):
        zero_bin.setup(space)


def test_channel_selection_grouping_and_quality(simulated):
    plugin, _ = simulated
    response = plugin.response
    plugin.set_active_measurements("5-50")
    overlap = (response.channel_hi > 5) & (response.channel_lo < 50)
    assert plugin.n_bins == overlap.sum()
    plugin.set_active_measurements("c3-c10", exclude=["c5-c6"])
    assert list(plugin.binning.channel_index) == [2, 3, 6, 7, 8, 9]
    plugin.set_active_measurements("all")
    flags = group_min_counts(plugin.observation.counts, 2000)
    plugin.group(flags)
    sums = plugin.binning.sum(plugin.observation.counts)
    assert np.all(sums[:-1] >= 2000) and sums.sum() == plugin.observation.counts.sum()
    plugin.group(None)
    assert plugin.n_bins == N_CHANNEL
    plugin.observation.quality[0] = 5
    assert plugin.n_bins == N_CHANNEL - 1
    with pytest.raises(DataError, match="cannot read the selection 'five-ten'"):
        plugin.set_active_measurements("five-ten")


def test_a_selection_says_what_it_kept_and_takes_numbers_and_quantities(simulated, capsys):
    import astropy.units as u

    plugin, _ = simulated
    lo, hi = plugin.response.channel_lo, plugin.response.channel_hi
    summary = plugin.set_active_measurements("5-50")
    assert capsys.readouterr().out.strip() == summary
    kept = (hi > 5) & (lo < 50)
    assert summary == (f"{plugin.name}: {kept.sum()} of {kept.size} channels kept, "
                       f"{lo[kept].min():.4g}-{hi[kept].max():.4g} keV")
    # the same range as numbers (keV), quantities of energy or of wavelength (reversed), or a pair
    wavelengths = (5 * u.keV).to(u.AA, u.spectral()), (50 * u.keV).to(u.AA, u.spectral())
    for selection in ((5, 50), (5 * u.keV, 50 * u.keV), wavelengths, [(5.0, 50.0)]):
        assert plugin.set_active_measurements(*selection, quiet=True) == summary, selection
        assert plugin.n_bins == kept.sum()
    assert capsys.readouterr().out == ""
    # gaps are listed; a range beyond the channels is cut to them, and said so
    gapped = plugin.set_active_measurements("c3-c10", exclude=["c5-c6"], quiet=True)
    assert gapped.endswith(f"{lo[2]:.4g}-{hi[3]:.4g}, {lo[6]:.4g}-{hi[9]:.4g} keV")
    wide = plugin.set_active_measurements(f"5-{2 * hi.max():g}", quiet=True)
    assert f"reaches beyond the channels, {lo.min():.4g}-{hi.max():.4g} keV: cut to them" in wide


def test_a_selection_that_keeps_nothing_or_is_no_energy_is_refused_at_once(simulated):
    import astropy.units as u

    plugin, _ = simulated
    before = plugin.n_bins
    top = plugin.response.channel_hi.max()
    with pytest.raises(DataError, match=rf"{plugin.name}: the selection \['{2 * top:g}-{3 * top:g}'\] keeps no channel; "
                                        rf"the channels cover .*-{top:.4g} keV"):
        plugin.set_active_measurements(f"{2 * top:g}-{3 * top:g}")
    with pytest.raises(DataError, match="keeps no channel"):
        plugin.set_active_measurements("c1-c20", exclude="c1-c20")
    with pytest.raises(DataError, match="needs energies, frequencies or wavelengths"):
        plugin.set_active_measurements(3 * u.s, 5 * u.s)
    with pytest.raises(DataError, match="cannot read the selection"):
        plugin.set_active_measurements(5, "c3-c4", 7)
    assert plugin.n_bins == before  # nothing changed


def test_wstat_fit_recovers_the_simulated_source(simulated):
    plugin, _ = simulated
    space = powerlaw_model(K=10.0, index=-2.0).compile(extra_parameters=plugin.nuisance_parameters)
    loglike = plugin.setup(space)

    def neg_log_posterior(z):
        theta = space.constrain(z)
        return -(loglike(space.unpack(theta)) + space.log_prior(theta))

    objective, gradient = jax.jit(neg_log_posterior), jax.jit(jax.grad(neg_log_posterior))
    fit = optimize.minimize(lambda z: float(objective(z)), np.asarray(space.unconstrain(space.initial_theta)),
                            jac=lambda z: np.asarray(gradient(z)), method="BFGS")
    theta = space.constrain(fit.x)
    in_theta = jax.jit(lambda t: -(loglike(space.unpack(t)) + space.log_prior(t)))
    errors = np.sqrt(np.diag(np.linalg.inv(np.asarray(jax.hessian(in_theta)(theta)))))
    for value, error, truth in zip(np.asarray(theta), errors, (30.0, -1.7)):
        assert abs(value - truth) < 4 * error
    batch = jnp.stack([theta, theta * 1.01])
    values = jax.vmap(space.unpack)(batch)
    per_point = jax.jit(jax.vmap(plugin.pointwise_loglike))(values)
    assert per_point.shape == (2, plugin.n_bins)
    np.testing.assert_allclose(per_point[0].sum(), loglike(space.unpack(theta)), rtol=1e-12)


def test_effective_area_correction_is_a_nuisance_parameter(simulated):
    plugin, _ = simulated
    plugin.use_effective_area_correction(0.7, 1.3)
    space = powerlaw_model(K=30.0, index=-1.7).compile(extra_parameters=plugin.nuisance_parameters)
    assert space.free_names[-1] == "sim.effective_area_correction"
    plugin.setup(space)
    theta = space.initial_theta
    base = plugin.expected_counts(space.unpack(theta.at[-1].set(1.0)))
    scaled = plugin.expected_counts(space.unpack(theta.at[-1].set(1.2)))
    np.testing.assert_allclose(scaled, 1.2 * base, rtol=1e-14)
    assert space.priors["sim.effective_area_correction"] == Uniform_prior(0.7, 1.3)


def test_simulate_draws_poisson_counts_around_the_model(simulated):
    plugin, _ = simulated
    space = powerlaw_model(K=30.0, index=-1.7).compile(extra_parameters=plugin.nuisance_parameters)
    plugin.setup(space)
    values = space.unpack(space.initial_theta)
    draws = jax.vmap(lambda key: plugin.simulate(values, key))(jax.random.split(jax.random.PRNGKey(0), 400))
    # W-stat's profiled background given the observed counts
    mean = np.asarray(plugin.expected_counts(values)) + np.asarray(stats_module.wstat_profile_background(
        plugin._counts, plugin._background_counts, plugin.expected_counts(values), plugin._alpha))
    np.testing.assert_allclose(draws.mean(axis=0), mean, rtol=5 / np.sqrt(400 * np.maximum(mean, 1)).min() + 0.05)


def test_display_groups_reach_the_significance_and_pictures_are_drawn(simulated):
    from jointfit_ogip.plots import significance_groups

    net = np.array([1.0, 1.0, 1.0, 10.0, 0.5, 0.5])
    groups = significance_groups(net, np.ones(6), 1.5)
    assert list(groups) == [0, 0, 0, 1, 1, 1]  # 3/sqrt(3) > 1.5 closes the first; the tail joins the last
    plugin, _ = simulated
    space = powerlaw_model(K=30.0, index=-1.7).compile(extra_parameters=plugin.nuisance_parameters)
    plugin.setup(space)
    # the data before a fit: points with errors, the scaled background too, empty
    # background bins as upper limits at 1.84 counts (no gaps on the log axis)
    plugin.background.counts[:3] = 0.0
    figure = plugin.view_count_spectrum()
    ax = figure.axes[0]
    lo, hi = plugin.response.channel_lo, plugin.response.channel_hi
    scale = 1.0 / ((hi - lo) * plugin.observation.exposure)
    total, background, limits = ax.containers
    np.testing.assert_allclose(total[0].get_ydata(), (plugin.observation.counts * scale)[plugin.observation.counts > 0])
    alpha = plugin.background_scale(plugin.binning)
    np.testing.assert_allclose(background[0].get_ydata(), (plugin.background.counts * scale * alpha)[3:])
    assert limits.has_yerr and len(limits[1]) >= 1  # the upper-limit arrows of the three empty bins
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sim total", "background (scaled)"]
    figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels(minor=False) + ax.get_xticklabels(minor=True) if t.get_text()]
    assert labels and not any("10^" in label or "×" in label or "$" in label for label in labels)
    draws = jax.vmap(space.unpack)(space.initial_theta * np.array([0.98, 1.0, 1.02])[:, None])
    figure = plugin.plot_model_counts(draws, min_significance=5.0)
    top, bottom = figure.axes
    assert top.get_yscale() == "log" and bottom.get_ylabel() == "residual (σ)"
    band = [p for p in top.patches if p.get_fill()]
    assert len(bottom.lines) >= 1 and len(band) == 1  # residuals and the model band
    # 3ML's min_rate: groups also close only once their net rate reaches it
    rates = np.array([1.0, 1.0, 1.0, 10.0, 0.5, 0.5])
    assert list(significance_groups(net, np.ones(6), 1.5, rates, min_rate=4.0)) == [0, 0, 0, 0, 0, 0]
    assert list(significance_groups(net, np.ones(6), 1.0, rates, min_rate=2.0)) == [0, 0, 1, 1, 1, 1]


def test_sparse_and_dense_folds_agree():
    dense = OGIPLike.from_function("dense", Powerlaw(K=30.0, index=-1.7), toy_response(), exposure=100.0, seed=1)
    sparse = OGIPLike.from_function("sparse", Powerlaw(K=30.0, index=-1.7), toy_response(), exposure=100.0, seed=1)
    dense.sparse_threshold, sparse.sparse_threshold = 0.0, 1.0
    space = powerlaw_model(K=30.0, index=-1.7).compile(
        extra_parameters={**dense.nuisance_parameters, **sparse.nuisance_parameters})
    dense.setup(space)
    sparse.setup(space)
    assert sparse._fold.sparse and not dense._fold.sparse
    values = space.unpack(space.initial_theta)
    np.testing.assert_allclose(sparse.expected_counts(values), dense.expected_counts(values), rtol=1e-13)
    gradient = jax.grad(lambda t, p: p.loglike(space.unpack(t)), argnums=0)
    np.testing.assert_allclose(gradient(space.initial_theta, sparse), gradient(space.initial_theta, dense),
                               rtol=1e-10)


def test_every_row_of_a_type_ii_file_as_plugins(tmp_path):
    counts = np.random.default_rng(1).poisson(5.0, (3, N_CHANNEL)).astype(float)
    write_response(tmp_path / "toy.rsp", toy_response())
    _pha2(tmp_path / "rows.pha", counts)
    plugins = OGIPLike.from_rows("obs", tmp_path / "rows.pha")  # RESPFILE from the header
    assert [p.name for p in plugins] == ["obs_1", "obs_2", "obs_3"]
    for plugin, row in zip(plugins, counts):
        np.testing.assert_array_equal(plugin.observation.counts, row)
    with pytest.raises(DataError, match="holds 3 spectra but 2 responses were given"):
        OGIPLike.from_rows("obs", tmp_path / "rows.pha", response=[toy_response(), toy_response()])


def test_reading_changes_nothing_on_disk(simulated):
    _, paths = simulated
    before = {role: path.read_bytes() for role, path in paths.items()}
    OGIPLike("again", paths["observation"]).setup(powerlaw_model().compile(
        extra_parameters={"again.effective_area_correction": OGIPLike(
            "x", paths["observation"]).nuisance_parameters["x.effective_area_correction"]}))
    assert {role: path.read_bytes() for role, path in paths.items()} == before


def test_printing_the_plugin_says_what_it_holds_and_how_it_is_read(simulated):
    plugin, paths = simulated
    read = OGIPLike("sim", paths["observation"])
    read.set_active_measurements("c3-c10", quiet=True)
    read.assign_to_source("src")
    lines = str(read).splitlines()
    observation, background = read.observation, read.background
    assert lines[0] == "OGIPLike 'sim'"
    assert lines[1] == (f"  spectrum    {observation.origin}: {observation.counts.sum():.6g} counts in "
                        f"{observation.n_channels} channels, exposure 100 s")
    assert lines[2].startswith(f"  background  {background.origin}: {background.counts.sum():.6g} counts")
    assert lines[3] == f"  response    {read.response.origin}"
    assert lines[4] == "  statistic   wstat"
    kept = observation.counts[2:10].sum()
    assert lines[5].startswith("  selection   8 of ") and lines[5].endswith(f"; {kept:.6g} counts in 8 bins")
    assert lines[6] == "  sources     src"


def test_chi2_with_gehrels_variance_is_sherpas_chi2gehrels(simulated):
    """chi2_variance="gehrels": sigma^2 = (1 + sqrt(N + 0.75))^2 + alpha^2 (1 + sqrt(B + 0.75))^2
    per bin, against numpy on the same counts (Sherpa's default statistic)."""
    plugin, paths = simulated
    gehrels = OGIPLike("g", paths["observation"], statistic="chi2", chi2_variance="gehrels")
    space = powerlaw_model(K=25.0, index=-1.6).compile(extra_parameters=gehrels.nuisance_parameters)
    gehrels.setup(space)
    values = space.unpack(space.initial_theta)
    model = np.asarray(gehrels.expected_counts(values))
    counts, background = gehrels.observation.counts, gehrels.background.counts
    alpha = (gehrels.observation.exposure * gehrels.observation.backscal) / (
        gehrels.background.exposure * gehrels.background.backscal)
    variance = (1 + np.sqrt(counts + 0.75)) ** 2 + alpha**2 * (1 + np.sqrt(background + 0.75)) ** 2
    expected = np.sum((counts - alpha * background - model) ** 2 / variance)
    assert float(gehrels.statistic_value(values)) == pytest.approx(expected, rel=1e-12)
    assert "statistic   chi2 (variance: gehrels)" in str(gehrels)
    # bins without counts keep a positive variance (1 + sqrt(0.75))^2: no grouping needed
    empty = OGIPLike("e", paths["observation"], background=None, statistic="chi2", chi2_variance="gehrels")
    empty.observation.counts[3] = 0.0
    empty.setup(powerlaw_model().compile(extra_parameters=empty.nuisance_parameters))
    with pytest.raises(PluginError, match="chi2_variance must be one of"):
        OGIPLike("bad", paths["observation"], statistic="chi2", chi2_variance="gehrel")


def test_results_give_the_fit_statistic_bins_and_degrees_of_freedom(simulated, tmp_path, capsys):
    """XSPEC's "C-Statistic ... using N bins" and Sherpa's statistic / dof in the
    summary: the plugin's statistic at the best fit, checked against a numpy cstat."""
    import jointfit as jf

    plugin, paths = simulated
    spectrum = OGIPLike("cash", paths["observation"], background=None, statistic="cstat")
    spectrum.fix_effective_area_correction(1.0)  # its own parameter: statistic_value fills it in itself
    fit = jf.JointLikelihood(powerlaw_model(K=20.0, index=-1.5), jf.DataList(spectrum))
    results = fit.fit(quiet=True)
    best = results.point_estimates()["value"]
    values = {"src.spectrum.main.Powerlaw.K": best["src.spectrum.main.Powerlaw.K"],
              "src.spectrum.main.Powerlaw.index": best["src.spectrum.main.Powerlaw.index"],
              "src.spectrum.main.Powerlaw.piv": 1.0}
    model = np.asarray(spectrum.expected_counts({**values, "cash.effective_area_correction": 1.0}))
    counts = spectrum.observation.counts
    with np.errstate(divide="ignore", invalid="ignore"):
        cstat = 2.0 * np.sum(model - counts + np.where(counts > 0, counts * np.log(counts / model), 0.0))
    name, value = results.fit_statistics["cash"]
    assert name == "cstat" and value == pytest.approx(cstat, rel=1e-9)
    assert float(spectrum.statistic_value(values)) == pytest.approx(cstat, rel=1e-9)  # no nuisance key needed
    text = results.display()
    bins = spectrum.n_bins
    assert f"cstat {value:14.6f} in {bins} bins" in text
    assert f"in {bins} bins, 2 free parameters: {bins - 2} degrees of freedom, statistic / dof = " \
           f"{value / (bins - 2):.4f}" in text
    again = jf.load_analysis_results(results.write(tmp_path / "fit.nc"))
    assert again.fit_statistics == results.fit_statistics
    capsys.readouterr()
