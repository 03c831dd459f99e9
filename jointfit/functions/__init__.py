"""Model functions: spectral shapes, spatial shapes, and their composites."""

from .base import CompositeFunction, Function, ParameterSpec, SpectralFunction, function_from_dict, function_type
from .spatial import Gaussian_on_sphere, SpatialFunction
from .spectral import Band, Blackbody, Constant, Cutoff_powerlaw, Gaussian, Line, Powerlaw, Powerlaw_flux, Redshift

__all__ = [
    "Function",
    "SpectralFunction",
    "SpatialFunction",
    "CompositeFunction",
    "ParameterSpec",
    "function_type",
    "function_from_dict",
    "Powerlaw",
    "Powerlaw_flux",
    "Cutoff_powerlaw",
    "Band",
    "Blackbody",
    "Gaussian",
    "Constant",
    "Line",
    "Redshift",
    "Gaussian_on_sphere",
]
