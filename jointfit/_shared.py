"""Compiled programs shared by analyses of one structure.

A catalogue fits many sources with one model through one instrument: their programs
differ only in the arrays they close over (counts, responses, backgrounds), which JAX
embeds in each program as constants, so every source compiles its own. While
:func:`sharing_programs` is on, :func:`~jointfit._compile.compile_for_work` compiles a
program once per structure instead (the jaxpr's text, which holds every operation,
shape and scalar, with its constants' shapes and types) as a function of the constants
and the arguments, and each analysis calls it with its own constants: a source then
costs its tracing and no compilation. Scalars a program holds as literals (a fixed
parameter's value, say) are part of its structure: sources differing in them get
programs of their own.

The structure (:func:`structure_key`) is read from the jaxpr's equations rather than
its printed text, which costs ~0.3 s for a spectrum's likelihood. It holds what the
text holds: each operation and its parameters, the shapes and types of values, the
literals' values, sub-programs recursively and, unlike the text, a fingerprint of the
values of the arrays a sub-program closes over (those are not arguments of the shared
program, so they must agree). Functions among the parameters (custom derivative
rules) are known by their names, as in the text: a rule of the same name that closes
over other data would be taken for the same (JAX's own rules close over none).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np

__all__ = ["sharing_programs", "is_sharing", "shared_program", "structure_key", "SharingStatistics", "statistics"]

_lock = threading.Lock()
_programs: dict[tuple, Any] = {}
_enabled = 0  # process-wide (background compilations run in other threads): a count of open contexts


class SharingStatistics:
    """How many programs were looked up while sharing, and how many were compiled."""

    def __init__(self) -> None:
        self.lookups = 0
        self.compiled = 0

    def __repr__(self) -> str:
        return f"SharingStatistics(lookups={self.lookups}, compiled={self.compiled})"


statistics = SharingStatistics()


@contextlib.contextmanager
def sharing_programs() -> Iterator[None]:
    """Within this block (process-wide), programs of one structure are compiled once
    and shared by every analysis that builds one (see the module's docstring)."""
    global _enabled
    with _lock:
        _enabled += 1
    try:
        yield
    finally:
        with _lock:
            _enabled -= 1


def is_sharing() -> bool:
    """Whether :func:`sharing_programs` is on."""
    return _enabled > 0


def shared_program(traced: Any, compile_program: Callable[[Any], Any]) -> Callable[..., Any]:
    """A callable with the arguments and results of ``traced`` (a
    :class:`jax.stages.Traced`), run by a program of its structure compiled once by
    ``compile_program`` (a function of a ``Traced`` that returns its compiled program)."""
    closed = traced.jaxpr
    jaxpr, consts = closed.jaxpr, [np.asarray(c) if not isinstance(c, jax.Array) else c for c in closed.consts]
    key = structure_key(closed)
    with _lock:
        statistics.lookups += 1
        program = _programs.get(key)
    if program is None:
        def evaluate(constants: list[Any], *arguments: Any) -> list[Any]:
            return jax.core.eval_jaxpr(jaxpr, constants, *arguments)

        constant_shapes = [jax.ShapeDtypeStruct(np.shape(c), np.result_type(c)) for c in consts]
        argument_shapes = [jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in jaxpr.invars]
        program = compile_program(jax.jit(evaluate).trace(constant_shapes, *argument_shapes))
        with _lock:
            program = _programs.setdefault(key, program)
            statistics.compiled += 1
    output_tree = jax.tree_util.tree_structure(traced.out_info)

    def call(*arguments: Any) -> Any:
        return jax.tree_util.tree_unflatten(output_tree, program(consts, *jax.tree_util.tree_leaves(arguments)))

    return call


def structure_key(closed: Any) -> tuple:
    """What makes two closed jaxprs one program once their top-level constants are
    arguments (see the module's docstring)."""
    consts = closed.consts
    return (_jaxpr_key(closed.jaxpr), tuple((np.shape(c), str(np.result_type(c))) for c in consts))


def _jaxpr_key(jaxpr: Any) -> tuple:
    numbers: dict[Any, int] = {}

    def number(variable: Any) -> Any:
        if hasattr(variable, "val"):  # a Literal
            return ("literal", repr(variable.val), str(variable.aval))
        return numbers.setdefault(variable, len(numbers))

    head = tuple((number(v), str(v.aval)) for v in (*jaxpr.constvars, *jaxpr.invars))
    body = []
    for equation in jaxpr.eqns:
        inputs = tuple(number(v) for v in equation.invars)
        outputs = tuple((number(v), str(v.aval)) for v in equation.outvars)
        params = tuple((name, _param_key(value)) for name, value in sorted(equation.params.items()))
        body.append((equation.primitive.name, inputs, outputs, params))
    return head, tuple(body), tuple(number(v) for v in jaxpr.outvars)


def _param_key(value: Any) -> Any:
    from jax.extend import core as jax_core

    if isinstance(value, jax_core.ClosedJaxpr):
        return ("closed", _jaxpr_key(value.jaxpr),
                tuple((np.shape(c), str(np.result_type(c)), hash(np.asarray(c).tobytes())) for c in value.consts))
    if isinstance(value, jax_core.Jaxpr):
        return ("open", _jaxpr_key(value))
    if isinstance(value, (tuple, list)):
        return tuple(_param_key(item) for item in value)
    if callable(value) and not isinstance(value, type):
        return ("function", getattr(value, "__qualname__", type(value).__name__))
    return repr(value)
