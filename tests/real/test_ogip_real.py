"""OGIP files from Chandra and ASCA: loading every layout, and agreement with Sherpa."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from jointfit import Model, PointSource, Powerlaw
from jointfit.errors import DataError
from jointfit_ogip import FROM_HEADER, OGIPLike, read_pha, read_pha_rows


def fit_powerlaw(plugin: OGIPLike) -> tuple[np.ndarray, np.ndarray, float]:
    """Best fit (amplitude at 1 keV, photon index Γ), 1σ errors from the Hessian, statistic."""
    powerlaw = Powerlaw(K=1e-4, index=-2.0)
    space = Model(PointSource("quasar", ra=187.28, dec=2.05, spectral_shape=powerlaw)).compile(
        extra_parameters=plugin.nuisance_parameters)
    loglike = plugin.setup(space)

    def neg_loglike(theta):
        return -loglike(space.unpack(theta))

    def in_log_k(z):
        return neg_loglike(jnp.array([jnp.exp(z[0]), z[1]]))

    objective, gradient = jax.jit(in_log_k), jax.jit(jax.grad(in_log_k))
    result = optimize.minimize(lambda z: float(objective(z)), np.array([np.log(1e-4), -2.0]),
                               jac=lambda z: np.asarray(gradient(z)), method="BFGS", options={"gtol": 1e-8})
    assert np.max(np.abs(gradient(result.x))) < 1e-5  # at the optimum (BFGS may stop on precision)
    theta = jnp.array([np.exp(result.x[0]), result.x[1]])
    errors = np.sqrt(np.diag(np.linalg.inv(np.asarray(jax.hessian(neg_loglike)(theta)))))
    best = np.array([float(theta[0]), -float(theta[1])])  # Sherpa's Γ is minus our index
    return best, errors, float(plugin.statistic_value(space.unpack(theta)))


# Sherpa 4.19, powlaw1d with ref = 1 keV, 0.5-7 keV noticed (the folder's README)
SHERPA = {
    "chi2": dict(gamma=1.929801, gamma_err=0.05594, ampl=1.738623e-4, ampl_err=9.05e-6, stat=36.4832, bins=42),
    "cstat": dict(gamma=1.873791, ampl=1.833935e-4, stat=497.1445, bins=446),
    "wstat": dict(gamma=1.895116, ampl=1.821486e-4, stat=497.5322, bins=446),
}


def test_acis_chi2_grouped_background_subtracted_matches_sherpa(shared_data):
    plugin = OGIPLike("acis", shared_data / "ogip-real/chandra-acis-3c273/3c273.pi",
                      statistic="chi2", chi2_variance="data")
    assert plugin.background is not None and plugin.response.has_area  # BACKFILE, RESPFILE, ANCRFILE
    plugin.set_active_measurements("0.5-7")
    reference = SHERPA["chi2"]
    assert plugin.n_bins == reference["bins"]
    best, errors, statistic = fit_powerlaw(plugin)
    assert best[0] == pytest.approx(reference["ampl"], rel=1e-3)
    assert best[1] == pytest.approx(reference["gamma"], rel=1e-3)
    assert errors[0] == pytest.approx(reference["ampl_err"], rel=0.05)
    assert errors[1] == pytest.approx(reference["gamma_err"], rel=0.05)
    assert statistic == pytest.approx(reference["stat"], rel=1e-4)


@pytest.mark.parametrize("statistic", ["cstat", "wstat"])
def test_acis_ungrouped_poisson_fits_match_sherpa(shared_data, statistic):
    background = None if statistic == "cstat" else FROM_HEADER
    plugin = OGIPLike("acis", shared_data / "ogip-real/chandra-acis-3c273/3c273.pi", background=background,
                      statistic=statistic, group=False)
    plugin.set_active_measurements("0.5-7")
    reference = SHERPA[statistic]
    assert plugin.n_bins == reference["bins"]
    best, _, value = fit_powerlaw(plugin)
    assert best[0] == pytest.approx(reference["ampl"], rel=1e-3)
    assert best[1] == pytest.approx(reference["gamma"], rel=1e-3)
    assert value == pytest.approx(reference["stat"], rel=1e-4)


def test_acis_header_layout(shared_data):
    spectrum = read_pha(shared_data / "ogip-real/chandra-acis-3c273/3c273.pi")
    assert spectrum.counts.sum() == 736 and spectrum.n_channels == 1024
    assert not spectrum.poisson and spectrum.stat_err is not None
    assert (spectrum.backfile, spectrum.respfile, spectrum.ancrfile) == ("3c273_bg.pi", "3c273.rmf", "3c273.arf")
    assert np.count_nonzero(spectrum.grouping == 1) == 46
    assert spectrum.exposure == pytest.approx(38564.608926889)


def test_pha2_gives_twelve_spectra_and_rows_equal_the_split_files(shared_data):
    folder = shared_data / "ogip-real/chandra-hetg-3c120-pha2"
    rows = read_pha_rows(folder / "3c120_pha2.gz")
    assert len(rows) == 12
    assert all(row.n_channels == 8192 and row.background is not None for row in rows)
    rates = read_pha_rows(folder / "3c120_pha2_rate.gz")
    for row, rate in zip(rows, rates):
        np.testing.assert_allclose(rate.counts, row.counts, atol=1e-3)
    from astropy.io import fits

    with fits.open(folder / "3c120_pha2.gz") as hdus:
        table = hdus["SPECTRUM"].data
        index = {(int(part), int(order)): i for i, (part, order) in enumerate(zip(table["TG_PART"], table["TG_M"]))}
    for arm, part in (("heg", 1), ("meg", 2)):
        for order in (-1, 1):
            split = read_pha(folder / f"3c120_{arm}_{order}.pha")  # resolves to the .gz twin
            row = rows[index[(part, order)]]
            np.testing.assert_array_equal(split.counts, row.counts)
            np.testing.assert_array_equal(split.background.counts, row.background.counts)
    selected = read_pha(f"{folder / '3c120_pha2.gz'}{{3}}")
    np.testing.assert_array_equal(selected.counts, rows[2].counts)
    with pytest.raises(DataError, match="PHA type II file with 12 spectra"):
        read_pha(folder / "3c120_pha2.gz")


def test_asca_sis0_uses_exactly_the_response_given(shared_data):
    folder = shared_data / "ogip-real/asca-sis0"
    with pytest.raises(DataError, match="names no response"):
        OGIPLike("sis0", folder / "sis0.pha")
    plugin = OGIPLike("sis0", folder / "sis0.pha", response=folder / "sis0.rmf", arf=folder / "sis0.arf")
    assert plugin.background is None and plugin.statistic == "cstat"
    assert plugin.response.matrix.sum(axis=1).max() == pytest.approx(180.5, rel=1e-3)
    assert plugin.observation.counts.sum() == 50389
    redistribution_only = OGIPLike("sis0_rmf", folder / "sis0.pha", response=folder / "sis0.rmf")
    assert redistribution_only.response.matrix.sum(axis=1).max() < 0.87 + 1e-6


def test_pha2_rows_become_plugins_with_the_arfs_given(shared_data):
    folder = shared_data / "ogip-real/chandra-hetg-3c120-pha2"
    with pytest.raises(DataError, match="names no response"):
        OGIPLike.from_rows("hetg", folder / "3c120_pha2.gz")


def test_acis_optimal_grouping_follows_the_detector_resolution(shared_data):
    plugin = OGIPLike("acis", shared_data / "ogip-real/chandra-acis-3c273/3c273.pi", background=None,
                      statistic="cstat", group=False)
    fwhm = plugin.response.resolution_fwhm()
    channel_energy = 0.5 * (plugin.response.channel_lo + plugin.response.channel_hi)
    width = plugin.response.channel_hi - plugin.response.channel_lo
    # ACIS-S3: FWHM about 70 eV at 1 keV to 110 eV at 6 keV (14.6 eV channels)
    in_band = (channel_energy > 1.0) & (channel_energy < 6.0)
    assert np.all((fwhm[in_band] * width[in_band] > 0.05) & (fwhm[in_band] * width[in_band] < 0.15))
    flags = plugin.group_optimal()
    plugin.set_active_measurements("0.5-7")
    # 736 counts: few counts per resolution element, so one bin per FWHM (~8 channels)
    assert 40 < plugin.n_bins < 100
    assert set(np.unique(flags)) <= {1, -1}
    best, errors, _ = fit_powerlaw(plugin)
    assert abs(best[1] - SHERPA["cstat"]["gamma"]) < 0.5 * errors[1]  # grouping moves Γ by < σ/2
