"""Posterior samplers behind one small protocol, found by name in a registry.

A sampler adapter turns a :class:`~jointfit.log_density.JointLogDensity` into posterior
samples of shape ``(chains, draws, n_free)`` plus its own statistics; adding a sampler
is one class with a ``name`` and a ``sample`` method, registered with
:func:`register_sampler`.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import inspect
import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import jax
import numpy as np

from . import _mpi
from ._batches import RowProgram
from ._compile import compile_for_work, jaxpr_work
from ._optimize import hessian_from_gradient, scipy_objective
from .errors import AnalysisError, JointfitWarning
from .nuts_checkpoint import RESUME_MODES as NUTS_RESUME_MODES
from .nuts_checkpoint import NUTSCheckpoint, NUTSFrame
from .space import move_inside
from .starts import normalization_start

__all__ = ["SamplerOutput", "Sampler", "UltraNestSampler", "NUTSSampler", "register_sampler", "get_sampler",
           "available_samplers"]


@dataclass
class SamplerOutput:
    """What a sampler returns: draws ``(chains, draws, n_free)``, per-draw statistics
    ``(chains, draws)`` and scalar attributes (ln Z, call counts...)."""

    samples: np.ndarray
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


class Sampler:
    """Protocol of a sampler adapter.

    Its options are the named parameters of :meth:`sample` after ``density`` (less
    ``on_start``) and the names :meth:`pass_through_options` adds; :attr:`OPTION_ALIASES` accepts other
    spellings (3ML's) of them. :meth:`normalize_options` checks options against these
    before anything runs; a sampler whose ``sample`` takes ``**options`` and that does
    not override :meth:`pass_through_options` has its other options passed unchecked.
    """

    name: ClassVar[str] = ""
    OPTION_ALIASES: ClassVar[dict[str, tuple[str, Callable[[Any], Any] | None]]] = {}
    """Other spellings of options, by spelling: the canonical name and the function
    that turns the value into the canonical option's (``None``: the same value)."""
    OPTION_HINTS: ClassVar[dict[str, str]] = {}
    """Why an option known elsewhere (3ML's) is refused, and what to give instead."""
    QUIET_OPTIONS: ClassVar[dict[str, Any]] = {}
    """Options that ``BayesianAnalysis.sample(quiet=True)`` sets unless they are given."""
    RESUME_MODES: ClassVar[tuple[str, ...]] = ()
    """The modes of a ``resume`` option, for a sampler that keeps its state in a log
    folder (3ML's bools are accepted too); empty for one that has no such option."""

    def sample(self, density: Any, *, on_start: Callable[[], None] | None = None,
               **options: Any) -> SamplerOutput:  # pragma: no cover - protocol
        """Sample ``density``, calling ``on_start()`` once its own programs are queued
        for compilation (the analysis then prepares the results' meanwhile)."""
        raise NotImplementedError

    @classmethod
    def pass_through_options(cls) -> frozenset[str]:
        """Options that :meth:`sample` hands on to the underlying library (none here)."""
        return frozenset()

    @classmethod
    def option_names(cls) -> frozenset[str]:
        """The canonical option names: :meth:`sample`'s named parameters after
        ``density`` (less the analysis's ``on_start`` hook) and
        :meth:`pass_through_options`."""
        named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        parameters = list(inspect.signature(cls.sample).parameters.values())[2:]  # after self, density
        own = {parameter.name for parameter in parameters
               if parameter.kind in named and parameter.name != "on_start"}
        return frozenset(own) | cls.pass_through_options()

    @classmethod
    def normalize_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` under their canonical names, with checked values.

        Raises
        ------
        AnalysisError
            For an option the sampler does not know (the message lists those it
            accepts), two spellings of one option, or a value it cannot take.
        """
        accepted = cls.option_names()
        unknown = [key for key in options if key not in accepted and key not in cls.OPTION_ALIASES]
        open_ended = cls.pass_through_options.__func__ is Sampler.pass_through_options.__func__ and any(
            parameter.kind is inspect.Parameter.VAR_KEYWORD
            for parameter in inspect.signature(cls.sample).parameters.values())
        if open_ended:  # a registered sampler that names no pass-through options: its own business
            unknown = []
        if unknown:
            named = ", ".join(repr(key) + (f" ({cls.OPTION_HINTS[key]})" if key in cls.OPTION_HINTS else "")
                              for key in unknown)
            aliases = ", ".join(f"{alias} (= {canonical})"
                                for alias, (canonical, _) in sorted(cls.OPTION_ALIASES.items()))
            raise AnalysisError(f"unknown {cls.name} option{'s' if len(unknown) > 1 else ''} {named}; the {cls.name} "
                                f"sampler accepts {', '.join(sorted(accepted))}"
                                + (f", and 3ML's {aliases}" if aliases else ""))
        normalized: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, value in options.items():
            canonical, convert = cls.OPTION_ALIASES.get(key, (key, None))
            if canonical in normalized:
                raise AnalysisError(f"{spelled[canonical]!r} and {key!r} both set the {cls.name} option "
                                    f"{canonical!r}; give one of them")
            normalized[canonical] = cls._checked_option(canonical, value if convert is None else convert(value))
            spelled[canonical] = key
        return normalized

    @classmethod
    def _checked_option(cls, name: str, value: Any) -> Any:
        """``value`` of the canonical option ``name`` as :meth:`sample` takes it, or an
        :class:`~jointfit.errors.AnalysisError` where it cannot be (checked before a run
        starts); the sample method itself checks the rest."""
        if name == "resume" and cls.RESUME_MODES:
            return _resume_mode(value, cls.RESUME_MODES)
        return value


def _resume_mode(resume: Any, modes: tuple[str, ...]) -> str:
    """A log folder's resume mode: one of ``modes``, or 3ML's bool (``True``:
    ``"resume"``, ``False``: ``"overwrite"``)."""
    if isinstance(resume, bool | np.bool_):
        return "resume" if resume else "overwrite"
    if isinstance(resume, str) and resume in modes:
        return resume
    raise AnalysisError(f"resume must be one of {modes}, not {resume!r} (or 3ML's bool: True for 'resume', "
                        "False for 'overwrite')")


def _use_mlfriends(value: Any) -> str:
    """3ML's ``use_mlfriends`` as jointfit's ``region_class``."""
    if not isinstance(value, bool | np.bool_):
        raise AnalysisError(f"use_mlfriends must be True or False, not {value!r}")
    return "mlfriends" if value else "ellipsoid"


def _wrapped_flags(wrapped_params: Any, names: Sequence[str] | None) -> list[bool] | None:
    """UltraNest's ``wrapped_params`` (one bool per free parameter) from bools in the
    order of ``names`` or from the paths of the circular parameters; with ``names``
    ``None`` only the form is checked (before the parameters are known)."""
    if isinstance(wrapped_params, str) or not isinstance(wrapped_params, Sequence | np.ndarray):
        raise AnalysisError(f"wrapped_params must be a list of bools (one per free parameter) or of parameter "
                            f"paths, not {wrapped_params!r}")
    items = list(wrapped_params)
    if all(isinstance(item, bool | np.bool_) for item in items):
        if names is not None and len(items) != len(names):
            raise AnalysisError(f"wrapped_params has {len(items)} flags for {len(names)} free parameters "
                                f"{list(names)}")
        return [bool(item) for item in items]
    if not all(isinstance(item, str) for item in items):
        raise AnalysisError(f"wrapped_params must be all bools or all parameter paths, not {items!r}")
    if names is None:
        return None
    unknown = [item for item in items if item not in names]
    if unknown:
        raise AnalysisError(f"wrapped_params names {unknown}, which are not free parameters; they are {list(names)}")
    return [name in items for name in names]


_REGISTRY: dict[str, type[Sampler]] = {}


def register_sampler(cls: type[Sampler]) -> type[Sampler]:
    """Class decorator: make a sampler available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def available_samplers() -> list[str]:
    """Names of the registered samplers."""
    return sorted(_REGISTRY)


def get_sampler(name: str) -> Sampler:
    """A new instance of the sampler called ``name``."""
    try:
        return _REGISTRY[name.lower()]()
    except KeyError:
        raise AnalysisError(f"unknown sampler {name!r}; available samplers are {available_samplers()}") from None


class _UnitCubeDensity:
    """UltraNest's two callbacks from one compiled call per batch.

    UltraNest maps unit-cube points through ``transform`` and then asks ``loglike`` for
    (a subset of) the points it got back. Both are computed in one call when the cube
    points arrive, and ``loglike`` finds its values by row; any other batch is computed.
    One program serves every batch length (:class:`~jointfit._batches.RowProgram`); it
    compiles in the background from the start.
    """

    def __init__(self, density: Any) -> None:
        def transform_and_loglike(u: Any) -> tuple[Any, Any]:
            theta = density.space.prior_transform(u)
            return theta, density._log_likelihood(theta)

        self._n_free = len(density.space.free_names)
        self._both = RowProgram(transform_and_loglike, self._n_free)
        self._log_likelihood = density._log_likelihood
        self._loglike: RowProgram | None = None  # only for points UltraNest did not transform here
        self._values: dict[bytes, float] = {}

    def release(self) -> None:
        """Drop a compilation nothing asked for, so that it does not hold up the
        background thread's later work."""
        self._both.cancel()

    def transform(self, u: np.ndarray) -> np.ndarray:
        theta, values = self._both(np.ascontiguousarray(u, dtype=float))
        self._values = dict(zip(map(bytes, theta), values.tolist()))
        return theta

    def loglike(self, theta: np.ndarray) -> np.ndarray:
        theta = np.ascontiguousarray(theta, dtype=float)
        known = [self._values.get(bytes(row)) for row in theta]
        if any(value is None for value in known):
            if self._loglike is None:
                self._loglike = RowProgram(self._log_likelihood, self._n_free, rows_per_run=1000)
            values = self._loglike(theta)
        else:
            values = np.asarray(known, dtype=float)
        # UltraNest cannot take -inf or NaN: a very low finite value sends the point away
        return np.where(np.isfinite(values), values, -1e300)


CHEAP_POINT_WORK = 1e6
"""Operations per log-likelihood evaluation (:func:`~jointfit._compile.jaxpr_work`)
below which UltraNest draws at least 512 points per batch."""


def _work_per_point(density: Any) -> float:
    """Estimated floating-point operations of one joint log-likelihood evaluation."""
    row = jax.ShapeDtypeStruct((len(density.space.free_names),), np.float64)
    return jaxpr_work(jax.make_jaxpr(density._log_likelihood)(row).jaxpr)


@contextmanager
def _existing_objects_frozen() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off the objects that exist on entry
    (``gc.freeze``) until exit.

    A nested-sampling run makes some 10^4 callbacks, each allocating a few objects, and
    every so often the collector's full pass rescans the whole heap, JAX's and the
    imported packages' hundreds of thousands of objects included: about 2 s of the
    seed case's 28 s run. Objects made during the run are collected as usual.
    """
    if gc.get_freeze_count():  # the caller froze the heap itself: leave it to them
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@register_sampler
class UltraNestSampler(Sampler):
    """Nested sampling with UltraNest's ``ReactiveNestedSampler``, vectorised: each
    batch of live-point proposals is one compiled JAX call of the prior transform and
    one of the log-likelihood."""

    name = "ultranest"
    OPTION_ALIASES = {"chain_name": ("log_dir", None), "use_mlfriends": ("region_class", _use_mlfriends)}
    QUIET_OPTIONS = {"show_status": False}
    RESUME_MODES: ClassVar[tuple[str, ...]] = ("resume", "resume-similar", "overwrite", "subfolder")
    """UltraNest's ``resume`` modes."""
    REGION_CLASSES: ClassVar[tuple[str, ...]] = ("mlfriends", "ellipsoid")
    _SET_BY_JOINTFIT: ClassVar[frozenset[str]] = frozenset({"viz_callback"})
    """``ReactiveNestedSampler.run`` options jointfit sets itself."""

    @classmethod
    def pass_through_options(cls) -> frozenset[str]:
        """The other options of UltraNest's ``ReactiveNestedSampler.run`` (``Lepsilon``,
        ``min_ess``, ``dKL``, ``max_iters``...), read from its signature."""
        import ultranest

        parameters = inspect.signature(ultranest.ReactiveNestedSampler.run).parameters
        return frozenset(parameters) - {"self"} - cls._SET_BY_JOINTFIT

    @classmethod
    def _checked_option(cls, name: str, value: Any) -> Any:
        if name == "region_class" and isinstance(value, str) and value.lower() not in cls.REGION_CLASSES:
            raise AnalysisError(f"unknown UltraNest region_class {value!r}; use one of {list(cls.REGION_CLASSES)} "
                                "or an ultranest.mlfriends region class")
        if name == "stepsampler" and value is not None and not (hasattr(value, "__next__") or callable(value)):
            raise AnalysisError(f"stepsampler must be an UltraNest step sampler (such as "
                                f"ultranest.stepsampler.SliceSampler(...)) or a function of the ReactiveNestedSampler "
                                f"that returns one, not {value!r}")
        if name == "wrapped_params" and value is not None:
            _wrapped_flags(value, None)
        return super()._checked_option(name, value)

    def sample(self, density: Any, *, min_num_live_points: int = 400, dlogz: float = 0.5,
               frac_remain: float = 0.01, log_dir: str | os.PathLike[str] | None = None,
               resume: str | bool = "resume", seed: int | None = 0, show_status: bool = True,
               max_ncalls: int | None = None, ndraw_min: int | None = None, ndraw_max: int = 65536,
               region_class: str | type = "mlfriends", wrapped_params: Sequence[bool | str] | None = None,
               stepsampler: Any = None, on_start: Callable[[], None] | None = None,
               **run_options: Any) -> SamplerOutput:
        """Run UltraNest.

        ``BayesianAnalysis`` takes 3ML's spellings too (:attr:`OPTION_ALIASES`):
        ``chain_name`` for ``log_dir``, ``use_mlfriends=False`` for
        ``region_class="ellipsoid"``; this method takes jointfit's.

        Started by ``mpiexec -n N`` with mpi4py installed, the N processes run one
        nested-sampling run together (UltraNest's own MPI support on
        ``MPI.COMM_WORLD``): each evaluates its share of every batch of proposals, only
        rank 0 writes ``log_dir`` and shows the progress, and every rank returns rank
        0's draws and ln Z, with the attribute ``mpi_ranks`` N (docs/scaling.md).

        Parameters
        ----------
        min_num_live_points, dlogz, frac_remain, max_ncalls
            UltraNest's ``run`` options (its defaults).
        log_dir : path, optional
            Folder where UltraNest keeps its state and results (made if missing; 3ML's
            ``chain_name``, such as ``"chains/fit-"``, is this folder).
        resume : {"resume", "resume-similar", "overwrite", "subfolder"} or bool
            What a run does with a previous one in ``log_dir``: ``"resume"`` goes on
            where it stopped, ``"overwrite"`` starts again (UltraNest's modes; 3ML's
            ``True`` is ``"resume"``, ``False`` ``"overwrite"``). 3ML's default is
            ``"overwrite"``, jointfit's ``"resume"``.
        seed : int or None
            Seeds numpy's global generator, which UltraNest draws from.
        show_status : bool
            UltraNest's progress display and its "[ultranest] ..." messages on the console.
        ndraw_min, ndraw_max : int
            Bounds of the number of points drawn from the region per batch. By default
            ``ndraw_min`` is 512 for likelihoods of under :data:`CHEAP_POINT_WORK`
            operations per point, where UltraNest's bookkeeping per batch costs more
            than the points (the seed case: 2 600 batches instead of 6 800, ~8 % less
            time, ~5 % more evaluations), and UltraNest's own 128 otherwise.
        region_class : {"mlfriends", "ellipsoid"} or UltraNest region class
            ``"mlfriends"`` (UltraNest's and 3ML's default) follows curved and multimodal
            likelihood contours; ``"ellipsoid"`` (``RobustEllipsoidRegion``, 3ML's
            ``use_mlfriends=False``) skips the nearest-neighbour bookkeeping, which is
            cheaper per iteration when the posterior is one roughly elliptical mode.
        wrapped_params : sequence of bool or of str, optional
            Circular parameters (UltraNest wraps their unit-cube coordinate): one bool
            per free parameter in the order of ``density.space.free_names``, as 3ML and
            UltraNest take them, or the paths of the circular ones.
        stepsampler : UltraNest step sampler or callable, optional
            Set as the ``ReactiveNestedSampler``'s ``stepsampler`` (as 3ML does): an
            object such as ``ultranest.stepsampler.SliceSampler(nsteps=10,
            generate_direction=ultranest.stepsampler.generate_mixture_random_direction)``,
            or a function of the ``ReactiveNestedSampler`` that returns one (to size
            it by ``len(sampler.paramnames)``, say).
        **run_options
            UltraNest's other ``ReactiveNestedSampler.run`` options (``Lepsilon``,
            ``min_ess``, ``dKL``, ``max_iters``...; :meth:`pass_through_options`).

        Raises
        ------
        AnalysisError
            For an unknown option or a value it cannot take, before anything runs.
        """
        import ultranest
        import ultranest.mlfriends

        self.normalize_options(run_options)  # unknown names
        aliases = sorted(set(run_options) - self.pass_through_options())
        if aliases:  # BayesianAnalysis renames them; a direct call takes the canonical names
            raise AnalysisError(f"give {', '.join(self.OPTION_ALIASES[a][0] for a in aliases)} rather than 3ML's "
                                f"{', '.join(aliases)} to UltraNestSampler.sample (BayesianAnalysis takes both)")
        resume = self._checked_option("resume", resume)
        regions = {"mlfriends": ultranest.mlfriends.MLFriends, "ellipsoid": ultranest.mlfriends.RobustEllipsoidRegion}
        if isinstance(region_class, str):
            region_class = regions[self._checked_option("region_class", region_class).lower()]
        self._checked_option("stepsampler", stepsampler)

        space = density.space
        space.require_priors()
        wrapped = None if wrapped_params is None else _wrapped_flags(wrapped_params, space.free_names)
        if ndraw_min is None:
            ndraw_min = min(512 if _work_per_point(density) < CHEAP_POINT_WORK else 128, ndraw_max)
        callbacks = _UnitCubeDensity(density)
        if on_start is not None:
            on_start()

        if seed is not None:
            np.random.seed(seed)  # under MPI UltraNest then seeds the other ranks from rank 0's generator
        if log_dir is not None and _mpi.is_root():  # under MPI only rank 0 writes there (UltraNest's log_to_disk)
            Path(log_dir).mkdir(parents=True, exist_ok=True)
        sampler = ultranest.ReactiveNestedSampler(
            list(space.free_names), callbacks.loglike, callbacks.transform, vectorized=True,
            log_dir=None if log_dir is None else os.fspath(log_dir), resume=resume,
            ndraw_min=ndraw_min, ndraw_max=ndraw_max, wrapped_params=wrapped)
        try:
            if stepsampler is not None:
                if not hasattr(stepsampler, "__next__"):  # a function that makes one
                    stepsampler = stepsampler(sampler)
                    if not hasattr(stepsampler, "__next__"):
                        raise AnalysisError(f"the stepsampler function returned {stepsampler!r}, not an UltraNest "
                                            "step sampler")
                sampler.stepsampler = stepsampler
            with _existing_objects_frozen(), _ultranest_console(show_status):
                result = sampler.run(min_num_live_points=min_num_live_points, dlogz=dlogz, frac_remain=frac_remain,
                                     show_status=show_status, viz_callback=False, max_ncalls=max_ncalls,
                                     region_class=region_class, **run_options)
        finally:
            callbacks.release()
        mpi_ranks = int(sampler.mpi_size) if sampler.use_mpi else 1  # UltraNest's own MPI detection
        if mpi_ranks > 1:
            # every rank ends with the same ln Z, but draws its equally weighted posterior
            # sample with its own random generator: all take rank 0's
            result = sampler.comm.bcast(result, root=0)
        samples = np.asarray(result["samples"])[None, :, :]
        attributes = {
            "ln_Z": float(result["logz"]), "ln_Z_error": float(result["logzerr"]),
            "n_calls": int(result["ncall"]), "n_iterations": int(result["niter"]),
            "n_live_points": int(min_num_live_points), "region_class": region_class.__name__, "ndraw_min": int(ndraw_min),
            "effective_sample_size": float(result["ess"])}
        if mpi_ranks > 1:
            attributes["mpi_ranks"] = mpi_ranks
        return SamplerOutput(samples, attributes=attributes)


@contextmanager
def _ultranest_console(show: bool) -> Iterator[None]:
    """UltraNest's messages on the console ("[ultranest] Sampling 400 live points...",
    written by stream handlers of its loggers at INFO) only when ``show`` (its
    ``show_status``, off with ``quiet=True``); warnings, and the debug.log in its log
    folder, either way."""
    if show:
        yield
        return
    import logging

    handlers = [handler for name in ("ultranest", *(n for n in logging.Logger.manager.loggerDict
                                                     if n.startswith("ultranest.")))
                for handler in logging.getLogger(name).handlers
                if type(handler) is logging.StreamHandler]
    levels = [handler.level for handler in handlers]
    for handler in handlers:
        handler.setLevel(max(handler.level, logging.WARNING))
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels):
            handler.setLevel(level)


@register_sampler
class NUTSSampler(Sampler):
    """numpyro's No-U-Turn sampler on the priors' unconstrained space, started at the
    maximum a posteriori point."""

    name = "nuts"
    # 3ML's MCMC setup names (emcee's and zeus's n_iterations and n_burn_in; n_adapt
    # and delta of its NUTS module, which set_sampler does not offer) where they mean
    # what jointfit's options mean
    OPTION_ALIASES = {"n_iterations": ("num_samples", None), "n_burn_in": ("num_warmup", None),
                      "n_adapt": ("num_warmup", None), "delta": ("target_accept_prob", None),
                      "chain_name": ("log_dir", None)}
    OPTION_HINTS = {"n_walkers": "NUTS runs independent chains, not an ensemble of walkers; num_chains sets how many"}
    QUIET_OPTIONS = {"progress_bar": False}
    RESUME_MODES = NUTS_RESUME_MODES

    def sample(self, density: Any, *, num_warmup: int = 500, num_samples: int = 1000, num_chains: int = 1,
               chain_method: str = "parallel", dense_mass: bool = True, target_accept_prob: float = 0.8,
               seed: int = 0, progress_bar: bool = True, init_values: dict[str, float] | None = None,
               max_tree_depth: int = 10, log_dir: str | os.PathLike[str] | None = None,
               resume: Literal["resume", "overwrite"] | bool = "resume",
               on_start: Callable[[], None] | None = None) -> SamplerOutput:
        """Run NUTS (numpyro). ``init_values`` (by path) override the MAP start.

        ``BayesianAnalysis`` takes 3ML's spellings too (:attr:`OPTION_ALIASES`):
        ``n_iterations`` for ``num_samples``, ``n_burn_in`` and ``n_adapt`` for
        ``num_warmup``, ``delta`` for ``target_accept_prob``, ``chain_name`` for
        ``log_dir``; this method takes jointfit's.

        NUTS moves in the unconstrained coordinates ``z`` of the parameter space
        (:meth:`~jointfit.space.ParameterSpace.constrain`), on the potential
        ``-(ln posterior(theta(z)) + ln |d theta / d z|)``; warm-up and sampling run as
        a few compiled calls per chain (:mod:`jointfit.nuts`).

        Parameters
        ----------
        num_warmup, num_samples : int
            Adaptation (step size and mass matrix) and kept transitions per chain.
        num_chains, chain_method
            Number of chains and how they run: ``"parallel"`` (at the same time: one
            device per chain, or with fewer devices a thread per CPU core, the draws of
            ``"sequential"`` bit for bit), ``"sequential"`` or ``"vectorized"`` (the same
            draws up to the rounding of batched arithmetic; :mod:`jointfit.nuts`).
        dense_mass, target_accept_prob, max_tree_depth
            numpyro's NUTS options.
        log_dir : path, optional
            Folder where the run keeps its start and each chain's state and draws after
            every ~5 % of its transitions (:mod:`jointfit.nuts_checkpoint`): a run
            interrupted there goes on where it stopped when called again with the same
            ``log_dir`` (``resume="resume"``), skipping the MAP search and giving the
            draws an uninterrupted run gives; ``resume="overwrite"`` starts again. A
            folder holding a run of other settings, parameters or data is an error.
            3ML's ``True`` is ``"resume"``, ``False`` ``"overwrite"``.
        """
        # scipy is first imported here, not by the MAP search while the background thread
        # traces: two threads importing scipy for the first time can fail half-way
        importlib.import_module("scipy.optimize")

        from .nuts import NUTSPrograms, NUTSSettings, run_nuts

        if num_warmup < 0 or num_samples < 1 or num_chains < 1:
            raise AnalysisError(f"NUTS needs num_warmup >= 0, num_samples >= 1 and num_chains >= 1; got "
                                f"{num_warmup}, {num_samples}, {num_chains}")
        resume = self._checked_option("resume", resume)
        space = density.space
        search = _MAPSearch(density)
        settings = NUTSSettings(num_warmup=num_warmup, num_samples=num_samples, dense_mass=dense_mass,
                                target_accept_prob=target_accept_prob, max_tree_depth=max_tree_depth)
        # compiles in the background while the MAP search runs
        programs = NUTSPrograms(search.potential, space.constrain, len(space.free_names), settings,
                                num_chains=num_chains, chain_method=chain_method)
        if on_start is not None:
            on_start()
        checkpoint = None
        if log_dir is not None:
            description = {"settings": dataclasses.asdict(settings), "num_chains": num_chains, "seed": seed,
                           "vectorized": programs.batched, "parameters": list(space.free_names),
                           "init_values": dict(sorted((init_values or {}).items()))}
            checkpoint = NUTSCheckpoint(log_dir, description, resume)
        frame = None if checkpoint is None else checkpoint.saved_frame()
        if frame is None:
            frame = self._frame(search, init_values)
            if search.start_note is not None and progress_bar:
                print(search.start_note)
            if checkpoint is not None:
                checkpoint.save_frame(frame)
        else:
            energy = search.potential_and_grad(frame.start, frame.scales)[0]
            if not math.isclose(energy, frame.potential_energy, rel_tol=1e-9, abs_tol=1e-9):
                raise AnalysisError(f"the NUTS run in {log_dir} was made with other data or priors: the potential at "
                                    f"its start is {energy!r} now, {frame.potential_energy!r} there; give "
                                    "resume='overwrite' to start again there, or another log_dir")
        if np.any(frame.scales):
            # the posterior reaches a bound: the chains move in coordinates of their own
            # (the program compiled meanwhile is for an ordinary posterior)
            scales = frame.scales
            programs = NUTSPrograms(lambda z: search.potential(z, scales), lambda z: space.constrain(z, scales),
                                    len(space.free_names), settings, num_chains=num_chains,
                                    chain_method=chain_method)
        records = run_nuts(programs, frame, seed=seed, progress_bar=progress_bar, checkpoint=checkpoint)
        samples = records["theta"]
        stats = {"diverging": records["diverging"], "n_steps": records["num_steps"], "energy": records["energy"],
                 "acceptance_rate": records["accept_prob"], "step_size": records["step_size"]}
        divergences = int(np.sum(stats["diverging"]))
        if divergences:
            warnings.warn(f"NUTS: {divergences} divergent transitions after warm-up; raise target_accept_prob "
                          "or reparameterise", JointfitWarning, stacklevel=3)
        _warn_on_poor_mixing(samples, space.free_names)
        return SamplerOutput(samples, stats, {"n_divergences": divergences, "num_warmup": num_warmup,
                                              "chain_method": chain_method})

    @staticmethod
    def _frame(search: _MAPSearch, init_values: dict[str, float] | None) -> NUTSFrame:
        """The chains' coordinates and start, the potential and its gradient there, and
        the Cholesky factor of the inverse Hessian there (the identity where it is not
        positive definite), each direction's scale at most twice the prior's.

        The start is the MAP point. Where a parameter's posterior reaches a bound
        (:func:`_bound_scales`; its MAP may be at the bound, in ``z`` at -inf), the
        parameter gets coordinates of its own
        (:meth:`~jointfit.space.ParameterSpace.constrain`'s ``bound_scales``) and the
        chains start at the mode of the density NUTS samples in them, the potential
        (Jacobian included). ``init_values`` (by path, over the model's values) is the
        start as given, in the space's own coordinates.
        """
        space = search.space
        scales = np.zeros(len(space.free_names))
        if init_values:
            theta0 = np.array([float(init_values.get(name, start)) for name, start in
                               zip(space.free_names, search.start_theta())])
            z0 = np.asarray(search.unconstrain(theta0))
            if not np.all(np.isfinite(z0)):
                raise AnalysisError(f"NUTS start {dict(zip(space.free_names, theta0.tolist()))} lies outside the "
                                    "priors' support")
        else:
            z0 = search.run()
            scales, mode = _bound_scales(search, z0)
            if np.any(scales):
                z0 = search.potential_mode(np.asarray(search.unconstrain(search.constrain(mode), scales)), scales)
        energy, gradient = search.potential_and_grad(z0, scales)
        if not math.isfinite(energy):
            raise AnalysisError(f"the posterior is zero at the NUTS start "
                                f"{dict(zip(space.free_names, np.asarray(search.constrain(z0, scales)).tolist()))}")
        # NUTS moves in coordinates where the posterior has unit scale near the start
        inverse_hessian = _inverse_hessian(lambda z: search.potential_and_grad(z, scales)[1], z0)
        covariance = np.eye(z0.size) if inverse_hessian is None else inverse_hessian
        # a direction nearly flat at the start (a Hessian of 3e-7 there, in the tail of
        # a posterior piled up at a bound) would make the posterior's scale in w a
        # thousandth, which warm-up's identity-regularised mass matrix does not recover:
        # no direction gets more than twice the prior's scale
        shrink = np.minimum(1.0, 2.0 * np.sqrt(_prior_variances(space, scales) / np.diag(covariance)))
        cholesky = np.linalg.cholesky(covariance * np.outer(shrink, shrink))
        return NUTSFrame(np.asarray(z0, dtype=float), float(energy), np.asarray(gradient, dtype=float), cholesky,
                         scales)


AT_BOUND_NATS = 4.0
"""A parameter's posterior reaches a bound (:func:`_bound_scales`) where ``-ln
posterior`` at the bound exceeds its value at the MAP point by less than this (a
Gaussian within 2.8 sigma of the bound, or one cut off by it)."""


def _bound_scales(search: _MAPSearch, z_map: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``bound_scales`` (:meth:`~jointfit.space.ParameterSpace.constrain`) for NUTS: for
    each parameter whose posterior reaches a bound, the distance from that bound of the
    mode of the potential in the space's coordinates (signed: negative for an upper
    bound); 0 for the others. Returned with that mode (``z_map`` where none does).

    The posterior reaches a bound where its density there, the other parameters at the
    MAP point ``z_map``, is within :data:`AT_BOUND_NATS` of the density at the MAP: an
    absorption column below what the data measure, a normalisation with only an upper
    limit, a Gaussian within a few sigma of the bound. In ``ln(theta - bound)``, or the
    logistic, such a posterior is a stretch where the density is flat or rising, then a
    wall where the likelihood cuts it off, whose curvature grows without limit outward
    (as ``exp(2 z)``): a step size adapted to the stretch diverges on the wall, one
    adapted to the wall crawls. ``theta = bound + s softplus(z)``, with ``s`` the
    potential's mode's distance from the bound (about the scale over which the
    likelihood falls), leaves the stretch logarithmic and makes the wall Gaussian, of
    unit scale. A posterior that vanishes at the bound (a log-normal, however wide)
    keeps the space's coordinates, as does one whose mode lies over a quarter of a
    bounded range from the bound (mostly the prior's, a logistic in ``z``).
    """
    space = search.space
    lower, upper = space.support_bounds()
    sides = np.zeros(z_map.size)
    objective_at_map = search.value_and_grad(z_map)[0]
    theta_map = np.asarray(search.constrain(z_map))
    for i, (lo, hi) in enumerate(zip(lower, upper)):
        if not (np.isfinite(lo) or np.isfinite(hi)):
            continue
        at_lower = np.isfinite(lo) and (not np.isfinite(hi) or theta_map[i] - lo < hi - theta_map[i])
        z_bound = z_map.copy()
        # constrain maps -inf to a one-sided bound, and -inf and +inf to the ends of two
        z_bound[i] = np.inf if np.isfinite(lo) and np.isfinite(hi) and not at_lower else -np.inf
        if search.value_and_grad(z_bound)[0] - objective_at_map < AT_BOUND_NATS:
            sides[i] = 1.0 if at_lower else -1.0
    if not np.any(sides):
        return sides, z_map
    mode = search.potential_mode(z_map, np.zeros(z_map.size))
    theta_mode = np.asarray(search.constrain(mode))
    distance = np.where(sides > 0, theta_mode - lower, upper - theta_mode)
    usable = (distance > 0) & (distance < 0.25 * (upper - lower))
    return np.where(usable & (sides != 0), sides * distance, 0.0), mode


def _prior_variances(space: Any, bound_scales: np.ndarray, points: int = 1001) -> np.ndarray:
    """Each free parameter's prior variance in the unconstrained coordinates of
    ``bound_scales``, by the midpoint rule over the prior's quantiles."""
    u = np.repeat(((np.arange(points) + 0.5) / points)[:, None], len(space.free_names), axis=1)
    # one compiled call (kept in the persistent cache) rather than ~0.4 s of operations one by one
    z = np.asarray(jax.jit(lambda u, scales: space.unconstrain(space.prior_transform(u), scales))(u, bound_scales))
    return np.array([np.var(column[np.isfinite(column)]) for column in z.T])


def _warn_on_poor_mixing(samples: np.ndarray, names: tuple[str, ...]) -> None:
    """Warn when R-hat exceeds 1.01 (several chains) or a bulk or tail ESS is below 100
    per chain (Vehtari et al. 2021's thresholds), naming the parameters."""
    from . import _arviz

    chains = samples.shape[0]
    poor = []
    for i, name in enumerate(names):
        draws = samples[..., i]
        r_hat = _arviz.rhat(draws) if chains > 1 else 1.0
        ess = min(_arviz.ess(draws, "bulk"), _arviz.ess(draws, "tail"))
        if r_hat > 1.01 or not ess >= 100 * chains:
            poor.append(f"{name} (R-hat {r_hat:.3f}, ESS {ess:.0f})")
    if poor:
        warnings.warn(f"NUTS chains mix poorly: {', '.join(poor)}; run longer chains or more warm-up",
                      JointfitWarning, stacklevel=4)


def _inverse_hessian(gradient: Callable[[np.ndarray], np.ndarray], z: np.ndarray) -> np.ndarray | None:
    """Inverse Hessian at ``z`` by central differences of a (compiled) gradient: 2 n
    calls and no further compilation. ``None`` unless finite and positive definite."""
    hessian = hessian_from_gradient(gradient, z, 1e-5 * np.maximum(1.0, np.abs(z)))
    if not np.all(np.isfinite(hessian)):
        return None
    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    if eigenvalues[0] <= 0:
        return None
    return (eigenvectors / eigenvalues) @ eigenvectors.T


class _MAPSearch:
    """Maximum a posteriori search by L-BFGS in the unconstrained space ``z``.

    Minimises ``-ln posterior(theta(z))`` (no Jacobian: the MAP of theta, not of z).
    One compiled call gives that objective, the log-Jacobian of ``theta(z)`` and both
    gradients, so NUTS's potential ``objective - ln|J|`` (:attr:`potential`, pure JAX)
    and its gradient at the start cost no compilation of their own. In the coordinates
    of nonzero ``bound_scales`` (:meth:`~jointfit.space.ParameterSpace.constrain`), which
    only posteriors reaching a bound use, a second program takes the scales as an
    argument; the space's own coordinates keep a program without them, so an ordinary
    posterior's MAP search and NUTS run round exactly as they would without that option.
    """

    def __init__(self, density: Any) -> None:
        space = density.space
        log_posterior = density.log_posterior_fn()

        def objective(z: Any, bound_scales: Any = None) -> Any:
            return -log_posterior(space.constrain(z, bound_scales))

        def parts(z: Any, bound_scales: Any = None) -> tuple[Any, Any, Any, Any]:
            value, gradient = jax.value_and_grad(objective)(z, bound_scales)
            log_jacobian, jacobian_gradient = jax.value_and_grad(space.log_jacobian)(z, bound_scales)
            return value, gradient, log_jacobian, jacobian_gradient

        def potential(z: Any, bound_scales: Any = None) -> Any:
            return objective(z, bound_scales) - space.log_jacobian(z, bound_scales)

        self.space = space
        self.density = density
        self.start_note: str | None = None  # what run() did to the start, if anything
        self.potential = potential
        self._parts_jit = jax.jit(parts)
        self._parts_compiled: dict[bool, Any] = {}  # by whether the program takes bound scales
        self.constrain = jax.jit(space.constrain)
        self.unconstrain = jax.jit(space.unconstrain)

    def _parts(self, z: np.ndarray, bound_scales: np.ndarray | None = None) -> tuple[Any, Any, Any, Any]:
        at_bound = bound_scales is not None and bool(np.any(bound_scales))
        if at_bound not in self._parts_compiled:
            # an optimisation and a Hessian take a few hundred calls
            shape = jax.ShapeDtypeStruct((len(self.space.free_names),), float)
            traced = self._parts_jit.trace(shape, shape) if at_bound else self._parts_jit.trace(shape)
            self._parts_compiled[at_bound] = compile_for_work(traced, 300)
        arguments = (np.asarray(z, dtype=float),) + ((np.asarray(bound_scales, dtype=float),) if at_bound else ())
        return self._parts_compiled[at_bound](*arguments)

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective ``-ln posterior(theta(z))`` and its gradient."""
        value, gradient, _, _ = self._parts(z)
        return float(value), np.asarray(gradient)

    def potential_and_grad(self, z: np.ndarray, bound_scales: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``-(ln posterior(theta(z)) + ln|d theta / d z|)`` and its gradient, in the
        coordinates of ``bound_scales`` (None: the space's own)."""
        value, gradient, log_jacobian, jacobian_gradient = self._parts(z, bound_scales)
        return float(value) - float(log_jacobian), np.asarray(gradient) - np.asarray(jacobian_gradient)

    def potential_mode(self, z: np.ndarray, bound_scales: np.ndarray) -> np.ndarray:
        """The mode of the potential in the coordinates of ``bound_scales``, by L-BFGS
        from ``z`` (``z`` itself where that finds no lower finite point)."""
        from scipy import optimize

        start = self.potential_and_grad(z, bound_scales)[0]
        found = optimize.minimize(scipy_objective(lambda x: self.potential_and_grad(x, bound_scales)), z, jac=True,
                                  method="L-BFGS-B")
        better = np.all(np.isfinite(found.x)) and math.isfinite(found.fun) and not found.fun > start
        return found.x if better else np.asarray(z, dtype=float)

    def start_theta(self) -> np.ndarray:
        """The model's current values, moved strictly inside the priors' support."""
        return self._inside_support(np.asarray(self.space.initial_theta, dtype=float))

    def _inside_support(self, theta: np.ndarray) -> np.ndarray:
        return move_inside(theta, *self.space.support_bounds())

    def run(self, guess: bool = True) -> np.ndarray:
        """The MAP point in ``z``, searched from :meth:`start_theta`; with ``guess``, its
        normalisations still at their defaults first scaled to the data (by likelihood,
        within the priors' support: :func:`~jointfit.starts.normalization_start`,
        which leaves its line in :attr:`start_note`)."""
        from scipy import optimize

        start = self.start_theta()
        if guess:
            lower, upper = self.space.support_bounds()
            start, self.start_note = normalization_start(self.density, self.space.model, start, lower, upper)
            start = self._inside_support(start)
        z0 = np.nan_to_num(np.asarray(self.unconstrain(start)))
        return optimize.minimize(scipy_objective(self.value_and_grad), z0, jac=True, method="L-BFGS-B").x


def map_point(density: Any) -> dict[str, float]:
    """Maximum a posteriori point by L-BFGS in the unconstrained space (from the model's
    current values, its normalisations left at their defaults scaled to the data), by
    parameter path."""
    search = _MAPSearch(density)
    theta = np.asarray(search.constrain(search.run()))
    return dict(zip(density.space.free_names, theta.tolist()))
