"""Channel selections and groupings: which channels enter the likelihood, summed how.

Selections follow XSPEC/Sherpa's ``notice``: an energy range ``"0.5-7"`` (keV) keeps
every channel (or group) whose energy bounds overlap it; ``"c10-c100"`` keeps channels
10 to 100 inclusive. Channels of bad quality (non-zero QUALITY) never enter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from jointfit.errors import DataError

__all__ = ["Binning", "parse_selection", "group_ids_from_flags", "group_min_counts", "group_optimal",
           "optimal_bin_width"]

_RANGE = re.compile(r"^\s*(?P<c1>c?)\s*(?P<lo>[-+0-9.eE*]*?)\s*-\s*(?P<c2>c?)\s*(?P<hi>[-+0-9.eE*]*)\s*$")


@dataclass(frozen=True)
class Binning:
    """The bins a likelihood sums over.

    Attributes
    ----------
    channel_index : ndarray of int
        Indices (into the spectrum's channels) of the channels that enter.
    group_of : ndarray of int
        For each entering channel, the index of its bin (0 .. n_bins-1).
    n_bins : int
        Number of bins (groups) in the likelihood.
    """

    channel_index: np.ndarray
    group_of: np.ndarray
    n_bins: int

    def sum(self, per_channel: np.ndarray) -> np.ndarray:
        """Sum a per-channel array (all channels) into the bins (numpy)."""
        return np.bincount(self.group_of, weights=per_channel[self.channel_index], minlength=self.n_bins)


def group_ids_from_flags(grouping: np.ndarray) -> np.ndarray:
    """Group number of each channel from OGIP GROUPING flags (1 or 0 starts a group,
    -1 continues the previous one)."""
    starts = np.asarray(grouping) != -1
    if starts.size and not starts[0]:
        starts = starts.copy()
        starts[0] = True  # a file starting with a continuation: the first channel opens a group
    return np.cumsum(starts) - 1


def group_min_counts(counts: np.ndarray, minimum: float) -> np.ndarray:
    """OGIP GROUPING flags grouping consecutive channels to at least ``minimum`` counts
    (a last group short of the minimum is merged into the one before, as grppha does)."""
    flags = np.full(counts.size, -1, dtype=int)
    total, group_open, last_start = 0.0, False, 0
    for i, value in enumerate(counts):  # one pass at set-up, never in a likelihood
        if not group_open:
            flags[i], group_open, total, last_start = 1, True, 0.0, i
        total += value
        if total >= minimum:
            group_open = False
    if group_open and last_start > 0:
        flags[last_start] = -1  # the short last group joins the previous one
    return flags


def optimal_bin_width(counts_per_resolution: np.ndarray, n_resolution: float) -> np.ndarray:
    """Optimal bin width in units of the FWHM (Kaastra & Bleeker 2016, A&A 587, A151,
    eqs. 36-37): 1 when x = ln[N_r (1 + 0.2 ln R)] <= 2.119, else
    (0.08 + 7/x + 1.8/x^2) / (1 + 5.9/x); N_r counts per resolution element, R the
    number of resolution elements in the spectrum."""
    counts_per_resolution = np.asarray(counts_per_resolution, dtype=float)
    scaled = counts_per_resolution * (1.0 + 0.2 * np.log(max(n_resolution, 1.0)))
    with np.errstate(divide="ignore"):
        x = np.log(np.where(scaled > 0.0, scaled, 1.0))
    x_safe = np.where(x > 2.119, x, 10.0)
    width = (0.08 + 7.0 / x_safe + 1.8 / x_safe**2) / (1.0 + 5.9 / x_safe)
    return np.where(x > 2.119, width, 1.0)


def group_optimal(counts: np.ndarray, fwhm_channels: np.ndarray, min_counts: float | None = None) -> np.ndarray:
    """OGIP GROUPING flags with the optimal bins of Kaastra & Bleeker (2016).

    Each channel's optimal width is :func:`optimal_bin_width` times the local FWHM
    (in channels), with N_r the counts within one FWHM around the channel; a group
    grows while its length stays within the optimal width of every channel in it, so
    bins never exceed the optimum anywhere. ``min_counts`` then merges consecutive
    groups until each holds at least that many counts (ftgrouppha's "optmin").

    Parameters
    ----------
    counts : ndarray
        Counts per channel (source region).
    fwhm_channels : ndarray
        Instrument resolution (FWHM) at each channel, in channels.
    min_counts : float, optional
        Minimum counts per group after optimal grouping.
    """
    counts = np.asarray(counts, dtype=float)
    fwhm = np.maximum(np.asarray(fwhm_channels, dtype=float), 1.0)
    if fwhm.shape != counts.shape:
        raise DataError(f"group_optimal needs one FWHM per channel: {counts.size} channels, {fwhm.size} FWHM values")
    n = counts.size
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    centre = np.arange(n) + 0.5
    lo = np.clip(np.floor(centre - fwhm / 2.0).astype(int), 0, n)
    hi = np.clip(np.ceil(centre + fwhm / 2.0).astype(int), 0, n)
    per_resolution = (cumulative[hi] - cumulative[lo]) * fwhm / np.maximum(hi - lo, 1)
    width = np.maximum(np.floor(optimal_bin_width(per_resolution, float(np.sum(1.0 / fwhm))) * fwhm), 1.0)
    flags = np.full(n, -1, dtype=int)
    start = 0
    while start < n:  # one pass at set-up, never in a likelihood
        flags[start] = 1
        end, allowed = start + 1, width[start]
        while end < n and end - start + 1 <= min(allowed, width[end]):
            allowed = min(allowed, width[end])
            end += 1
        start = end
    if min_counts is not None:
        group_id = group_ids_from_flags(flags)
        merged = group_min_counts(np.bincount(group_id, weights=counts), min_counts)
        flags = np.where(flags == 1, merged[group_id], -1)
    return flags


def parse_selection(specs: Iterable[str], channel_lo: np.ndarray, channel_hi: np.ndarray,
                    channels: np.ndarray, origin: str) -> np.ndarray:
    """Boolean mask of the channels selected by ``specs`` ("0.5-7", "c10-c100", "10-*")."""
    mask = np.zeros(channels.size, dtype=bool)
    for spec in specs:
        match = _RANGE.match(str(spec))
        if not match:
            raise DataError(f"{origin}: cannot read the selection {spec!r}; write '0.5-7' (keV) or 'c10-c100'")
        in_channels = bool(match["c1"] or match["c2"])
        try:
            lo, hi = _range_ends(match)
        except ValueError:
            raise DataError(f"{origin}: cannot read the selection {spec!r}") from None
        if not lo < hi and not (in_channels and lo == hi):
            raise DataError(f"{origin}: selection {spec!r} has its lower end above its upper end")
        if in_channels:
            mask |= (channels >= lo) & (channels <= hi)
        else:
            mask |= (channel_hi > lo) & (channel_lo < hi)
    return mask


def selection_specs(selections: Iterable[Any], origin: str) -> list[str]:
    """The selections as text ranges: strings as given; an energy range as two numbers
    (keV) or astropy quantities of energy, frequency or wavelength, either as the two
    arguments themselves or as a ``(low, high)`` pair."""
    import astropy.units as u

    items = list(selections)

    def kev(value: Any) -> float:
        if isinstance(value, u.Quantity):
            try:
                return float(value.to_value(u.keV, u.spectral()))
            except u.UnitConversionError:
                raise DataError(f"{origin}: a selection needs energies, frequencies or wavelengths, "
                                f"got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise DataError(f"{origin}: cannot read the selection {value!r}; write '0.5-7' (keV), 'c10-c100', "
                            "0.5, 7 or 0.5 * u.keV, 7 * u.keV")
        return float(value)

    def as_range(pair: Any) -> str:
        low, high = sorted(kev(v) for v in pair)  # wavelengths come in reversed
        return f"{np.format_float_positional(low, trim='-')}-{np.format_float_positional(high, trim='-')}"

    if len(items) == 2 and not any(isinstance(item, str | tuple | list) for item in items):
        return [as_range(items)]
    specs = []
    for item in items:
        if isinstance(item, str):
            specs.append(item)
        elif isinstance(item, tuple | list) and len(item) == 2:
            specs.append(as_range(item))
        else:
            raise DataError(f"{origin}: cannot read the selection {item!r}; write '0.5-7' (keV), 'c10-c100', "
                            "(0.5, 7) or (0.5 * u.keV, 7 * u.keV)")
    return specs


def describe_selection(selected: np.ndarray, channel_lo: np.ndarray, channel_hi: np.ndarray) -> str:
    """The selected channels as energy ranges, ``"0.3-2.1, 2.5-10 keV"``."""
    runs, start = [], None
    for index, chosen in enumerate(np.append(selected, False)):
        if chosen and start is None:
            start = index
        elif not chosen and start is not None:
            runs.append(f"{channel_lo[start]:.4g}-{channel_hi[index - 1]:.4g}")
            start = None
    return ", ".join(runs) + " keV"


def reaches_beyond(spec: str, low: float, high: float) -> bool:
    """Whether the energy range ``spec`` ("lo-hi" keV, ``*`` open; channel ranges and
    "all" never) reaches outside ``[low, high]``, the channels' energies."""
    match = _RANGE.match(spec)
    if not match or match["c1"] or match["c2"]:
        return False
    try:
        lo, hi = _range_ends(match)
    except ValueError:
        return False
    return bool((np.isfinite(lo) and lo < low) or (np.isfinite(hi) and hi > high))


def _range_ends(match: re.Match[str]) -> tuple[float, float]:
    """The two ends of a matched ``_RANGE``, ``*`` or nothing open (±inf); ValueError
    for ends that are no numbers."""
    lo = -np.inf if match["lo"] in ("", "*") else float(match["lo"])
    hi = np.inf if match["hi"] in ("", "*") else float(match["hi"])
    return lo, hi
