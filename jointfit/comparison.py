"""Model selection: several analyses of the same data side by side, as BXA's table.

Bayes factors come from nested sampling's evidences, AIC and BIC from the best fit, and
WAIC and PSIS-LOO from the posterior's pointwise log-likelihoods through ArviZ's
``compare`` (:func:`jointfit._arviz.compare`), the same numbers under ArviZ 0.x and 1.x.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _arviz
from .errors import AnalysisError
from .results import AnalysisResults

__all__ = ["compare_models"]

RANKINGS = ("ln_Z", "elpd_loo", "elpd_waic", "AIC", "BIC")
"""Columns that can rank the models, the best having the largest (ln Z, elpd) or the
smallest (AIC, BIC) value."""

_JEFFREYS = ((10.0**0.5, "barely worth mentioning"), (10.0, "substantial"), (10.0**1.5, "strong"),
             (100.0, "very strong"), (math.inf, "decisive"))
"""Jeffreys' grades of a Bayes factor B ≥ 1 (Theory of Probability, 3rd ed. 1961,
Appendix B): each grade's upper bound, half-decades of B."""

_COLUMNS = ["sampler", "n_free", "ln_Z", "ln_Z_error", "ln_B", "ln_B_error", "B", "reading", "AIC", "AIC_diff", "BIC",
            "BIC_diff"]
_PREDICTIVE = ["elpd_{}", "elpd_{}_se", "p_{}", "elpd_{}_diff", "elpd_{}_diff_se", "{}_weight"]


def compare_models(results: Mapping[str, AnalysisResults], *, reference: str | None = None,
                   rank_by: str | None = None) -> Any:
    """Compare analyses of the same data by evidence, AIC/BIC, WAIC and PSIS-LOO.

    Parameters
    ----------
    results : mapping of str to AnalysisResults
        Two or more results by model name (the table's index), fitted to the same data:
        the same plugins with the same numbers of points. Any mix of nested sampling,
        NUTS and maximum-likelihood results.
    reference : str, optional
        The model the Bayes factors are taken against; by default the one of largest
        ln Z. It must have an evidence.
    rank_by : {"ln_Z", "elpd_loo", "elpd_waic", "AIC", "BIC"}, optional
        The column ordering the rows, best first; models lacking it come last. By
        default ln Z when every model has one, else ``elpd_loo`` when every model has
        one, else AIC.

    Returns
    -------
    pandas.DataFrame
        One row per model, best first, with columns (all dimensionless; "ln" is the
        natural log, elpd a sum of ln densities over the data points):

        - ``sampler``, ``n_free``: what made the result, its number of free parameters;
        - ``ln_Z``, ``ln_Z_error``: the evidence and its error (NaN unless nested
          sampling);
        - ``ln_B``, ``ln_B_error``, ``B``: ln Z minus the reference's ln Z, its error
          (both models' errors in quadrature, 0 for the reference itself), and the
          Bayes factor ``exp(ln_B)`` of the model against the reference;
        - ``reading``: that Bayes factor on Jeffreys' scale (H. Jeffreys, *Theory of
          Probability*, 3rd ed., Oxford 1961, Appendix B, grades at half-decades of B):
          B < 10^0.5 "barely worth mentioning", < 10 "substantial", < 10^1.5 "strong",
          < 100 "very strong", beyond "decisive"; read as e.g. "strong evidence for
          'line'", naming the model favoured, or "reference";
        - ``AIC``, ``BIC``, ``AIC_diff``, ``BIC_diff``: from
          :meth:`AnalysisResults.information_criteria` (AIC small-sample corrected),
          and their excess over the smallest (≥ 0, lower is better);
        - ``elpd_loo``, ``elpd_loo_se``, ``p_loo``, ``elpd_loo_diff``,
          ``elpd_loo_diff_se``, ``loo_weight``: PSIS-LOO's expected log pointwise
          predictive density, its standard error, the effective number of parameters,
          the difference to the largest elpd (≤ 0, higher is better) with the
          standard error of that difference, and the stacking weight (Yao et al.
          2018), by ArviZ's ``compare`` (the same elpd as
          ``-information_criteria()["LOO"] / 2``);
        - the same six for WAIC (``elpd_waic`` ...).

        Results without pointwise log-likelihoods (maximum-likelihood fits, or
        posteriors of more draws × points than were kept) have NaN WAIC and LOO columns
        and do not enter their weights. ``attrs["notes"]`` lists, as sentences, what is
        missing and why, and doubtful estimates; ``attrs["reference"]`` and
        ``attrs["rank_by"]`` name the reference and ranking.

    Raises
    ------
    AnalysisError
        For fewer than two results, a value that is not an :class:`AnalysisResults`,
        an unknown ``reference`` or ``rank_by``, a reference without an evidence, or
        results fitted to different data (other plugins or numbers of points), whose
        evidences and information criteria cannot be compared.

    Examples
    --------
    >>> table = compare_models({"line": line_results, "constant": constant_results})
    >>> table[["ln_B", "ln_B_error", "reading", "AIC_diff", "elpd_loo_diff"]]
    >>> print("\\n".join(table.attrs["notes"]))
    """
    import pandas as pd

    names = _check_results(results)
    if rank_by is not None and rank_by not in RANKINGS:
        raise AnalysisError(f"cannot rank models by {rank_by!r}; choose one of {list(RANKINGS)}")
    notes: list[str] = []
    table = pd.DataFrame(index=pd.Index(names, name="model"), columns=_COLUMNS + [
        column.format(criterion) for criterion in ("loo", "waic") for column in _PREDICTIVE])
    table = table.astype({column: float for column in table.columns if column not in ("sampler", "reading")})
    table["sampler"] = [results[name].sampler for name in names]
    table["n_free"] = [len(results[name].free_parameters) for name in names]

    evidences = [name for name in names if _has_evidence(results[name])]
    reference = _evidence_columns(table, results, evidences, reference, notes)
    _information_criteria(table, results)
    plugins = list(_data_of(results[names[0]]))
    pointwise = {name: values for name in names if (values := _pointwise(results[name], plugins)) is not None}
    _predictive_columns(table, results, pointwise, notes)

    if rank_by is None:
        rank_by = ("ln_Z" if len(evidences) == len(names) else "elpd_loo" if len(pointwise) == len(names) else "AIC")
    table = table.sort_values(rank_by, ascending=rank_by in ("AIC", "BIC"), na_position="last", kind="stable")
    table.attrs.update(notes=notes, reference=reference, rank_by=rank_by)
    return table


def _check_results(results: Mapping[str, AnalysisResults]) -> list[str]:
    """The model names, once the results are known comparable."""
    if not isinstance(results, Mapping):
        raise AnalysisError("compare_models takes a mapping of model names to AnalysisResults "
                            f"({{'line': results, ...}}), not a {type(results).__name__}")
    names = list(results)
    if len(names) < 2:
        raise AnalysisError(f"comparing models needs at least two results, got {len(names)}")
    for name in names:
        if not isinstance(results[name], AnalysisResults):
            raise AnalysisError(f"results[{name!r}] is a {type(results[name]).__name__}, not AnalysisResults")
    first = _data_of(results[names[0]])
    for name in names[1:]:
        other = _data_of(results[name])
        if set(other) != set(first):
            raise AnalysisError(f"models {names[0]!r} and {name!r} were fitted to different data: plugins "
                                f"{sorted(first)} and {sorted(other)}; their evidences and information "
                                "criteria cannot be compared")
        for plugin, n in first.items():
            if other[plugin] != n:
                raise AnalysisError(f"models {names[0]!r} and {name!r} were fitted to different data: plugin "
                                    f"{plugin!r} has {n} points in {names[0]!r} but {other[plugin]} in "
                                    f"{name!r}; their evidences and information criteria cannot be compared")
    return names


def _attrs(results: AnalysisResults) -> Mapping[str, Any]:
    return _arviz.group(results.inference_data, "posterior").attrs


def _data_of(results: AnalysisResults) -> dict[str, int]:
    """Number of points of each plugin, in the plugins' order."""
    attrs = _attrs(results)
    n_points = json.loads(attrs["n_points"])
    return {plugin: int(n_points[plugin]) for plugin in json.loads(attrs["plugins"])}


def _has_evidence(results: AnalysisResults) -> bool:
    return "ln_Z" in _attrs(results)


def _evidence_columns(table: Any, results: Mapping[str, AnalysisResults], evidences: list[str],
                      reference: str | None, notes: list[str]) -> str | None:
    """Fill ln Z, the Bayes factors against the reference and their reading; the
    reference's name."""
    if reference is not None and reference not in table.index:
        raise AnalysisError(f"reference {reference!r} is not one of the models {list(table.index)}")
    if reference is not None and reference not in evidences:
        raise AnalysisError(f"reference {reference!r} has no evidence ({results[reference].sampler} results): "
                            f"Bayes factors need nested sampling's ln Z; models with one: {evidences}")
    for name in evidences:
        table.loc[name, ["ln_Z", "ln_Z_error"]] = [results[name].ln_Z, results[name].ln_Z_error]
    missing = [name for name in table.index if name not in evidences]
    if missing:
        notes.append(f"no evidence for {_listed(missing)} (only nested sampling gives one): ln Z and the Bayes "
                     "factors are NaN there")
    if not evidences:
        table["reading"] = ""
        return None
    if reference is None:
        reference = str(table.loc[evidences, "ln_Z"].idxmax())
    ln_z, error = table.loc[reference, ["ln_Z", "ln_Z_error"]]
    table["ln_B"] = table["ln_Z"] - ln_z
    table["ln_B_error"] = np.hypot(table["ln_Z_error"], error)
    table.loc[reference, "ln_B_error"] = 0.0
    with np.errstate(over="ignore"):
        table["B"] = np.exp(table["ln_B"])
    table["reading"] = [_reading(ln_b, name, reference) for name, ln_b in table["ln_B"].items()]
    notes.append(f"Bayes factors B against {reference!r}, read on Jeffreys' (1961) scale")
    return reference


def _reading(ln_b: float, name: str, reference: str) -> str:
    """Jeffreys' grade of the Bayes factor ``exp(ln_b)`` of ``name`` against
    ``reference``, naming the model it favours."""
    if name == reference:
        return "reference"
    if math.isnan(ln_b):
        return "no evidence"
    grade = next(label for bound, label in _JEFFREYS if math.exp(min(abs(ln_b), 700.0)) < bound)
    favoured = name if ln_b > 0 else reference
    if grade == "barely worth mentioning":
        return f"evidence for {favoured!r} barely worth mentioning"
    return f"{grade} evidence for {favoured!r}"


def _information_criteria(table: Any, results: Mapping[str, AnalysisResults]) -> None:
    for name in table.index:
        criteria = results[name].information_criteria()
        table.loc[name, ["AIC", "BIC"]] = [criteria["AIC"], criteria["BIC"]]
    table["AIC_diff"] = table["AIC"] - table["AIC"].min()
    table["BIC_diff"] = table["BIC"] - table["BIC"].min()


def _pointwise(results: AnalysisResults, plugins: list[str]) -> np.ndarray | None:
    """Pointwise log-likelihoods ``(chains, draws, points)``, the plugins in the order
    given; None where the results kept none."""
    attrs = _attrs(results)
    if results.analysis != "bayesian" or not int(attrs.get("pointwise", 1)):
        return None
    log_likelihood = _arviz.group(results.inference_data, "log_likelihood")
    groups = [np.asarray(log_likelihood[plugin], dtype=float) for plugin in plugins]
    return np.concatenate([g.reshape(g.shape[0], g.shape[1], -1) for g in groups], axis=-1)


def _predictive_columns(table: Any, results: Mapping[str, AnalysisResults], pointwise: Mapping[str, np.ndarray],
                        notes: list[str]) -> None:
    """Fill WAIC's and PSIS-LOO's columns of the models with pointwise log-likelihoods."""
    fits = [name for name in table.index if name not in pointwise and results[name].analysis != "bayesian"]
    totals = [name for name in table.index if name not in pointwise and name not in fits]
    if fits:
        notes.append(f"{_listed(fits)}: maximum-likelihood fit(s), without posterior draws: no WAIC or LOO")
    if totals:
        notes.append(f"{_listed(totals)}: per-plugin totals kept instead of pointwise log-likelihoods (more draws "
                     "× points than JointLogDensity.POINTWISE_LIMIT): no WAIC or LOO")
    if not pointwise:
        return
    for criterion, label in (("loo", "PSIS-LOO"), ("waic", "WAIC")):
        compared = _arviz.compare(pointwise, criterion)
        columns = [column.format(criterion) for column in _PREDICTIVE]
        table.loc[compared.index, columns] = compared[["elpd", "se", "p", "elpd_diff", "dse", "weight"]].to_numpy()
        doubtful = list(compared.index[compared["warning"].astype(bool)])
        if doubtful and criterion == "loo":
            notes.append(f"PSIS-LOO of {_listed(doubtful)}: Pareto k above ArviZ's threshold at some points, "
                         "the estimate may be unreliable")
        elif doubtful:
            notes.append(f"WAIC of {_listed(doubtful)}: a pointwise log-likelihood variance above 0.4, WAIC may "
                         "be unreliable (prefer PSIS-LOO)")
        if len(pointwise) < 2:
            table[columns[3:]] = np.nan
    if len(pointwise) < 2:
        notes.append(f"only {_listed(list(pointwise))} has pointwise log-likelihoods: WAIC and LOO differences and "
                     "weights are NaN")


def _listed(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)
