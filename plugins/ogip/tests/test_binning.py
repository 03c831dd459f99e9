"""Optimal binning (Kaastra & Bleeker 2016) and the response's resolution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from jointfit.errors import DataError
from jointfit_ogip import Response, group_optimal, optimal_bin_width
from jointfit_ogip.binning import group_ids_from_flags


def test_optimal_width_is_continuous_and_follows_the_paper():
    r = 100.0
    # at x = 2.119 both branches give one FWHM
    n_at_switch = np.exp(2.119) / (1.0 + 0.2 * np.log(r))
    assert optimal_bin_width(np.array([n_at_switch * 0.999, n_at_switch * 1.001]), r) == pytest.approx(1.0, abs=1e-3)
    x = np.log(1e6 * (1.0 + 0.2 * np.log(r)))
    expected = (0.08 + 7.0 / x + 1.8 / x**2) / (1.0 + 5.9 / x)
    assert optimal_bin_width(np.array([1e6]), r)[0] == pytest.approx(expected, rel=1e-12)
    assert optimal_bin_width(np.array([0.0, 3.0]), r).tolist() == [1.0, 1.0]  # few counts: one FWHM


def test_flat_spectrum_gets_equal_bins_of_the_hand_computed_width():
    counts, fwhm = np.full(200, 100.0), np.full(200, 10.0)
    # R = 20 resolution elements, N_r = 1000 counts: x = ln(1000 (1 + 0.2 ln 20)) = 7.377,
    # width = 0.590 FWHM -> 5 channels
    flags = group_optimal(counts, fwhm)
    sizes = np.bincount(group_ids_from_flags(flags))
    assert np.all(sizes == 5)
    faint = group_optimal(np.full(200, 0.5), fwhm)  # N_r = 5: one FWHM per bin
    assert np.all(np.bincount(group_ids_from_flags(faint)) == 10)


def test_bins_never_exceed_the_narrowest_optimum_inside_them():
    rng = np.random.default_rng(4)
    counts = rng.poisson(np.geomspace(500, 1, 300)).astype(float)
    fwhm = np.linspace(3.0, 12.0, 300)
    flags = group_optimal(counts, fwhm)
    group = group_ids_from_flags(flags)
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        assert members.size == 1 or members.size <= np.floor(fwhm[members]).max()
    with_minimum = group_optimal(counts, fwhm, min_counts=20)
    totals = np.bincount(group_ids_from_flags(with_minimum), weights=counts)
    assert np.all(totals[:-1] >= 20) and totals.size < np.unique(group).size
    with pytest.raises(DataError, match="one FWHM per channel"):
        group_optimal(counts, fwhm[:10])


def test_response_resolution_matches_the_gaussian_it_was_built_from():
    edges = np.linspace(1.0, 11.0, 401)
    channel_edges = np.linspace(0.5, 11.5, 111)  # 0.1 keV channels
    centres = 0.5 * (edges[:-1] + edges[1:])
    sigma = 0.02 * centres + 0.05  # keV: FWHM from 1.3 to 6.4 channels
    cdf = stats.norm.cdf(channel_edges[None, :], centres[:, None], sigma[:, None])
    response = Response(edges[:-1], edges[1:], np.arange(110), channel_edges[:-1], channel_edges[1:],
                        np.diff(cdf, axis=1), "gauss")
    fwhm = response.resolution_fwhm()
    channel_centres = 0.5 * (channel_edges[:-1] + channel_edges[1:])
    expected = 2.3548 * (0.02 * channel_centres + 0.05) / 0.1
    inside = (channel_centres > 1.5) & (channel_centres < 10.5)
    # a Gaussian sampled in channels: the interpolated FWHM is within a third of a channel
    np.testing.assert_allclose(fwhm[inside], expected[inside], atol=0.35)
