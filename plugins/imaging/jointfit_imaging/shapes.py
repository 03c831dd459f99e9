"""Galaxy shapes for ``ExtendedSource``: Sérsic, exponential, Gaussian and Moffat.

Each shape is centred at (``ra``, ``dec``) in degrees and elliptical: ``q`` is the
axis ratio b/a, ``PA`` the position angle of the major axis in degrees east of north,
sizes are in arcsec along the major axis. A shape's total flux is 1: its surface
brightness is per arcsec^2 in the tangent plane at its centre
(:meth:`ImagingShape.brightness`) or per steradian on the sky (``evaluate``, as every
jointfit spatial function), and a source's spectral shape
(:class:`~jointfit_imaging.brightness.BandMagnitudes`) scales it in each band.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import jax.numpy as jnp

from jointfit.functions import SpatialFunction
from jointfit.functions.base import ParameterSpec as P

from .sersic import regularized_lower_gamma, sersic_b, sersic_log_norm

__all__ = ["EllipticalProfile", "ImagingShape", "Sersic", "Exponential", "Gaussian2D", "Moffat2D", "SplineProfile", "gnomonic",
           "ARCSEC_PER_RADIAN"]

ARCSEC_PER_RADIAN = 180.0 / math.pi * 3600.0


def gnomonic(ra: Any, dec: Any, ra0: Any, dec0: Any, xp: Any = jnp) -> tuple[Any, Any]:
    """Tangent-plane (gnomonic) coordinates of (``ra``, ``dec``) about (``ra0``,
    ``dec0``), all in degrees: ``(xi, eta)`` in arcsec, ``xi`` toward east, ``eta``
    toward north. ``xp`` is the array namespace: ``jax.numpy`` in models, ``numpy``
    for fixed grids (no JAX dispatch per operation)."""
    ra, dec, ra0, dec0 = (xp.deg2rad(v) for v in (ra, dec, ra0, dec0))
    cos_c = xp.sin(dec0) * xp.sin(dec) + xp.cos(dec0) * xp.cos(dec) * xp.cos(ra - ra0)
    xi = xp.cos(dec) * xp.sin(ra - ra0) / cos_c
    eta = (xp.cos(dec0) * xp.sin(dec) - xp.sin(dec0) * xp.cos(dec) * xp.cos(ra - ra0)) / cos_c
    return xi * ARCSEC_PER_RADIAN, eta * ARCSEC_PER_RADIAN


@dataclass(frozen=True)
class EllipticalProfile:
    """A source's ellipse and enclosed light, as pixel integration needs them.

    Attributes
    ----------
    enclosed : callable or None
        Fraction of the total flux inside the ellipse of major-axis radius ``R``
        (arcsec), elementwise; None for profiles without a closed form.
    q, pa
        Axis ratio b/a and position angle of the major axis (degrees east of north).
    """

    enclosed: Callable[[Any], Any] | None
    q: Any
    pa: Any


def ellipse_axes(q: Any, pa: Any) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """(east, north) components of the unit vector along the major axis and of the
    minor axis's unit vector divided by ``q``, for axis ratio ``q`` and position angle
    ``pa`` (degrees east of north): an offset's products with them are its
    coordinates in the frame where the ellipse is a circle."""
    angle = jnp.deg2rad(pa)
    sin, cos = jnp.sin(angle), jnp.cos(angle)
    return (sin, cos), (cos / q, -sin / q)


def elliptical_radius_squared(xi: Any, eta: Any, q: Any, pa: Any) -> Any:
    """Squared radius along the major axis of the ellipse through (``xi``, ``eta``)
    (arcsec, east and north), for axis ratio ``q`` and position angle ``pa`` (degrees
    east of north)."""
    major, minor = ellipse_axes(q, pa)
    return (xi * major[0] + eta * major[1]) ** 2 + (xi * minor[0] + eta * minor[1]) ** 2


def elliptical_radius(xi: Any, eta: Any, q: Any, pa: Any) -> Any:
    """Radius along the major axis of the ellipse through (``xi``, ``eta``) (arcsec)."""
    return jnp.sqrt(elliptical_radius_squared(xi, eta, q, pa))


class ImagingShape(SpatialFunction):
    """Base of the elliptical shapes: a centre (``ra``, ``dec``), an axis ratio ``q``
    and a position angle ``PA``; subclasses give the radial profile."""

    ra = P(0.0, bounds=(0.0, 360.0), unit="deg", description="Right ascension of the centre (ICRS)")
    dec = P(0.0, bounds=(-90.0, 90.0), unit="deg", description="Declination of the centre (ICRS)")
    q = P(0.8, bounds=(0.05, 1.0), description="Axis ratio b/a")
    PA = P(0.0, bounds=(-360.0, 360.0), unit="deg", description="Position angle of the major axis, east of north")

    _position: ClassVar[tuple[str, str]] = ("ra", "dec")

    @classmethod
    def profile(cls, radius: Any, **parameters: Any) -> Any:
        """Surface brightness per arcsec^2 at elliptical radius ``radius`` (arcsec),
        for unit total flux when ``q = 1`` (divide by ``q`` otherwise)."""
        raise NotImplementedError

    @classmethod
    def profile_of_squared_radius(cls, radius_squared: Any, **parameters: Any) -> Any:
        """:meth:`profile` at ``sqrt(radius_squared)``; shapes whose formula needs no
        square root (or, for the Sérsic, a cheaper power) override it: a profile is
        evaluated at millions of points per call."""
        return cls.profile(jnp.sqrt(radius_squared), **parameters)

    def _radial(self, values: Any) -> dict[str, Any]:
        """The profile's own parameters among ``values`` (by local name)."""
        return {k: values[k] for k in self._parameters if k not in ("ra", "dec", "q", "PA")}

    @classmethod
    def enclosed(cls, radius: Any, **parameters: Any) -> Any:
        """Fraction of the total flux inside the ellipse of major-axis radius
        ``radius`` (arcsec). Shapes that know it in closed form override it, and the
        pixels at their centre are then integrated exactly
        (:meth:`~jointfit_imaging.render.PixelIntegrator._polar_patch`)."""
        raise NotImplementedError

    def elliptical_profile(self, values: Any) -> EllipticalProfile:
        """The ellipse and the enclosed light (None for shapes without a closed-form
        :meth:`enclosed`) as pixel integration needs them; ``values`` by local name."""
        def owner(name: str) -> type:
            return next(cls for cls in type(self).__mro__ if name in vars(cls))

        # a subclass that changes the profile but not its enclosed light gets none
        if owner("enclosed") is ImagingShape or any(
                not issubclass(owner("enclosed"), owner(name))
                for name in ("profile", "profile_of_squared_radius", "brightness")):
            return EllipticalProfile(None, values["q"], values["PA"])
        radial = self._radial(values)
        return EllipticalProfile(lambda radius: self.enclosed(radius, **radial), values["q"], values["PA"])

    def brightness(self, xi: Any, eta: Any, values: Any) -> Any:
        """Surface brightness (1/arcsec^2, unit total flux) at tangent-plane offsets
        (``xi`` east, ``eta`` north, arcsec) from the centre; ``values`` by local name."""
        radial = self._radial(values)
        radius_squared = elliptical_radius_squared(xi, eta, values["q"], values["PA"])
        return self.profile_of_squared_radius(radius_squared, **radial) / values["q"]

    def evaluate(self, lon: Any, lat: Any, **values: Any) -> Any:  # type: ignore[override]
        xi, eta = gnomonic(lon, lat, values["ra"], values["dec"])
        return self.brightness(xi, eta, values) * ARCSEC_PER_RADIAN**2


class Sersic(ImagingShape):
    r"""Sérsic profile :math:`\propto \exp(-b_n((R/R_e)^{1/n} - 1))`, with the exact
    :math:`b_n` (:func:`~jointfit_imaging.sersic.sersic_b`): ``Re`` (arcsec) encloses
    half the light for every index ``n``."""

    n = P(2.0, bounds=(0.2, 10.0), description="Sersic index")
    Re = P(1.0, bounds=(1e-3, None), unit="arcsec", description="Half-light radius along the major axis")

    @classmethod
    def profile(cls, radius: Any, n: Any, Re: Any) -> Any:
        return cls.profile_of_squared_radius(radius**2, n=n, Re=Re)

    @classmethod
    def profile_of_squared_radius(cls, radius_squared: Any, n: Any, Re: Any) -> Any:
        b = sersic_b(n)
        log_norm = sersic_log_norm(n, b) + jnp.log(2.0 * math.pi * Re**2)
        # (R / Re)^(1/n) as exp(ln(R^2 / Re^2) / 2n): XLA's pow costs three times as
        # much; the floor keeps the logarithm (and its gradient) finite at R = 0
        scaled = jnp.exp(0.5 / n * jnp.log(jnp.maximum(radius_squared / Re**2, 1e-300)))
        return jnp.exp(-b * scaled + b - log_norm)

    @classmethod
    def enclosed(cls, radius: Any, n: Any, Re: Any) -> Any:
        # P(2n, b_n (R / Re)^(1/n))
        return regularized_lower_gamma(2.0 * n, sersic_b(n) * jnp.exp(jnp.log(radius / Re) / n))


class Exponential(ImagingShape):
    r"""Exponential disc :math:`\propto \exp(-R/h)`, ``h`` the scale length (arcsec)."""

    h = P(1.0, bounds=(1e-3, None), unit="arcsec", description="Scale length along the major axis")

    @classmethod
    def profile(cls, radius: Any, h: Any) -> Any:
        return jnp.exp(-radius / h) / (2.0 * math.pi * h**2)

    @classmethod
    def enclosed(cls, radius: Any, h: Any) -> Any:
        x = radius / h
        return -jnp.expm1(-x) - x * jnp.exp(-x)


class Gaussian2D(ImagingShape):
    r"""Elliptical Gaussian :math:`\propto \exp(-R^2 / 2\sigma^2)`, ``sigma`` (arcsec)
    along the major axis."""

    sigma = P(1.0, bounds=(1e-4, None), unit="arcsec", description="Standard deviation along the major axis")

    @classmethod
    def profile(cls, radius: Any, sigma: Any) -> Any:
        return cls.profile_of_squared_radius(radius**2, sigma=sigma)

    @classmethod
    def profile_of_squared_radius(cls, radius_squared: Any, sigma: Any) -> Any:
        return jnp.exp(-0.5 * radius_squared / sigma**2) / (2.0 * math.pi * sigma**2)

    @classmethod
    def enclosed(cls, radius: Any, sigma: Any) -> Any:
        return -jnp.expm1(-0.5 * (radius / sigma) ** 2)


class Moffat2D(ImagingShape):
    r"""Moffat profile :math:`\propto (1 + (R/\alpha)^2)^{-\beta}` by its ``fwhm``
    (arcsec, major axis) and ``beta`` (> 1 for a finite flux)."""

    fwhm = P(1.0, bounds=(1e-4, None), unit="arcsec", description="Full width at half maximum along the major axis")
    beta = P(3.0, bounds=(1.01, 20.0), description="Power-law index of the wings")

    @staticmethod
    def _alpha(fwhm: Any, beta: Any) -> Any:
        """The core radius alpha (arcsec) of the Moffat profile of this FWHM and beta."""
        return fwhm / (2.0 * jnp.sqrt(2.0 ** (1.0 / beta) - 1.0))

    @classmethod
    def profile(cls, radius: Any, fwhm: Any, beta: Any) -> Any:
        return cls.profile_of_squared_radius(radius**2, fwhm=fwhm, beta=beta)

    @classmethod
    def profile_of_squared_radius(cls, radius_squared: Any, fwhm: Any, beta: Any) -> Any:
        alpha = cls._alpha(fwhm, beta)
        return (beta - 1.0) / (math.pi * alpha**2) * jnp.exp(-beta * jnp.log1p(radius_squared / alpha**2))

    @classmethod
    def enclosed(cls, radius: Any, fwhm: Any, beta: Any) -> Any:
        alpha = cls._alpha(fwhm, beta)
        return -jnp.expm1((1.0 - beta) * jnp.log1p((radius / alpha) ** 2))


class SplineProfile(ImagingShape):
    """Free radial profile (AstroPhot's spline galaxy): log10 of the surface brightness
    at radii ``R_0 < R_1 < ...`` (arcsec along the major axis), linear in radius
    between them, normalised to unit total flux. Beyond the last knot the profile goes
    on exponentially with the last segment's slope, falling at least e-fold per last
    radius (so that the flux is finite): continuous, so that moving the source moves no
    edge across pixels.

    ``SplineProfile(ra, dec, q, PA, radii=[0, 1, 2, 4, 8, 16], log_I=[...])``: the
    radii become fixed parameters ``R_k`` (free them to move the knots), the
    intensities parameters ``logI_k`` relative to the centre's (``logI_0 = 0``, which
    the source's brightness replaces).
    """

    _SEGMENT_NODES = 8

    def __init__(self, *, radii: Any = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0), log_I: Any = None, **values: Any) -> None:
        import numpy as np

        from jointfit.errors import ModelError

        radii = [float(r) for r in radii]
        if len(radii) < 2 or radii[0] != 0.0 or any(b <= a for a, b in zip(radii, radii[1:])):
            raise ModelError(f"SplineProfile: radii must start at 0 and increase, got {radii}")
        log_i = [-1.0 * r / radii[-1] * 3.0 for r in radii] if log_I is None else [float(v) for v in log_I]
        if len(log_i) != len(radii):
            raise ModelError(f"SplineProfile: {len(radii)} radii but {len(log_i)} log_I values")
        specs = dict(type(self)._specs)
        for k, radius in enumerate(radii):
            spec = P(radius, bounds=(0.0, None), unit="arcsec", free=False, description=f"Radius of knot {k}")
            spec.name = f"R_{k}"
            specs[spec.name] = spec
        for k in range(1, len(radii)):
            spec = P(log_i[k] - log_i[0], bounds=(-20.0, 20.0), description=f"log10 surface brightness at R_{k} "
                                                                            "relative to the centre")
            spec.name = f"logI_{k}"
            specs[spec.name] = spec
        self._specs = specs
        self._knots = len(radii)
        super().__init__(**values, **{f"R_{k}": r for k, r in enumerate(radii)},
                         **{f"logI_{k}": log_i[k] - log_i[0] for k in range(1, len(radii))})
        nodes, weights = np.polynomial.legendre.leggauss(self._SEGMENT_NODES)
        self._unit_nodes, self._unit_weights = 0.5 * (nodes + 1.0), 0.5 * weights

    @classmethod
    def _new_for_state(cls, state: Any) -> SplineProfile:
        knots = sum(1 for key in state if key.startswith("R_"))
        return cls(radii=[float(k) for k in range(knots)])

    def brightness(self, xi: Any, eta: Any, values: Any) -> Any:
        radii = jnp.stack([values[f"R_{k}"] for k in range(self._knots)])
        log_i = jnp.concatenate([jnp.zeros(1), jnp.stack([values[f"logI_{k}"] for k in range(1, self._knots)])])
        # tail beyond the last knot: I_N exp(-k (R - R_N)), k in e-folds per arcsec
        last_slope = (log_i[-1] - log_i[-2]) / (radii[-1] - radii[-2]) * math.log(10.0)
        k = jnp.maximum(-last_slope, 1.0 / radii[-1])
        # total flux 2 pi q int R I(R) dR: segment by segment (Gauss-Legendre), and the
        # tail's 2 pi q I_N (R_N / k + 1 / k^2)
        start, width = radii[:-1], jnp.diff(radii)
        r = start[:, None] + width[:, None] * self._unit_nodes
        profile = 10.0 ** jnp.interp(r, radii, log_i)
        flux = 2.0 * math.pi * (jnp.sum(width * jnp.sum(self._unit_weights * r * profile, axis=1))
                                + 10.0 ** log_i[-1] * (radii[-1] / k + 1.0 / k**2))
        radius = elliptical_radius(xi, eta, values["q"], values["PA"])
        beyond = jnp.maximum(radius - radii[-1], 0.0)
        log_brightness = jnp.interp(radius, radii, log_i) * math.log(10.0) - k * beyond
        return jnp.exp(log_brightness) / (flux * values["q"])
