"""The posterior container and diagnostics of whichever ArviZ is installed.

ArviZ 0.x holds a posterior in an ``InferenceData`` (a set of xarray Datasets);
ArviZ 1.x in an xarray ``DataTree``, and its statistics (arviz-stats) take other
arguments and use other defaults. This module is the one place that knows the
difference: results are built, read and written, and their diagnostics computed,
through the functions here, which give the same numbers under both (PSIS-LOO to the
rounding of ArviZ's tail length, see :func:`elpd_loo`).

Files are netCDF-4 written through h5netcdf, one group per ArviZ group, which both
ArviZ generations read: a file written under either reads under the other, every array
bit for bit.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import warnings
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

import numpy as np

__all__ = ["uses_datatree", "build", "group", "has_group", "write_netcdf", "read_netcdf", "ess", "rhat", "hdi",
           "elpd_loo", "elpd_waic", "compare"]

_ENGINE = "h5netcdf"
_TAIL_PROBABILITIES = (0.05, 0.95)
"""Quantiles of the tail ESS (Vehtari et al. 2021): ArviZ 0.x's, which ArviZ 1.x must
be given (its array functions have no default, its DataTree ones 0.11 and 0.89)."""


def _arviz() -> Any:
    import arviz

    return arviz


@cache
def uses_datatree() -> bool:
    """Whether the installed ArviZ (1.x and later) keeps posteriors in a DataTree."""
    return int(_arviz().__version__.split(".")[0]) >= 1


def build(groups: Mapping[str, Mapping[str, np.ndarray]], *, dims: Mapping[str, Sequence[str]] | None = None,
          attrs: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """ArviZ data of ``groups`` (group name → variable name → array of shape
    ``(chains, draws, ...)``), with ``dims`` naming the extra axes of variables and
    ``attrs`` (group name → attributes) set on the groups.

    Returns an ``InferenceData`` under ArviZ 0.x, a ``DataTree`` under ArviZ 1.x.
    """
    az = _arviz()
    if uses_datatree():
        data = az.from_dict({name: dict(variables) for name, variables in groups.items()}, dims=dims)
    else:
        data = az.from_dict(**{name: dict(variables) for name, variables in groups.items()}, dims=dims)
    for name, group_attrs in (attrs or {}).items():
        _attrs_of(data, name).update(group_attrs)
    return data


def _attrs_of(data: Any, name: str) -> dict[str, Any]:
    """The mutable attribute dictionary of group ``name``."""
    return data[name].attrs if _is_datatree(data) else getattr(data, name).attrs


def group(data: Any, name: str) -> Any:
    """Group ``name`` of ArviZ data (InferenceData or DataTree) as an xarray Dataset,
    with its attributes."""
    if _is_datatree(data):
        return data[name].to_dataset()
    return getattr(data, name)


def add_variable(data: Any, group_name: str, name: str, values: np.ndarray) -> None:
    """Add variable ``name`` of shape ``(chains, draws)`` to group ``group_name`` of ArviZ
    data, in place (InferenceData or DataTree)."""
    import xarray

    variable = xarray.DataArray(np.asarray(values), dims=("chain", "draw"))
    if _is_datatree(data):
        data[group_name][name] = variable
    else:
        getattr(data, group_name)[name] = variable


def _is_datatree(data: Any) -> bool:
    return type(data).__name__ == "DataTree"


def has_group(data: Any, name: str) -> bool:
    """Whether ArviZ data has group ``name``."""
    if _is_datatree(data):
        return name in data.children
    return name in data.groups()


def write_netcdf(data: Any, path: str | os.PathLike[str]) -> None:
    """Write ArviZ data to a netCDF-4 file through h5netcdf."""
    data.to_netcdf(os.fspath(path), engine=_ENGINE)


def read_netcdf(path: str | os.PathLike[str]) -> Any:
    """Read ArviZ data from a netCDF file, wholly into memory; the file is closed on
    return. Raises OSError or ValueError for files that are not netCDF."""
    az = _arviz()
    if uses_datatree():
        tree = az.from_netcdf(os.fspath(path), engine=_ENGINE)
        try:
            return tree.load()
        finally:
            tree.close()
    # ArviZ 0.x reads lazily by default, keeping the file open (and unwritable)
    with az.rc_context({"data.load": "eager"}):
        return az.from_netcdf(os.fspath(path), engine=_ENGINE)


def ess(draws: np.ndarray, method: str = "bulk") -> float:
    """Effective sample size of ``draws`` of shape ``(chains, draws)``: rank-normalised
    ``"bulk"`` or ``"tail"`` (the 5 % and 95 % quantiles), as Vehtari et al. (2021)."""
    az = _arviz()
    draws = np.asarray(draws, dtype=float)
    if method == "tail" and uses_datatree():
        return float(az.ess(draws, method="tail", prob=_TAIL_PROBABILITIES))
    return float(az.ess(draws, method=method))


def rhat(draws: np.ndarray) -> float:
    """Rank-normalised split R-hat of ``draws`` of shape ``(chains, draws)``."""
    return float(_arviz().rhat(np.asarray(draws, dtype=float)))


def hdi(values: np.ndarray, probability: float) -> np.ndarray:
    """Highest-density interval ``[lower, upper]`` of one-dimensional ``values``
    holding ``probability`` of them."""
    az = _arviz()
    values = np.asarray(values, dtype=float).ravel()
    if uses_datatree():
        return np.asarray(az.hdi(values, prob=probability), dtype=float)
    return np.asarray(az.hdi(values, hdi_prob=probability), dtype=float)


def elpd_loo(pointwise: np.ndarray) -> float:
    """Expected log pointwise predictive density by Pareto-smoothed importance-sampling
    leave-one-out (the installed ArviZ's ``loo``), from log-likelihoods ``(chains,
    draws, points)``.

    The draws' relative efficiency is taken as 1 under both ArviZ generations: it only
    sets the length of the smoothed tail of the importance weights. That length is
    rounded up by ArviZ 0.x and down by ArviZ 1.x, so the two differ slightly (1e-5 of
    the value for well-behaved points, up to ~0.05 for a heavy-tailed one). A point whose
    largest weights (that tail) are all equal (a channel whose predicted rate no draw
    changes, or changes below the last bit) has no tail to smooth: ArviZ 1.x refuses
    it, and its plain importance-sampling estimate ``-ln mean(1 / p)`` is exact
    enough, since its weights are bounded.
    """
    return float(np.sum(_loo_points(pointwise).elpd))


class _PointwiseElpd(NamedTuple):
    """One model's expected log predictive density point by point."""

    elpd: np.ndarray
    """Per point, shape ``(points,)``."""
    p: float
    """Effective number of parameters."""
    warning: bool
    """Whether the estimate is doubtful (Pareto k or WAIC's variance too large)."""
    pareto_k: np.ndarray | None
    """PSIS-LOO's Pareto shape per point, NaN where the tail was flat; None for WAIC."""


def _loo_points(pointwise: np.ndarray) -> _PointwiseElpd:
    """PSIS-LOO per point (:func:`elpd_loo`), by the installed ArviZ's ``loo``."""
    pointwise = np.asarray(pointwise, dtype=float)
    draws = pointwise.reshape(-1, pointwise.shape[-1])
    n_draws = draws.shape[0]
    tail = int(np.floor(3.0 * np.sqrt(n_draws)) if n_draws > 225 else np.floor(n_draws / 5))
    largest_weights = -np.sort(draws, axis=0)[: max(tail, 1)]  # log-weights are -ln p
    flat_tail = np.all(largest_weights == largest_weights[:1], axis=0)
    elpd = -(np.logaddexp.reduce(-draws, axis=0) - np.log(n_draws))  # plain importance sampling
    pareto_k = np.full(draws.shape[1], np.nan)
    warning = False
    if not np.all(flat_tail):
        smoothed = _psis_loo(pointwise[..., ~flat_tail])
        elpd[~flat_tail], pareto_k[~flat_tail], warning = smoothed
    p = float(np.sum(_log_mean_likelihood(draws)) - np.sum(elpd))
    return _PointwiseElpd(elpd, p, warning, pareto_k)


def _psis_loo(pointwise: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """ArviZ's PSIS-LOO of each point and its Pareto k, and ArviZ's warning."""
    az = _arviz()
    data = build({"posterior": {"_": np.zeros(pointwise.shape[:2])}, "log_likelihood": {"all": pointwise}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ warns on heavy tails: its warning flag says so
        if uses_datatree():
            result = az.loo(data, reff=1.0, pointwise=True)
            elpd = result.elpd_i
        else:
            result = az.loo(data, reff=1.0, pointwise=True, scale="log")
            elpd = result["loo_i"]
    return (np.asarray(elpd, dtype=float).reshape(-1), np.asarray(result["pareto_k"], dtype=float).reshape(-1),
            bool(result["warning"]))


def _log_mean_likelihood(draws: np.ndarray) -> np.ndarray:
    """ln of the mean likelihood over ``draws`` ``(n_draws, points)``, per point."""
    peak = draws.max(axis=0)
    return peak + np.log(np.mean(np.exp(draws - peak), axis=0))


def elpd_waic(pointwise: np.ndarray) -> float:
    """Widely applicable information criterion as an expected log pointwise predictive
    density (Watanabe 2010): per point the log of the mean likelihood over all draws
    minus the variance of the log-likelihood, summed over points.

    Computed here because ArviZ 1.x has no WAIC; ArviZ 0.x's ``waic`` gives the same
    number (population variance, every draw of every chain).
    """
    return float(np.sum(_waic_points(pointwise).elpd))


_WAIC_VARIANCE_LIMIT = 0.4
"""Posterior variance of a point's log-likelihood beyond which WAIC is unreliable
(Vehtari, Gelman & Gabry 2017; ArviZ 0.x's warning)."""


def _waic_points(pointwise: np.ndarray) -> _PointwiseElpd:
    """WAIC per point (:func:`elpd_waic`)."""
    pointwise = np.asarray(pointwise, dtype=float)
    draws = pointwise.reshape(-1, pointwise.shape[-1])
    variance = draws.var(axis=0)
    return _PointwiseElpd(_log_mean_likelihood(draws) - variance, float(np.sum(variance)),
                          bool(np.any(variance > _WAIC_VARIANCE_LIMIT)), None)


def compare(pointwise: Mapping[str, np.ndarray], criterion: str) -> Any:
    """Models compared by their expected log pointwise predictive density, through the
    installed ArviZ's ``compare`` (stacking weights, Yao et al. 2018).

    Parameters
    ----------
    pointwise : mapping of str to ndarray
        Each model's pointwise log-likelihoods ``(chains, draws, points)``, the same
        points in the same order for every model.
    criterion : {"loo", "waic"}
        PSIS-LOO as :func:`elpd_loo` or WAIC as :func:`elpd_waic`: the same numbers
        under ArviZ 0.x and 1.x.

    Returns
    -------
    pandas.DataFrame
        Indexed by model in the order given, with columns ``elpd``, ``se`` (its
        standard error: √n times the standard deviation of the n pointwise values,
        which ArviZ 1.x takes with n - 1 degrees of freedom and 0.x with n, the one
        number that differs between them), ``p`` (effective number of parameters),
        ``elpd_diff`` (elpd minus the largest elpd, ≤ 0), ``dse`` (standard error of
        that difference), ``weight`` (stacking weight) and ``warning`` (the estimate
        is doubtful: large Pareto k, or for WAIC a log-likelihood variance above 0.4).
        A single model is its own best: difference 0, weight 1.
    """
    import pandas as pd

    points = {name: (_loo_points if criterion == "loo" else _waic_points)(values)
              for name, values in pointwise.items()}
    # each generation's standard error: ArviZ 1.x's (the loo R package's) has n - 1 degrees of freedom
    ddof = 1 if uses_datatree() else 0
    table = pd.DataFrame({
        "elpd": [float(np.sum(part.elpd)) for part in points.values()],
        "se": [float(np.sqrt(part.elpd.size * np.var(part.elpd, ddof=ddof))) if part.elpd.size > ddof else 0.0
               for part in points.values()],
        "p": [part.p for part in points.values()],
        "elpd_diff": np.nan, "dse": np.nan, "weight": np.nan,
        "warning": [part.warning for part in points.values()],
    }, index=list(points))
    if len(points) < 2:
        table[["elpd_diff", "dse", "weight"]] = [0.0, 0.0, 1.0]
        return table
    elpds = {name: _elpd_data(part, np.shape(pointwise[name])[:2], table.loc[name, "se"], criterion)
             for name, part in points.items()}
    az = _arviz()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if uses_datatree():
            unrounded = {"round_to": "none"} if "round_to" in inspect.signature(az.compare).parameters else {}
            compared = az.compare(elpds, method="stacking", **unrounded)
            table["elpd_diff"] = compared["elpd_diff"].astype(float)
        else:
            compared = az.compare(elpds, ic=criterion, method="stacking", scale="log")
            table["elpd_diff"] = 0.0 - compared["elpd_diff"].astype(float)  # ArviZ 0.x: best minus this one
    table["dse"] = compared["dse"].astype(float)
    table["weight"] = compared["weight"].astype(float)
    return table


def _elpd_data(points: _PointwiseElpd, shape: tuple[int, ...], se: float, criterion: str) -> Any:
    """The installed ArviZ's ELPD container holding ``points``.

    Its fields differ between ArviZ releases (a pandas Series under 0.x, a dataclass
    under 1.x), so it is ArviZ's own result for a stand-in point with as many draws,
    its values then replaced by ours.
    """
    import xarray

    az = _arviz()
    stand_in = np.linspace(-2.0, 0.0, int(np.prod(shape))).reshape(*shape, 1)
    data = build({"posterior": {"_": np.zeros(shape)}, "log_likelihood": {"all": stand_in}})
    elpd_i = xarray.DataArray(points.elpd, dims=("point",))
    pareto_k = None if points.pareto_k is None else xarray.DataArray(points.pareto_k, dims=("point",))
    values = {"elpd": float(np.sum(points.elpd)), "se": se, "p": points.p, "n_data_points": points.elpd.size,
              "warning": points.warning}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if uses_datatree():
            # ArviZ 1.x has no WAIC: its LOO container carries WAIC's numbers as well
            template = az.loo(data, reff=1.0, pointwise=True)
            values |= {"elpd_i": elpd_i, "pareto_k": pareto_k, "log_weights": None}
            fields = {field.name for field in dataclasses.fields(template) if field.init}
            return dataclasses.replace(template, **{k: v for k, v in values.items() if k in fields})
        if criterion == "loo":
            template = az.loo(data, reff=1.0, pointwise=True, scale="log")
        else:
            template = az.waic(data, pointwise=True, scale="log")
    result = template.copy()
    result[f"elpd_{criterion}"], result["se"], result[f"p_{criterion}"] = values["elpd"], se, points.p
    result["n_data_points"], result["warning"] = values["n_data_points"], points.warning
    result[f"{criterion}_i"] = elpd_i.rename(f"{criterion}_i")
    if "pareto_k" in result.index:
        result["pareto_k"] = pareto_k
    return result
