"""jointfit plugin for OGIP spectra (PHA type I/II, RMF, ARF, RSP).

``OGIPLike(name, observation, background=..., response=..., arf=...)`` reads what
XSPEC and Sherpa read and gives a pure JAX log-likelihood of the assigned sources.
"""

from .binning import group_min_counts, group_optimal, optimal_bin_width
from .pha import PHASpectrum, read_pha, read_pha_rows
from .plots import plot_model_counts, view_count_spectrum
from .plugin import FROM_HEADER, STATISTICS, DispersionSpectrumLike, OGIPLike
from .response import EffectiveArea, Response, read_arf, read_rmf

__all__ = [
    "OGIPLike",
    "DispersionSpectrumLike",
    "FROM_HEADER",
    "STATISTICS",
    "PHASpectrum",
    "Response",
    "EffectiveArea",
    "read_pha",
    "read_pha_rows",
    "read_rmf",
    "read_arf",
    "group_min_counts",
    "group_optimal",
    "optimal_bin_width",
    "view_count_spectrum",
    "plot_model_counts",
]
