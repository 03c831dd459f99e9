"""Pictures of image fits: data, model and residuals per image, and radial profiles with
posterior bands (what AstroPhot users look at, with the posterior's spread added)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from jointfit.displays import posterior_draws
from jointfit.errors import AnalysisError

from .shapes import gnomonic

__all__ = ["plot_images", "draw_images"]


def plot_images(analysis: Any, data: Any = None, n_draws: int = 100, confidence_level: float = 0.68,
                seed: int = 0) -> Any:
    """Data, posterior median model and residuals in sigma for every image, and the
    radial profile of data and model (median and a band holding ``confidence_level``
    of the draws) about the first source's centre.

    Parameters
    ----------
    analysis : BayesianAnalysis, JointLikelihood or AnalysisResults
        A fit that has run, or results together with ``data`` (the DataList fitted).
    n_draws : int
        Posterior draws evaluated (one vectorised call per image).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .plugin import ImageLike

    plugins, draws = posterior_draws(analysis, data, n_draws, seed, picture="plot_images")
    images = [plugin for plugin in plugins if isinstance(plugin, ImageLike)]
    if not images:
        raise AnalysisError(f"no image among the plugins {[p.name for p in plugins]}")
    return draw_images(images, draws, confidence_level=confidence_level)


def draw_images(plugins: Sequence[Any], draws: dict[str, Any], confidence_level: float = 0.68, **_: Any) -> Any:
    """The picture of :func:`plot_images` for set-up ``plugins`` and parameter draws
    by path (leading axis: draws)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import AsinhNorm

    figure, axes = plt.subplots(len(plugins), 4, figsize=(15, 3.6 * len(plugins)), squeeze=False)
    tail = 50.0 * (1.0 - confidence_level)
    for row, plugin in zip(axes, plugins):
        models = np.asarray(jax.jit(jax.vmap(plugin.model_image))(draws))
        model = np.median(models, axis=0)
        x0, x1, y0, y1 = plugin.box
        data = plugin.image.data[y0:y1, x0:x1]
        excluded = plugin.excluded[y0:y1, x0:x1]
        if plugin.likelihood == "poisson":
            sigma = np.sqrt(np.clip(model, 1e-12, None))
        else:
            sigma = np.sqrt(plugin.image.variance[y0:y1, x0:x1])
        residual = np.ma.masked_array((data - model) / sigma, excluded)
        scale = float(np.percentile(np.abs(data[~excluded]), 99.5)) or 1.0
        norm = AsinhNorm(linear_width=0.05 * scale, vmin=-0.05 * scale, vmax=scale)
        extent = (x0 - 0.5, x1 - 0.5, y0 - 0.5, y1 - 0.5)
        for ax, picture, title in ((row[0], np.ma.masked_array(data, excluded), "data"), (row[1], model, "model")):
            ax.imshow(picture, origin="lower", norm=norm, cmap="gray_r", extent=extent)
            ax.set_title(f"{plugin.name}: {title}")
        shown = row[2].imshow(residual, origin="lower", cmap="RdBu_r", vmin=-5, vmax=5, extent=extent)
        row[2].set_title(f"{plugin.name}: (data - model) / sigma")
        figure.colorbar(shown, ax=row[2], fraction=0.046)
        _radial_profile(row[3], plugin, draws, data, models, excluded, tail)
    figure.tight_layout()
    return figure


def _radial_profile(ax: Any, plugin: Any, draws: dict[str, Any], data: np.ndarray, models: np.ndarray,
                    excluded: np.ndarray, tail: float) -> None:
    """Mean data and model in circular annuli (arcsec) about the first source's median
    centre, one pixel wide."""
    source = plugin._rendered[0]
    ra = float(np.median(np.asarray(draws[source.prefix + "ra"])))
    dec = float(np.median(np.asarray(draws[source.prefix + "dec"])))
    grid = plugin._grid
    my, mx = plugin._margin
    xi_c, eta_c = (float(v) for v in gnomonic(ra, dec, grid.ra0, grid.dec0, xp=np))
    radius = np.hypot(grid.xi[my:-my, mx:-mx] - xi_c, grid.eta[my:-my, mx:-mx] - eta_c)
    width = grid.pixel_scale
    bins = np.floor(radius / width).astype(int)
    keep = ~excluded
    count = np.bincount(bins[keep])
    filled = count > 0
    centres = (np.arange(count.size) + 0.5) * width
    data_mean = np.bincount(bins[keep], data[keep])[filled] / count[filled]
    model_means = np.array([np.bincount(bins[keep], m[keep])[filled] for m in models]) / count[filled]
    low, median, high = np.percentile(model_means, [tail, 50.0, 100.0 - tail], axis=0)
    ax.plot(centres[filled], data_mean, ".", color="k", label="data")
    ax.plot(centres[filled], median, color="C3", label="model")
    ax.fill_between(centres[filled], low, high, color="C3", alpha=0.3, lw=0)
    positive = np.concatenate([data_mean[data_mean > 0], median[median > 0]])
    if positive.size:
        ax.set_yscale("log")
        ax.set_ylim(0.5 * positive.min(), 2.0 * positive.max())
    ax.set_xlabel("radius [arcsec]")
    ax.set_ylabel("mean per pixel")
    ax.set_title(f"{plugin.name}: radial profile")
    ax.legend(fontsize="small")
