"""Channel selections and groupings: which channels enter the likelihood, summed how.

Selections follow XSPEC/Sherpa's ``notice``: an energy range ``"0.5-7"`` (keV) keeps
every channel (or group) whose energy bounds overlap it; ``"c10-c100"`` keeps channels
10 to 100 inclusive. Channels of bad quality (non-zero QUALITY) never enter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from jointfit.errors import DataError

__all__ = ["Binning", "parse_selection", "group_ids_from_flags", "group_min_counts"]

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
            lo = -np.inf if match["lo"] in ("", "*") else float(match["lo"])
            hi = np.inf if match["hi"] in ("", "*") else float(match["hi"])
        except ValueError:
            raise DataError(f"{origin}: cannot read the selection {spec!r}") from None
        if not lo < hi and not (in_channels and lo == hi):
            raise DataError(f"{origin}: selection {spec!r} has its lower end above its upper end")
        if in_channels:
            mask |= (channels >= lo) & (channels <= hi)
        else:
            mask |= (channel_hi > lo) & (channel_lo < hi)
    return mask
