"""Reading responses (CAL/GEN/92-002): RMF or RSP matrices, EBOUNDS, and ARFs.

The matrix is expanded to a dense array ``(n_energy, n_channels)``: element
``[i, j]`` is the probability (times the effective area in cm², for an RSP or once an
ARF is applied) that a photon of energy bin ``i`` is recorded in channel ``j``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

from jointfit.errors import DataError, JointfitWarning

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
        Whether the matrix holds the effective area: an ARF has been applied, or the
        file is an RSP (HDUCLAS3 ``FULL``, or extension ``SPECRESP MATRIX``).
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

        A matrix that already holds an area (an RSP, or an ARF applied before) is
        multiplied all the same, as XSPEC does, with a :class:`JointfitWarning` saying
        that the area now counts twice.

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
        if self.has_area:
            warnings.warn(f"{self.origin} already holds an effective area (an RSP, or an ARF applied before); "
                          f"multiplying by {arf.origin} counts an area twice: give no ARF with a full response",
                          JointfitWarning, stacklevel=2)
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


def _holds_area(hdu: fits.BinTableHDU) -> bool:
    """Whether a matrix extension is an RSP, the effective area (cm²) folded in.

    HDUCLAS3 says so (FULL) or not (REDIST, DETECTOR); without one of these values the
    extension name decides (``SPECRESP MATRIX``). ASCA's SIS matrices carry the
    non-standard HDUCLAS3 = 'SPECRESP MATRIX' in a ``MATRIX`` extension and hold no area.
    """
    kind = str(hdu.header.get("HDUCLAS3", "")).strip().upper()
    if kind == "FULL":
        return True
    if kind in ("REDIST", "DETECTOR"):
        return False
    return hdu.name.upper() == "SPECRESP MATRIX"


def _ebounds_channels(ebounds: fits.BinTableHDU, origin: str) -> np.ndarray:
    """EBOUNDS ``CHANNEL`` as integers, checked to count up by one."""
    columns = {c.name.upper(): c.name for c in ebounds.columns}
    if "CHANNEL" not in columns:
        raise DataError(f"{origin}[EBOUNDS]: missing column CHANNEL")
    values = np.asarray(ebounds.data[columns["CHANNEL"]], dtype=float)  # CIAO writes it as reals
    channels = np.rint(values).astype(np.int64)
    if channels.size == 0 or np.any(channels != values) or np.any(np.diff(channels) != 1):
        raise DataError(f"{origin}[EBOUNDS]: CHANNEL must be whole numbers counting up by one, got "
                        f"{values[:5].tolist()}{' ...' if values.size > 5 else ''}")
    return channels


def _first_channel(hdu: fits.BinTableHDU, channels: np.ndarray) -> int:
    """The channel number that F_CHAN gives the first channel.

    CAL/GEN/92-002 puts it in the TLMIN keyword of the F_CHAN column (0 or 1 in
    practice). Files without it number F_CHAN like their EBOUNDS ``CHANNEL`` column:
    XMM-Newton SAS writes none and counts both from 0, the others count both from 1.
    """
    for index, column in enumerate(hdu.columns, start=1):
        if column.name.upper() == "F_CHAN" and f"TLMIN{index}" in hdu.header:
            return int(hdu.header[f"TLMIN{index}"])
    return int(channels[0])


def _cell(value: object) -> np.ndarray:
    """One row of a scalar, fixed-length or variable-length column, as a 1-D array."""
    return np.atleast_1d(np.asarray(value)).ravel()


def _expand_matrix(hdu: fits.BinTableHDU, n_channels: int, first_channel: int, origin: str) -> np.ndarray:
    """Dense matrix ``(n_energy, n_channels)`` from the compressed rows of ``hdu``.

    Row ``i`` holds ``N_GRP`` groups; group ``g`` puts the next ``N_CHAN[g]`` values of
    ``MATRIX`` in the channels from ``F_CHAN[g]`` on. Everything CAL/GEN/92-002 allows
    is read: F_CHAN, N_CHAN and MATRIX as scalars, fixed-length vectors (entries past
    ``N_GRP``, or past the values the groups take, are padding) or variable-length
    arrays (``P`` and ``Q`` descriptors); rows with ``N_GRP = 0``; and empty groups
    (``N_CHAN = 0``, which SAS writes below the detector threshold with ``F_CHAN = 0``),
    which hold nothing and so may start anywhere. Channels no group covers are 0.

    Raises
    ------
    DataError
        Naming the file, extension, row (1-based) and what was expected, for a missing
        column, a negative N_GRP or N_CHAN, fewer F_CHAN/N_CHAN entries than N_GRP,
        groups beyond the channels of EBOUNDS, groups taking more values than MATRIX
        holds, or NaN/inf values.
    """
    columns = {c.name.upper(): c.name for c in hdu.columns}
    for name in ("N_GRP", "F_CHAN", "N_CHAN", "MATRIX"):
        if name not in columns:
            raise DataError(f"{origin}[{hdu.name}]: missing column {name}")
    data = hdu.data
    n_groups = np.asarray(data[columns["N_GRP"]], dtype=np.int64).ravel()
    first, count, values = data[columns["F_CHAN"]], data[columns["N_CHAN"]], data[columns["MATRIX"]]
    last_channel = first_channel + n_channels - 1
    matrix = np.zeros((len(data), n_channels))
    for i in range(len(data)):  # load time only: rows hold different numbers of groups
        where = f"{origin}[{hdu.name}] row {i + 1}"
        groups = int(n_groups[i])
        if groups < 0:
            raise DataError(f"{where}: N_GRP is {groups}, it must be 0 or more")
        starts, lengths = _cell(first[i]), _cell(count[i])
        for name, cell in (("F_CHAN", starts), ("N_CHAN", lengths)):
            if cell.size < groups:
                raise DataError(f"{where}: N_GRP is {groups} but {name} holds {cell.size} value(s)")
        starts, lengths = starts[:groups].astype(np.int64), lengths[:groups].astype(np.int64)
        if np.any(lengths < 0):
            raise DataError(f"{where}: N_CHAN {lengths.tolist()} has a negative group length")
        used = lengths > 0
        outside = used & ((starts < first_channel) | (starts + lengths - 1 > last_channel))
        if np.any(outside):
            g = int(np.flatnonzero(outside)[0])
            raise DataError(f"{where}: group {g + 1} (F_CHAN {starts[g]}, N_CHAN {lengths[g]}) covers channels "
                            f"{starts[g]}-{starts[g] + lengths[g] - 1}, outside the channels {first_channel}-"
                            f"{last_channel} of EBOUNDS (F_CHAN counts from {first_channel})")
        row = _cell(values[i])
        if lengths.sum() > row.size:
            raise DataError(f"{where}: the groups take {int(lengths.sum())} values (N_CHAN {lengths.tolist()}) "
                            f"but MATRIX holds {row.size}")
        row = row[:lengths.sum()].astype(float)
        if not np.all(np.isfinite(row)):
            raise DataError(f"{where}: MATRIX has NaN/inf values")
        position = 0
        for start, length in zip(starts[used] - first_channel, lengths[used]):
            matrix[i, start:start + length] = row[position:position + length]
            position += length
    return matrix


def read_rmf(name: str | os.PathLike[str] | FileName, *, keyword: str | None = None,
             relative_to: Path | None = None) -> Response:
    """Read an RMF or RSP file (``file{n}`` selects its n-th matrix extension).

    The matrix is read as CAL/GEN/92-002 allows (see ``_expand_matrix``), gzipped or
    not. F_CHAN counts from its column's TLMIN when there is one, else from the first
    EBOUNDS channel. An RSP (HDUCLAS3 = 'FULL', or a ``SPECRESP MATRIX`` extension)
    gives ``has_area=True``. LO_THRES, the threshold under which the file's author set
    elements to zero, changes nothing: the matrix is used as stored, as XSPEC does.

    Raises
    ------
    DataError
        For missing extensions or columns, matrices that do not fit EBOUNDS, NaN values.

    Notes
    -----
    The last few files read are kept (:data:`_RESPONSES_KEPT`), read-only, and given
    again while their modification time and size are unchanged.
    """
    file = name if isinstance(name, FileName) else parse_file_name(name, relative_to, keyword)
    try:
        status = file.path.stat()
    except OSError:
        status = None
    key = None if status is None else (str(file.path.resolve()), file.selector, status.st_mtime_ns, status.st_size)
    if key is not None and key in _READ_RESPONSES:
        _READ_RESPONSES[key] = _READ_RESPONSES.pop(key)  # the most recently used is dropped last
        return _READ_RESPONSES[key]
    response = _read_rmf(file)
    if key is not None:
        for array in (response.energy_lo, response.energy_hi, response.channels, response.channel_lo,
                      response.channel_hi, response.matrix):
            array.flags.writeable = False  # shared by every spectrum that names the file
        _READ_RESPONSES[key] = response
        while len(_READ_RESPONSES) > _RESPONSES_KEPT:
            _READ_RESPONSES.pop(next(iter(_READ_RESPONSES)))
    return response


_RESPONSES_KEPT = 8
"""RMFs kept in memory once read (by path, modification time and size): a catalogue's
spectra often name one response, whose reading (its variable-length rows expanded) is
the costliest part of loading a spectrum, ~0.2 s for a 1090 x 1024 ACIS matrix."""
_READ_RESPONSES: dict[tuple, Response] = {}


def _read_rmf(file: FileName) -> Response:
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
        channels = _ebounds_channels(ebounds, origin)
        matrix = _expand_matrix(hdu, channels.size, _first_channel(hdu, channels), origin)
        return Response(
            energy_lo=_energy_column(hdu, "ENERG_LO", origin), energy_hi=_energy_column(hdu, "ENERG_HI", origin),
            channels=channels, channel_lo=_energy_column(ebounds, "E_MIN", origin),
            channel_hi=_energy_column(ebounds, "E_MAX", origin), matrix=matrix,
            origin=str(file), has_area=_holds_area(hdu))


def _area_column(values: object, origin: str) -> np.ndarray:
    """SPECRESP as floats: a vector per row for a type II ARF, whether its column is
    fixed- or variable-length (rows of one length)."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):  # a variable-length column: one array per row
        rows = [np.asarray(row, dtype=float) for row in values]
        if len({row.size for row in rows}) != 1:
            raise DataError(f"{origin}[SPECRESP]: the rows of column SPECRESP hold {sorted({r.size for r in rows})} "
                            "values; every row of a type II ARF needs one area per energy bin") from None
        return np.vstack(rows)


def read_arf(name: str | os.PathLike[str] | FileName, *, keyword: str | None = None,
             relative_to: Path | None = None) -> EffectiveArea:
    """Read an ARF (SPECRESP extension), gzipped or not.

    A type II ARF (CAL/GEN/92-002 §4.1.3: one ARF per row, in vector columns) gives the
    row that ``file{n}`` selects, or its only row.

    Raises
    ------
    DataError
        For a missing extension or column, negative/NaN areas, or a type II ARF of
        several rows without a selector.
    """
    file = name if isinstance(name, FileName) else parse_file_name(name, relative_to, keyword)
    origin = str(file.path)
    with open_fits(file) as hdus:
        if "SPECRESP" not in hdus:
            raise DataError(f"{origin}: no SPECRESP extension; its HDUs are {[h.name for h in hdus]}")
        hdu = hdus["SPECRESP"]
        columns = {c.name.upper(): c.name for c in hdu.columns}
        if "SPECRESP" not in columns:
            raise DataError(f"{origin}[SPECRESP]: missing column SPECRESP")
        area = _area_column(hdu.data[columns["SPECRESP"]], origin)
        energy_lo, energy_hi = _energy_column(hdu, "ENERG_LO", origin), _energy_column(hdu, "ENERG_HI", origin)
        if area.ndim == 2:
            rows = area.shape[0]
            row = file.selector if file.selector is not None else 1 if rows == 1 else None
            if row is None:
                raise DataError(f"{origin} is a type II ARF with {rows} rows: choose one with '{origin}{{n}}'")
            if not 1 <= row <= rows:
                raise DataError(f"{origin}: ARF row {row} requested, the file holds {rows} (1..{rows})")
            area = area[row - 1]
            energy_lo, energy_hi = (e[row - 1] if e.ndim == 2 else e for e in (energy_lo, energy_hi))
            origin = f"{origin}{{{row}}}"
        elif file.selector not in (None, 1):
            raise DataError(f"{origin} holds one ARF; ARF row {file.selector} does not exist")
        if not np.all(np.isfinite(area)) or np.any(area < 0):
            raise DataError(f"{origin}: SPECRESP must be finite and non-negative (cm2)")
        return EffectiveArea(energy_lo, energy_hi, area, origin)
