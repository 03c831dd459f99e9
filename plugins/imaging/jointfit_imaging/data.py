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

import numbers
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from jointfit.errors import DataError, JointfitWarning

from .grid import celestial_frame, simple_wcs

__all__ = ["ImageData", "celestial_wcs", "read_array", "read_image", "variance_from_counts"]


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
    headers : tuple of astropy.io.fits.Header
        The image's FITS header, then the primary header of its file when the image is
        in an extension (empty for arrays).
    """

    data: np.ndarray
    variance: np.ndarray | None
    excluded: np.ndarray
    wcs: WCS
    label: str
    headers: tuple[fits.Header, ...] = ()


def variance_from_counts(image: np.ndarray, *, gain: float, read_noise: float = 0.0, sky: float = 0.0,
                         n_combined: int = 1) -> np.ndarray:
    """Variance (image units^2) of a sky-subtracted image in ADU from Poisson noise and
    read noise, as imfit's data-based errors: ``(image + sky) / gain + n (read_noise /
    gain)^2``, with ``gain`` in electrons/ADU, ``read_noise`` in electrons and ``sky``
    the subtracted sky (ADU/pixel)."""
    if gain <= 0:
        raise DataError(f"gain must be positive (electrons per ADU), got {gain}")
    return (np.asarray(image, dtype=float) + sky) / gain + n_combined * (read_noise / gain) ** 2


# extension names of the arrays that travel with an image (HST, DECam, HSC, Legacy Surveys)
_COMPANION_NAMES = {"ERR", "WHT", "VAR", "VARIANCE", "INVVAR", "IVAR", "IVM", "DQ", "MASK", "WEIGHT", "SIGMA",
                    "RMS", "CTX", "CON", "EXP", "EXPMAP", "BKG", "SKY", "PSF", "MODEL", "CHI", "FLAGS", "FLAG",
                    "NEXP"}


def _is_companion(name: str) -> bool:
    """Whether an extension's name says it accompanies an image (its errors, weights,
    flags, ...), such as JWST's VAR_POISSON or HST's WHT."""
    name = name.upper()
    return name in _COMPANION_NAMES or name.startswith(("VAR_", "ERR_", "WHT_", "DQ_", "MASK_"))


def _holds_image(hdu: Any) -> bool:
    return hdu.is_image and hdu.header.get("NAXIS", 0) >= 2


def _image_hdu(hdul: fits.HDUList, hdu: int | str | None, label: str, what: str) -> Any:
    """The HDU ``hdu`` of an open file; with ``None``, the first that holds an image (the
    primary HDU of a cutout, the first extension of a tile-compressed ``.fits.fz`` file
    or of a file whose primary HDU holds only a header), with a warning when other
    images in the file could be meant (the chips of a mosaic camera)."""
    if hdu is not None:
        try:
            selected = hdul[hdu]
        except (KeyError, IndexError):
            raise DataError(f"{what} {label} has no HDU {hdu!r}; its HDUs are {_hdu_names(hdul)}") from None
        if selected.is_image and selected.header.get("NAXIS", 0) == 0:
            first = next((i for i, h in enumerate(hdul) if _holds_image(h)), None)
            where = "none holds an image" if first is None else f"the first holding an image is {first}"
            raise DataError(f"{what} {label}: HDU {hdu!r} holds only a header; {where} (HDUs: {_hdu_names(hdul)})")
        return selected
    images = [h for h in hdul if _holds_image(h)]
    if not images:
        raise DataError(f"{what} {label} holds no image in any HDU; its HDUs are {_hdu_names(hdul)}")
    others = [h.name for h in images[1:] if not _is_companion(h.name)]
    if others:
        warnings.warn(f"{what} {label} holds {len(others) + 1} images ({images[0].name or 'PRIMARY'}, "
                      f"{', '.join(others)}); reading the first, HDU {hdul.index_of(images[0])}: give hdu= to "
                      "choose another", JointfitWarning, stacklevel=5)
    return images[0]


def _hdu_names(hdul: fits.HDUList) -> list[str]:
    return [h.name or str(i) for i, h in enumerate(hdul)]


def _as_2d(data: np.ndarray | None, label: str, plane: int | None = None, cube: bool = False) -> np.ndarray:
    """``data`` as a 2-D float array: plane ``plane`` of a cube (a multi-band cutout, say),
    after dropping any leading axes of length 1 (a cube of one plane, as some pipelines
    write, is its plane). ``cube``: ``data`` is the image itself, for which ``plane``
    must select a plane; a companion of one plane serves every plane."""
    if data is None:
        raise DataError(f"{label}: expected a 2-D image, found no data")
    given_ndim = data.ndim
    leading = 0
    while data.ndim - leading > 2 and data.shape[leading] == 1:
        leading += 1
    data = data.reshape(data.shape[leading:])
    if plane is not None and data.ndim == 3:
        if not 0 <= plane < data.shape[0]:
            raise DataError(f"{label}: plane={plane} is not one of the cube's planes 0 to {data.shape[0] - 1}")
        data = data[plane]
    elif plane is not None and cube and given_ndim == 2:
        raise DataError(f"{label}: plane={plane} given, but the image is 2-D")
    if data.ndim != 2:
        hint = ""
        if data.ndim == 3:
            hint = (f"; it is a cube of {data.shape[0]} planes: give plane= (0 to {data.shape[0] - 1})" if cube
                    else f"; it is a cube of {data.shape[0]} planes, for an image that is not")
        raise DataError(f"{label}: expected a 2-D image, found data of shape {data.shape}{hint}")
    return np.array(data, dtype=float)


def _open_hdu(source: Any, hdu: int | str | None, what: str, plane: int | None = None,
              cube: bool = False) -> tuple[np.ndarray, fits.Header | None, str, fits.Header | None]:
    """(data, header, label, primary header) of ``source``: a path or an ``HDUList``
    (``hdu`` selects the HDU, ``None`` the first image), an HDU or an array; ``plane``
    selects a plane of a cube (see :func:`_as_2d`). The primary header is that of the
    file of an image read from an extension, else None."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            with fits.open(source, memmap=False) as hdul:
                return _read_hdu(hdul, hdu, path, what, plane, cube)
        except OSError as exc:
            raise DataError(f"{what} {path} cannot be read as FITS: {exc}") from exc
    if isinstance(source, fits.HDUList):  # as WebbPSF's calc_psf returns
        return _read_hdu(source, hdu, "HDUList", what, plane, cube)
    if isinstance(source, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        label = f"{what} HDU {source.name!r}"
        return _as_2d(source.data, label, plane, cube), source.header, label, None
    array = np.asarray(source)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(f"{what} must be a FITS path, an HDU list, an image HDU or a numeric array, got "
                        f"{type(source).__name__}")
    return _as_2d(array, f"{what} array", plane, cube), None, f"{what} array", None


def _read_hdu(hdul: fits.HDUList, hdu: int | str | None, name: str, what: str, plane: int | None,
              cube: bool) -> tuple[np.ndarray, fits.Header, str, fits.Header | None]:
    selected = _image_hdu(hdul, hdu, name, what)
    index = hdul.index_of(selected)
    label = f"{name}[{hdu if hdu is not None else index}]"
    primary = hdul[0].header.copy() if index > 0 else None
    return _as_2d(selected.data, label, plane, cube), selected.header.copy(), label, primary


def read_array(source: Any, what: str) -> tuple[np.ndarray, fits.Header | None, str]:
    """(data, header or None, label) of a 2-D array given as a FITS path or HDU list (its
    first image HDU), an image HDU or an array; ``what`` names it in errors."""
    return _open_hdu(source, None, what)[:3]


def _masked(mask: np.ndarray, bits: int | None, label: str) -> np.ndarray:
    """Pixels a mask excludes: nonzero ones, or with ``bits``, those with any of these
    bits set (a data-quality or mask-bit image whose other bits are harmless)."""
    if bits is None:
        return np.asarray(mask != 0)
    if not isinstance(bits, numbers.Integral) or not 0 < bits < 2**53:
        raise DataError(f"{label}: mask_bits must be a positive integer below 2**53 (bits to exclude), got {bits!r}")
    if not np.all(np.isfinite(mask) & (mask == np.round(mask)) & (np.abs(mask) < 2.0**53)):
        raise DataError(f"{label}: mask_bits needs an integer mask image of values below 2**53; the mask has "
                        "other values")
    return (mask.astype(np.int64) & int(bits)) != 0


def celestial_wcs(header: fits.Header, label: str) -> WCS | None:
    """The celestial WCS a header states, ``None`` if it has no ``CTYPE`` keywords.

    Raises
    ------
    DataError
        A WCS that astropy cannot read, that is not celestial, or whose sky frame
        astropy does not know.
    """
    if not any(key.startswith("CTYPE") for key in header):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header, naxis=2)
    except Exception as exc:  # astropy raises several kinds for malformed headers
        raise DataError(f"{label}: its WCS cannot be read: {exc}") from exc
    if not wcs.has_celestial:
        raise DataError(f"{label}: the WCS is not celestial (CTYPE1/2 = {list(wcs.wcs.ctype)}); "
                        "expected sky axes such as RA---TAN / DEC--TAN")
    return _known_frame(wcs.celestial, label)


def _known_frame(wcs: WCS, label: str) -> WCS:
    try:
        celestial_frame(wcs)
    except ValueError:
        raise DataError(f"{label}: astropy knows no sky frame for the WCS (CTYPE = {list(wcs.wcs.ctype)}, "
                        f"RADESYS = {wcs.wcs.radesys!r}); expected equatorial (ICRS, FK5, FK4), Galactic or "
                        "ecliptic axes") from None
    return wcs


def read_image(image: Any, *, hdu: int | str | None = None, wcs: WCS | None = None, pixel_scale: float | None = None,
               reference: tuple[float, float] | None = None, variance: Any = None, weight: Any = None,
               sigma: Any = None, mask: Any = None, mask_bits: int | None = None, plane: int | None = None,
               need_variance: bool = True) -> ImageData:
    """Read and check an image and its variance and mask (see the module docstring).
    ``plane`` picks one plane of a cube (a multi-band cutout), in the image and in any
    companion that is a cube too; ``mask_bits`` excludes the pixels whose integer mask
    has any of these bits set (default: any nonzero mask value).

    Raises
    ------
    DataError
        Unreadable files, an HDU without an image, a cube without ``plane`` (or a
        plane it lacks), shapes that differ, a WCS that is not celestial or in a frame
        astropy does not know, a missing WCS, non-positive or NaN variances of included
        pixels, more than one of ``variance``, ``weight`` and ``sigma``.
    """
    data, header, label, primary = _open_hdu(image, hdu, "image", plane, cube=True)
    own_file = image if isinstance(image, (str, os.PathLike)) else None

    if wcs is not None:
        if not isinstance(wcs, WCS) or not wcs.has_celestial:
            raise DataError(f"{label}: wcs must be a celestial astropy.wcs.WCS, got {wcs!r}")
        wcs = _known_frame(wcs.celestial, label)
    elif header is not None and (found := celestial_wcs(header, label)) is not None:
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
            array, _, where, _ = _open_hdu(own_file, value, what, plane)  # an extension of the image's file
        else:
            array, _, where, _ = _open_hdu(value, None, what, plane)
        if array.shape != data.shape:
            raise DataError(f"{where}: shape {array.shape} differs from the image's {data.shape} ({label})")
        return array

    given = [k for k, v in (("variance", variance), ("weight", weight), ("sigma", sigma)) if v is not None]
    if len(given) > 1:
        raise DataError(f"{label}: give one of variance, weight and sigma, not {given}")
    excluded = np.zeros(data.shape, dtype=bool)
    mask_array = companion(mask, "mask")
    if mask_bits is not None and mask_array is None:
        raise DataError(f"{label}: mask_bits={mask_bits} given without a mask")
    if mask_array is not None:
        excluded |= _masked(mask_array, mask_bits, label)

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
    headers = tuple(h for h in (header, primary) if h is not None)
    return ImageData(np.where(excluded, 0.0, data), var, excluded, wcs, label, headers)
