"""One compiled program for batches of any length (UltraNest's callbacks)."""

import jax.numpy as jnp
import numpy as np
import pytest

import jointfit  # noqa: F401  (64-bit mode)
from jointfit._batches import RowProgram


def row_function(row):
    return {"sum": jnp.sum(row**2), "scaled": 2.0 * row}


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 16, 23, 40])
def test_every_row_is_evaluated_once_whatever_the_batch_length(n):
    program = RowProgram(row_function, 3, capacity=16)
    rows = np.random.default_rng(n).normal(size=(n, 3))
    out = program(rows)
    assert out["sum"].shape == (n,) and out["scaled"].shape == (n, 3)
    np.testing.assert_allclose(out["sum"], np.sum(rows**2, axis=1), rtol=1e-15)
    np.testing.assert_array_equal(out["scaled"], 2.0 * rows)

