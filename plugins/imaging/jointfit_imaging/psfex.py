"""PSFEx models: the spatially varying PSF that DES, the Legacy Surveys and KiDS ship as
``.psf`` files, evaluated at one position of the image it was made for.

A PSFEx file holds, in its ``PSF_DATA`` table, the ``PSF_MASK`` basis images (one per
polynomial term, sampled every ``PSF_SAMP`` image pixels, the pixel response included)
and the polynomial in the image position: the terms are ``x^i y^j`` for ``i + j <=
POLDEG1``, ``i`` running fastest, with ``x = (X_IMAGE - POLZERO1) / POLSCAL1`` and
``y = (Y_IMAGE - POLZERO2) / POLSCAL2`` in the one-based pixel coordinates of
SExtractor. The model at a position is the sum of the basis images times the terms,
centred on sample ``w // 2`` of each side ``w`` (odd or even, as PSFEx's own
resampling); an oversampled model (``PSF_SAMP < 1``) is then interpolated at the
image's pixel centres (cubic spline), not integrated over them, since its samples
already hold the pixel response.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from jointfit.errors import DataError

__all__ = ["PSFExPSF", "psfex_terms"]


def psfex_terms(x: float, y: float, degree: int) -> np.ndarray:
    """The polynomial terms ``x^i y^j`` (``i + j <= degree``) in PSFEx's order: ``j`` from
    0, and for each ``j``, ``i`` from 0 to ``degree - j``."""
    return np.array([x**i * y**j for j in range(degree + 1) for i in range(degree + 1 - j)])


@dataclass(frozen=True)
class PSFExPSF:
    """A PSFEx model (``.psf`` file) evaluated at ``(x, y)``, one-based pixel coordinates
    of the image the model was made for (SExtractor's ``X_IMAGE``, ``Y_IMAGE``; a
    cutout's own pixel coordinates differ from those of the image it was cut from);
    by default the model's reference position (``POLZERO1``, ``POLZERO2``)."""

    path: str | os.PathLike[str]
    x: float | None = None
    y: float | None = None

    def model(self) -> tuple[np.ndarray, float]:
        """The PSF at the position on the model's own grid, and ``PSF_SAMP`` (its step in
        image pixels)."""
        label = f"PSFEx model {os.fspath(self.path)}"
        try:
            with fits.open(self.path, memmap=False) as hdul:
                if "PSF_DATA" not in hdul:
                    raise DataError(f"{label} has no PSF_DATA table; its HDUs are {[h.name for h in hdul]}")
                table = hdul["PSF_DATA"]
                header = table.header
                if "PSF_MASK" not in table.columns.names:
                    raise DataError(f"{label}: PSF_DATA has no PSF_MASK column")
                basis = np.array(table.data["PSF_MASK"][0], dtype=float)
        except OSError as exc:
            raise DataError(f"{label} cannot be read as FITS: {exc}") from exc
        variables = header.get("POLNAXIS", 0)  # 0: one PSF for the whole field
        if variables not in (0, 2) or (variables and header.get("POLNGRP", 1) != 1):
            raise DataError(f"{label}: POLNAXIS = {variables}, POLNGRP = {header.get('POLNGRP')}; supported are "
                            "a constant PSF or one polynomial in the image position (2 variables, 1 group)")
        try:
            degree = int(header["POLDEG1"]) if variables else 0
            sampling = float(header["PSF_SAMP"])
            zero = [float(header.get(f"POLZERO{i}", 0.0)) for i in (1, 2)]
            scale = [float(header.get(f"POLSCAL{i}", 1.0)) for i in (1, 2)]
        except KeyError as exc:
            raise DataError(f"{label}: PSF_DATA's header lacks {exc.args[0]}") from None
        x = zero[0] if self.x is None else float(self.x)
        y = zero[1] if self.y is None else float(self.y)
        terms = psfex_terms((x - zero[0]) / scale[0], (y - zero[1]) / scale[1], degree)
        if basis.ndim != 3 or basis.shape[0] != terms.size:
            raise DataError(f"{label}: PSF_MASK has shape {basis.shape}, expected ({terms.size}, ny, nx) for "
                            f"POLDEG1 = {degree}")
        if not sampling > 0:
            raise DataError(f"{label}: PSF_SAMP must be positive, got {sampling}")
        return np.tensordot(terms, basis, axes=1), sampling

    def sample(self, pixel_scale: float) -> np.ndarray:
        """The PSF on the image's pixels (unit sum). ``pixel_scale`` (arcsec) is not used:
        the model's grid is given in pixels of the image it was made for, which must
        be those of the image fitted."""
        image, sampling = self.model()
        if not math.isclose(sampling, 1.0, rel_tol=1e-9):
            image = _interpolate(image, sampling)
        else:
            # PSFEx's centre is sample w // 2 on each axis: an even side gets a last
            # row or column of zeros, which puts it at the geometric centre
            image = np.pad(image, [(0, 1 - k % 2) for k in image.shape])
        total = image.sum()
        if not total > 0:
            raise DataError(f"PSFEx model {os.fspath(self.path)} at ({self.x}, {self.y}) has a sum {total} that is "
                            "not positive: the position is probably outside the field it was fitted on")
        return image / total


def _interpolate(image: np.ndarray, sampling: float) -> np.ndarray:
    """``image``, sampled every ``sampling`` image pixels about its centre sample (``k //
    2`` of each side ``k``), interpolated (cubic spline) at the centres of the image's
    pixels: an odd-sized array centred there, reaching ``k // 2`` samples each way (for
    an even side one sample past the model's last, where it is zero: PSFEx's own
    uneven box)."""
    from scipy import ndimage

    ky, kx = image.shape
    ny, nx = (2 * int(math.floor((k // 2) * sampling)) + 1 for k in (ky, kx))
    y = (np.arange(ny) - ny // 2) / sampling + ky // 2
    x = (np.arange(nx) - nx // 2) / sampling + kx // 2
    return ndimage.map_coordinates(image, np.meshgrid(y, x, indexing="ij"), order=3, mode="constant", cval=0.0)
