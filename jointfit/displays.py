"""Pictures of a fit, as 3ML draws them: each plugin's data against the model with
residuals (``display_spectrum_model_counts``) and the sources' spectra with posterior
bands (``plot_spectra``).

Both evaluate a subset of the posterior draws in one vectorised call; matplotlib is
imported only when a picture is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from .errors import AnalysisError
from .flux_units import resolve_flux_unit
from .fluxes import band_in_kev, flux_rows

__all__ = ["display_spectrum_model_counts", "plot_spectra", "posterior_draws", "analysed", "as_draws", "plain_log_axis",
           "keep_text_inside"]


def as_draws(values: Any) -> dict[str, Any]:
    """Parameter values by path with a leading axis of draws (JAX arrays): arrays of
    draws as they are, one model's scalars as one draw; what a plugin's picture maps a
    pure function over with ``jax.vmap``."""
    import jax.numpy as jnp

    batched = {k: jnp.asarray(v, dtype=float) for k, v in values.items()}
    if all(v.ndim == 0 for v in batched.values()):
        batched = {k: v[None] for k, v in batched.items()}
    n = max(v.shape[0] for v in batched.values() if v.ndim)
    return {k: jnp.broadcast_to(v, (n,)) if v.ndim == 0 else v for k, v in batched.items()}


def _draw_subset(samples: np.ndarray, n_draws: int, seed: int) -> np.ndarray:
    """Up to ``n_draws`` rows of ``samples``, chosen without replacement with a fixed
    seed so that a picture is reproducible."""
    if samples.shape[0] <= n_draws:
        return samples
    rows = np.sort(np.random.default_rng(seed).choice(samples.shape[0], n_draws, replace=False))
    return samples[rows]


def analysed(analysis: Any, data: Any = None, what: str = "the picture") -> tuple[Any, Any, Any]:
    """The results, plugins and parameter space of an analysis that has run, or of
    AnalysisResults together with ``data``, the DataList they were fitted to (by
    default rebuilt from the results: :meth:`AnalysisResults.data_list`), the plugins
    set up on that space.

    Raises
    ------
    AnalysisError
        If results come without data, or do not belong to this data and model.
    """
    from .log_density import JointLogDensity
    from .results import AnalysisResults

    if isinstance(analysis, AnalysisResults):
        if data is None:
            try:
                data = analysis.data_list()
            except AnalysisError as exc:
                raise AnalysisError(f"results alone hold no data and cannot rebuild it ({exc}): pass the "
                                    f"DataList they were fitted to, {what}(results, data=data_list)") from None
        results, plugins, space = analysis, data, JointLogDensity(analysis.model, data).space
    else:
        results, plugins, space = analysis.results, analysis.data, analysis.space
        for plugin in plugins:
            # a plugin keeps the state of its last set-up: another analysis of the same
            # plugin object since this one ran must not draw its model here
            if not plugin.is_set_up_for(space):
                plugin.setup(space)
    if list(results.free_parameters) != list(space.free_names):
        raise AnalysisError(f"these results are not of this data and model: their free parameters "
                            f"{results.free_parameters} differ from {list(space.free_names)}")
    return results, plugins, space


def posterior_draws(analysis: Any, data: Any = None, n_draws: int = 200, seed: int = 0,
                    picture: str = "the picture") -> tuple[Any, dict[str, Any]]:
    """The plugins of an analysis and up to ``n_draws`` posterior draws (MLE results:
    draws from the covariance) as parameter values by path, each with a leading axis
    of draws: what pictures of a fit evaluate.

    ``analysis`` is a BayesianAnalysis or JointLikelihood that has run, or
    AnalysisResults together with ``data``, the DataList they were fitted to.
    """
    results, plugins, space = analysed(analysis, data, picture)
    draws = jax.jit(jax.vmap(space.unpack))(_draw_subset(results.samples_matrix, n_draws, seed))
    return plugins, draws


def display_spectrum_model_counts(analysis: Any, min_significance: float = 3.0, min_rate: float | None = None,
                                  n_draws: int = 200, confidence_level: float = 0.68, seed: int = 0,
                                  data: Any = None) -> Any:
    """Every plugin's data against the model, residuals below: the posterior median
    model and a band holding ``confidence_level`` of the draws (MLE results: draws from
    the covariance), one colour per plugin, display bins merged until each holds
    ``min_significance`` standard deviations (and ``min_rate`` counts/s if given).

    Parameters
    ----------
    analysis : BayesianAnalysis, JointLikelihood or AnalysisResults
        An analysis that has run (its data and its results are drawn), or results
        (read from a file, say) together with ``data``, the DataList they were fitted to.

    Returns
    -------
    matplotlib.figure.Figure, or a list of figures when plugins of several types draw
    their own pictures.

    Raises
    ------
    AnalysisError
        If the analysis has no results or no plugin that draws count spectra.
    """
    plugins, draws = posterior_draws(analysis, data, n_draws, seed, picture="display_spectrum_model_counts")
    by_type: dict[type, list[Any]] = {}
    for plugin in plugins:
        by_type.setdefault(type(plugin), []).append(plugin)
    figures = [kind.display_model_counts(plugins, draws, min_significance=min_significance, min_rate=min_rate,
                                         confidence_level=confidence_level)
               for kind, plugins in by_type.items()]
    figures = [f for f in figures if f is not None]
    if not figures:
        raise AnalysisError(f"no plugin of {[p.name for p in plugins]} draws count spectra")
    return figures[0] if len(figures) == 1 else figures


def keep_text_inside(figure: Any) -> None:
    """Widen the figure's margins until everything drawn (long axis labels, corner's
    titles with their errors, secondary axes' labels) lies inside it, as
    ``savefig(bbox_inches="tight")`` would see it."""
    figure.canvas.draw()
    drawn = figure.get_tightbbox(figure.canvas.get_renderer())  # inches
    width, height = figure.get_size_inches()
    left, bottom = max(0.0, -drawn.x0 / width), max(0.0, -drawn.y0 / height)
    right, top = max(0.0, (drawn.x1 - width) / width), max(0.0, (drawn.y1 - height) / height)
    if left or bottom or right or top:
        params = figure.subplotpars
        figure.subplots_adjust(left=min(0.4, params.left + left + 0.01), bottom=min(0.4, params.bottom + bottom + 0.01),
                               right=max(0.6, params.right - right - 0.01), top=max(0.6, params.top - top - 0.01))


def plain_log_axis(axis: Any) -> None:
    """Label a log axis (``ax.xaxis``) with plain numbers (0.5, 2, 10) instead of
    matplotlib's 6×10⁻¹ for its minor ticks: majors always, minors at 2 and 5 times a
    power of ten where the axis spans under two decades."""
    import math

    from matplotlib.ticker import FuncFormatter, NullFormatter

    def plain(value: float, _: Any) -> str:
        return f"{value:g}"

    axis.set_major_formatter(FuncFormatter(plain))
    axis.axes.autoscale_view()
    low, high = sorted(axis.get_view_interval())
    if low > 0 and math.log10(high / low) < 2.0:
        def two_and_five(value: float, _: Any) -> str:
            mantissa = round(value / 10 ** math.floor(math.log10(value) + 1e-9), 6)
            return f"{value:g}" if mantissa in (2.0, 5.0) else ""

        axis.set_minor_formatter(FuncFormatter(two_and_five))
    else:
        axis.set_minor_formatter(NullFormatter())


def plot_spectra(results: Any, ene_min: Any = 10.0, ene_max: Any = 1e4, sources: Sequence[str] = (),
                 flux_unit: Any = "erg/(cm2 s)", energy_unit: Any = "keV", use_components: bool = False,
                 components: Sequence[str] = (), n_energies: int = 200, n_draws: int = 500,
                 confidence_level: float = 0.68, seed: int = 0, ax: Any = None) -> Any:
    """The sources' spectra (νFν by default: ``flux_unit="erg/(cm2 s)"``; or any flux
    density unit of :meth:`AnalysisResults.get_flux`) with the posterior median and a
    band holding ``confidence_level`` of the draws, per source or component, on
    log-spaced energies from ``ene_min`` to ``ene_max``. With components: each source's
    additive components (absorbed, as XSPEC plots them), its total and, where it has
    absorption or extinction, its unabsorbed total (dashed). Returns the figure."""
    import matplotlib.pyplot as plt

    from .fluxes import UNABSORBED, has_absorption

    lo, hi, _ = band_in_kev(ene_min, ene_max, energy_unit, None)
    unit = resolve_flux_unit(flux_unit, at_one_energy=True)
    calculator, thetas = results._flux_draws()
    space = calculator.space
    rows = flux_rows(space, list(sources) or None, use_components, components)
    if use_components or components:
        labels = {row.label for row in rows}
        for name in list(sources) or space.source_names:
            rows += [row for row in flux_rows(space, [name]) if row.label not in labels]
            rows += flux_rows(space, [name], absorbed=False) if has_absorption(space, name) else []
    energies = np.geomspace(lo, hi, n_energies)
    values = calculator.spectra(_draw_subset(thetas, n_draws, seed), rows, energies, unit)
    tail = 50.0 * (1.0 - confidence_level)
    figure, ax = (plt.subplots(figsize=(7, 5)) if ax is None else (ax.figure, ax))
    for colour, row in enumerate(rows):
        low, median, high = np.percentile(values[:, colour], [tail, 50.0, 100.0 - tail], axis=0)
        ax.plot(energies, median, color=f"C{colour}", label=row.label, ls="--" if row.label.endswith(UNABSORBED) else "-")
        ax.fill_between(energies, low, high, color=f"C{colour}", alpha=0.3, lw=0)
    quantity = {0: "N(E)", 1: "E N(E)", 2: "νFν"}[unit.power] if unit.density == "energy" else "flux density"
    ax.set(xscale="log", yscale="log", xlabel="energy (keV)", ylabel=f"{quantity} [{unit.unit.to_string()}]")
    plain_log_axis(ax.xaxis)
    ax.legend()
    keep_text_inside(figure)
    return figure
