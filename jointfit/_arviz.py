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

import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

__all__ = ["uses_datatree", "build", "group", "has_group", "write_netcdf", "read_netcdf", "ess", "rhat", "hdi",
           "elpd_loo", "elpd_waic"]

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
    az = _arviz()
    pointwise = np.asarray(pointwise, dtype=float)
    draws = pointwise.reshape(-1, pointwise.shape[-1])
    n_draws = draws.shape[0]
    tail = int(np.floor(3.0 * np.sqrt(n_draws)) if n_draws > 225 else np.floor(n_draws / 5))
    largest_weights = -np.sort(draws, axis=0)[: max(tail, 1)]  # log-weights are -ln p
    flat_tail = np.all(largest_weights == largest_weights[:1], axis=0)
    plain = -(np.logaddexp.reduce(-draws[:, flat_tail], axis=0) - np.log(n_draws))
    if np.all(flat_tail):
        return float(np.sum(plain))
    return float(np.sum(plain)) + _psis_loo(az, pointwise[..., ~flat_tail])


def _psis_loo(az: Any, pointwise: np.ndarray) -> float:
    data = build({"posterior": {"_": np.zeros(pointwise.shape[:2])}, "log_likelihood": {"all": pointwise}})
    if uses_datatree():
        return float(az.loo(data, reff=1.0).elpd)
    return float(az.loo(data, reff=1.0, scale="log").elpd_loo)


def elpd_waic(pointwise: np.ndarray) -> float:
    """Widely applicable information criterion as an expected log pointwise predictive
    density (Watanabe 2010): per point the log of the mean likelihood over all draws
    minus the variance of the log-likelihood, summed over points.

    Computed here because ArviZ 1.x has no WAIC; ArviZ 0.x's ``waic`` gives the same
    number (population variance, every draw of every chain).
    """
    pointwise = np.asarray(pointwise, dtype=float)
    draws = pointwise.reshape(-1, pointwise.shape[-1])
    peak = draws.max(axis=0)
    log_mean_likelihood = peak + np.log(np.mean(np.exp(draws - peak), axis=0))
    return float(np.sum(log_mean_likelihood - draws.var(axis=0)))
