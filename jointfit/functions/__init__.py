"""Model functions: spectral shapes, spatial shapes, and their composites."""

from .absorption import PhAbs, TbAbs
from .base import CompositeFunction, Function, OptionSpec, ParameterSpec, SpectralFunction, function_from_dict, function_type
from .spatial import Gaussian_on_sphere, SpatialFunction
from .spectral import Band, Blackbody, Constant, Cutoff_powerlaw, Gaussian, Line, Powerlaw, Powerlaw_flux, Redshift

__all__ = [
    "Function",
    "SpectralFunction",
    "SpatialFunction",
    "CompositeFunction",
    "ParameterSpec",
    "OptionSpec",
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
    "PhAbs",
    "TbAbs",
    "Gaussian_on_sphere",
]
