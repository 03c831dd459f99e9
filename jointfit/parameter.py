"""The :class:`Parameter`: a named value with unit, bounds, prior and free/fixed state."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import astropy.units as u

from .errors import JointfitWarning, LinkError, ParameterError, PriorError
from .priors import Prior

if TYPE_CHECKING:
    from .functions.base import Function

__all__ = ["Parameter", "Link"]

Bound = float | None


@dataclass(frozen=True)
class Link:
    """``parameter = function(target)``: the relation :meth:`Model.link` creates."""

    target: Parameter
    function: Function

    def value(self) -> float:
        """Current value of the linked parameter, from the target's current value."""
        return float(self.function(self.target.value))


def _as_unit(unit: Any) -> u.UnitBase:
    try:
        return u.Unit(unit if unit is not None else "")
    except ValueError as exc:
        raise ParameterError(f"{unit!r} is not a unit astropy understands: {exc}") from None


def _as_prior(prior: Any, owner: str) -> Prior | None:
    if prior is None or isinstance(prior, Prior):
        return prior
    as_prior = getattr(prior, "as_prior", None)  # e.g. the Gaussian spectral shape
    if callable(as_prior):
        return as_prior()
    raise PriorError(f"{owner}: {prior!r} is not a prior (expected e.g. Log_normal(...))")


class Parameter:
    """A model parameter.

    Parameters
    ----------
    name : str
        Name within its function (``K``, ``kT``, ``index``...).
    value : float or astropy.units.Quantity
        Current value, in ``unit`` (a quantity is converted).
    bounds : (float or None, float or None)
        Allowed interval; ``None`` leaves that side open.
    unit : str or astropy.units.Unit
        Physical unit of the value.
    free : bool
        Whether fits and samplers vary it.
    prior : Prior, optional
        Prior density; truncated to ``bounds`` when the bounds cut it.
    description : str
        One line for tables.
    user_set : bool
        Whether ``value`` was chosen rather than being its function's declared default
        (see :attr:`user_set`); functions pass ``False`` for the defaults they fill in.
    """

    def __init__(
        self,
        name: str,
        value: float | u.Quantity,
        *,
        bounds: tuple[Bound, Bound] = (None, None),
        unit: str | u.UnitBase = "",
        free: bool = True,
        prior: Prior | None = None,
        description: str = "",
        user_set: bool = True,
    ) -> None:
        self._name = str(name)
        self._label = self._name  # the full path once the parameter is in a model
        self._unit = _as_unit(unit)
        self._min: Bound = None
        self._max: Bound = None
        self._prior: Prior | None = None
        self._link: Link | None = None
        self._value = self._to_float(value, "value")
        if not math.isfinite(self._value):
            raise ParameterError(f"parameter {self._label!r}: value must be finite, got {value!r}")
        self._user_set = bool(user_set)
        self.description = description
        self.free = free
        self._set_bounds(bounds, clip_value=False)
        self.prior = prior

    # -- identity -------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Name within its function."""
        return self._name

    @property
    def path(self) -> str:
        """Full path in the model that holds this parameter (its name until then)."""
        return self._label

    @property
    def unit(self) -> u.UnitBase:
        """Unit of :attr:`value`."""
        return self._unit

    def __repr__(self) -> str:
        state = "linked" if self.is_linked else ("free" if self.free else "fixed")
        unit = f" {self._unit}" if self._unit != u.dimensionless_unscaled else ""
        text = f"Parameter {self._name} = {self.value!r}{unit} [{self._min}, {self._max}] ({state})"
        if self._prior is not None:
            text += f", prior {self._prior!r}"
        return text

    # -- value -------------------------------------------------------------------------
    def _to_float(self, value: Any, what: str) -> float:
        if isinstance(value, u.Quantity):
            try:
                value = value.to_value(self._unit)
            except u.UnitConversionError:
                raise ParameterError(
                    f"parameter {self._label!r}: {what} {value} cannot be converted to "
                    f"its unit {self._unit}"
                ) from None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"parameter {self._label!r}: {what} must be a number, got {value!r}"
            ) from None
        if math.isnan(number):
            raise ParameterError(f"parameter {self._label!r}: {what} is NaN")
        return number

    @property
    def value(self) -> float:
        """Current value in :attr:`unit` (for a linked parameter, computed from its link)."""
        if self._link is not None:
            return self._link.value()
        return self._value

    @value.setter
    def value(self, value: float | u.Quantity) -> None:
        if self._link is not None:
            raise LinkError(
                f"parameter {self._label!r} is linked to {self._link.target.path!r}; "
                "unlink it before setting its value"
            )
        number = self._to_float(value, "value")
        if not math.isfinite(number):
            raise ParameterError(f"parameter {self._label!r}: value must be finite, got {number}")
        if (self._min is not None and number < self._min) or (
            self._max is not None and number > self._max
        ):
            raise ParameterError(
                f"parameter {self._label!r}: value {number!r} is outside its bounds "
                f"[{self._min}, {self._max}]"
            )
        self._value = number
        self._user_set = True

    @property
    def user_set(self) -> bool:
        """Whether the value was chosen (given to the constructor, assigned, set by a
        fit, or read from a model file that did not mark it as a default) rather than
        left at the default its function declares.

        Fits may start a normalisation that is still at its default from the data
        (``JointLikelihood.fit(guess=True)``); they never change a value a user set.
        """
        return self._user_set

    @property
    def quantity(self) -> u.Quantity:
        """Current value as an astropy quantity."""
        return self.value * self._unit

    # -- bounds -----------------------------------------------------------------------
    @property
    def bounds(self) -> tuple[Bound, Bound]:
        """(min_value, max_value); ``None`` means open on that side."""
        return (self._min, self._max)

    @bounds.setter
    def bounds(self, bounds: tuple[Any, Any]) -> None:
        self._set_bounds(bounds, clip_value=True)

    def _set_bounds(self, bounds: tuple[Any, Any], clip_value: bool) -> None:
        """Validate and set bounds; a value outside them is clipped (with a warning)
        when ``clip_value``, as astromodels does, and refused otherwise."""
        try:
            low, high = bounds
        except (TypeError, ValueError):
            raise ParameterError(
                f"parameter {self._label!r}: bounds must be a pair (min, max), got {bounds!r}"
            ) from None
        low = None if low is None else self._to_float(low, "lower bound")
        high = None if high is None else self._to_float(high, "upper bound")
        low = None if low == -math.inf else low
        high = None if high == math.inf else high
        if low == math.inf or high == -math.inf:
            raise ParameterError(f"parameter {self._label!r}: bounds ({low}, {high}) leave no finite value")
        if low is not None and high is not None and not low < high:
            raise ParameterError(
                f"parameter {self._label!r}: bounds need min < max, got ({low}, {high})"
            )
        if self._prior is not None:
            self._truncate(self._prior, low, high)
        if not clip_value and (
            (low is not None and self._value < low) or (high is not None and self._value > high)
        ):
            raise ParameterError(
                f"parameter {self._label!r}: value {self._value!r} is outside its bounds "
                f"[{low}, {high}]"
            )
        self._min, self._max = low, high
        if clip_value:
            self._clip_value_into_bounds()

    @property
    def min_value(self) -> Bound:
        """Lower bound (``None``: open)."""
        return self._min

    @min_value.setter
    def min_value(self, value: Bound) -> None:
        self.bounds = (value, self._max)

    @property
    def max_value(self) -> Bound:
        """Upper bound (``None``: open)."""
        return self._max

    @max_value.setter
    def max_value(self, value: Bound) -> None:
        self.bounds = (self._min, value)

    def _clip_value_into_bounds(self) -> None:
        low = -math.inf if self._min is None else self._min
        high = math.inf if self._max is None else self._max
        if not low <= self._value <= high:
            clipped = min(max(self._value, low), high)
            warnings.warn(
                f"parameter {self._label!r}: value {self._value!r} was outside the new "
                f"bounds [{self._min}, {self._max}] and was set to {clipped!r}",
                JointfitWarning,
                stacklevel=3,
            )
            self._value = clipped

    # -- free / fixed ------------------------------------------------------------------
    @property
    def free(self) -> bool:
        """True if fits vary this parameter (a linked parameter is never free)."""
        return self._free and self._link is None

    @free.setter
    def free(self, free: bool) -> None:
        self._free = bool(free)

    @property
    def fix(self) -> bool:
        """True if the parameter is held fixed (the opposite of :attr:`free`)."""
        return not self._free

    @fix.setter
    def fix(self, fix: bool) -> None:
        self._free = not bool(fix)

    # -- prior ---------------------------------------------------------------------------
    @property
    def prior(self) -> Prior | None:
        """The prior as the user gave it (see :attr:`effective_prior`)."""
        return self._prior

    @prior.setter
    def prior(self, prior: Any) -> None:
        prior = _as_prior(prior, f"parameter {self._label!r}")
        if prior is not None:
            self._truncate(prior, self._min, self._max)
        self._prior = prior

    def set_uninformative_prior(self, prior_type: type[Prior]) -> None:
        """Set ``prior_type(lower_bound=min_value, upper_bound=max_value)``, e.g.
        ``Uniform_prior`` or ``Log_uniform_prior`` (as astromodels does).

        Raises
        ------
        PriorError
            If a bound is open (an uninformative prior needs both).
        """
        if self._min is None or self._max is None:
            raise PriorError(
                f"parameter {self._label!r}: an uninformative prior needs both bounds, but they "
                f"are [{self._min}, {self._max}]; set parameter.bounds first"
            )
        try:
            self.prior = prior_type(lower_bound=self._min, upper_bound=self._max)  # type: ignore[call-arg]
        except PriorError as exc:
            raise PriorError(f"parameter {self._label!r}: {exc}") from None

    @property
    def has_prior(self) -> bool:
        """Whether a prior has been set."""
        return self._prior is not None

    @property
    def effective_prior(self) -> Prior | None:
        """The prior truncated to the bounds: the density samplers actually use."""
        if self._prior is None:
            return None
        return self._truncate(self._prior, self._min, self._max)

    def _truncate(self, prior: Prior, low: Bound, high: Bound) -> Prior:
        try:
            return prior.truncated(low, high)
        except PriorError as exc:
            raise PriorError(f"parameter {self._label!r}: {exc}") from None

    # -- links -----------------------------------------------------------------------------
    @property
    def link(self) -> Link | None:
        """The link making this parameter a function of another, or ``None``."""
        return self._link

    @property
    def is_linked(self) -> bool:
        """Whether this parameter is computed from another (see ``Model.link``)."""
        return self._link is not None

    # -- files ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The state written to model files (links are written by the model); a value
        still at its function's default is marked ``user_set: False`` (files without
        the entry hold values a user chose)."""
        state = {
            "value": self._value,
            "min_value": self._min,
            "max_value": self._max,
            "unit": self._unit.to_string(),
            "free": self._free,
            "prior": None if self._prior is None else self._prior.to_dict(),
            "description": self.description,
        }
        if not self._user_set:
            state["user_set"] = False
        return state

    def update_from_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`to_dict` wrote (the unit must match)."""
        from .priors import prior_from_dict

        unit = _as_unit(state.get("unit", self._unit.to_string()))
        if unit != self._unit:
            raise ParameterError(
                f"parameter {self._label!r}: file gives unit {unit}, expected {self._unit}"
            )
        saved = (self._value, self._min, self._max, self._prior, self._free, self.description, self._user_set)
        try:
            self._prior = None
            self._min = self._max = None
            self._value = self._to_float(state["value"], "value")
            if not math.isfinite(self._value):
                raise ParameterError(f"parameter {self._label!r}: value must be finite, got {self._value}")
            self._set_bounds((state.get("min_value"), state.get("max_value")), clip_value=False)
            self.free = state.get("free", True)
            prior = state.get("prior")
            self.prior = None if prior is None else prior_from_dict(prior)
            self.description = state.get("description", self.description)
            self._user_set = bool(state.get("user_set", True))
        except Exception:
            # all or nothing: a bad entry leaves the parameter as it was
            self._value, self._min, self._max, self._prior, self._free, self.description, self._user_set = saved
            raise
