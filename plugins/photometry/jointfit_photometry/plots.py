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

__all__ = ["plot_model_magnitudes", "model_flux_ratios", "sed_points"]


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


def sed_points(plugin: PhotometryLike) -> Any:
    """The set-up plugin's active bands as :class:`jointfit.sed.SEDPoints`: νFν =
    ν_pivot × AB flux density, magnitudes' errors as the fluxes at m ± σ, limits as
    upper limits at the limiting flux."""
    from jointfit.sed import KEV_TO_HZ, SEDPoints

    bands = plugin._setup_bands
    filters = [plugin.filters[b] for b in bands]
    measured = [plugin.measurements[b] for b in bands]
    energy = np.array([f.effective_energy for f in filters])
    low, high = np.array([f.half_maximum_range for f in filters]).T
    value = np.array([m.value for m in measured])
    error = np.array([m.error for m in measured])
    is_flux = np.array([m.kind == "flux" for m in measured])
    ratio = np.where(is_flux, value, 10.0 ** (-0.4 * value))
    ratio_low = np.where(is_flux, value - error, 10.0 ** (-0.4 * (value + error)))
    ratio_high = np.where(is_flux, value + error, 10.0 ** (-0.4 * (value - error)))
    to_nufnu = energy * KEV_TO_HZ * 3631e-23  # erg/(cm2 s) per unit AB flux ratio
    return SEDPoints(plugin.name, energy, low, high, ratio * to_nufnu, ratio_low * to_nufnu, ratio_high * to_nufnu,
                     np.array([m.limit for m in measured]))
