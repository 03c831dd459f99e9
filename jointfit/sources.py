"""Sources of the sky model: :class:`PointSource` and :class:`ExtendedSource`.

Attribute access follows astromodels' paths: ``src.position.ra``,
``src.spectrum.main.Blackbody.kT``, ``src.spectrum.main.composite.kT_1``,
``src.<SpatialShape>.<parameter>`` for extended sources.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import ModelError, UnknownNameError
from .functions.base import Function, SpectralFunction, function_from_dict
from .parameter import Parameter

__all__ = ["Source", "PointSource", "ExtendedSource", "SkyPosition", "SpectralComponent", "Spectrum"]


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ModelError(
            f"{what} name {name!r} must be a valid Python identifier (letters, digits, "
            "underscores; not starting with a digit; not a keyword), so that model.<name> works"
        )
    from .model import Model

    if hasattr(Model, name):
        raise ModelError(f"{what} name {name!r} is taken by Model.{name}; choose another name")
    return name


class SkyPosition:
    """Position of a point source: ``ra`` and ``dec`` in degrees (ICRS), fixed by default."""

    def __init__(self, ra: float, dec: float) -> None:
        self.ra = Parameter("ra", ra, bounds=(0.0, 360.0), unit="deg", free=False,
                            description="Right ascension (ICRS)")
        self.dec = Parameter("dec", dec, bounds=(-90.0, 90.0), unit="deg", free=False,
                             description="Declination (ICRS)")

    @property
    def parameters(self) -> dict[str, Parameter]:
        """``{"ra": ..., "dec": ...}``."""
        return {"ra": self.ra, "dec": self.dec}

    def __repr__(self) -> str:
        return f"SkyPosition(ra={self.ra.value!r}, dec={self.dec.value!r})"


class SpectralComponent:
    """One named spectral component of a source; its shape is reachable under its own
    name (``component.Blackbody``, ``component.composite``) or as ``component.shape``."""

    def __init__(self, name: str, shape: SpectralFunction) -> None:
        if not isinstance(shape, SpectralFunction):
            raise ModelError(
                f"spectral component {name!r}: spectral_shape must be a spectral function "
                f"such as Powerlaw(), got {shape!r}"
            )
        # a shape may have served as a factor in a throwaway product: it is a spectrum here
        shape.set_units(SpectralFunction.x_unit, SpectralFunction.y_unit)
        self.name = name
        self.shape = shape

    def __getattr__(self, name: str) -> Function:
        shape = self.__dict__.get("shape")
        if shape is not None and name == shape.name:
            return shape
        raise UnknownNameError(
            f"spectral component {self.__dict__.get('name')!r} has no {name!r}; its shape is "
            f"{shape.name if shape is not None else None!r}"
        )

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {self.shape.name})


class Spectrum:
    """The spectral components of a source by name (jointfit uses one: ``main``)."""

    def __init__(self, **components: SpectralComponent) -> None:
        self._components = dict(components)

    def __getattr__(self, name: str) -> SpectralComponent:
        components = self.__dict__.get("_components", {})
        if name in components:
            return components[name]
        raise UnknownNameError(f"spectrum has no component {name!r}; it has {list(components)}")

    def __iter__(self) -> Iterator[SpectralComponent]:
        return iter(self._components.values())

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._components))


class Source:
    """Base of sources: a name and a spectrum."""

    source_type = "source"

    def __init__(self, name: str, spectral_shape: SpectralFunction) -> None:
        self._name = _check_name(name, "source")
        if spectral_shape is None:
            raise ModelError(f"source {name!r}: spectral_shape is required")
        self.spectrum = Spectrum(main=SpectralComponent("main", spectral_shape))

    @property
    def name(self) -> str:
        """Source name (first element of its parameter paths)."""
        return self._name

    @property
    def spectral_shape(self) -> SpectralFunction:
        """The shape of the main spectral component."""
        return self.spectrum.main.shape

    def _spectral_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for component in self.spectrum:
            for local, parameter in component.shape._parameters.items():
                yield f"spectrum.{component.name}.{component.shape.name}.{local}", parameter

    def parameters(self) -> dict[str, Parameter]:
        """Parameters by path relative to the source (``spectrum.main.Powerlaw.K``)."""
        raise NotImplementedError

    def spectral_prefix(self, component: str = "main") -> str:
        """Path prefix of a spectral component's parameters."""
        shape = getattr(self.spectrum, component).shape
        return f"{self._name}.spectrum.{component}.{shape.name}."

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Source:
        """Rebuild a source written by :meth:`to_dict`."""
        if not isinstance(data, Mapping) or len(data) != 1:
            raise ModelError(f"a source must be written as {{type: {{...}}}}, got {data!r}")
        ((kind, body),) = data.items()
        types = {cls.source_type: cls for cls in (PointSource, ExtendedSource)}
        if kind not in types:
            raise ModelError(f"unknown source type {kind!r}; expected one of {sorted(types)}")
        return types[kind]._from_body(body)


class PointSource(Source):
    """A point source at (``ra``, ``dec``) in degrees with a spectral shape.

    Parameters
    ----------
    name : str
        Identifier, used in paths (``model.<name>``).
    ra, dec : float
        ICRS position in degrees.
    l, b : float, optional
        Galactic position in degrees, instead of ``ra`` and ``dec`` (converted to ICRS).
    spectral_shape : SpectralFunction
        Photon spectrum, photons / (cm2 s keV).
    """

    source_type = "PointSource"

    def __init__(self, name: str, ra: float | None = None, dec: float | None = None,
                 spectral_shape: SpectralFunction | None = None, *,
                 l: float | None = None, b: float | None = None) -> None:  # noqa: E741
        super().__init__(name, spectral_shape)  # type: ignore[arg-type]
        if (ra is None) != (dec is None) or (l is None) != (b is None) or (ra is None) == (l is None):
            raise ModelError(
                f"point source {name!r}: give the position as ra and dec, or as galactic l and b "
                "(degrees), not both or neither"
            )
        if l is not None:
            from astropy.coordinates import SkyCoord

            icrs = SkyCoord(l=l, b=b, unit="deg", frame="galactic").icrs
            ra, dec = float(icrs.ra.deg), float(icrs.dec.deg)
        self.position = SkyPosition(ra, dec)

    def parameters(self) -> dict[str, Parameter]:
        result = {f"position.{k}": p for k, p in self.position.parameters.items()}
        result.update(self._spectral_parameters())
        return result

    def __repr__(self) -> str:
        return (f"PointSource({self.name!r}, ra={self.position.ra.value!r}, "
                f"dec={self.position.dec.value!r}, spectral_shape={self.spectral_shape!r})")

    def to_dict(self) -> dict[str, Any]:
        return {self.source_type: {
            "name": self.name,
            "position": {k: p.to_dict() for k, p in self.position.parameters.items()},
            "spectrum": {c.name: c.shape.to_dict() for c in self.spectrum},
        }}

    @classmethod
    def _from_body(cls, body: Mapping[str, Any]) -> PointSource:
        position = body["position"]
        source = cls(body["name"], ra=position["ra"]["value"], dec=position["dec"]["value"],
                     spectral_shape=function_from_dict(body["spectrum"]["main"]))  # type: ignore[arg-type]
        for key, parameter in source.position.parameters.items():
            parameter.update_from_dict(position[key])
        return source


class ExtendedSource(Source):
    """A source with a spatial shape (surface brightness) and a spectral shape.

    Parameters
    ----------
    name : str
        Identifier, used in paths.
    spatial_shape : Function
        Spatial morphology; its parameters have paths ``<name>.<Shape>.<parameter>``.
    spectral_shape : SpectralFunction
        Photon spectrum, photons / (cm2 s keV).
    """

    source_type = "ExtendedSource"

    def __init__(self, name: str, spatial_shape: Function | None = None,
                 spectral_shape: SpectralFunction | None = None) -> None:
        super().__init__(name, spectral_shape)  # type: ignore[arg-type]
        if not isinstance(spatial_shape, Function) or isinstance(spatial_shape, SpectralFunction):
            raise ModelError(
                f"extended source {name!r}: spatial_shape must be a spatial function, "
                f"got {spatial_shape!r}"
            )
        self.spatial_shape = spatial_shape

    def __getattr__(self, name: str) -> Function:
        shape = self.__dict__.get("spatial_shape")
        if shape is not None and name == shape.name:
            return shape
        raise UnknownNameError(f"extended source {self.__dict__.get('_name')!r} has no attribute {name!r}")

    def parameters(self) -> dict[str, Parameter]:
        shape = self.spatial_shape
        result = {f"{shape.name}.{k}": p for k, p in shape._parameters.items()}
        result.update(self._spectral_parameters())
        return result

    def __repr__(self) -> str:
        return (f"ExtendedSource({self.name!r}, spatial_shape={self.spatial_shape!r}, "
                f"spectral_shape={self.spectral_shape!r})")

    def to_dict(self) -> dict[str, Any]:
        return {self.source_type: {
            "name": self.name,
            "spatial_shape": self.spatial_shape.to_dict(),
            "spectrum": {c.name: c.shape.to_dict() for c in self.spectrum},
        }}

    @classmethod
    def _from_body(cls, body: Mapping[str, Any]) -> ExtendedSource:
        return cls(body["name"], spatial_shape=function_from_dict(body["spatial_shape"]),
                   spectral_shape=function_from_dict(body["spectrum"]["main"]))  # type: ignore[arg-type]
