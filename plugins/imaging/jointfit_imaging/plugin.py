"""``ImageLike``: one image (or windows of it) as a pure JAX log-likelihood of the model.

The model image of the sources the plugin sees is rendered in the image's own pixel
grid through its WCS: each extended source's shape integrated over pixels
(:class:`~jointfit_imaging.render.PixelIntegrator`) and scaled by its flux in the
image's band, point sources as PSF-scaled phase ramps, all convolved with the PSF by
one FFT (:class:`~jointfit_imaging.render.PSFConvolver`), over the windows' bounding
box plus a margin of half the PSF so that light from outside a window scatters in.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from jointfit import statistics as stats
from jointfit.errors import DataError, JointfitWarning, PluginError
from jointfit.filters import BandIntegrals, get_filter, speclite_filter_names
from jointfit.parameter import Parameter
from jointfit.plugin import Plugin
from jointfit.priors import Uniform_prior
from jointfit.space import ParameterSpace

from .brightness import BandMagnitudes, band_flux
from .data import read_image
from .grid import SkyGrid, icrs_to_pixel, pixel_scale_at
from .photometry import STANDARD_KEYWORDS, SURVEY_KEYWORDS, header_zeropoint, survey_keywords_present
from .psf import psf_image
from .render import PixelIntegrator, PSFConvolver
from .shapes import ImagingShape, gnomonic

__all__ = ["ImageLike", "SkyWindow"]

_LIKELIHOODS = ("gaussian", "poisson")
_SKIES = (None, "flat", "tilted")


@dataclass(frozen=True)
class SkyWindow:
    """A window given on the sky: centre (``ra``, ``dec``, degrees) and ``width``
    (east-west) and ``height`` (north-south) in arcsec; each image fits the pixels of
    the smallest pixel box that holds it."""

    ra: float
    dec: float
    width: float
    height: float

    def pixel_box(self, wcs: Any) -> tuple[int, int, int, int]:
        """(x_min, x_max, y_min, y_max) of the box's corners in ``wcs``'s pixels."""
        cos_dec = math.cos(math.radians(self.dec))
        corners = [(self.ra + sx * self.width / 2.0 / 3600.0 / cos_dec, self.dec + sy * self.height / 2.0 / 3600.0)
                   for sx in (-1, 1) for sy in (-1, 1)]
        x, y = icrs_to_pixel(wcs, [c[0] for c in corners], [c[1] for c in corners])
        return (int(math.floor(np.min(x) + 0.5)), int(math.floor(np.max(x) + 0.5)) + 1,
                int(math.floor(np.min(y) + 0.5)), int(math.floor(np.max(y) + 0.5)) + 1)


def _is_pixel_box(window: Any) -> bool:
    """Whether ``window`` is four whole numbers (a tuple, list or integer array)."""
    try:
        box = np.asarray(window)
    except (TypeError, ValueError):
        return False
    return box.shape == (4,) and box.dtype.kind in "iu"


@dataclass(frozen=True)
class _Rendered:
    """How one source enters an image: its kind, the paths of its position and shape
    parameters, and the path of its magnitude in the image's band."""

    name: str
    shape: ImagingShape | None  # None: a point source
    prefix: str
    magnitude: str  # "" for a source whose photon spectrum sets its brightness through the filter
    spectrum: Any = None  # that photon spectrum, (energies_keV, values) -> photons / (cm2 s keV)


class ImageLike(Plugin):
    """An image of the sky in one band.

    Parameters
    ----------
    name : str
        Name of the data set.
    image : str, path, HDU or ndarray
        The image: a FITS file (``hdu`` selects the HDU; by default the first that
        holds an image, as in a ``.fits.fz`` file), an image HDU, or an array
        with ``wcs``, or with ``pixel_scale`` and ``reference``.
    variance, weight, sigma : array, path, HDU or extension name, optional
        One of them, for the Gaussian likelihood (``weight`` is 1/variance; zero
        weight leaves a pixel out).
    mask : array, path, HDU or extension name, optional
        Pixels to **exclude**: True in a boolean array (``numpy.ma``'s convention),
        nonzero in a FITS mask image (imfit's and SExtractor's).
    mask_bits : int, optional
        With an integer mask (a data-quality or mask-bit image), exclude only the
        pixels with any of these bits set, e.g. ``mask_bits=1 | 4 | 16``.
    psf : GaussianPSF, MoffatPSF, PSFExPSF, ndarray, FITS path or HDU, optional
        The PSF; an image is sampled at ``psf_pixel_scale`` arcsec (default: what its
        FITS header states, else the image's scale; see :mod:`~jointfit_imaging.psf`).
        Without one the model is not convolved.
    zeropoint : float, "header" or None
        Magnitude of one image unit summed over pixels. By default (None) what the
        image's FITS header states in a standard way (ESO's ``PHOTZP``, ``FLUXMAG0``,
        a ``BUNIT`` of flux density such as ``nanomaggy`` or ``MJy/sr``, HST's
        ``PHOTFLAM``; :mod:`~jointfit_imaging.photometry`), else 0: magnitudes of one
        image unit (with a warning when the header has a survey keyword such as
        ``MAGZERO``, whose convention varies). ``"header"`` also reads those survey
        keywords, as per image unit, and requires a zeropoint.
        :attr:`zeropoint_origin` says where the value came from. An HDU given alone
        brings no primary header: give the file (and ``hdu=``) when keywords are kept
        there (HST's ``PHOTFLAM`` and ``EXPTIME``).
    band : str, optional
        Band name looked up in the sources' ``BandMagnitudes`` (default: ``name``).
    filter : str, Filter or speclite FilterResponse, optional
        The image's filter (``"decam2014-r"``; anything :func:`jointfit.filters.get_filter`
        takes). With it, a source whose spectral shape is a photon spectrum (power laws,
        blackbodies, dust, absorption, any composite) appears with its AB flux in the
        filter, converted to image units by the AB zeropoint; ``BandMagnitudes``
        sources keep their free magnitudes in the same image.
    window : (x_min, x_max, y_min, y_max) or SkyWindow, optional
        The box fitted: pixels (zero-based, maxima excluded, as numpy slices) or a box
        on the sky (:class:`SkyWindow`); default the whole image.
    windows : sequence of them, optional
        Several boxes fitted together (instead of ``window``).
    likelihood : {"gaussian", "poisson"}
        Gaussian with the variance map, or Poisson for images in counts.
    sky : {None, "flat", "tilted"}
        A sky background fitted with the sources: ``<name>.sky`` (image units per
        pixel) and, tilted, ``<name>.sky_east`` and ``<name>.sky_north`` (per arcsec,
        about the windows' centre). Priors: uniform over the included pixels' range,
        and slopes that change the sky by at most that range across the windows.
    hdu, plane, wcs, pixel_scale, reference
        Where the image is in its file (``plane``: which plane of a cube, such as a
        multi-band survey cutout; cube companions give the same plane), and its WCS
        when it has none: ``wcs``, or ``pixel_scale`` (arcsec) and ``reference`` =
        (ra, dec) of the image centre.
    order, near, far_order, patch, patch_order, polar_order, refine, refine_order : int
        Pixel integration (:class:`~jointfit_imaging.render.PixelIntegrator`): at
        each source's centre the exact light of ``patch`` x ``patch`` pixels from the
        shape's enclosed light (``polar_order`` nodes per quarter edge; the graded rule of
        ``patch_order`` for shapes without one), Gauss–Legendre of ``order`` on
        ``near`` x ``near`` pixels around it with the ``refine`` of them closest to
        the centre in the source's elliptical radius integrated again at
        ``refine_order``, and beyond, the pixel centre with the
        curvature term (``far_order`` 1) or Gauss–Legendre of ``far_order``. Raise
        ``far_order`` to 2 for compact, bright sources whose light reaches far (stars
        as Moffat2D, say).
    """

    def __init__(self, name: str, image: Any, *, variance: Any = None, weight: Any = None, sigma: Any = None,
                 mask: Any = None, mask_bits: int | None = None, psf: Any = None,
                 psf_pixel_scale: float | None = None, zeropoint: float | str | None = None,
                 band: str | None = None, filter: Any = None, window: tuple[int, int, int, int] | SkyWindow | None = None,
                 windows: Sequence[tuple[int, int, int, int] | SkyWindow] | None = None,
                 likelihood: str = "gaussian", sky: str | None = None, hdu: int | str | None = None,
                 plane: int | None = None, wcs: Any = None,
                 pixel_scale: float | None = None, reference: tuple[float, float] | None = None, order: int = 2,
                 near: int = 31, far_order: int = 1, patch: int = 5, patch_order: int = 8, polar_order: int = 6,
                 refine: int = 128, refine_order: int = 8) -> None:
        super().__init__(name)
        if likelihood not in _LIKELIHOODS:
            raise PluginError(f"plugin {name!r}: likelihood must be one of {_LIKELIHOODS}, got {likelihood!r}")
        self.likelihood = likelihood
        self.image = read_image(image, hdu=hdu, wcs=wcs, pixel_scale=pixel_scale, reference=reference,
                                variance=variance, weight=weight, sigma=sigma, mask=mask, mask_bits=mask_bits,
                                plane=plane,
                                need_variance=likelihood == "gaussian")
        if likelihood == "poisson":
            negative = (self.image.data < 0) & ~self.image.excluded
            if negative.any():
                raise DataError(f"{self.image.label}: a Poisson likelihood needs counts >= 0; "
                                f"{int(negative.sum())} included pixels are negative")
        self.zeropoint, self.zeropoint_origin, self._zeropoint_stated = self._zeropoint(zeropoint)
        self.band = band or name
        self.filter = None if filter is None else get_filter(filter)
        if window is not None:
            if windows is not None:
                raise PluginError(f"plugin {name!r}: give window= (one box) or windows= (several), not both")
            windows = [window]
        self.box, self.excluded = self._bounding_box(windows)
        x0, x1, y0, y1 = self.box
        scale = pixel_scale_at(self.image.wcs, (x0 + x1 - 1) / 2.0, (y0 + y1 - 1) / 2.0)
        self.psf = None if psf is None else psf_image(psf, scale, psf_pixel_scale)
        for option, value, least in (("order", order, 1), ("near", near, 1), ("far_order", far_order, 1),
                                     ("patch", patch, 1), ("patch_order", patch_order, 1),
                                     ("polar_order", polar_order, 1), ("refine", refine, 0),
                                     ("refine_order", refine_order, 1)):
            if int(value) != value or value < least:
                raise PluginError(f"plugin {name!r}: {option} must be an integer >= {least}, got {value!r}")
        self._integration = {"order": order, "near": near, "far_order": far_order, "patch": patch,
                             "patch_order": patch_order, "polar_order": polar_order, "refine": refine,
                             "refine_order": refine_order}
        if sky not in _SKIES:
            raise PluginError(f"plugin {name!r}: sky must be one of {_SKIES}, got {sky!r}")
        self.sky = sky
        if sky is not None:
            self._add_sky_parameters(sky)

    def summary(self) -> Any:
        """What the image is and how it is read (a pandas Series): file, band, filter
        (with its pivot wavelength and where it came from), zeropoint and where it came
        from, likelihood, fitted box, PSF."""
        import pandas as pd

        entries = {"image": self.image.label, "band": self.band,
                   "filter": "none" if self.filter is None else self.filter.name}
        if self.filter is not None:
            entries["filter pivot wavelength (AA)"] = float(self.filter.pivot_wavelength.value)
            entries["filter energy (keV)"] = self.filter.effective_energy
            entries["filter from"] = ("speclite's library" if self.filter.name in speclite_filter_names()
                                      else self.filter.description or "given")
        entries.update({"zeropoint (AB mag of one image unit)": self.zeropoint, "zeropoint from": self.zeropoint_origin,
                        "likelihood": self.likelihood, "box (x0, x1, y0, y1)": self.box,
                        "PSF": "none" if self.psf is None else f"{self.psf.shape[1]} x {self.psf.shape[0]} pixels"})
        return pd.Series(entries, name=self.name)

    def _zeropoint(self, given: float | str | None) -> tuple[float, str, bool]:
        """(zeropoint, where it came from, whether it was given or stated) for the
        ``zeropoint`` argument; 0 when neither (magnitudes of one image unit)."""
        if given is not None and not (isinstance(given, str) and given == "header"):
            if isinstance(given, bool | str) or not isinstance(given, numbers.Real) or not math.isfinite(given):
                raise PluginError(f"plugin {self.name!r}: zeropoint must be a finite number (magnitude of one "
                                  f"image unit), 'header' or None, got {given!r}")
            return float(given), "given", True
        required, label = given == "header", self.image.label
        try:
            stated = header_zeropoint(self.image.headers, wcs=self.image.wcs, label=label, survey_keywords=required)
        except DataError as exc:
            if required:
                raise
            warnings.warn(f"{exc}; zeropoint 0 used (magnitudes of one image unit): give zeropoint=",
                          JointfitWarning, stacklevel=3)
            return 0.0, f"not read ({exc})", False
        if stated is not None:
            return stated.value, stated.origin, True
        if required:
            where = "its header" if self.image.headers else "an array, which has no header"
            raise DataError(f"{label}: zeropoint='header', but {where} states no zeropoint (keywords "
                            f"{', '.join(STANDARD_KEYWORDS + SURVEY_KEYWORDS)}; BUNIT in flux density; PHOTFLAM "
                            "and PHOTPLAM); give zeropoint= as a number")
        survey = survey_keywords_present(self.image.headers)
        if survey:
            warnings.warn(f"{label}: the header states {', '.join(survey)}, a zeropoint per image unit in some "
                          "surveys and per second in others; zeropoint 0 used (magnitudes of one image unit): "
                          "give zeropoint='header' to read it as per image unit, or a number",
                          JointfitWarning, stacklevel=3)
        return 0.0, "not stated (magnitudes of one image unit)", False

    def _add_sky_parameters(self, sky: str) -> None:
        x0, x1, y0, y1 = self.box
        included = self.image.data[y0:y1, x0:x1][~self.excluded[y0:y1, x0:x1]]
        low, high = float(included.min()), float(included.max())
        if high <= low:
            high = low + 1.0
        self._add_nuisance_parameter(Parameter(
            "sky", float(np.median(included)), bounds=(low, high), prior=Uniform_prior(lower_bound=low, upper_bound=high),
            description="sky background (image units per pixel)"))
        if sky == "tilted":
            grid = SkyGrid.from_wcs(self.image.wcs, x0, x1, y0, y1)
            size = float(np.hypot(np.ptp(grid.xi), np.ptp(grid.eta))) or 1.0
            slope = (high - low) / size
            for direction in ("east", "north"):
                self._add_nuisance_parameter(Parameter(
                    f"sky_{direction}", 0.0, bounds=(-slope, slope),
                    prior=Uniform_prior(lower_bound=-slope, upper_bound=slope), unit="1 / arcsec",
                    description=f"sky gradient toward {direction} (image units per pixel per arcsec)"))

    def _bounding_box(self, windows: Sequence[tuple[int, int, int, int] | SkyWindow] | None
                      ) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """Bounding box (x_min, x_max, y_min, y_max) of the windows, and the pixels
        left out of the fit: the image's excluded ones and those outside every window."""
        ny, nx = self.image.data.shape
        if windows is None:
            return (0, nx, 0, ny), self.image.excluded
        inside = np.zeros((ny, nx), dtype=bool)
        for window in windows:
            if isinstance(window, SkyWindow):
                window = window.pixel_box(self.image.wcs)
            elif not _is_pixel_box(window):
                hint = "; for one box give window=" if isinstance(window, (int, np.integer)) else ""
                raise DataError(f"a window of {self.image.label} must be (x_min, x_max, y_min, y_max) in whole "
                                f"pixels or a SkyWindow, got {window!r}{hint}")
            x0, x1, y0, y1 = (int(v) for v in window)
            if not (0 <= x0 < x1 <= nx and 0 <= y0 < y1 <= ny):
                raise DataError(f"window {tuple(window)} (x_min, x_max, y_min, y_max) is not inside "
                                f"{self.image.label} of {nx} x {ny} pixels")
            inside[y0:y1, x0:x1] = True
        ys, xs = np.nonzero(inside)
        return (int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1), self.image.excluded | ~inside

    # -- setup --------------------------------------------------------------------------------
    def _sources_in_band(self, space: ParameterSpace) -> list[_Rendered]:
        model = space.model
        names = self.assigned_sources or tuple(model.sources)
        rendered = []
        for source_name in names:
            source = model.sources[source_name]
            spectrum = source.spectral_shape
            photon_spectrum = not isinstance(spectrum, BandMagnitudes)
            if photon_spectrum:
                if self.filter is None:
                    raise PluginError(
                        f"plugin {self.name!r}: source {source_name!r} has a photon spectrum ({spectrum.name}), whose "
                        f"brightness in an image follows from the image's filter: give ImageLike(..., "
                        f"filter='decam2014-r') (any speclite name or jointfit Filter), or give the source "
                        f"BandMagnitudes({self.band}=...), or assign the image to its other sources")
                self.filter.require_covered_by(spectrum, source_name, self.name)
                if not self._zeropoint_stated:
                    raise PluginError(
                        f"plugin {self.name!r}: source {source_name!r} has a photon spectrum, whose AB flux becomes "
                        f"image units through the image's AB zeropoint, and {self.image.label} has none "
                        f"({self.zeropoint_origin}): give ImageLike(..., zeropoint=...) (AB magnitude of one "
                        "image unit) or zeropoint='header'")
            elif self.band not in spectrum.bands:
                if self.assigned_sources is not None:
                    raise PluginError(f"plugin {self.name!r} is assigned to {source_name!r}, whose spectral shape "
                                      f"has no magnitude in band {self.band!r}; give it "
                                      f"BandMagnitudes({self.band}=...)")
                continue
            magnitude = "" if photon_spectrum else source.spectral_prefix() + self.band
            sed = space.spectrum(source_name) if photon_spectrum else None
            shape = getattr(source, "spatial_shape", None)
            if shape is None:
                if self.psf is None:
                    raise PluginError(f"plugin {self.name!r}: point source {source_name!r} needs a PSF in the image")
                rendered.append(_Rendered(source_name, None, f"{source_name}.position.", magnitude, sed))
            elif isinstance(shape, ImagingShape):
                rendered.append(_Rendered(source_name, shape, f"{source_name}.{shape.name}.", magnitude, sed))
            else:
                raise PluginError(f"plugin {self.name!r}: source {source_name!r} has spatial shape {shape.name}, "
                                  "which images cannot render; use Sersic, Exponential, Gaussian2D, Moffat2D or SplineProfile")
        if not rendered:
            raise PluginError(f"plugin {self.name!r}: no source has a magnitude in band {self.band!r}")
        return rendered

    def _setup(self, space: ParameterSpace) -> None:
        self._rendered = self._sources_in_band(space)
        driven = [r.name for r in self._rendered if r.spectrum is not None]
        if driven:  # the filter's quadrature, split at those spectra's fixed kinks
            integrals = BandIntegrals.of([self.filter], space.breakpoints(driven))
            self._filter_nodes = jnp.asarray(integrals.nodes_kev)
            self._filter_weights = jnp.asarray(integrals.matrix[0])
            self._require_positive_band_fluxes(space)
        x0, x1, y0, y1 = self.box
        ky, kx = self.psf.shape if self.psf is not None else (1, 1)
        my, mx = ky // 2 + 1, kx // 2 + 1
        grid = SkyGrid.from_wcs(self.image.wcs, x0 - mx, x1 + mx, y0 - my, y1 + my)
        self._grid, self._margin = grid, (my, mx)
        box_xi, box_eta = grid.xi[my:-my, mx:-mx], grid.eta[my:-my, mx:-mx]
        self._box_xi_eta = (jnp.asarray(box_xi - box_xi.mean()), jnp.asarray(box_eta - box_eta.mean()))
        self._integrator = PixelIntegrator(grid, **self._integration)
        points = any(source.shape is None for source in self._rendered)
        self._convolver = None if self.psf is None else PSFConvolver(self.psf, grid.shape,
                                                                      (0, 0) if points else (my, mx))
        box = (slice(y0, y1), slice(x0, x1))
        included = ~self.excluded[box]
        self._pixels = np.flatnonzero(included)
        data = self.image.data[box]
        self._data = jnp.asarray(data)
        variance = self.image.variance
        self._variance = None if variance is None else jnp.asarray(variance[box])
        # per included pixel: data, weight (1/variance; 1 for Poisson) and the term that
        # does not depend on the model; the total is computed as weighted sums over the
        # box (no gathers) plus the constant
        pixel_data = data[included]
        if self.likelihood == "gaussian":
            pixel_weight = 1.0 / variance[box][included]
            pixel_constant = 0.5 * np.log(pixel_weight / (2.0 * math.pi))
        else:
            pixel_weight = np.ones(pixel_data.size)
            pixel_constant = -special.gammaln(pixel_data + 1.0)
        self._pixel_data = jnp.asarray(pixel_data)
        # the pointwise forms (WAIC/LOO) come from the shared likelihoods; the total is
        # computed below as weighted sums over the box
        self._pixel_sigma = jnp.asarray(1.0 / np.sqrt(pixel_weight))
        self._pixel_log_factorials = stats.log_factorial_remainder(self._pixel_data)
        weight = np.zeros(included.shape)
        weight[included] = pixel_weight
        self._weight = jnp.asarray(weight)
        self._constant = float(np.sum(pixel_constant))

    def _require_positive_band_fluxes(self, space: ParameterSpace) -> None:
        """Refuse, before any fit, a photon spectrum that at the model's current values
        is negative or not finite in the filter's band, or has no flux in it."""
        values = space.unpack(space.initial_theta)
        wavelengths = (np.asarray(self._filter_nodes) * u.keV).to_value(u.AA, u.spectral())
        for source in self._rendered:
            if source.spectrum is None:
                continue
            spectrum = np.asarray(source.spectrum(self._filter_nodes, values))
            bad = ~np.isfinite(spectrum) | (spectrum < 0)
            if bad.any():
                where = ", ".join(f"{w:.0f}" for w in wavelengths[bad][:4])
                raise PluginError(f"plugin {self.name!r}: the spectrum of source {source.name!r} is negative or not "
                                  f"finite in filter {self.filter.name} (at {where} Angstrom) at the model's "
                                  "current values; check its parameters and bounds")
            if not float(np.asarray(self._filter_weights) @ spectrum) > 0:
                raise PluginError(f"plugin {self.name!r}: the spectrum of source {source.name!r} has no flux in "
                                  f"filter {self.filter.name} at the model's current values, so no magnitude; "
                                  "check its parameters (a temperature or normalisation of 0?)")

    # -- model -----------------------------------------------------------------------------------
    def _magnitude(self, source: _Rendered, values: Any) -> Any:
        """AB magnitude of a source in this image: its free ``BandMagnitudes`` value, or
        that of its photon spectrum through the filter (once per evaluation)."""
        if source.spectrum is None:
            return values[source.magnitude]
        return -2.5 * jnp.log10(self._filter_weights @ source.spectrum(self._filter_nodes, values))

    def model_image(self, values: Any) -> jnp.ndarray:
        """Model of the windows' bounding box (image units per pixel), pure JAX."""
        self._require_setup()
        fluxes = [band_flux(self._magnitude(source, values), self.zeropoint) for source in self._rendered]
        return self._render(values, fluxes) + self._sky(values)

    def _render(self, values: Any, fluxes: Sequence[Any]) -> jnp.ndarray:
        """The sources, each with its total flux (image units) in ``fluxes``, in the box."""
        grid = self._grid
        image = jnp.zeros(grid.shape)
        points = []
        for source, flux in zip(self._rendered, fluxes):
            local = {k: values[source.prefix + k] for k in
                     (source.shape._parameters if source.shape is not None else ("ra", "dec"))}
            xi_c, eta_c = gnomonic(local["ra"], local["dec"], grid.ra0, grid.dec0)
            if source.shape is None:
                points.append((*self._integrator.centre_pixel(xi_c, eta_c), flux))
                continue
            shape = source.shape

            def brightness(xi: Any, eta: Any, shape: ImagingShape = shape, local: dict = local) -> Any:
                return shape.brightness(xi, eta, local)

            image = image + flux * self._integrator(brightness, xi_c, eta_c, shape.elliptical_profile(local))
        if self._convolver is not None:
            if points:
                x, y, flux = (jnp.stack(column) for column in zip(*points))
                image = self._convolver(image, x, y, flux)
            else:
                image = self._convolver(image)
        my, mx = self._margin
        return image[my:image.shape[0] - my, mx:image.shape[1] - mx]

    def _sky(self, values: Any) -> Any:
        """The fitted sky background in the box (0 without one)."""
        if self.sky is None:
            return 0.0
        sky = values[f"{self.name}.sky"]
        if self.sky == "tilted":
            xi, eta = self._box_xi_eta
            sky = sky + values[f"{self.name}.sky_east"] * xi + values[f"{self.name}.sky_north"] * eta
        return sky

    def sed_points(self, draws: Any, **options: Any) -> Any:
        """The image's measurement of each source whose photon spectrum sets its
        brightness here, as a νFν point at the filter's pivot energy: the sources'
        fluxes fitted linearly to the image (weighted least squares, every source's
        shape, position and the sky at the draws' medians), converted to AB with the
        zeropoint; error bars are the fit's 1-sigma. ``None`` without such a source."""
        from jointfit.sed import KEV_TO_HZ, SEDPoints

        self._require_setup()
        driven = [i for i, source in enumerate(self._rendered) if source.spectrum is not None]
        if not driven:
            return None
        median = {path: jnp.median(jnp.atleast_1d(jnp.asarray(value)), axis=0) for path, value in draws.items()}
        count = len(self._rendered)
        templates = np.stack([np.asarray(self._render(median, list(np.eye(count)[i]))).ravel()[self._pixels]
                              for i in range(count)], axis=1)
        data = np.asarray(self._pixel_data) - np.asarray(jnp.broadcast_to(self._sky(median), self._data.shape)
                                                        ).ravel()[self._pixels]
        if self.likelihood == "gaussian":
            weight = np.asarray(self._pixel_sigma) ** -2
        else:  # Poisson: the model's variance, from the median's fluxes
            fluxes = [float(band_flux(self._magnitude(s, median), self.zeropoint)) for s in self._rendered]
            weight = 1.0 / np.clip(templates @ np.asarray(fluxes) + (np.asarray(self._pixel_data) - data), 1.0, None)
        normal = templates.T @ (weight[:, None] * templates)
        covariance = np.linalg.pinv(normal)
        amplitude = covariance @ (templates.T @ (weight * data))
        error = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        to_nufnu = self.filter.effective_energy * KEV_TO_HZ * 3631e-23 * 10.0 ** (-0.4 * self.zeropoint)
        low, high = self.filter.half_maximum_range
        n = len(driven)
        names = ", ".join(self._rendered[i].name for i in driven)
        return SEDPoints(f"{self.name} ({names})", np.full(n, self.filter.effective_energy), np.full(n, low),
                         np.full(n, high), amplitude[driven] * to_nufnu,
                         (amplitude[driven] - error[driven]) * to_nufnu, (amplitude[driven] + error[driven]) * to_nufnu,
                         np.zeros(n, dtype=bool))

    # -- the contract ------------------------------------------------------------------------------
    def pointwise_loglike(self, values: Any) -> jnp.ndarray:
        """Log-likelihood of each included pixel (row-major order in the box)."""
        model = self.model_image(values).ravel()[self._pixels]
        if self.likelihood == "poisson":
            return stats.poisson_loglike(self._pixel_data, model, self._pixel_log_factorials)
        return stats.gaussian_loglike(self._pixel_data, model, self._pixel_sigma)

    def loglike(self, values: Any) -> jnp.ndarray:
        """Total log-likelihood (pure JAX): :meth:`pointwise_loglike` summed, computed as
        weighted sums over the box."""
        model = self.model_image(values)
        if self.likelihood == "poisson":
            return jnp.sum(self._weight * (jax.scipy.special.xlogy(self._data, model) - model)) + self._constant
        return -0.5 * jnp.sum(self._weight * (self._data - model) ** 2) + self._constant

    def chi2(self, values: Any) -> jnp.ndarray:
        """Sum over included pixels of (data - model)^2 / variance (Gaussian likelihood)."""
        if self.likelihood != "gaussian":
            raise PluginError(f"plugin {self.name!r}: chi2 needs the Gaussian likelihood's variances")
        return jnp.sum(self._weight * (self._data - self.model_image(values)) ** 2)

    @classmethod
    def display_model_counts(cls, plugins: Sequence[Plugin], draws: Any, **options: Any) -> Any:
        """Data, model, residuals and radial profiles of these images
        (:func:`~jointfit_imaging.plots.draw_images`)."""
        from .plots import draw_images

        return draw_images(plugins, draws, confidence_level=options.get("confidence_level", 0.68))

    def observed_data(self) -> jnp.ndarray:
        """The image in the fitted box (excluded pixels as they are in the file)."""
        self._require_setup()
        return self._data

    def discrepancy(self, values: Any, data: Any) -> jnp.ndarray:
        """Chi2 over the included pixels of an image ``data`` of the box (Gaussian
        likelihood), or C-stat (Poisson), at ``values`` (pure JAX)."""
        model = self.model_image(values)
        included = self._weight > 0
        if self.likelihood == "poisson":
            per_pixel = stats.cstat(jnp.where(included, data, 0.0), jnp.where(included, model, 0.0))
        else:
            per_pixel = self._weight * jnp.where(included, data - model, 0.0) ** 2
        return jnp.sum(jnp.where(included, per_pixel, 0.0))

    def fit_statistic(self, values: Any) -> tuple[str, float]:
        """``("chi2", value)`` (Gaussian likelihood) or ``("cstat", value)`` (Poisson)
        over the included pixels."""
        return self.discrepancy_name(), float(self.discrepancy(values, self.observed_data()))

    def discrepancy_name(self) -> str:
        """``"cstat"`` (Poisson likelihood) or ``"chi2"`` (Gaussian)."""
        return "cstat" if self.likelihood == "poisson" else "chi2"

    def simulate(self, values: Any, key: Any) -> jnp.ndarray:
        """An image of the box drawn from the model: Gaussian with the variance map, or
        Poisson."""
        model = self.model_image(values)
        if self.likelihood == "poisson":
            return jax.random.poisson(key, jnp.clip(model, 0.0, None)).astype(float)
        return model + jnp.sqrt(self._variance) * jax.random.normal(key, model.shape)
