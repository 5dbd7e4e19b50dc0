"""Sweeps: one notebook, many parameter sets, one container per set.

:func:`plan_sweep` decides what runs - the parameter sets (:mod:`.sweep_grid`), checked
against the notebook's ``parameters`` cell, and with ``--resume`` only those not yet
complete in the results folder - before any image is built. :func:`execute_sweep` hands
the runs to a backend (:mod:`.backends`), and, as each one ends, writes its executed
notebook and the results table, so that the folder always holds every complete result:

``DIR/0003-alpha=0.5-seed=2.ipynb``
    the executed notebook of run 3 (with its ``injected-parameters`` cell), atomically
``DIR/results.json``
    ``{"schema_version": 1, "notebook", "image", "backend", "parameters", "collect",
    "summary", "failed", "runs": [row, ...]}`` (a row: :meth:`SweepRun.to_dict`)
``DIR/results.csv``
    one line per run: index, status, seconds, error, notebook, then one column per
    parameter and per ``--collect`` name (``NAME (collected)`` when it is also a
    parameter); strings as they are, other values as JSON

Progress goes out as SWEEP events (``step`` runs done of ``total``, ``data`` with
``done``, ``running``, ``failed``, ``eta``); a failed run is a warning as it happens.
"""
from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Set, Tuple

from ..._fs import atomic_write_text, atomic_writer
from ...engine.base import ContainerEngine, ContainerLimits
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import InputError, RunInterrupted
from .backends.base import SweepBackend
from .sweep_grid import Grid, check_sets, expand, parameter_names, run_file_name
from .sweep_task import RunSpec, SweepJob, SweepRun, TaskEnd, TaskStream, run_result

__all__ = ["SweepPlan", "SweepOutcome", "plan_sweep", "make_job", "execute_sweep",
           "image_notebook", "RESULTS_JSON", "RESULTS_CSV", "format_table"]

RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
_SCHEMA = 1


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will do: every run, those still to run and the rows kept from an
    earlier sweep in ``out`` (``--resume``)."""

    notebook_name: str
    source: Optional[Mapping[str, Any]]
    names: Tuple[str, ...]
    runs: Tuple[RunSpec, ...]
    todo: Tuple[RunSpec, ...]
    kept: Mapping[int, SweepRun]
    out: Path
    collect: Tuple[str, ...]

    @property
    def width(self) -> int:
        """Digits of the index in file names (at least 4)."""
        return max(4, len(str(len(self.runs) - 1)))


@dataclass(frozen=True)
class SweepOutcome:
    """A sweep's result: every row (by index), where they are, and what ran."""

    runs: Tuple[SweepRun, ...]
    out: Path
    image: str
    backend: str
    notebook: str
    parameters: Tuple[str, ...] = ()
    collect: Tuple[str, ...] = ()
    emitted: Tuple[Path, ...] = ()   # --emit: the files written instead of running
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every run succeeded."""
        return all(run.ok for run in self.runs)

    @property
    def failed(self) -> Tuple[int, ...]:
        """Indexes of the runs that did not succeed (not run included)."""
        return tuple(run.index for run in self.runs if not run.ok)

    def to_dict(self) -> Dict[str, Any]:
        """``results.json``'s document (``--json`` prints it)."""
        counts: Dict[str, int] = {"total": len(self.runs), "ok": 0, "failed": 0,
                                  "not_run": 0}
        for run in self.runs:
            key = "ok" if run.ok else "not_run" if run.status == "not_run" else "failed"
            counts[key] += 1
        return {"schema_version": _SCHEMA, "notebook": self.notebook, "image": self.image,
                "backend": self.backend, "parameters": list(self.parameters),
                "collect": list(self.collect), "summary": counts,
                "failed": list(self.failed), "runs": [r.to_dict() for r in self.runs]}


# -- planning --------------------------------------------------------------------------

def image_notebook(engine: ContainerEngine, image: str) -> Tuple[str, Mapping[str, Any]]:
    """The notebook baked into ``image`` (name and nbformat JSON), read from a container
    that only starts Python: a sweep needs its ``parameters`` cell before running."""
    from .execute import image_notebook_path

    name = image_notebook_path(engine, image)
    result = engine.run(image, ["python", "-c", ""], files_out=[name])
    if name not in result.files:
        raise InputError(f"image {image} does not hold its notebook {name}: give the "
                         "NOTEBOOK too")
    try:
        return name, json.loads(result.files[name].decode("utf-8"))
    except ValueError:
        raise InputError(f"the notebook {name} in {image} is not valid JSON") from None


def plan_sweep(notebook_name: str, source: Mapping[str, Any], *, out: Path,
               grid: Optional[Grid] = None, values: Mapping[str, Sequence[Any]] = {},
               seeds: Optional[int] = None, collect: Sequence[str] = (),
               resume: bool = False, send_source: bool = True,
               check_out: bool = True) -> SweepPlan:
    """The parameter sets, checked against the notebook's ``parameters`` cell, and what
    ``out`` already holds (unless ``check_out`` is False: ``--emit`` runs nothing).
    Every mistake here is an :class:`InputError` (exit 2)."""
    import nbformat

    nb = nbformat.from_dict(json.loads(json.dumps(source)))
    names = parameter_names(nb, notebook_name)
    sets = check_sets(expand(grid, values, seeds), names, notebook_name)
    runs = tuple(RunSpec(i, s) for i, s in enumerate(sets))
    kept = _previous(out, notebook_name, runs, resume) if check_out else {}
    todo = tuple(r for r in runs if r.index not in kept)
    for cell in nb.cells:   # the runner clears them anyway: keep the payload small
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return SweepPlan(notebook_name, nb if send_source else None, names, runs, todo, kept,
                     out, tuple(collect))


def _previous(out: Path, notebook_name: str, runs: Sequence[RunSpec],
              resume: bool) -> Dict[int, SweepRun]:
    """Rows of an earlier sweep in ``out`` that ``--resume`` keeps: those that succeeded
    with the same parameters and whose notebook is still there."""
    results = out / RESULTS_JSON
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    if not results.is_file():
        if out.is_dir() and any(out.iterdir()) and not resume:
            raise InputError(f"--out {out} is not empty and holds no sweep results: choose "
                             "an empty or new folder")
        return {}
    if not resume:
        raise InputError(f"--out {out} already holds sweep results: pass --resume to run "
                         "only what is missing, or choose another folder")
    try:
        doc = json.loads(results.read_text(encoding="utf-8"))
        rows = [SweepRun.from_dict(row) for row in doc.get("runs", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{results} is not readable sweep results ({exc}); remove it or "
                         "choose another folder") from None
    if doc.get("notebook") != notebook_name:
        raise InputError(f"{results} holds a sweep of {doc.get('notebook')}, not of "
                         f"{notebook_name}: choose another folder")
    wanted = {r.index: dict(r.parameters) for r in runs}
    return {row.index: row for row in rows
            if row.ok and wanted.get(row.index) == dict(row.parameters)
            and row.notebook and (out / row.notebook).is_file()}


# -- running ---------------------------------------------------------------------------

def _eta(seconds: float) -> str:
    seconds = int(math.ceil(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class _Results:
    """The results folder and the progress of a running sweep (thread-safe)."""

    def __init__(self, plan: SweepPlan, image: str, backend: str, limits: ContainerLimits,
                 cell_timeout: Optional[float], on_event: Optional[EventHandler]) -> None:
        self.plan = plan
        self.image = image
        self.backend = backend
        self.limits = limits
        self.cell_timeout = cell_timeout
        self.on_event = on_event
        self.rows: Dict[int, SweepRun] = {r.index: plan.kept.get(r.index) or
                                          SweepRun(r.index, r.parameters) for r in plan.runs}
        self.specs = {r.index: r for r in plan.runs}
        self.running: Set[int] = set()
        self.done = 0
        self.failed = 0
        self.started_at = time.monotonic()
        self.lock = threading.Lock()

    # TaskSink ----------------------------------------------------------------------
    def started(self, index: int) -> None:
        with self.lock:
            self.running.add(index)
            self._progress()

    def finished(self, index: int, stream: TaskStream, end: TaskEnd) -> None:
        with self.lock:
            if index not in self.specs or self.rows[index].status != "not_run":
                return  # a duplicate (an orchestrator's retry): the first result counts
            row = run_result(self.specs[index], stream, end, image=self.image,
                             collect=self.plan.collect, limits=self.limits,
                             cell_timeout=self.cell_timeout)
            data = stream.notebook()
            if data is not None:
                name = run_file_name(index, row.parameters, self.plan.width)
                with atomic_writer(self.plan.out / name) as fh:
                    fh.write(data)
                row = _with_notebook(row, name)
            self.rows[index] = row
            self.running.discard(index)
            self.done += 1
            if not row.ok:
                self.failed += 1
                params = ", ".join(f"{k}={v!r}" for k, v in row.parameters.items())
                emit(self.on_event, Event(Phase.SWEEP, "warning",
                                          f"run {index} ({params}) failed: {row.error}",
                                          data={"index": index, "status": row.status}))
            self.write()
            self._progress()

    # -------------------------------------------------------------------------------
    def _progress(self) -> None:
        total = len(self.plan.todo)
        elapsed = time.monotonic() - self.started_at
        eta = elapsed / self.done * (total - self.done) if self.done else None
        left = f" · about {_eta(eta)} left" if eta is not None and self.done < total else ""
        emit(self.on_event, Event(
            Phase.SWEEP, "progress",
            f"done · {len(self.running)} running · {self.failed} failed{left}",
            step=self.done, total=total,
            data={"done": self.done, "running": len(self.running), "failed": self.failed,
                  "eta": eta}))

    def outcome(self, seconds: float) -> SweepOutcome:
        return SweepOutcome(runs=tuple(self.rows[i] for i in sorted(self.rows)),
                            out=self.plan.out, image=self.image, backend=self.backend,
                            notebook=self.plan.notebook_name, parameters=self.plan.names,
                            collect=self.plan.collect, seconds=seconds)

    def write(self) -> None:
        """results.json and results.csv, atomically (after every finished run)."""
        outcome = self.outcome(0.0)
        atomic_write_text(self.plan.out / RESULTS_JSON,
                          json.dumps(outcome.to_dict(), indent=2, sort_keys=True,
                                     ensure_ascii=False) + "\n")
        atomic_write_text(self.plan.out / RESULTS_CSV, _csv(outcome))


def _with_notebook(row: SweepRun, name: str) -> SweepRun:
    from dataclasses import replace

    return replace(row, notebook=name)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True,
                                                           ensure_ascii=False)


def _csv(outcome: SweepOutcome) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    collected = [f"{c} (collected)" if c in outcome.parameters else c
                 for c in outcome.collect]
    writer.writerow(["index", "status", "seconds", "error", "notebook",
                     *outcome.parameters, *collected])
    for run in outcome.runs:
        writer.writerow([run.index, run.status, _cell(run.seconds), _cell(run.error),
                         _cell(run.notebook),
                         *(_cell(run.parameters.get(p)) for p in outcome.parameters),
                         *(_cell(run.collected.get(c)) for c in outcome.collect)])
    return buffer.getvalue()


def make_job(plan: SweepPlan, image: str, *, limits: ContainerLimits,
             cell_timeout: Optional[float], concurrency: int) -> SweepJob:
    """The backend's view of ``plan.todo`` in ``image`` (a fresh sweep id)."""
    return SweepJob(sweep_id=uuid.uuid4().hex[:12], image=image,
                    notebook_name=plan.notebook_name, source=plan.source, runs=plan.todo,
                    collect=plan.collect, limits=limits, cell_timeout=cell_timeout,
                    concurrency=max(1, min(concurrency, len(plan.todo) or 1)))


def execute_sweep(plan: SweepPlan, backend: SweepBackend, image: str, *,
                  limits: ContainerLimits, cell_timeout: Optional[float] = None,
                  concurrency: Optional[int] = None,
                  on_event: Optional[EventHandler] = None) -> SweepOutcome:
    """Run ``plan.todo`` on ``backend`` in ``image``; the results folder is up to date
    after every run and on every exit. Ctrl-C raises :class:`RunInterrupted` once
    every container of the sweep is gone."""
    plan.out.mkdir(parents=True, exist_ok=True)
    job = make_job(plan, image, limits=limits, cell_timeout=cell_timeout,
                   concurrency=concurrency or backend.default_concurrency())
    results = _Results(plan, image, backend.name, limits, cell_timeout, on_event)
    emit(on_event, Event(Phase.SWEEP, "progress",
                         f"{len(plan.todo)} to run ({len(plan.kept)} already complete), "
                         f"{job.concurrency} at a time on {backend.name}",
                         step=0, total=len(plan.todo),
                         data={"sweep_id": job.sweep_id, "concurrency": job.concurrency,
                               "kept": sorted(plan.kept)}))
    started = time.monotonic()
    results.write()
    try:
        if plan.todo:
            backend.execute(job, results)
    except KeyboardInterrupt:
        outcome = results.outcome(time.monotonic() - started)
        complete = sum(1 for r in outcome.runs if r.ok)
        raise RunInterrupted(f"interrupted (Ctrl-C): {complete} of {len(outcome.runs)} runs "
                             f"complete in {plan.out}; every container of the sweep was "
                             "stopped and removed (--resume runs the rest)") from None
    finally:
        with results.lock:
            results.write()
    outcome = results.outcome(time.monotonic() - started)
    emit(on_event, Event(Phase.SWEEP, "done",
                         f"{sum(r.ok for r in outcome.runs)} of {len(outcome.runs)} runs ok",
                         step=len(plan.todo), total=len(plan.todo),
                         data=outcome.to_dict()["summary"]))
    return outcome


# -- rendering -------------------------------------------------------------------------

def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_table(outcome: SweepOutcome) -> str:
    """The results as a terminal table, then a summary line."""
    head = ["index", "status", "seconds", *outcome.parameters,
            *(f"{c}*" for c in outcome.collect), "error"]
    body = []
    for run in outcome.runs:
        body.append([str(run.index), run.status,
                     "" if run.seconds is None else f"{run.seconds:.1f}",
                     *(_short(_cell(run.parameters.get(p)), 20) for p in outcome.parameters),
                     *(_short(_cell(run.collected.get(c)), 24) for c in outcome.collect),
                     _short(run.error or "", 60)])
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in [head, *body]]
    summary = outcome.to_dict()["summary"]
    lines.append("")
    if outcome.collect:
        lines.append("* collected after the run")
    lines.append(f"{summary['total']} runs: {summary['ok']} ok, {summary['failed']} failed"
                 + (f", {summary['not_run']} not run" if summary["not_run"] else "")
                 + f"; results in {outcome.out}")
    return "\n".join(lines)
