"""Posterior tables of sources' magnitudes and colours, the imaging counterpart of
``results.get_flux``.

Every draw carries all of a source's magnitudes (and the shared structure they
depend on), so a colour's interval comes from the draws of the difference, with the
correlation between bands kept, not from the two magnitudes' errors added in
quadrature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jointfit.errors import AnalysisError
from jointfit.intervals import check_interval, credible_bounds

from .brightness import BandMagnitudes

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["magnitude_table"]

Colour = str | tuple[str, str]


def _magnitude_paths(model: Any, sources: Sequence[str]) -> dict[str, dict[str, str]]:
    """Parameter path of each band's magnitude, by source (those with
    ``BandMagnitudes``, in the model's order, or ``sources``)."""
    with_bands = {name: source.spectral_shape for name, source in model.sources.items()
                  if isinstance(getattr(source, "spectral_shape", None), BandMagnitudes)}
    if not with_bands:
        raise AnalysisError("the model has no source with BandMagnitudes: there are no magnitudes to tabulate")
    unknown = [name for name in sources if name not in with_bands]
    if unknown:
        raise AnalysisError(f"no source with BandMagnitudes called {unknown}; the model's are {list(with_bands)}")
    return {name: {band: model.path_of(getattr(with_bands[name], band)) for band in with_bands[name].bands}
            for name in (sources or with_bands)}


def _colour_rows(colour: Colour, paths: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """``(label, path of the first magnitude, path of the second)`` of a colour: two
    bands of every source that has both, or two magnitudes named ``"source: band"``."""
    sides = [side.strip() for side in colour.split(" - ")] if isinstance(colour, str) else list(colour)
    if len(sides) != 2 or not all(isinstance(side, str) and side for side in sides):
        raise AnalysisError(f"a colour is two bands, 'NUV - r' or ('NUV', 'r'), or two magnitudes "
                            f"'source: band'; got {colour!r}")
    if all(":" not in side for side in sides):
        first, second = sides
        rows = [(f"{name}: {first} - {second}", bands[first], bands[second])
                for name, bands in paths.items() if first in bands and second in bands]
        if not rows:
            available = {name: list(bands) for name, bands in paths.items()}
            raise AnalysisError(f"no source has magnitudes in both {first!r} and {second!r}; their bands: {available}")
        return rows
    located = []
    for side in sides:
        name, _, band = (part.strip() for part in side.partition(":"))
        if name not in paths or band not in paths[name]:
            raise AnalysisError(f"colour {colour!r}: {side!r} is not a magnitude 'source: band' of the table; "
                                f"they are {[f'{n}: {b}' for n, bands in paths.items() for b in bands]}")
        located.append((f"{name}: {band}", paths[name][band]))
    return [(f"{located[0][0]} - {located[1][0]}", located[0][1], located[1][1])]


def magnitude_table(results: Any, *, colours: Sequence[Colour] = (), sources: Sequence[str] = (),
                    confidence_level: float = 0.68, interval: str = "equal-tailed") -> pd.DataFrame:
    """Magnitudes of the sources with :class:`~jointfit_imaging.BandMagnitudes`, and
    colours, with intervals from every draw.

    Parameters
    ----------
    results : AnalysisResults
        Of a Bayesian analysis (central value: the draws' median) or a maximum-likelihood
        fit (the best fit, with draws from the covariance).
    colours : sequence of str or (str, str)
        Colours as ``"NUV - r"`` or ``("NUV", "r")``: one row per source with both
        bands; or across sources (one source per band, linked), ``"gal_NUV: NUV -
        gal_r: r"``.
    sources : sequence of str
        Sources to tabulate (default: every one with ``BandMagnitudes``).
    confidence_level : float
        Probability inside the interval.
    interval : {"equal-tailed", "hdi"}
        Interval type.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``"source: band"`` and ``"source: band1 - band2"``, with columns
        ``value``, ``lower``, ``upper`` (mag, in the system of each band's zeropoints:
        AB for zeropoints from flux units, the survey's for its keywords; a colour of
        bands in two systems is in neither). A fixed magnitude has its value as
        interval.

    Raises
    ------
    AnalysisError
        A model without ``BandMagnitudes``, unknown sources, bands or colours,
        invalid interval options.
    """
    import pandas as pd

    check_interval(confidence_level, interval)
    model = results.model
    paths = _magnitude_paths(model, list(sources))
    rows = [(f"{name}: {band}", path, None) for name, bands in paths.items() for band, path in bands.items()]
    for colour in colours:
        rows += _colour_rows(colour, paths)
    n_draws = results.samples(results.free_parameters[0]).size
    sampled = set(results.parameter_names)

    def draws_of(path: str | None) -> np.ndarray:
        if path is None:
            return np.zeros(n_draws)
        # a fixed magnitude is not in the posterior: its value in every draw
        return results.samples(path) if path in sampled else np.full(n_draws, float(model.parameters[path].value))

    draws = np.column_stack([draws_of(first) - draws_of(second) for _, first, second in rows])
    # a maximum-likelihood result keeps its best fit as the last draw
    central = draws[-1] if results.analysis == "mle" else np.median(draws, axis=0)
    bounds = credible_bounds(draws, confidence_level, interval)
    table = pd.DataFrame({"value": central, "lower": bounds[:, 0], "upper": bounds[:, 1]},
                         index=pd.Index([label for label, _, _ in rows], name="quantity"))
    table.attrs.update({"confidence_level": confidence_level, "interval": interval, "n_draws": int(draws.shape[0])})
    return table
