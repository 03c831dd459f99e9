"""NUTS runs kept on disk, so that an interrupted run goes on where it stopped.

A run's folder (``log_dir``) holds ``nuts_run.json``, what the run is (its settings,
chains, seed and parameters) and its frame (the start point, the potential and
gradient there, the Cholesky factor the chains move in and the coordinates' bound
scales), and one ``nuts_group_<i>.npz`` per group of chains (a chain, or all of them
when vectorised): the next transition, the numpyro state after the last call of the
compiled program (random key, step-size and mass-matrix adaptation included) and the
records so far. Each group file is replaced atomically after every call, so an
interruption loses at most the call in flight, and a resumed run draws exactly what an
uninterrupted one would: each call continues from the state it saved.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import jax
import numpy as np

from .errors import AnalysisError

__all__ = ["RESUME_MODES", "GroupProgress", "NUTSCheckpoint", "NUTSFrame", "check_resume"]

_RUN_FILE = "nuts_run.json"
_GROUP_FILES = "nuts_group_*.npz"
RESUME_MODES = ("resume", "overwrite")


@dataclass(frozen=True)
class NUTSFrame:
    """Where a run's chains start and the coordinates they move in: ``z = start +
    cholesky @ w``.

    Attributes
    ----------
    start : ndarray (n,)
        Start point in the unconstrained space.
    potential_energy : float
        The potential there.
    gradient : ndarray (n,)
        Its gradient there.
    cholesky : ndarray (n, n)
        Lower Cholesky factor of the inverse Hessian at the start (or the identity).
    bound_scales : ndarray (n,) or None
        The ``bound_scales`` of the unconstrained coordinates
        (:meth:`~jointfit.space.ParameterSpace.constrain`): nonzero for the parameters
        whose posterior reaches a bound; None (as in runs saved before there were
        any) is all zeros.
    """

    start: np.ndarray
    potential_energy: float
    gradient: np.ndarray
    cholesky: np.ndarray
    bound_scales: np.ndarray | None = None

    @property
    def scales(self) -> np.ndarray:
        """:attr:`bound_scales`, zeros where None."""
        return np.zeros(np.size(self.start)) if self.bound_scales is None else np.asarray(self.bound_scales, float)


@dataclass
class GroupProgress:
    """A group of chains part-way: the next transition, the state to continue from and
    the records so far (by name, chains first when vectorised)."""

    next_iteration: int
    state: Any
    records: dict[str, np.ndarray]


def check_resume(resume: str) -> None:
    """Raise :class:`~jointfit.errors.AnalysisError` unless ``resume`` is one of
    :data:`RESUME_MODES`."""
    if resume not in RESUME_MODES:
        raise AnalysisError(f"resume must be one of {RESUME_MODES}, not {resume!r}")


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as the Python values JSON writes."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class NUTSCheckpoint:
    """The files of one run in ``log_dir`` (see the module docstring).

    Parameters
    ----------
    log_dir : path
        The run's folder (created if missing).
    description : mapping
        What the run is (settings, chains, seed, parameter names, start options), as
        JSON-able values (numpy scalars included): a folder holding another run
        refuses to resume it.
    resume : {"resume", "overwrite"}
        Go on from the files in ``log_dir``, or delete them and start again.
    """

    def __init__(self, log_dir: str | os.PathLike[str], description: Mapping[str, Any],
                 resume: Literal["resume", "overwrite"] = "resume") -> None:
        check_resume(resume)
        self.folder = Path(log_dir)
        self.description = json.loads(json.dumps(dict(description), default=_plain))  # as it reads back
        self.folder.mkdir(parents=True, exist_ok=True)
        if resume == "overwrite":
            self._remove_run_files()

    def _remove_run_files(self) -> None:
        """Delete the run's files, and temporary files a killed process left."""
        for pattern in (_RUN_FILE, _GROUP_FILES, f".{_RUN_FILE}.*", f".{_GROUP_FILES}.*"):
            for path in self.folder.glob(pattern):
                path.unlink(missing_ok=True)

    def saved_frame(self) -> NUTSFrame | None:
        """The frame of the run in the folder, None when there is none.

        Raises
        ------
        AnalysisError
            The folder holds a different run, or an unreadable one.
        """
        path = self.folder / _RUN_FILE
        if not path.exists():
            return None
        try:
            saved = json.loads(path.read_text())
            description, frame = saved["description"], saved["frame"]
        except (OSError, ValueError, KeyError) as exc:
            raise AnalysisError(f"{path} cannot be read as a NUTS run ({exc}); give resume='overwrite' to start "
                                "again") from exc
        differences = {key: (description.get(key), value) for key, value in self.description.items()
                       if description.get(key) != value}
        if differences:
            listed = "; ".join(f"{key}: {old!r} there, {new!r} now" for key, (old, new) in differences.items())
            raise AnalysisError(f"{self.folder} holds another NUTS run ({listed}): give resume='overwrite' to start "
                                "again there, or another log_dir")
        scales = frame.get("bound_scales")
        return NUTSFrame(np.asarray(frame["start"], dtype=float), float(frame["potential_energy"]),
                         np.asarray(frame["gradient"], dtype=float), np.asarray(frame["cholesky"], dtype=float),
                         None if scales is None else np.asarray(scales, dtype=float))

    def save_frame(self, frame: NUTSFrame) -> None:
        """Write the run's description and frame (before any chain moves), after
        deleting any group files, which belong to no run without one."""
        self._remove_run_files()
        content = {"description": self.description,
                   "frame": {"start": frame.start.tolist(), "potential_energy": frame.potential_energy,
                             "gradient": frame.gradient.tolist(), "cholesky": frame.cholesky.tolist(),
                             "bound_scales": frame.scales.tolist()}}
        _replace(self.folder / _RUN_FILE, lambda handle: handle.write(json.dumps(content, default=_plain).encode()))

    def _group_path(self, index: int) -> Path:
        """File of group ``index``."""
        return self.folder / f"nuts_group_{index}.npz"

    def load_group(self, index: int, placeholder_state: Any) -> GroupProgress | None:
        """Group ``index``'s progress, its state shaped as ``placeholder_state``; None
        when it has not saved any.

        Raises
        ------
        AnalysisError
            A file that cannot be read or whose state does not fit the program.
        """
        path = self._group_path(index)
        if not path.exists():
            return None
        leaves, treedef = jax.tree_util.tree_flatten(placeholder_state)
        try:
            with np.load(path) as saved:
                next_iteration = int(saved["next_iteration"])
                state = [saved[f"state_{k}"] for k in range(len(leaves))]
                records = {key.removeprefix("record_"): saved[key] for key in saved.files if key.startswith("record_")}
        except (OSError, ValueError, KeyError) as exc:
            raise AnalysisError(f"{path} cannot be read as a NUTS checkpoint ({exc}); give resume='overwrite' to "
                                "start again") from exc
        if any(np.shape(a) != np.shape(b) or np.asarray(a).dtype != np.asarray(b).dtype for a, b in zip(state, leaves)):
            raise AnalysisError(f"{path}: its sampler state does not fit this run's program; give "
                                "resume='overwrite' to start again")
        return GroupProgress(next_iteration, jax.tree_util.tree_unflatten(treedef, state), records)

    def save_group(self, index: int, progress: GroupProgress) -> None:
        """Replace group ``index``'s file with ``progress`` (atomically)."""
        arrays = {"next_iteration": np.asarray(progress.next_iteration)}
        arrays.update({f"state_{k}": np.asarray(leaf)
                       for k, leaf in enumerate(jax.tree_util.tree_leaves(progress.state))})
        arrays.update({f"record_{name}": np.asarray(value) for name, value in progress.records.items()})
        _replace(self._group_path(index), lambda handle: np.savez(handle, **arrays))


def _replace(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through a temporary file in its folder and an atomic rename, so
    that it always holds a whole version."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise

