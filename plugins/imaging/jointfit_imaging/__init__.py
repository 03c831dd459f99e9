"""jointfit plugin: images in any band, each modelled in its own pixel grid through its
WCS, with its PSF (AstroPhot's joint multi-band fits, with posteriors)."""

from .brightness import BandMagnitudes, band_flux
from .data import ImageData, read_image, variance_from_counts
from .grid import SkyGrid, simple_wcs
from .magnitudes import magnitude_table
from .plots import plot_images
from .plugin import ImageLike, SkyWindow
from .psf import GaussianPSF, MoffatPSF, psf_image
from .psfex import PSFExPSF
from .render import PixelIntegrator, PSFConvolver
from .sersic import sersic_b
from .shapes import Exponential, Gaussian2D, ImagingShape, Moffat2D, Sersic, SplineProfile, gnomonic
from .structure import share_structure

__all__ = [
    "BandMagnitudes", "Exponential", "Gaussian2D", "GaussianPSF", "ImageData", "ImageLike", "ImagingShape",
    "Moffat2D", "MoffatPSF", "PSFConvolver", "PSFExPSF", "PixelIntegrator", "Sersic", "SkyGrid", "SkyWindow", "SplineProfile",
    "band_flux", "gnomonic", "magnitude_table", "plot_images", "psf_image", "read_image", "sersic_b", "share_structure", "simple_wcs",
    "variance_from_counts",
]
