"""Batches of any length through one compiled program.

UltraNest hands its callbacks batches whose length changes from call to call (a few
hundred points at first, a handful late in a run). A program compiled per length costs
about a second of XLA time each on the CPU, several times what the calls themselves
cost over a whole run. :class:`RowProgram` compiles once for a fixed capacity and takes
the number of valid rows as an argument: a compiled loop goes over them in steps of a
few rows, each step vectorised (``jax.vmap``), and stops at the last valid row, so no
time goes to padding beyond one step.

The step is small on the CPU, where per-point costs stop falling after a few rows, and
the whole capacity on accelerators, where one wide step is what they are good at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._background import in_background
from ._compile import compile_for_work

__all__ = ["RowProgram"]


def default_rows_per_step(capacity: int) -> int:
    """Rows evaluated together in one step of the loop: 4 on the CPU (measured on the
    seed-003 likelihood: as fast per point as padded ``vmap`` programs of 4 to 64 rows),
    the whole capacity elsewhere."""
    return 4 if jax.default_backend() == "cpu" else capacity


class RowProgram:
    """``function`` (one row of ``n_in`` floats -> a pytree of arrays) over batches of
    any number of rows, compiled once, in the background, from construction.

    Parameters
    ----------
    function : callable
        Pure JAX function of one row.
    n_in : int
        Length of a row.
    capacity : int
        Rows per compiled call; longer batches go in pieces of this length.
    rows_per_run : float
        Expected number of rows evaluated over a run (chooses the XLA pipeline,
        :func:`~jointfit._compile.compile_for_work`).
    """

    def __init__(self, function: Callable[[Any], Any], n_in: int, *, capacity: int = 512,
                 rows_per_run: float = 50_000) -> None:
        step = default_rows_per_step(capacity)
        capacity = -(-capacity // step) * step  # a whole number of steps
        per_step = jax.vmap(function)

        def over_rows(rows: Any, n_valid: Any) -> Any:
            def body(i: Any, outputs: Any) -> Any:
                values = per_step(jax.lax.dynamic_slice_in_dim(rows, i * step, step))
                return jax.tree_util.tree_map(
                    lambda out, value: jax.lax.dynamic_update_slice_in_dim(out, value, i * step, 0), outputs, values)

            shapes = jax.eval_shape(per_step, jax.ShapeDtypeStruct((capacity, n_in), rows.dtype))
            empty = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
            return jax.lax.fori_loop(0, (n_valid + step - 1) // step, body, empty)

        traced_shapes = (jax.ShapeDtypeStruct((capacity, n_in), np.float64), jax.ShapeDtypeStruct((), np.int64))
        self.capacity = capacity
        self._buffer = np.zeros((capacity, n_in))
        self._program = in_background(
            lambda: compile_for_work(jax.jit(over_rows).trace(*traced_shapes), rows_per_run / step))

    def __call__(self, rows: np.ndarray, reduce: Callable[[Any], Any] | None = None) -> Any:
        """``function`` of every row of ``rows`` (shape ``(n, n_in)``), outputs as numpy
        arrays with ``n`` leading rows; ``reduce``, if given, is applied to each piece's
        outputs before the pieces are joined (to keep less than every row's output)."""
        program = self._program.result()
        n = rows.shape[0]
        outputs = []
        for start in range(0, max(n, 1), self.capacity):
            piece = rows[start:start + self.capacity]
            self._buffer[:piece.shape[0]] = piece
            self._buffer[piece.shape[0]:] = piece[-1] if piece.shape[0] else 0.5
            out = program(self._buffer, np.int64(piece.shape[0]))
            # copied out (which waits for the call) before the buffer is written again: on
            # the CPU the program may read the buffer's memory in place, asynchronously
            out = jax.tree_util.tree_map(lambda value, k=piece.shape[0]: np.array(value[:k]), out)
            outputs.append(out if reduce is None else reduce(out))
        if len(outputs) == 1:
            return outputs[0]
        return jax.tree_util.tree_map(lambda *pieces: np.concatenate(pieces), *outputs)

    def cancel(self) -> None:
        """Drop the compilation if it has not started (nothing was asked of it)."""
        self._program.cancel()
