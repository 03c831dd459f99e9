"""Responses and spectra in the layouts each mission's software writes (issue 22).

Every layout of ``mission_layouts`` is read and folded, and compared with a dense matrix
decoded here from the FITS columns by plain NumPy (not by the reader's code), and with
the dense truth the files were written from. Malformed matrices are refused with named
errors; everything CAL/GEN/92-002 allows is read.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from jointfit import Line, Model, PointSource, Uniform_prior
from jointfit.errors import DataError
from jointfit_ogip import OGIPLike, read_arf, read_pha, read_rmf
from mission_layouts import LAYOUTS, Layout, write_chandra_hetg_pha2, write_rmf

LINE_A, LINE_B = 0.8, 0.15  # photons/(cm2 s keV) = a + b E: Gauss-Legendre of 2 points is exact on it


def dense_from_file(path: Path, extension: int = 1) -> np.ndarray:
    """The matrix of the ``extension``-th matrix HDU (1-based), decoded by listing the
    channel of every stored value and assigning them all at once."""
    with fits.open(path) as hdus:
        table = [h for h in hdus if h.name in ("MATRIX", "SPECRESP MATRIX")][extension - 1]
        channels = np.asarray(hdus["EBOUNDS"].data["CHANNEL"]).astype(int)
        key = f"TLMIN{table.columns.names.index('F_CHAN') + 1}"
        first = table.header.get(key, channels[0])
        dense = np.zeros((table.data.shape[0], channels.size))
        for i, row in enumerate(table.data):
            n = int(row["N_GRP"])
            starts, counts = np.ravel(row["F_CHAN"])[:n], np.ravel(row["N_CHAN"])[:n]
            index = np.concatenate([np.zeros(0, int)] + [np.arange(s, s + c) for s, c in zip(starts, counts)])
            dense[i, index - first] = np.ravel(row["MATRIX"])[:index.size]
        return dense


def line_model() -> Model:
    shape = Line(a=LINE_A, b=LINE_B)
    shape.a.prior = Uniform_prior(lower_bound=0.0, upper_bound=10.0)
    shape.b.prior = Uniform_prior(lower_bound=0.0, upper_bound=10.0)
    return Model(PointSource("src", ra=10.0, dec=-5.0, spectral_shape=shape))


def numpy_fold(layout: Layout, dense: np.ndarray) -> np.ndarray:
    """Expected counts per channel: the line integrated exactly over each energy bin,
    times the ARF, through ``dense``, times the exposure."""
    lo, hi = layout.energy_lo, layout.energy_hi
    photons = LINE_A * (hi - lo) + 0.5 * LINE_B * (hi**2 - lo**2)
    area = layout.area if layout.area is not None else np.ones(lo.size)
    return layout.exposure * (photons * area) @ dense


def model_counts(plugin: OGIPLike) -> np.ndarray:
    space = line_model().compile(extra_parameters=plugin.nuisance_parameters)
    plugin.setup(space)
    return np.asarray(plugin.expected_counts(space.unpack(space.initial_theta)))


def response_named_by(layout: Layout) -> tuple[Path, int]:
    """The RMF file and matrix extension that the layout's PHA names (RESPFILE)."""
    respfile = read_pha(layout.pha).respfile
    extension = int(respfile.rsplit("{", 1)[1].rstrip("}")) if respfile.endswith("}") else 1
    return layout.rmf, extension


@pytest.mark.parametrize("mission", sorted(LAYOUTS))
def test_each_mission_layout_reads_as_written(tmp_path, mission):
    layout = LAYOUTS[mission](tmp_path)
    path, extension = response_named_by(layout)
    response = read_rmf(f"{path}{{{extension}}}")
    decoded = dense_from_file(path, extension)
    np.testing.assert_array_equal(decoded, layout.matrix)  # the file holds the truth...
    np.testing.assert_array_equal(response.matrix, decoded)  # ...and the reader reads it
    assert np.count_nonzero(response.matrix) > 0
    np.testing.assert_array_equal(response.energy_lo, layout.energy_lo)
    np.testing.assert_array_equal(response.energy_hi, layout.energy_hi)
    np.testing.assert_array_equal(response.channels, layout.channels)
    np.testing.assert_array_equal(response.channel_lo, layout.channel_lo)
    np.testing.assert_array_equal(response.channel_hi, layout.channel_hi)
    assert response.has_area is layout.has_area
    if layout.arf is not None:
        np.testing.assert_array_equal(read_arf(layout.arf).area, layout.area)


@pytest.mark.parametrize("mission", sorted(LAYOUTS))
def test_each_mission_layout_folds_like_numpy(tmp_path, mission):
    layout = LAYOUTS[mission](tmp_path)
    plugin = OGIPLike(mission.replace("-", "_"), layout.pha, quadrature_points=2)  # RESPFILE, ANCRFILE
    assert plugin.response.has_area  # an ARF applied, or an RSP
    expected = numpy_fold(layout, dense_from_file(*response_named_by(layout)))
    assert np.all(expected >= 0) and expected.max() > 0
    np.testing.assert_allclose(model_counts(plugin), expected, rtol=1e-12, atol=1e-14 * expected.max())


@pytest.mark.parametrize("mission", ["xmm-pn", "chandra-acis"])
def test_gzipped_mission_files_read_like_the_plain_ones(tmp_path, mission):
    for folder in ("plain", "gz"):
        (tmp_path / folder).mkdir()
    plain, layout = LAYOUTS[mission](tmp_path / "plain"), LAYOUTS[mission](tmp_path / "gz")
    for path in (layout.pha, layout.rmf, layout.arf):
        with open(path, "rb") as source, gzip.open(path.with_name(path.name + ".gz"), "wb") as target:
            shutil.copyfileobj(source, target)
        path.unlink()
    direct = read_rmf(layout.rmf.with_name(layout.rmf.name + ".gz"))
    np.testing.assert_array_equal(direct.matrix, plain.matrix)
    name = mission.replace("-", "_")
    zipped = OGIPLike(name, layout.pha, quadrature_points=2)  # the PHA and the names in it resolve to .gz
    assert zipped.observation.origin.endswith(".pha.gz[SPECTRUM]")
    assert zipped.response.origin.endswith(".rmf.gz x " + str(layout.arf) + ".gz")
    np.testing.assert_allclose(model_counts(zipped), numpy_fold(plain, plain.matrix), rtol=1e-12)


def test_chandra_hetg_pha2_rows_need_a_choice_and_fold(tmp_path):
    path, counts, background, layout = write_chandra_hetg_pha2(tmp_path)
    with pytest.raises(DataError, match=r"is a PHA type II file with 4 spectra: choose one with "
                                        r"spectrum_number=<1\.\.4>"):
        read_pha(path)
    third = read_pha(f"{path}{{3}}")
    np.testing.assert_array_equal(third.counts, counts[2])
    np.testing.assert_array_equal(third.background.counts, background[2])
    assert third.background.backscal[0] == pytest.approx(2 * 4.0188284)
    plugin = OGIPLike("heg_m1", layout.pha, response=layout.rmf, arf=layout.arf, quadrature_points=2)
    np.testing.assert_array_equal(plugin.observation.counts, counts[0])
    assert plugin.statistic == "chi2"  # POISSERR = F with STAT_ERR
    np.testing.assert_allclose(model_counts(plugin), numpy_fold(layout, dense_from_file(layout.rmf)),
                               rtol=1e-12, atol=1e-14)
    # channels run in wavelength: energies fall as the channel number rises
    assert np.all(np.diff(plugin.response.channel_lo) < 0)
    plugin.set_active_measurements("2-5")
    inside = (layout.channel_hi > 2.0) & (layout.channel_lo < 5.0)
    assert plugin.n_bins == inside.sum() > 0


# -- everything CAL/GEN/92-002 allows, beyond the missions' choices ----------------------------------


def small_response(first: int = 1, n_energy: int = 12, n_channel: int = 10) -> tuple[np.ndarray, ...]:
    """Energy bins (keV), channel numbers from ``first``, channel bounds and a
    tridiagonal matrix whose first two rows are empty."""
    energy = np.linspace(0.5, 6.5, n_energy + 1)
    channel = np.linspace(0.4, 6.4, n_channel + 1)
    matrix = np.zeros((n_energy, n_channel))
    for i in range(2, n_energy):
        j = min(i * n_channel // n_energy, n_channel - 2)
        matrix[i, j:j + 2] = [0.625, 0.25]
        matrix[i, max(j - 3, 0)] = 0.125  # a second group
    return energy[:-1], energy[1:], np.arange(first, first + n_channel), channel[:-1], channel[1:], matrix


@pytest.mark.parametrize("options", [
    dict(descriptor="Q"),                                # 64-bit descriptors (heaps over 2 GB)
    dict(descriptor="Q", real="D", integer="I"),
    dict(groups="fixed", tlmin=None),                    # no TLMIN, EBOUNDS from 1
    dict(groups="fixed", empty_row="one empty group", tlmin=1),
    dict(groups="full", tlmin=1, real="D"),
], ids=["QJ-QE", "QI-QD", "fixed-vectors-no-tlmin", "fixed-vectors-empty-groups", "full-rows-double"])
def test_every_column_layout_the_standard_allows(tmp_path, options):
    energy_lo, energy_hi, channels, channel_lo, channel_hi, matrix = small_response()
    write_rmf(tmp_path / "any.rmf", energy_lo, energy_hi, channels, channel_lo, channel_hi, matrix, **options)
    response = read_rmf(tmp_path / "any.rmf")
    np.testing.assert_array_equal(response.matrix, matrix)  # 0.625, 0.25, 0.125 are exact in float32
    np.testing.assert_array_equal(response.matrix, dense_from_file(tmp_path / "any.rmf"))


def test_rsp_is_told_by_hduclas3_then_by_the_extension_name(tmp_path):
    arrays = small_response()
    cases = {"full.rsp": ("MATRIX", "FULL", True), "gbm.rsp": ("SPECRESP MATRIX", "Undefined", True),
             "redist.rmf": ("SPECRESP MATRIX", "REDIST", False),
             # ASCA SIS: a non-standard HDUCLAS3 in a MATRIX extension that holds no area
             "asca.rmf": ("MATRIX", "SPECRESP MATRIX", False), "none.rmf": ("MATRIX", None, False)}
    for name, (extname, hduclas3, holds_area) in cases.items():
        write_rmf(tmp_path / name, *arrays, extname=extname, hduclas3=hduclas3)
        assert read_rmf(tmp_path / name).has_area is holds_area, name


def _bad_rmf(path: Path, n_grp, f_chan, n_chan, values, *, tlmin: int | None = 0, fixed: int | None = None,
             channels: np.ndarray | None = None) -> Path:
    """An RMF of len(n_grp) rows over 10 channels from ``tlmin`` (or ``channels``), with
    the given cells (variable-length, or fixed-length vectors of ``fixed`` entries)."""
    rows = len(n_grp)
    channels = np.arange(tlmin or 0, (tlmin or 0) + 10) if channels is None else channels

    def group_column(name, cells):
        if fixed:
            return fits.Column(name=name, format=f"{fixed}J", array=np.array(cells, np.int32))
        return fits.Column(name=name, format="PJ()", array=np.array(
            [np.asarray(c, np.int32) for c in cells] + [None], dtype=object)[:-1])

    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="ENERG_LO", format="D", unit="keV", array=np.arange(1.0, rows + 1.0)),
        fits.Column(name="ENERG_HI", format="D", unit="keV", array=np.arange(2.0, rows + 2.0)),
        fits.Column(name="N_GRP", format="I", array=np.asarray(n_grp)),
        group_column("F_CHAN", f_chan), group_column("N_CHAN", n_chan),
        fits.Column(name="MATRIX", format="PD()", array=np.array(
            [np.asarray(v, float) for v in values] + [None], dtype=object)[:-1])], name="MATRIX")
    if tlmin is not None:
        hdu.header["TLMIN4"] = tlmin
    ebounds = fits.BinTableHDU.from_columns([
        fits.Column(name="CHANNEL", format="J", array=channels),
        fits.Column(name="E_MIN", format="D", unit="keV", array=np.arange(channels.size) * 0.5),
        fits.Column(name="E_MAX", format="D", unit="keV", array=np.arange(1, channels.size + 1) * 0.5)],
        name="EBOUNDS")
    fits.HDUList([fits.PrimaryHDU(), hdu, ebounds]).writeto(path)
    return path


def test_empty_groups_and_rows_read_as_zeros_wherever_they_start(tmp_path):
    # TLMIN 1, yet empty groups at F_CHAN 0 (as SAS writes them) and past the last channel
    path = _bad_rmf(tmp_path / "empty.rmf", [2, 0, 3], [[0, 3], [], [99, 1, 9]], [[0, 2], [], [0, 1, 2]],
                    [[0.5, 0.25], [], [0.125, 0.375, 0.0625]], tlmin=1)
    expected = np.zeros((3, 10))
    expected[0, 2:4] = [0.5, 0.25]
    expected[2, [0, 8, 9]] = [0.125, 0.375, 0.0625]
    np.testing.assert_array_equal(read_rmf(path).matrix, expected)
    # fixed-length vectors: entries past N_GRP are padding, whatever they hold
    path = _bad_rmf(tmp_path / "padded.rmf", [1, 0], [[4, 77], [55, 66]], [[2, 88], [99, 99]],
                    [[0.5, 0.5, 9.0], [9.0]], tlmin=0, fixed=2)
    expected = np.zeros((2, 10))
    expected[0, 4:6] = 0.5
    np.testing.assert_array_equal(read_rmf(path).matrix, expected)


@pytest.mark.parametrize("case, arguments, message", [
    ("beyond the channels", dict(n_grp=[1, 1], f_chan=[[0], [8]], n_chan=[[1], [4]], values=[[1.0], [1.0] * 4]),
     r"bad\.rmf\[MATRIX\] row 2: group 1 \(F_CHAN 8, N_CHAN 4\) covers channels 8-11, outside the channels "
     r"0-9 of EBOUNDS \(F_CHAN counts from 0\)"),
    ("below the first channel", dict(n_grp=[1], f_chan=[[0]], n_chan=[[2]], values=[[1.0, 1.0]], tlmin=1),
     r"bad\.rmf\[MATRIX\] row 1: group 1 \(F_CHAN 0, N_CHAN 2\) covers channels 0-1, outside the channels 1-10"),
    ("more values than MATRIX", dict(n_grp=[2], f_chan=[[0, 4]], n_chan=[[2, 3]], values=[[1.0] * 4]),
     r"bad\.rmf\[MATRIX\] row 1: the groups take 5 values \(N_CHAN \[2, 3\]\) but MATRIX holds 4"),
    ("NaN", dict(n_grp=[1, 1], f_chan=[[0], [0]], n_chan=[[2], [2]], values=[[1.0, 0.0], [np.nan, 1.0]]),
     r"bad\.rmf\[MATRIX\] row 2: MATRIX has NaN/inf values"),
    ("N_GRP over the vector", dict(n_grp=[3], f_chan=[[0, 2]], n_chan=[[1, 1]], values=[[1.0, 1.0, 1.0]],
                                   fixed=2),
     r"bad\.rmf\[MATRIX\] row 1: N_GRP is 3 but F_CHAN holds 2 value\(s\)"),
    ("negative N_CHAN", dict(n_grp=[1], f_chan=[[0]], n_chan=[[-2]], values=[[1.0]]),
     r"bad\.rmf\[MATRIX\] row 1: N_CHAN \[-2\] has a negative group length"),
    ("negative N_GRP", dict(n_grp=[-1], f_chan=[[0]], n_chan=[[1]], values=[[1.0]]),
     r"bad\.rmf\[MATRIX\] row 1: N_GRP is -1, it must be 0 or more"),
    ("channels with a gap", dict(n_grp=[1], f_chan=[[0]], n_chan=[[1]], values=[[1.0]],
                                 channels=np.array([0, 1, 2, 4, 5])),
     r"bad\.rmf\[EBOUNDS\]: CHANNEL must be whole numbers counting up by one, got \[0\.0, 1\.0, 2\.0, 4\.0, 5\.0\]"),
])
def test_malformed_matrices_are_refused_with_named_errors(tmp_path, case, arguments, message):
    path = _bad_rmf(tmp_path / "bad.rmf", **arguments)
    with pytest.raises(DataError, match=message):
        read_rmf(path)


def test_type_ii_arf_rows_are_chosen_like_pha_rows(tmp_path):
    energy_lo, energy_hi = np.linspace(0.5, 5.0, 8), np.linspace(1.0, 5.5, 8)
    areas = np.array([np.full(8, 10.0), np.linspace(1.0, 8.0, 8)])

    def type_ii(path: Path, rows: int) -> Path:
        hdu = fits.BinTableHDU.from_columns([
            fits.Column(name="TG_M", format="I", array=[-1, 1][:rows]),
            fits.Column(name="ENERG_LO", format="8D", unit="keV", array=np.tile(energy_lo, (rows, 1))),
            fits.Column(name="ENERG_HI", format="8D", unit="keV", array=np.tile(energy_hi, (rows, 1))),
            fits.Column(name="SPECRESP", format="8D", unit="cm**2", array=areas[:rows])], name="SPECRESP")
        hdu.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "RESPONSE", "HDUCLAS2": "SPECRESP",
                           "HDUCLAS4": "TYPE:II"})
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
        return path

    two = type_ii(tmp_path / "two.arf", 2)
    second = read_arf(f"{two}{{2}}")
    np.testing.assert_array_equal(second.area, areas[1])
    np.testing.assert_array_equal(second.energy_lo, energy_lo)
    assert second.origin.endswith("two.arf{2}")
    with pytest.raises(DataError, match=r"two\.arf is a type II ARF with 2 rows: choose one with '.*two\.arf\{n\}'"):
        read_arf(two)
    with pytest.raises(DataError, match=r"ARF row 3 requested, the file holds 2 \(1\.\.2\)"):
        read_arf(f"{two}{{3}}")
    np.testing.assert_array_equal(read_arf(type_ii(tmp_path / "one.arf", 1)).area, areas[0])


def test_variable_length_type_ii_arf_rows_read_and_ragged_ones_are_refused(tmp_path):
    energy_lo, energy_hi = np.linspace(0.5, 5.0, 8), np.linspace(1.0, 5.5, 8)
    areas = [np.full(8, 10.0), np.linspace(1.0, 8.0, 8)]

    def variable(path: Path, rows: list[np.ndarray]) -> Path:
        hdu = fits.BinTableHDU.from_columns([
            fits.Column(name="ENERG_LO", format="8D", unit="keV", array=np.tile(energy_lo, (2, 1))),
            fits.Column(name="ENERG_HI", format="8D", unit="keV", array=np.tile(energy_hi, (2, 1))),
            fits.Column(name="SPECRESP", format="PD()", unit="cm**2",
                        array=np.array(rows, dtype=object))], name="SPECRESP")
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
        return path

    np.testing.assert_array_equal(read_arf(f"{variable(tmp_path / 'vla.arf', areas)}{{2}}").area, areas[1])
    with pytest.raises(DataError, match=r"ragged\.arf\[SPECRESP\]: the rows of column SPECRESP hold \[7, 8\] values"):
        read_arf(f"{variable(tmp_path / 'ragged.arf', [areas[0], areas[1][:7]])}{{1}}")


def test_an_arf_on_a_full_response_warns_that_the_area_counts_twice(tmp_path):
    from jointfit.errors import JointfitWarning
    from jointfit_ogip.response import EffectiveArea

    arrays = small_response()
    write_rmf(tmp_path / "full.rsp", *arrays, extname="MATRIX", hduclas3="FULL")
    full = read_rmf(tmp_path / "full.rsp")
    area = EffectiveArea(full.energy_lo, full.energy_hi, np.full(full.n_energies, 2.0), "twice.arf")
    with pytest.warns(JointfitWarning, match=r"full\.rsp already holds an effective area.*twice\.arf counts an area"):
        doubled = full.with_arf(area)
    np.testing.assert_array_equal(doubled.matrix, 2.0 * full.matrix)
