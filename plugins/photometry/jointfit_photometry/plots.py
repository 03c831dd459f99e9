"""The photometry picture: measured against model magnitudes by band, residuals below
(3ML's ``display_photometry_model_magnitudes``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jointfit.displays import as_draws

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .plugin import PhotometryLike

__all__ = ["plot_model_magnitudes", "model_flux_ratios"]


def model_flux_ratios(plugin: PhotometryLike, values: Mapping[str, Any]) -> np.ndarray:
    """Model AB flux ratios of the active bands, shape ``(n_draws, n_bands)``, in one
    vectorised call."""
    import jax

    return np.asarray(jax.jit(jax.vmap(plugin.flux_ratios))(as_draws(values)))


def plot_model_magnitudes(plugins: Sequence[PhotometryLike], values: Mapping[str, Any],
                          confidence_level: float = 0.68) -> Figure:
    """AB magnitudes measured (points; limits as arrows) and modelled (median and a band
    holding ``confidence_level`` of the draws) at each band's pivot wavelength, and the
    residuals in units of the errors. Flux measurements are shown as the AB magnitudes
    of their fluxes (where positive)."""
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6), height_ratios=(3, 1))
    tail = 50.0 * (1.0 - confidence_level)
    for colour, plugin in enumerate(plugins):
        bands = plugin._setup_bands
        pivot = np.array([plugin.filters[b].pivot_wavelength.value for b in bands])
        ratios = model_flux_ratios(plugin, values)
        model = -2.5 * np.log10(ratios)
        low, median, high = np.percentile(model, [tail, 50.0, 100.0 - tail], axis=0)
        measured = [plugin.measurements[b] for b in bands]
        is_flux = np.array([m.kind == "flux" for m in measured])
        value = np.array([m.value for m in measured])
        error = np.array([m.error for m in measured])
        limit = np.array([m.limit for m in measured])
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.where(is_flux, -2.5 * np.log10(value), value)
            magnitude_error = np.where(is_flux, 2.5 / np.log(10.0) * error / np.abs(value), error)
            residual = np.where(is_flux, (value - np.median(ratios, axis=0)) / error, (value - median) / error)
        style = dict(color=f"C{colour}")
        order = np.argsort(pivot)
        top.plot(pivot[order], median[order], "-", alpha=0.6, **style)
        top.fill_between(pivot[order], low[order], high[order], alpha=0.25, lw=0, **style)
        detected = ~limit & np.isfinite(magnitude)
        top.errorbar(pivot[detected], magnitude[detected], yerr=magnitude_error[detected], fmt="o",
                     label=plugin.name, **style)
        if np.any(limit):
            top.errorbar(pivot[limit], magnitude[limit], yerr=0.3, lolims=True, fmt="v", **style)
        for x, band in zip(pivot, bands):
            top.annotate(band, (x, 1.0), xycoords=("data", "axes fraction"), xytext=(0, -12),
                         textcoords="offset points", ha="center", fontsize=8)
        bottom.errorbar(pivot[~limit], residual[~limit], yerr=1.0, fmt="o", **style)
    bottom.axhline(0.0, color="k", lw=0.8)
    top.invert_yaxis()
    top.set(xscale="log", ylabel="AB magnitude")
    bottom.set(xlabel="pivot wavelength (Å)", ylabel="residual (σ)")
    top.legend()
    figure.tight_layout()
    return figure
