"""Which XLA pipeline compiles a program: the one that finishes the whole run soonest.

On the CPU, XLA's default pipeline (fusion emitters, LLVM's full optimisation) makes
the fastest code for large arrays but needs seconds for a NUTS program; for the small
likelihoods of most spectral fits the sampling then costs less than its compilation.
XLA's quicker pipeline (loop emitters, no expensive LLVM passes) compiles such a
program in about half the time, and its code is up to ~20 % slower per call on small
arrays and ~45 % on large ones (measured on the seed-003 likelihood and on a 256x256
image likelihood). A program is therefore compiled quickly when its estimated work
(:func:`jaxpr_work`) times the number of times the run executes it is below
:data:`QUICK_COMPILE_WORK`. ``JOINTFIT_QUICK_COMPILE=0`` always uses the default
pipeline, ``=1`` always the quick one.

XLA's options come and go between jaxlib releases (jaxlib 0.12 no longer knows
``xla_cpu_use_fusion_emitters``), and compiling with an unknown one is an error: each
option is tried once on a trivial program and only those this jaxlib accepts are used
(:func:`supported_compile_options`).
"""

from __future__ import annotations

import functools
import logging
import math
import os
from typing import Any

import jax
from jax.extend import core as jax_core

__all__ = ["QUICK_COMPILE_WORK", "compile_for_work", "jaxpr_work", "supported_compile_options"]

QUICK_COMPILE_WORK = 2e10
"""Floating-point work (operations, :func:`jaxpr_work`) of a program over a whole run
below which it is compiled with the quick pipeline: a few seconds of one CPU core."""

_QUICK_CPU_PIPELINE = {"xla_cpu_use_fusion_emitters": False, "xla_llvm_disable_expensive_passes": True}


def supported_compile_options(options: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``options`` (XLA compile options) that this jaxlib accepts.

    Each option is tried once, on its own, in the compilation of a trivial program;
    the answer is kept for the rest of the process. Errors other than an unknown
    option are raised.
    """
    return {name: value for name, value in options.items() if _accepts_option(name, value)}


@functools.cache
def _accepts_option(name: str, value: Any) -> bool:
    probe = jax.jit(lambda x: x + 1.0).trace(jax.ShapeDtypeStruct((), float)).lower()
    try:
        probe.compile({name: value})
    except Exception as exc:  # jaxlib's runtime error type has moved between releases
        if "no such compile option" in str(exc).lower():
            logging.getLogger(__name__).debug("this jaxlib has no XLA option %s: compiling without it", name)
            return False
        raise
    return True


def _elements(variable: Any) -> int:
    return math.prod(getattr(getattr(variable, "aval", None), "shape", ()))


def _subjaxprs(params: dict[str, Any]) -> list[Any]:
    found = []
    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, jax_core.ClosedJaxpr):
                found.append(item.jaxpr)
            elif isinstance(item, jax_core.Jaxpr):
                found.append(item)
    return found


def jaxpr_work(jaxpr: Any) -> float:
    """Rough floating-point operation count of one evaluation of ``jaxpr``.

    Elementwise operations count their largest operand, ``dot_general`` two operations
    per multiply-add, FFTs ``5 N log2 N``; a ``cond`` counts its costliest branch, a
    ``scan`` its body times its length, and other loops their body once (their trip
    count is not known before they run). Within a factor of a few of XLA's own
    estimate, and free, where XLA's costs a conversion of the whole program.
    """
    total = 0.0
    for equation in jaxpr.eqns:
        name, params = equation.primitive.name, equation.params
        inner = [jaxpr_work(sub) for sub in _subjaxprs(params)]
        if inner:
            if name == "cond":
                total += max(inner)
            elif name == "scan":
                total += params["length"] * sum(inner)
            else:
                total += sum(inner)
        elif name == "dot_general":
            (contracted, _), _ = params["dimension_numbers"]
            depth = math.prod(equation.invars[0].aval.shape[axis] for axis in contracted)
            total += 2.0 * depth * sum(_elements(v) for v in equation.outvars)
        else:
            size = max([_elements(v) for v in equation.outvars] + [_elements(v) for v in equation.invars])
            if name == "fft":
                size *= 5.0 * math.log2(max(2, math.prod(params["fft_lengths"])))
            total += size
    return total


def use_quick_pipeline(work: float, executions: float) -> bool:
    """Whether a program of ``work`` operations executed ``executions`` times is
    compiled with XLA's quick CPU pipeline."""
    choice = os.environ.get("JOINTFIT_QUICK_COMPILE", "auto")
    if jax.default_backend() != "cpu" or choice == "0":
        return False
    return choice == "1" or work * executions < QUICK_COMPILE_WORK


def compile_for_work(traced: Any, executions: float) -> Any:
    """Lower and compile ``traced`` (a :class:`jax.stages.Traced`, from
    ``jax.jit(f).trace(...)``) with the pipeline that finishes a run of ``executions``
    executions soonest (see the module's docstring); while
    :func:`~jointfit._shared.sharing_programs` is on, one program serves every
    ``traced`` of the same structure."""
    from ._shared import is_sharing, shared_program

    quick = use_quick_pipeline(jaxpr_work(traced.jaxpr.jaxpr), executions)
    options = supported_compile_options(_QUICK_CPU_PIPELINE) if quick else None
    if is_sharing():
        return shared_program(traced, lambda evaluate: evaluate.lower().compile(options))
    return traced.lower().compile(options)
