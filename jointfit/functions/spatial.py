"""Spatial shapes: sky position (degrees) to surface brightness (1/sr).

The imaging plugin brings the shapes galaxies need (Sérsic and friends); the core
ships the shapes of astromodels that need no pixel grid.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import astropy.units as u
import jax.numpy as jnp

from .base import Function
from .base import ParameterSpec as P

__all__ = ["SpatialFunction", "Gaussian_on_sphere", "angular_distance"]


def angular_distance(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in degrees (Vincenty's formula, accurate at all separations)."""
    lon1, lat1, lon2, lat2 = (jnp.deg2rad(v) for v in (lon1, lat1, lon2, lat2))
    dlon = lon2 - lon1
    num1 = jnp.cos(lat2) * jnp.sin(dlon)
    num2 = jnp.cos(lat1) * jnp.sin(lat2) - jnp.sin(lat1) * jnp.cos(lat2) * jnp.cos(dlon)
    den = jnp.sin(lat1) * jnp.sin(lat2) + jnp.cos(lat1) * jnp.cos(lat2) * jnp.cos(dlon)
    return jnp.rad2deg(jnp.arctan2(jnp.hypot(num1, num2), den))


class SpatialFunction(Function):
    """Base of spatial shapes: ``evaluate(lon, lat, **parameters)`` with ``lon``, ``lat``
    in degrees, returning surface brightness in 1/sr (integrating to 1 over the sky).
    In pure evaluation (``evaluate_with``) the independent variable is the pair
    ``(lon, lat)``."""

    x_unit: ClassVar[u.UnitBase] = u.deg
    y_unit: ClassVar[u.UnitBase] = u.Unit("1 / sr")

    def evaluate_with(self, x: Any, values: Any) -> Any:
        """Pure evaluation at ``x = (lon, lat)`` (degrees) with values by local name."""
        lon, lat = x
        return self.evaluate(lon, lat, **{name: values[name] for name in self._parameters})

    def __call__(self, lon: Any, lat: Any) -> Any:  # type: ignore[override]
        """Surface brightness (1/sr) at ``lon``, ``lat`` (degrees), current values."""
        point = (jnp.asarray(lon, dtype=float), jnp.asarray(lat, dtype=float))
        return self.evaluate_with(point, self.current_values())


class Gaussian_on_sphere(SpatialFunction):
    r"""Gaussian on the sphere (astromodels' definition):
    :math:`(180/\pi)^2 / (2\pi\sigma^2) \exp(-d^2 / (2\sigma^2))` per steradian, with
    ``d`` the angular distance (degrees) from (lon0, lat0) and ``sigma`` in degrees."""

    lon0 = P(0.0, bounds=(0.0, 360.0), unit="deg", description="Longitude of the center of the source")
    lat0 = P(0.0, bounds=(-90.0, 90.0), unit="deg", description="Latitude of the center of the source")
    sigma = P(10.0, bounds=(0.0, 20.0), unit="deg",
              description="Standard deviation of the Gaussian distribution")

    @staticmethod
    def evaluate(lon: Any, lat: Any, lon0: Any, lat0: Any, sigma: Any) -> Any:
        d = angular_distance(lon0, lat0, lon, lat)
        return (180.0 / math.pi) ** 2 / (2.0 * math.pi * sigma**2) * jnp.exp(-0.5 * d**2 / sigma**2)
