"""A Chandra ACIS-like observation of a quasar, written as the files a user gets from
CIAO's ``specextract``: a PHA type I spectrum (with a GROUPING column to 15 counts in
0.3-11 keV and
BACKFILE, RESPFILE and ANCRFILE in its header), its background from a larger region,
an RMF and an ARF.

The response has the shapes of ACIS-S spectra: 1090 energy rows of 10 eV from 0.1 to
11 keV, 1024 PI channels of 14.6 eV, Gaussian redistribution of about 100 eV FWHM at
1.5 keV growing as sqrt(E), and a smooth effective area (not a calibrated one) peaking
near 4 keV. Used by ``notebooks/xray_spectrum_3c273_like.ipynb`` and its tests, so that
users without the real files run the same steps.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from .binning import group_min_counts
from .plugin import OGIPLike
from .quadrature import BinIntegrator
from .response import EffectiveArea, Response
from .writing import write_arf, write_response, write_spectrum

__all__ = ["acis_like_response", "acis_like_area", "write_acis_like_observation"]

CHANNEL_WIDTH = 0.0146  # keV per PI channel
EXPOSURE = 38_564.6     # s, as the 3C 273 observation in ../shared
BACKGROUND_AREA_RATIO = 7.41  # background region / source region (BACKSCAL ratio)


def acis_like_response() -> Response:
    """An RMF without area: 1090 energy rows (0.1-11 keV, 10 eV) into 1024 PI channels
    (14.6 eV), Gaussian redistribution of FWHM 0.1 keV × sqrt(E / 1.5 keV); entries
    below 1e-6 are left out, as LO_THRES does."""
    energy_edges = np.round(np.linspace(0.1, 11.0, 1091), 6)
    channel_edges = np.arange(1025) * CHANNEL_WIDTH
    channel_edges[0] = 0.00146
    centres = 0.5 * (energy_edges[:-1] + energy_edges[1:])
    sigma = 0.1 * np.sqrt(centres / 1.5) / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    cdf = special.ndtr((channel_edges[None, :] - centres[:, None]) / sigma[:, None])
    matrix = np.diff(cdf, axis=1)
    matrix[matrix < 1e-6] = 0.0
    return Response(energy_edges[:-1], energy_edges[1:], np.arange(1, 1025), channel_edges[:-1], channel_edges[1:],
                    matrix, "acis-like RMF", has_area=False)


def acis_like_area(response: Response) -> EffectiveArea:
    """A smooth effective area (cm²) on the response's energy grid: rising from ~10 cm²
    at 0.6 keV to ~140 cm² near 4 keV and falling to ~5 cm² at 10 keV."""
    energy = 0.5 * (response.energy_lo + response.energy_hi)
    area = 260.0 / ((energy / 3.2) ** -2.6 + (energy / 5.8) ** 4.5 + 0.9)
    return EffectiveArea(response.energy_lo, response.energy_hi, area, "acis-like ARF")


def write_acis_like_observation(folder: str | os.PathLike[str], source: Any, background_rate: Any, *,
                                stem: str = "quasar", exposure: float = EXPOSURE, seed: int = 0) -> Path:
    """Simulate ``source`` (a photon spectrum, photons/(cm2 s keV)) seen by the ACIS-like
    response for ``exposure`` s, with a background of ``background_rate``
    (counts/(s keV) in channel energy, in the source region), and write
    ``<stem>.pi``, ``<stem>_bg.pi``, ``<stem>.rmf`` and ``<stem>.arf`` into ``folder``.

    Returns
    -------
    Path
        The source spectrum, which names the other three in its header.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    response = acis_like_response()
    area = acis_like_area(response)
    simulated = OGIPLike.from_function("simulated", source, response.with_arf(area), background_function=background_rate,
                                       exposure=exposure, seed=seed)
    rng = np.random.default_rng(seed + 1)
    # the background region is BACKGROUND_AREA_RATIO times larger: more counts, and a
    # BACKSCAL that says so (the one simulated with the source has the source's area)
    expected_background = background_rate_counts(background_rate, response, exposure)
    # grouped to 15 counts between 0.3 and 11 keV, as dmgroup is usually run; channels
    # outside stay single
    grouping = np.ones(response.n_channels, dtype=int)
    inside = (response.channel_lo >= 0.3) & (response.channel_hi <= 11.0)
    grouping[inside] = group_min_counts(simulated.observation.counts[inside], 15)
    observation = replace(simulated.observation, backscal=np.full(1024, 2.5e-6), grouping=grouping)
    background = replace(simulated.background,
                         counts=rng.poisson(BACKGROUND_AREA_RATIO * expected_background).astype(float),
                         backscal=np.full(1024, 2.5e-6 * BACKGROUND_AREA_RATIO))
    paths = {role: folder / f"{stem}{suffix}" for role, suffix in
             (("observation", ".pi"), ("background", "_bg.pi"), ("rmf", ".rmf"), ("arf", ".arf"))}
    write_response(paths["rmf"], response, overwrite=True)
    write_arf(paths["arf"], area, overwrite=True)
    write_spectrum(paths["background"], background, is_background=True, overwrite=True)
    write_spectrum(paths["observation"], observation, backfile=paths["background"].name,
                   respfile=paths["rmf"].name, ancrfile=paths["arf"].name, overwrite=True)
    return paths["observation"]


def background_rate_counts(background_rate: Any, response: Response, exposure: float) -> np.ndarray:
    """Expected background counts per channel in the source region: ``background_rate``
    (counts/(s keV)) integrated over each channel's energy bounds
    (:class:`~jointfit_ogip.quadrature.BinIntegrator`), times the exposure."""
    integrator = BinIntegrator(response.channel_lo, response.channel_hi)
    return np.asarray(integrator(np.asarray(background_rate(integrator.nodes), dtype=float))) * exposure
