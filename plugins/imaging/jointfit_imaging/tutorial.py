"""AstroPhot's joint-modelling tutorial as data: one Sérsic galaxy seen in DESI-LS r,
unWISE W1 and GALEX NUV, simulated with the plugin's own ``simulate`` and written as
survey cutouts (FITS with WCS headers and a variance extension) that are then read
back as a user reads them.

Used by ``notebooks/joint_galaxy_multiband.ipynb``, the tests and
``benchmarks/imaging.py``; ``size_factor`` shrinks the images (same pixel scales and
PSFs) for quick runs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
from astropy.io import fits

from jointfit import ExtendedSource, Model
from jointfit.priors import Uniform_prior

from .brightness import BandMagnitudes
from .grid import simple_wcs
from .plugin import ImageLike
from .psf import GaussianPSF
from .shapes import Sersic

__all__ = ["Band", "TUTORIAL_BANDS", "TUTORIAL_TRUTH", "tutorial_model", "write_band_images", "read_band_images"]

RA, DEC = 187.3119, 12.9783  # LEDA 41136, the tutorial's galaxy


@dataclass(frozen=True)
class Band:
    """One survey band of the tutorial: image size (pixels), pixel scale (arcsec),
    Gaussian PSF FWHM (arcsec), zeropoint (mag) and noise sigma (image units)."""

    name: str
    size: int
    pixel_scale: float
    psf_fwhm: float
    zeropoint: float
    noise: float


TUTORIAL_BANDS = (
    Band("r", 500, 0.262, 1.12, 22.5, 0.008),
    Band("W1", 52, 2.75, 6.1, 25.199, 4.9),
    Band("NUV", 90, 1.5, 5.4, 20.08, 0.0007),
)

TUTORIAL_TRUTH = {"ra": RA + 0.8 / 3600.0, "dec": DEC - 0.5 / 3600.0, "n": 1.6, "Re": 9.0, "q": 0.55, "PA": 62.0,
                  "r": 15.8, "W1": 15.6, "NUV": 18.9}
"""The simulated galaxy: centre (deg), Sérsic index, Re (arcsec), axis ratio, PA (deg
east of north) and magnitudes by band."""


def tutorial_model(start: dict[str, float] | None = None, bands: tuple[str, ...] = ("r", "W1", "NUV")) -> Model:
    """One ``ExtendedSource`` "galaxy": a Sérsic with shared structure and one magnitude
    per band, started at ``start`` (default: a rough guess near the truth), with
    uniform priors that cover the tutorial's galaxy widely."""
    guess = {"ra": RA, "dec": DEC, "n": 2.5, "Re": 6.0, "q": 0.7, "PA": 45.0, "r": 16.0, "W1": 16.0, "NUV": 19.5}
    guess.update(start or {})
    shape = Sersic(ra=guess["ra"], dec=guess["dec"], n=guess["n"], Re=guess["Re"], q=guess["q"], PA=guess["PA"])
    window = 5.0 / 3600.0
    priors = {"ra": (RA - window / math.cos(math.radians(DEC)), RA + window / math.cos(math.radians(DEC))),
              "dec": (DEC - window, DEC + window), "n": (0.3, 6.0), "Re": (0.5, 40.0), "q": (0.1, 1.0),
              "PA": (0.0, 180.0)}
    for name, (low, high) in priors.items():
        parameter = getattr(shape, name)
        parameter.bounds = (low, high)
        parameter.prior = Uniform_prior(lower_bound=low, upper_bound=high)
    brightness = BandMagnitudes(**{band: guess[band] for band in bands})
    for band in bands:
        parameter = getattr(brightness, band)
        parameter.bounds = (5.0, 30.0)
        parameter.prior = Uniform_prior(lower_bound=5.0, upper_bound=30.0)
    return Model(ExtendedSource("galaxy", spatial_shape=shape, spectral_shape=brightness))


def _band_plugin(band: Band, data: np.ndarray, size: int) -> ImageLike:
    return ImageLike(band.name, data, variance=np.full((size, size), band.noise**2),
                     wcs=simple_wcs((size, size), band.pixel_scale, RA, DEC), psf=GaussianPSF(band.psf_fwhm),
                     zeropoint=band.zeropoint)


def write_band_images(folder: str | os.PathLike[str], truth: dict[str, float] | None = None,
                      bands: tuple[Band, ...] = TUTORIAL_BANDS, size_factor: float = 1.0, seed: int = 0) -> list[Path]:
    """Simulate the tutorial galaxy in each band with ``ImageLike.simulate`` (Gaussian
    noise of the band's sigma) and write ``<band>.fits``: the image with its WCS
    header, ZEROPT and FILTER keywords, and a VARIANCE extension."""
    truth = {**TUTORIAL_TRUTH, **(truth or {})}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = tutorial_model(truth, tuple(band.name for band in bands))
    space = model.compile()
    values = space.unpack(space.initial_theta)
    paths = []
    for index, band in enumerate(bands):
        size = max(9, int(round(band.size * size_factor)))
        plugin = _band_plugin(band, np.zeros((size, size)), size)
        plugin.setup(space)
        image = np.asarray(plugin.simulate(values, jax.random.fold_in(jax.random.PRNGKey(seed), index)))
        header = simple_wcs((size, size), band.pixel_scale, RA, DEC).to_header()
        header["FILTER"], header["ZEROPT"] = band.name, band.zeropoint
        header["PSFFWHM"] = (band.psf_fwhm, "Gaussian PSF FWHM (arcsec)")
        path = folder / f"{band.name}.fits"
        fits.HDUList([fits.PrimaryHDU(image.astype(np.float32), header),
                      fits.ImageHDU(np.full((size, size), band.noise**2, dtype=np.float32), name="VARIANCE")]
                     ).writeto(path, overwrite=True)
        paths.append(path)
    return paths


def read_band_images(folder: str | os.PathLike[str], bands: tuple[str, ...] = ("r", "W1", "NUV"),
                     **options: object) -> list[ImageLike]:
    """The cutouts written by :func:`write_band_images`, read as a user reads survey
    cutouts: the file's WCS, its VARIANCE extension, the PSF and zeropoint from its
    header."""
    plugins = []
    for band in bands:
        path = Path(folder) / f"{band}.fits"
        header = fits.getheader(path)
        plugins.append(ImageLike(band, path, variance="VARIANCE", psf=GaussianPSF(header["PSFFWHM"]),
                                 zeropoint=header["ZEROPT"], band=header["FILTER"], **options))
    return plugins
