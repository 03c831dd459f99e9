"""Functions: pure JAX callables with class-declared parameters.

A concrete function declares its parameters as class attributes
(:class:`ParameterSpec`) and implements ``evaluate(x, **parameters)`` as a pure JAX
function. Instances hold :class:`~jointfit.parameter.Parameter` objects, reached as
attributes (``powerlaw.index``); ``instance(x)`` evaluates with the current values.

Functions combine with ``+``, ``-``, ``*`` and ``/`` (with each other or with numbers)
into a :class:`CompositeFunction` whose parameters are named as in astromodels:
``Blackbody() + Powerlaw_flux()`` has ``K_1, kT_1, F_2, index_2, a_2, b_2``.
"""

from __future__ import annotations

import ast
import copy
import math
import importlib.metadata
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import astropy.units as u
import numpy as np
import jax.numpy as jnp

from ..errors import JointfitWarning, ModelError, UnknownNameError
from ..parameter import Parameter

__all__ = [
    "ParameterSpec",
    "OptionSpec",
    "Function",
    "SpectralFunction",
    "CompositeFunction",
    "function_type",
    "function_from_dict",
]

_FUNCTION_TYPES: dict[str, type[Function]] = {}
FUNCTION_ENTRY_POINT_GROUP = "jointfit.functions"


class UnitOf:
    """A parameter unit written in terms of the function's x and y units, as
    astromodels derives them: ``Y / X**2`` is (y unit) / (x unit)^2."""

    def __init__(self, x: int = 0, y: int = 0) -> None:
        self.x, self.y = x, y

    def __mul__(self, other: UnitOf) -> UnitOf:
        return UnitOf(self.x + other.x, self.y + other.y)

    def __truediv__(self, other: UnitOf) -> UnitOf:
        return UnitOf(self.x - other.x, self.y - other.y)

    def __pow__(self, power: int) -> UnitOf:
        return UnitOf(self.x * power, self.y * power)

    def resolve(self, x_unit: u.UnitBase, y_unit: u.UnitBase) -> u.UnitBase:
        """The astropy unit for the given x and y units."""
        return u.Unit(x_unit**self.x * y_unit**self.y)


X = UnitOf(x=1)
Y = UnitOf(y=1)


class ParameterSpec:
    """Declaration of one parameter of a :class:`Function` subclass.

    Parameters
    ----------
    default : float
        Initial value.
    bounds : (float or None, float or None)
        Default bounds (``None``: open).
    unit : str or UnitOf
        Unit of the value: fixed (``"keV"``), or relative to the function's x and y
        units (``Y / X**2``).
    free : bool
        Whether the parameter is free by default.
    description : str
        One line for tables and docs.
    """

    def __init__(
        self,
        default: float,
        *,
        bounds: tuple[float | None, float | None] = (None, None),
        unit: str | UnitOf = "",
        free: bool = True,
        description: str = "",
    ) -> None:
        self.default = default
        self.bounds = bounds
        self.unit = unit
        self.free = free
        self.description = description
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Function | None, owner: type) -> Any:
        if instance is None:
            return self
        return instance._parameters[self.name]

    def __set__(self, instance: Function, value: Any) -> None:
        instance._parameters[self.name].value = value

    def unit_for(self, x_unit: u.UnitBase, y_unit: u.UnitBase) -> u.UnitBase:
        """This parameter's unit for a function with the given x and y units."""
        if isinstance(self.unit, UnitOf):
            return self.unit.resolve(x_unit, y_unit)
        return u.Unit(self.unit)

    def make(self, x_unit: u.UnitBase, y_unit: u.UnitBase, value: Any = None) -> Parameter:
        """A new :class:`Parameter` with this declaration (and ``value`` if given: the
        parameter is then :attr:`~jointfit.parameter.Parameter.user_set`)."""
        return Parameter(
            self.name,
            self.default if value is None else value,
            bounds=self.bounds,
            unit=self.unit_for(x_unit, y_unit),
            free=self.free,
            description=self.description,
            user_set=value is not None,
        )


class OptionSpec:
    """Declaration of a fixed choice of a :class:`Function` subclass that is not a
    parameter (e.g. the abundance table of an absorption model): one of ``allowed``.

    Options are static: they select code or tables at compile time, are never sampled,
    and are written to model files next to the parameters.
    """

    def __init__(
        self,
        default: str,
        *,
        allowed: tuple[str, ...],
        aliases: Mapping[str, str] | None = None,
        description: str = "",
    ) -> None:
        if default not in allowed:
            raise ValueError(f"default {default!r} is not one of {allowed}")
        self.default = default
        self.allowed = tuple(allowed)
        self.aliases = dict(aliases or {})  # other names users know a choice by
        self.description = description
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Function | None, owner: type) -> Any:
        if instance is None:
            return self
        return instance._options[self.name]

    def __set__(self, instance: Function, value: Any) -> None:
        instance._options[self.name] = self.validate(type(instance).__name__, value)

    def validate(self, owner: str, value: Any) -> str:
        """``value`` as stored (case-insensitive match), or :class:`ModelError`."""
        if isinstance(value, str):
            for choice in (*self.allowed, *self.aliases):
                if value.lower() == choice.lower():
                    return self.aliases.get(choice, choice)
        aliases = f" (or {list(self.aliases)})" if self.aliases else ""
        raise ModelError(f"{owner}.{self.name} must be one of {list(self.allowed)}{aliases}, got {value!r}")


class Function:
    """Base of every model function (spectral, spatial, link).

    ``x_unit`` and ``y_unit`` are the units of the independent variable and of the
    value; parameters declared with :class:`UnitOf` take their units from them.
    """

    _specs: ClassVar[dict[str, ParameterSpec]] = {}
    _option_specs: ClassVar[dict[str, OptionSpec]] = {}
    x_unit: u.UnitBase = u.dimensionless_unscaled
    y_unit: u.UnitBase = u.dimensionless_unscaled
    _parameters: dict[str, Parameter]
    _options: dict[str, str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, ParameterSpec] = {}
        options: dict[str, OptionSpec] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, ParameterSpec):
                    specs[key] = value
                elif isinstance(value, OptionSpec):
                    options[key] = value
        cls._specs = specs
        cls._option_specs = options
        # a type whose parameters are made per instance says how to rebuild one
        if (specs or "_new_for_state" in vars(cls)) and not cls.__name__.startswith("_"):
            known = _FUNCTION_TYPES.get(cls.__name__)
            if known is not None and known.__module__ != cls.__module__:
                # model files name functions by class name: say which one they will load
                warnings.warn(f"function {cls.__name__} of {cls.__module__} replaces the one of "
                              f"{known.__module__} when model files are read", JointfitWarning, stacklevel=2)
            _FUNCTION_TYPES[cls.__name__] = cls

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(self._specs) - set(self._option_specs))
        if unknown:
            options = f" and options {list(self._option_specs)}" if self._option_specs else ""
            raise UnknownNameError(
                f"{type(self).__name__} has no parameter(s) {unknown}; "
                f"its parameters are {list(self._specs)}{options}"
            )
        self._parameters = {
            name: spec.make(self.x_unit, self.y_unit, values.get(name))
            for name, spec in self._specs.items()
        }
        self._options = {
            name: spec.validate(type(self).__name__, values.get(name, spec.default))
            for name, spec in self._option_specs.items()
        }

    def set_units(self, x_unit: Any, y_unit: Any) -> None:
        """Give the function new x and y units (values are kept, units relabelled).

        Used when a function serves as a link (x: the target's unit, y: the linked
        parameter's unit) and for the right-hand side of products in composites.
        """
        self.x_unit, self.y_unit = u.Unit(x_unit), u.Unit(y_unit)
        for name, parameter in self._parameters.items():
            parameter._unit = self._specs[name].unit_for(self.x_unit, self.y_unit)

    # -- identity ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Name used in parameter paths (the class name, or ``composite``)."""
        return type(self).__name__

    @property
    def parameters(self) -> dict[str, Parameter]:
        """Parameters by local name, in declaration order (a new dict)."""
        return dict(self._parameters)

    @property
    def free_parameters(self) -> dict[str, Parameter]:
        """The free parameters by local name."""
        return {k: p for k, p in self._parameters.items() if p.free}

    @property
    def options(self) -> dict[str, str]:
        """The fixed choices (not parameters) by name (a new dict)."""
        return dict(self._options)

    def __repr__(self) -> str:
        args = [f"{k}={p.value!r}" for k, p in self._parameters.items()]
        args += [f"{k}={v!r}" for k, v in self._options.items()]
        return f"{self.name}({', '.join(args)})"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters))

    def __getattr__(self, name: str) -> Any:
        # reached only when normal look-up fails: parameters a type makes per instance
        # (no class attribute describes them), else name the parameters that do exist
        if name.startswith("__"):
            raise AttributeError(name)
        parameters = self.__dict__.get("_parameters", {})
        if name in parameters:
            return parameters[name]
        raise UnknownNameError(
            f"{type(self).__name__} has no attribute {name!r}; its parameters are {list(parameters)}"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        # ``function.K = 3`` sets the parameter's value, declared or made per instance
        parameters = self.__dict__.get("_parameters", {})
        if name in parameters:
            parameters[name].value = value
        else:
            object.__setattr__(self, name, value)

    def copy(self) -> Function:
        """An independent deep copy."""
        return copy.deepcopy(self)

    # -- evaluation -----------------------------------------------------------------
    @staticmethod
    def evaluate(x: Any, **parameters: Any) -> Any:
        """The pure JAX formula; subclasses implement it."""
        raise NotImplementedError

    def evaluate_with(self, x: Any, values: Mapping[str, Any]) -> jnp.ndarray:
        """Evaluate at ``x`` with parameter values given by local name (pure JAX);
        options are passed to :meth:`evaluate` as static keyword arguments."""
        return self.evaluate(x, **{name: values[name] for name in self._parameters}, **self._options)

    def current_values(self) -> dict[str, float]:
        """Current parameter values by local name."""
        return {name: p.value for name, p in self._parameters.items()}

    def __call__(self, x: Any) -> Any:
        """Evaluate at ``x`` with the current parameter values."""
        return self.evaluate_with(jnp.asarray(x, dtype=float), self.current_values())

    # -- structure --------------------------------------------------------------------
    @property
    def leaves(self) -> list[Function]:
        """The simple functions this function is made of (itself, for a simple one)."""
        return [self]

    @property
    def components(self) -> dict[str, Callable[[Any, Mapping[str, Any]], Any]]:
        """Named components, each a pure ``(x, values) -> y`` over this function's
        local parameter names (flux tables use these names)."""
        return {self.name: self.evaluate_with}

    # -- algebra --------------------------------------------------------------------------
    def _combine(self, op: str, other: Any, reflected: bool = False) -> CompositeFunction:
        if isinstance(other, bool) or not isinstance(other, Function | int | float):
            return NotImplemented
        if not isinstance(other, Function) and not math.isfinite(other):
            raise ModelError(f"cannot combine {self.name} with the non-finite number {other!r}")
        return CompositeFunction(op, other, self) if reflected else CompositeFunction(op, self, other)

    def __add__(self, other: Any) -> CompositeFunction:
        return self._combine("+", other)

    def __radd__(self, other: Any) -> CompositeFunction:
        return self._combine("+", other, reflected=True)

    def __sub__(self, other: Any) -> CompositeFunction:
        return self._combine("-", other)

    def __rsub__(self, other: Any) -> CompositeFunction:
        return self._combine("-", other, reflected=True)

    def __mul__(self, other: Any) -> CompositeFunction:
        return self._combine("*", other)

    def __rmul__(self, other: Any) -> CompositeFunction:
        return self._combine("*", other, reflected=True)

    def __truediv__(self, other: Any) -> CompositeFunction:
        return self._combine("/", other)

    def __rtruediv__(self, other: Any) -> CompositeFunction:
        return self._combine("/", other, reflected=True)

    def of(self, inner: Function) -> CompositeFunction:
        """The composition ``self(inner(x))`` (astromodels' ``f.of(g)``), e.g.
        ``Powerlaw().of(Redshift(z=0.5))``: the power law evaluated at E (1 + z)."""
        if not isinstance(inner, Function):
            raise ModelError(f"{self.name}.of() takes a function, got {inner!r}")
        return CompositeFunction("of", self, inner)

    # -- files -----------------------------------------------------------------------------
    @classmethod
    def _new_for_state(cls, state: Mapping[str, Any]) -> Function:
        """An instance ready to take ``state`` (what :meth:`to_dict` wrote): a type
        whose parameters depend on the instance makes them here."""
        return cls()

    def to_dict(self) -> dict[str, Any]:
        """``{class name: {parameter: state, option: choice}}``, as written in model files."""
        return {self.name: {**{k: p.to_dict() for k, p in self._parameters.items()}, **self._options}}


class SpectralFunction(Function):
    """A photon spectrum: energy in keV to photons / (cm2 s keV).

    Called with an astropy quantity of energy, returns a quantity.
    """

    x_unit: ClassVar[u.UnitBase] = u.keV
    y_unit: ClassVar[u.UnitBase] = u.Unit("1 / (cm2 s keV)")
    # False for spectral shapes that are no photon spectrum (imaging's band magnitudes):
    # pictures of the model's spectrum leave their sources out
    photon_spectrum: ClassVar[bool] = True
    # True for factors that remove light on its way (gas absorption, dust extinction):
    # fluxes "unabsorbed" set them to one
    absorption: ClassVar[bool] = False
    normalizations: ClassVar[tuple[str, ...]] = ()
    """Parameters the spectrum is proportional to (``K`` of a power law, ``F`` of a
    line): multiplying them by s multiplies the spectrum by s. Fits start those left at
    their defaults from the data (:meth:`normalization_parameters`)."""

    def __call__(self, x: Any) -> Any:
        if isinstance(x, u.Quantity):
            energy = x.to_value(self.x_unit, equivalencies=u.spectral())
            return super().__call__(energy) * self.y_unit
        return super().__call__(x)

    def breakpoints(self) -> np.ndarray:
        """Energies (keV) where the function jumps, fixed whatever the free parameters
        (absorption edges): flux integration splits its panels there. None here."""
        return np.empty(0)

    def valid_energy_range(self) -> tuple[float, float]:
        """Energies (keV, observed frame) where the function is defined: a filter or
        response reaching outside is refused at setup. Everywhere here."""
        return (0.0, math.inf)

    def normalization_parameters(self) -> dict[str, Parameter]:
        """The parameters that scale this spectrum as a whole, by local name: its
        :attr:`normalizations` (scaling them all by s scales the spectrum by s)."""
        return {name: self._parameters[name] for name in self.normalizations}


_OPERATORS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_APPLY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}

# An expression tree: ("leaf", index) | ("const", value) | (op, left, right), op one of
# + - * / or "of" (left evaluated at right(x)).
Tree = tuple[Any, ...]


def _shift(tree: Tree, offset: int) -> Tree:
    if tree[0] == "leaf":
        return ("leaf", tree[1] + offset)
    if tree[0] == "const":
        return tree
    return (tree[0], _shift(tree[1], offset), _shift(tree[2], offset))


class CompositeFunction(SpectralFunction):
    """Functions combined with ``+ - * /``; parameters named ``<name>_<i>`` where ``i``
    counts the simple functions from the left, starting at 1."""

    def __init__(self, op: str, left: Any, right: Any) -> None:
        leaves: list[Function] = []
        trees = []
        for operand in (left, right):
            if isinstance(operand, CompositeFunction):
                trees.append(_shift(operand._tree, len(leaves)))
                leaves.extend(operand._leaves)
            elif isinstance(operand, Function):
                leaves.append(operand)
                trees.append(("leaf", len(leaves)))
            else:
                trees.append(("const", float(operand)))
        self._init_from(leaves, (op, trees[0], trees[1]))

    @classmethod
    def _from_tree(cls, leaves: list[Function], tree: Tree) -> CompositeFunction:
        new = cls.__new__(cls)
        new._init_from(leaves, tree)
        return new

    def _init_from(self, leaves: list[Function], tree: Tree) -> None:
        seen: dict[int, str] = {}
        for leaf in leaves:
            if id(leaf) in seen:
                raise ModelError(
                    f"the same {leaf.name} instance appears twice in one expression; "
                    f"write {leaf.name}() + {leaf.name}() for two independent components"
                )
            seen[id(leaf)] = leaf.name
        object.__setattr__(self, "_leaves", list(leaves))
        object.__setattr__(self, "_options", {})  # options live on the leaves
        object.__setattr__(self, "_tree", tree)
        # As in astromodels, a function on the right of a product or ratio is a pure
        # factor (an absorption, a ratio): its y unit is dimensionless; the argument of
        # a composition maps x to x.
        for i, role in _leaf_roles(tree, leaves).items():
            leaf = leaves[i - 1]
            leaf.set_units(leaf.x_unit, u.dimensionless_unscaled if role == "factor" else leaf.x_unit)
        parameters = {}
        for i, leaf in enumerate(leaves, start=1):
            for name, parameter in leaf._parameters.items():
                parameters[f"{name}_{i}"] = parameter
                parameter._label = f"{name}_{i}"
        object.__setattr__(self, "_parameters", parameters)

    @property
    def name(self) -> str:
        return "composite"

    @property
    def expression(self) -> str:
        """The formula, e.g. ``Blackbody_1 + Powerlaw_flux_2``."""
        return self._format(self._tree, top=True)

    def _format(self, tree: Tree, top: bool = False) -> str:
        if tree[0] == "leaf":
            return f"{self._leaves[tree[1] - 1].name}_{tree[1]}"
        if tree[0] == "const":
            return repr(tree[1])
        if tree[0] == "of":
            return f"{self._format(tree[1])}.of({self._format(tree[2], top=True)})"
        text = f"{self._format(tree[1])} {tree[0]} {self._format(tree[2])}"
        return text if top else f"({text})"

    def __repr__(self) -> str:
        return f"composite({self.expression})"

    def __getattr__(self, name: str) -> Parameter:
        parameters = self.__dict__.get("_parameters", {})
        if name in parameters:
            return parameters[name]
        raise UnknownNameError(
            f"composite function has no attribute {name!r}; its parameters are {list(parameters)}"
        )

    @property
    def leaves(self) -> list[Function]:
        return list(self._leaves)

    def set_units(self, x_unit: Any, y_unit: Any) -> None:
        roles = _leaf_roles(self._tree, self._leaves)
        for i, leaf in enumerate(self._leaves, start=1):
            role = roles.get(i)
            leaf.set_units(x_unit, {"factor": u.dimensionless_unscaled, "argument": x_unit}.get(role, y_unit))

    def _walk(self, tree: Tree, x: Any, values: Mapping[str, Any], transparent: frozenset[int] = frozenset()) -> Any:
        """Evaluate ``tree`` at ``x``; the leaves in ``transparent`` count as 1."""
        if tree[0] == "leaf":
            i = tree[1]
            if i in transparent:
                return 1.0
            leaf = self._leaves[i - 1]
            return leaf.evaluate_with(x, {k: values[f"{k}_{i}"] for k in leaf._parameters})
        if tree[0] == "const":
            return tree[1]
        if tree[0] == "of":
            return self._walk(tree[1], self._walk(tree[2], x, values, transparent), values, transparent)
        return _APPLY[tree[0]](self._walk(tree[1], x, values, transparent),
                               self._walk(tree[2], x, values, transparent))

    def evaluate_with(self, x: Any, values: Mapping[str, Any]) -> jnp.ndarray:
        return self._walk(self._tree, x, values)

    def breakpoints(self) -> np.ndarray:
        """The breakpoints of the functions summed or multiplied (those inside a
        composition's argument move with it, so they are left out)."""
        roles = _leaf_roles(self._tree, self._leaves)
        found = [leaf.breakpoints() for i, leaf in enumerate(self._leaves, start=1)
                 if roles.get(i) != "argument" and isinstance(leaf, SpectralFunction)]
        return np.unique(np.concatenate([np.empty(0), *found]))

    def valid_energy_range(self) -> tuple[float, float]:
        """Where every function summed or multiplied is defined (the intersection of
        their ranges; those inside a composition's argument are left out, as their
        energies are mapped)."""
        roles = _leaf_roles(self._tree, self._leaves)
        ranges = [leaf.valid_energy_range() for i, leaf in enumerate(self._leaves, start=1)
                  if roles.get(i) != "argument" and isinstance(leaf, SpectralFunction)]
        return (max((lo for lo, _ in ranges), default=0.0), min((hi for _, hi in ranges), default=math.inf))

    def normalization_parameters(self) -> dict[str, Parameter]:
        """Normalisations that scale the whole expression together: those of both
        terms of a sum or difference, of one operand of a product (the left one, or the
        right one where the left has none: ``K_2`` of ``TbAbs_1 * Powerlaw_2``, as of
        ``Powerlaw_1 * TbAbs_2``), of a ratio's numerator and of a composition's outer
        function (``K_1`` of ``Powerlaw_1.of(Redshift_2)``)."""
        return {f"{name}_{i}": self._leaves[i - 1]._parameters[name]
                for i, name in _scaling_normalizations(self._tree, self._leaves)}

    @property
    def absorbing_leaves(self) -> frozenset[int]:
        """Indices (from 1) of the factors that remove light (``absorption``: gas, dust)."""
        roles = _leaf_roles(self._tree, self._leaves)
        return frozenset(i for i, leaf in enumerate(self._leaves, start=1)
                         if roles.get(i) == "factor" and getattr(leaf, "absorption", False))

    def unabsorbed(self) -> Callable[[Any, Mapping[str, Any]], Any]:
        """The spectrum with its absorption and extinction factors set to one (XSPEC's
        ``cflux``, Sherpa's unabsorbed ``sample_flux``): ``(x, values) -> photons``."""
        transparent = self.absorbing_leaves

        def spectrum(x: Any, values: Mapping[str, Any]) -> Any:
            return self._walk(self._tree, x, values, transparent)

        return spectrum

    @property
    def components(self) -> dict[str, Callable[[Any, Mapping[str, Any]], Any]]:
        """The additive components, absorbed: see :meth:`component_spectra`."""
        return self.component_spectra(absorbed=True)

    def component_spectra(self, absorbed: bool = True) -> dict[str, Callable[[Any, Mapping[str, Any]], Any]]:
        """The additive components, named as 3ML names them: the function name, or
        ``<name>_n1``, ``<name>_n2``... when a name occurs more than once. Each is the
        function with the factors that multiply the sum it is in (``Blackbody`` of
        ``(Blackbody + Powerlaw) * TbAbs`` is ``Blackbody * TbAbs``, as XSPEC plots
        components), ``absorbed=False`` setting absorption and extinction to one.
        Factors (right of ``*`` or ``/``) are no components, nor are the arguments of
        compositions (``Redshift`` in ``Powerlaw().of(Redshift())``); a component inside
        a composition is evaluated at the composed argument."""
        roles = _leaf_roles(self._tree, self._leaves)
        members = [i for i in range(1, len(self._leaves) + 1) if roles.get(i) not in ("argument", "factor")]
        transparent = frozenset() if absorbed else self.absorbing_leaves
        counts: dict[str, int] = {}
        for i in members:
            counts[self._leaves[i - 1].name] = counts.get(self._leaves[i - 1].name, 0) + 1
        result = {}
        seen: dict[str, int] = {}
        for i in members:
            name = self._leaves[i - 1].name
            seen[name] = seen.get(name, 0) + 1
            label = name if counts[name] == 1 else f"{name}_n{seen[name]}"
            path = _component_tree(self._tree, i)

            def component(x: Any, values: Mapping[str, Any], path: Tree = path) -> Any:
                return self._walk(path, x, values, transparent)

            result[label] = component
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "composite": {
                "expression": self.expression,
                "functions": [leaf.to_dict() for leaf in self._leaves],
            }
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], x_unit: Any = None, y_unit: Any = None) -> CompositeFunction:
        """Inverse of :meth:`to_dict` (``x_unit``, ``y_unit``: see :func:`function_from_dict`)."""
        items = [_split_entry(item) for item in data["functions"]]
        leaves = [function_type(name)() for name, _ in items]
        composite = cls._from_tree(leaves, _parse_expression(data["expression"], [f.name for f in leaves]))
        if x_unit is not None or y_unit is not None:
            composite.set_units(x_unit if x_unit is not None else composite.x_unit,
                                y_unit if y_unit is not None else composite.y_unit)
        for leaf, (_, state) in zip(leaves, items):
            _apply_state(leaf, state)
        return composite


def _leaf_roles(tree: Tree, leaves: list[Function], role: str | None = None) -> dict[int, str]:
    """Leaves that are not spectra of their own: ``"factor"`` (one operand of a product,
    the denominator of a ratio: made dimensionless) and ``"argument"`` (inside ``g`` of
    ``f.of(g)``).

    Of a product, the factor is the right operand, as in astromodels
    (``Powerlaw() * TbAbs()``), unless only the right one has a normalisation: then it
    is the left one, as XSPEC writes models (``TbAbs() * Powerlaw()``,
    ``constant * powerlaw``)."""
    if tree[0] == "leaf":
        return {tree[1]: role} if role else {}
    if tree[0] == "const":
        return {}
    if tree[0] == "of":
        return {**_leaf_roles(tree[1], leaves, role), **_leaf_roles(tree[2], leaves, "argument")}
    left_role, right_role = role, role
    if role is None and tree[0] in ("*", "/"):
        left_is_factor = (tree[0] == "*" and not _scaling_normalizations(tree[1], leaves)
                          and bool(_scaling_normalizations(tree[2], leaves)))
        if left_is_factor:
            left_role = "factor"
        elif _has_leaf(tree[1]):
            right_role = "factor"
    return {**_leaf_roles(tree[1], leaves, left_role), **_leaf_roles(tree[2], leaves, right_role)}


def _component_tree(tree: Tree, index: int) -> Tree | None:
    """The part of the tree that gives leaf ``index``'s share of the spectrum: the
    leaf, the compositions it sits in and the factors of every product or ratio it is
    in, the other terms of its sums dropped; None if the leaf is not in this tree."""
    if tree[0] == "leaf":
        return tree if tree[1] == index else None
    if tree[0] == "const":
        return None
    left, right = _component_tree(tree[1], index), (None if tree[0] == "of" else _component_tree(tree[2], index))
    if tree[0] == "of":
        return None if left is None else ("of", left, tree[2])
    if tree[0] in ("+", "-"):
        if left is not None:
            return left
        return None if right is None else (("-", ("const", 0.0), right) if tree[0] == "-" else right)
    if left is not None:
        return (tree[0], left, tree[2])
    return None if right is None else (tree[0], tree[1], right)


def _scaling_normalizations(tree: Tree, leaves: list[Function]) -> list[tuple[int, str]]:
    """(leaf index, local name) of the normalisations that scale ``tree`` together (see
    :meth:`CompositeFunction.normalization_parameters`)."""
    if tree[0] == "leaf":
        return [(tree[1], name) for name in getattr(leaves[tree[1] - 1], "normalizations", ())]
    if tree[0] == "const":
        return []
    left = _scaling_normalizations(tree[1], leaves)
    if tree[0] in ("+", "-"):
        return left + _scaling_normalizations(tree[2], leaves)
    if tree[0] == "*":
        return left or _scaling_normalizations(tree[2], leaves)
    return left  # a ratio's denominator and a composition's argument do not scale it


def _has_leaf(tree: Tree) -> bool:
    if tree[0] == "leaf":
        return True
    return tree[0] != "const" and (_has_leaf(tree[1]) or _has_leaf(tree[2]))


def _parse_expression(expression: str, names: list[str]) -> Tree:
    """Parse ``Blackbody_1 + Powerlaw_flux_2`` (names: the functions' names in order)."""
    try:
        body = ast.parse(expression, mode="eval").body
    except SyntaxError as exc:
        raise ModelError(f"cannot parse composite expression {expression!r}: {exc}") from None

    def build(node: ast.AST) -> Tree:
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return (_OPERATORS[type(node.op)], build(node.left), build(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return ("const", float(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = build(node.operand)
            if inner[0] == "const":
                return ("const", -inner[1])
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "of"
                and len(node.args) == 1 and not node.keywords):
            return ("of", build(node.func.value), build(node.args[0]))
        if isinstance(node, ast.Name):
            name, _, index = node.id.rpartition("_")
            if index.isdigit() and 1 <= int(index) <= len(names) and names[int(index) - 1] == name:
                return ("leaf", int(index))
        raise ModelError(
            f"composite expression {expression!r}: cannot interpret {ast.unparse(node)!r} "
            f"(expected <function>_<i> names of its {len(names)} functions, numbers, + - * / and .of())"
        )

    return build(body)


def function_type(name: str) -> type[Function]:
    """The function class called ``name``, looking into installed plugins if needed.

    Raises
    ------
    UnknownNameError
        If no function of that name is defined by jointfit or a plugin.
    """
    if name not in _FUNCTION_TYPES:
        for entry_point in importlib.metadata.entry_points(group=FUNCTION_ENTRY_POINT_GROUP):
            if entry_point.name == name:
                entry_point.load()
    try:
        return _FUNCTION_TYPES[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown function {name!r}; known functions are {sorted(_FUNCTION_TYPES)}"
        ) from None


def _split_entry(data: Any) -> tuple[str, Any]:
    if not isinstance(data, Mapping) or len(data) != 1:
        raise ModelError(f"a function must be written as {{name: {{...}}}}, got {data!r}")
    ((name, body),) = data.items()
    return name, body


def _apply_state(function: Function, state: Mapping[str, Any]) -> None:
    """Restore parameter states and options written by :meth:`Function.to_dict`."""
    unknown = sorted(set(state) - set(function._parameters) - set(function._option_specs))
    if unknown:
        raise UnknownNameError(f"function {function.name} has no parameter(s) {unknown}")
    for key, parameter_state in state.items():
        if key in function._option_specs:
            setattr(function, key, parameter_state)
        else:
            function._parameters[key].update_from_dict(parameter_state)


def function_from_dict(data: Mapping[str, Any], x_unit: Any = None, y_unit: Any = None) -> Function:
    """Rebuild a function written by :meth:`Function.to_dict`.

    ``x_unit`` and ``y_unit``, when given, are the units the function had (a link
    function's target and linked parameter), so that its parameters' units match.
    """
    name, body = _split_entry(data)
    if name == "composite":
        return CompositeFunction.from_dict(body, x_unit=x_unit, y_unit=y_unit)
    function = function_type(name)._new_for_state(body)
    if x_unit is not None or y_unit is not None:
        function.set_units(x_unit if x_unit is not None else function.x_unit,
                           y_unit if y_unit is not None else function.y_unit)
    _apply_state(function, body)
    return function
