"""Small OGIP files in the layouts that missions' software writes, built with astropy.

Each ``write_*`` function says which mission and software writes the layout it copies
and which features of CAL/GEN/92-002 and OGIP/92-007 it exercises; it writes a PHA
file, an RMF or RSP and, where the mission has one, an ARF into a folder, and returns a
:class:`Layout` with the paths and the dense truth the files encode. The sizes are
scaled down (50-300 energies and channels, NuSTAR's 4096 channels kept) so that tests
are fast. The structure (channel numbering, TLMIN, how groups, empty groups and empty
rows are stored, scalar, fixed- or variable-length columns, RSP or RMF + ARF) follows
what each mission's software is documented to write; the headers of the real files in
``shared/data/ogip-real`` (Chandra ACIS and HETG) and of the GBM response shipped with
jointfit_ogip were copied where the layout is theirs. Details no reader depends on
(integer widths, keyword sets) may differ from the real files.

The matrices are compressed here, by this module's own code (not by
``jointfit_ogip.writing``), so that reading them back tests the reader against an
independent writer. Values stored in single precision (``E``) are rounded to float32 in
the truth too, so that the truth is exactly what the file holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy import stats

__all__ = ["Layout", "LAYOUTS", "write_3ml_pha2", "write_chandra_hetg_pha2", "write_rmf"]


@dataclass(frozen=True)
class Layout:
    """What a ``write_*`` function wrote, and the dense truth its files encode.

    Attributes
    ----------
    pha, rmf, arf : Path
        The spectrum, the RMF (or RSP) and the ARF (None when the mission has none).
    energy_lo, energy_hi : ndarray
        Photon energy bins of the matrix, keV.
    channels : ndarray of int
        Channel numbers, as EBOUNDS numbers them.
    channel_lo, channel_hi : ndarray
        EBOUNDS E_MIN and E_MAX, keV.
    matrix : ndarray, shape (n_energy, n_channels)
        The dense matrix the file encodes (cm² for an RSP, probabilities otherwise).
    area : ndarray or None
        The ARF's effective area, cm².
    has_area : bool
        Whether the matrix file is an RSP.
    exposure : float
        The spectrum's exposure, s.
    """

    pha: Path
    rmf: Path
    arf: Path | None
    energy_lo: np.ndarray
    energy_hi: np.ndarray
    channels: np.ndarray
    channel_lo: np.ndarray
    channel_hi: np.ndarray
    matrix: np.ndarray
    area: np.ndarray | None
    has_area: bool
    exposure: float


# -- dense truths ----------------------------------------------------------------------------------


def redistribution(energy_lo: np.ndarray, energy_hi: np.ndarray, channel_lo: np.ndarray, channel_hi: np.ndarray,
                   *, resolution: float, threshold: float, lo_thres: float, tail: float = 0.0) -> np.ndarray:
    """A CCD-like redistribution: a Gaussian photopeak of FWHM ``resolution * sqrt(E)``
    (keV), plus (``tail`` > 0) a flat shoulder holding ``tail`` of the probability from
    0.1 E to 0.35 E, which after thresholding is a second group of channels. Rows
    whose energy is under ``threshold`` (keV) are empty, as below a detector's low
    threshold; elements under ``lo_thres`` are zero, as LO_THRES says."""
    centre = 0.5 * (energy_lo + energy_hi)[:, None]
    sigma = resolution * np.sqrt(centre) / 2.3548
    peak = stats.norm.cdf(channel_hi[None, :], centre, sigma) - stats.norm.cdf(channel_lo[None, :], centre, sigma)
    matrix = (1.0 - tail) * peak
    if tail > 0:
        low, high = 0.1 * centre, 0.35 * centre
        overlap = np.clip(np.minimum(channel_hi, high) - np.maximum(channel_lo, low), 0.0, None)
        matrix += tail * overlap / (high - low)
    matrix[matrix < lo_thres] = 0.0
    matrix[centre[:, 0] < threshold] = 0.0
    return matrix


def _linear_channels(first: int, n: int, e0: float, width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    channels = np.arange(first, first + n)
    lo = e0 + width * np.arange(n)
    return channels, lo, lo + width


def _energies(lo: float, hi: float, n: int, log: bool = False) -> tuple[np.ndarray, np.ndarray]:
    edges = np.geomspace(lo, hi, n + 1) if log else np.linspace(lo, hi, n + 1)
    return edges[:-1], edges[1:]


def _stored(values: np.ndarray, code: str) -> np.ndarray:
    """Values as a column of type ``code`` (E or D) holds them, in float64."""
    return values.astype(np.float32).astype(float) if code == "E" else values.astype(float)


# -- the matrix extension, compressed independently of jointfit_ogip.writing -----------------------


def _runs(row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first index, length) of each run of non-zero elements of ``row``."""
    nonzero = np.flatnonzero(row)
    if nonzero.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    pieces = np.split(nonzero, np.flatnonzero(np.diff(nonzero) > 1) + 1)
    return np.array([p[0] for p in pieces]), np.array([p.size for p in pieces])


def write_rmf(path: Path, energy_lo: np.ndarray, energy_hi: np.ndarray, channels: np.ndarray,
              channel_lo: np.ndarray, channel_hi: np.ndarray, matrix: np.ndarray, *, groups: str = "variable",
              descriptor: str = "P", integer: str = "J", real: str = "E", tlmin: int | None = None,
              empty_row: str = "no groups", extname: str = "MATRIX", hduclas3: str | None = "REDIST",
              channel_format: str = "J", ebounds_first: bool = False,
              n_matrices: int = 1, header: dict | None = None) -> None:
    """Write ``matrix`` as an RMF/RSP in one of the layouts CAL/GEN/92-002 allows.

    Parameters
    ----------
    groups : {"variable", "fixed", "scalar", "full"}
        F_CHAN/N_CHAN/MATRIX as variable-length arrays; F_CHAN/N_CHAN as fixed-length
        vectors as long as the most groups of any row (entries past N_GRP are 0) with a
        variable-length MATRIX; F_CHAN/N_CHAN as scalars (one group per row) with a
        variable-length MATRIX; or every row one group over all channels, MATRIX a
        fixed-length vector holding the zeros too.
    descriptor : {"P", "Q"}
        32-bit or 64-bit variable-length array descriptors.
    integer, real : str
        TFORM codes of F_CHAN/N_CHAN (I or J) and of MATRIX (E or D).
    tlmin : int, optional
        TLMIN of the F_CHAN column; None writes none.
    empty_row : {"no groups", "one empty group"}
        How a row without any non-zero element is stored: N_GRP = 0, or (as SAS
        writes it) N_GRP = 1 with F_CHAN = 0, N_CHAN = 0 and no MATRIX values.
    extname, hduclas3 : str
        The matrix extension's name and HDUCLAS3 (None: none).
    channel_format : str
        TFORM of EBOUNDS ``CHANNEL`` (CIAO writes ``1E``).
    ebounds_first : bool
        EBOUNDS before the matrix (GBM and 3ML write it so).
    n_matrices : int
        Matrix extensions written; matrix ``k`` (1-based) is ``matrix * k``.
    header : dict, optional
        Further keywords of the matrix extension.
    """
    offset = int(channels[0]) if tlmin is None else tlmin
    f_chan, n_chan, values, n_grp = [], [], [], []
    for row in matrix:
        if groups == "full":
            starts, lengths = np.array([0]), np.array([row.size])
        else:
            starts, lengths = _runs(row)
        if starts.size == 0 and empty_row == "one empty group":
            f_chan.append(np.array([0]))
            n_chan.append(np.array([0]))
            n_grp.append(1)
            values.append(np.zeros(0))
            continue
        f_chan.append(starts + offset)
        n_chan.append(lengths)
        n_grp.append(starts.size)
        values.append(np.concatenate([row[s:s + n] for s, n in zip(starts, lengths)] + [np.zeros(0)]))
    int_type = {"I": np.int16, "J": np.int32}[integer]
    real_type = {"E": np.float32, "D": np.float64}[real]
    most = max(1, max(len(f) for f in f_chan))
    if groups == "variable":
        group_columns = [fits.Column(name=name, format=f"{descriptor}{integer}()",
                                     array=np.array([np.asarray(v, int_type) for v in cells] + [None],
                                                    dtype=object)[:-1])
                         for name, cells in (("F_CHAN", f_chan), ("N_CHAN", n_chan))]
    elif groups == "fixed":
        group_columns = [fits.Column(name=name, format=f"{most}{integer}",
                                     array=np.array([np.pad(np.asarray(v, int_type), (0, most - len(v)))
                                                     for v in cells]))
                         for name, cells in (("F_CHAN", f_chan), ("N_CHAN", n_chan))]
    else:  # scalar, full: one group per row at most
        if most > 1:
            raise ValueError("scalar F_CHAN/N_CHAN hold one group per row")
        group_columns = [fits.Column(name=name, format=integer,
                                     array=np.array([v[0] if len(v) else 0 for v in cells], int_type))
                         for name, cells in (("F_CHAN", f_chan), ("N_CHAN", n_chan))]

    def matrix_extension(k: int) -> fits.BinTableHDU:
        if groups == "full":
            matrix_column = fits.Column(name="MATRIX", format=f"{matrix.shape[1]}{real}",
                                        array=(k * matrix).astype(real_type))
        else:
            matrix_column = fits.Column(name="MATRIX", format=f"{descriptor}{real}()",
                                        array=np.array([np.asarray(k * v, real_type) for v in values] + [None],
                                                       dtype=object)[:-1])
        hdu = fits.BinTableHDU.from_columns([
            fits.Column(name="ENERG_LO", format="E", unit="keV", array=energy_lo.astype(np.float32)),
            fits.Column(name="ENERG_HI", format="E", unit="keV", array=energy_hi.astype(np.float32)),
            fits.Column(name="N_GRP", format="I", array=np.array(n_grp, np.int16)),
            *group_columns, matrix_column], name=extname)
        cards = {"HDUCLASS": "OGIP", "HDUCLAS1": "RESPONSE", "HDUCLAS2": "RSP_MATRIX", "HDUVERS": "1.3.0",
                 "CHANTYPE": "PI", "DETCHANS": int(channels.size)}
        if hduclas3 is not None:
            cards["HDUCLAS3"] = hduclas3
        if tlmin is not None:
            cards["TLMIN4"], cards["TLMAX4"] = tlmin, tlmin + int(channels.size) - 1
        if n_matrices > 1:
            cards["EXTVER"] = k
        hdu.header.update({**cards, **(header or {})})
        return hdu

    ebounds = fits.BinTableHDU.from_columns([
        fits.Column(name="CHANNEL", format=channel_format, array=channels),
        fits.Column(name="E_MIN", format="E", unit="keV", array=channel_lo.astype(np.float32)),
        fits.Column(name="E_MAX", format="E", unit="keV", array=channel_hi.astype(np.float32)),
    ], name="EBOUNDS")
    ebounds.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "RESPONSE", "HDUCLAS2": "EBOUNDS", "CHANTYPE": "PI",
                           "DETCHANS": int(channels.size), "TLMIN1": int(channels[0]), "TLMAX1": int(channels[-1])})
    matrices = [matrix_extension(k) for k in range(1, n_matrices + 1)]
    extensions = [ebounds, *matrices] if ebounds_first else [*matrices, ebounds]
    fits.HDUList([fits.PrimaryHDU(), *extensions]).writeto(path)


def _write_arf(path: Path, energy_lo: np.ndarray, energy_hi: np.ndarray, area: np.ndarray) -> np.ndarray:
    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="ENERG_LO", format="E", unit="keV", array=energy_lo.astype(np.float32)),
        fits.Column(name="ENERG_HI", format="E", unit="keV", array=energy_hi.astype(np.float32)),
        fits.Column(name="SPECRESP", format="E", unit="cm**2", array=area.astype(np.float32)),
    ], name="SPECRESP")
    hdu.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "RESPONSE", "HDUCLAS2": "SPECRESP"})
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return _stored(area, "E")


def _write_pha(path: Path, channels: np.ndarray, counts: np.ndarray, exposure: float, respfile: str,
               ancrfile: str | None, channel_format: str = "J") -> None:
    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="CHANNEL", format=channel_format, array=channels),
        fits.Column(name="COUNTS", format="J", unit="count", array=counts.astype(np.int32)),
    ], name="SPECTRUM")
    hdu.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "SPECTRUM", "HDUCLAS2": "TOTAL", "HDUCLAS3": "COUNT",
                       "HDUCLAS4": "TYPE:I", "EXPOSURE": exposure, "POISSERR": True, "BACKSCAL": 1.0,
                       "AREASCAL": 1.0, "BACKFILE": "none", "CORRFILE": "none", "RESPFILE": respfile,
                       "ANCRFILE": ancrfile or "none", "CHANTYPE": "PI", "DETCHANS": int(channels.size),
                       "TLMIN1": int(channels[0]), "TLMAX1": int(channels[-1])})
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)


def _mission(folder: Path, stem: str, energies: tuple[np.ndarray, np.ndarray],
             ebounds: tuple[np.ndarray, np.ndarray, np.ndarray], matrix: np.ndarray, area: np.ndarray | None,
             rmf_options: dict, exposure: float, seed: int) -> Layout:
    """Write the RMF (options as ``write_rmf``, HDUCLAS3 = REDIST), the ARF and a Poisson
    spectrum naming both."""
    energy_lo, energy_hi = energies
    channels, channel_lo, channel_hi = ebounds
    real = rmf_options.get("real", "E")
    matrix = _stored(matrix, real)
    rmf = folder / f"{stem}.rmf"
    write_rmf(rmf, energy_lo, energy_hi, channels, channel_lo, channel_hi, matrix, **rmf_options)
    arf = None
    if area is not None:
        arf = folder / f"{stem}.arf"
        area = _write_arf(arf, energy_lo, energy_hi, area)
    effective = matrix * (area[:, None] if area is not None else 1.0)
    flux = 0.5 * (energy_hi - energy_lo)  # any smooth spectrum: counts are only for realism
    counts = np.random.default_rng(seed).poisson(exposure * flux @ effective)
    pha = folder / f"{stem}.pha"
    _write_pha(pha, channels, counts, exposure, rmf.name, arf.name if arf else None)
    return Layout(pha, rmf, arf, _stored(energy_lo, "E"), _stored(energy_hi, "E"), channels,
                  _stored(channel_lo, "E"), _stored(channel_hi, "E"), matrix, area, False, exposure)


def _area(energy_lo: np.ndarray, energy_hi: np.ndarray, peak: float, at: float) -> np.ndarray:
    """A mirror-like effective area (cm²): rising to ``peak`` near ``at`` keV, falling after."""
    e = 0.5 * (energy_lo + energy_hi)
    return peak * (e / at) ** 1.5 / (1.0 + (e / at) ** 3)


# -- the missions ------------------------------------------------------------------------------------


def write_xmm_pn(folder: Path) -> Layout:
    """XMM-Newton EPIC-pn, as SAS ``rmfgen``, ``arfgen`` and ``especget`` write it.

    Exercises: EBOUNDS CHANNEL from 0 (TLMIN1 = 0) and a F_CHAN column without TLMIN,
    so that F_CHAN counts from EBOUNDS' first channel; rows below the detector's low
    threshold stored as one empty group (N_GRP = 1, F_CHAN = [0], N_CHAN = [0], an
    empty MATRIX), the layout jointfit refused before issue 22; variable-length
    ``PI``/``PI``/``PE`` columns; a separate ARF; a PHA whose CHANNEL starts at 0.
    (pn: 4096 channels of 5 eV, here 256 of 60 eV.)
    """
    energies = _energies(0.05, 15.0, 200)
    ebounds = _linear_channels(0, 256, 0.0, 0.06)
    matrix = redistribution(*energies, *ebounds[1:], resolution=0.05, threshold=0.15, lo_thres=1e-6)
    return _mission(folder, "pn", energies, ebounds, matrix, _area(*energies, 1200.0, 1.5),
                    dict(groups="variable", integer="I", tlmin=None, empty_row="one empty group",
                         channel_format="I"), exposure=30e3, seed=1)


def write_xmm_mos(folder: Path) -> Layout:
    """XMM-Newton EPIC-MOS, as SAS ``rmfgen`` writes it.

    Exercises what the pn layout does (EBOUNDS from 0, no TLMIN on F_CHAN, empty groups
    in the rows under the threshold, variable-length arrays), with ``PJ`` integers and
    rows of two groups: the photopeak and the low-energy shoulder of the MOS
    redistribution. (MOS: 800 channels of 15 eV, here 160 of 75 eV.)
    """
    energies = _energies(0.1, 12.0, 180)
    ebounds = _linear_channels(0, 160, 0.0, 0.075)
    matrix = redistribution(*energies, *ebounds[1:], resolution=0.06, threshold=0.2, lo_thres=1e-6, tail=0.03)
    return _mission(folder, "mos", energies, ebounds, matrix, _area(*energies, 450.0, 1.5),
                    dict(groups="variable", integer="J", tlmin=None, empty_row="one empty group"),
                    exposure=40e3, seed=2)


def write_chandra_acis(folder: Path) -> Layout:
    """Chandra ACIS, as CIAO ``mkacisrmf``, ``mkarf`` and ``dmextract`` write it
    (structure copied from the real ``3c273.rmf`` header).

    Exercises: channels from 1 with TLMIN4 = 1 and TLMAX4 on F_CHAN; EBOUNDS CHANNEL
    stored as reals (``1E``), as CIAO does; ``PI``/``PI``/``PE`` variable-length
    columns with up to two groups a row; LO_THRES; HDUCLAS3 = REDIST; a separate ARF.
    (ACIS: 1024 PI channels of 14.6 eV, here 128 of 117 eV.)
    """
    energies = _energies(0.22, 11.0, 150)
    ebounds = _linear_channels(1, 128, 0.0, 0.117)
    matrix = redistribution(*energies, *ebounds[1:], resolution=0.04, threshold=0.0, lo_thres=1e-5, tail=0.02)
    return _mission(folder, "acis", energies, ebounds, matrix, _area(*energies, 600.0, 1.5),
                    dict(groups="variable", integer="I", tlmin=1, channel_format="1E", header={"LO_THRES": 1e-5}),
                    exposure=38e3, seed=3)


def write_chandra_hrc(folder: Path) -> Layout:
    """Chandra HRC-I, modelled on the CALDB HRC RMFs: a microchannel plate resolves
    energies poorly, so every row spreads over most of the few PI channels.

    Exercises: a row stored as one group over every channel (F_CHAN = 1, N_CHAN = the
    channel count) in scalar ``J`` columns, MATRIX a fixed-length vector holding the
    zeros too; TLMIN4 = 1; a separate ARF. (Here 64 channels.)
    """
    energies = _energies(0.07, 10.0, 100, log=True)
    ebounds = _linear_channels(1, 64, 0.0, 0.16)
    matrix = redistribution(*energies, *ebounds[1:], resolution=1.2, threshold=0.0, lo_thres=1e-7)
    return _mission(folder, "hrc", energies, ebounds, matrix, _area(*energies, 200.0, 1.0),
                    dict(groups="full", tlmin=1), exposure=10e3, seed=4)


def write_swift_xrt(folder: Path) -> Layout:
    """Swift XRT, as the CALDB RMFs and ``xrtmkarf``/``xrtproducts`` give them.

    Exercises: channels from 0 with TLMIN4 = 0; one group per row in scalar F_CHAN and
    N_CHAN columns (rows without any value: N_GRP = 0); a variable-length MATRIX; a
    separate ARF. (XRT: 1024 channels of 10 eV, here 200 of 50 eV.)
    """
    energies = _energies(0.05, 10.0, 200)
    ebounds = _linear_channels(0, 200, 0.0, 0.05)
    matrix = redistribution(*energies, *ebounds[1:], resolution=0.06, threshold=0.2, lo_thres=1e-6)
    return _mission(folder, "xrt", energies, ebounds, matrix, _area(*energies, 110.0, 1.5),
                    dict(groups="scalar", integer="J", tlmin=0), exposure=5e3, seed=5)


def write_nustar(folder: Path) -> Layout:
    """NuSTAR FPMA/FPMB, as ``nuproducts`` (``numkrmf``, ``numkarf``) writes it.

    Exercises: all 4096 channels from 0 with TLMIN4 = 0 (channel ``c`` spans
    1.6 + 0.04 c keV); F_CHAN and N_CHAN as fixed-length ``2J`` vectors, the entries
    past N_GRP padding; the low-energy tail as a second group; a variable-length
    MATRIX; a separate ARF; a matrix a few per cent filled (the sparse fold).
    """
    energies = _energies(1.6, 80.0, 120, log=True)
    ebounds = _linear_channels(0, 4096, 1.6, 0.04)
    matrix = redistribution(*energies, *ebounds[1:], resolution=0.08, threshold=0.0, lo_thres=1e-6, tail=0.02)
    return _mission(folder, "nustar", energies, ebounds, matrix, _area(*energies, 800.0, 10.0),
                    dict(groups="fixed", integer="J", tlmin=0), exposure=50e3, seed=6)


def write_erosita(folder: Path) -> Layout:
    """SRG/eROSITA, as eSASS ``srctool`` writes the spectrum, RMF and ARF.

    Exercises: channels from 0 with TLMIN4 = 0; rows under the threshold with
    N_GRP = 0 and empty variable-length F_CHAN/N_CHAN/MATRIX; ``PJ``/``PJ``/``PE``
    columns; a separate ARF. (Here 300 channels of 30 eV.)
    """
    energies = _energies(0.05, 10.0, 250)
    ebounds = _linear_channels(0, 300, 0.0, 0.03)
    matrix = redistribution(*energies, *ebounds[1:], resolution=0.05, threshold=0.15, lo_thres=1e-6, tail=0.01)
    return _mission(folder, "erosita", energies, ebounds, matrix, _area(*energies, 350.0, 1.2),
                    dict(groups="variable", integer="J", tlmin=0, empty_row="no groups"), exposure=2e3, seed=7)


def write_suzaku_xis(folder: Path) -> Layout:
    """Suzaku XIS, modelled on the RMF of ``xisrmfgen`` and the ARF of ``xissimarfgen``.

    Exercises: channels from 0 with TLMIN4 = 0; every row one group over all channels
    (scalar F_CHAN = 0, N_CHAN = the channel count) with MATRIX a fixed-length vector
    holding the zeros; scalar ``I`` group columns; a separate ARF. (XIS: 4096 channels
    of 3.65 eV, here 256 of 58 eV.)
    """
    energies = _energies(0.2, 16.0, 150)
    ebounds = _linear_channels(0, 256, 0.0, 0.0584)
    matrix = redistribution(*energies, *ebounds[1:], resolution=0.05, threshold=0.0, lo_thres=1e-7, tail=0.01)
    return _mission(folder, "xis", energies, ebounds, matrix, _area(*energies, 300.0, 1.5),
                    dict(groups="full", integer="I", tlmin=0), exposure=60e3, seed=8)


def write_nicer(folder: Path) -> Layout:
    """NICER XTI, as the CALDB RMF and ARF (or ``nicerrmf``/``nicerarf``) give them.

    Exercises: PI channels from 0 with TLMIN4 = 0 (NICER: 1501 channels of 10 eV,
    here 150 of 100 eV); rows of two groups (the shoulder of the silicon drift
    detectors) in ``PJ`` variable-length columns; rows under the threshold with
    N_GRP = 0; MATRIX in double precision (``PD``); a separate ARF.
    """
    energies = _energies(0.2, 15.0, 150)
    ebounds = _linear_channels(0, 150, 0.0, 0.1)
    matrix = redistribution(*energies, *ebounds[1:], resolution=0.05, threshold=0.25, lo_thres=1e-7, tail=0.03)
    return _mission(folder, "nicer", energies, ebounds, matrix, _area(*energies, 1900.0, 1.5),
                    dict(groups="variable", integer="J", real="D", tlmin=0), exposure=1e3, seed=9)


def write_fermi_gbm(folder: Path) -> Layout:
    """Fermi GBM, as ``GBM_RSP_Gen`` writes a ``.rsp2`` (structure copied from the GBM
    response shipped with jointfit_ogip).

    Exercises: an RSP (effective area folded in) in ``SPECRESP MATRIX`` extensions
    whose HDUCLAS3 is 'Undefined', so the extension name tells; EBOUNDS written before
    the matrices; several matrices (one per time interval, EXTVER 1, 2), the PHA
    naming the second one with ``{2}``; channels from 1 with TLMIN4 = 1; scalar ``I``
    F_CHAN/N_CHAN; a variable-length MATRIX; no ARF. (GBM: 128 channels, here 64.)
    """
    energies = _energies(5.0, 40e3, 140, log=True)
    edges = np.geomspace(4.0, 50e3, 65)
    channels, channel_lo, channel_hi = np.arange(1, 65), edges[:-1], edges[1:]
    centre = 0.5 * (energies[0] + energies[1])[:, None]
    # a scintillator: a broad photopeak (FWHM 15 %) and a flat Compton continuum below it
    peak = stats.norm.cdf(np.log(channel_hi), np.log(centre), 0.064) - stats.norm.cdf(np.log(channel_lo),
                                                                                      np.log(centre), 0.064)
    # growing with the channel up to the photopeak, so each row is one run of channels
    continuum = np.where(channel_hi <= centre, (channel_hi - channel_lo) / centre, 0.0)
    matrix = 100.0 * (0.7 * peak + 0.3 * continuum)  # cm²
    matrix[matrix < 1e-4] = 0.0
    stored = _stored(matrix, "E")
    rsp = folder / "gbm.rsp2"
    write_rmf(rsp, *energies, channels, channel_lo, channel_hi, stored, groups="scalar", integer="I", tlmin=1,
              extname="SPECRESP MATRIX", hduclas3="Undefined", channel_format="I", ebounds_first=True,
              n_matrices=2)
    exposure = 10.0
    flux = 1e-3 * (energies[1] - energies[0]) ** 0.5  # photons/(cm² s) per bin, for realism only
    counts = np.random.default_rng(10).poisson(exposure * flux @ (2.0 * stored))
    pha = folder / "gbm.pha"
    _write_pha(pha, channels, counts, exposure, f"{rsp.name}{{2}}", None, "I")
    # the PHA names the second matrix: the truth is matrix 2, twice matrix 1
    return Layout(pha, rsp, None, _stored(energies[0], "E"), _stored(energies[1], "E"), channels,
                  _stored(channel_lo, "E"), _stored(channel_hi, "E"), _stored(2.0 * stored, "E"), None, True,
                  exposure)


LAYOUTS = {
    "xmm-pn": write_xmm_pn,
    "xmm-mos": write_xmm_mos,
    "chandra-acis": write_chandra_acis,
    "chandra-hrc": write_chandra_hrc,
    "swift-xrt": write_swift_xrt,
    "nustar": write_nustar,
    "erosita": write_erosita,
    "suzaku-xis": write_suzaku_xis,
    "nicer": write_nicer,
    "fermi-gbm": write_fermi_gbm,
}
"""Every mission layout writer, by name."""


# -- type II spectra ----------------------------------------------------------------------------------


def write_3ml_pha2(folder: Path, stem: str = "grb", rows: int = 1) -> tuple[Path, np.ndarray, np.ndarray]:
    """A spectrum as 3ML's ``OGIPLike.write_pha`` / ``PHAWrite`` writes it.

    Exercises: a PHA type II file (HDUCLAS4 = TYPE:II) of ``rows`` rows (3ML writes one
    row per plugin, so usually one), in RATE (``E``, counts/s, POISSERR = T) with
    TSTART, TELAPSE, SPEC_NUM, CHANNEL (``I``, from 1), QUALITY, BACKSCAL, GROUPING,
    EXPOSURE, SYS_ERR columns, and BACKFILE/RESPFILE/ANCRFILE as string columns naming
    ``<stem>_bak.pha{n}`` and ``<stem>.rsp{n}``; the background a type II file of the
    same rows whose BACKFILE column says NONE; the RSP with EBOUNDS first and a ``SPECRESP MATRIX``
    (HDUCLAS3 = FULL, TLMIN4 = 1) per row holding each row whole (N_GRP = F_CHAN = 1,
    N_CHAN = the channel count, MATRIX a fixed-length vector).

    Returns
    -------
    (path, counts, background counts)
        The spectrum file, and the counts of every row, shape ``(rows, n_channels)``.
    """
    n_channels, n_energies, exposure = 40, 60, 12.5
    rng = np.random.default_rng(11)
    counts = rng.poisson(30.0, (rows, n_channels)).astype(float)
    background = rng.poisson(10.0, (rows, n_channels)).astype(float)
    channels = np.tile(np.arange(1, n_channels + 1, dtype=np.int16), (rows, 1))

    def spectrum(path: Path, values: np.ndarray, backfile: list[str]) -> None:
        columns = [
            fits.Column(name="TSTART", format="E", unit="s", array=exposure * np.arange(rows)),
            fits.Column(name="TELAPSE", format="E", unit="s", array=np.full(rows, exposure)),
            fits.Column(name="SPEC_NUM", format="I", array=np.arange(1, rows + 1)),
            fits.Column(name="CHANNEL", format=f"{n_channels}I", array=channels),
            fits.Column(name="RATE", format=f"{n_channels}E", unit="1/s", array=values / exposure),
            fits.Column(name="QUALITY", format=f"{n_channels}I", array=np.zeros_like(channels)),
            fits.Column(name="BACKSCAL", format="E", array=np.ones(rows)),
            fits.Column(name="GROUPING", format=f"{n_channels}I", array=np.ones_like(channels)),
            fits.Column(name="EXPOSURE", format="E", unit="s", array=np.full(rows, exposure)),
            fits.Column(name="RESPFILE", format="32A", array=[f"{stem}.rsp{{{i}}}" for i in range(1, rows + 1)]),
            fits.Column(name="ANCRFILE", format="4A", array=["NONE"] * rows),
            fits.Column(name="BACKFILE", format="32A", array=backfile),
            fits.Column(name="SYS_ERR", format=f"{n_channels}E", array=np.zeros((rows, n_channels))),
        ]
        hdu = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
        hdu.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "SPECTRUM", "HDUCLAS2": "TOTAL", "HDUCLAS3": "RATE",
                           "HDUCLAS4": "TYPE:II", "CHANTYPE": "PHA", "POISSERR": True,
                           "DETCHANS": n_channels, "CORRSCAL": 1.0, "AREASCAL": 1.0})
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)

    path = folder / f"{stem}.pha"
    spectrum(path, counts, [f"{stem}_bak.pha{{{i}}}" for i in range(1, rows + 1)])
    spectrum(folder / f"{stem}_bak.pha", background, ["NONE"] * rows)
    energy_lo, energy_hi = _energies(10.0, 1000.0, n_energies, log=True)
    edges = np.geomspace(8.0, 1200.0, n_channels + 1)
    matrix = redistribution(energy_lo, energy_hi, edges[:-1], edges[1:], resolution=2.0, threshold=0.0,
                            lo_thres=0.0) * 100.0
    write_rmf(folder / f"{stem}.rsp", energy_lo, energy_hi, np.arange(1, n_channels + 1), edges[:-1], edges[1:],
              matrix, groups="full", integer="I", tlmin=1, extname="SPECRESP MATRIX", hduclas3="FULL",
              ebounds_first=True, n_matrices=rows)
    return path, counts, background


def write_chandra_hetg_pha2(folder: Path) -> tuple[Path, np.ndarray, np.ndarray, Layout]:
    """A Chandra HETG spectrum, as CIAO ``tgextract`` writes it (structure copied from
    the real ``3c120_pha2`` header), with an ``mkgrmf``-like RMF and an ARF for order -1.

    Exercises: a PHA type II file (HDUCLAS4 = TYPE:II, HDUCLAS5 = TG) of four rows,
    HEG/MEG (TG_PART 1, 2) x orders -1, +1 (TG_M), CHANNEL ``nI`` from 1, COUNTS,
    STAT_ERR, the background in the same row (BACKGROUND_UP, BACKGROUND_DOWN with
    BACKSCUP, BACKSCDN keywords), BIN_LO/BIN_HI in Ångström, BACKFILE/RESPFILE/ANCRFILE
    none: the rows need a choice. The RMF's channels run in wavelength, so EBOUNDS
    energies fall as the channel number rises; TLMIN4 = 1; ``PJ`` variable length.

    Returns
    -------
    (path, counts, background counts, layout of row 1's RMF and ARF)
        ``counts`` and ``background`` have shape ``(4, n_channels)``; the layout's
        ``pha`` is ``path{1}``.
    """
    n_channels, rows = 300, 4
    hc = 12.398419843320026  # keV Å
    wavelength = 1.5 + 0.02 * np.arange(n_channels + 1)  # Å, channel 1 the shortest
    bin_lo, bin_hi = wavelength[:-1], wavelength[1:]
    rng = np.random.default_rng(12)
    counts = rng.poisson(4.0, (rows, n_channels)).astype(float)
    up, down = rng.poisson(0.5, (rows, n_channels)), rng.poisson(0.5, (rows, n_channels))
    channels = np.tile(np.arange(1, n_channels + 1, dtype=np.int16), (rows, 1))
    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="SPEC_NUM", format="1I", array=np.arange(1, rows + 1)),
        fits.Column(name="TG_M", format="1I", array=[-1, 1, -1, 1]),
        fits.Column(name="TG_PART", format="1I", array=[1, 1, 2, 2]),
        fits.Column(name="TG_SRCID", format="1I", array=np.ones(rows)),
        fits.Column(name="CHANNEL", format=f"{n_channels}I", array=channels),
        fits.Column(name="COUNTS", format=f"{n_channels}I", unit="count", array=counts),
        fits.Column(name="STAT_ERR", format=f"{n_channels}E", unit="count", array=1 + np.sqrt(counts + 0.75)),
        fits.Column(name="BACKGROUND_UP", format=f"{n_channels}I", unit="count", array=up),
        fits.Column(name="BACKGROUND_DOWN", format=f"{n_channels}I", unit="count", array=down),
        fits.Column(name="BIN_LO", format=f"{n_channels}D", unit="angstrom", array=np.tile(bin_lo, (rows, 1))),
        fits.Column(name="BIN_HI", format=f"{n_channels}D", unit="angstrom", array=np.tile(bin_hi, (rows, 1))),
    ], name="SPECTRUM")
    hdu.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "SPECTRUM", "HDUCLAS2": "TOTAL", "HDUCLAS3": "COUNT",
                       "HDUCLAS4": "TYPE:II", "HDUCLAS5": "TG", "EXPOSURE": 77716.3, "BACKSCAL": 1.0,
                       "BACKSCUP": 4.0188284, "BACKSCDN": 4.0188284, "DETCHANS": n_channels, "BACKFILE": "none",
                       "CORRFILE": "none", "RESPFILE": "none", "ANCRFILE": "none", "AREASCAL": 1.0,
                       "CHANTYPE": "PI", "POISSERR": False, "QUALITY": 0, "GROUPING": 0, "GRATING": "HETG"})
    hdu.header["TLMIN5"] = 1  # CHANNEL's
    path = folder / "hetg_pha2.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)

    energies = _energies(hc / 8.0, hc / 1.4, 240, log=True)
    channel_lo, channel_hi = hc / bin_hi, hc / bin_lo  # E_MIN, E_MAX: falling with the channel
    matrix = redistribution(*energies, channel_lo, channel_hi, resolution=0.01, threshold=0.0, lo_thres=1e-6)
    matrix = _stored(matrix, "E")
    rmf = folder / "heg_m1.rmf"
    write_rmf(rmf, *energies, np.arange(1, n_channels + 1), channel_lo, channel_hi, matrix, groups="variable",
              integer="J", tlmin=1, header={"ORDER": -1, "GRATING": "HETG"})
    arf = folder / "heg_m1.arf"
    area = _write_arf(arf, *energies, _area(*energies, 25.0, 1.5))
    layout = Layout(Path(f"{path}{{1}}"), rmf, arf, _stored(energies[0], "E"), _stored(energies[1], "E"),
                    np.arange(1, n_channels + 1), _stored(channel_lo, "E"), _stored(channel_hi, "E"), matrix,
                    area, False, 77716.3)
    return path, counts, (up + down).astype(float), layout
