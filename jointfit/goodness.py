"""Goodness of fit by simulation: posterior predictive checks and Q-Q plots.

For each of ``n`` posterior draws θ (for a maximum-likelihood fit, draws from its
Gaussian approximation, kept inside the parameters' bounds) every plugin simulates a
data set y' from the model at θ, and the plugin's discrepancy (its fit statistic:
C-stat, W-stat, chi2) is computed for the observed data and for y', both at θ. The
posterior predictive p-value of a plugin is the fraction of draws where the simulated
data lie at least as far from the model as the observed data (Gelman, Meng & Stern
1996, Statistica Sinica 6, 733); the joint p-value compares the sums over plugins.
A p-value near 0 says the model misses something in the data; values near 1 that it
fits better than noise allows (over-fitting, or errors overestimated).

The simulated data also give pictures: the data against the predictive band, point
by point, and the Q-Q plot of Buchner et al. (2014, A&A 564, A125; BXA), the
cumulative data against the cumulative predicted data along the data's axis
(energy), whose departures from the diagonal show where a model is wrong.

Everything for one draw is one pure JAX function (simulate and two discrepancies per
plugin), evaluated over all draws by one compiled, vectorised program.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._batches import RowProgram
from .displays import analysed
from .errors import AnalysisError

__all__ = ["PredictiveCheck", "posterior_predictive_check"]

REPLICATE_LIMIT = 20_000_000
"""Most simulated values (draws times points) a check keeps for its pictures."""
_PROGRAM_POINTS = 2_000_000
"""Simulated values of one compiled call: some tens of megabytes."""


@dataclass(frozen=True)
class _PluginCheck:
    """One plugin's part of a check: its statistic's name, the discrepancy of the data
    and of the simulated data at each draw, the data, and (when kept) the simulated
    data sets ``(draws, *data shape)``."""

    statistic: str
    observed_discrepancy: np.ndarray
    replicated_discrepancy: np.ndarray
    data: np.ndarray
    replicates: np.ndarray | None
    axis: tuple[str, np.ndarray] | None


class PredictiveCheck:
    """A posterior predictive check of a fit (:func:`posterior_predictive_check`):
    p-values per plugin and joint (:meth:`table`), the data against the predictive
    band (:meth:`plot`) and Q-Q plots (:meth:`qq_plot`)."""

    def __init__(self, checks: dict[str, _PluginCheck], skipped: dict[str, str], draws: Any, analysis: str) -> None:
        self._checks = checks
        self.skipped = skipped
        """Plugins left out, with the reason (they give no data or discrepancy)."""
        self.draws = draws
        """The posterior draws simulated from (a pandas DataFrame, one column per free
        parameter), in the order of the discrepancies."""
        self.n_draws = len(draws)
        """Number of posterior draws simulated."""
        self.analysis = analysis
        """``"bayesian"`` or ``"mle"`` (draws from the covariance)."""

    @property
    def plugin_names(self) -> list[str]:
        """The plugins checked, in the analysis's order."""
        return list(self._checks)

    def p_value(self, plugin: str | None = None) -> float:
        """The posterior predictive p-value of one plugin, or of all together
        (``None``): the fraction of draws whose simulated data have a discrepancy at
        least that of the data."""
        observed, replicated = self.discrepancies(plugin)
        return float(np.mean(replicated >= observed))

    def discrepancies(self, plugin: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The discrepancy of the data and of the simulated data at each draw, of one
        plugin or summed over all (``None``)."""
        if plugin is None:
            return (sum(c.observed_discrepancy for c in self._checks.values()),
                    sum(c.replicated_discrepancy for c in self._checks.values()))
        check = self._check(plugin)
        return check.observed_discrepancy, check.replicated_discrepancy

    def simulated_data(self, plugin: str) -> np.ndarray:
        """The data sets simulated for ``plugin``, one per draw ``(n_draws, *data
        shape)``; raises if they were not kept."""
        check = self._check(plugin)
        if check.replicates is None:
            raise AnalysisError(f"the simulated data sets of {plugin!r} were not kept (more than "
                                f"{REPLICATE_LIMIT} values, or keep_simulations=False)")
        return check.replicates

    def _check(self, plugin: str) -> _PluginCheck:
        if plugin not in self._checks:
            why = f": {self.skipped[plugin]}" if plugin in self.skipped else ""
            raise AnalysisError(f"no predictive check of {plugin!r}{why}; checked: {self.plugin_names}")
        return self._checks[plugin]

    def table(self) -> Any:
        """One row per plugin (and ``total`` for several): the statistic, number of
        points, its median over the draws for the data (``observed``) and for the
        simulated data (``replicated``, with the 16th and 84th percentiles), the
        p-value and its Monte Carlo error sqrt(p (1 - p) / n_draws), and, for data
        with an order (energy), ``p_value_cumulative``: the same test for the largest
        distance between the cumulative data and the cumulative predicted data (the
        Q-Q plot's distance from its diagonal)."""
        import pandas as pd

        rows = []
        names: list[str | None] = list(self._checks)
        if len(self._checks) > 1:
            names.append(None)
        for name in names:
            observed, replicated = self.discrepancies(name)
            p = float(np.mean(replicated >= observed))
            low, middle, high = np.percentile(replicated, [16, 50, 84])
            statistic = (self._checks[name].statistic if name is not None else
                         " + ".join(sorted({c.statistic for c in self._checks.values()})))
            points = (self._checks[name].data.size if name is not None else
                      sum(c.data.size for c in self._checks.values()))
            rows.append({"plugin": name or "total", "statistic": statistic, "n_points": points,
                         "observed": float(np.median(observed)), "replicated": float(middle),
                         "replicated_16": float(low), "replicated_84": float(high), "p_value": p,
                         "p_value_error": math.sqrt(max(p * (1 - p), 1.0 / self.n_draws) / self.n_draws),
                         "p_value_cumulative": self._cumulative_p_value(name)})
        return pd.DataFrame(rows).set_index("plugin")

    def _cumulative_p_value(self, plugin: str | None) -> float:
        """The p-value of the largest distance between cumulative data and cumulative
        predicted data, each draw's simulated data against the same predicted mean
        (NaN for data without order or without kept simulations)."""
        if plugin is None:
            return math.nan
        check = self._checks[plugin]
        if check.replicates is None or check.data.ndim != 1:
            return math.nan
        predicted, replicated, data = _cumulatives(check)
        observed = np.max(np.abs(data - predicted))
        replicated_distance = np.max(np.abs(replicated - predicted), axis=1)
        return float(np.mean(replicated_distance >= observed))

    def display(self) -> str:
        """Print (and return) the table with a one-line reading of each p-value."""
        table = self.table()
        source = ("posterior draws" if self.analysis == "bayesian"
                  else "draws from the maximum-likelihood fit's Gaussian approximation")
        lines = [f"Posterior predictive check ({self.n_draws} {source}):", ""]
        for name, row in table.iterrows():
            lines.append(f"  {name:30s} {row['statistic']:>8s} {row['observed']:12.4g} for the data, "
                         f"{row['replicated']:.4g} [{row['replicated_16']:.4g}, {row['replicated_84']:.4g}] "
                         f"simulated: p = {row['p_value']:.3f} +/- {row['p_value_error']:.3f}  "
                         f"({reading(row['p_value'])})")
        for name, why in self.skipped.items():
            lines.append(f"  {name:30s} not checked: {why}")
        text = "\n".join(lines)
        print(text)
        return text

    def __repr__(self) -> str:
        return f"PredictiveCheck({self.n_draws} draws; p = {self.p_value():.3f} over {self.plugin_names})"

    # -- pictures ----------------------------------------------------------------------------
    def _one_dimensional(self, plugin: str, picture: str) -> _PluginCheck:
        check = self._check(plugin)
        if check.replicates is None:
            raise AnalysisError(f"the {picture} of {plugin!r} needs the simulated data sets, which were not kept "
                                f"(more than {REPLICATE_LIMIT} values, or keep_simulations=False)")
        if check.data.ndim != 1:
            raise AnalysisError(f"the {picture} is for data sets with one axis; {plugin!r} has data of shape "
                                f"{check.data.shape} (an image: see display_spectrum_model_counts)")
        return check

    def plot(self, plugins: Sequence[str] | None = None, confidence_levels: Sequence[float] = (0.68, 0.95)) -> Any:
        """The data against the posterior predictive distribution, point by point:
        bands holding ``confidence_levels`` of the simulated data, their median, and
        below, each point's distance from the predicted mean in units of the
        simulated data's standard deviation. One row of panels per plugin (default:
        those with one-dimensional data). Returns the matplotlib figure."""
        import matplotlib.pyplot as plt

        from .displays import keep_text_inside

        names = self._picture_plugins(plugins)
        figure, axes = plt.subplots(2 * len(names), 1, figsize=(7, 4.5 * len(names)), squeeze=False,
                                    gridspec_kw={"height_ratios": [3, 1] * len(names)})
        for k, name in enumerate(names):
            check = self._one_dimensional(name, "predictive plot")
            top, bottom = axes[2 * k, 0], axes[2 * k + 1, 0]
            x, label = self._coordinates(check)
            for level, alpha in zip(sorted(confidence_levels, reverse=True), (0.2, 0.35, 0.5)):
                low, high = np.percentile(check.replicates, [50 * (1 - level), 50 * (1 + level)], axis=0)
                top.fill_between(x, low, high, step="mid", color="C0", alpha=alpha, lw=0,
                                 label=f"{level:.0%} of simulated data")
            top.step(x, np.median(check.replicates, axis=0), where="mid", color="C0", lw=1, label="median")
            top.plot(x, check.data, "k.", ms=3, label="data")
            top.set_ylabel("data")
            top.set_title(f"{name}: p = {self.p_value(name):.3f} ({check.statistic})", fontsize=10)
            top.legend(fontsize=8)
            spread = check.replicates.std(axis=0)
            residual = (check.data - check.replicates.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
            bottom.axhline(0.0, color="C0", lw=1)
            bottom.plot(x, residual, "k.", ms=3)
            bottom.set_ylabel("(data - mean) / sd")
            bottom.set_xlabel(label)
            self._scale_axes(check, top, bottom)
        keep_text_inside(figure)
        return figure

    def qq_plot(self, plugins: Sequence[str] | None = None, confidence_levels: Sequence[float] = (0.68, 0.95)) -> Any:
        """Q-Q plots (BXA's): the cumulative data against the cumulative predicted
        data (mean of the simulated data sets) along the data's order, the diagonal
        for a perfect model and the bands the simulated data's cumulatives fill; on
        the right, the difference from the prediction along the data's axis (energy),
        which shows where a model falls short. Returns the matplotlib figure."""
        import matplotlib.pyplot as plt

        from .displays import keep_text_inside, plain_log_axis

        names = self._picture_plugins(plugins)
        figure, axes = plt.subplots(len(names), 2, figsize=(10, 4.5 * len(names)), squeeze=False)
        for k, name in enumerate(names):
            check = self._one_dimensional(name, "Q-Q plot")
            qq, along = axes[k]
            x, label = self._coordinates(check)
            # cumulatives start from nothing, before the first point
            predicted, cumulative, data = (np.concatenate([np.zeros(a.shape[:-1] + (1,)), a], axis=-1)
                                           for a in _cumulatives(check))
            for level, alpha in zip(sorted(confidence_levels, reverse=True), (0.2, 0.35, 0.5)):
                low, high = np.percentile(cumulative, [50 * (1 - level), 50 * (1 + level)], axis=0)
                qq.fill_between(predicted, low, high, color="C0", alpha=alpha, lw=0,
                                label=f"{level:.0%} of simulated data")
                along.fill_between(x, (low - predicted)[1:], (high - predicted)[1:], color="C0", alpha=alpha, lw=0)
            qq.plot(predicted, predicted, color="C0", lw=1, label="perfect model")
            qq.plot(predicted, data, "k-", lw=1.2, label="data")
            self._mark_positions(qq, predicted[1:], data[1:], x, label)
            qq.set_xlabel("cumulative predicted data")
            qq.set_ylabel("cumulative data")
            qq.set_title(f"{name}: Q-Q plot, p = {self._cumulative_p_value(name):.3f} (largest distance)",
                         fontsize=10)
            qq.legend(fontsize=8, loc="upper left")
            along.axhline(0.0, color="C0", lw=1)
            along.plot(x, (data - predicted)[1:], "k-", lw=1.2)
            along.set_xlabel(label)
            along.set_ylabel("cumulative data - predicted")
            if check.axis is not None and self._logarithmic(x):
                along.set_xscale("log")
                plain_log_axis(along.xaxis)
        figure.subplots_adjust(wspace=0.35)
        keep_text_inside(figure)
        return figure

    def _picture_plugins(self, plugins: Sequence[str] | None) -> list[str]:
        if plugins is None:
            names = [n for n, c in self._checks.items() if c.replicates is not None and c.data.ndim == 1]
            if not names:
                raise AnalysisError(f"none of {self.plugin_names} has one-dimensional data with kept simulations "
                                    "for a picture")
            return names
        return [plugins] if isinstance(plugins, str) else list(plugins)

    @staticmethod
    def _coordinates(check: _PluginCheck) -> tuple[np.ndarray, str]:
        if check.axis is None:
            return np.arange(check.data.size, dtype=float), "point"
        label, x = check.axis
        return np.asarray(x, dtype=float), label

    @staticmethod
    def _logarithmic(x: np.ndarray) -> bool:
        return bool(np.all(x > 0) and x.max() > 10 * x.min())

    def _scale_axes(self, check: _PluginCheck, top: Any, bottom: Any) -> None:
        from .displays import plain_log_axis

        x, _ = self._coordinates(check)
        if check.axis is not None and self._logarithmic(x):
            for axis in (top, bottom):
                axis.set_xscale("log")
                plain_log_axis(axis.xaxis)
        positive = check.replicates[check.replicates > 0]
        if positive.size and np.all(check.data >= 0) and np.percentile(check.replicates, 99) > 30 * max(
                np.percentile(positive, 1), 1e-300):
            top.set_yscale("symlog", linthresh=max(1.0, float(np.percentile(positive, 5))))
            top.set_ylim(bottom=0.0)

    @staticmethod
    def _mark_positions(axis: Any, predicted: np.ndarray, cumulative: np.ndarray, x: np.ndarray, label: str) -> None:
        """The data's coordinates (energies) at a few evenly spaced fractions of the
        predicted total, marked along the Q-Q curve."""
        if label == "point" or x.size < 5:
            return
        unit = label[label.find("(") + 1:label.find(")")] if "(" in label else ""
        marked = sorted({int(np.searchsorted(predicted, f * predicted[-1])) for f in (0.2, 0.4, 0.6, 0.8)})
        for i in marked:
            if i < x.size:
                axis.plot(predicted[i], cumulative[i], "o", color="0.3", ms=3)
                axis.annotate(f"{x[i]:.3g} {unit}".strip(), (predicted[i], cumulative[i]), fontsize=7,
                              textcoords="offset points", xytext=(5, -10), color="0.3")


def reading(p_value: float) -> str:
    """A one-line reading of a posterior predictive p-value."""
    if p_value < 0.01:
        return "the model misses something in these data"
    if p_value < 0.05:
        return "tension: look at the residuals"
    if p_value > 0.99:
        return "fits better than the noise allows: errors too large?"
    return "consistent"


def posterior_predictive_check(analysis: Any, data: Any = None, *, n_draws: int = 500, seed: int = 0,
                               keep_simulations: bool = True) -> PredictiveCheck:
    """Goodness of fit by simulation: a posterior predictive check of each plugin.

    Parameters
    ----------
    analysis : BayesianAnalysis, JointLikelihood or AnalysisResults
        An analysis that has run, or results together with ``data``.
    data : DataList, optional
        The data results were fitted to; by default rebuilt from what the results
        keep (:meth:`AnalysisResults.data_list`: a spectrum's files and selection).
    n_draws : int
        Posterior draws simulated (all of them if there are fewer); the p-values'
        Monte Carlo error is about sqrt(p (1 - p) / n_draws).
    seed : int
        Seed of the choice of draws and of the simulations: a check is reproducible.
    keep_simulations : bool
        Keep the simulated data sets for :meth:`PredictiveCheck.plot` and
        :meth:`PredictiveCheck.qq_plot` (at most :data:`REPLICATE_LIMIT` values
        over all plugins; beyond, p-values only).

    Returns
    -------
    PredictiveCheck

    Raises
    ------
    AnalysisError
        If ``n_draws`` is not a positive integer, results come without data or not
        of this data, or no plugin gives its data and a discrepancy.
    """
    import pandas as pd

    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1:
        raise AnalysisError(f"n_draws must be a positive integer, got {n_draws!r}")
    results, plugins, space = analysed(analysis, data, "posterior_predictive_check")
    checked = [p for p in plugins if p.supports_predictive_checks]
    skipped = {p.name: f"{type(p).__name__} gives no observed_data and discrepancy" for p in plugins
               if not p.supports_predictive_checks}
    if not checked:
        raise AnalysisError(f"no plugin of this analysis can be checked by simulation: {skipped}")
    samples = results.samples_matrix
    rows = np.arange(samples.shape[0])
    if rows.size > n_draws:
        rows = np.sort(np.random.default_rng(seed).choice(rows.size, n_draws, replace=False))
    # a Gaussian approximation's draws may leave the bounds, where models are undefined
    theta = np.clip(samples[rows], space.lower_bounds, space.upper_bounds)
    observed = {p.name: jnp.asarray(p.observed_data()) for p in checked}
    points = sum(int(np.prod(v.shape)) for v in observed.values())
    keep = keep_simulations and rows.size * points <= REPLICATE_LIMIT
    key = jax.random.PRNGKey(seed)

    def one_draw(row: Any) -> dict[str, tuple[Any, ...]]:
        values = space.unpack(row[:-1])
        draw_key = jax.random.fold_in(key, row[-1].astype(jnp.uint32))
        out = {}
        for i, plugin in enumerate(checked):
            simulated = plugin.simulate(values, jax.random.fold_in(draw_key, i))
            out[plugin.name] = (plugin.discrepancy(values, observed[plugin.name]),
                                plugin.discrepancy(values, simulated)) + ((simulated,) if keep else ())
        return out

    program = RowProgram(one_draw, theta.shape[1] + 1, capacity=max(4, min(1024, _PROGRAM_POINTS // max(points, 1))),
                         rows_per_run=rows.size)
    outputs = program(np.column_stack([theta, rows.astype(float)]))
    checks = {}
    for plugin in checked:
        out = outputs[plugin.name]
        checks[plugin.name] = _PluginCheck(
            statistic=plugin.discrepancy_name(),
            observed_discrepancy=np.asarray(out[0]), replicated_discrepancy=np.asarray(out[1]),
            data=np.asarray(observed[plugin.name]), replicates=np.asarray(out[2]) if keep else None,
            axis=plugin.data_axis())
    for name, check in checks.items():
        if not np.all(np.isfinite(check.observed_discrepancy)):
            raise AnalysisError(f"the discrepancy of {name!r} is not finite at some draws: the model predicts "
                                "nothing where data were seen; check the fit")
    return PredictiveCheck(checks, skipped, pd.DataFrame(theta, columns=list(space.free_names)), results.analysis)


def _cumulatives(check: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative sums along the data's axis of the predicted data (the simulations'
    mean), of each simulation (draws first) and of the data."""
    return (np.cumsum(check.replicates.mean(axis=0)), np.cumsum(check.replicates, axis=1),
            np.cumsum(check.data))
