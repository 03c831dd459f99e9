"""Reading responses (CAL/GEN/92-002): RMF or RSP matrices, EBOUNDS, and ARFs.

The matrix is expanded to a dense array ``(n_energy, n_channels)``: element
``[i, j]`` is the probability (times the effective area in cm², for an RSP or once an
ARF is applied) that a photon of energy bin ``i`` is recorded in channel ``j``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

from jointfit.errors import DataError

from .files import FileName, open_fits, parse_file_name

__all__ = ["Response", "EffectiveArea", "read_rmf", "read_arf"]


@dataclass(frozen=True, eq=False)
class EffectiveArea:
    """An ARF: effective area (cm²) on an energy grid (keV)."""

    energy_lo: np.ndarray
    energy_hi: np.ndarray
    area: np.ndarray
    origin: str


@dataclass(frozen=True, eq=False)
class Response:
    """A response matrix with its energy grid and channel bounds.

    Attributes
    ----------
    energy_lo, energy_hi : ndarray
        Photon energy bins, keV.
    channels : ndarray of int
        Channel numbers (EBOUNDS ``CHANNEL``).
    channel_lo, channel_hi : ndarray
        Nominal energy bounds of each channel, keV (EBOUNDS ``E_MIN``, ``E_MAX``).
    matrix : ndarray, shape (n_energy, n_channels)
        Redistribution probabilities, times the effective area (cm²) when an ARF has
        been applied or the file is an RSP.
    origin : str
        Files it was built from.
    has_area : bool
        Whether an ARF has been applied.
    """

    energy_lo: np.ndarray
    energy_hi: np.ndarray
    channels: np.ndarray
    channel_lo: np.ndarray
    channel_hi: np.ndarray
    matrix: np.ndarray
    origin: str
    has_area: bool = False

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return int(self.channels.size)

    @property
    def n_energies(self) -> int:
        """Number of photon energy bins."""
        return int(self.energy_lo.size)

    def with_arf(self, arf: EffectiveArea) -> Response:
        """This response times the effective area of ``arf``, row by row.

        Raises
        ------
        DataError
            If the ARF's energy grid is not the matrix's.
        """
        if arf.energy_lo.size != self.n_energies:
            raise DataError(f"{arf.origin} has {arf.energy_lo.size} energy bins but the matrix "
                            f"{self.origin} has {self.n_energies}: they must share one energy grid")
        mismatch = ~(np.isclose(arf.energy_lo, self.energy_lo, rtol=1e-5, atol=1e-8)
                     & np.isclose(arf.energy_hi, self.energy_hi, rtol=1e-5, atol=1e-8))
        if np.any(mismatch):
            i = int(np.flatnonzero(mismatch)[0])
            raise DataError(
                f"the energy grids of {arf.origin} and {self.origin} differ, first at bin {i}: "
                f"[{arf.energy_lo[i]}, {arf.energy_hi[i]}] vs [{self.energy_lo[i]}, {self.energy_hi[i]}] keV")
        return replace(self, matrix=self.matrix * arf.area[:, None], has_area=True,
                       origin=f"{self.origin} x {arf.origin}")

    def resolution_fwhm(self) -> np.ndarray:
        """The resolution at each channel: FWHM of the redistribution profile, in channels.

        For each photon-energy row, the width of the main peak at half its maximum
        (half-maximum crossings interpolated linearly between channels); channels are
        given the FWHM of the rows peaking on them, interpolated between such channels.
        """
        peaks, widths = [], []
        for row in self.matrix:  # set-up only: one pass over the rows
            top = int(np.argmax(row))
            if row[top] <= 0.0:
                continue
            half = row[top] / 2.0
            left = top
            while left > 0 and row[left - 1] >= half:
                left -= 1
            right = top
            while right < row.size - 1 and row[right + 1] >= half:
                right += 1
            # fractional crossings: where the profile passes half between channel centres
            left_edge = left - (0.5 if left == 0 else (row[left] - half) / (row[left] - row[left - 1]))
            right_edge = right + (0.5 if right == row.size - 1
                                  else (row[right] - half) / (row[right] - row[right + 1]))
            peaks.append(top)
            widths.append(right_edge - left_edge)
        if not peaks:
            raise DataError(f"{self.origin}: the matrix is all zeros, it has no resolution")
        peaks_arr, widths_arr = np.asarray(peaks), np.asarray(widths)
        channels = np.unique(peaks_arr)
        mean_width = np.array([widths_arr[peaks_arr == c].mean() for c in channels])
        return np.interp(np.arange(self.n_channels), channels, mean_width)


def _energy_column(hdu: fits.BinTableHDU, name: str, origin: str) -> np.ndarray:
    columns = {c.name.upper(): c for c in hdu.columns}
    if name not in columns:
        raise DataError(f"{origin}[{hdu.name}]: missing column {name}")
    values = np.asarray(hdu.data[columns[name].name], dtype=float)
    unit = columns[name].unit
    if unit and unit.strip().lower() not in ("kev", ""):
        try:
            values = (values * u.Unit(unit)).to_value(u.keV, equivalencies=u.spectral())
        except (ValueError, u.UnitConversionError):
            raise DataError(f"{origin}[{hdu.name}]: column {name} has unit {unit!r}, not an energy") from None
    if not np.all(np.isfinite(values)):
        raise DataError(f"{origin}[{hdu.name}]: column {name} has NaN/inf values")
    return values


def _matrix_hdus(hdus: fits.HDUList) -> list[fits.BinTableHDU]:
    found = []
    for hdu in hdus:
        if not isinstance(hdu, fits.BinTableHDU):
            continue
        kind = str(hdu.header.get("HDUCLAS2", "")).strip().upper()
        if hdu.name.upper() in ("MATRIX", "SPECRESP MATRIX") or kind == "RSP_MATRIX":
            found.append(hdu)
    return found


def _channel_offset(hdu: fits.BinTableHDU) -> int:
    """First channel number of F_CHAN: its TLMIN, or 1 when absent (CAL/GEN/92-002)."""
    for index, column in enumerate(hdu.columns, start=1):
        if column.name.upper() == "F_CHAN":
            return int(hdu.header.get(f"TLMIN{index}", 1))
    return 1


def _expand_matrix(hdu: fits.BinTableHDU, n_channels: int, first_channel: int, origin: str) -> np.ndarray:
    """Dense matrix from the compressed rows (N_GRP groups of N_CHAN values from F_CHAN)."""
    columns = {c.name.upper(): c.name for c in hdu.columns}
    for name in ("N_GRP", "F_CHAN", "N_CHAN", "MATRIX"):
        if name not in columns:
            raise DataError(f"{origin}[{hdu.name}]: missing column {name}")
    data = hdu.data
    n_groups = np.asarray(data[columns["N_GRP"]], dtype=int)
    first, count, values = data[columns["F_CHAN"]], data[columns["N_CHAN"]], data[columns["MATRIX"]]
    matrix = np.zeros((len(data), n_channels))
    for i in range(len(data)):  # load time only: rows have variable-length groups
        groups = n_groups[i]
        starts = np.atleast_1d(first[i]).astype(int)[:groups] - first_channel
        lengths = np.atleast_1d(count[i]).astype(int)[:groups]
        row = np.atleast_1d(values[i]).astype(float)
        if lengths.sum() > row.size or np.any(starts < 0) or np.any(starts + lengths > n_channels):
            raise DataError(f"{origin}[{hdu.name}]: row {i} has groups outside the {n_channels} channels "
                            f"or more values than MATRIX holds (F_CHAN {starts + first_channel}, N_CHAN {lengths})")
        position = 0
        for start, length in zip(starts, lengths):
            matrix[i, start:start + length] = row[position:position + length]
            position += length
    if not np.all(np.isfinite(matrix)):
        raise DataError(f"{origin}[{hdu.name}]: MATRIX has NaN/inf values")
    return matrix


def read_rmf(name: str | os.PathLike[str] | FileName, *, keyword: str | None = None,
             relative_to: Path | None = None) -> Response:
    """Read an RMF or RSP file (``file{n}`` selects its n-th matrix extension).

    Raises
    ------
    DataError
        For missing extensions or columns, matrices that do not fit EBOUNDS, NaN values.
    """
    file = name if isinstance(name, FileName) else parse_file_name(name, relative_to, keyword)
    origin = str(file.path)
    with open_fits(file) as hdus:
        matrices = _matrix_hdus(hdus)
        if not matrices:
            raise DataError(f"{origin}: no MATRIX or SPECRESP MATRIX extension; its HDUs are "
                            f"{[h.name for h in hdus]}")
        index = file.selector or 1
        if index > len(matrices):
            raise DataError(f"{origin}: matrix {index} requested, the file holds {len(matrices)}")
        hdu = matrices[index - 1]
        if "EBOUNDS" not in hdus:
            raise DataError(f"{origin}: no EBOUNDS extension")
        ebounds = hdus["EBOUNDS"]
        channels = np.asarray(ebounds.data["CHANNEL"], dtype=int)
        first_channel = _channel_offset(hdu)
        matrix = _expand_matrix(hdu, channels.size, first_channel, origin)
        return Response(
            energy_lo=_energy_column(hdu, "ENERG_LO", origin), energy_hi=_energy_column(hdu, "ENERG_HI", origin),
            channels=channels, channel_lo=_energy_column(ebounds, "E_MIN", origin),
            channel_hi=_energy_column(ebounds, "E_MAX", origin), matrix=matrix,
            origin=str(file))


def read_arf(name: str | os.PathLike[str] | FileName, *, keyword: str | None = None,
             relative_to: Path | None = None) -> EffectiveArea:
    """Read an ARF (SPECRESP extension).

    Raises
    ------
    DataError
        For a missing extension or column, or negative/NaN areas.
    """
    file = name if isinstance(name, FileName) else parse_file_name(name, relative_to, keyword)
    origin = str(file.path)
    with open_fits(file) as hdus:
        if "SPECRESP" not in hdus:
            raise DataError(f"{origin}: no SPECRESP extension; its HDUs are {[h.name for h in hdus]}")
        hdu = hdus["SPECRESP"]
        area = np.asarray(hdu.data["SPECRESP"], dtype=float)
        if not np.all(np.isfinite(area)) or np.any(area < 0):
            raise DataError(f"{origin}: SPECRESP must be finite and non-negative (cm2)")
        return EffectiveArea(_energy_column(hdu, "ENERG_LO", origin), _energy_column(hdu, "ENERG_HI", origin),
                             area, origin)
