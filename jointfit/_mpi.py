"""Which MPI process this is, for a run started by ``mpiexec`` (or ``srun``).

UltraNest spreads one nested-sampling run over the processes of ``MPI.COMM_WORLD``
whenever mpi4py imports (:class:`~jointfit.samplers.UltraNestSampler`). Every process
then runs the same script and holds the same results; only the first (rank 0) writes
files and prints them. mpi4py stays optional: without it, or in a process no MPI
launcher started, this is rank 0 of 1 and nothing here imports mpi4py (importing it
initialises MPI).
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["communicator", "rank", "size", "is_root"]

_LAUNCHER_VARIABLES = (
    "OMPI_COMM_WORLD_SIZE",  # Open MPI's mpiexec
    "PMI_SIZE",  # MPICH's and Intel MPI's Hydra, Slurm's srun --mpi=pmi2
    "PMIX_RANK",  # srun --mpi=pmix, Open MPI 5's prterun
    "MV2_COMM_WORLD_SIZE",  # MVAPICH
    "MPI_LOCALNRANKS",  # MPICH
)
"""Environment variables that MPI launchers set in the processes they start."""


def communicator() -> Any | None:
    """mpi4py's ``MPI.COMM_WORLD``, or ``None`` where mpi4py is not installed, fails to
    initialise MPI (no MPI library), or neither an MPI launcher started this process
    nor anything imported ``mpi4py.MPI`` already (UltraNest does when it samples)."""
    if "mpi4py.MPI" not in sys.modules and not any(name in os.environ for name in _LAUNCHER_VARIABLES):
        return None
    try:
        from mpi4py import MPI
    except Exception:  # ImportError, or MPI's own failure to start (as UltraNest, which then runs alone)
        return None
    return MPI.COMM_WORLD


def rank() -> int:
    """This process's rank in ``MPI.COMM_WORLD`` (0 without MPI)."""
    comm = communicator()
    return 0 if comm is None else int(comm.Get_rank())


def size() -> int:
    """The number of processes in ``MPI.COMM_WORLD`` (1 without MPI)."""
    comm = communicator()
    return 1 if comm is None else int(comm.Get_size())


def is_root() -> bool:
    """Whether this process writes and prints: rank 0, or any process without MPI."""
    return rank() == 0
