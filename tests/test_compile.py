"""The choice of XLA pipeline: the work estimate, the threshold and the override, and
that both pipelines compute the same numbers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jointfit  # noqa: F401  (64-bit mode)
from jointfit._compile import (QUICK_COMPILE_WORK, compile_for_work, jaxpr_work, supported_compile_options,
                               use_quick_pipeline)


def work_of(function, *shapes) -> float:
    return jaxpr_work(jax.make_jaxpr(function)(*(jax.ShapeDtypeStruct(s, float) for s in shapes)).jaxpr)


def test_matrix_product_counts_two_operations_per_multiply_add():
    assert work_of(lambda a, b: a @ b, (30, 40), (40, 50)) == 2 * 30 * 40 * 50


def test_elementwise_operations_count_their_largest_operand():
    assert work_of(lambda x: jnp.exp(x) + 1.0, (7, 11)) == 2 * 7 * 11


def test_scan_counts_its_body_times_its_length_and_cond_its_costliest_branch():
    def scanned(x):
        return jax.lax.scan(lambda c, _: (c @ x, None), x, None, length=9)[0]

    assert work_of(scanned, (6, 6)) == 9 * 2 * 6 ** 3

    def branching(x):
        return jax.lax.cond(x[0, 0] > 0, lambda y: y @ y, lambda y: y + 1.0, x)

    assert work_of(branching, (6, 6)) >= 2 * 6 ** 3


def test_fft_counts_n_log_n():
    assert work_of(lambda x: jnp.fft.rfft(x), (1024,)) >= 5 * 1024 * 10


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the pipelines differ only on the CPU")
def test_threshold_and_environment_override(monkeypatch):
    monkeypatch.delenv("JOINTFIT_QUICK_COMPILE", raising=False)
    assert use_quick_pipeline(QUICK_COMPILE_WORK / 20, 10)
    assert not use_quick_pipeline(QUICK_COMPILE_WORK / 5, 10)
    monkeypatch.setenv("JOINTFIT_QUICK_COMPILE", "0")
    assert not use_quick_pipeline(1.0, 1)
    monkeypatch.setenv("JOINTFIT_QUICK_COMPILE", "1")
    assert use_quick_pipeline(1e30, 1)


@pytest.mark.parametrize("quick", ["0", "1"])
def test_both_pipelines_compute_the_same_values_and_gradients(monkeypatch, quick):
    monkeypatch.setenv("JOINTFIT_QUICK_COMPILE", quick)
    energies = np.geomspace(1.0, 1000.0, 300)

    def log_like(p):
        model = jnp.exp(p[0]) * energies ** p[1] / jnp.expm1(energies / jnp.exp(p[2]))
        return jnp.sum(jnp.log(model) - model)

    program = compile_for_work(jax.jit(jax.value_and_grad(log_like)).trace(jnp.zeros(3)), 1)
    p = np.array([0.3, -1.2, 3.0])
    value, gradient = program(p)
    e = energies
    model = np.exp(p[0]) * e ** p[1] / np.expm1(e / np.exp(p[2]))
    dmodel = np.stack([model, model * np.log(e), model * (e / np.exp(p[2])) * np.exp(e / np.exp(p[2]))
                       / np.expm1(e / np.exp(p[2]))])
    np.testing.assert_allclose(value, np.sum(np.log(model) - model), rtol=1e-12)
    np.testing.assert_allclose(gradient, (dmodel * (1.0 / model - 1.0)).sum(axis=1), rtol=1e-10)


def test_compile_options_this_jaxlib_does_not_know_are_left_out():
    # jaxlib 0.12 dropped xla_cpu_use_fusion_emitters: compiling with it is an error there
    known = {"xla_llvm_disable_expensive_passes": True}
    options = supported_compile_options({**known, "xla_jointfit_no_such_option": True})
    assert options == known
    program = jax.jit(lambda x: 2.0 * x).trace(jnp.zeros(2)).lower().compile(options)
    np.testing.assert_array_equal(program(np.array([1.0, 3.0])), [2.0, 6.0])


def test_an_option_of_the_wrong_type_is_an_error_not_an_unknown_option():
    with pytest.raises(Exception, match="(?i)xla_llvm_disable_expensive_passes"):
        supported_compile_options({"xla_llvm_disable_expensive_passes": "not a bool"})


def test_jax_options_this_release_does_not_know_are_skipped():
    from jointfit import _configure_jax

    assert _configure_jax("jax_jointfit_no_such_option", True) is False
    assert _configure_jax("jax_enable_x64", True) is True
    assert jnp.ones(1).dtype == jnp.float64
