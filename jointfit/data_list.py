"""The data sets of an analysis (3ML's ``DataList``)."""

from __future__ import annotations

from collections.abc import Iterator

from .errors import AnalysisError
from .parameter import Parameter
from .plugin import Plugin

__all__ = ["DataList"]


class DataList:
    """Plugins fitted together, by unique name.

    ``DataList(s1, s2)``; ``data["s1"]`` is a plugin, ``for plugin in data`` iterates
    over the plugins in the order given, ``data.keys()``/``values()``/``items()`` as a
    dict.

    Raises
    ------
    AnalysisError
        If an argument is not a plugin, two plugins share a name, or none is given.
    """

    def __init__(self, *plugins: Plugin) -> None:
        if not plugins:
            raise AnalysisError("a DataList needs at least one plugin")
        self._plugins: dict[str, Plugin] = {}
        for plugin in plugins:
            if not isinstance(plugin, Plugin):
                raise AnalysisError(f"DataList takes plugins, got {plugin!r} ({type(plugin).__name__})")
            if plugin.name in self._plugins:
                raise AnalysisError(f"two plugins are named {plugin.name!r}; names in a DataList must be unique")
            self._plugins[plugin.name] = plugin

    def __getitem__(self, name: str) -> Plugin:
        try:
            return self._plugins[name]
        except KeyError:
            raise AnalysisError(f"no plugin {name!r} in the DataList; it has {list(self._plugins)}") from None

    def __iter__(self) -> Iterator[Plugin]:
        return iter(self._plugins.values())

    def __len__(self) -> int:
        return len(self._plugins)

    def __contains__(self, name: object) -> bool:
        return name in self._plugins

    def keys(self):  # noqa: ANN201 - dict views
        """Plugin names."""
        return self._plugins.keys()

    def values(self):  # noqa: ANN201
        """Plugins."""
        return self._plugins.values()

    def items(self):  # noqa: ANN201
        """(name, plugin) pairs."""
        return self._plugins.items()

    def __repr__(self) -> str:
        return f"DataList({', '.join(self._plugins)})"

    @property
    def nuisance_parameters(self) -> dict[str, Parameter]:
        """Every plugin's own parameters by path (``<plugin>.<parameter>``)."""
        return {path: p for plugin in self for path, p in plugin.nuisance_parameters.items()}
