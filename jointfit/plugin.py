"""The plugin contract and the discovery of installed plugins.

A plugin turns one data set into a pure JAX log-likelihood of the model's values:

1. ``plugin.assign_to_source("src1", ...)`` (optional) restricts it to some sources;
   unassigned, it sees the sum of all point sources (3ML's behaviour).
2. ``loglike = plugin.setup(space)`` precomputes everything static from the compiled
   :class:`~jointfit.space.ParameterSpace` and returns ``loglike(values) -> scalar``,
   where ``values`` is ``space.unpack(theta)``.
3. After setup, ``plugin.pointwise_loglike(values)`` gives one log-likelihood per
   data point (for WAIC/LOO) and ``plugin.simulate(values, key)`` draws a new data set
   (a ``jax.random`` key, so it vectorises over posterior draws with ``jax.vmap``).
4. Optionally, ``plugin.observed_data()`` and ``plugin.discrepancy(values, data)``
   (a fit statistic of any data set ``simulate`` could give) let goodness-of-fit checks
   compare the data with data simulated from the posterior (:mod:`jointfit.goodness`).

Plugins are packages of their own, registered in the ``jointfit.plugins`` entry-point
group; the core finds them through :func:`available_plugins` and never imports one by
name.
"""

from __future__ import annotations

import abc
import importlib.metadata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp

from .errors import PluginError
from .parameter import Parameter
from .space import ParameterSpace, SpectrumFn

__all__ = ["Plugin", "available_plugins", "load_plugin", "rebuild_plugin", "PLUGIN_ENTRY_POINT_GROUP"]

PLUGIN_ENTRY_POINT_GROUP = "jointfit.plugins"
Values = Mapping[str, Any]


class Plugin(abc.ABC):
    """Base class of data plugins.

    Subclasses implement :meth:`_setup` (precompute from the space),
    :meth:`pointwise_loglike` and :meth:`simulate`.

    Parameters
    ----------
    name : str
        Unique name of the data set in an analysis (letters, digits, underscores,
        dashes; no dots, which separate path components).
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name or "." in name or not name.replace("-", "_").isidentifier():
            raise PluginError(
                f"plugin name {name!r} must be a non-empty identifier (letters, digits, "
                "underscores or dashes, not starting with a digit, no dots)"
            )
        self._name = name
        self._sources: tuple[str, ...] | None = None
        self._nuisance: dict[str, Parameter] = {}
        self._space: ParameterSpace | None = None

    @property
    def name(self) -> str:
        """Name of the data set."""
        return self._name

    def __repr__(self) -> str:
        assigned = "all point sources" if self._sources is None else ", ".join(self._sources)
        return f"{type(self).__name__}({self._name!r}; sources: {assigned})"

    # -- sources --------------------------------------------------------------------------
    def assign_to_source(self, *source_names: str) -> None:
        """Restrict this plugin to the named sources (their spectra are summed)."""
        names: list[Any] = []
        for item in source_names:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, list | tuple):
                names.extend(item)
            else:
                names.append(item)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise PluginError(f"plugin {self._name!r}: assign_to_source needs source names, got {source_names!r}")
        self._sources = tuple(names)

    @property
    def assigned_sources(self) -> tuple[str, ...] | None:
        """Names of the assigned sources, or ``None`` for all point sources."""
        return self._sources

    # -- nuisance parameters ----------------------------------------------------------------
    def _add_nuisance_parameter(self, parameter: Parameter) -> Parameter:
        if parameter.name in self._nuisance:
            raise PluginError(f"plugin {self._name!r} already has a parameter {parameter.name!r}")
        self._nuisance[parameter.name] = parameter
        return parameter

    @property
    def nuisance_parameters(self) -> dict[str, Parameter]:
        """The plugin's own parameters by path ``<plugin name>.<parameter>``."""
        return {f"{self._name}.{k}": p for k, p in self._nuisance.items()}

    # -- the contract ----------------------------------------------------------------------------
    def setup(self, space: ParameterSpace) -> Callable[[Values], Any]:
        """Precompute from ``space`` and return the pure ``loglike(values) -> scalar``.

        Raises
        ------
        PluginError
            If an assigned source is not in the model, or a nuisance parameter is not
            in the space.
        """
        if self._sources is not None:
            unknown = [s for s in self._sources if s not in space.source_names]
            if unknown:
                raise PluginError(
                    f"plugin {self._name!r} is assigned to {unknown}, which the model does not "
                    f"have; its sources are {list(space.source_names)}"
                )
        missing = [k for k in self.nuisance_parameters if k not in space.names]
        if missing:
            raise PluginError(
                f"plugin {self._name!r}: the parameter space lacks its parameters {missing}; "
                "compile the model with model.compile(extra_parameters=plugin.nuisance_parameters)"
            )
        self._setup(space)
        self._space = space
        return self.loglike

    def is_set_up_for(self, space: ParameterSpace) -> bool:
        """Whether the plugin's last :meth:`setup` was on ``space`` (a plugin shared by
        two analyses holds the state of the last one set up)."""
        return self._space is space

    def _source_spectrum(self, space: ParameterSpace) -> SpectrumFn:
        """Summed spectrum of the assigned sources (all point sources if unassigned)."""
        return space.point_source_spectrum(self._sources)

    def _require_setup(self) -> ParameterSpace:
        if self._space is None:
            raise PluginError(f"plugin {self._name!r} is not set up: call plugin.setup(space) first")
        return self._space

    @abc.abstractmethod
    def _setup(self, space: ParameterSpace) -> None:
        """Precompute static arrays (on device) from the space."""

    @abc.abstractmethod
    def pointwise_loglike(self, values: Values) -> jnp.ndarray:
        """Log-likelihood of each data point (pure JAX)."""

    def loglike(self, values: Values) -> jnp.ndarray:
        """Total log-likelihood (pure JAX): the sum of :meth:`pointwise_loglike`."""
        return jnp.sum(self.pointwise_loglike(values))

    @abc.abstractmethod
    def simulate(self, values: Values, key: Any) -> jnp.ndarray:
        """A data set drawn from the model at ``values`` (``key``: ``jax.random`` key)."""

    # -- posterior predictive checks (optional) ---------------------------------------------
    def observed_data(self) -> Any:
        """Optional (goodness of fit, :mod:`jointfit.goodness`): this data set as
        :meth:`simulate` returns one (an array of the same shape and meaning)."""
        raise NotImplementedError(f"plugin {self._name!r} ({type(self).__name__}) does not give its observed data")

    def discrepancy(self, values: Values, data: Any) -> jnp.ndarray:
        """Optional (goodness of fit): how far ``data`` (an array as :meth:`simulate`
        returns) lies from the model at ``values``, a pure-JAX scalar; by convention
        the plugin's fit statistic (C-stat, chi2: -2 ln L less its value for a model
        equal to the data), so that a plugin's posterior predictive p-value compares
        the statistic of the data with that of data simulated from the model."""
        raise NotImplementedError(f"plugin {self._name!r} ({type(self).__name__}) has no discrepancy")

    def discrepancy_name(self) -> str:
        """Optional: the name of :meth:`discrepancy` in tables (``"chi2"``)."""
        return "discrepancy"

    def data_axis(self) -> tuple[str, Any] | None:
        """Optional: a label and a coordinate for each point of :meth:`observed_data`
        (``("energy (keV)", centres)``), for pictures of the data against the
        predictive band; ``None`` (here) draws points by index."""
        return None

    @property
    def supports_predictive_checks(self) -> bool:
        """Whether this plugin gives its observed data and a discrepancy."""
        own = type(self)
        return own.observed_data is not Plugin.observed_data and own.discrepancy is not Plugin.discrepancy

    def fit_statistic(self, values: Values) -> tuple[str, float] | None:
        """Optional: the conventional fit statistic at ``values`` (parameter values by
        path), its name and value, e.g. ``("cstat", 187.3)``, shown in the results'
        summary with the number of data points; ``None`` where there is none (here)."""
        return None

    # -- rebuilding from results (optional) -----------------------------------------------------
    def recipe(self) -> dict[str, Any] | None:
        """Optional: what rebuilds this data set as it is now, JSON-able (the files it
        was read from, its statistic and selection), kept in results so that results
        read back from a file can be redrawn and checked without rebuilding the data
        by hand (:meth:`AnalysisResults.data_list`); it must hold ``"plugin"``, the
        name the class is registered under. ``None`` (here) where the data cannot be
        rebuilt (arrays in memory)."""
        return None

    @classmethod
    def from_recipe(cls, recipe: Mapping[str, Any]) -> Plugin:
        """Optional: the data set a :meth:`recipe` describes."""
        raise PluginError(f"{cls.__name__} cannot be rebuilt from a recipe")

    def sed_points(self, draws: Values, **options: Any) -> Any:
        """Optional: this data set's points in the broad-band picture
        (:func:`jointfit.sed.plot_sed`), a :class:`~jointfit.sed.SEDPoints` of νFν
        unfolded with the model at ``draws`` (parameter values by path, a leading axis
        of posterior draws); ``None`` for data that have no such points (here).
        ``options``: ``min_significance``, ``confidence_level``."""
        return None

    @classmethod
    def display_model_counts(cls, plugins: Sequence[Plugin], draws: Values, **options: Any) -> Any:
        """Optional picture: these plugins' data against the model, ``draws`` the
        parameter values by path with a leading axis of posterior draws. Returns a
        matplotlib figure, or ``None`` for a plugin type without such a picture (here)."""
        return None


def rebuild_plugin(recipe: Mapping[str, Any]) -> Plugin:
    """The data set a plugin's :meth:`Plugin.recipe` describes, through the plugin class
    registered under ``recipe["plugin"]``.

    Raises
    ------
    PluginError
        If no such plugin is installed or it cannot rebuild from a recipe; the plugin's
        own errors (a file that no longer exists: ``DataError``) pass through.
    """
    return load_plugin(str(recipe.get("plugin"))).from_recipe(recipe)


def available_plugins() -> dict[str, importlib.metadata.EntryPoint]:
    """Installed plugins by name (entry points of the ``jointfit.plugins`` group).

    Nothing is imported until :func:`load_plugin` is called.
    """
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=PLUGIN_ENTRY_POINT_GROUP)}


def load_plugin(name: str) -> type[Plugin]:
    """Import and return the plugin class registered as ``name``.

    Raises
    ------
    PluginError
        If no such plugin is installed, or what it registers is not a Plugin class.
    """
    entry_points = available_plugins()
    if name not in entry_points:
        raise PluginError(
            f"no installed plugin is called {name!r}; installed: {sorted(entry_points)} "
            f"(plugins register in the {PLUGIN_ENTRY_POINT_GROUP!r} entry-point group)"
        )
    try:
        loaded = entry_points[name].load()
    except Exception as exc:  # a broken third-party plugin must not look like our bug
        raise PluginError(f"plugin {name!r} failed to import: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(loaded, type) and issubclass(loaded, Plugin)):
        raise PluginError(f"entry point {name!r} gives {loaded!r}, which is not a jointfit Plugin class")
    return loaded
