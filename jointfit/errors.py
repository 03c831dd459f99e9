"""Every exception and warning jointfit raises.

All errors derive from :class:`JointfitError`, so ``except JointfitError`` catches
anything jointfit refuses. Messages name the parameter, path, file or value at fault
and say what was expected.
"""

from __future__ import annotations

__all__ = [
    "JointfitError",
    "ModelError",
    "ParameterError",
    "UnknownNameError",
    "LinkError",
    "PriorError",
    "DataError",
    "FilterError",
    "UnknownFilterError",
    "AnalysisError",
    "PluginError",
    "UnitError",
    "JointfitWarning",
]


class JointfitError(Exception):
    """Base class of every error raised by jointfit."""


class ModelError(JointfitError):
    """An inconsistent model: sources, functions, parameters or their files."""


class ParameterError(ModelError, ValueError):
    """A parameter value, bound or unit that cannot be accepted."""


class UnknownNameError(ModelError, AttributeError, KeyError):
    """A source, parameter or function name that does not exist.

    It is also an ``AttributeError`` and a ``KeyError`` so that ``hasattr`` and
    ``dict``-style look-ups behave as Python users expect.
    """

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


class LinkError(ModelError):
    """A parameter link that cannot be made (self-link, cycle, foreign model)."""


class PriorError(ModelError):
    """A prior that is invalid, incompatible with its bounds, or missing."""


class DataError(JointfitError, ValueError):
    """Data or files that are malformed, inconsistent or of the wrong format."""


class FilterError(DataError):
    """A filter curve that cannot be used (negative response, unsorted or non-positive
    wavelengths, no unit) or a filter name that no library knows."""


class UnknownFilterError(FilterError, KeyError):
    """A filter name that no library knows; the message suggests close names."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


class AnalysisError(JointfitError):
    """An analysis that cannot run as configured (plugins, sources, samplers)."""


class PluginError(AnalysisError):
    """A plugin that cannot be found, loaded or set up."""


class JointfitWarning(UserWarning):
    """Warnings about data or settings that jointfit accepted but a user should know."""


class UnitError(JointfitError, ValueError):
    """A unit that cannot be used where it was given (flux and energy units)."""
