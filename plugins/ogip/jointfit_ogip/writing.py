"""Writing PHA type I spectra, RMF/RSP matrices and ARFs that XSPEC, Sherpa and this
plugin read back. Matrices are written compressed (N_GRP groups of non-zero runs), in
double precision, so that a round trip is exact."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from astropy.io import fits

from jointfit.errors import DataError

from .pha import PHASpectrum
from .response import EffectiveArea, Response

__all__ = ["write_spectrum", "write_response", "write_arf", "matrix_hdu", "ebounds_hdu"]


def _check_target(path: str | os.PathLike[str], overwrite: bool) -> Path:
    target = Path(path)
    if target.exists() and not overwrite:
        raise DataError(f"{target} exists; pass overwrite=True to replace it")
    return target


def _ogip_header(header: fits.Header, *cards: tuple[str, object]) -> None:
    header["HDUCLASS"] = "OGIP"
    for key, value in cards:
        header[key] = value


def _column_or_keyword(columns: list[fits.Column], header: fits.Header, name: str, values: np.ndarray,
                       fmt: str) -> None:
    """A per-channel quantity as a keyword when constant (the usual form), else a column."""
    if np.all(values == values[0]):
        header[name] = values[0].item()
    else:
        columns.append(fits.Column(name=name, format=fmt, array=values))


def write_spectrum(path: str | os.PathLike[str], spectrum: PHASpectrum, *, backfile: str | None = None,
                   respfile: str | None = None, ancrfile: str | None = None, is_background: bool = False,
                   overwrite: bool = False) -> Path:
    """Write ``spectrum`` as a PHA type I file (COUNTS, errors, QUALITY, GROUPING)."""
    target = _check_target(path, overwrite)
    columns = [fits.Column(name="CHANNEL", format="J", array=spectrum.channels)]
    if spectrum.poisson:
        columns.append(fits.Column(name="COUNTS", format="J", unit="count", array=spectrum.counts.astype(np.int64)))
    else:
        columns.append(fits.Column(name="COUNTS", format="D", unit="count", array=spectrum.counts))
        columns.append(fits.Column(name="STAT_ERR", format="D", unit="count", array=spectrum.stat_err))
    columns.append(fits.Column(name="QUALITY", format="I", array=spectrum.quality))
    columns.append(fits.Column(name="GROUPING", format="I", array=spectrum.grouping))
    header = fits.Header()
    for name, values in (("SYS_ERR", spectrum.sys_err), ("BACKSCAL", spectrum.backscal),
                         ("AREASCAL", spectrum.areascal)):
        _column_or_keyword(columns, header, name, np.asarray(values, dtype=float), "D")
    hdu = fits.BinTableHDU.from_columns(columns, header=header, name="SPECTRUM")
    _ogip_header(
        hdu.header, ("HDUCLAS1", "SPECTRUM"), ("HDUCLAS2", "BKG" if is_background else "TOTAL"),
        ("HDUCLAS3", "COUNT"), ("HDUCLAS4", "TYPE:I"), ("HDUVERS", "1.2.1"),
        ("TELESCOP", "UNKNOWN"), ("INSTRUME", "UNKNOWN"), ("FILTER", "NONE"),
        ("EXPOSURE", float(spectrum.exposure)), ("POISSERR", bool(spectrum.poisson)),
        ("CORRFILE", "none"), ("CORRSCAL", 1.0), ("BACKFILE", backfile or "none"),
        ("RESPFILE", respfile or "none"), ("ANCRFILE", ancrfile or "none"),
        ("DETCHANS", spectrum.n_channels), ("CHANTYPE", "PI"),
        ("TLMIN1", int(spectrum.channels[0])), ("TLMAX1", int(spectrum.channels[-1])))
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(target, overwrite=overwrite)
    return target


def _compress_rows(matrix: np.ndarray, first_channel: int) -> tuple[list, list, list, np.ndarray]:
    """Runs of non-zero values of each row: (F_CHAN, N_CHAN, MATRIX) lists and N_GRP."""
    f_chan, n_chan, values, n_grp = [], [], [], []
    nonzero = matrix != 0
    for row, mask in zip(matrix, nonzero):  # writing only: variable-length rows
        edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        f_chan.append((starts + first_channel).astype(np.int32))
        n_chan.append((stops - starts).astype(np.int32))
        values.append(np.concatenate([row[a:b] for a, b in zip(starts, stops)]) if starts.size else np.zeros(0))
        n_grp.append(starts.size)
    return f_chan, n_chan, values, np.asarray(n_grp, dtype=np.int16)


def matrix_hdu(response: Response) -> fits.BinTableHDU:
    """The response matrix as a compressed MATRIX (or SPECRESP MATRIX) extension."""
    first = int(response.channels[0])
    f_chan, n_chan, values, n_grp = _compress_rows(response.matrix, first)
    columns = [
        fits.Column(name="ENERG_LO", format="D", unit="keV", array=response.energy_lo),
        fits.Column(name="ENERG_HI", format="D", unit="keV", array=response.energy_hi),
        fits.Column(name="N_GRP", format="I", array=n_grp),
        fits.Column(name="F_CHAN", format="PJ()", array=np.array(f_chan, dtype=object)),
        fits.Column(name="N_CHAN", format="PJ()", array=np.array(n_chan, dtype=object)),
        fits.Column(name="MATRIX", format="PD()", array=np.array(values, dtype=object)),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="SPECRESP MATRIX" if response.has_area else "MATRIX")
    _ogip_header(hdu.header, ("HDUCLAS1", "RESPONSE"), ("HDUCLAS2", "RSP_MATRIX"),
                 ("HDUCLAS3", "FULL" if response.has_area else "REDIST"), ("HDUVERS", "1.3.0"),
                 ("DETCHANS", response.n_channels), ("CHANTYPE", "PI"), ("TLMIN4", first),
                 ("TLMAX4", int(response.channels[-1])), ("LO_THRES", 0.0))
    return hdu


def ebounds_hdu(response: Response) -> fits.BinTableHDU:
    """The channel energy bounds as an EBOUNDS extension."""
    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="CHANNEL", format="J", array=response.channels),
        fits.Column(name="E_MIN", format="D", unit="keV", array=response.channel_lo),
        fits.Column(name="E_MAX", format="D", unit="keV", array=response.channel_hi),
    ], name="EBOUNDS")
    _ogip_header(hdu.header, ("HDUCLAS1", "RESPONSE"), ("HDUCLAS2", "EBOUNDS"), ("HDUVERS", "1.2.0"),
                 ("DETCHANS", response.n_channels), ("CHANTYPE", "PI"), ("TLMIN1", int(response.channels[0])),
                 ("TLMAX1", int(response.channels[-1])))
    return hdu


def write_response(path: str | os.PathLike[str], response: Response, overwrite: bool = False) -> Path:
    """Write ``response`` as an RMF (or an RSP, ``SPECRESP MATRIX``, if it holds the area)."""
    target = _check_target(path, overwrite)
    fits.HDUList([fits.PrimaryHDU(), matrix_hdu(response), ebounds_hdu(response)]).writeto(
        target, overwrite=overwrite)
    return target


def write_arf(path: str | os.PathLike[str], arf: EffectiveArea, overwrite: bool = False) -> Path:
    """Write an ARF (SPECRESP extension, cm²)."""
    target = _check_target(path, overwrite)
    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="ENERG_LO", format="D", unit="keV", array=arf.energy_lo),
        fits.Column(name="ENERG_HI", format="D", unit="keV", array=arf.energy_hi),
        fits.Column(name="SPECRESP", format="D", unit="cm**2", array=arf.area),
    ], name="SPECRESP")
    _ogip_header(hdu.header, ("HDUCLAS1", "RESPONSE"), ("HDUCLAS2", "SPECRESP"), ("HDUVERS", "1.1.0"))
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(target, overwrite=overwrite)
    return target
