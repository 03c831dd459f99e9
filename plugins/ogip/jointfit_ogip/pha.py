"""Reading PHA spectra (OGIP/92-007): type I files, rows of type II files, backgrounds.

Everything a spectrum needs may sit in a column or in a keyword (QUALITY, GROUPING,
EXPOSURE, BACKSCAL, AREASCAL, SYS_ERR, STAT_ERR, POISSERR, BACKFILE, RESPFILE,
ANCRFILE); columns win. RATE spectra are converted to counts with the exposure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from jointfit.errors import DataError

from .files import FileName, is_none, open_fits, parse_file_name

__all__ = ["PHASpectrum", "read_pha", "read_pha_rows"]


@dataclass(frozen=True, eq=False)
class PHASpectrum:
    """One spectrum: a PHA type I file, or one row of a type II file.

    Attributes
    ----------
    origin : str
        File (and row) it was read from, for messages.
    channels : ndarray of int
        Channel numbers.
    counts : ndarray of float
        Counts per channel (RATE columns are multiplied by the exposure).
    stat_err : ndarray or None
        Statistical error per channel, in counts; None for Poisson data.
    sys_err : ndarray
        Fractional systematic error per channel.
    quality, grouping : ndarray of int
        OGIP quality (0 good) and grouping (1 starts a group, -1 continues it) flags.
    exposure : float
        Exposure time, s.
    backscal, areascal : ndarray
        Background and area scaling per channel.
    poisson : bool
        Whether the counts are Poisson (POISSERR, or no errors given).
    backfile, respfile, ancrfile : str or None
        File names from the header or columns (``None`` for none), unresolved.
    folder : Path
        Folder of the file, against which relative names resolve.
    background : PHASpectrum or None
        A background stored with the spectrum (same row of a type II file, or a
        background HDU of the same file).
    """

    origin: str
    channels: np.ndarray
    counts: np.ndarray
    stat_err: np.ndarray | None
    sys_err: np.ndarray
    quality: np.ndarray
    grouping: np.ndarray
    exposure: float
    backscal: np.ndarray
    areascal: np.ndarray
    poisson: bool
    backfile: str | None
    respfile: str | None
    ancrfile: str | None
    folder: Path
    row: int | None = None
    background: PHASpectrum | None = None

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return int(self.channels.size)


def _spectrum_hdus(hdus: fits.HDUList, path: Path) -> tuple[list[fits.BinTableHDU], list[fits.BinTableHDU]]:
    """(source HDUs, background HDUs) of a PHA file, by HDUCLAS1/HDUCLAS2 or EXTNAME."""
    sources, backgrounds = [], []
    for hdu in hdus:
        if not isinstance(hdu, fits.BinTableHDU):
            continue
        header = hdu.header
        if str(header.get("HDUCLAS1", "")).strip().upper() != "SPECTRUM" and hdu.name.upper() != "SPECTRUM":
            continue
        kind = str(header.get("HDUCLAS2", "")).strip().upper()
        (backgrounds if kind == "BKG" else sources).append(hdu)
    if not sources and not backgrounds:
        names = [hdu.name for hdu in hdus]
        raise DataError(f"{path}: no SPECTRUM extension (HDUCLAS1 = 'SPECTRUM' or EXTNAME = 'SPECTRUM'); "
                        f"its HDUs are {names}")
    return sources, backgrounds


class _Table:
    """Column-or-keyword access to one spectrum of a SPECTRUM extension."""

    def __init__(self, hdu: fits.BinTableHDU, row: int | None, origin: str) -> None:
        self.hdu, self.row, self.origin = hdu, row, origin
        self.columns = {c.name.upper(): c.name for c in hdu.columns}

    def has(self, name: str) -> bool:
        return name in self.columns or name in self.hdu.header

    def column(self, name: str) -> np.ndarray | None:
        if name not in self.columns:
            return None
        data = self.hdu.data[self.columns[name]]
        return np.asarray(data if self.row is None else data[self.row])

    def value(self, name: str, default: Any = None) -> Any:
        column = self.column(name)
        if column is not None:
            return column
        return self.hdu.header.get(name, default)

    def per_channel(self, name: str, default: float, n: int, dtype: type = float) -> np.ndarray:
        value = self.value(name, default)
        try:
            array = np.asarray(value, dtype=dtype)
            return np.broadcast_to(array, (n,)).copy()
        except (TypeError, ValueError):
            raise DataError(f"{self.origin}: {name} should be a number or {n} numbers, got {value!r}") from None

    def scalar(self, name: str, default: float | None) -> float:
        value = self.value(name, default)
        if value is None:
            raise DataError(f"{self.origin}: the {name} keyword (or column) is missing")
        array = np.asarray(value, dtype=float)
        if array.ndim != 0:
            raise DataError(f"{self.origin}: {name} must be one number per spectrum, got shape {array.shape}")
        return float(array)

    def file_name(self, name: str) -> str | None:
        value = self.value(name, None)
        if isinstance(value, np.ndarray):
            value = value.item()
        if isinstance(value, bytes):
            value = value.decode()
        return None if is_none(value) else str(value).strip()


def _row_count(hdu: fits.BinTableHDU, counts_column: str) -> int | None:
    """Number of spectra of a type II extension, or None for type I."""
    if str(hdu.header.get("HDUCLAS4", "")).strip().upper() == "TYPE:II":
        return len(hdu.data)
    return len(hdu.data) if np.ndim(hdu.data[counts_column]) == 2 else None


def _read_table(hdu: fits.BinTableHDU, path: Path, row: int | None, is_background: bool) -> PHASpectrum:
    origin = f"{path}" + (f"{{{row + 1}}}" if row is not None else "") + f"[{hdu.name}]"
    table = _Table(hdu, row, origin)
    if "COUNTS" in table.columns:
        values, is_rate = table.column("COUNTS"), False
    elif "RATE" in table.columns:
        values, is_rate = table.column("RATE"), True
    else:
        raise DataError(f"{origin}: neither a COUNTS nor a RATE column")
    values = np.asarray(values, dtype=float)
    n = values.size
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(f"{origin}: {'RATE' if is_rate else 'COUNTS'} has {bad.size} NaN/inf value(s), "
                        f"first at channel index {bad[0]}")

    exposure = table.scalar("EXPOSURE", None)
    if not np.isfinite(exposure) or exposure <= 0:
        raise DataError(f"{origin}: EXPOSURE must be a positive number of seconds, got {exposure!r}")

    channels = table.column("CHANNEL")
    if channels is None:
        tlmin = hdu.header.get("TLMIN1", 1)
        channels = np.arange(tlmin, tlmin + n)
    channels = np.asarray(channels, dtype=int)

    poisserr = table.value("POISSERR", None)
    stat_err = table.column("STAT_ERR")
    if stat_err is None and "STAT_ERR" in hdu.header and not poisserr:
        stat_err = np.full(n, float(hdu.header["STAT_ERR"]))
    poisson = bool(poisserr) if poisserr is not None else stat_err is None
    if poisson:
        stat_err = None
    elif stat_err is None:
        raise DataError(f"{origin}: POISSERR is false but there is no STAT_ERR column or keyword")
    else:
        stat_err = np.asarray(stat_err, dtype=float) * (exposure if is_rate else 1.0)
        stat_err = np.broadcast_to(stat_err, (n,)).copy()
        bad = np.flatnonzero(~np.isfinite(stat_err))
        if bad.size:
            raise DataError(f"{origin}: STAT_ERR has NaN/inf value(s), first at channel index {bad[0]}")

    counts = values * exposure if is_rate else values
    if poisson:
        rounded = np.round(counts)
        if np.any(counts < 0) or not np.allclose(counts, rounded, rtol=1e-6, atol=1e-6):
            index = int(np.flatnonzero((counts < 0) | ~np.isclose(counts, rounded, rtol=1e-6, atol=1e-6))[0])
            raise DataError(f"{origin}: Poisson data must be non-negative whole counts; channel index "
                            f"{index} holds {counts[index]!r}")
        counts = rounded

    backscal = table.per_channel("BACKSCAL", 1.0, n)
    areascal = table.per_channel("AREASCAL", 1.0, n)
    for name, array in (("BACKSCAL", backscal), ("AREASCAL", areascal)):
        if not np.all(np.isfinite(array)) or np.any(array < 0):
            raise DataError(f"{origin}: {name} must be finite and non-negative")

    background = None
    if not is_background and "BACKGROUND_UP" in table.columns and "BACKGROUND_DOWN" in table.columns:
        # grating spectra keep their background in the same row, in two halves
        up, down = table.column("BACKGROUND_UP"), table.column("BACKGROUND_DOWN")
        scale = table.scalar("BACKSCUP", 1.0) + table.scalar("BACKSCDN", 1.0)
        bkg_counts = (np.asarray(up, float) + np.asarray(down, float)) * (exposure if is_rate else 1.0)
        background = PHASpectrum(
            origin=f"{origin} BACKGROUND_UP + BACKGROUND_DOWN", channels=channels, counts=np.round(bkg_counts),
            stat_err=None, sys_err=np.zeros(n), quality=np.zeros(n, int), grouping=np.zeros(n, int),
            exposure=exposure, backscal=np.full(n, scale), areascal=areascal.copy(), poisson=True,
            backfile=None, respfile=None, ancrfile=None, folder=path.parent, row=row)

    return PHASpectrum(
        origin=origin, channels=channels, counts=counts, stat_err=stat_err,
        sys_err=table.per_channel("SYS_ERR", 0.0, n), quality=table.per_channel("QUALITY", 0, n, int),
        grouping=table.per_channel("GROUPING", 0, n, int), exposure=exposure, backscal=backscal,
        areascal=areascal, poisson=poisson, backfile=table.file_name("BACKFILE"),
        respfile=table.file_name("RESPFILE"), ancrfile=table.file_name("ANCRFILE"),
        folder=path.parent, row=row, background=background)


def _as_file_name(name: str | os.PathLike[str] | FileName, keyword: str | None,
                  relative_to: Path | None) -> FileName:
    return name if isinstance(name, FileName) else parse_file_name(name, relative_to, keyword)


def _counts_column(hdu: fits.BinTableHDU, path: Path) -> str:
    column = next((c.name for c in hdu.columns if c.name.upper() in ("COUNTS", "RATE")), None)
    if column is None:
        raise DataError(f"{path}[{hdu.name}]: neither a COUNTS nor a RATE column")
    return column


def _source_hdu(hdus: fits.HDUList, path: Path, is_background: bool) -> tuple[fits.BinTableHDU, list]:
    sources, backgrounds = _spectrum_hdus(hdus, path)
    if is_background:
        return (backgrounds or sources)[0], []
    if not sources:
        raise DataError(f"{path}: the only SPECTRUM extension is a background (HDUCLAS2 = 'BKG')")
    return sources[0], backgrounds


def _with_background_hdu(spectrum: PHASpectrum, backgrounds: list, path: Path) -> PHASpectrum:
    """Attach a background extension of the same file (same row for type II)."""
    if not backgrounds or spectrum.background is not None:
        return spectrum
    return replace(spectrum, background=_read_table(backgrounds[0], path, spectrum.row, True))


def read_pha(name: str | os.PathLike[str] | FileName, spectrum_number: int | None = None, *,
             is_background: bool = False, keyword: str | None = None,
             relative_to: Path | None = None) -> PHASpectrum:
    """Read one spectrum from a PHA file.

    Parameters
    ----------
    name : str, path or FileName
        The file; ``file{n}`` selects row ``n`` (1-based) of a type II file.
    spectrum_number : int, optional
        Row (1-based) of a type II file; required for a type II file of several rows
        without selector (a file of one row gives that row).
    is_background : bool
        Read a background spectrum (a file's BKG extension is then acceptable).
    keyword, relative_to
        Where the name came from (for error messages) and the folder it is relative to.

    Raises
    ------
    DataError
        For missing or malformed files, rows out of range, NaN/inf counts, non-positive
        exposure, and other violations of OGIP/92-007.
    """
    file = _as_file_name(name, keyword, relative_to)
    row = file.selector if file.selector is not None else spectrum_number
    if file.selector is not None and spectrum_number is not None and file.selector != spectrum_number:
        raise DataError(f"{file}: the selector {{{file.selector}}} and spectrum_number={spectrum_number} disagree")
    with open_fits(file) as hdus:
        hdu, backgrounds = _source_hdu(hdus, file.path, is_background)
        rows = _row_count(hdu, _counts_column(hdu, file.path))
        if rows is None:
            if row not in (None, 1):
                raise DataError(f"{file.path} is a PHA type I file (one spectrum); row {row} does not exist")
            spectrum = _read_table(hdu, file.path, None, is_background)
        else:
            if row is None and rows == 1:
                row = 1  # one row is unambiguous: 3ML's write_pha writes type II files so
            if row is None:
                raise DataError(f"{file.path} is a PHA type II file with {rows} spectra: choose one with "
                                f"spectrum_number=<1..{rows}> or '{file.path}{{n}}', or read all with read_pha_rows")
            if not 1 <= row <= rows:
                raise DataError(f"{file.path}: spectrum {row} requested, the file holds {rows} (1..{rows})")
            spectrum = _read_table(hdu, file.path, row - 1, is_background)
        return _with_background_hdu(spectrum, backgrounds, file.path)


def read_pha_rows(name: str | os.PathLike[str]) -> list[PHASpectrum]:
    """Every spectrum of a PHA file (one for type I, every row for type II)."""
    file = _as_file_name(name, None, None)
    with open_fits(file) as hdus:
        hdu, backgrounds = _source_hdu(hdus, file.path, False)
        rows = _row_count(hdu, _counts_column(hdu, file.path))
        indices = [None] if rows is None else list(range(rows))
        return [_with_background_hdu(_read_table(hdu, file.path, i, False), backgrounds, file.path)
                for i in indices]
