"""From surface brightness to model pixels: integration over pixels and PSF convolution.

:class:`PixelIntegrator` integrates a surface brightness over the pixels of a
:class:`~jointfit_imaging.grid.SkyGrid` with rules that follow the profile's steepness:

- everywhere, the pixel centre plus 1/24 of the discrete Laplacian of the centres
  (the integral of the quadratic through a pixel and its four neighbours: fourth
  order where a galaxy is smooth on the pixel scale);
- on the ``near`` x ``near`` pixels around a source's centre, a 2x2 Gauss–Legendre
  rule, and on the ``refine`` pixels among them closest to the centre in the
  profile's own elliptical radius an 8x8 rule: where a profile that falls from its
  centre is steepest, and along the ridge of a thin one. Which pixels are refined
  follows the source's centre, axis ratio and angle; their number is fixed so that
  shapes stay static under ``jit``, and their nodes join the one evaluation of the
  profile;
- on the ``patch`` x ``patch`` pixels at the centre, where a Sérsic profile of high
  index has its cusp, the exact light: from the profile's enclosed-light function
  (:meth:`~jointfit_imaging.shapes.ImagingShape.enclosed`), each pixel as the sum
  of the signed triangles from the centre to its edges in the frame where the
  ellipse is a circle, one 1-D quadrature per edge: ~1e-9 of 2-D adaptive
  quadrature for ordinary indices and axis ratios, down to 1e-3 of the peak at the
  shapes' bounds (n = 0.2 with q = 0.05).
  Profiles without a closed-form enclosed light (the spline) get a graded rule there
  instead, nodes crowding toward the centre as ``t**3``.

The regions move with the centre (dynamic slices).

:class:`PSFConvolver` convolves by FFT with the PSF's transform precomputed, zero
padding that keeps light from wrapping around, the PSF's centre at its geometric
centre (odd or even size) and point sources as phase ramps: sub-pixel exact
positions, scaled PSFs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.fft

from .grid import SkyGrid
from .shapes import EllipticalProfile, ellipse_axes, elliptical_radius_squared

__all__ = ["PixelIntegrator", "PSFConvolver"]

Brightness = Callable[[Any, Any], Any]  # (xi, eta) arcsec offsets -> 1/arcsec^2

_GRADING = 3  # node density near the centre grows as t**(1 - 1/_GRADING)


def _gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes on [0, 1] and weights summing to 1."""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    return 0.5 * (nodes + 1.0), 0.5 * weights


def _edge_light(start: Any, end: Any, enclosed: Callable[[Any], Any], nodes: Any, weights: Any) -> Any:
    """Light of a unit-flux circular profile inside the triangles (origin, ``start``,
    ``end``), signed by each triangle's orientation; vertices as ``(edges, 2)`` arrays
    in the frame where the profile is circular, ``enclosed(R)`` its light inside
    radius R (called once, on all nodes).

    In polar coordinates a triangle holds ``(1/2pi) * integral of enclosed(rho(phi))
    dphi`` over the angle it spans, ``rho(phi)`` the distance to the edge. The angle is
    parametrised by ``s = asinh(tau / h)`` (``h`` the edge's distance from the origin,
    ``tau`` the position along it from the foot of the perpendicular), so that
    ``rho = h cosh s`` and ``dphi = ds / cosh s``: nodes uniform in ``s`` are uniform
    in log rho far along the edge, where a steep profile's light changes per decade
    of radius. Four Gauss–Legendre pieces: each side of the foot when it lies on the
    edge (of its midpoint when not), halved (an edge close to the centre spans many
    e-folds of radius).
    The light is an odd, smooth function of the signed distance ``d`` of the edge;
    below ``1e-6`` of the edge's length it is taken as linear in ``d``, so that an edge
    through the centre has no light and the right derivative.
    """
    step = end - start
    length = jnp.sqrt(jnp.sum(step**2, axis=-1))
    signed_distance = (start[:, 0] * end[:, 1] - start[:, 1] * end[:, 0]) / length
    h = jnp.maximum(jnp.abs(signed_distance), 1e-6 * length)
    s_start = jnp.arcsinh(jnp.sum(start * step, axis=-1) / length / h)
    s_end = jnp.arcsinh(jnp.sum(end * step, axis=-1) / length / h)
    split = jnp.where((s_start < 0.0) & (s_end > 0.0), 0.0, 0.5 * (s_start + s_end))
    bounds = jnp.stack([s_start, 0.5 * (s_start + split), split, 0.5 * (split + s_end), s_end], axis=1)
    low = bounds[:, :-1, None]  # (edge, piece, node)
    width = jnp.diff(bounds, axis=1)[..., None]
    s = low + width * nodes
    light = enclosed(h[:, None, None] * jnp.cosh(s)) / jnp.cosh(s)
    return signed_distance / h * jnp.sum(width * weights * light, axis=(1, 2)) / (2.0 * math.pi)


class PixelIntegrator:
    """Pixel-integrated images of surface brightnesses on one grid.

    Parameters
    ----------
    grid : SkyGrid
        The pixels.
    order : int
        Gauss–Legendre nodes per pixel and axis within ``near`` pixels of the
        centre (``order**2`` evaluations per pixel).
    near : int
        Side, in pixels, of the square around the centre integrated with ``order``.
    far_order : int
        Gauss–Legendre nodes per pixel and axis beyond it (1: the pixel centre with
        the curvature term), where a galaxy's profile is smooth on the pixel scale.
    patch : int
        Side, in pixels, of the patch around a source's centre integrated with the
        graded rule.
    patch_order : int
        Nodes per half-pixel and axis in the patch (``(2 patch_order)**2`` per pixel),
        for profiles given without their enclosed light.
    polar_order : int
        Gauss–Legendre nodes per quarter of each pixel edge's angle in the patch, for profiles
        given with their enclosed light (:class:`~jointfit_imaging.shapes.EllipticalProfile`).
    refine, refine_order : int
        How many of the near pixels are integrated again, and the Gauss–Legendre
        order per axis used there (0: none).
    """

    def __init__(self, grid: SkyGrid, *, order: int = 2, near: int = 31, far_order: int = 1, patch: int = 5,
                 patch_order: int = 8, polar_order: int = 6, refine: int = 128, refine_order: int = 8) -> None:
        self.grid = grid
        ny, nx = grid.shape
        self.patch = int(min(patch, ny, nx))
        self.near = int(min(max(near, self.patch), ny, nx))
        self._far_nodes = self._tensor_rule(grid, far_order)
        self._curvature_correction = far_order == 1 and min(ny, nx) >= 3
        self.refine = int(min(refine, self.near**2))
        self._refine_nodes = self._tensor_rule(grid, refine_order)
        self._near_nodes = self._tensor_rule(grid, order)
        self._xi, self._eta = jnp.asarray(grid.xi), jnp.asarray(grid.eta)
        self._inverse_jacobian = jnp.asarray(np.linalg.inv(grid.jacobian))
        self._jacobian = jnp.asarray(grid.jacobian)
        t, w = _gauss_legendre(patch_order)
        self._graded_t = jnp.asarray(t**_GRADING)
        self._graded_w = jnp.asarray(_GRADING * t ** (_GRADING - 1) * w)
        self._area = grid.pixel_area
        t, w = _gauss_legendre(polar_order)
        self._polar_rule = (jnp.asarray(t), jnp.asarray(w))

    @staticmethod
    def _tensor_rule(grid: SkyGrid, order: int) -> tuple[Any, Any, Any]:
        """Tangent-plane offsets from a pixel's centre and weights of the
        ``order x order`` Gauss–Legendre rule over one pixel."""
        nodes, weights = _gauss_legendre(order)
        dx, dy = np.meshgrid(nodes - 0.5, nodes - 0.5)
        sky = grid.jacobian @ np.stack([dx.ravel(), dy.ravel()])
        return jnp.asarray(sky[0]), jnp.asarray(sky[1]), jnp.asarray(np.outer(weights, weights).ravel())

    def _first(self, x_c: Any, y_c: Any, size: int) -> tuple[Any, Any]:
        """First (row, column) of the ``size`` square of pixels around (``x_c``, ``y_c``),
        kept inside the grid; a choice, not a function of the centre (no gradient)."""
        ny, nx = self.grid.shape
        x_first = jnp.clip(jnp.round(jax.lax.stop_gradient(x_c)) - size // 2, 0, nx - size).astype(jnp.int32)
        y_first = jnp.clip(jnp.round(jax.lax.stop_gradient(y_c)) - size // 2, 0, ny - size).astype(jnp.int32)
        return y_first, x_first

    def centre_pixel(self, xi: Any, eta: Any) -> tuple[Any, Any]:
        """Grid pixel coordinates (x, y) of tangent-plane position (``xi``, ``eta``)."""
        x_ref, y_ref = self.grid.centre_pixel
        dx, dy = self._inverse_jacobian @ jnp.stack([xi, eta])
        return x_ref + dx, y_ref + dy

    def __call__(self, brightness: Brightness, xi_c: Any, eta_c: Any, profile: EllipticalProfile | None = None
                 ) -> Any:
        """Flux in each pixel of ``brightness(xi - xi_c, eta - eta_c)`` (surface
        brightness per arcsec^2 of offsets from the centre (``xi_c``, ``eta_c``), the
        centre in the grid's tangent-plane coordinates). With the source's
        ``profile`` the refinement follows its ellipse, and with its enclosed light the
        centre patch is integrated exactly (:meth:`_polar_patch`); without, the
        refinement follows circles and the patch takes the graded rule."""
        far_xi, far_eta, far_w = self._far_nodes
        near_xi, near_eta, near_w = self._near_nodes
        x_c, y_c = self.centre_pixel(xi_c, eta_c)
        near_corner = self._first(x_c, y_c, self.near)
        patch_corner = self._first(x_c, y_c, self.patch)
        window = (self.near, self.near)
        # the near pixels' centres as offsets from the source
        near_dxi = jax.lax.dynamic_slice(self._xi, near_corner, window) - xi_c
        near_deta = jax.lax.dynamic_slice(self._eta, near_corner, window) - eta_c
        parts = [(self._xi[..., None] + far_xi - xi_c, self._eta[..., None] + far_eta - eta_c),
                 (near_dxi[..., None] + near_xi, near_deta[..., None] + near_eta)]
        if self.refine:
            inside = tuple(c - n for c, n in zip(patch_corner, near_corner))
            chosen = self._refined(near_dxi, near_deta, inside, profile)
            fine_xi, fine_eta, fine_w = self._refine_nodes
            parts.append((near_dxi.ravel()[chosen][:, None] + fine_xi, near_deta.ravel()[chosen][:, None] + fine_eta))
        exact_patch = profile is not None and profile.enclosed is not None
        if not exact_patch:
            patch_xi, patch_eta, patch_weights = self._centre_patch_nodes(x_c, y_c, xi_c, eta_c, patch_corner)
            parts.append((patch_xi, patch_eta))
        # one call of the profile for all rules: the compiled program holds it once
        values = brightness(jnp.concatenate([p[0].ravel() for p in parts]),
                            jnp.concatenate([p[1].ravel() for p in parts]))
        ends = np.cumsum([p[0].size for p in parts])
        pieces = [values[start:end] for start, end in zip([0, *ends[:-1]], ends)]
        image = self._area * (pieces[0].reshape(parts[0][0].shape) @ far_w)
        if self._curvature_correction:
            # the integral of the quadratic through each pixel centre and its four
            # neighbours: the centre value plus 1/24 of the discrete Laplacian
            laplacian = (image[1:-1, 2:] + image[1:-1, :-2] + image[2:, 1:-1] + image[:-2, 1:-1]
                         - 4.0 * image[1:-1, 1:-1])
            image = image + jnp.pad(laplacian / 24.0, 1)  # a pad fuses with the sum; a scatter would not
        near = self._area * (pieces[1].reshape(parts[1][0].shape) @ near_w)
        if self.refine:
            fine = self._area * (pieces[2].reshape(parts[2][0].shape) @ fine_w)
            near = near.ravel().at[chosen].set(fine).reshape(window)
        image = jax.lax.dynamic_update_slice(image, near, near_corner)
        if not exact_patch:
            patch = self._area * jnp.sum(pieces[-1].reshape(patch_xi.shape) * patch_weights, axis=(2, 3))
        else:
            patch = self._polar_patch(profile, xi_c, eta_c, patch_corner)
            # a centre off the patch (outside the grid): its triangles nearly cancel, and
            # the near rule is the better one there
            y_first, x_first = patch_corner
            on_patch = ((x_c >= x_first - 0.5) & (x_c <= x_first + self.patch - 0.5)
                        & (y_c >= y_first - 0.5) & (y_c <= y_first + self.patch - 0.5))
            patch = jnp.where(on_patch, patch, jax.lax.dynamic_slice(image, patch_corner, (self.patch,) * 2))
        return jax.lax.dynamic_update_slice(image, patch, patch_corner)

    def _refined(self, dxi: Any, deta: Any, patch_corner: tuple[Any, Any], profile: EllipticalProfile | None) -> Any:
        """Flat indices of the ``refine`` near pixels (offsets ``dxi``, ``deta`` of their
        centres from the source, arcsec) closest to the centre in the profile's
        elliptical radius (circular without a ``profile``), the patch's pixels
        (from ``patch_corner`` in the near box) left out: where a profile that falls
        from its centre is steepest, along the ridge of a thin one. Chosen from the
        geometry alone, so that their nodes join the one call of the profile; not
        differentiated."""
        q, pa = (1.0, 0.0) if profile is None else (profile.q, profile.pa)
        radius_squared = jax.lax.stop_gradient(elliptical_radius_squared(dxi, deta, q, pa))
        radius_squared = jax.lax.dynamic_update_slice(radius_squared, jnp.full((self.patch, self.patch), jnp.inf),
                                                      patch_corner)
        return jax.lax.top_k(-radius_squared.ravel(), self.refine)[1]

    def _polar_patch(self, profile: EllipticalProfile, xi_c: Any, eta_c: Any, corner: tuple[Any, Any]) -> Any:
        """Flux in the ``patch`` x ``patch`` pixels around the centre from the
        profile's enclosed light: in the frame where the profile is circular (major
        axis, minor axis / q) each pixel is a parallelogram, the sum of the signed
        triangles from the centre to its four edges (:func:`_edge_light`), exact but
        for the quadrature along each edge. ``corner``: the patch's first (row,
        column)."""
        p, middle = self.patch, self.patch // 2
        # the patch's middle pixel where the full WCS puts it (distortions included),
        # the corners about it through the local linear map
        row, column = corner[0] + middle, corner[1] + middle
        anchor = jnp.stack([self._xi[row, column] - xi_c, self._eta[row, column] - eta_c])
        major, minor = (jnp.stack(axis) for axis in ellipse_axes(profile.q, profile.pa))
        to_major, to_minor = major @ self._jacobian, minor @ self._jacobian
        offsets = jnp.arange(p + 1) - middle - 0.5
        corners = jnp.stack([major @ anchor + to_major[0] * offsets[None, :] + to_major[1] * offsets[:, None],
                             minor @ anchor + to_minor[0] * offsets[None, :] + to_minor[1] * offsets[:, None]],
                            axis=-1)  # (row, column, 2)
        nodes, weights = self._polar_rule

        # edges from (i, j) to (i, j + 1), (p + 1, p), then from (i, j) to (i + 1, j), (p, p + 1)
        starts = jnp.concatenate([corners[:, :-1].reshape(-1, 2), corners[:-1, :].reshape(-1, 2)])
        ends = jnp.concatenate([corners[:, 1:].reshape(-1, 2), corners[1:, :].reshape(-1, 2)])
        light = _edge_light(starts, ends, profile.enclosed, nodes, weights)
        along_x, along_y = light[:(p + 1) * p].reshape(p + 1, p), light[(p + 1) * p:].reshape(p, p + 1)
        # each pixel's edges counter-clockwise in (x, y): bottom, right, top reversed, left reversed
        pixels = along_x[:-1] + along_y[:, 1:] - along_x[1:] - along_y[:, :-1]
        orientation = jnp.sign(to_major[0] * to_minor[1] - to_major[1] * to_minor[0])
        return orientation * pixels

    def _graded_axis(self, first: Any, centre: Any) -> tuple[Any, Any]:
        """Offsets from pixel centres and weights of the graded rule along one axis,
        for the ``patch`` pixels from index ``first``: ``(patch, 2 m)`` each."""
        index = first + jnp.arange(self.patch)
        low, high = index - 0.5, index + 0.5
        split = jnp.clip(centre, low, high)
        below = split[:, None] - (split - low)[:, None] * self._graded_t
        above = split[:, None] + (high - split)[:, None] * self._graded_t
        weights = jnp.concatenate([(split - low)[:, None] * self._graded_w, (high - split)[:, None] * self._graded_w], 1)
        return jnp.concatenate([below, above], axis=1) - index[:, None], weights

    def _centre_patch_nodes(self, x_c: Any, y_c: Any, xi_c: Any, eta_c: Any, corner: tuple[Any, Any]
                            ) -> tuple[Any, Any, Any]:
        """Offsets from the centre ``(patch, patch, 2m, 2m)`` of the graded rule's
        nodes in the patch of pixels from ``corner`` (first row, column) about the
        centre (pixel ``x_c``, ``y_c``; tangent plane ``xi_c``, ``eta_c``), and their
        weights."""
        p = self.patch
        y_first, x_first = corner
        dx, wx = self._graded_axis(x_first, x_c)  # (p, 2m)
        dy, wy = self._graded_axis(y_first, y_c)
        xi0 = jax.lax.dynamic_slice(self._xi, corner, (p, p))
        eta0 = jax.lax.dynamic_slice(self._eta, corner, (p, p))
        (a, b), (c, d) = self._jacobian[0], self._jacobian[1]
        # node (row i, column j, y-node k, x-node l): offsets dx[j, l], dy[i, k]
        ddx, ddy = dx[None, :, None, :], dy[:, None, :, None]
        xi = xi0[:, :, None, None] + a * ddx + b * ddy - xi_c
        eta = eta0[:, :, None, None] + c * ddx + d * ddy - eta_c
        return xi, eta, wy[:, None, :, None] * wx[None, :, None, :]


class PSFConvolver:
    """Convolution of images of one shape with one PSF, by FFT.

    Parameters
    ----------
    psf : ndarray, shape (ky, kx)
        The PSF sampled on the image's pixels (normalised here to unit sum); its
        centre is its geometric centre, ``((ky - 1) / 2, (kx - 1) / 2)``.
    shape : tuple of int
        Shape ``(ny, nx)`` of the images convolved.
    margin : tuple of int
        Rows and columns at each edge of the images whose convolved values are not
        used (a grid's margins): when they are at least half the PSF's size, light
        that wraps around the transform lands only there, and the transform needs no
        padding. Point sources outside the images would wrap around: give 0 (the
        default, zero padding by the PSF's size) when there are any.
    """

    def __init__(self, psf: np.ndarray, shape: tuple[int, int], margin: tuple[int, int] = (0, 0)) -> None:
        psf = np.asarray(psf, dtype=float)
        psf = psf / psf.sum()
        ny, nx = shape
        ky, kx = psf.shape
        my, mx = margin
        self.shape = shape
        # output i collects input i + d, |d| <= k // 2: with margins of at least that
        # much, the kept outputs never reach across the transform's edge
        self.fft_shape = (scipy.fft.next_fast_len(ny + max(0, ky - 2 * my), real=True),
                          scipy.fft.next_fast_len(nx + max(0, kx - 2 * mx), real=True))
        self._fy = np.fft.fftfreq(self.fft_shape[0])[:, None]
        self._fx = np.fft.rfftfreq(self.fft_shape[1])[None, :]
        # move the PSF's centre to pixel (0, 0): output pixel i then collects input pixel i
        centre_shift = np.exp(2j * np.pi * (self._fy * (ky - 1) / 2.0 + self._fx * (kx - 1) / 2.0))
        self._psf_ft = jnp.asarray(np.fft.rfft2(psf, s=self.fft_shape) * centre_shift)
        self._fy_j, self._fx_j = jnp.asarray(self._fy), jnp.asarray(self._fx)

    def __call__(self, image: Any, point_x: Any = None, point_y: Any = None, point_flux: Any = None) -> Any:
        """``image`` convolved with the PSF, plus point sources of ``point_flux`` at
        pixel positions (``point_x``, ``point_y``) (arrays, in the image's zero-based
        pixel coordinates), as an image of the same shape."""
        transform = jnp.fft.rfft2(image, s=self.fft_shape)
        if point_flux is not None:
            phase = -2j * jnp.pi * (self._fy_j[None] * point_y[:, None, None] + self._fx_j[None] * point_x[:, None, None])
            transform = transform + jnp.sum(point_flux[:, None, None] * jnp.exp(phase), axis=0)
        ny, nx = self.shape
        return jnp.fft.irfft2(transform * self._psf_ft, s=self.fft_shape)[:ny, :nx]
