"""Reading an image and its companions (variance, weight, mask, PSF) into checked arrays.

An image comes as a FITS file (path and HDU, by default the first HDU holding an image,
so that tile-compressed ``.fits.fz`` files and files with an empty primary HDU read as
they are), an HDU, or an array with a WCS or with a pixel scale and the sky position of
a reference pixel. Variance, weight (1/variance)
and mask come as arrays, FITS files, HDUs, or the names of extensions of the image's
own file. A mask marks pixels to **exclude**: True in a boolean array (the
``numpy.ma`` convention) or nonzero in a FITS mask image (imfit's and SExtractor's).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from jointfit.errors import DataError, JointfitWarning

from .grid import simple_wcs

__all__ = ["ImageData", "read_array", "read_image", "variance_from_counts"]


@dataclass(frozen=True)
class ImageData:
    """Checked arrays of one image.

    Attributes
    ----------
    data, variance : ndarray (ny, nx)
        Pixel values and their variances (variance 1 where excluded).
    excluded : ndarray of bool (ny, nx)
        Pixels left out of the fit (masked, zero weight, or not finite).
    wcs : astropy.wcs.WCS
        Celestial WCS of the pixels.
    label : str
        Where the image came from, for messages.
    """

    data: np.ndarray
    variance: np.ndarray | None
    excluded: np.ndarray
    wcs: WCS
    label: str


def variance_from_counts(image: np.ndarray, *, gain: float, read_noise: float = 0.0, sky: float = 0.0,
                         n_combined: int = 1) -> np.ndarray:
    """Variance (image units^2) of a sky-subtracted image in ADU from Poisson noise and
    read noise, as imfit's data-based errors: ``(image + sky) / gain + n (read_noise /
    gain)^2``, with ``gain`` in electrons/ADU, ``read_noise`` in electrons and ``sky``
    the subtracted sky (ADU/pixel)."""
    if gain <= 0:
        raise DataError(f"gain must be positive (electrons per ADU), got {gain}")
    return (np.asarray(image, dtype=float) + sky) / gain + n_combined * (read_noise / gain) ** 2


def _image_hdu(hdul: fits.HDUList, hdu: int | str | None, path: str, what: str) -> Any:
    """The HDU ``hdu`` of an open file; with ``None``, the first that holds an image (the
    primary HDU of a cutout, the first extension of a tile-compressed ``.fits.fz`` file
    or of a file whose primary HDU holds only a header)."""
    if hdu is None:
        for selected in hdul:
            if selected.is_image and selected.header.get("NAXIS", 0) >= 2:
                return selected
        raise DataError(f"{what} {path} holds no image in any HDU; its HDUs are {_hdu_names(hdul)}")
    try:
        return hdul[hdu]
    except (KeyError, IndexError):
        raise DataError(f"{what} {path} has no HDU {hdu!r}; its HDUs are {_hdu_names(hdul)}") from None


def _hdu_names(hdul: fits.HDUList) -> list[str]:
    return [h.name or str(i) for i, h in enumerate(hdul)]


def _as_2d(data: np.ndarray | None, label: str, plane: int | None = None, cube: bool = False) -> np.ndarray:
    """``data`` as a 2-D float array: plane ``plane`` of a cube (a multi-band cutout, say),
    or the image itself where the axes before the last two have length 1 (a cube of one
    plane, as some pipelines write). With ``cube``, a plane asked of a 2-D image is an
    error (a companion of one plane serves every plane)."""
    if plane is not None and cube and data is not None and data.ndim == 2:
        raise DataError(f"{label}: plane={plane} given, but the image is 2-D")
    if data is not None and data.ndim == 3 and plane is not None:
        if not 0 <= plane < data.shape[0]:
            raise DataError(f"{label}: plane={plane} is not one of the cube's planes 0 to {data.shape[0] - 1}")
        data = data[plane]
    elif data is not None and data.ndim > 2 and all(n == 1 for n in data.shape[:-2]):
        data = data.reshape(data.shape[-2:])
    if data is None or data.ndim != 2:
        shape = None if data is None else data.shape
        hint = (f"; it is a cube of {shape[0]} planes: give plane= (0 to {shape[0] - 1})"
                if shape is not None and len(shape) == 3 else "")
        raise DataError(f"{label}: expected a 2-D image, found data of shape {shape}{hint}")
    return np.array(data, dtype=float)


def _open_hdu(source: Any, hdu: int | str | None, what: str, plane: int | None = None,
              cube: bool = False) -> tuple[np.ndarray, fits.Header | None, str]:
    """(data, header, label) of ``source``: a path (``hdu`` selects the HDU, ``None`` the
    first image), an HDU or an array; ``plane`` selects a plane of a cube (which must be
    one, with ``cube``)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            with fits.open(source, memmap=False) as hdul:
                selected = _image_hdu(hdul, hdu, path, what)
                label = f"{path}[{hdu if hdu is not None else hdul.index_of(selected)}]"
                return _as_2d(selected.data, label, plane, cube), selected.header.copy(), label
        except OSError as exc:
            raise DataError(f"{what} {path} cannot be read as FITS: {exc}") from exc
    if isinstance(source, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        label = f"{what} HDU {source.name!r}"
        return _as_2d(source.data, label, plane, cube), source.header, label
    array = np.asarray(source)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(f"{what} must be a FITS path, an image HDU or a numeric array, got {type(source).__name__}")
    return _as_2d(array, f"{what} array", plane, cube), None, f"{what} array"


def read_array(source: Any, what: str) -> tuple[np.ndarray, fits.Header | None, str]:
    """(data, header or None, label) of a 2-D array given as a FITS path (its first
    image HDU), an image HDU or an array; ``what`` names it in errors."""
    return _open_hdu(source, None, what)


def _celestial_wcs(header: fits.Header, label: str) -> WCS | None:
    if not any(key.startswith("CTYPE") for key in header):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header, naxis=2)
    if not wcs.has_celestial:
        raise DataError(f"{label}: the WCS is not celestial (CTYPE1/2 = {list(wcs.wcs.ctype)}); "
                        "expected sky axes such as RA---TAN / DEC--TAN")
    return wcs.celestial


def read_image(image: Any, *, hdu: int | str | None = None, wcs: WCS | None = None, pixel_scale: float | None = None,
               reference: tuple[float, float] | None = None, variance: Any = None, weight: Any = None,
               sigma: Any = None, mask: Any = None, plane: int | None = None,
               need_variance: bool = True) -> ImageData:
    """Read and check an image and its variance and mask (see the module docstring).
    ``plane`` picks one plane of a cube (a multi-band cutout), in the image and in any
    companion that is a cube too.

    Raises
    ------
    DataError
        Unreadable files, shapes that differ, a WCS that is not celestial, a missing
        WCS, non-positive or NaN variances of included pixels, more than one of
        ``variance``, ``weight`` and ``sigma``.
    """
    data, header, label = _open_hdu(image, hdu, "image", plane, cube=True)
    own_file = image if isinstance(image, (str, os.PathLike)) else None

    if wcs is not None:
        if not isinstance(wcs, WCS) or not wcs.has_celestial:
            raise DataError(f"{label}: wcs must be a celestial astropy.wcs.WCS, got {wcs!r}")
        wcs = wcs.celestial
    elif header is not None and (found := _celestial_wcs(header, label)) is not None:
        wcs = found
    elif pixel_scale is not None and reference is not None:
        wcs = simple_wcs(data.shape, float(pixel_scale), *map(float, reference))
    else:
        raise DataError(f"{label} has no WCS: give wcs=, or pixel_scale= (arcsec) and reference=(ra, dec) of the "
                        "image centre (degrees)")

    def companion(value: Any, what: str) -> np.ndarray | None:
        if value is None:
            return None
        if isinstance(value, str) and own_file is not None and not os.path.exists(value):
            array, _, where = _open_hdu(own_file, value, what, plane)  # an extension of the image's file
        else:
            array, _, where = _open_hdu(value, None, what, plane)
        if array.shape != data.shape:
            raise DataError(f"{where}: shape {array.shape} differs from the image's {data.shape} ({label})")
        return array

    given = [k for k, v in (("variance", variance), ("weight", weight), ("sigma", sigma)) if v is not None]
    if len(given) > 1:
        raise DataError(f"{label}: give one of variance, weight and sigma, not {given}")
    excluded = np.zeros(data.shape, dtype=bool)
    mask_array = companion(mask, "mask")
    if mask_array is not None:
        excluded |= np.asarray(mask_array != 0)

    var = companion(variance, "variance")
    if weight is not None:
        w = companion(weight, "weight")
        if np.any(~np.isfinite(w) & ~excluded) or np.any((w < 0) & ~excluded):
            raise DataError(f"weight map of {label} has negative or non-finite values at "
                            f"{int(np.sum((~np.isfinite(w) | (w < 0)) & ~excluded))} included pixels")
        excluded |= w == 0  # zero weight: left out, as in imfit
        var = np.where(excluded, 1.0, 1.0 / np.where(w > 0, w, 1.0))
    if sigma is not None:
        var = companion(sigma, "sigma") ** 2

    bad = ~np.isfinite(data) & ~excluded
    if bad.any():
        warnings.warn(f"{label}: {int(bad.sum())} pixels are NaN or infinite and not masked; they are left out",
                      JointfitWarning, stacklevel=3)
        excluded |= bad
    if var is not None:
        invalid = (~np.isfinite(var) | (var <= 0)) & ~excluded
        if invalid.any():
            raise DataError(f"variance of {label} is zero, negative or not finite at {int(invalid.sum())} "
                            "included pixels; mask them or fix the variance map")
        var = np.where(excluded, 1.0, var)
    elif need_variance:
        raise DataError(f"{label}: a Gaussian likelihood needs variance=, weight= or sigma= (or use "
                        "likelihood='poisson' for count images)")
    if excluded.all():
        raise DataError(f"{label}: every pixel is excluded (mask, zero weight or NaN)")
    return ImageData(np.where(excluded, 0.0, data), var, excluded, wcs, label)
