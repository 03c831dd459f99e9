"""A start for optimisers from the data: the normalisations a user left at their
functions' defaults (a power law's K = 1 photon/(cm2 s keV), a thousand times too
bright for most X-ray sources) scaled together to where the likelihood is best, as
Sherpa's ``guess`` does, but for any data (counts, fluxes, pixels)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from ._compile import compile_for_work
from ._shared import is_sharing
from .log_density import JointLogDensity
from .model import Model
from .parameter import Parameter

__all__ = ["normalization_paths", "normalization_start", "GUESS_DECADES"]

GUESS_DECADES = 30.0
"""Largest factor, in decades either way, by which :func:`normalization_start` scales
normalisations (their bounds may cut it)."""
_GUESS_POINTS = 64  # factors tried in each of the two searches
_GUESS_GAIN = 0.5  # ln L a start must gain (one sigma's worth) to replace the defaults
_GUESS_BATCH_POINTS = 2_000_000  # data points times rows of one batched call: some tens of MB


def normalization_paths(model: Model) -> dict[str, Parameter]:
    """The normalisations that scale each source's spectrum as a whole, by path
    (``src.spectrum.main.composite.K_2`` of ``TbAbs() * Powerlaw()``): see
    :meth:`~jointfit.functions.base.SpectralFunction.normalization_parameters`."""
    return {source.spectral_prefix(component.name) + local: parameter
            for source in model.sources.values() for component in source.spectrum
            for local, parameter in component.shape.normalization_parameters().items()}


def normalization_start(density: JointLogDensity, model: Model, theta: np.ndarray, lower: np.ndarray,
                        upper: np.ndarray, log_likelihood_batch: Callable[[np.ndarray], Any] | None = None,
                        rows_per_call: int | None = None) -> tuple[np.ndarray, str | None]:
    """A start for an optimiser: ``theta`` with the free normalisations still at their
    functions' defaults (not :attr:`~jointfit.parameter.Parameter.user_set`) multiplied
    by the one factor s that maximises the joint log-likelihood, the other parameters
    held at ``theta``.

    Multiplying every normalisation of a spectrum by s multiplies the spectrum by s,
    whatever the data (counts, fluxes, pixels): log L over log s is a one-dimensional
    problem, unimodal for Poisson and Gaussian likelihoods. It is searched on a grid of
    log10 s over :data:`GUESS_DECADES` decades either way, cut so that every scaled
    value stays within ``[lower, upper]`` (one batched call of
    ``density.log_likelihood_batch``; for data of over ~30 000 points, such as images,
    a few calls of fewer rows, to bound the memory), then on a grid ~0.03 dex apart
    within one step of the best point (calls of the same shape, so no second
    compilation). The start moves only where ln L gains more than 0.5.

    Parameters
    ----------
    density : JointLogDensity
        The log-likelihood of ``theta``.
    model : Model
        The model whose parameters say which values are defaults (the live model, or
        the snapshot ``density.space.model``).
    theta : numpy.ndarray
        Values of the free parameters (``density.space.free_names``), in their units.
    lower, upper : numpy.ndarray
        Bounds of each free parameter (``-inf``/``inf`` where open).
    log_likelihood_batch : callable, optional
        ``rows (m, n_free) -> log L (m,)``; ``density.log_likelihood_batch`` by default
        (:func:`~jointfit.many.fit_many` passes a program shared by many sources).
    rows_per_call : int, optional
        The ``m`` of every call (rows past the grid repeat the start); by default as
        many as keep a call to some tens of megabytes.

    Returns
    -------
    theta : numpy.ndarray
        The start (a new array; ``theta`` itself is not changed).
    note : str or None
        One line saying what was scaled and by how much; ``None`` when nothing was
        (no normalisation at its default, or no factor tried gains 0.5 in ln L).
    """
    names = list(density.space.free_names)
    theta = np.array(theta, dtype=float)
    chosen = [path for path, parameter in normalization_paths(model).items()
              if path in names and not parameter.user_set and theta[names.index(path)] != 0.0]
    if not chosen:
        return theta, None
    index = np.array([names.index(path) for path in chosen])
    values = theta[index]
    with np.errstate(divide="ignore", invalid="ignore"):
        ends = np.stack([lower[index] / values, upper[index] / values])  # flipped for negative values
    s_low, s_high = float(np.max(np.min(ends, axis=0))), float(np.min(np.max(ends, axis=0)))
    log_low = max(-GUESS_DECADES, math.log10(s_low) if s_low > 0.0 else -math.inf)
    log_high = min(GUESS_DECADES, math.log10(s_high))
    if not log_low < log_high:
        return theta, None

    per_call = rows_per_call or max(1, min(_GUESS_POINTS,
                                           _GUESS_BATCH_POINTS // max(1, sum(density.n_points.values()))))
    if log_likelihood_batch is None and is_sharing():  # one program for every analysis of this structure
        rows_shape = jax.ShapeDtypeStruct((per_call, len(names)), float)
        log_likelihood_batch = compile_for_work(density.log_likelihood_batch.trace(rows_shape), 4)
    elif log_likelihood_batch is None:
        log_likelihood_batch = density.log_likelihood_batch

    def log_likelihoods(log_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # the first row is always log s = 0: the start as it is
        log_s = np.concatenate([[0.0], log_s])
        calls = -(-log_s.size // per_call)
        rows = np.repeat(theta[None], calls * per_call, axis=0)  # rows past the grid repeat the start
        rows[:log_s.size, index] = values * 10.0 ** log_s[:, None]
        rows = np.clip(rows, lower, upper)
        found = np.concatenate([np.asarray(log_likelihood_batch(rows[k * per_call:(k + 1) * per_call]),
                                           dtype=float) for k in range(calls)])[:log_s.size]
        return log_s, np.where(np.isfinite(found), found, -np.inf)

    coarse, found = log_likelihoods(np.linspace(log_low, log_high, _GUESS_POINTS - 1))
    step = (log_high - log_low) / (_GUESS_POINTS - 2)
    best = coarse[int(np.argmax(found))]
    fine, found = log_likelihoods(np.linspace(max(best - step, log_low), min(best + step, log_high),
                                              _GUESS_POINTS - 1))
    i = int(np.argmax(found))
    if not found[i] > found[0] + _GUESS_GAIN:
        return theta, None
    factor = 10.0 ** fine[i]
    theta[index] = np.clip(values * factor, lower[index], upper[index])
    by_source: dict[str, list[str]] = {}
    for path in chosen:
        by_source.setdefault(path.split(".", 1)[0], []).append(path.rsplit(".", 1)[-1])
    what = " and ".join(f"{', '.join(local_names)} of {source}" for source, local_names in by_source.items())
    plural = "s" if len(chosen) > 1 else ""
    return theta, f"start: scaled the normalisation{plural} {what} by {factor:.3g} to match the data"
