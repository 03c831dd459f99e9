"""The other cases of AstroPhot's joint-modelling tutorial as data: a group of galaxies
seen in three bands, two dithered exposures of one band, and a supernova on its host
galaxy over several epochs.

Each ``write_*`` function simulates its scene from known truths (Sérsic galaxies and,
for the supernova, a point source) with :func:`~jointfit_imaging.tutorial.simulate_cutout`
and writes survey-like cutouts that the notebook and the tests read back with
:func:`~jointfit_imaging.tutorial.read_cutout`. The models that fit them are the
user's to write (see ``notebooks/joint_galaxy_multiband.ipynb``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import jax

from jointfit import ExtendedSource, Model, PointSource

from .brightness import BandMagnitudes
from .shapes import Sersic
from .tutorial import DEC, RA, TUTORIAL_BANDS, Band, simulate_cutout

__all__ = ["GalaxyTruth", "GROUP", "GROUP_FIELD", "DITHERS", "SUPERNOVA_HOST", "SUPERNOVA_OFFSET", "SUPERNOVA_EPOCHS",
           "sky_position", "write_group_images", "write_dithered_images", "write_supernova_epochs"]


def sky_position(east: float, north: float) -> tuple[float, float]:
    """(ra, dec) in degrees of an offset ``east``, ``north`` (arcsec) from the
    tutorial's field centre."""
    return RA + east / 3600.0 / math.cos(math.radians(DEC)), DEC + north / 3600.0


@dataclass(frozen=True)
class GalaxyTruth:
    """A simulated Sérsic galaxy: offset from the field centre (arcsec east, north),
    index, half-light radius (arcsec), axis ratio, PA (degrees east of north) and
    magnitudes by band."""

    name: str
    east: float
    north: float
    n: float
    Re: float
    q: float
    PA: float
    magnitudes: dict[str, float] = field(default_factory=dict)

    @property
    def position(self) -> tuple[float, float]:
        """(ra, dec) in degrees."""
        return sky_position(self.east, self.north)

    def source(self) -> ExtendedSource:
        """This galaxy as an ``ExtendedSource`` with its true values."""
        ra, dec = self.position
        return ExtendedSource(self.name, spatial_shape=Sersic(ra=ra, dec=dec, n=self.n, Re=self.Re, q=self.q, PA=self.PA),
                              spectral_shape=BandMagnitudes(**self.magnitudes))


GROUP = (
    GalaxyTruth("g1", 0.0, 0.0, 1.6, 6.0, 0.55, 62.0, {"r": 15.8, "W1": 15.6, "NUV": 18.9}),
    GalaxyTruth("g2", 13.0, 8.0, 1.0, 3.0, 0.70, 140.0, {"r": 17.4, "W1": 17.5, "NUV": 19.6}),
    GalaxyTruth("g3", -11.0, -9.0, 3.0, 2.5, 0.80, 20.0, {"r": 17.0, "W1": 16.5, "NUV": 21.0}),
)
"""The group: a large disc-like galaxy and two smaller neighbours, one bulge-like."""

GROUP_FIELD = 48.0
"""Side of the group's cutouts (arcsec) in every band."""


def write_group_images(folder: str | os.PathLike[str], galaxies: tuple[GalaxyTruth, ...] = GROUP,
                       bands: tuple[Band, ...] = TUTORIAL_BANDS, side: float = GROUP_FIELD, seed: int = 1) -> list[Path]:
    """Simulate the group in each band (cutouts of ``side`` arcsec at the band's pixel
    scale, PSF and noise) and write ``<band>.fits`` in ``folder``."""
    model = Model(*(galaxy.source() for galaxy in galaxies))
    return [simulate_cutout(Path(folder) / f"{band.name}.fits", model, band, round(side / band.pixel_scale),
                            seed=jax.random.fold_in(jax.random.PRNGKey(seed), index))
            for index, band in enumerate(bands)]


DITHERS = ((0.0, 0.0, 1.05), (3.4, -2.7, 1.30))
"""The two exposures: pointing offset from the galaxy (pixels east, north; not whole
pixels) and seeing (PSF FWHM, arcsec)."""


def write_dithered_images(folder: str | os.PathLike[str], galaxy: GalaxyTruth = GROUP[0], size: int = 110,
                          dithers: tuple[tuple[float, float, float], ...] = DITHERS, seed: int = 2) -> list[Path]:
    """Simulate ``galaxy`` in r-band exposures of ``size`` pixels pointed at the given
    offsets with the given seeing; write ``r_<k>.fits`` (k from 1) in ``folder``."""
    band = TUTORIAL_BANDS[0]
    model = Model(galaxy.source())
    paths = []
    for index, (east, north, fwhm) in enumerate(dithers):
        centre = sky_position(east * band.pixel_scale, north * band.pixel_scale)
        paths.append(simulate_cutout(Path(folder) / f"r_{index + 1}.fits", model, band, size, centre=centre,
                                     psf_fwhm=fwhm, seed=jax.random.fold_in(jax.random.PRNGKey(seed), index)))
    return paths


SUPERNOVA_HOST = GalaxyTruth("host", 0.0, 0.0, 1.3, 3.0, 0.6, 35.0, {"r": 16.6})
"""The host galaxy: the same in every epoch."""

SUPERNOVA_OFFSET = (1.8, -1.2)
"""The supernova's offset from the host's centre (arcsec east, north)."""

SUPERNOVA_EPOCHS = ((60310.2, 20.6, 1.00), (60325.1, 19.9, 1.35), (60341.3, 20.3, 0.90), (60362.0, 21.0, 1.15))
"""Epochs: MJD, the supernova's r magnitude and the seeing (PSF FWHM, arcsec)."""


def write_supernova_epochs(folder: str | os.PathLike[str], host: GalaxyTruth = SUPERNOVA_HOST,
                           offset: tuple[float, float] = SUPERNOVA_OFFSET,
                           epochs: tuple[tuple[float, float, float], ...] = SUPERNOVA_EPOCHS, size: int = 72,
                           seed: int = 3) -> list[Path]:
    """Simulate the host and a supernova at ``offset`` from its centre in r-band
    cutouts of ``size`` pixels, one per epoch (magnitude and seeing from ``epochs``),
    and write ``epoch_<k>.fits`` (k from 1, header keyword MJD-OBS) in ``folder``."""
    band = TUTORIAL_BANDS[0]
    ra, dec = sky_position(host.east + offset[0], host.north + offset[1])
    paths = []
    for index, (mjd, magnitude, fwhm) in enumerate(epochs):
        model = Model(host.source(), PointSource("sn", ra=ra, dec=dec, spectral_shape=BandMagnitudes(r=magnitude)))
        paths.append(simulate_cutout(Path(folder) / f"epoch_{index + 1}.fits", model, band, size, psf_fwhm=fwhm,
                                     seed=jax.random.fold_in(jax.random.PRNGKey(seed), index),
                                     keywords={"MJD-OBS": mjd}))
    return paths
