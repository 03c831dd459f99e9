"""Count-spectrum pictures: the data, and data against a model with residuals.

Matplotlib is imported only here, when a picture is asked for. Bins are merged for
display only (the likelihood keeps its own binning) until each holds a net signal of
at least ``min_significance`` standard deviations, as 3ML's displays do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from jointfit.displays import plain_log_axis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .plugin import OGIPLike

__all__ = ["view_count_spectrum", "plot_model_counts", "significance_groups", "sed_points"]


def significance_groups(net: np.ndarray, variance: np.ndarray, min_significance: float,
                        rate: np.ndarray | None = None, min_rate: float | None = None) -> np.ndarray:
    """Display-group index of each bin: consecutive bins merged until
    ``sum(net) / sqrt(sum(variance)) >= min_significance`` and, if ``min_rate`` is
    given, ``sum(rate) >= min_rate`` (3ML's ``min_rate``); a short tail joins the last
    complete group."""
    rate = np.zeros_like(net) if rate is None else rate
    groups = np.zeros(net.size, dtype=int)
    current, total, total_variance, total_rate, opened = 0, 0.0, 0.0, 0.0, False
    for i in range(net.size):  # display only, once per picture
        groups[i] = current
        opened = True
        total, total_variance, total_rate = total + net[i], total_variance + variance[i], total_rate + rate[i]
        significant = total_variance > 0 and total / np.sqrt(total_variance) >= min_significance
        if significant and (min_rate is None or total_rate >= min_rate):
            current, total, total_variance, total_rate, opened = current + 1, 0.0, 0.0, 0.0, False
    if opened and current > 0:
        groups[groups == current] = current - 1
    return groups


def bin_edges(plugin: OGIPLike) -> tuple[np.ndarray, np.ndarray]:
    """Energy bounds (keV) of the likelihood's bins."""
    binning = plugin.binning
    lo = plugin.response.channel_lo[binning.channel_index]
    hi = plugin.response.channel_hi[binning.channel_index]
    return (np.array([lo[binning.group_of == g].min() for g in range(binning.n_bins)]),
            np.array([hi[binning.group_of == g].max() for g in range(binning.n_bins)]))


def _observed(plugin: OGIPLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(total counts, scaled background counts, variance of the net counts) per bin."""
    binning = plugin.binning
    counts = binning.sum(plugin.observation.counts)
    if plugin.background is None:
        return counts, np.zeros_like(counts), np.maximum(counts, 1.0)
    alpha = plugin.background_scale(binning)
    background_counts = binning.sum(plugin.background.counts)
    return counts, alpha * background_counts, np.maximum(counts + alpha**2 * background_counts, 1.0)


@dataclass(frozen=True)
class DisplayGroups:
    """A plugin's selected bins merged for display (:func:`significance_groups`): each
    group's energy range (keV), its net counts and their variance."""

    membership: np.ndarray  # (bins, groups) of 0/1: ``per_bin @ membership`` sums into groups
    lo: np.ndarray
    hi: np.ndarray
    net: np.ndarray
    variance: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        """Geometric centre of each group's energy range, keV."""
        return np.sqrt(self.lo * self.hi)

    @property
    def error(self) -> np.ndarray:
        """1-sigma error of each group's net counts."""
        return np.sqrt(self.variance)

    def merge(self, per_bin: np.ndarray) -> np.ndarray:
        """Sum per-bin values (last axis) into groups; leading axes (draws) kept."""
        return per_bin @ self.membership


def display_groups(plugin: OGIPLike, min_significance: float = 3.0, min_rate: float | None = None) -> DisplayGroups:
    """The plugin's bins merged until each group holds ``min_significance`` standard
    deviations of net counts and, if given, a net rate of ``min_rate`` counts/s."""
    counts, background, variance = _observed(plugin)
    lo, hi = bin_edges(plugin)
    net = counts - background
    groups = significance_groups(net, variance, min_significance, net / plugin.observation.exposure, min_rate)
    n_groups = groups.max() + 1
    membership = np.eye(n_groups)[groups]
    group_lo = np.array([lo[groups == g].min() for g in range(n_groups)])
    group_hi = np.array([hi[groups == g].max() for g in range(n_groups)])
    return DisplayGroups(membership, group_lo, group_hi, net @ membership, variance @ membership)


def view_count_spectrum(plugin: OGIPLike, ax: Any = None) -> Figure:
    """The data before any fit: counts per keV per second of the spectrum and of its
    scaled background in the likelihood's bins, each bin a point with its energy
    extent and Poisson error (sqrt N); a bin without counts is an upper limit at
    1.84 counts (Gehrels' 84 %), so that the log axis has no gaps."""
    import matplotlib.pyplot as plt

    figure, ax = (plt.subplots(figsize=(7, 4.5)) if ax is None else (ax.figure, ax))
    lo, hi = bin_edges(plugin)
    counts, _, _ = _observed(plugin)
    scale = 1.0 / ((hi - lo) * plugin.observation.exposure)
    _count_points(ax, lo, hi, counts, scale, f"{plugin.name} total", "C0")
    if plugin.background is not None:
        # the background's own counts and errors, scaled to the source region
        binning = plugin.binning
        _count_points(ax, lo, hi, binning.sum(plugin.background.counts), scale * plugin.background_scale(binning),
                      "background (scaled)", "C1")
    ax.set(xscale="log", yscale="log", xlabel="energy (keV)", ylabel="counts / (keV s)",
           title=f"{plugin.name}: {plugin.observation.origin.split('/')[-1]}")
    plain_log_axis(ax.xaxis)
    ax.legend()
    return figure


def unfolded_points(plugin: OGIPLike, min_significance: float = 3.0) -> Any:
    """The data unfolded without a model, as :class:`jointfit.sed.SEDPoints`: per
    display bin (merged to ``min_significance`` sigma of net counts), the net counts
    divided by those a flat photon spectrum of 1 photon/(cm2 s keV) gives through the
    response (XSPEC's ``eeufspec`` of a constant model), times E²: νFν in
    erg/(cm2 s) wherever the response is nearly diagonal, before any fit."""
    from jointfit.sed import KEV_TO_ERG, SEDPoints

    binning, response, observation = plugin.binning, plugin.response, plugin.observation
    flat = ((response.energy_hi - response.energy_lo) @ response.matrix) * observation.exposure * observation.areascal
    groups = display_groups(plugin, min_significance)
    flat_counts = groups.merge(binning.sum(flat))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(flat_counts > 0, groups.centre**2 * KEV_TO_ERG / flat_counts, np.nan)
    net, error = groups.net, groups.error
    # a bin without net signal is drawn as a 2-sigma upper limit
    limit = net < error
    return SEDPoints(plugin.name, groups.centre, groups.lo, groups.hi, np.where(limit, net + 2 * error, net) * scale,
                     (net - error) * scale, (net + error) * scale, limit)


def view_unfolded_spectrum(plugin: OGIPLike, ax: Any = None, min_significance: float = 3.0) -> Figure:
    """νFν of the data before any fit (:func:`unfolded_points`), energy in keV."""
    import matplotlib.pyplot as plt

    from jointfit.displays import keep_text_inside
    from jointfit.sed import draw_points

    figure, ax = (plt.subplots(figsize=(7, 4.5)) if ax is None else (ax.figure, ax))
    draw_points(ax, unfolded_points(plugin, min_significance), "C0")
    ax.set(xscale="log", yscale="log", xlabel="energy (keV)", ylabel=r"$\nu F_\nu$ (erg cm$^{-2}$ s$^{-1}$)",
           title=f"{plugin.name}: unfolded with a flat spectrum (no model)")
    plain_log_axis(ax.xaxis)
    ax.legend()
    keep_text_inside(figure)
    return figure


def _count_points(ax: Any, lo: np.ndarray, hi: np.ndarray, counts: np.ndarray, scale: np.ndarray, label: str,
                  colour: str) -> None:
    """Counts as points with energy extents and sqrt(N) errors, times ``scale``; empty
    bins as upper limits at 1.84 counts."""
    centre = np.sqrt(lo * hi)
    some = counts > 0
    ax.errorbar(centre[some], (counts * scale)[some], xerr=[(centre - lo)[some], (hi - centre)[some]],
                yerr=(np.sqrt(counts) * scale)[some], fmt=".", ms=3, lw=0.8, color=colour, label=label)
    if (~some).any():
        limit = (1.84 * scale)[~some]
        ax.errorbar(centre[~some], limit, xerr=[(centre - lo)[~some], (hi - centre)[~some]], yerr=0.4 * limit,
                    uplims=True, fmt="none", lw=0.8, color=colour)


def _model_counts(plugin: OGIPLike, draws: Mapping[str, Any]) -> np.ndarray:
    """Model counts per bin, shape ``(n_draws, n_bins)``, in one vectorised call."""
    import jax

    from jointfit.displays import as_draws

    batched = as_draws(draws)
    return np.asarray(jax.jit(jax.vmap(plugin.expected_counts))(batched))


def plot_model_counts(plugins: Sequence[OGIPLike], values: Mapping[str, Any], min_significance: float = 3.0,
                      min_rate: float | None = None, confidence_level: float = 0.68) -> Figure:
    """Net counts per keV per second of each plugin against its model, residuals below.

    Parameters
    ----------
    plugins : sequence of OGIPLike
        Set-up plugins (one colour each).
    values : mapping
        Parameter values by path (``space.unpack(theta)``): scalars for one model, or
        arrays with a leading axis of posterior draws, drawn as the median model and a
        band holding ``confidence_level`` of the draws.
    min_significance, min_rate : float
        Display bins are merged until each holds this many standard deviations of
        net signal and, if given, a net rate of ``min_rate`` counts/s.
    """
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6), height_ratios=(3, 1))
    tail = 50.0 * (1.0 - confidence_level)
    for colour, plugin in enumerate(plugins):
        groups = display_groups(plugin, min_significance, min_rate)
        edges = np.append(groups.lo, groups.hi[-1])
        scale = 1.0 / ((groups.hi - groups.lo) * plugin.observation.exposure)
        centre, net, error = groups.centre, groups.net, groups.error
        models = groups.merge(_model_counts(plugin, values))
        median = np.median(models, axis=0)
        style = dict(color=f"C{colour}")
        top.errorbar(centre, net * scale, yerr=error * scale, xerr=[centre - groups.lo, groups.hi - centre],
                     fmt=".", label=plugin.name, **style)
        top.stairs(median * scale, edges, baseline=None, **style)
        if models.shape[0] > 1:
            low, high = np.percentile(models, [tail, 100.0 - tail], axis=0)
            top.stairs(high * scale, edges, baseline=low * scale, fill=True, alpha=0.3, **style)
        bottom.errorbar(centre, (net - median) / error, yerr=1.0, fmt=".", **style)
    bottom.axhline(0.0, color="k", lw=0.8)
    top.set(xscale="log", yscale="log", ylabel="net counts / (keV s)")
    bottom.set(xlabel="energy (keV)", ylabel="residual (σ)")
    plain_log_axis(bottom.xaxis)
    top.legend()
    figure.tight_layout()
    return figure


def sed_points(plugin: OGIPLike, draws: Mapping[str, Any], min_significance: float = 3.0) -> Any:
    """The unfolded spectrum (XSPEC's ``eeufspec``) as :class:`jointfit.sed.SEDPoints`:
    per display bin, ``net / model counts * E² N(E)`` of the median model at the bin's
    geometric centre, with the net counts' 1-sigma error scaled alike."""
    import jax

    from jointfit.displays import as_draws
    from jointfit.sed import KEV_TO_ERG, SEDPoints

    groups = display_groups(plugin, min_significance)
    centre = groups.centre
    batched = as_draws(draws)
    model_counts = np.median(groups.merge(_model_counts(plugin, batched)), axis=0)
    spectrum = jax.jit(jax.vmap(plugin._spectrum, in_axes=(None, 0)))(centre, batched)
    model_nufnu = np.median(np.asarray(spectrum), axis=0) * centre**2 * KEV_TO_ERG
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(model_counts > 0, model_nufnu / model_counts, np.nan)
    net, error = groups.net, groups.error
    return SEDPoints(plugin.name, centre, groups.lo, groups.hi, net * scale, (net - error) * scale,
                     (net + error) * scale, np.zeros(centre.size, dtype=bool))
