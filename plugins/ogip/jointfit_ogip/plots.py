"""Count-spectrum pictures: the data, and data against a model with residuals.

Matplotlib is imported only here, when a picture is asked for. Bins are merged for
display only (the likelihood keeps its own binning) until each holds a net signal of
at least ``min_significance`` standard deviations, as 3ML's displays do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .plugin import OGIPLike

__all__ = ["view_count_spectrum", "plot_model_counts", "significance_groups"]


def significance_groups(net: np.ndarray, variance: np.ndarray, min_significance: float) -> np.ndarray:
    """Display-group index of each bin: consecutive bins merged until
    ``sum(net) / sqrt(sum(variance)) >= min_significance`` (a short tail joins the
    last complete group)."""
    groups = np.zeros(net.size, dtype=int)
    current, total, total_variance, opened = 0, 0.0, 0.0, False
    for i, (value, var) in enumerate(zip(net, variance)):  # display only, once per picture
        groups[i] = current
        opened = True
        total += value
        total_variance += var
        if total_variance > 0 and total / np.sqrt(total_variance) >= min_significance:
            current, total, total_variance, opened = current + 1, 0.0, 0.0, False
    if opened and current > 0:
        groups[groups == current] = current - 1
    return groups


def _bin_edges(plugin: OGIPLike) -> tuple[np.ndarray, np.ndarray]:
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


def view_count_spectrum(plugin: OGIPLike, ax: Any = None) -> Figure:
    """Counts per keV per second of the spectrum (and its scaled background)."""
    import matplotlib.pyplot as plt

    figure, ax = (plt.subplots(figsize=(7, 4.5)) if ax is None else (ax.figure, ax))
    lo, hi = _bin_edges(plugin)
    counts, background, _ = _observed(plugin)
    scale = 1.0 / ((hi - lo) * plugin.observation.exposure)
    ax.stairs(counts * scale, np.append(lo, hi[-1]), baseline=None, label=f"{plugin.name} total")
    if plugin.background is not None:
        ax.stairs(background * scale, np.append(lo, hi[-1]), baseline=None, label="background (scaled)", linestyle="--")
    ax.set(xscale="log", yscale="log", xlabel="energy (keV)", ylabel="counts / (keV s)",
           title=f"{plugin.name}: {plugin.observation.origin.split('/')[-1]}")
    ax.legend()
    return figure


def plot_model_counts(plugins: Sequence[OGIPLike], values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                      min_significance: float = 3.0) -> Figure:
    """Net counts per keV per second of each plugin against its model, residuals below.

    Parameters
    ----------
    plugins : sequence of OGIPLike
        Set-up plugins (one colour each).
    values : mapping, or sequence of mappings
        Parameter values (``space.unpack(theta)``); a sequence gives a model band
        (16-84 %) and the median.
    min_significance : float
        Display bins are merged until each holds this many standard deviations.
    """
    import matplotlib.pyplot as plt

    draws = [values] if isinstance(values, Mapping) else list(values)
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6), height_ratios=(3, 1))
    for colour, plugin in enumerate(plugins):
        counts, background, variance = _observed(plugin)
        lo, hi = _bin_edges(plugin)
        groups = significance_groups(counts - background, variance, min_significance)
        n_groups = groups.max() + 1

        def merge(per_bin: np.ndarray, groups: np.ndarray = groups, n: int = n_groups) -> np.ndarray:
            return np.bincount(groups, weights=per_bin, minlength=n)

        group_lo = np.array([lo[groups == g].min() for g in range(n_groups)])
        group_hi = np.array([hi[groups == g].max() for g in range(n_groups)])
        scale = 1.0 / ((group_hi - group_lo) * plugin.observation.exposure)
        centre = np.sqrt(group_lo * group_hi)
        net, error = merge(counts - background), np.sqrt(merge(variance))
        models = np.array([merge(np.asarray(plugin.expected_counts(v))) for v in draws])
        median = np.median(models, axis=0)
        style = dict(color=f"C{colour}")
        top.errorbar(centre, net * scale, yerr=error * scale, xerr=[centre - group_lo, group_hi - centre],
                     fmt=".", label=plugin.name, **style)
        top.stairs(median * scale, np.append(group_lo, group_hi[-1]), baseline=None, **style)
        if len(draws) > 1:
            low, high = np.percentile(models, [16, 84], axis=0)
            edges = np.append(group_lo, group_hi[-1])
            top.fill_between(edges, np.append(low * scale, low[-1] * scale[-1]),
                             np.append(high * scale, high[-1] * scale[-1]), step="post", alpha=0.3, **style)
        bottom.errorbar(centre, (net - median) / error, yerr=1.0, fmt=".", **style)
    bottom.axhline(0.0, color="k", lw=0.8)
    top.set(xscale="log", yscale="log", ylabel="net counts / (keV s)")
    bottom.set(xlabel="energy (keV)", ylabel="residual (σ)")
    top.legend()
    figure.tight_layout()
    return figure
