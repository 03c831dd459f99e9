"""jointfit: Bayesian multi-instrument fitting for astronomy.

One model of the sky (sources with spectra and shapes, priors, links) is compiled into
a pure JAX parameter space; plugins turn data sets into JAX log-likelihoods of it.

Importing jointfit enables JAX's 64-bit mode. Plugins installed through the
``jointfit.plugins`` entry points are importable from here by name
(``from jointfit import XYLike``) and are loaded only when first asked for.
"""

from __future__ import annotations

import jax as _jax

_jax.config.update("jax_enable_x64", True)


def _configure_jax(name: str, value: object) -> bool:
    """Set JAX's option ``name`` where this JAX release has it (options come and go
    between releases; jointfit runs without the optional ones); whether it was set."""
    try:
        _jax.config.update(name, value)
    except AttributeError:  # "Unrecognized config option"
        return False
    return True


def _use_persistent_compilation_cache() -> None:
    """Keep compiled likelihoods on disk (JAX's persistent cache) so that a re-run
    notebook skips compilation; ``JOINTFIT_COMPILATION_CACHE=0`` turns it off and a
    cache directory the user configured is left alone."""
    import os

    if os.environ.get("JOINTFIT_COMPILATION_CACHE", "1") == "0" or getattr(_jax.config, "jax_compilation_cache_dir", None):
        return
    folder = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "jointfit", "xla")
    if _configure_jax("jax_compilation_cache_dir", folder):
        _configure_jax("jax_persistent_cache_min_compile_time_secs", 0.0)


def _dispatch_cpu_calls_inline() -> None:
    """Run CPU computations in the calling thread (JAX's ``jax_cpu_enable_async_dispatch``
    off): a likelihood call of a few points then costs about a third less, as no
    thread hand-off precedes it, and batched throughput is unchanged (measured in
    ``benchmarks/seed003_sampling.py``). ``JOINTFIT_CPU_ASYNC_DISPATCH=1`` keeps JAX's default.
    Effective only when jointfit is imported before JAX first computes on the CPU."""
    import os

    if os.environ.get("JOINTFIT_CPU_ASYNC_DISPATCH", "0") != "1":
        _configure_jax("jax_cpu_enable_async_dispatch", False)


_use_persistent_compilation_cache()
_dispatch_cpu_calls_inline()

from . import errors  # noqa: E402
from .errors import (  # noqa: E402
    AnalysisError,
    DataError,
    JointfitError,
    JointfitWarning,
    LinkError,
    ModelError,
    ParameterError,
    PluginError,
    PriorError,
    UnitError,
    UnknownNameError,
)
from .functions import (  # noqa: E402
    Band,
    Blackbody,
    Calzetti00,
    Cardelli89,
    CCM89,
    CompositeFunction,
    Constant,
    Cutoff_powerlaw,
    Broken_powerlaw,
    DiskBB,
    Fitzpatrick99,
    Function,
    Gaussian,
    Gaussian_on_sphere,
    Gordon23,
    Line,
    Odonnell94,
    PhAbs,
    Powerlaw,
    Powerlaw_flux,
    Redshift,
    SMC_Gordon03,
    SpatialFunction,
    SpectralFunction,
    TbAbs,
)
from .analysis import BayesianAnalysis, JointLikelihood  # noqa: E402
from .data_list import DataList  # noqa: E402
from .displays import display_spectrum_model_counts, plot_spectra  # noqa: E402
from .goodness import PredictiveCheck, posterior_predictive_check  # noqa: E402
from .sed import plot_sed  # noqa: E402
from .model import Model, load_model  # noqa: E402
from .parameter import Parameter  # noqa: E402
from .plugin import Plugin, available_plugins, load_plugin  # noqa: E402
from .priors import (  # noqa: E402
    GaussianPrior,
    Log_normal,
    Log_uniform_prior,
    Prior,
    Truncated_gaussian,
    Uniform_prior,
)
from .sources import ExtendedSource, PointSource  # noqa: E402
from .results import AnalysisResults, load_analysis_results  # noqa: E402
from .catalogue import fit_catalogue  # noqa: E402
from .many import BatchedFitReport, fit_many  # noqa: E402
from ._shared import sharing_programs  # noqa: E402
from .comparison import compare_models  # noqa: E402
from .samplers import available_samplers, register_sampler  # noqa: E402
from .space import ParameterSpace  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "display_spectrum_model_counts",
    "plot_spectra",
    "plot_sed",
    "__version__",
    "errors",
    # errors
    "JointfitError",
    "ModelError",
    "ParameterError",
    "UnknownNameError",
    "LinkError",
    "PriorError",
    "UnitError",
    "DataError",
    "AnalysisError",
    "PluginError",
    "JointfitWarning",
    # parameters and priors
    "Parameter",
    "Prior",
    "Uniform_prior",
    "Log_uniform_prior",
    "GaussianPrior",
    "Truncated_gaussian",
    "Log_normal",
    # functions
    "Function",
    "SpectralFunction",
    "SpatialFunction",
    "CompositeFunction",
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
    # sources and model
    "PointSource",
    "ExtendedSource",
    "Model",
    "load_model",
    "ParameterSpace",
    # analyses
    "DataList",
    "BayesianAnalysis",
    "JointLikelihood",
    "AnalysisResults",
    "load_analysis_results",
    "fit_catalogue",
    "fit_many",
    "BatchedFitReport",
    "sharing_programs",
    "compare_models",
    "posterior_predictive_check",
    "PredictiveCheck",
    "available_samplers",
    "register_sampler",
    # plugins
    "Plugin",
    "available_plugins",
    "load_plugin",
]


def __getattr__(name: str) -> object:
    """Installed plugins by their registered name, imported on first use."""
    if name.startswith("_"):
        raise AttributeError(name)
    if name in available_plugins():
        plugin = load_plugin(name)
        globals()[name] = plugin
        return plugin
    raise AttributeError(f"module 'jointfit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(available_plugins()))
