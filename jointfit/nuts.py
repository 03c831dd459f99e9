"""NUTS chains as a few calls of one compiled program: numpyro's HMC kernels driven by
``lax.scan``.

numpyro's ``MCMC`` starts a chain by evaluating the potential and its gradient outside
any compiled loop (each a compilation of its own) and, with a progress bar, steps the
chain one compiled call per iteration. Here a chain is about twenty calls of one
program, ``advance``: a fixed number of NUTS transitions, warm-up adaptation included,
in one ``lax.scan``; the first call also makes the chain's initial state with numpyro's
``init_kernel`` from a point whose potential and gradient are already known (the MAP
search computed them). The progress bar moves between calls, without host callbacks
inside the compiled program (which would keep JAX's persistent compilation cache from
storing it).

The program is compiled once per analysis and reused by every chain; chains run one
after the other (``"sequential"``), as one vectorised computation (``"vectorized"``) or
at the same time (``"parallel"``): on a device each, or, with fewer devices than chains,
as the one-chain program called from a thread per CPU core. XLA spreads one call over
the cores only in part (three Sérsic images: 15.5 ms per gradient on one core, 11.8 ms
on two), so two chains at once on two cores did 1.4x the transitions per second of one
after the other, and 1.9x for a small likelihood. The draws are those of
``"sequential"``, bit for bit: each chain is the same program from the same key.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

# imported with this module, in the caller's thread: the programs are built in a
# background thread, and two threads importing numpyro at once can leave one of them
# a half-initialised numpyro.distributions
from numpyro.infer.hmc import hmc
from numpyro.infer.util import ParamInfo

from ._background import in_background
from ._compile import compile_for_work
from .errors import AnalysisError
from .nuts_checkpoint import GroupProgress, NUTSCheckpoint, NUTSFrame

__all__ = ["NUTSPrograms", "NUTSSettings", "run_nuts"]

_CALLS_PER_CHAIN = 20  # progress updates per chain; the compiled program does not depend on it otherwise
_STATE_FIELDS = ("potential_energy", "energy", "diverging", "num_steps", "accept_prob")  # of numpyro's HMCState
_RECORDED = ("theta", *_STATE_FIELDS, "step_size")


@dataclass(frozen=True)
class NUTSSettings:
    """numpyro NUTS options that shape the compiled programs."""

    num_warmup: int = 500
    num_samples: int = 1000
    dense_mass: bool = True
    target_accept_prob: float = 0.8
    max_tree_depth: int = 10

    @property
    def iterations(self) -> int:
        return self.num_warmup + self.num_samples

    @property
    def chunk(self) -> int:
        """Transitions per compiled call."""
        return max(1, math.ceil(self.iterations / _CALLS_PER_CHAIN))


def _chunk_program(potential: Callable[[Any], Any], to_theta: Callable[[Any], Any],
                   settings: NUTSSettings) -> tuple[Callable, Callable]:
    """Pure ``advance(state, first_iteration, start, offset, cholesky) -> (state,
    records)`` for one chain moving in ``w`` where ``z = offset + cholesky @ w``, and
    ``initial_state(start, offset, cholesky)``, the state a first call makes.

    ``start`` is ``(seed, chain, w, potential_energy, gradient)``; when
    ``first_iteration`` is 0 the chain starts there and ``state`` is ignored.
    """
    def potential_of_w(offset: Any, cholesky: Any) -> Callable[[Any], Any]:
        return lambda w: potential(offset + cholesky @ w)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_of_w, algo="NUTS")

    def initial_state(start: tuple, offset: Any, cholesky: Any) -> Any:
        seed, chain, w, potential_energy, gradient = start
        key = jax.random.fold_in(jax.random.PRNGKey(seed), chain)
        return init_kernel(ParamInfo(w, potential_energy, gradient), settings.num_warmup,
                           dense_mass=settings.dense_mass, target_accept_prob=settings.target_accept_prob,
                           max_tree_depth=settings.max_tree_depth, model_args=(offset, cholesky), rng_key=key)

    def advance(state: Any, first_iteration: Any, start: tuple, offset: Any,
                cholesky: Any) -> tuple[Any, dict[str, Any]]:
        state = jax.lax.cond(first_iteration == 0, lambda: initial_state(start, offset, cholesky), lambda: state)

        def transition(state: Any, iteration: Any) -> tuple[Any, dict[str, Any]]:
            # the last call may reach past the run's end: those transitions are skipped
            state = jax.lax.cond(iteration < settings.iterations,
                                 lambda s: sample_kernel(s, model_args=(offset, cholesky)), lambda s: s, state)
            record = {name: getattr(state, name) for name in _STATE_FIELDS}
            record["theta"] = to_theta(offset + cholesky @ state.z)
            record["step_size"] = state.adapt_state.step_size
            return state, record

        return jax.lax.scan(transition, state, first_iteration + jnp.arange(settings.chunk))

    return advance, initial_state


class NUTSPrograms:
    """The compiled ``advance`` program of a run, traced and compiled in a background
    thread.

    It needs only shapes, so the work starts at construction
    (:func:`~jointfit._background.in_background`) and overlaps with whatever the caller
    does next (the MAP search). ``chain_method`` ``"sequential"`` compiles the one-chain
    program, ``"vectorized"`` its ``vmap`` over chains, ``"parallel"`` its ``pmap`` when
    there is a device per chain, else on the CPU the one-chain program, run by
    :attr:`concurrent_chains` threads, and on an accelerator the ``vmap`` (one chain:
    the one-chain program).

    Parameters
    ----------
    potential : callable
        Pure JAX ``z -> potential energy`` (minus the log-density of ``z``).
    to_theta : callable
        Pure JAX map from ``z`` to the recorded coordinates (the model's parameters).
    n_free : int
        Length of ``z``.
    settings : NUTSSettings
        Warm-up and sampling lengths, mass matrix and step-size options.
    """

    def __init__(self, potential: Callable[[Any], Any], to_theta: Callable[[Any], Any], n_free: int,
                 settings: NUTSSettings, *, num_chains: int = 1, chain_method: str = "sequential") -> None:
        if chain_method not in ("sequential", "vectorized", "parallel"):
            raise AnalysisError(f"chain_method must be 'sequential', 'vectorized' or 'parallel', not {chain_method!r}")
        self.settings, self.chain_method, self.num_chains = settings, chain_method, num_chains
        parallel = chain_method == "parallel" and num_chains > 1
        self.on_devices = parallel and jax.local_device_count() >= num_chains
        # on one accelerator, threads would hold a copy of the program's memory per
        # chain: there the chains run as one vectorised program instead
        threads = parallel and not self.on_devices and jax.default_backend() == "cpu"
        self.batched = chain_method == "vectorized" or (parallel and not threads)
        self.concurrent_chains = max(1, min(num_chains, _cpu_cores())) if threads else 1
        self._advance = in_background(self._compile, potential, to_theta, n_free)

    def _compile(self, potential: Callable[[Any], Any], to_theta: Callable[[Any], Any], n_free: int) -> Any:
        advance, initial_state = _chunk_program(potential, to_theta, self.settings)
        batch: tuple[int, ...] = (self.num_chains,) if self.batched else ()
        vector, matrix = jax.ShapeDtypeStruct(batch + (n_free,), float), jax.ShapeDtypeStruct(batch + (n_free,) * 2, float)
        integer, scalar = jax.ShapeDtypeStruct(batch, np.int32), jax.ShapeDtypeStruct(batch, float)
        start = (integer, integer, vector, scalar, vector)
        # tracing the initial state first also sets the kernels' warm-up settings that
        # the transitions read
        initial = initial_state if not batch else jax.vmap(initial_state)
        state = jax.eval_shape(initial, start, vector, matrix)
        self.placeholder_state = jax.tree_util.tree_map(lambda leaf: np.zeros(leaf.shape, leaf.dtype), state)
        if self.on_devices:
            return jax.pmap(advance, in_axes=(0, None, 0, 0, 0)).lower(state, 0, start, vector, matrix).compile()
        program = jax.jit(advance if not batch else jax.vmap(advance, in_axes=(0, None, 0, 0, 0)))
        # the work estimate counts a call's transitions with one pass each through the
        # leapfrog loop; a transition makes about ten (a tree of depth 3 to 4)
        calls = math.ceil(self.settings.iterations / self.settings.chunk) * (1 if batch else self.num_chains)
        return compile_for_work(program.trace(state, 0, start, vector, matrix), 10 * calls)

    @property
    def advance(self) -> Any:
        """Compiled ``advance`` (waits for its compilation)."""
        return self._advance.result()


def run_nuts(programs: NUTSPrograms, frame: NUTSFrame, *, seed: int = 0, progress_bar: bool = True,
             checkpoint: NUTSCheckpoint | None = None) -> dict[str, np.ndarray]:
    """Run the chains of ``programs`` from one point ``z``.

    The chains move in ``w = L^-1 (z - start)``, with ``L L^T`` the inverse Hessian of the
    potential at the start (:attr:`NUTSFrame.cholesky`): the posterior is then of unit
    scale and roughly uncorrelated whatever the parameters' units, which is what
    numpyro's warm-up (mass matrix regularised toward the identity, step size from 1)
    assumes.

    Parameters
    ----------
    programs : NUTSPrograms
        The compiled programs (settings, number of chains and how they run).
    frame : NUTSFrame
        Start point, the potential and its gradient there, and the Cholesky factor.
    seed : int
        Seed of the chains' random keys (chain ``i`` folds ``i`` into it).
    progress_bar : bool
        A tqdm bar over all transitions, with the current step size and acceptance.
    checkpoint : NUTSCheckpoint, optional
        Saves each group of chains after every call, and resumes the groups it holds.

    Returns
    -------
    dict
        Post-warm-up records by name (``theta``, ``potential_energy``, ``energy``,
        ``diverging``, ``num_steps``, ``accept_prob``, ``step_size``), each shaped
        ``(chains, num_samples, ...)``.
    """
    settings, num_chains = programs.settings, programs.num_chains
    n, cholesky = np.size(frame.start), frame.cholesky

    def per_chain(value: Any, dtype: Any = float) -> np.ndarray:
        value = np.asarray(value, dtype=dtype)
        return np.broadcast_to(value, (num_chains,) + value.shape).copy()

    arguments = [per_chain(seed, np.int32), np.arange(num_chains, dtype=np.int32), per_chain(np.zeros(n)),
                 per_chain(frame.potential_energy), per_chain(cholesky.T @ frame.gradient), per_chain(frame.start),
                 per_chain(cholesky)]
    batched = programs.batched
    groups = [tuple(arguments)] if batched else [tuple(a[i] for a in arguments) for i in range(num_chains)]

    advance = programs.advance
    bar = _progress(settings.iterations * num_chains, progress_bar)
    bar_lock, stop = threading.Lock(), threading.Event()
    warming_up: set[int] = set()  # running groups still in warm-up, for the bar's description

    axis = 1 if batched else 0  # of the transitions in a group's records

    def run_group(index: int, chain_arguments: tuple) -> dict[str, np.ndarray]:
        chain_start, (offset, chol) = chain_arguments[:5], chain_arguments[5:]
        saved = None if checkpoint is None else checkpoint.load_group(index, programs.placeholder_state)
        progress = saved or GroupProgress(0, programs.placeholder_state, {})
        with bar_lock:
            warming_up.add(index)
            if bar is not None and progress.next_iteration:
                bar.update(progress.next_iteration * (num_chains if batched else 1))
        for first in range(progress.next_iteration, settings.iterations, settings.chunk):
            if stop.is_set():
                raise _Stopped
            state, record = advance(progress.state, first, chain_start, offset, chol)
            record = jax.tree_util.tree_map(np.asarray, record)
            done = min(settings.chunk, settings.iterations - first)
            new = {name: record[name][:, :done] if batched else record[name][:done] for name in _RECORDED}
            records = {name: np.concatenate([progress.records[name], new[name]], axis=axis)
                       if progress.records else new[name] for name in _RECORDED}
            progress = GroupProgress(first + done, state, records)
            if checkpoint is not None:
                checkpoint.save_group(index, progress)
            if bar is not None:
                with bar_lock:
                    if first + done > settings.num_warmup:
                        warming_up.discard(index)
                    bar.set_description("warmup" if warming_up else "sample")
                    bar.set_postfix(step_size=f"{np.mean(record['step_size'][..., done - 1]):.3g}",
                                    acceptance=f"{np.mean(new['accept_prob']):.2f}", refresh=False)
                    bar.update(done * (num_chains if batched else 1))
        kept = slice(settings.num_warmup, settings.iterations)
        return {name: value[:, kept] if batched else value[kept][None] for name, value in progress.records.items()}

    try:
        if programs.concurrent_chains > 1:
            with ThreadPoolExecutor(programs.concurrent_chains, thread_name_prefix="jointfit-chain") as pool:
                futures = []
                try:
                    futures = [pool.submit(run_group, i, group) for i, group in enumerate(groups)]
                    wait(futures, return_when=FIRST_EXCEPTION)
                    failed = [f for f in futures if f.done() and not f.cancelled() and f.exception() is not None]
                    if failed:
                        raise failed[0].exception()
                    chains = [future.result() for future in futures]
                except BaseException:
                    # an interrupt or a failed chain: the others stop after their current call
                    stop.set()
                    for future in futures:
                        future.cancel()
                    raise
        else:
            chains = [run_group(i, group) for i, group in enumerate(groups)]
    finally:
        if bar is not None:
            bar.close()
    return {name: np.concatenate([c[name] for c in chains], axis=0) for name in _RECORDED}


class _Stopped(Exception):
    """A chain left off because another one failed or the run was interrupted."""


def _cpu_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="it", desc="warmup")
