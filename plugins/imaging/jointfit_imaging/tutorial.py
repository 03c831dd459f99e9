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

__all__ = ["Band", "TUTORIAL_BANDS", "TUTORIAL_TRUTH", "tutorial_model", "simulate_cutout", "write_band_images",
           "read_cutout", "read_band_images"]

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


def simulate_cutout(path: str | os.PathLike[str], model: Model, band: Band, size: int, *, seed: int | jax.Array,
                    centre: tuple[float, float] = (RA, DEC), psf_fwhm: float | None = None,
                    filter: str | None = None, keywords: dict[str, object] | None = None) -> Path:
    """Simulate ``model`` (at its current parameter values) in a ``size`` x ``size``
    cutout of ``band`` centred on ``centre`` (ra, dec in degrees; north up, east left),
    with Gaussian noise of the band's sigma (``ImageLike.simulate``; ``seed`` an
    integer or a JAX random key), and write it as a survey cutout: the image with its
    WCS header, FILTER, PHOTZP (the zeropoint, ESO's keyword) and PSFFWHM (arcsec;
    ``psf_fwhm`` overrides the band's) keywords, and a VARIANCE extension. The image
    sees every source with a magnitude in the band and, with ``filter`` (a name
    :func:`jointfit.filters.get_filter` takes), every source with a photon spectrum
    through that filter; ``keywords`` are added to the header.
    """
    fwhm = band.psf_fwhm if psf_fwhm is None else psf_fwhm
    wcs = simple_wcs((size, size), band.pixel_scale, *centre)
    variance = np.full((size, size), band.noise**2)
    plugin = ImageLike(band.name, np.zeros((size, size)), variance=variance, wcs=wcs, psf=GaussianPSF(fwhm),
                       zeropoint=band.zeropoint, filter=filter)
    space = model.compile()
    plugin.setup(space)
    key = jax.random.PRNGKey(seed) if isinstance(seed, int) else seed
    image = np.asarray(plugin.simulate(space.unpack(space.initial_theta), key))
    header = wcs.to_header()
    header["FILTER"] = band.name
    header["PHOTZP"] = (band.zeropoint, "mag = -2.5 log10(data) + PHOTZP")
    header["PSFFWHM"] = (fwhm, "Gaussian PSF FWHM (arcsec)")
    for keyword, value in (keywords or {}).items():
        header[keyword] = value
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList([fits.PrimaryHDU(image.astype(np.float32), header),
                  fits.ImageHDU(variance.astype(np.float32), name="VARIANCE")]).writeto(path, overwrite=True)
    return path


def write_band_images(folder: str | os.PathLike[str], truth: dict[str, float] | None = None,
                      bands: tuple[Band, ...] = TUTORIAL_BANDS, size_factor: float = 1.0, seed: int = 0) -> list[Path]:
    """Simulate the tutorial galaxy in each band (:func:`simulate_cutout`) and write
    ``<band>.fits`` in ``folder``; ``size_factor`` scales the images' sizes."""
    truth = {**TUTORIAL_TRUTH, **(truth or {})}
    model = tutorial_model(truth, tuple(band.name for band in bands))
    return [simulate_cutout(Path(folder) / f"{band.name}.fits", model, band, max(9, int(round(band.size * size_factor))),
                            seed=jax.random.fold_in(jax.random.PRNGKey(seed), index))
            for index, band in enumerate(bands)]


def read_cutout(path: str | os.PathLike[str], name: str | None = None, **options: object) -> ImageLike:
    """A cutout written by :func:`simulate_cutout`, read as a user reads a survey
    cutout: the file's WCS, its VARIANCE extension, the PSF and band from its header (the
    zeropoint, its PHOTZP, ImageLike reads itself); ``name`` defaults to the file's stem."""
    path = Path(path)
    header = fits.getheader(path)
    return ImageLike(name or path.stem, path, variance="VARIANCE", psf=GaussianPSF(header["PSFFWHM"]),
                     band=header["FILTER"], **options)


def read_band_images(folder: str | os.PathLike[str], bands: tuple[str, ...] = ("r", "W1", "NUV"),
                     **options: object) -> list[ImageLike]:
    """The cutouts ``<band>.fits`` written by :func:`write_band_images`
    (:func:`read_cutout`)."""
    return [read_cutout(Path(folder) / f"{band}.fits", **options) for band in bands]
