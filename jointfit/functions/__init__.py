"""Model functions: spectral shapes, spatial shapes, and their composites."""

from .absorption import PhAbs, TbAbs
from .dust import CCM89, Calzetti00, Cardelli89, Fitzpatrick99, Gordon23, Odonnell94, SMC_Gordon03
from .base import CompositeFunction, Function, OptionSpec, ParameterSpec, SpectralFunction, function_from_dict, function_type
from .spatial import Gaussian_on_sphere, SpatialFunction
from .spectral import Band, Blackbody, Broken_powerlaw, DiskBB, Constant, Cutoff_powerlaw, Gaussian, Line, Powerlaw, Powerlaw_flux, Redshift

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
    "Broken_powerlaw",
    "Band",
    "Blackbody",
    "DiskBB",
    "Gaussian",
    "Constant",
    "Line",
    "Redshift",
    "PhAbs",
    "TbAbs",
    "Cardelli89",
    "CCM89",
    "Odonnell94",
    "Fitzpatrick99",
    "Gordon23",
    "Calzetti00",
    "SMC_Gordon03",
    "Gaussian_on_sphere",
]
