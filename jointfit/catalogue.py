"""Many independent analyses on a Dask cluster: one catalogue row, one fit.

:func:`fit_catalogue` sends ``build`` and each row's item to Dask workers; every worker
builds the analysis, fits or samples it, and writes that source's results file and
status record as soon as it finishes, so an interrupted run loses nothing and a re-run
with the same ``output`` fits only the sources not finished. Dask does the scheduling,
the retries of tasks whose worker died and the dashboard; nothing here is a pool.

Files in ``output`` (one folder per catalogue):

``catalogue.json``
    The manifest: method, the ids ever submitted, and a fingerprint of ``build``'s
    qualified name; a folder with another catalogue's manifest is refused.
``<id>.nc``
    The source's :class:`~jointfit.results.AnalysisResults` (netCDF), written to a
    temporary name in the folder and renamed (``os.replace``), so it is whole or absent.
``<id>.json``
    The source's status record: its row of the summary, written after the results file.
``summary.csv`` (and ``summary.parquet`` where pyarrow is installed)
    One row per source of this run's items.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import time
import traceback
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._shared import sharing_programs
from .errors import AnalysisError, JointfitWarning

__all__ = ["fit_catalogue"]

METHODS = ("mle", "nuts", "ultranest")
MANIFEST = "catalogue.json"
SUMMARY = "summary"
_FORMAT = "jointfit-catalogue-1"
IN_FLIGHT = 2000
"""Most tasks submitted and not yet collected at any time."""
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # netCDF-4 files are HDF5 files


def fit_catalogue(build: Callable[[Any], Any], items: Mapping[Hashable, Any] | Sequence[Any], *,
                  method: str = "mle", output: str | os.PathLike[str], client: Any = None,
                  fluxes: Sequence[tuple[float, float]] | None = None, flux_unit: str = "erg/(cm2 s)",
                  id: Callable[[Any], Hashable] | None = None, n_workers: int | None = None,
                  progress: bool = True, **options: Any) -> Any:
    """Fit every source of a catalogue on a Dask cluster, one independent analysis each.

    Parameters
    ----------
    build : callable
        ``build(item)`` returns the analysis of one catalogue row: a
        :class:`~jointfit.JointLikelihood`, a :class:`~jointfit.BayesianAnalysis` or a
        ``(Model, DataList)`` pair. It runs on the worker (only ``build`` and the item
        travel, pickled), so it should read the row's files there. An analysis of the
        other kind than ``method`` needs is rebuilt from its ``model`` and ``data``.
    items : mapping or sequence
        The catalogue rows: a mapping ``{source id: item}``, or a sequence whose ids
        are ``id(item)`` (default: the position). Ids become file names.
    method : {"mle", "nuts", "ultranest"}
        ``JointLikelihood.fit`` or ``BayesianAnalysis.sample`` with that sampler
        (``quiet=True``); ``**options`` go to that call (``n_samples=``, ``seed=``,
        the sampler's options).
    output : str or path
        Folder of this catalogue's files (created if missing; see the module).
    client : distributed.Client or str, optional
        A Dask client, or a scheduler's address; by default a ``LocalCluster`` with
        ``n_workers`` single-threaded worker processes (default: one per core), closed
        at the end. A client passed in is left open.
    fluxes : sequence of (float, float), optional
        Energy bands, keV, whose fluxes (``get_flux``) go into the summary.
    flux_unit : str
        Unit of those fluxes.
    progress : bool
        Show a progress bar (tqdm where installed, else a printed count).

    Returns
    -------
    pandas.DataFrame
        One row per item, indexed by ``id``: ``status`` (``"ok"`` or ``"failed"``),
        ``wall_time_s`` (s, on the worker; of the run that produced it), ``log_like``
        (at the best point), each free parameter's value (MLE, or the posterior median)
        and ``<name>_lower`` / ``<name>_upper`` (the 68 % interval: MLE ± σ, or the
        16th and 84th percentiles), ``ln_Z`` and ``ln_Z_error`` (nested sampling),
        the fluxes (``flux_<lo>-<hi>keV`` and its ``_lower`` / ``_upper``, with the
        source name first where the model has several), ``error`` (the failure's
        text), ``file`` (the results file's name) and ``warnings`` (those the fit
        gave, ``" | "``-separated). ``attrs["fitted"]`` and ``attrs["skipped"]`` count the
        sources fitted in this run and those found finished.

    Raises
    ------
    AnalysisError
        For an unknown method, duplicate or unusable ids, or an ``output`` folder that
        holds another catalogue's results; before anything runs. A source whose
        build or fit fails is a ``"failed"`` row instead.
    """
    import pandas as pd

    if method not in METHODS:
        raise AnalysisError(f"method must be one of {METHODS}, got {method!r}")
    sources = _identified(items, id)
    folder = Path(output)
    _claim(folder, method, build, list(sources))
    done = {sid: row for sid in sources if (row := _finished(folder, sid)) is not None}
    todo = [sid for sid in sources if sid not in done]
    rows = dict(done)
    if todo:
        rows.update(_run(build, {sid: sources[sid] for sid in todo}, method, folder, client, n_workers,
                         [tuple(map(float, band)) for band in fluxes or ()], flux_unit, progress, options))
    table = pd.DataFrame([rows[sid] for sid in sources]).set_index("id")
    _write_summary(table, folder)
    table.attrs.update(fitted=len(todo), skipped=len(done))
    return table


# -- ids, manifest, finished sources -----------------------------------------------------------
def _identified(items: Any, id: Callable[[Any], Hashable] | None) -> dict[str, Any]:
    """``{source id: item}`` in catalogue order; ids are checked to be usable file names."""
    if isinstance(items, Mapping):
        if id is not None:
            raise AnalysisError("id= names the ids of a sequence of items; a mapping's keys are its ids")
        pairs = [(str(k), v) for k, v in items.items()]
    else:
        pairs = [(str(id(item) if id is not None else i), item) for i, item in enumerate(items)]
    ids = [k for k, _ in pairs]
    duplicates = sorted(k for k, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise AnalysisError(f"duplicate source ids {duplicates[:10]}: every catalogue row needs its own id")
    for k in ids:
        if not k or k.startswith(".") or os.sep in k or (os.altsep and os.altsep in k) or k == Path(MANIFEST).stem:
            raise AnalysisError(f"source id {k!r} cannot name a file: give ids without path separators, "
                                f"without a leading dot and other than {Path(MANIFEST).stem!r}")
    return dict(pairs)


def _fingerprint(build: Callable[[Any], Any]) -> str:
    return hashlib.sha256(_name(build).encode()).hexdigest()[:16]


def _claim(folder: Path, method: str, build: Callable[[Any], Any], ids: list[str]) -> None:
    """Create ``folder`` and its manifest, or check that its manifest is this
    catalogue's (same method and build function) and add the new ids to it."""
    path = folder / MANIFEST
    fingerprint = _fingerprint(build)
    if path.exists():
        try:
            manifest = json.loads(path.read_text())
            known = (manifest["format"], manifest["method"], manifest["build"], list(manifest["ids"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise AnalysisError(f"{path} is not a catalogue manifest ({exc}); choose another output folder") from None
        if known[:3] != (_FORMAT, method, fingerprint):
            raise AnalysisError(
                f"{folder} holds another catalogue's results (method {manifest['method']!r}, build "
                f"{manifest.get('build_name', '?')!r}; this one: {method!r}, {_name(build)!r}): choose another "
                "output folder, or delete this one to fit afresh")
        seen = set(known[3])
        ids = known[3] + [k for k in ids if k not in seen]
    elif folder.exists() and any(folder.glob("*.nc")):
        raise AnalysisError(f"{folder} holds results files but no {MANIFEST}: it is not a catalogue's folder; "
                            "choose another output folder")
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, json.dumps({"format": _FORMAT, "method": method, "build": fingerprint,
                                        "build_name": _name(build), "ids": ids}, indent=1))


def _name(build: Callable[[Any], Any]) -> str:
    return f"{getattr(build, '__module__', '')}.{getattr(build, '__qualname__', type(build).__qualname__)}"


def _finished(folder: Path, sid: str) -> dict[str, Any] | None:
    """The summary row of a source finished by an earlier run, else None (failed
    sources are fitted again). Finished: its status record says ok and its results
    file is an HDF5 file of the size the record gives (a check of microseconds, where
    reading the file back would cost tens of milliseconds a source)."""
    try:
        record = json.loads((folder / f"{sid}.json").read_text())
        row, size = record["row"], record.get("results_bytes")
        results = folder / f"{sid}.nc"
        if row.get("status") != "ok" or results.stat().st_size != size:
            return None
        with results.open("rb") as file:
            if file.read(len(_HDF5_SIGNATURE)) != _HDF5_SIGNATURE:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return row


# -- the run -------------------------------------------------------------------------------------
def _run(build: Callable[[Any], Any], items: dict[str, Any], method: str, folder: Path, client: Any,
         n_workers: int | None, bands: list[tuple[float, float]], flux_unit: str, progress: bool,
         options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Submit one task per source and collect the rows as they complete."""
    from distributed import Client, LocalCluster, as_completed

    owned: list[Any] = []
    if client is None:
        cluster = LocalCluster(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1, processes=True)
        owned += [cluster, client := Client(cluster)]
    elif isinstance(client, str):
        owned.append(client := Client(client))
    try:
        link = getattr(client, "dashboard_link", None)
        if link:
            print(f"Dask dashboard: {link}")
        run = uuid.uuid4().hex[:8]
        queue = iter(items.items())
        futures: dict[Any, str] = {}

        def submit_next() -> Any:
            sid, item = next(queue)
            future = client.submit(_fit_source, build, item, sid, method, os.fspath(folder.resolve()), bands,
                                   flux_unit, options, key=f"jointfit-fit-{sid}-{run}", pure=False)
            futures[future] = sid
            return future

        # a window of tasks in flight, refilled as they complete: the scheduler never
        # holds a million tasks, and results come back from the first ones at once
        running = as_completed([submit_next() for _ in range(min(IN_FLIGHT, len(items)))])
        rows: dict[str, dict[str, Any]] = {}
        bar = _Progress(len(items), progress)
        for future in running:
            sid = futures.pop(future)
            try:
                rows[sid] = future.result()
            except Exception as exc:  # the task itself catches failures: this is Dask's (a worker killed too often)
                rows[sid] = _failed_row(sid, exc, math.nan)
                _write_atomically(folder / f"{sid}.json", json.dumps({"row": rows[sid]}))
            future.release()
            bar.update()
            if len(rows) + len(futures) < len(items):
                running.add(submit_next())
        bar.close()
        return rows
    finally:
        for thing in reversed(owned):
            thing.close()


class _Progress:
    """tqdm's bar where installed, else a count printed every tenth of the way."""

    def __init__(self, total: int, show: bool) -> None:
        self.total, self.count, self.show, self.bar = total, 0, show, None
        if show:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=total, desc="sources", unit="source")

    def update(self) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update()
        elif self.show and (self.count == self.total or self.count % max(1, self.total // 10) == 0):
            print(f"{self.count}/{self.total} sources done", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# -- on the worker -------------------------------------------------------------------------------
def _fit_source(build: Callable[[Any], Any], item: Any, sid: str, method: str, folder: str,
                bands: list[tuple[float, float]], flux_unit: str, options: dict[str, Any]) -> dict[str, Any]:
    """Build, fit and write one source; its summary row, ``"failed"`` with the error's
    text when anything raises (never raises itself)."""
    start = time.perf_counter()
    final = Path(folder) / f"{sid}.nc"
    temporary = Path(folder) / f".{sid}.{uuid.uuid4().hex}.nc.tmp"
    # jointfit's warnings (a fit that did not converge, chains that mix poorly) go into
    # the row: on a worker they would be lost in its log
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JointfitWarning)
        try:
            analysis = _analysis(build(item), method)
            # sources of one structure share the worker's compiled programs
            with sharing_programs():
                if method == "mle":
                    results = analysis.fit(quiet=True, **options)
                else:
                    results = analysis.sample(method, quiet=True, **options)
            row = {"id": sid, "status": "ok", **_numbers(results, bands, flux_unit)}
            results.write(temporary, overwrite=True)
            os.replace(temporary, final)
            row.update(wall_time_s=time.perf_counter() - start, error="", file=final.name)
            record = {"row": row, "results_bytes": final.stat().st_size}
        except Exception as exc:
            temporary.unlink(missing_ok=True)
            row = _failed_row(sid, exc, time.perf_counter() - start)
            record = {"row": row}
    ours = [w for w in caught if issubclass(w.category, JointfitWarning)]
    for w in caught:
        if not issubclass(w.category, JointfitWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    row["warnings"] = " | ".join(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in ours))
    _write_atomically(Path(folder) / f"{sid}.json", json.dumps(record))
    return row


def _analysis(built: Any, method: str) -> Any:
    """The analysis ``method`` runs, from what ``build`` returned."""
    from .analysis import BayesianAnalysis, JointLikelihood
    from .data_list import DataList
    from .model import Model

    wanted = JointLikelihood if method == "mle" else BayesianAnalysis
    if isinstance(built, wanted):
        return built
    if isinstance(built, (JointLikelihood, BayesianAnalysis)):
        return wanted(built.model, built.data)
    if isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], Model) \
            and isinstance(built[1], DataList):
        return wanted(*built)
    raise AnalysisError(f"build returned a {type(built).__module__}.{type(built).__qualname__}, not an analysis: "
                        "return a JointLikelihood, a BayesianAnalysis or a (Model, DataList) pair")


def _numbers(results: Any, bands: list[tuple[float, float]], flux_unit: str) -> dict[str, float]:
    """The summary's numbers of one source's results."""
    row: dict[str, float] = {"log_like": float(sum(results.log_likelihood_per_plugin().values()))}
    if results.analysis == "mle":
        best = results.point_estimates()
        for name in results.free_parameters:
            value = float(best.loc[name, "value"])
            row[name] = value
            row[f"{name}_lower"] = value + float(best.loc[name, "negative_error"])
            row[f"{name}_upper"] = value + float(best.loc[name, "positive_error"])
    else:
        for name in results.free_parameters:
            low, median, high = np.quantile(results.samples(name), [0.16, 0.5, 0.84])
            row.update({name: float(median), f"{name}_lower": float(low), f"{name}_upper": float(high)})
    if results.sampler == "ultranest":
        row.update(ln_Z=results.ln_Z, ln_Z_error=results.ln_Z_error)
    for low, high in bands:
        table = results.get_flux(low, high, flux_unit=flux_unit)
        for label in table.index:
            column = f"flux_{low:g}-{high:g}keV" if len(table) == 1 else f"flux_{label}_{low:g}-{high:g}keV"
            row.update({column: float(table.loc[label, "value"]), f"{column}_lower": float(table.loc[label, "lower"]),
                        f"{column}_upper": float(table.loc[label, "upper"])})
    return row


def _failed_row(sid: str, exc: BaseException, wall_time: float) -> dict[str, Any]:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {"id": sid, "status": "failed", "wall_time_s": wall_time, "error": text, "file": "", "warnings": ""}


# -- files ---------------------------------------------------------------------------------------
def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_summary(table: Any, folder: Path) -> None:
    _write_atomically(folder / f"{SUMMARY}.csv", table.to_csv())
    if importlib.util.find_spec("pyarrow") is None:
        return
    temporary = folder / f".{SUMMARY}.{uuid.uuid4().hex}.parquet.tmp"
    table.to_parquet(temporary)
    os.replace(temporary, folder / f"{SUMMARY}.parquet")
