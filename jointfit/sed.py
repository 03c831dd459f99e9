"""The broad-band picture: νFν from the infrared to γ rays, every data set unfolded.

3ML users call it an unfolded spectrum, XSPEC users ``eeufspec``. Each plugin that can
(:meth:`~jointfit.plugin.Plugin.sed_points`) turns its data into νFν points with the
posterior model: an X-ray spectrum as counts over model counts times the model's νFν
in each display bin (bins merged to a significance), photometry at each filter's pivot
energy with its width. The model's median and band come from the draws, one compiled
call for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import AnalysisError

__all__ = ["SEDPoints", "plot_sed", "draw_points", "KEV_TO_ERG", "KEV_TO_HZ", "KEV_MICRON"]

KEV_TO_ERG = 1.602176634e-9
KEV_TO_HZ = 2.417989242084918e17  # frequency of a 1 keV photon
KEV_MICRON = 1.2398419843320026e-3  # hc in keV µm: λ[µm] = KEV_MICRON / E[keV]


@dataclass(frozen=True)
class SEDPoints:
    """One data set's points in the broad-band picture.

    Attributes
    ----------
    label : str
        Legend entry (the plugin's name).
    energy, energy_low, energy_high : ndarray
        Where each point is drawn and the energies it covers (keV).
    nufnu, nufnu_low, nufnu_high : ndarray
        νFν (erg / (cm2 s)) and its 1-sigma bounds (points with ``nufnu <= 0`` are not drawn).
    upper_limit : ndarray of bool
        Points drawn as upper limits at ``nufnu``.
    """

    label: str
    energy: np.ndarray
    energy_low: np.ndarray
    energy_high: np.ndarray
    nufnu: np.ndarray
    nufnu_low: np.ndarray
    nufnu_high: np.ndarray
    upper_limit: np.ndarray


def draw_points(ax: Any, points: SEDPoints, colour: str) -> None:
    """Draw one data set's νFν points with their energy extents and 1-sigma errors,
    and its upper limits as arrows."""
    shown = (points.nufnu > 0) & ~points.upper_limit
    x, y = points.energy[shown], points.nufnu[shown]
    ax.errorbar(x, y, xerr=[x - points.energy_low[shown], points.energy_high[shown] - x],
                yerr=[y - np.clip(points.nufnu_low[shown], y * 1e-3, None), points.nufnu_high[shown] - y],
                fmt="o", ms=3, color=colour, label=points.label)
    limits = points.upper_limit & (points.nufnu > 0)
    if np.any(limits):
        ax.errorbar(points.energy[limits], points.nufnu[limits], yerr=0.4 * points.nufnu[limits], uplims=True,
                    fmt="none", color=colour)


def plot_sed(analysis: Any, data: Any = None, ene_min: Any = None, ene_max: Any = None, sources: Sequence[str] = (),
             use_components: bool = False, components: Sequence[str] = (), n_draws: int = 200,
             confidence_level: float = 0.68, min_significance: float = 3.0, n_energies: int = 400, seed: int = 0,
             ax: Any = None) -> Any:
    """νFν of the model (median and a band holding ``confidence_level`` of the draws)
    and of every data set unfolded with it, energy in keV with Hz and µm on the top axes.

    Parameters
    ----------
    analysis : BayesianAnalysis, JointLikelihood or AnalysisResults
        An analysis that has run, or results together with ``data`` (the DataList they
        were fitted to).
    ene_min, ene_max : float, optional
        The energy range (keV); by default the data's, widened by a factor 3 each side.
    sources, use_components, components
        Which model curves, as in ``get_flux`` (default: the sum of the point sources
        whose spectral shape is a photon spectrum, leaving out imaging's band magnitudes).
    min_significance : float
        X-ray spectra's display bins are merged until each holds this many sigma.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    AnalysisError
        If no data set of the analysis draws points in this picture.
    """
    import matplotlib.pyplot as plt

    from .displays import _draw_subset, keep_text_inside, posterior_draws
    from .flux_units import resolve_flux_unit
    from .fluxes import flux_rows
    from .results import AnalysisResults

    plugins, draws = posterior_draws(analysis, data, n_draws, seed, picture="plot_sed")
    results = analysis if isinstance(analysis, AnalysisResults) else analysis.results
    points = [p.sed_points(draws, min_significance=min_significance, confidence_level=confidence_level)
              for p in plugins]
    points = [p for p in points if p is not None]
    if not points:
        raise AnalysisError(f"no data set of {[p.name for p in plugins]} draws points in the SED picture")
    low = min(float(np.min(p.energy_low)) for p in points)
    high = max(float(np.max(p.energy_high)) for p in points)
    lo = float(ene_min) if ene_min is not None else low / 3.0
    hi = float(ene_max) if ene_max is not None else high * 3.0
    calculator, thetas = results._flux_draws()
    space = calculator.space
    shown = list(sources) or [name for name in space.point_source_names
                              if getattr(space.model.sources[name].spectral_shape, "photon_spectrum", True)]
    if not shown:
        raise AnalysisError("the model has no point source with a photon spectrum to draw: name the sources")
    rows = flux_rows(space, shown, use_components, components,
                     sum_sources=not sources and not use_components and len(shown) > 1)
    energies = np.geomspace(lo, hi, n_energies)
    model = calculator.spectra(_draw_subset(thetas, n_draws, seed), rows, energies,
                               resolve_flux_unit("erg/(cm2 s)", at_one_energy=True))
    tail = 50.0 * (1.0 - confidence_level)
    figure, ax = (plt.subplots(figsize=(9, 5.5)) if ax is None else (ax.figure, ax))
    for k, row in enumerate(rows):
        bottom, median, top = np.percentile(model[:, k], [tail, 50.0, 100.0 - tail], axis=0)
        ax.plot(energies, median, color="k" if len(rows) == 1 else f"C{len(points) + k}", lw=1.2,
                label=f"model: {row.label}")
        ax.fill_between(energies, bottom, top, color="0.5" if len(rows) == 1 else f"C{len(points) + k}",
                        alpha=0.3, lw=0)
    for k, p in enumerate(points):
        draw_points(ax, p, f"C{k}")
    # the data set the vertical range (an absorbed model falls by hundreds of decades in the EUV)
    shown = np.concatenate([p.nufnu[p.nufnu > 0] for p in points])
    peak = float(np.nanmax(np.percentile(model, 50.0, axis=0)))
    if shown.size:
        ax.set_ylim(shown.min() / 10.0, max(shown.max(), peak) * 5.0)
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), xlabel="energy (keV)", ylabel="νFν [erg / (cm2 s)]")
    frequency = ax.secondary_xaxis("top", functions=(lambda e: e * KEV_TO_HZ, lambda f: f / KEV_TO_HZ))
    frequency.set_xlabel("frequency (Hz)")
    wavelength = ax.secondary_xaxis(1.16, functions=(lambda e: KEV_MICRON / np.maximum(e, 1e-300),
                                                     lambda w: KEV_MICRON / np.maximum(w, 1e-300)))
    wavelength.set_xlabel("wavelength (µm)")
    ax.legend(fontsize=8)
    figure.tight_layout()
    keep_text_inside(figure)
    return figure
