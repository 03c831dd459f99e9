"""Rendering checked against independent calculations: b_n against scipy's
gammaincinv, pixel-summed Sérsic images against a 1-D scipy quadrature of the profile
over the same rectangle, FFT convolution against direct convolution, point-source
centroids, and images that are rotations or flips of each other."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, signal, special

import jointfit  # noqa: F401  (64-bit mode)
from jointfit_imaging import (GaussianPSF, MoffatPSF, PixelIntegrator, PSFConvolver, Sersic, SkyGrid, psf_image,
                              sersic_b, simple_wcs)
from jointfit_imaging.shapes import Exponential, Gaussian2D, Moffat2D, gnomonic


def test_b_n_solves_the_half_light_equation():
    n = np.geomspace(0.05, 40.0, 5001)
    assert np.max(np.abs(np.asarray(sersic_b(n)) / special.gammaincinv(2 * n, 0.5) - 1)) < 1e-12
    # b_n's derivative, which gradients in n rely on
    for value in (0.3, 1.0, 4.0):
        numeric = (special.gammaincinv(2 * value + 2e-6, 0.5) - special.gammaincinv(2 * value - 2e-6, 0.5)) / 2e-6
        assert float(jax.grad(sersic_b)(value)) == pytest.approx(numeric, rel=1e-7)
    assert np.all(np.isnan(np.asarray(sersic_b(jnp.array([0.04, 41.0])))))


def sersic_flux_in_rectangle(n: float, re: float, q: float, half_major: float, half_minor: float) -> float:
    """Flux of a unit-flux Sérsic (major axis along the first side) inside a centred
    rectangle, as a 1-D integral over the circularised radius of the profile times the
    length of arc of that radius inside the rectangle (scaled by 1/q along the minor
    axis)."""
    b = special.gammaincinv(2 * n, 0.5)
    norm = 2 * math.pi * q * re**2 * n * math.exp(b) * b ** (-2 * n) * special.gamma(2 * n)
    a, c = half_major, half_minor / q

    def integrand(r: float) -> float:
        arc = 2 * math.pi * r - 4 * r * math.acos(min(1.0, a / r)) - 4 * r * math.acos(min(1.0, c / r))
        return q * math.exp(-b * ((r / re) ** (1 / n) - 1)) / norm * arc

    return integrate.quad(integrand, 0.0, math.hypot(a, c), points=sorted({a, c}), limit=1000,
                          epsabs=0.0, epsrel=1e-11)[0]


@pytest.mark.parametrize("n", [0.5, 1.0, 2.0, 4.0, 6.0])
@pytest.mark.parametrize("re_pixels", [0.5, 5.0, 50.0])
def test_summed_sersic_image_equals_its_flux(n, re_pixels):
    size = 101 if re_pixels < 20 else 301
    scale = 0.25  # arcsec per pixel
    wcs = simple_wcs((size, size), scale, 150.0, 2.0)
    grid = SkyGrid.from_wcs(wcs, 0, size, 0, size)
    values = {"ra": 150.0, "dec": 2.0, "n": n, "Re": re_pixels * scale, "q": 0.6, "PA": 90.0}  # major axis: x
    image = PixelIntegrator(grid)(lambda xi, eta: Sersic().brightness(xi, eta, values), 0.0, 0.0)
    expected = sersic_flux_in_rectangle(n, re_pixels, 0.6, size / 2, size / 2)
    assert float(jnp.sum(image)) == pytest.approx(expected, rel=1e-4)


def test_off_centre_sersic_keeps_its_flux_and_centroid():
    """A compact, cuspy profile at a sub-pixel position: total and centroid."""
    size, scale = 61, 0.5
    wcs = simple_wcs((size, size), scale, 30.0, -10.0)
    grid = SkyGrid.from_wcs(wcs, 0, size, 0, size)
    ra, dec = (float(v) for v in wcs.pixel_to_world_values(30.37, 29.81))
    values = {"ra": ra, "dec": dec, "n": 4.0, "Re": 2.0 * scale, "q": 1.0, "PA": 0.0}
    xi_c, eta_c = gnomonic(ra, dec, grid.ra0, grid.dec0)
    image = np.asarray(PixelIntegrator(grid)(lambda xi, eta: Sersic().brightness(xi, eta, values), xi_c, eta_c))
    # flux beyond 29 pixels of an n=4, Re=2 px circular profile (quad, circle inside the image)
    b = special.gammaincinv(8.0, 0.5)
    outside = 1.0 - special.gammainc(8.0, b * (29.0 / 2.0) ** 0.25)
    assert image.sum() == pytest.approx(1.0 - outside, abs=outside)
    # the centroid of a profile whose light all falls in the image and is smooth on the
    # pixel scale (pixel centres give a biased centroid for a cusp inside a pixel)
    values.update(n=0.5, Re=3.0 * scale, q=0.7, PA=40.0)
    image = np.asarray(PixelIntegrator(grid)(lambda xi, eta: Sersic().brightness(xi, eta, values), xi_c, eta_c))
    y, x = np.mgrid[:size, :size]
    assert (x * image).sum() / image.sum() == pytest.approx(30.37, abs=1e-5)
    assert (y * image).sum() / image.sum() == pytest.approx(29.81, abs=1e-5)


@pytest.mark.parametrize("shape, extra", [(Exponential(), {"h": 1.5}), (Gaussian2D(), {"sigma": 1.2}),
                                          (Moffat2D(), {"fwhm": 2.0, "beta": 4.0})])
def test_other_shapes_have_unit_flux(shape, extra):
    size, scale = 121, 0.5
    grid = SkyGrid.from_wcs(simple_wcs((size, size), scale, 10.0, 20.0), 0, size, 0, size)
    values = {"ra": 10.0, "dec": 20.0, "q": 0.7, "PA": 33.0, **extra}
    image = PixelIntegrator(grid)(lambda xi, eta: shape.brightness(xi, eta, values), 0.0, 0.0)
    # Moffat beta = 4 keeps (1 + (R/alpha)^2)^-3 of its light beyond R: ~1e-6 here; the
    # pixel-centre rule beyond 15 pixels of the centre costs up to ~6e-5 (h = 3 pixels)
    assert float(jnp.sum(image)) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("psf_shape", [(15, 15), (14, 16)])
def test_fft_convolution_equals_direct_convolution(psf_shape):
    rng = np.random.default_rng(4)
    image = rng.random((40, 52))
    psf = rng.random(psf_shape)
    psf /= psf.sum()
    convolved = np.asarray(PSFConvolver(psf, image.shape)(jnp.asarray(image)))
    ky, kx = psf_shape
    if ky % 2 and kx % 2:
        expected = signal.convolve2d(image, psf, mode="same")
        np.testing.assert_allclose(convolved, expected, atol=1e-12)
    # any size: output pixel i collects input pixel i - d through psf[centre + d],
    # centre = (k - 1) / 2, which for even k lies between pixels (a half-pixel shift)
    total = convolved.sum()
    full = signal.convolve2d(image, psf, mode="full")
    assert total == pytest.approx(full[ky // 2:ky // 2 + 40, kx // 2:kx // 2 + 52].sum(), rel=0.05)


def test_no_light_wraps_around():
    image = np.zeros((30, 30))
    image[0, 0] = 1.0  # a source in a corner: its light must not appear at the far edges
    psf = np.asarray(GaussianPSF(3.0).sample(1.0))
    convolved = np.asarray(PSFConvolver(psf, image.shape)(jnp.asarray(image)))
    assert np.abs(convolved[-5:, :]).max() < 1e-12 and np.abs(convolved[:, -5:]).max() < 1e-12


def test_margins_as_wide_as_half_the_psf_need_no_padding():
    rng = np.random.default_rng(5)
    image = rng.random((40, 52))  # light up to the edges, as a grid's margins have
    psf = rng.random((9, 7))
    psf /= psf.sum()
    margin = (9 // 2 + 1, 7 // 2 + 1)
    convolver = PSFConvolver(psf, image.shape, margin)
    assert convolver.fft_shape[0] < 40 + 9 and convolver.fft_shape[1] < 52 + 7
    my, mx = margin
    kept = np.asarray(convolver(jnp.asarray(image)))[my:-my, mx:-mx]
    expected = signal.convolve2d(image, psf, mode="same")[my:-my, mx:-mx]
    np.testing.assert_allclose(kept, expected, atol=1e-12)


def test_point_source_at_sub_pixel_position_has_its_centroid_and_flux():
    psf = GaussianPSF(2.0).sample(0.5)
    convolver = PSFConvolver(psf, (48, 48))
    x, y, flux = jnp.array([15.3, 38.75]), jnp.array([14.6, 39.2]), jnp.array([5.0, 2.0])
    image = np.asarray(convolver(jnp.zeros((48, 48)), x, y, flux))
    assert image.sum() == pytest.approx(7.0, rel=1e-6)  # the second's far wing leaves the image
    yy, xx = np.mgrid[:48, :48]
    first = image * (xx < 28) * (yy < 28)
    assert first.sum() == pytest.approx(5.0, rel=1e-8)
    assert (xx * first).sum() / first.sum() == pytest.approx(15.3, abs=1e-6)
    assert (yy * first).sum() / first.sum() == pytest.approx(14.6, abs=1e-6)


def test_analytic_psfs_and_resampled_psf_images():
    gaussian = GaussianPSF(fwhm=1.12).sample(0.262)
    assert gaussian.sum() == pytest.approx(1.0) and gaussian.shape[0] % 2 == 1
    # second moment of a Gaussian integrated over pixels: sigma^2 + 1/12 pixel^2
    sigma = 1.12 / 2.3548200450309493 / 0.262
    y, x = np.mgrid[:gaussian.shape[0], :gaussian.shape[1]] - (gaussian.shape[0] - 1) / 2
    assert (x**2 * gaussian).sum() == pytest.approx(sigma**2 + 1 / 12, rel=1e-4)
    moffat = MoffatPSF(fwhm=2.0, beta=3.0).sample(0.5)
    assert moffat[moffat.shape[0] // 2].max() == moffat.max()
    # a PSF image sampled twice as finely is resampled onto the image's pixels
    fine = GaussianPSF(fwhm=3.0).sample(0.25)
    coarse = psf_image(fine, 0.5, psf_pixel_scale=0.25)
    direct = GaussianPSF(fwhm=3.0).sample(0.5)
    centre = coarse.shape[0] // 2
    assert coarse.sum() == pytest.approx(1.0)
    assert coarse[centre, centre] == pytest.approx(direct[direct.shape[0] // 2, direct.shape[0] // 2], rel=0.02)


def rotated_images(rotate):
    """The model image of one galaxy on a north-up grid and on a grid whose pixel
    axes are rotated (or flipped), with that grid's WCS."""
    size, scale = 41, 0.4
    base = simple_wcs((size, size), scale, 200.0, 30.0)
    other = simple_wcs((size, size), scale, 200.0, 30.0)
    other.wcs.pc = rotate
    values = {"ra": 200.0 + 0.3 / 3600, "dec": 30.0 - 0.5 / 3600, "n": 1.5, "Re": 2.0, "q": 0.5, "PA": 30.0}
    images = []
    for wcs in (base, other):
        grid = SkyGrid.from_wcs(wcs, 0, size, 0, size)
        xi_c, eta_c = gnomonic(values["ra"], values["dec"], grid.ra0, grid.dec0)
        images.append(np.asarray(PixelIntegrator(grid)(lambda xi, eta: Sersic().brightness(xi, eta, values),
                                                       xi_c, eta_c)))
    return images


def test_rotated_and_flipped_grids_see_the_same_galaxy():
    # pixel axes turned by 90 degrees: the image is the north-up one rotated
    north_up, turned = rotated_images(np.array([[0.0, -1.0], [1.0, 0.0]]))
    np.testing.assert_allclose(turned, np.rot90(north_up), atol=1e-9 * north_up.max())
    # x axis flipped (east to the right)
    north_up, flipped = rotated_images(np.array([[-1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(flipped, north_up[:, ::-1], atol=1e-9 * north_up.max())


def test_spline_profile_has_unit_flux_and_follows_its_knots():
    from jointfit_imaging import SplineProfile

    size, scale = 101, 0.2
    grid = SkyGrid.from_wcs(simple_wcs((size, size), scale, 50.0, 5.0), 0, size, 0, size)
    radii = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]

    def image_of(shape, **extra):
        values = {**shape.current_values(), "ra": 50.0, "dec": 5.0, "q": 0.7, "PA": 20.0, **extra}
        return np.asarray(PixelIntegrator(grid)(lambda xi, eta: shape.brightness(xi, eta, values), 0.0, 0.0))

    # knots on an exponential of scale h: log10 I = -R / (h ln 10); linear in log between
    # knots and the tail continuing the last slope, the spline is that exponential
    for h in (1.5, 0.8):
        spline = SplineProfile(radii=radii, log_I=[-r / (h * math.log(10)) for r in radii])
        exponential = image_of(Exponential(), h=h)
        np.testing.assert_allclose(image_of(spline), exponential, rtol=1e-9, atol=1e-15)
        # unit total flux: what the 20-arcsec image misses is the exponential's tail
        # beyond ~10 arcsec (less than (1 + x) exp(-x) at the image's inscribed ellipse)
        outside = (1 + 10.0 / h) * math.exp(-10.0 / h)
        assert 1.0 - outside - 2e-4 <= image_of(spline).sum() <= 1.0 + 2e-4
    # a shallow last segment still has a finite flux: the tail falls e-fold per 8 arcsec
    flat_end = SplineProfile(radii=radii, log_I=[0.0, -0.2, -0.4, -0.6, -0.8, -0.8])
    values = {**flat_end.current_values(), "q": 1.0, "PA": 0.0}
    tail = flat_end.brightness(jnp.asarray([0.0, 0.0]), jnp.asarray([8.0, 16.0]), values)
    assert float(tail[1] / tail[0]) == pytest.approx(math.exp(-1.0), rel=1e-12)


def test_spline_profile_survives_the_model_file():
    from jointfit import ExtendedSource, Model
    from jointfit_imaging import BandMagnitudes, SplineProfile

    shape = SplineProfile(ra=10.0, dec=-5.0, radii=[0.0, 1.0, 3.0], log_I=[0.0, -0.5, -2.0])
    model = Model(ExtendedSource("gal", spatial_shape=shape, spectral_shape=BandMagnitudes(r=17.0)))
    again = Model.from_yaml(model.to_yaml())
    restored = again.gal.SplineProfile
    assert [restored.parameters[f"R_{k}"].value for k in range(3)] == [0.0, 1.0, 3.0]
    assert restored.parameters["logI_2"].value == -2.0 and not restored.parameters["R_1"].free


def test_regularized_lower_gamma_and_its_derivatives_match_scipy():
    from jointfit_imaging.sersic import regularized_lower_gamma

    a = np.geomspace(0.1, 80.0, 25)
    x = np.concatenate([np.geomspace(1e-6, 1e3, 60), [0.0]])
    a_grid, x_grid = (g.ravel() for g in np.meshgrid(a, x))
    value = np.asarray(jax.jit(regularized_lower_gamma)(a_grid, x_grid))
    np.testing.assert_allclose(value, special.gammainc(a_grid, x_grid), rtol=1e-12, atol=1e-14)
    by_a = np.asarray(jax.jit(jax.vmap(jax.grad(regularized_lower_gamma)))(a_grid, x_grid))
    step = 1e-5 * a_grid
    numeric = (special.gammainc(a_grid + step, x_grid) - special.gammainc(a_grid - step, x_grid)) / (2 * step)
    np.testing.assert_allclose(by_a, numeric, atol=1e-8)
    by_x = np.asarray(jax.jit(jax.vmap(jax.grad(regularized_lower_gamma, 1)))(a_grid[x_grid > 0], x_grid[x_grid > 0]))
    density = np.exp((a_grid - 1) * np.log(x_grid, where=x_grid > 0, out=np.full_like(x_grid, -np.inf))
                     - x_grid - special.gammaln(a_grid))[x_grid > 0]
    np.testing.assert_allclose(by_x, density, rtol=1e-10, atol=1e-13)
    # second derivatives (the Hessian of a fit in the Sersic index): d2P/da2 by differences
    hessian = jax.hessian(regularized_lower_gamma, (0, 1))(3.0, 2.0)
    second = (special.gammainc(3.0 + 1e-4, 2.0) - 2 * special.gammainc(3.0, 2.0) + special.gammainc(3.0 - 1e-4, 2.0)) / 1e-8
    assert float(hessian[0][0]) == pytest.approx(second, rel=1e-5)
    assert float(hessian[1][1]) == pytest.approx(np.exp(-2.0) * (2.0 - 2.0**2 / 2.0), abs=1e-12)  # x e^-x (a-1-x)/2


@pytest.mark.parametrize("shape, extra", [
    (Sersic(), {"n": 0.6, "Re": 1.3}), (Sersic(), {"n": 4.0, "Re": 0.7}), (Exponential(), {"h": 0.8}),
    (Gaussian2D(), {"sigma": 1.1}), (Moffat2D(), {"fwhm": 1.5, "beta": 2.5})])
def test_enclosed_light_is_the_integral_of_the_profile(shape, extra):
    profile = jax.jit(lambda r: shape.profile(r, **extra))
    for radius in (0.05, 0.5, 2.0, 9.0):
        expected = integrate.quad(lambda r: 2 * math.pi * r * float(profile(r)), 0.0, radius,
                                  epsabs=0.0, epsrel=1e-11, limit=200)[0]
        assert float(shape.enclosed(radius, **extra)) == pytest.approx(expected, rel=1e-9)


def gaussian_scene(sigma_pixels, q, centre, **options):
    """A Gaussian2D (major axis north) on a north-up grid, integrated by the
    integrator, and its exact pixel integrals: products of normal CDF differences."""
    size, scale = 61, 0.2
    wcs = simple_wcs((size, size), scale, 150.0, 2.0)
    grid = SkyGrid.from_wcs(wcs, 0, size, 0, size)
    ra, dec = (float(v) for v in wcs.pixel_to_world_values(*centre))
    xi_c, eta_c = gnomonic(ra, dec, grid.ra0, grid.dec0)
    shape, values = Gaussian2D(), {"sigma": sigma_pixels * scale, "q": q, "PA": 0.0}
    image = PixelIntegrator(grid, **options)(lambda xi, eta: shape.brightness(xi, eta, values), xi_c, eta_c,
                                             shape.elliptical_profile(values))
    edges = np.arange(size + 1) - 0.5
    exact = np.outer(np.diff(special.ndtr((edges - centre[1]) / sigma_pixels)),
                     np.diff(special.ndtr((edges - centre[0]) / (q * sigma_pixels))))
    # the grid's outer ring has no neighbours for the curvature term (images keep a margin there)
    return np.asarray(image)[1:-1, 1:-1], exact[1:-1, 1:-1]


@pytest.mark.parametrize("centre", [(30.37, 29.81), (30.5, 30.5)])
@pytest.mark.parametrize("sigma_pixels", [0.15, 0.5, 2.0, 10.0])
@pytest.mark.parametrize("q", [1.0, 0.3])
def test_every_pixel_of_a_gaussian_equals_its_exact_integral(centre, sigma_pixels, q):
    image, exact = gaussian_scene(sigma_pixels, q, centre)
    assert np.abs(image - exact).max() < 1e-4 * exact.max()


def test_the_steepest_pixels_are_refined():
    # a narrow ridge (sigma 0.3 px across, 1 px along): near the centre the 2x2 rule is
    # not enough; the pixels closest to the centre in the elliptical radius, along the
    # ridge, get 8x8 nodes
    image, exact = gaussian_scene(1.0, 0.3, (30.37, 29.81), refine=0)
    assert np.abs(image - exact).max() > 1e-3 * exact.max()
    image, exact = gaussian_scene(1.0, 0.3, (30.37, 29.81))
    assert np.abs(image - exact).max() < 1e-6 * exact.max()
    # with Gauss-Legendre far from the centre too
    image, exact = gaussian_scene(1.0, 0.3, (30.37, 29.81), far_order=2)
    assert np.abs(image - exact).max() < 1e-6 * exact.max()


def test_a_source_centred_off_the_grid_scatters_in_without_negative_pixels():
    image, exact = gaussian_scene(6.0, 0.7, (-4.3, 40.2))
    assert image.min() >= 0.0
    assert np.abs(image - exact).max() < 1e-4 * exact.max()


def test_integration_options_are_checked():
    from jointfit.errors import PluginError
    from jointfit_imaging import ImageLike

    with pytest.raises(PluginError, match="refine must be an integer >= 0"):
        ImageLike("r", np.zeros((9, 9)), variance=np.ones((9, 9)), pixel_scale=0.2, reference=(10.0, 0.0), refine=-1)
    with pytest.raises(PluginError, match="polar_order must be an integer >= 1"):
        ImageLike("r", np.zeros((9, 9)), variance=np.ones((9, 9)), pixel_scale=0.2, reference=(10.0, 0.0),
                  polar_order=0)


@pytest.mark.parametrize("n, re_pixels, q, centre", [(4.0, 0.5, 0.3, (20.37, 19.81)), (6.0, 2.0, 0.5, (20.5, 20.02)),
                                                     (0.5, 0.7, 0.2, (20.1, 19.6))])
def test_sersic_cusp_pixels_against_two_dimensional_quadrature(n, re_pixels, q, centre):
    """The pixels at a steep Sersic's centre, on a grid whose pixel axes are turned by
    91 degrees, against scipy's dblquad split at the centre."""
    size, scale = 41, 0.25
    wcs = simple_wcs((size, size), scale, 150.0, 2.0)
    turn = math.radians(91.0)
    wcs.wcs.pc = [[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]]
    grid = SkyGrid.from_wcs(wcs, 0, size, 0, size)
    ra, dec = (float(v) for v in wcs.pixel_to_world_values(*centre))
    xi_c, eta_c = gnomonic(ra, dec, grid.ra0, grid.dec0)
    values = {"n": n, "Re": re_pixels * scale, "q": q, "PA": 30.0}
    shape = Sersic()
    image = np.asarray(PixelIntegrator(grid)(lambda xi, eta: shape.brightness(xi, eta, values), xi_c, eta_c,
                                             shape.elliptical_profile(values)))
    # the profile in numpy, from scipy's b_n, in the grid's pixel coordinates
    (a, b), (c, d) = grid.jacobian
    b_n = special.gammaincinv(2 * n, 0.5)
    re = re_pixels * scale
    norm = 2 * math.pi * q * re**2 * n * math.exp(b_n) * b_n ** (-2 * n) * special.gamma(2 * n)
    sin_pa, cos_pa = math.sin(math.radians(30.0)), math.cos(math.radians(30.0))

    def brightness(y, x):
        xi, eta = a * (x - centre[0]) + b * (y - centre[1]), c * (x - centre[0]) + d * (y - centre[1])
        major, minor = xi * sin_pa + eta * cos_pa, xi * cos_pa - eta * sin_pa
        radius = math.sqrt(major**2 + (minor / q) ** 2)
        return math.exp(-b_n * ((radius / re) ** (1 / n) - 1)) / norm * grid.pixel_area

    column, row = (int(math.floor(c + 0.5)) for c in centre)
    for dy, dx in ((0, 0), (0, 1), (1, 1), (-1, 0), (2, -1)):
        x0, y0 = column + dx - 0.5, row + dy - 0.5
        xs = sorted({x0, x0 + 1.0, *([centre[0]] if x0 < centre[0] < x0 + 1 else [])})
        ys = sorted({y0, y0 + 1.0, *([centre[1]] if y0 < centre[1] < y0 + 1 else [])})
        expected = sum(integrate.dblquad(brightness, xa, xb, ya, yb, epsabs=1e-14, epsrel=1e-11)[0]
                       for xa, xb in zip(xs, xs[1:]) for ya, yb in zip(ys, ys[1:]))
        assert image[row + dy, column + dx] == pytest.approx(expected, rel=2e-6), (dy, dx)


def test_centre_patch_gradients_match_differences_with_the_centre_on_pixel_corners():
    """The exact rule's derivatives, also where the centre lies on pixel edges (edges
    through the centre hold no area)."""
    size, scale = 21, 0.3
    grid = SkyGrid.from_wcs(simple_wcs((size, size), scale, 10.0, 0.0), 0, size, 0, size)
    weights = jnp.asarray(np.random.default_rng(3).random((size, size)))
    integrator = PixelIntegrator(grid)
    shape = Sersic()

    @jax.jit
    def weighted(p):
        values = {"n": p[2], "Re": p[3], "q": p[4], "PA": p[5]}
        image = integrator(lambda xi, eta: shape.brightness(xi, eta, values), p[0], p[1],
                           shape.elliptical_profile(values))
        return jnp.sum(weights * image)

    p = jnp.asarray([0.11, -0.07, 1.2, 0.9, 0.35, 100.0])
    gradient = np.asarray(jax.grad(weighted)(p))
    for k, step in enumerate([1e-6, 1e-6, 1e-6, 1e-6, 1e-6, 1e-4]):
        shift = jnp.zeros(6).at[k].set(step)
        numeric = (float(weighted(p + shift)) - float(weighted(p - shift))) / (2 * step)
        assert gradient[k] == pytest.approx(numeric, rel=1e-5, abs=1e-8), k
    # the centre on a pixel corner (half a pixel from the grid's central pixel in x and
    # y): four edges pass through it; the gradient is that of the limit from nearby (to
    # the edge quadrature's accuracy, ~2e-5 of the largest component here)
    corner = jnp.asarray([-0.5 * scale, 0.5 * scale, 3.0, 0.4, 0.6, 20.0])
    nearby = corner + jnp.asarray([1e-8, -1e-8, 0.0, 0.0, 0.0, 0.0])
    at_corner, beside = np.asarray(jax.grad(weighted)(corner)), np.asarray(jax.grad(weighted)(nearby))
    assert np.all(np.isfinite(at_corner))
    np.testing.assert_allclose(at_corner, beside, rtol=1e-4, atol=1e-9)
