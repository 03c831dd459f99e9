"""One background thread for work that only needs shapes: tracing and XLA compilation.

XLA compiles on one core and releases the GIL, so a program whose argument shapes are
known early can be traced and compiled while the main thread does other work (an
optimisation, a sampling run). Jobs run one at a time, in the order they were queued;
a job's exception is raised where its result is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["in_background"]

_EXECUTOR: ThreadPoolExecutor | None = None


def in_background(job: Callable[..., Any], *args: Any) -> Future:
    """Queue ``job(*args)`` on jointfit's background thread; returns its future."""
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jointfit-compile")
    return _EXECUTOR.submit(job, *args)
