"""A small CCD-like response the X-ray tests simulate through (not a test module)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from jointfit_ogip import Response


def ccd_like_response(n_energies: int, n_channels: int, name: str = "ccd-like") -> Response:
    """``n_energies`` log-spaced energy bins over 0.2-12 keV into ``n_channels`` linear
    channels over 0.3-10 keV, Gaussian redistribution of 150 eV FWHM, a flat 500 cm2."""
    edges = np.geomspace(0.2, 12.0, n_energies + 1)
    channel_edges = np.linspace(0.3, 10.0, n_channels + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    cdf = stats.norm.cdf(channel_edges[None, :], centres[:, None], 0.15 / 2.355)
    return Response(edges[:-1], edges[1:], np.arange(1, channel_edges.size), channel_edges[:-1],
                    channel_edges[1:], np.diff(cdf, axis=1) * 500.0, name, has_area=True)
