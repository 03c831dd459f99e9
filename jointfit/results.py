"""Results of an analysis: the posterior (or MLE) as ArviZ data, statistics, displays,
corner plots, and a self-describing netCDF file.

The ArviZ data is what the installed ArviZ uses: an ``InferenceData`` under ArviZ 0.x,
an xarray ``DataTree`` under ArviZ 1.x (:mod:`jointfit._arviz`); a results file written
under either reads under the other. Everything a result needs is in it: posterior draws named by parameter
path (linked parameters included), ``sample_stats`` (log-likelihood, log-prior and
the sampler's own statistics), the pointwise ``log_likelihood`` of every plugin (for an
MLE, each plugin's total at the best fit), and in the posterior's attributes the model
(YAML), units and the numbers computed from the data when the result was made (lnL at
the posterior mean for DIC, ln Z, the MLE and its covariance). A result read back from
a file is therefore complete.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _arviz, _mpi
from .errors import AnalysisError
from .model import Model

__all__ = ["AnalysisResults", "load_analysis_results"]

_FORMAT = "jointfit-results-1"


class AnalysisResults:
    """Posterior samples or a maximum-likelihood fit, with what 3ML's results offer.

    Build it from an analysis (``ba.results``, ``jl.results``) or a file
    (:func:`load_analysis_results`).
    """

    def __init__(self, inference_data: Any) -> None:
        if not _arviz.has_group(inference_data, "posterior"):
            raise AnalysisError("this ArviZ data has no posterior group: it was not written by jointfit")
        posterior = _arviz.group(inference_data, "posterior")
        if posterior.attrs.get("jointfit_format") != _FORMAT:
            raise AnalysisError("this ArviZ data was not written by jointfit (no jointfit_format attribute)")
        missing = [name for name in ("sample_stats", "log_likelihood") if not _arviz.has_group(inference_data, name)]
        if missing:
            raise AnalysisError(f"these jointfit results lack their {' and '.join(missing)} group(s); "
                                "a results file must keep every group jointfit wrote")
        self._idata = inference_data
        self._posterior = posterior
        self._sample_stats = _arviz.group(inference_data, "sample_stats")
        self._log_likelihood = _arviz.group(inference_data, "log_likelihood")
        self._attrs = posterior.attrs
        self._flux_calculator: Any = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_samples(cls, density: Any, samples: np.ndarray, *, analysis: str, sampler: str,
                     sample_stats: dict[str, np.ndarray] | None = None,
                     extra: dict[str, Any] | None = None,
                     best_fit_log_likelihoods: dict[str, float] | None = None) -> AnalysisResults:
        """Results from posterior ``samples`` of shape ``(chains, draws, n_free)``.

        ``density`` is the :class:`~jointfit.log_density.JointLogDensity` they were
        drawn from: it gives the pointwise log-likelihoods, linked values, the model
        and units. ``extra`` adds attributes (ln Z, the MLE...). An MLE's draws (from
        its covariance) are not evaluated: ``best_fit_log_likelihoods`` gives each
        plugin's log-likelihood at the last draw, the best fit, and the
        ``log_likelihood`` group holds those totals.

        The ``log_likelihood`` group is pointwise (attribute ``pointwise`` 1) unless
        draws times points exceed the density's ``POINTWISE_LIMIT``; it then holds each
        plugin's total per draw, and WAIC and LOO are not available.
        """
        import jax.numpy as jnp

        space = density.space
        samples = np.asarray(samples, dtype=float)
        chains, draws, n_free = samples.shape
        flat = samples.reshape(-1, n_free)
        if best_fit_log_likelihoods is None:
            # every draw and the posterior mean (appended last) in one go
            mean_theta = flat.mean(axis=0)
            everything, linked, log_prior = density.draw_summary(np.vstack([flat, mean_theta]))
            pointwise = {k: np.asarray(v)[:-1].reshape(chains, draws, -1) for k, v in everything.items()}
            at_mean = float(sum(np.sum(np.asarray(v)[-1]) for v in everything.values()))
            linked = {k: np.asarray(v)[:-1] for k, v in linked.items()}
            log_prior = np.asarray(log_prior)[:-1]
            log_likelihood = sum(v.sum(axis=-1) for v in pointwise.values())
        else:
            linked, log_prior = density.draw_values(jnp.asarray(flat))
            linked, log_prior = {k: np.asarray(v) for k, v in linked.items()}, np.asarray(log_prior)
            pointwise = {k: np.full((1, 1, 1), float(best_fit_log_likelihoods[k])) for k in density.plugin_names}
            at_mean = math.nan
            log_likelihood = np.full((chains, draws), np.nan)
            log_likelihood[-1, -1] = sum(float(v.sum()) for v in pointwise.values())
        if best_fit_log_likelihoods is None:
            score = log_likelihood.reshape(-1) + (log_prior.reshape(-1) if space.missing_priors == () else 0.0)
            best_theta = flat[int(np.argmax(score))]
        else:
            best_theta = flat[-1]
        fit_statistics = _fit_statistics(density, best_theta)
        posterior = {name: samples[..., i] for i, name in enumerate(space.free_names)}
        posterior.update({k: v.reshape(chains, draws) for k, v in linked.items()})
        stats = {"log_like": log_likelihood}
        if space.missing_priors == ():
            stats["log_prior"] = log_prior.reshape(chains, draws)
        stats.update({k: np.asarray(v) for k, v in (sample_stats or {}).items()})
        attrs = {
            "jointfit_format": _FORMAT,
            "analysis": analysis,
            "sampler": sampler,
            "model_yaml": space.model.to_yaml(),
            "free_parameters": json.dumps(list(space.free_names)),
            "linked_parameters": json.dumps(list(space.linked_names)),
            "units": json.dumps({k: str(space.unit(k)) for k in posterior}),
            "plugins": json.dumps(list(density.plugin_names)),
            "n_points": json.dumps(density.n_points),
            "pointwise": int(best_fit_log_likelihoods is None
                             and all(v.shape[-1] == density.n_points[k] for k, v in pointwise.items())),
            "log_likelihood_at_mean": at_mean,
            "fit_statistics": json.dumps(fit_statistics),
            "data_recipes": json.dumps({plugin.name: plugin.recipe() for plugin in density.data}),
        }
        for key, value in (extra or {}).items():
            attrs[key] = json.dumps(value) if isinstance(value, list | dict) else value
        data = _arviz.build({"posterior": posterior, "sample_stats": stats, "log_likelihood": pointwise},
                            dims={k: [f"{k}_point"] for k in pointwise}, attrs={"posterior": attrs})
        return cls(data)

    # -- access -------------------------------------------------------------------------------
    @property
    def inference_data(self) -> Any:
        """The ArviZ data holding everything: an ``InferenceData`` under ArviZ 0.x, an
        xarray ``DataTree`` under ArviZ 1.x, with groups ``posterior``,
        ``sample_stats`` and ``log_likelihood`` (``inference_data.posterior`` works
        under both)."""
        return self._idata

    @property
    def analysis(self) -> str:
        """``"bayesian"`` or ``"mle"``."""
        return str(self._attrs["analysis"])

    @property
    def sampler(self) -> str:
        """The sampler or optimiser that made these results."""
        return str(self._attrs["sampler"])

    @property
    def free_parameters(self) -> list[str]:
        """Paths of the free parameters."""
        return json.loads(self._attrs["free_parameters"])

    @property
    def parameter_names(self) -> list[str]:
        """Paths of the free and linked parameters (the posterior's variables)."""
        return self.free_parameters + json.loads(self._attrs["linked_parameters"])

    @property
    def units(self) -> dict[str, str]:
        """Unit of each posterior variable."""
        return json.loads(self._attrs["units"])

    @property
    def model(self) -> Model:
        """The model as it was analysed (a new object each call)."""
        return Model.from_yaml(self._attrs["model_yaml"])

    def samples(self, path: str) -> np.ndarray:
        """All draws of one parameter, chains concatenated."""
        if path not in self._posterior:
            raise AnalysisError(f"no parameter {path!r} in the results; they have {self.parameter_names}")
        return np.asarray(self._posterior[path]).reshape(-1)

    @property
    def samples_matrix(self) -> np.ndarray:
        """Draws of the free parameters, shape ``(n_draws, n_free)``."""
        return np.column_stack([self.samples(p) for p in self.free_parameters])

    def _stat(self, name: str) -> np.ndarray:
        return np.asarray(self._sample_stats[name]).reshape(-1)

    @property
    def ln_Z(self) -> float:
        """Natural log of the evidence (nested sampling only)."""
        return self._evidence("ln_Z")

    @property
    def ln_Z_error(self) -> float:
        """Error on :attr:`ln_Z` (natural log)."""
        return self._evidence("ln_Z_error")

    @property
    def log10_Z(self) -> float:
        """log10 of the evidence: what 3ML prints as ``log(Z)``."""
        return self.ln_Z / math.log(10.0)

    @property
    def mpi_ranks(self) -> int:
        """The number of MPI processes that ran the sampler together (UltraNest under
        ``mpiexec``; docs/scaling.md), 1 for a run in one process."""
        return int(self._attrs.get("mpi_ranks", 1))

    def _left_to_rank_0(self) -> bool:
        """Whether this process leaves writing and printing these results to rank 0:
        they come from one run spread over several MPI processes, each of which holds
        them, and this is not rank 0."""
        return self.mpi_ranks > 1 and not _mpi.is_root()

    def _evidence(self, key: str) -> float:
        if key not in self._attrs:
            raise AnalysisError(f"these results ({self.sampler}) have no evidence; nested sampling gives one")
        return float(self._attrs[key])

    # -- statistics ----------------------------------------------------------------------------
    @property
    def n_points(self) -> int:
        """Total number of data points (bins) of all plugins."""
        return int(sum(json.loads(self._attrs["n_points"]).values()))

    def _pointwise_matrix(self) -> np.ndarray:
        groups = [np.asarray(self._log_likelihood[k]) for k in json.loads(self._attrs["plugins"])]
        return np.concatenate([g.reshape(g.shape[0], g.shape[1], -1) for g in groups], axis=-1)

    def information_criteria(self) -> dict[str, float]:
        """AIC (small-sample corrected, as 3ML), BIC, DIC and pDIC, and for posterior
        samples WAIC and PSIS-LOO (deviance scale, -2 elpd; LOO by ArviZ) and ln Z when
        available."""
        k, n = len(self.free_parameters), self.n_points
        log_like = self._stat("log_like")
        best = float(self._attrs["mle_log_likelihood"]) if "mle_log_likelihood" in self._attrs else float(log_like.max())
        criteria = {
            "AIC": -2.0 * best + 2.0 * k + (2.0 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf),
            "BIC": -2.0 * best + k * math.log(n),
        }
        if self.analysis == "bayesian":
            mean_deviance = float(np.mean(-2.0 * log_like))
            deviance_at_mean = -2.0 * float(self._attrs["log_likelihood_at_mean"])
            criteria["DIC"] = 2.0 * mean_deviance - deviance_at_mean
            criteria["pDIC"] = mean_deviance - deviance_at_mean
        if self.analysis == "bayesian" and not int(self._attrs.get("pointwise", 1)):
            criteria["WAIC"] = criteria["LOO"] = math.nan  # too many points to keep per draw
        elif self.analysis == "bayesian":
            pointwise = self._pointwise_matrix()
            criteria["WAIC"] = -2.0 * _arviz.elpd_waic(pointwise)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ArviZ warns on heavy tails: the k values are returned
                criteria["LOO"] = -2.0 * _arviz.elpd_loo(pointwise)
        if "ln_Z" in self._attrs:
            criteria["ln_Z"] = self.ln_Z
            criteria["log10_Z"] = self.log10_Z
        return criteria

    def summary(self, hdi_prob: float = 0.68) -> Any:
        """pandas DataFrame, one row per parameter: unit, mean, median, the 68 % and
        90 % equal-tailed intervals, the HDI at ``hdi_prob``, bulk and tail ESS, R-hat."""
        import pandas as pd

        rows = []
        for name in self.parameter_names:
            chains = np.asarray(self._posterior[name])
            x = chains.reshape(-1)
            q = np.quantile(x, [0.05, 0.16, 0.5, 0.84, 0.95])
            bounds = _arviz.hdi(x, hdi_prob)
            rows.append({
                "parameter": name, "unit": self.units.get(name, ""), "mean": x.mean(), "median": q[2],
                "lower_68": q[1], "upper_68": q[3], "lower_90": q[0], "upper_90": q[4],
                f"hdi_{hdi_prob:g}_lower": bounds[0], f"hdi_{hdi_prob:g}_upper": bounds[1],
                "ess_bulk": _arviz.ess(chains, "bulk"), "ess_tail": _arviz.ess(chains, "tail"),
                # R-hat compares chains: nested sampling's one set of draws has none
                "r_hat": _arviz.rhat(chains) if chains.shape[0] > 1 else math.nan,
            })
        return pd.DataFrame(rows).set_index("parameter")

    def point_estimates(self) -> Any:
        """pandas DataFrame of the best point (MAP draw, or the MLE) with 68 % errors
        that contain it and respect the parameters' bounds.

        Posterior draws: the shortest interval holding 68 % of the draws among those
        that contain the MAP (the equal-tailed one can leave out a MAP piled at a
        bound). MLE: ± the covariance's sigma, cut at the bounds. Column ``limit`` says
        where a bound cut the interval (``"lower bound"``, ``"upper bound"``), as
        Sherpa's ``conf`` says when it hits a limit.
        """
        import pandas as pd

        model = self.model
        if self.analysis == "mle":
            best = np.asarray(json.loads(self._attrs["mle"]))
            error = np.sqrt(np.diag(np.asarray(json.loads(self._attrs["covariance"]))))
            lower, upper = best - error, best + error
            names = self.free_parameters
        else:
            i = self._best_draw()
            names = self.parameter_names
            best = np.array([self.samples(p)[i] for p in names])
            intervals = np.array([_interval_containing(self.samples(p), value, 0.68) for p, value in zip(names, best)])
            lower, upper = intervals[:, 0], intervals[:, 1]
        bounds = [model.parameters[n].bounds if n in model.parameters else (None, None) for n in names]
        low_bounds = np.array([-np.inf if low is None else low for low, _ in bounds], dtype=float)
        high_bounds = np.array([np.inf if high is None else high for _, high in bounds], dtype=float)
        cut_low, cut_high = lower < low_bounds, upper > high_bounds
        lower, upper = np.maximum(lower, low_bounds), np.minimum(upper, high_bounds)
        limit = np.where(cut_low & cut_high, "both bounds",
                         np.where(cut_low, "lower bound", np.where(cut_high, "upper bound", "")))
        return pd.DataFrame({"value": best, "negative_error": lower - best, "positive_error": upper - best,
                             "unit": [self.units.get(n, "") for n in names], "limit": limit},
                            index=pd.Index(names, name="parameter"))

    def _best_draw(self) -> int:
        """Index (chains concatenated) of the MAP draw; an MLE result keeps the best
        fit as its last draw."""
        score = self._stat("log_like")
        if self.analysis == "mle":
            return score.size - 1
        if "log_prior" in self._sample_stats:
            score = score + self._stat("log_prior")
        return int(np.argmax(score))

    def log_likelihood_per_plugin(self) -> dict[str, float]:
        """Each plugin's log-likelihood at the best point (MAP draw, or the MLE)."""
        i = self._best_draw()
        n_draws = self._stat("log_like").size
        per_plugin = {}
        for k in json.loads(self._attrs["plugins"]):
            values = np.asarray(self._log_likelihood[k])
            stored = values.shape[0] * values.shape[1]  # an MLE keeps its best fit only
            per_plugin[k] = float(values.reshape(stored, -1)[i if stored == n_draws else -1].sum())
        return per_plugin

    def display(self) -> str:
        """Print (and return) what 3ML prints after a fit: the best point with errors
        and units, -log(likelihood) per plugin and in total, and the statistics.

        Results of a run spread over MPI processes (:attr:`mpi_ranks` above 1) are
        printed by rank 0 only; every rank returns the text."""
        title = ("Maximum a posteriori probability (MAP) point:" if self.analysis == "bayesian"
                 else "Best fit values (maximum likelihood):")
        lines = [title, ""]
        table = self.point_estimates()
        for name, row in table.iterrows():
            lines.append(f"  {name:45s} {row['value']:12.5g}  {row['negative_error']:+10.3g} "
                         f"{row['positive_error']:+10.3g}  {row['unit']}"
                         + (f"  (interval cut at its {row['limit']})" if row["limit"] else ""))
        per_plugin = self.log_likelihood_per_plugin()
        lines += ["", "Values of -log(likelihood) at the best point:", ""]
        lines += [f"  {k:45s} {-v:14.6f}" for k, v in per_plugin.items()]
        lines.append(f"  {'total':45s} {-sum(per_plugin.values()):14.6f}")
        lines += self._fit_statistic_lines()
        lines += ["", "Values of statistical measures:", ""]
        for key, value in self.information_criteria().items():
            label = {"ln_Z": "ln(Z) (natural log)", "log10_Z": "log10(Z) (3ML's log(Z))"}.get(key, key)
            error = ""
            if key == "ln_Z":
                error = f" +/- {self.ln_Z_error:.3f}"
            elif key == "log10_Z":
                error = f" +/- {self.ln_Z_error / math.log(10.0):.3f}"
            lines.append(f"  {label:45s} {value:14.6f}{error}")
        text = "\n".join(lines)
        if not self._left_to_rank_0():
            print(text)
        return text

    @property
    def fit_statistics(self) -> dict[str, tuple[str, float]]:
        """Each plugin's conventional fit statistic at the best point (MAP draw, or the
        MLE), its name and value, for the plugins that have one (X-ray spectra:
        ``("cstat", 187.3)``); empty for results written before they were kept."""
        return {k: (v[0], float(v[1])) for k, v in json.loads(self._attrs.get("fit_statistics", "{}")).items()}

    def data_list(self) -> Any:
        """The data these results were fitted to, rebuilt from what the results keep of
        each plugin (:meth:`jointfit.plugin.Plugin.recipe`: the files, statistic,
        grouping and selection of a spectrum), so that results read back from a file
        redraw and check without the data being rebuilt by hand.

        Raises
        ------
        AnalysisError
            If a plugin cannot be rebuilt (made from arrays in memory, or results
            written before they kept recipes); a file that is gone raises the plugin's
            ``DataError``, naming it.
        """
        from .data_list import DataList
        from .plugin import rebuild_plugin

        recipes = json.loads(self._attrs.get("data_recipes", "null"))
        if recipes is None:
            raise AnalysisError("these results were written before results kept what rebuilds their data")
        missing = [name for name, recipe in recipes.items() if recipe is None]
        if missing:
            raise AnalysisError(f"the data {missing} cannot be rebuilt from these results: they were made from "
                                "arrays in memory, not read from files")
        return DataList(*(rebuild_plugin(recipe) for recipe in recipes.values()))

    def _fit_statistic_lines(self) -> list[str]:
        """The summary's fit statistics: each plugin's, with its number of bins, and,
        when every plugin has one, the total over the degrees of freedom."""
        statistics = self.fit_statistics
        if not statistics:
            return []
        n_points = json.loads(self._attrs["n_points"])
        lines = ["", "Fit statistics at the best point:", ""]
        lines += [f"  {k:45s} {name:>8s} {value:14.6f} in {n_points[k]} bins" for k, (name, value) in statistics.items()]
        if set(statistics) == set(json.loads(self._attrs["plugins"])):
            bins, free = sum(n_points[k] for k in statistics), len(self.free_parameters)
            total = sum(value for _, value in statistics.values())
            names = sorted({name for name, _ in statistics.values()})
            lines.append(f"  {'total (' + ' + '.join(names) + ')':45s} {'':>8s} {total:14.6f} in {bins} bins, "
                         f"{free} free parameters: {bins - free} degrees of freedom"
                         + (f", statistic / dof = {total / (bins - free):.4f}" if bins > free else ""))
        return lines

    def corner_plot(self, parameters: list[str] | None = None, truths: dict[str, float] | None = None,
                    log_scale: Sequence[str] | None = None, **corner_kwargs: Any) -> Any:
        """Corner plot (corner package) of the draws, labelled ``source.parameter [unit]``;
        ``truths`` by path are marked.

        ``log_scale``: the parameters drawn as log10 (labelled ``log10 ...``), by
        default those whose prior is log-uniform or log-normal (a normalisation spread
        over decades would otherwise fall in one bin). Returns the matplotlib figure,
        its labels and titles inside it.
        """
        import corner

        from .displays import keep_text_inside
        from .priors import Log_normal, Log_uniform_prior

        names = parameters or self.free_parameters
        if log_scale is None:
            model_parameters = self.model.parameters
            log_scale = [p for p in names if p in model_parameters
                         and isinstance(model_parameters[p].prior, Log_uniform_prior | Log_normal)]
        logged = [p in set(log_scale) for p in names]
        data = np.column_stack([np.log10(self.samples(p)) if log else self.samples(p) for p, log in zip(names, logged)])
        labels = []
        for p, log in zip(names, logged):
            # source.parameter for model paths; a derived quantity by its own name
            label = f"{p.split('.')[0]}.{p.split('.')[-1]}" if "." in p else p
            unit = f" [{self.units[p]}]" if self.units.get(p) else ""
            labels.append(f"log10 {label}{unit}" if log else f"{label}{unit}")
        options = {"quantiles": [0.16, 0.5, 0.84], "show_titles": True, "title_fmt": ".3g",
                   "title_kwargs": {"fontsize": 8}, "label_kwargs": {"fontsize": 9}}
        options.update(corner_kwargs)
        truth_values = None
        if truths is not None:
            truth_values = [None if truths.get(p) is None else (math.log10(truths[p]) if log else truths[p])
                            for p, log in zip(names, logged)]
        figure = corner.corner(data, labels=labels, truths=truth_values, **options)
        keep_text_inside(figure)
        return figure

    # -- fluxes -------------------------------------------------------------------------------
    def get_flux(self, ene_min: Any = None, ene_max: Any = None, sources: Sequence[str] = (),
                 confidence_level: float = 0.68, flux_unit: Any = "erg/(cm2 s)", energy_unit: Any = "keV",
                 use_components: bool = False, components: Sequence[str] = (), sum_sources: bool = False,
                 integration: str = "quad", interval: str = "equal-tailed", at_energy: Any = None,
                 include_extended: bool = False, components_to_use: Sequence[str] = (),
                 absorbed: bool = True) -> Any:
        """Fluxes of the sources with intervals from every draw, as 3ML's ``get_flux``.

        Parameters
        ----------
        ene_min, ene_max : float or astropy Quantity
            The band: numbers in ``energy_unit``, or quantities of energy, frequency or
            wavelength. ``ene_min == ene_max`` (or ``at_energy``) asks for a flux
            density at that energy.
        sources : sequence of str
            Sources to include (default: every point source, and the extended ones if
            ``include_extended``, as in 3ML).
        confidence_level : float
            Probability inside the interval (0.68).
        flux_unit : str or astropy unit
            ``1/(cm2 s)`` (photon flux), ``erg/(cm2 s)``, ``W/m2``... (energy flux),
            ``erg2/(cm2 s)`` (∫E²N dE, as 3ML); at one energy ``1/(cm2 s keV)``,
            ``erg/(cm2 s keV)``, ``Jy``, or ``erg/(cm2 s)`` for νFν.
        use_components, components
            One row per additive component of composite spectra (``"src2: Blackbody"``,
            with the absorption that multiplies it, as XSPEC plots components), or only
            the named components (3ML's ``components_to_use`` is accepted too;
            ``"total"`` adds each source's total); a source with none of them gives
            ``"<name>: total"``. Multiplicative factors (absorption, dust, constants)
            are never rows: they are no flux.
        absorbed : bool
            False: the fluxes with every absorption and extinction factor (``TbAbs``,
            ``PhAbs``, the dust laws) set to one, draw by draw, as XSPEC's ``cflux``;
            labels end in ``" (unabsorbed)"``.
        sum_sources : bool
            Sum the sources draw by draw, keeping their correlations: row ``"total"``;
            with components one row per component name and a ``"total"`` of the
            sources that gave their total (3ML's labels).
        integration : {"quad", "trapz"}
            Gauss–Legendre in ln E refined to 1e-9 relative, or 3ML's trapezoid rule
            on 50 energies (biased; for comparisons with 3ML).
        interval : {"equal-tailed", "hdi"}
            Interval type.

        Returns
        -------
        pandas.DataFrame
            Indexed by row label, with columns ``flux``, ``low bound``, ``hi bound``
            (astropy quantities), their numbers ``value``, ``lower``, ``upper`` and
            ``unit``. The central value is the draws' median, or the flux at the MLE
            for maximum-likelihood results (whose draws come from the covariance).

        Raises
        ------
        UnitError
            For an energy or flux unit that does not fit the request.
        AnalysisError
            For unknown sources or components and invalid options.
        """
        from .fluxes import flux_table

        if at_energy is None and (ene_min is None or ene_max is None):
            raise AnalysisError("get_flux needs ene_min and ene_max (or at_energy=)")
        calculator, thetas = self._flux_draws()
        space = calculator.space
        sources = self._sources_or_default(space, sources, include_extended)
        components = tuple(components) or tuple(components_to_use)
        best = self._best_model_theta(space)
        return flux_table(space, thetas, best, ene_min, ene_max, sources=sources, confidence_level=confidence_level,
                          flux_unit=flux_unit, energy_unit=energy_unit, use_components=use_components,
                          components=components, sum_sources=sum_sources, integration=integration,
                          interval=interval, at_energy=at_energy, calculator=calculator, absorbed=absorbed)

    def get_magnitudes(self, filters: Any, sources: Sequence[str] = (), confidence_level: float = 0.68,
                       use_components: bool = False, components: Sequence[str] = (), sum_sources: bool = False,
                       interval: str = "equal-tailed", include_extended: bool = False) -> Any:
        """Predicted AB magnitudes (and flux densities) of the sources in any filters,
        with intervals from every draw: posterior-predictive photometry.

        Parameters
        ----------
        filters : str, Filter, speclite object or a sequence of them
            Speclite names (``"sdss2010-r"``, wildcards ``"twomass-*"``), speclite
            ``FilterResponse``/``FilterSequence`` objects or :class:`~jointfit.filters.Filter`.
        sources, use_components, components, sum_sources, include_extended
            Which rows, as in :meth:`get_flux`.
        confidence_level, interval
            As in :meth:`get_flux`.

        Returns
        -------
        pandas.DataFrame
            Indexed by (row, filter), with columns ``magnitude`` (AB: of the draws' median
            flux, or of the MLE's), ``bright bound``, ``faint bound`` (the interval of the
            flux densities in magnitudes; ``inf`` where the lower flux bound is not
            positive), the AB flux density in µJy with its bounds, and the filter's pivot
            wavelength (Å).

        Raises
        ------
        UnknownFilterError, FilterError
            For filters that cannot be loaded.
        AnalysisError
            For unknown sources or components and invalid options.
        """
        from .fluxes import magnitude_table

        calculator, thetas = self._flux_draws()
        space = calculator.space
        sources = self._sources_or_default(space, sources, include_extended)
        best = self._best_model_theta(space)
        return magnitude_table(space, thetas, best, filters, sources=sources, confidence_level=confidence_level,
                               use_components=use_components, components=tuple(components),
                               sum_sources=sum_sources, interval=interval, calculator=calculator)

    def get_derived(self, quantities: Mapping[str, Callable[[Any], Any]], confidence_level: float = 0.68,
                    interval: str = "equal-tailed", store: bool = False) -> Any:
        """Any functions of the model's values, on every draw at once, with intervals.

        Parameters
        ----------
        quantities : mapping of str to callable
            Name → function of a :class:`~jointfit.derived.Draw` (a draw's parameter
            values by path, ``draw.f_nu(source, 2 * u.keV)``, ``draw.nu_f_nu(...)``,
            ``draw.photon_flux_density(...)``) written with ``jax.numpy``, returning one
            number. Compiled once, mapped over every draw.
        confidence_level, interval
            As in :meth:`get_flux`.
        store : bool
            Add each quantity's draws to the posterior under its name, so that
            :meth:`samples` and :meth:`corner_plot` (``parameters=[..., name]``) show it
            and :meth:`write` keeps it.

        Returns
        -------
        pandas.DataFrame
            Indexed by name: ``value`` (the draws' median, or the MLE's), ``lower``,
            ``upper``.

        Raises
        ------
        AnalysisError
            For a function that does not give one number per draw, or (with ``store``) a
            name the posterior already has.
        """
        import pandas as pd

        from .derived import evaluate_derived
        from .intervals import credible_bounds

        calculator, thetas = self._flux_draws()
        space = calculator.space
        if store:
            taken = [name for name in quantities if name in self._posterior]
            if taken:
                raise AnalysisError(f"the posterior already has {taken}: give derived quantities other names")
        values = evaluate_derived(space, thetas, quantities)
        best = self._best_model_theta(space)
        central = np.median(values, axis=0) if best is None else evaluate_derived(space, best[None], quantities)[0]
        bounds = credible_bounds(values, confidence_level, interval)
        if store:
            shape = np.asarray(self._posterior[self.free_parameters[0]]).shape
            for k, name in enumerate(quantities):
                _arviz.add_variable(self._idata, "posterior", name, values[:, k].reshape(shape))
            self._posterior = _arviz.group(self._idata, "posterior")
            self._attrs = self._posterior.attrs
        table = pd.DataFrame({"value": central, "lower": bounds[:, 0], "upper": bounds[:, 1]},
                             index=pd.Index(list(quantities), name="quantity"))
        table.attrs.update({"confidence_level": confidence_level, "interval": interval, "n_draws": int(len(values))})
        return table

    @staticmethod
    def _sources_or_default(space: Any, sources: Sequence[str], include_extended: bool) -> Sequence[str]:
        """``sources``, or every point source (and the extended ones if
        ``include_extended``), as 3ML's ``get_flux`` chooses."""
        if sources:
            return sources
        chosen = space.point_source_names + (space.extended_source_names if include_extended else ())
        if not chosen:
            raise AnalysisError("the model has no point source; include_extended=True adds the extended ones")
        return chosen

    def _best_model_theta(self, space: Any) -> np.ndarray | None:
        """The MLE's values of ``space``'s free parameters (the central value of derived
        tables), or ``None`` for posterior draws (whose median is)."""
        if self.analysis != "mle":
            return None
        return np.asarray(json.loads(self._attrs["mle"]))[self._model_columns(space)]

    def _model_columns(self, space: Any) -> list[int]:
        """Columns of :attr:`samples_matrix` holding ``space``'s free parameters."""
        return [self.free_parameters.index(name) for name in space.free_names]

    def _flux_draws(self) -> tuple[Any, np.ndarray]:
        """The flux calculator of the analysed model (compiled once per results) and
        every draw of the model's free parameters (plugins' own parameters left out)."""
        from .fluxes import FluxCalculator

        if self._flux_calculator is None:
            self._flux_calculator = FluxCalculator(self.model.compile())
        return self._flux_calculator, self.samples_matrix[:, self._model_columns(self._flux_calculator.space)]

    # -- files --------------------------------------------------------------------------------
    def write(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write everything to one netCDF-4 file (no pickle), which ArviZ's
        ``from_netcdf`` reads too; read it with :func:`load_analysis_results` under
        ArviZ 0.x or 1.x.

        Results of a run spread over MPI processes (:attr:`mpi_ranks` above 1), which
        every rank holds, are written by rank 0 only: on the other ranks this returns
        the path without writing, and without waiting for rank 0 to have written it.
        """
        path = Path(path)
        if self._left_to_rank_0():
            return path
        if path.exists() and not overwrite:
            raise AnalysisError(f"{path} exists; pass overwrite=True to replace it")
        try:
            _arviz.write_netcdf(self._idata, path)
        except OSError as exc:
            raise AnalysisError(f"cannot write the results to {os.fspath(path)!r}: {exc}") from None
        return path

    def __repr__(self) -> str:
        draws = self.samples_matrix.shape[0]
        return f"AnalysisResults({self.analysis}, {self.sampler}, {draws} draws of {len(self.free_parameters)} parameters)"


def load_analysis_results(path: str | os.PathLike[str]) -> AnalysisResults:
    """Read results written by :meth:`AnalysisResults.write`.

    Raises
    ------
    AnalysisError
        If the file does not exist or was not written by jointfit.
    """
    if not Path(path).exists():
        raise AnalysisError(f"results file {os.fspath(path)!r} does not exist")
    try:
        data = _arviz.read_netcdf(path)
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"{os.fspath(path)!r} is not a results file: {exc}") from None
    return AnalysisResults(data)


def _fit_statistics(density: Any, theta: np.ndarray) -> dict[str, list[Any]]:
    """``{plugin: [statistic name, value]}`` at ``theta`` for the plugins that have a
    fit statistic (:meth:`jointfit.plugin.Plugin.fit_statistic`)."""
    import jax.numpy as jnp

    values = density.space.unpack(jnp.asarray(theta))
    found = {}
    for plugin in density.data:
        statistic = plugin.fit_statistic(values)
        if statistic is not None:
            found[plugin.name] = [str(statistic[0]), float(statistic[1])]
    return found


def _interval_containing(draws: np.ndarray, point: float, probability: float) -> tuple[float, float]:
    """The shortest interval holding ``probability`` of ``draws`` among those that
    contain ``point`` (the central one, widened to ``point``, if none does)."""
    ordered = np.sort(np.asarray(draws, dtype=float))
    n = ordered.size
    k = max(1, min(n, int(math.ceil(probability * n))))
    lows, highs = ordered[:n - k + 1], ordered[k - 1:]
    holds = (lows <= point) & (point <= highs)
    if not holds.any():
        low, high = np.quantile(ordered, [(1 - probability) / 2, (1 + probability) / 2])
        return float(min(low, point)), float(max(high, point))
    widths = np.where(holds, highs - lows, np.inf)
    best = int(np.argmin(widths))
    return float(lows[best]), float(highs[best])
