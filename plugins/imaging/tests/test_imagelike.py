"""ImageLike: reading images as users have them, every bad input's error, the model
image against an independent numpy calculation, and the two ways of sharing a
galaxy's structure across bands."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy import special

from jointfit import DataList, ExtendedSource, JointfitWarning, Model, PointSource
from jointfit.errors import DataError, PluginError
from jointfit.log_density import JointLogDensity
from jointfit_imaging import (BandMagnitudes, Gaussian2D, GaussianPSF, ImageLike, Sersic, psf_image, simple_wcs,
                              variance_from_counts)

RA, DEC = 187.3119, 12.9783
SHAPE = (33, 37)
SCALE = 0.5


def blank(**options):
    return ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                     zeropoint=22.5, **options)


def galaxy_model(**sersic) -> Model:
    shape = Sersic(ra=RA + 0.4 / 3600, dec=DEC - 0.3 / 3600, n=1.5, Re=2.0, q=0.6, PA=35.0, **sersic)
    return Model(ExtendedSource("gal", spatial_shape=shape, spectral_shape=BandMagnitudes(r=17.0, W1=16.0)))


def values_of(model: Model, plugin: ImageLike) -> dict:
    space = model.compile()
    plugin.setup(space)
    return space.unpack(space.initial_theta)


# -- reading ------------------------------------------------------------------------------------
def test_fits_file_with_extensions_reads_as_the_arrays(tmp_path):
    rng = np.random.default_rng(1)
    data, variance = rng.normal(size=SHAPE), rng.uniform(0.5, 2.0, SHAPE)
    mask = np.zeros(SHAPE, dtype=np.int16)
    mask[3:5, 7:9] = 4  # any nonzero value excludes (imfit, SExtractor)
    header = simple_wcs(SHAPE, SCALE, RA, DEC).to_header()
    fits.HDUList([fits.PrimaryHDU(data, header), fits.ImageHDU(variance, name="VAR"),
                  fits.ImageHDU(mask, name="MASK")]).writeto(tmp_path / "cutout.fits")
    image = ImageLike("r", tmp_path / "cutout.fits", variance="VAR", mask="MASK").image
    np.testing.assert_array_equal(image.excluded, mask != 0)
    np.testing.assert_array_equal(image.data[~image.excluded], data[mask == 0])
    np.testing.assert_array_equal(image.variance[~image.excluded], variance[mask == 0])
    assert image.wcs.wcs.ctype[0] == "RA---TAN"
    # a boolean mask array: True excludes, as numpy.ma
    boolean = ImageLike("r", tmp_path / "cutout.fits", weight=1.0 / variance, mask=mask != 0).image
    np.testing.assert_allclose(boolean.variance[~boolean.excluded], variance[mask == 0], rtol=1e-12)


def test_survey_file_layouts_read_without_naming_the_hdu(tmp_path):
    """Tile-compressed .fits.fz (empty primary, image in extension 1), an HST-style
    file (header-only primary, SCI extension) and a cube of one plane all read as the
    image they hold, exactly."""
    rng = np.random.default_rng(2)
    data, variance = rng.normal(size=SHAPE), rng.uniform(0.5, 2.0, SHAPE)
    header = simple_wcs(SHAPE, SCALE, RA, DEC).to_header()
    lossless = {"compression_type": "GZIP_2", "quantize_level": 0.0}
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header, **lossless),
                  fits.CompImageHDU(variance, name="VAR", **lossless)]).writeto(tmp_path / "cutout.fits.fz")
    fits.HDUList([fits.PrimaryHDU(header=fits.Header({"TELESCOP": "HST"})), fits.ImageHDU(data, header, name="SCI"),
                  fits.ImageHDU(variance, name="ERR")]).writeto(tmp_path / "drz.fits")
    cube_header = header.copy()
    cube_header.update(CTYPE3="FREQ", CRVAL3=1e9, CDELT3=1e6, CRPIX3=1.0)
    fits.PrimaryHDU(data[None], cube_header).writeto(tmp_path / "cube.fits")
    # JWST's i2d: SCI in MJy/sr and the images that go with it
    sci_header = header.copy()
    pixar_sr = 1.01 * (SCALE / 3600.0 * math.pi / 180.0) ** 2
    sci_header.update(BUNIT="MJy/sr", PIXAR_SR=pixar_sr)
    fits.HDUList([fits.PrimaryHDU(header=fits.Header({"TELESCOP": "JWST"})),
                  fits.ImageHDU(data, sci_header, name="SCI"), fits.ImageHDU(variance, name="ERR"),
                  fits.ImageHDU(np.ones((2, *SHAPE), dtype=np.int32), name="CON"),
                  fits.ImageHDU(variance, name="WHT")]
                 + [fits.ImageHDU(variance / 3.0, name=f"VAR_{kind}") for kind in ("POISSON", "RNOISE", "FLAT")]
                 ).writeto(tmp_path / "i2d.fits")
    with warnings.catch_warnings():
        warnings.simplefilter("error", JointfitWarning)  # images with their companions: nothing else to choose
        compressed = ImageLike("r", tmp_path / "cutout.fits.fz", variance="VAR").image
        hst = ImageLike("r", tmp_path / "drz.fits", sigma="ERR").image
        jwst = ImageLike("F200W", tmp_path / "i2d.fits", sigma="ERR")
    assert jwst.image.label.endswith("i2d.fits[1]")
    assert jwst.zeropoint == pytest.approx(-6.10 - 2.5 * math.log10(pixar_sr), abs=1e-9)
    with fits.open(tmp_path / "cutout.fits.fz") as hdul:
        np.testing.assert_array_equal(ImageLike("r", hdul[1], variance=variance).image.data, data)
    cube = ImageLike("r", tmp_path / "cube.fits", variance=variance).image
    for image in (compressed, hst, cube):
        np.testing.assert_array_equal(image.data, data)
        assert image.wcs.naxis == 2 and image.wcs.wcs.ctype[0] == "RA---TAN"
        np.testing.assert_allclose(image.wcs.pixel_to_world_values(3.0, 4.0),
                                   simple_wcs(SHAPE, SCALE, RA, DEC).pixel_to_world_values(3.0, 4.0),
                                   rtol=0, atol=1e-12)
    np.testing.assert_array_equal(compressed.variance, variance)
    np.testing.assert_allclose(hst.variance, variance**2)
    assert "cutout.fits.fz[1]" in compressed.label
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("x", "E", array=[1.0])])]).writeto(
        tmp_path / "table.fits")
    with pytest.raises(DataError, match=r"table.fits holds no image in any HDU; its HDUs are \['PRIMARY', '1'\]"):
        ImageLike("r", tmp_path / "table.fits", variance=variance)
    with pytest.raises(DataError, match=r"expected a 2-D image, found data of shape \(2, 33, 37\)"):
        ImageLike("r", np.zeros((2, *SHAPE)), variance=variance, wcs=simple_wcs(SHAPE, SCALE, RA, DEC))
    with pytest.raises(DataError, match=r"cutout.fits.fz: HDU 0 holds only a header; the first holding an "
                                        r"image is 1"):
        ImageLike("r", tmp_path / "cutout.fits.fz", hdu=0, variance="VAR")
    # a mosaic camera's file: two chips, the first read, with a warning that names the others
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, header, name="CCD1"), fits.ImageHDU(data, header, name="CCD2"),
                  fits.ImageHDU(variance, name="WHT")]).writeto(tmp_path / "mosaic.fits")
    with pytest.warns(JointfitWarning, match=r"mosaic.fits holds 2 images \(CCD1, CCD2\); reading the first, HDU 1: "
                                             "give hdu= to choose another"):
        ImageLike("r", tmp_path / "mosaic.fits", variance=variance)


def test_a_plane_of_a_multiband_cube_and_its_weight_cube(tmp_path):
    """A Legacy Survey style grz cutout: image and inverse-variance cubes of three planes;
    plane=1 reads the r plane of both, with the cube's celestial WCS."""
    rng = np.random.default_rng(3)
    cube, invvar = rng.normal(size=(3, *SHAPE)), rng.uniform(0.5, 2.0, (3, *SHAPE))
    header = simple_wcs(SHAPE, SCALE, RA, DEC).to_header()
    header["BANDS"] = "grz"
    fits.HDUList([fits.PrimaryHDU(cube, header), fits.ImageHDU(invvar, name="INVVAR")]).writeto(tmp_path / "grz.fits")
    image = ImageLike("r", tmp_path / "grz.fits", plane=1, weight="INVVAR").image
    np.testing.assert_array_equal(image.data, cube[1])
    np.testing.assert_allclose(image.variance, 1.0 / invvar[1], rtol=1e-15)
    one_variance = ImageLike("r", tmp_path / "grz.fits", plane=2, variance=np.ones(SHAPE)).image
    np.testing.assert_array_equal(one_variance.data, cube[2])
    with pytest.raises(DataError, match=r"grz.fits\[0\]: expected a 2-D image, found data of shape \(3, 33, 37\); "
                                        r"it is a cube of 3 planes: give plane= \(0 to 2\)"):
        ImageLike("r", tmp_path / "grz.fits", weight="INVVAR")
    with pytest.raises(DataError, match=r"plane=3 is not one of the cube's planes 0 to 2"):
        ImageLike("r", tmp_path / "grz.fits", plane=3, weight="INVVAR")
    with pytest.raises(DataError, match=r"plane=0 given, but the image is 2-D"):
        blank(plane=0)
    # a companion of one plane (2-D, or a cube of one) serves every plane
    fits.PrimaryHDU(invvar[None, 1]).writeto(tmp_path / "one_plane.fits")
    np.testing.assert_allclose(ImageLike("r", tmp_path / "grz.fits", plane=2, weight=tmp_path / "one_plane.fits")
                               .image.variance, 1.0 / invvar[1], rtol=1e-15)
    with pytest.raises(DataError, match=r"weight HDU 'INVVAR': expected a 2-D image, found data of shape "
                                        r"\(3, 33, 37\); it is a cube of 3 planes, for an image that is not"):
        ImageLike("r", np.zeros(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                  weight=fits.ImageHDU(invvar, name="INVVAR"))


def test_psf_from_a_fits_file_uses_the_scale_its_header_states(tmp_path):
    """A PSF file sampled at half the image's pixels: its WCS (or WebbPSF's PIXELSCL)
    gives the scale, and the PSF on the image's pixels is the one an array at that
    scale gives; a file that states none is taken at the image's scale."""
    fine = GaussianPSF(1.5).sample(SCALE / 2)
    wcs_header = simple_wcs(fine.shape, SCALE / 2, RA, DEC).to_header()
    fits.PrimaryHDU(fine, wcs_header).writeto(tmp_path / "psf_wcs.fits")
    fits.PrimaryHDU(fine, fits.Header({"PIXELSCL": SCALE / 2, "OVERSAMP": 2})).writeto(tmp_path / "psf_webbpsf.fits")
    fits.PrimaryHDU(fine).writeto(tmp_path / "psf_bare.fits")
    expected = psf_image(fine, SCALE, psf_pixel_scale=SCALE / 2)
    for name in ("psf_wcs.fits", "psf_webbpsf.fits"):
        np.testing.assert_allclose(psf_image(tmp_path / name, SCALE), expected, rtol=0, atol=1e-12)
        assert blank(psf=tmp_path / name).psf.shape == expected.shape
    np.testing.assert_allclose(psf_image(tmp_path / "psf_bare.fits", SCALE), fine / fine.sum(), atol=1e-15)
    with fits.open(tmp_path / "psf_wcs.fits") as hdul:
        np.testing.assert_allclose(psf_image(hdul[0], SCALE), expected, atol=1e-12)
        np.testing.assert_allclose(psf_image(hdul, SCALE), expected, atol=1e-12)  # an HDUList, as WebbPSF's
    # Tiny Tim's keyword; a header with sky axes but no scale states none
    fits.PrimaryHDU(fine, fits.Header({"PIXSCALE": SCALE / 2})).writeto(tmp_path / "psf_tinytim.fits")
    np.testing.assert_allclose(psf_image(tmp_path / "psf_tinytim.fits", SCALE), expected, atol=1e-12)
    fits.PrimaryHDU(fine, fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN"})).writeto(tmp_path / "psf_ctype.fits")
    np.testing.assert_allclose(psf_image(tmp_path / "psf_ctype.fits", SCALE), fine / fine.sum(), atol=1e-15)
    broken = fine.copy()
    broken[0, 0] = np.nan
    fits.PrimaryHDU(broken).writeto(tmp_path / "psf_nan.fits")
    with pytest.raises(DataError, match=r"psf_nan.fits\[0\]: the PSF image has 1 NaN or infinite pixels"):
        blank(psf=tmp_path / "psf_nan.fits")
    with pytest.raises(DataError, match=r"PSF .*missing.fits cannot be read as FITS"):
        blank(psf=tmp_path / "missing.fits")


def test_mask_bits_exclude_only_the_flags_asked_for(tmp_path):
    """A data-quality image whose bits mean different things (HST's DQ, the Legacy
    Surveys' maskbits): mask_bits excludes the pixels with any of those bits set."""
    rng = np.random.default_rng(4)
    data = rng.normal(size=SHAPE)
    dq = np.zeros(SHAPE, dtype=np.int32)
    dq[2, 3], dq[4, 5], dq[6, 7], dq[8, 9] = 1, 4, 5, 2**20  # 5 = 1 | 4
    header = simple_wcs(SHAPE, SCALE, RA, DEC).to_header()
    fits.HDUList([fits.PrimaryHDU(data, header), fits.ImageHDU(dq, name="DQ")]).writeto(tmp_path / "flt.fits")
    every = ImageLike("r", tmp_path / "flt.fits", variance=np.ones(SHAPE), mask="DQ").image
    assert set(zip(*np.nonzero(every.excluded))) == {(2, 3), (4, 5), (6, 7), (8, 9)}
    chosen = ImageLike("r", tmp_path / "flt.fits", variance=np.ones(SHAPE), mask="DQ", mask_bits=4 | 2**20).image
    assert set(zip(*np.nonzero(chosen.excluded))) == {(4, 5), (6, 7), (8, 9)}
    with pytest.raises(DataError, match="mask_bits needs an integer mask image"):
        blank(mask=np.full(SHAPE, 0.5), mask_bits=1)
    with pytest.raises(DataError, match="mask_bits=4 given without a mask"):
        blank(mask_bits=4)
    with pytest.raises(DataError, match="mask_bits must be a positive integer"):
        blank(mask=dq, mask_bits=0)


def test_array_with_pixel_scale_gets_a_north_up_wcs():
    image = ImageLike("r", np.zeros(SHAPE), sigma=np.ones(SHAPE), pixel_scale=0.262, reference=(RA, DEC)).image
    ra, dec = image.wcs.pixel_to_world_values((SHAPE[1] - 1) / 2, (SHAPE[0] - 1) / 2)
    assert (float(ra), float(dec)) == pytest.approx((RA, DEC))
    ra_left, _ = image.wcs.pixel_to_world_values(0.0, (SHAPE[0] - 1) / 2)
    assert ra_left > RA  # east is to the left


def test_imfit_noise_model():
    counts = np.array([[10.0, 100.0]])
    np.testing.assert_allclose(variance_from_counts(counts, gain=4.725, read_noise=4.3, sky=130.1),
                               (counts + 130.1) / 4.725 + (4.3 / 4.725) ** 2)


def _zeropoint_of(tmp_path, keywords: dict, primary_keywords: dict | None = None, **options):
    """ImageLike's zeropoint of a file whose image HDU has ``keywords`` (in an extension
    after a header-only primary with ``primary_keywords``, if given)."""
    header = simple_wcs(SHAPE, SCALE, RA, DEC).to_header()
    header.update(keywords)
    if primary_keywords is None:
        hdul = fits.HDUList([fits.PrimaryHDU(np.zeros(SHAPE), header)])
    else:
        hdul = fits.HDUList([fits.PrimaryHDU(header=fits.Header(primary_keywords)),
                             fits.ImageHDU(np.zeros(SHAPE), header, name="SCI")])
    hdul.writeto(tmp_path / "zp.fits", overwrite=True)
    plugin = ImageLike("r", tmp_path / "zp.fits", variance=np.ones(SHAPE), **options)
    return plugin.zeropoint, plugin.zeropoint_origin


def test_zeropoint_from_what_the_header_states(tmp_path):
    import astropy.units as u

    # standard keywords: ESO's PHOTZP, the LSST/HSC pipelines' FLUXMAG0
    assert _zeropoint_of(tmp_path, {"PHOTZP": 30.0}) == (30.0, "header keyword PHOTZP (the survey's magnitude system)")
    assert _zeropoint_of(tmp_path, {"FLUXMAG0": 63095734448.0194})[0] == pytest.approx(27.0, abs=1e-12)
    # SDSS frames and Legacy Surveys cutouts: a nanomaggy is 22.5 AB by definition
    for bunit in ("nanomaggies", "nanomaggy", "nmgy"):
        assert _zeropoint_of(tmp_path, {"BUNIT": bunit})[0] == pytest.approx(22.5, abs=1e-12)
    assert _zeropoint_of(tmp_path, {"BUNIT": "nJy"})[0] == pytest.approx(31.4, abs=1e-4)  # 31.4 by the 3631 Jy rule
    assert _zeropoint_of(tmp_path, {"BUNIT": "MJY/SR"}) == (0.0, "not stated (magnitudes of one image unit)")
    # JWST: MJy/sr over the pixel's solid angle, -6.10 - 2.5 log10(PIXAR_SR) (JWST's documentation);
    # the WCS pixel's solid angle without PIXAR_SR, or when PIXAR_SR is not the image's
    # pixel (a nominal detector pixel's, kept through resampling)
    pixel_sr = (SCALE / 3600.0 * math.pi / 180.0) ** 2
    area = 1.01 * pixel_sr  # PIXAR_SR includes the distortion at the reference pixel
    assert _zeropoint_of(tmp_path, {"BUNIT": "MJy/sr", "PIXAR_SR": area})[0] == pytest.approx(
        -6.10 - 2.5 * math.log10(area), abs=1e-9)
    zeropoint, origin = _zeropoint_of(tmp_path, {"BUNIT": "MJy/sr"})
    assert zeropoint == pytest.approx(-6.10 - 2.5 * math.log10(pixel_sr), abs=1e-6) and "from the WCS" in origin
    with pytest.warns(JointfitWarning, match=r"PIXAR_SR = 1.175e-11 sr differs from the WCS pixel's 5.876e-12 sr "
                                             r"by 100 %; the WCS pixel's is used"):
        zeropoint, origin = _zeropoint_of(tmp_path, {"BUNIT": "MJy/sr", "PIXAR_SR": 2 * pixel_sr})
    assert zeropoint == pytest.approx(-6.10 - 2.5 * math.log10(pixel_sr), abs=1e-6) and "not PIXAR_SR" in origin
    # logarithmic units are not units of image values
    for bunit in ("mag(AB)", "dex(Jy)"):
        assert _zeropoint_of(tmp_path, {"BUNIT": bunit})[0] == 0.0
    # the image's own header before the primary's
    assert _zeropoint_of(tmp_path, {"BUNIT": "MJy/sr", "PIXAR_SR": area}, {"PHOTZP": 25.0})[0] == pytest.approx(
        -6.10 - 2.5 * math.log10(area), abs=1e-9)
    # HST: PHOTFLAM and PHOTPLAM in the primary header, BUNIT in SCI, against astropy's AB magnitudes
    photflam, photplam = 7.0723e-20, 8045.0
    ab_of_one = (photflam * u.erg / u.s / u.cm**2 / u.AA).to(u.ABmag, u.spectral_density(photplam * u.AA)).value
    rate = _zeropoint_of(tmp_path, {"BUNIT": "ELECTRONS/S"}, {"PHOTFLAM": photflam, "PHOTPLAM": photplam})
    assert rate == (pytest.approx(ab_of_one, abs=1e-9), "PHOTFLAM and PHOTPLAM (AB)")
    total = _zeropoint_of(tmp_path, {"BUNIT": "ELECTRONS"}, {"PHOTFLAM": photflam, "PHOTPLAM": photplam,
                                                                 "EXPTIME": 500.0})
    assert total[0] == pytest.approx(ab_of_one + 2.5 * math.log10(500.0), abs=1e-9)
    # survey keywords (per image unit in some pipelines, per second in others): only when asked for
    with pytest.warns(JointfitWarning, match=r"the header states MAGZERO = 30.0, a zeropoint per image unit in "
                                             r"some surveys and per second in others; zeropoint 0 used"):
        assert _zeropoint_of(tmp_path, {"MAGZERO": 30.0})[0] == 0.0
    assert _zeropoint_of(tmp_path, {"MAGZERO": 30.0}, zeropoint="header")[0] == 30.0
    assert _zeropoint_of(tmp_path, {"MAGZP": 26.3}, zeropoint="header") == (
        26.3, "header keyword MAGZP (the survey's magnitude system)")
    # ... and after every standard statement
    assert _zeropoint_of(tmp_path, {"MAGZP": 26.3}, {"PHOTZP": 27.0}, zeropoint="header")[0] == 27.0
    assert _zeropoint_of(tmp_path, {"PHOTZP": 27.0, "PHOTSYS": "VEGA"})[1] == (
        "header keyword PHOTZP (the survey's magnitude system, PHOTSYS = 'VEGA')")
    # a header that says nothing (an SDSS cutout in DN), a number given, an array
    assert _zeropoint_of(tmp_path, {"BUNIT": "DNs"}) == (0.0, "not stated (magnitudes of one image unit)")
    assert _zeropoint_of(tmp_path, {"PHOTZP": 30.0}, zeropoint=25.0) == (25.0, "given")
    assert blank().zeropoint == 22.5
    assert ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC)).zeropoint == 0
    # a header built in memory may hold numpy numbers
    in_memory = simple_wcs(SHAPE, SCALE, RA, DEC).to_header()
    in_memory["PHOTZP"] = np.float32(27.5)
    assert ImageLike("r", fits.PrimaryHDU(np.zeros(SHAPE), in_memory), variance=np.ones(SHAPE)).zeropoint == 27.5


def test_the_header_zeropoint_sets_the_model_flux(tmp_path):
    header = simple_wcs(SHAPE, SCALE, RA, DEC).to_header()
    header["PHOTZP"] = 30.0
    fits.PrimaryHDU(np.zeros(SHAPE), header).writeto(tmp_path / "des.fits")
    plugin = ImageLike("r", tmp_path / "des.fits", variance=np.ones(SHAPE), psf=GaussianPSF(1.0))
    model = Model(PointSource("star", RA, DEC, spectral_shape=BandMagnitudes(r=21.0)))
    image = np.asarray(plugin.model_image(values_of(model, plugin)))
    assert image.sum() == pytest.approx(10 ** (-0.4 * (21.0 - 30.0)), rel=1e-6)


def test_zeropoint_problems_are_named(tmp_path):
    with pytest.raises(DataError, match=r"zp.fits\[0\]: zeropoint='header', but its header states no zeropoint "
                                        r"\(keywords PHOTZP, FLUXMAG0, MAGZERO"):
        _zeropoint_of(tmp_path, {"BUNIT": "DNs"}, zeropoint="header")
    with pytest.raises(DataError, match="an array, which has no header"):
        ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                  zeropoint="header")
    # a statement that cannot be read: an error when the zeropoint is required, else 0 and a warning
    for keywords, message in (({"PHOTZP": "thirty"}, r"header keyword PHOTZP = 'thirty' should be a finite number"),
                              ({"BUNIT": "ELECTRONS", "PHOTFLAM": 1e-19, "PHOTPLAM": 5000.0},
                               r"image in ELECTRONS with PHOTFLAM needs EXPTIME"),
                              ({"BUNIT": "MJy/sr", "PIXAR_SR": -1.0}, r"PIXAR_SR = -1.0 should be a positive number"),
                              ({"PHOTZP": True}, r"PHOTZP = True should be a finite number")):
        with pytest.raises(DataError, match=message):
            _zeropoint_of(tmp_path, keywords, zeropoint="header")
        with pytest.warns(JointfitWarning, match=message + ".*; zeropoint 0 used"):
            assert _zeropoint_of(tmp_path, keywords)[0] == 0.0
    for bad in ("22.5", math.nan, [22.5], True):
        with pytest.raises(PluginError, match="zeropoint must be a finite number"):
            ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                      zeropoint=bad)


# -- bad input ---------------------------------------------------------------------------------
def test_nan_pixels_are_masked_with_a_warning_that_counts_them():
    data = np.zeros(SHAPE)
    data[2, 3] = data[4, 5] = np.nan
    with pytest.warns(JointfitWarning, match="2 pixels are NaN or infinite and not masked"):
        image = ImageLike("r", data, variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC)).image
    assert image.excluded.sum() == 2 and image.excluded[2, 3]


@pytest.mark.parametrize("bad, message", [
    ({"variance": np.zeros(SHAPE)}, r"variance of image array is zero, negative or not finite at 1221 included"),
    ({"variance": -np.ones(SHAPE)}, "zero, negative or not finite"),
    ({"variance": np.ones((3, 3))}, r"shape \(3, 3\) differs from the image's \(33, 37\)"),
    ({"variance": np.ones(SHAPE), "weight": np.ones(SHAPE)}, r"give one of variance, weight and sigma"),
    ({}, "a Gaussian likelihood needs variance=, weight= or sigma="),
    ({"variance": np.ones(SHAPE), "psf": -np.ones((5, 5))}, "the PSF image must have a positive sum"),
    ({"variance": np.ones(SHAPE), "psf": np.full((5, 5), np.nan)}, "the PSF image has 25 NaN"),
    ({"variance": np.ones(SHAPE), "windows": [(0, 40, 0, 10)]}, r"window \(0, 40, 0, 10\) .* is not inside"),
    ({"variance": np.ones(SHAPE), "mask": np.ones(SHAPE, dtype=bool)}, "every pixel is excluded"),
])
def test_bad_inputs_raise_named_errors(bad, message):
    with pytest.raises(DataError, match=message):
        ImageLike("r", np.zeros(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC), **bad)


def test_wcs_problems_are_named(tmp_path):
    linear = WCS(naxis=2)
    linear.wcs.ctype = ["LINEAR", "LINEAR"]
    fits.PrimaryHDU(np.zeros(SHAPE), linear.to_header()).writeto(tmp_path / "linear.fits")
    with pytest.raises(DataError, match=r"linear.fits\[0\]: the WCS is not celestial"):
        ImageLike("r", tmp_path / "linear.fits", variance=np.ones(SHAPE))
    with pytest.raises(DataError, match=r"has no WCS: give wcs=, or pixel_scale="):
        ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE))
    with pytest.raises(DataError, match=r"has no HDU 'SCI'"):
        ImageLike("r", tmp_path / "linear.fits", hdu="SCI", variance=np.ones(SHAPE))


def test_poisson_needs_counts_and_sources_need_a_band():
    with pytest.raises(DataError, match="a Poisson likelihood needs counts >= 0; 1 included pixels are negative"):
        data = np.zeros(SHAPE)
        data[0, 0] = -1.0
        ImageLike("r", data, likelihood="poisson", wcs=simple_wcs(SHAPE, SCALE, RA, DEC))
    plugin = blank(band="NUV")
    plugin.assign_to_source("gal")
    with pytest.raises(PluginError, match="whose spectral shape has no magnitude in band 'NUV'"):
        plugin.setup(galaxy_model().compile())
    star = Model(PointSource("star", RA, DEC, spectral_shape=BandMagnitudes(r=18.0)))
    with pytest.raises(PluginError, match="point source 'star' needs a PSF"):
        blank().setup(star.compile())


# -- the model image -------------------------------------------------------------------------------
def test_model_image_of_a_round_gaussian_equals_erf_pixel_integrals():
    """Axis-aligned round Gaussian: each pixel's flux is a product of erf differences."""
    shape = Gaussian2D(ra=RA, dec=DEC, sigma=1.3, q=1.0, PA=0.0)
    model = Model(ExtendedSource("blob", spatial_shape=shape, spectral_shape=BandMagnitudes(r=20.0)))
    plugin = blank()
    image = np.asarray(plugin.model_image(values_of(model, plugin)))
    flux = 10 ** (-0.4 * (20.0 - 22.5))
    sigma_pixels = 1.3 / SCALE
    ny, nx = SHAPE
    centre_x, centre_y = (nx - 1) / 2, (ny - 1) / 2
    fx = np.diff(special.ndtr((np.arange(nx + 1) - 0.5 - centre_x) / sigma_pixels))
    fy = np.diff(special.ndtr((np.arange(ny + 1) - 0.5 - centre_y) / sigma_pixels))
    # east is to the left: x runs west, which for a round Gaussian is the same. The 2x2
    # Gauss-Legendre rule per pixel: 1e-5 of the peak anywhere, 2e-4 where bright
    expected = flux * np.outer(fy, fx)
    np.testing.assert_allclose(image, expected, rtol=0.0, atol=1e-5 * expected.max())
    bright = expected > 0.01 * expected.max()
    np.testing.assert_allclose(image[bright], expected[bright], rtol=2e-4)
    assert image.sum() == pytest.approx(flux * fx.sum() * fy.sum(), rel=2e-5)


def test_log_likelihood_is_the_gaussian_formula():
    model = galaxy_model()
    truth = blank(psf=GaussianPSF(1.5))
    values = values_of(model, truth)
    rng = np.random.default_rng(2)
    variance = rng.uniform(0.5, 2.0, SHAPE)
    expected = np.asarray(truth.model_image(values))
    data = expected + rng.normal(size=SHAPE) * np.sqrt(variance)
    plugin = ImageLike("r", data, variance=variance, wcs=simple_wcs(SHAPE, SCALE, RA, DEC), zeropoint=22.5,
                       psf=GaussianPSF(1.5))
    values = values_of(model, plugin)
    reference = -0.5 * np.sum((data - expected) ** 2 / variance + np.log(2 * math.pi * variance))
    assert float(plugin.loglike(values)) == pytest.approx(reference, rel=1e-12)
    assert plugin.pointwise_loglike(values).shape == (SHAPE[0] * SHAPE[1],)
    # the goodness-of-fit statistic: chi2 of the data, and of any image of the box
    chi2 = np.sum((data - expected) ** 2 / variance)
    assert plugin.fit_statistic(values) == ("chi2", pytest.approx(chi2, rel=1e-12))
    assert float(plugin.discrepancy(values, expected + 1.0)) == pytest.approx(np.sum(1.0 / variance), rel=1e-12)


def test_an_image_is_checked_by_simulation_and_its_pictures_are_elsewhere():
    from jointfit import JointLikelihood, posterior_predictive_check
    from jointfit.errors import AnalysisError

    model = galaxy_model()
    truth = blank(psf=GaussianPSF(1.5))
    expected = np.asarray(truth.model_image(values_of(model, truth)))
    data = expected + np.random.default_rng(8).normal(size=SHAPE) * 0.5  # a chi2 near its mean
    plugin = ImageLike("r", data, variance=np.full(SHAPE, 0.25), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                       zeropoint=22.5, psf=GaussianPSF(1.5))
    model.gal.spatial_shape.n.fix = True
    model.gal.spectral_shape.W1.fix = True  # not in this band
    analysis = JointLikelihood(model, DataList(plugin))
    analysis.fit(quiet=True)
    check = posterior_predictive_check(analysis, n_draws=200, seed=0)
    # simulated images against the model at the same draw: chi2 of one degree of freedom per pixel
    _, simulated = check.discrepancies("r")
    assert abs(np.mean(simulated) - data.size) < 4 * np.sqrt(2 * data.size / 200)
    assert 0.01 < check.p_value() < 0.99
    assert check.simulated_data("r").shape == (200, *SHAPE)
    with pytest.raises(AnalysisError, match="for data sets with one axis; 'r' has data of shape"):
        check.qq_plot("r")


def test_windows_fit_their_pixels_and_see_light_from_outside():
    model = galaxy_model()
    whole = blank(psf=GaussianPSF(2.0))
    windowed = blank(psf=GaussianPSF(2.0), windows=[(10, 20, 8, 14), (22, 30, 20, 25)])
    full = np.asarray(whole.model_image(values_of(model, whole)))
    cut = np.asarray(windowed.model_image(values_of(model, windowed)))
    x0, x1, y0, y1 = windowed.box
    assert (x0, x1, y0, y1) == (10, 30, 8, 25)
    # the same to ~2e-6: each grid takes offsets in the tangent plane at its own centre
    np.testing.assert_allclose(cut, full[y0:y1, x0:x1], rtol=1e-5, atol=1e-9 * full.max())
    assert windowed.pointwise_loglike(values_of(model, windowed)).shape == (10 * 6 + 8 * 5,)
    single = blank(window=(10, 20, 8, 14))
    assert single.box == (10, 20, 8, 14) and int((~single.excluded).sum()) == 10 * 6
    assert blank(window=np.array([10, 20, 8, 14])).box == single.box
    with pytest.raises(DataError, match=r"got 10; for one box give window="):
        blank(windows=(10, 20, 8, 14))
    with pytest.raises(PluginError, match="give window= \\(one box\\) or windows= \\(several\\), not both"):
        blank(window=(10, 20, 8, 14), windows=[(0, 5, 0, 5)])
    with pytest.raises(DataError, match=r"must be \(x_min, x_max, y_min, y_max\) in whole pixels or a SkyWindow, "
                                        r"got \(1.5, 20, 8, 14\)"):
        blank(window=(1.5, 20, 8, 14))


def test_band_magnitudes_or_linked_sources_per_band_are_the_same_likelihood():
    """AstroPhot's equality constraints (one source per band, structure linked) and one
    source with a magnitude per band define the same likelihood."""
    rng = np.random.default_rng(5)
    plugins = {}
    for band, scale, fwhm in (("r", 0.262, 1.12), ("W1", 2.75, 6.1)):
        shape = (41, 41) if band == "r" else (9, 9)
        plugins[band] = ImageLike(band, rng.normal(size=shape), variance=np.ones(shape),
                                  wcs=simple_wcs(shape, scale, RA, DEC), psf=GaussianPSF(fwhm),
                                  zeropoint=22.5 if band == "r" else 25.199)
    one = galaxy_model()
    per_band = Model(*(ExtendedSource(f"gal_{band}", spatial_shape=galaxy_model().gal.Sersic.copy(),
                                      spectral_shape=BandMagnitudes(**{band: 17.0})) for band in ("r", "W1")))
    for name in ("ra", "dec", "n", "Re", "q", "PA"):
        per_band.link(f"gal_W1.Sersic.{name}", f"gal_r.Sersic.{name}")
    separate = {band: ImageLike(band, p.image.data, variance=p.image.variance, wcs=p.image.wcs, psf=p.psf,
                                zeropoint=p.zeropoint) for band, p in plugins.items()}
    separate["r"].assign_to_source("gal_r")
    separate["W1"].assign_to_source("gal_W1")
    joint = JointLogDensity(one, DataList(*plugins.values()))
    linked = JointLogDensity(per_band, DataList(*separate.values()))
    for _ in range(3):
        shift = {"n": rng.uniform(1, 3), "Re": rng.uniform(1, 4), "q": rng.uniform(0.3, 1), "PA": rng.uniform(0, 180)}
        magnitudes = {"r": rng.uniform(16, 18), "W1": rng.uniform(15, 17)}
        theta_one = one.compile().pack({**{f"gal.Sersic.{k}": v for k, v in shift.items()},
                                        **{f"gal.Sersic.{k}": getattr(one.gal.Sersic, k).value for k in ("ra", "dec")},
                                        **{f"gal.spectrum.main.BandMagnitudes.{b}": m for b, m in magnitudes.items()}})
        theta_linked = per_band.compile().pack(
            {**{f"gal_r.Sersic.{k}": v for k, v in shift.items()},
             **{f"gal_r.Sersic.{k}": getattr(one.gal.Sersic, k).value for k in ("ra", "dec")},
             **{f"gal_{b}.spectrum.main.BandMagnitudes.{b}": m for b, m in magnitudes.items()}})
        assert float(joint.log_likelihood(theta_one)) == pytest.approx(float(linked.log_likelihood(theta_linked)),
                                                                       rel=1e-12)


def test_band_magnitudes_survive_the_model_file():
    model = galaxy_model()
    model.gal.spectrum.main.BandMagnitudes.W1.value = 15.25
    again = Model.from_yaml(model.to_yaml())
    assert again.gal.spectral_shape.bands == ("r", "W1")
    assert again.gal.spectrum.main.BandMagnitudes.W1.value == 15.25
    assert again.gal.Sersic.Re.unit == "arcsec"


def test_flat_and_tilted_sky_are_fitted_with_the_galaxy():
    import json

    from jointfit import JointLikelihood

    model = galaxy_model()
    model = Model(ExtendedSource("gal", spatial_shape=model.gal.Sersic.copy(), spectral_shape=BandMagnitudes(r=17.0)))
    truth = blank(psf=GaussianPSF(1.5))
    clean = np.asarray(truth.model_image(values_of(model, truth)))
    rng = np.random.default_rng(9)
    wcs = simple_wcs(SHAPE, SCALE, RA, DEC)
    y, x = np.mgrid[:SHAPE[0], :SHAPE[1]]
    sky = 0.3 + 0.01 * (x - (SHAPE[1] - 1) / 2)  # rising toward +x: toward the west
    data = clean + sky + 0.05 * rng.normal(size=SHAPE)
    plugin = ImageLike("r", data, variance=np.full(SHAPE, 0.05**2), wcs=wcs, zeropoint=22.5, psf=GaussianPSF(1.5),
                       sky="tilted")
    assert set(plugin.nuisance_parameters) == {"r.sky", "r.sky_east", "r.sky_north"}
    fit = JointLikelihood(model, DataList(plugin))
    fit.fit(quiet=True)
    sigma = dict(zip(fit.space.free_names, np.sqrt(np.diag(fit.covariance))))
    best = dict(zip(fit.space.free_names, json.loads(fit.results.inference_data.posterior.attrs["mle"])))
    assert abs(best["r.sky"] - 0.3) < 4 * sigma["r.sky"]
    # 0.01 per pixel toward the west is -0.01 / 0.5 per arcsec toward the east
    assert abs(best["r.sky_east"] + 0.02) < 4 * sigma["r.sky_east"]
    assert abs(best["r.sky_north"]) < 4 * sigma["r.sky_north"]


def test_sky_windows_select_the_same_pixels_in_rotated_images():
    from jointfit_imaging import SkyWindow

    window = SkyWindow(RA + 2.0 / 3600, DEC - 1.0 / 3600, width=4.0, height=3.0)
    north_up = blank(windows=[window])
    # 4 x 3 arcsec at 0.5 arcsec per pixel, east to the left: 8 x 6 pixels about the centre
    x_centre, y_centre = north_up.image.wcs.world_to_pixel_values(RA + 2.0 / 3600, DEC - 1.0 / 3600)
    x0, x1, y0, y1 = north_up.box
    assert (x1 - x0, y1 - y0) in {(8, 6), (9, 7), (9, 6), (8, 7)}
    assert x0 <= x_centre <= x1 - 1 and y0 <= y_centre <= y1 - 1
    turned_wcs = simple_wcs(SHAPE[::-1], SCALE, RA, DEC)
    turned_wcs.wcs.pc = [[0.0, -1.0], [1.0, 0.0]]
    turned = ImageLike("r", np.zeros(SHAPE[::-1]), variance=np.ones(SHAPE[::-1]), wcs=turned_wcs, windows=[window])
    tx0, tx1, ty0, ty1 = turned.box
    assert (tx1 - tx0, ty1 - ty0) == (y1 - y0, x1 - x0)  # width and height swap with the axes
    with pytest.raises(DataError, match="is not inside"):
        blank(windows=[SkyWindow(RA + 60.0 / 3600, DEC, 4.0, 3.0)])


def _same_pixels_in_frame(icrs: WCS, frame, ctype: tuple[str, str], radesys: str = "", equinox: float = np.nan) -> WCS:
    """A WCS of ``icrs``'s pixels in another sky frame: the same tangent plane, turned
    onto the frame's axes (the map is linear in pixels, so its matrix follows from the
    projections exactly)."""
    from astropy.coordinates import SkyCoord

    from jointfit_imaging import gnomonic

    def in_frame(x, y):
        sky = SkyCoord(*icrs.pixel_to_world_values(x, y), unit="deg", frame="icrs").transform_to(frame).spherical
        return sky.lon.deg, sky.lat.deg

    lon0, lat0 = in_frame(*(icrs.wcs.crpix - 1.0))

    def plane(x, y):
        return np.array(gnomonic(*in_frame(x, y), lon0, lat0, xp=np)) / 3600.0  # degrees

    x_ref, y_ref = icrs.wcs.crpix - 1.0
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = list(ctype)
    wcs.wcs.crval, wcs.wcs.crpix = [float(lon0), float(lat0)], icrs.wcs.crpix
    wcs.wcs.cd = np.column_stack([(plane(x_ref + 1.0, y_ref) - plane(x_ref - 1.0, y_ref)) / 2.0,
                                  (plane(x_ref, y_ref + 1.0) - plane(x_ref, y_ref - 1.0)) / 2.0])
    if radesys:
        wcs.wcs.radesys = radesys
    wcs.wcs.equinox = equinox
    return wcs


def test_images_in_any_sky_frame_or_axis_order_render_the_same_sky():
    """The same pixels described in Galactic, ecliptic, FK5 or FK4 coordinates, or with
    declination as the first axis, give the same model image and the same sky window
    as the ICRS WCS: source positions are ICRS in every image."""
    from astropy.coordinates import FK4, FK5, BarycentricMeanEcliptic, Galactic
    from astropy.time import Time

    from jointfit_imaging import SkyWindow

    icrs = simple_wcs(SHAPE, SCALE, RA, DEC)
    swapped = WCS(naxis=2)
    swapped.wcs.ctype = ["DEC--TAN", "RA---TAN"]
    swapped.wcs.crval, swapped.wcs.crpix = [DEC, RA], icrs.wcs.crpix
    swapped.wcs.cd = np.diag(icrs.wcs.cdelt)[::-1]
    others = {
        "galactic": _same_pixels_in_frame(icrs, Galactic(), ("GLON-TAN", "GLAT-TAN")),
        "ecliptic": _same_pixels_in_frame(icrs, BarycentricMeanEcliptic(equinox=Time(2000.0, format="jyear")),
                                          ("ELON-TAN", "ELAT-TAN"), equinox=2000.0),
        "fk5": _same_pixels_in_frame(icrs, FK5(equinox="J2000"), ("RA---TAN", "DEC--TAN"), "FK5", 2000.0),
        "fk4": _same_pixels_in_frame(icrs, FK4(equinox="B1950", obstime="B1950"), ("RA---TAN", "DEC--TAN"), "FK4",
                                     1950.0),
        "swapped": swapped,
    }
    # the frames differ: FK5 by its 20 mas frame bias, FK4 by arcminutes, the others by degrees
    assert abs(others["fk5"].wcs.crval[0] - RA) * 3600 > 0.01 and abs(others["fk4"].wcs.crval[0] - RA) > 0.1
    model = Model(ExtendedSource("gal", spatial_shape=Gaussian2D(ra=RA + 1.3 / 3600, dec=DEC - 0.8 / 3600, sigma=1.2,
                                                                 q=0.4, PA=35.0),
                                 spectral_shape=BandMagnitudes(r=17.0)))

    def model_image(wcs):
        plugin = ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=wcs, zeropoint=22.5)
        return np.asarray(plugin.model_image(values_of(model, plugin)))

    expected = model_image(icrs)
    assert expected.max() > 0.05 * expected.sum()
    window = SkyWindow(RA + 1.0 / 3600, DEC, width=5.0, height=3.0)
    box = ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=icrs, window=window).box
    for name, wcs in others.items():
        np.testing.assert_allclose(model_image(wcs), expected, rtol=0, atol=1e-8 * expected.max(), err_msg=name)
        assert ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=wcs, window=window).box == box, name
    helioprojective = WCS(naxis=2)
    helioprojective.wcs.ctype = ["HPLN-TAN", "HPLT-TAN"]
    with pytest.raises(DataError, match=r"astropy knows no sky frame for the WCS \(CTYPE = \['HPLN-TAN', 'HPLT-TAN'\]"):
        ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=helioprojective)


def test_poisson_log_likelihood_is_scipy_logpmf_and_masks_pixels():
    from scipy import stats

    model = galaxy_model()
    truth = ImageLike("r", np.zeros(SHAPE), variance=np.ones(SHAPE), wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                      zeropoint=30.0, psf=GaussianPSF(1.5))
    values = values_of(model, truth)
    expected = np.asarray(truth.model_image(values)) + 2.0
    counts = np.random.default_rng(4).poisson(expected).astype(float)
    mask = np.zeros(SHAPE, dtype=bool)
    mask[:4] = True
    plugin = ImageLike("r", counts, likelihood="poisson", mask=mask, wcs=simple_wcs(SHAPE, SCALE, RA, DEC),
                       zeropoint=30.0, psf=GaussianPSF(1.5), sky="flat")
    space = model.compile(extra_parameters=plugin.nuisance_parameters)
    plugin.setup(space)
    values = dict(space.unpack(space.initial_theta))
    values["r.sky"] = 2.0
    reference = stats.poisson.logpmf(counts[~mask], expected[~mask]).sum()
    assert float(plugin.loglike(values)) == pytest.approx(reference, rel=1e-10)
    assert float(np.sum(plugin.pointwise_loglike(values))) == pytest.approx(reference, rel=1e-10)
    n, m = counts[~mask], expected[~mask]
    cstat = 2.0 * np.sum(m - n + np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / m), 0.0))
    assert plugin.fit_statistic(values) == ("cstat", pytest.approx(cstat, rel=1e-10))


def test_psfex_model_is_its_polynomial_at_the_position(tmp_path):
    """A degree-2 PSFEx model: at (x, y) the basis images weighted by 1, x, x^2, y, xy,
    y^2 of the scaled position (PSFEx's order), normalised; at its reference position,
    the first basis image."""
    from jointfit_imaging import PSFExPSF
    from psfex_files import write_psfex

    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[-7:8, -7:8]
    core = np.exp(-(xx**2 + yy**2) / 8.0)
    basis = np.stack([core] + [0.05 * core * rng.uniform(-1, 1, core.shape) for _ in range(5)])
    write_psfex(tmp_path / "ccd.psf", basis, degree=2, sampling=1.0)
    x, y = 1500.0, 300.0
    u, v = (x - 1024.5) / 2048.0, (y - 2048.5) / 4096.0
    expected = sum(t * b for t, b in zip([1.0, u, u * u, v, u * v, v * v], basis))
    model = PSFExPSF(tmp_path / "ccd.psf", x=x, y=y)
    np.testing.assert_allclose(psf_image(model, SCALE), expected / expected.sum(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(psf_image(PSFExPSF(tmp_path / "ccd.psf"), SCALE), core / core.sum(), atol=1e-15)
    assert blank(psf=model).psf.shape == (15, 15)
    # oversampled by 2: interpolated at the image's pixel centres, not integrated over them
    fine_y, fine_x = np.mgrid[-20:21, -20:21] * 0.5
    fine = np.exp(-(fine_x**2 + fine_y**2) / (2 * 1.5**2))[None]
    fits_path = tmp_path / "oversampled.psf"
    write_psfex(fits_path, fine, degree=0, sampling=0.5)
    coarse_y, coarse_x = np.mgrid[-10:11, -10:11]
    point_samples = np.exp(-(coarse_x**2 + coarse_y**2) / (2 * 1.5**2))
    np.testing.assert_allclose(psf_image(PSFExPSF(fits_path), SCALE), point_samples / point_samples.sum(),
                               rtol=0, atol=2e-4 * (point_samples / point_samples.sum()).max())
    # bad files are named
    fits.PrimaryHDU(core).writeto(tmp_path / "image.fits")
    with pytest.raises(DataError, match=r"image.fits has no PSF_DATA table"):
        psf_image(PSFExPSF(tmp_path / "image.fits"), SCALE)
    write_psfex(tmp_path / "wrong.psf", basis[:4], degree=2, sampling=1.0)
    with pytest.raises(DataError, match=r"PSF_MASK has shape \(4, 15, 15\), expected \(6, ny, nx\) for POLDEG1 = 2"):
        psf_image(PSFExPSF(tmp_path / "wrong.psf"), SCALE)
    # even sides (PSF_SIZE 14,14, say): PSFEx centres them on sample w // 2
    even_y, even_x = np.mgrid[-7:7, -7:7]
    even = np.exp(-((even_x - 0.3) ** 2 + (even_y + 0.2) ** 2) / 8.0)
    write_psfex(tmp_path / "even.psf", even[None], degree=0, sampling=1.0)
    sampled = psf_image(PSFExPSF(tmp_path / "even.psf"), SCALE)
    assert sampled.shape == (15, 15)
    np.testing.assert_allclose(sampled[:-1, :-1], even / even.sum(), rtol=0, atol=1e-15)
    # the sample at offset 0 is the PSF image's centre pixel: the centroids agree
    centroid = [(np.arange(15) - 7) @ sampled.sum(axis=axis) for axis in (0, 1)]
    np.testing.assert_allclose(centroid, [(even_x * even).sum() / even.sum(), (even_y * even).sum() / even.sum()],
                               rtol=0, atol=1e-12)
    write_psfex(tmp_path / "even_fine.psf", np.exp(-((np.mgrid[-10:10, -10:10] * 0.5) ** 2).sum(axis=0) / 4.5)[None],
                degree=0, sampling=0.5)
    fine_sampled = psf_image(PSFExPSF(tmp_path / "even_fine.psf"), SCALE)
    assert fine_sampled.shape[0] % 2 == 1
    assert np.unravel_index(fine_sampled.argmax(), fine_sampled.shape) == (fine_sampled.shape[0] // 2,) * 2
