"""One sweep run as every backend sees it: the payload going in, the log stream coming out.

Every backend starts the same command in the image, the runner's task mode
(:func:`task_command`; see :mod:`nbdocker.stages.run.runner`), with the same JSON
payload (:meth:`SweepJob.payload`: the notebook, the runs' parameters, ``--collect`` and
the timeouts), and reads back the same thing: the task's output lines. A
:class:`TaskStream` turns those lines into the run's record (how the runner ended, the
collected values, the executed notebook), whichever API delivered them - a local
container's output, a Swarm service's log stream, a Kubernetes pod's log -, and
:func:`run_result` turns the record into the row of the results table, with the same
statuses and error messages as ``nbdocker run``.
"""
from __future__ import annotations

import base64
import binascii
import collections
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

from ... import contract
from ...engine.base import ContainerLimits, ContainerResult
from ...exceptions import RunError
from .execute import FailedCell, RunOutcome, _failed_cell, _raise_for, _RunnerEvents, _status

__all__ = ["RunSpec", "SweepJob", "TaskEnd", "TaskStream", "SweepRun", "task_command",
           "run_result"]

_LOG_TAIL = 15


@dataclass(frozen=True)
class RunSpec:
    """One parameter set: its ``index`` in the sweep and its parameters."""

    index: int
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class SweepJob:
    """What a backend runs: ``runs`` of ``notebook_name`` in ``image``.

    ``source`` is the notebook to run (as nbformat JSON; None runs the one baked into
    the image); ``limits`` holds ``--timeout``, ``--memory``, ``--cpus`` and
    ``--network``; ``concurrency`` bounds how many run at once. ``sweep_id`` names and
    labels everything the backend creates (:data:`~nbdocker.contract.LABEL_SWEEP`).
    """

    sweep_id: str
    image: str
    notebook_name: str
    source: Optional[Mapping[str, Any]]
    runs: Tuple[RunSpec, ...]
    collect: Tuple[str, ...] = ()
    limits: ContainerLimits = ContainerLimits()
    cell_timeout: Optional[float] = None
    concurrency: int = 1

    @property
    def labels(self) -> Dict[str, str]:
        return {contract.LABEL_SWEEP: self.sweep_id}

    @property
    def name(self) -> str:
        """``nbdocker-sweep-<id>``: the name of the service, job, config, network."""
        return f"nbdocker-sweep-{self.sweep_id}"

    def payload(self, runs: Optional[Sequence[RunSpec]] = None) -> bytes:
        """The task mode's JSON for ``runs`` (default: all); slot ``i`` runs ``runs[i]``."""
        doc = {"notebook": self.notebook_name, "source": self.source,
               "runs": [{"index": r.index, "parameters": dict(r.parameters)}
                        for r in (self.runs if runs is None else runs)],
               "collect": list(self.collect), "timeout": self.limits.timeout,
               "cell_timeout": self.cell_timeout}
        return json.dumps(doc, allow_nan=True).encode("utf-8")   # parameters keep their order


def task_command(payload: str, *, index: Optional[int] = None,
                 index_env: Optional[str] = None, node_env: Optional[str] = None
                 ) -> List[str]:
    """The command a task runs: the runner's task mode on ``payload`` (a path in the
    container), choosing its run by ``index`` or by the variable ``index_env``."""
    cmd = ["python", contract.RUNNER_PATH, "--task", payload]
    if index is not None:
        return cmd + ["--index", str(index)]
    assert index_env is not None
    cmd += ["--index-env", index_env]
    return cmd + (["--node-env", node_env] if node_env else [])


@dataclass(frozen=True)
class TaskEnd:
    """What the backend knows about how a task's container ended, beyond its log:
    its exit code (None when unknown), the engine's OOM flag, whether nbdocker stopped it
    for ``--timeout``, and the orchestrator's own message (e.g. Swarm's task error)."""

    exit_code: Optional[int] = None
    oom_killed: bool = False
    timed_out: bool = False
    message: Optional[str] = None


class TaskStream:
    """Feed it one task's output lines (:meth:`feed`); it keeps the runner's record."""

    def __init__(self) -> None:
        self.events = _RunnerEvents(None)
        self.record: Optional[Dict[str, Any]] = None        # the final "task" event
        self.parts: Dict[int, str] = {}
        self.parts_total: Optional[int] = None
        self.output_digest: Optional[str] = None
        self.tail: Deque[str] = collections.deque(maxlen=_LOG_TAIL)

    def feed(self, line: str) -> None:
        """One output line of the task (progress events, its record, plain output)."""
        if not line.startswith(contract.EVENT_PREFIX):
            if line.strip():
                self.tail.append(line)
            return
        try:
            doc = json.loads(line[len(contract.EVENT_PREFIX):])
        except ValueError:
            self.tail.append(line)
            return
        kind = doc.get("event") if isinstance(doc, dict) else None
        if kind == "output":
            self.parts[int(doc.get("part", 0))] = str(doc.get("data", ""))
            self.parts_total = int(doc.get("parts", 0))
        elif kind == "output_done":
            self.output_digest = str(doc.get("sha256", ""))
        elif kind == "task":
            self.record = doc
        else:
            self.events(line)

    @property
    def complete(self) -> bool:
        """True once the task's record arrived: nothing more is to come."""
        return self.record is not None

    def notebook(self) -> Optional[bytes]:
        """The executed notebook's bytes, when all of it arrived intact."""
        total = self.parts_total
        if not total or len(self.parts) != total or self.output_digest is None:
            return None
        try:
            data = gzip.decompress(base64.b64decode("".join(self.parts[i + 1]
                                                            for i in range(total))))
        except (KeyError, binascii.Error, OSError, EOFError):
            return None
        return data if hashlib.sha256(data).hexdigest() == self.output_digest else None


@dataclass(frozen=True)
class SweepRun:
    """One row of a sweep's results.

    ``status`` is one of ``nbdocker run``'s (``ok``, ``cell_error``, ``cell_timeout``,
    ``timeout``, ``kernel_died``, ``kernel_start``, ``failed``) or ``not_run`` (the sweep
    stopped first). ``seconds`` is the time the task took inside its container.
    ``collected`` maps each ``--collect`` name to its value (JSON), its ``repr`` (names
    in ``collected_repr``) or None (names in ``collected_missing``: not defined after
    the run). ``notebook`` is the executed notebook's file name in the results folder.
    """

    index: int
    parameters: Mapping[str, Any]
    status: str = "not_run"
    seconds: Optional[float] = None
    error: Optional[str] = None
    collected: Mapping[str, Any] = field(default_factory=dict)
    collected_repr: Tuple[str, ...] = ()
    collected_missing: Tuple[str, ...] = ()
    notebook: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> Dict[str, Any]:
        """The row as ``results.json`` holds it."""
        return {"index": self.index, "parameters": dict(self.parameters),
                "status": self.status, "seconds": self.seconds, "error": self.error,
                "notebook": self.notebook, "collected": dict(self.collected),
                "collected_repr": list(self.collected_repr),
                "collected_missing": list(self.collected_missing)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "SweepRun":
        return cls(index=int(doc["index"]), parameters=dict(doc.get("parameters") or {}),
                   status=str(doc.get("status", "not_run")), seconds=doc.get("seconds"),
                   error=doc.get("error"), collected=dict(doc.get("collected") or {}),
                   collected_repr=tuple(doc.get("collected_repr") or ()),
                   collected_missing=tuple(doc.get("collected_missing") or ()),
                   notebook=doc.get("notebook"))


def _values(collected: Mapping[str, Any], names: Sequence[str]
            ) -> Tuple[Dict[str, Any], Tuple[str, ...], Tuple[str, ...]]:
    values: Dict[str, Any] = {}
    as_repr: List[str] = []
    missing: List[str] = []
    for name in names:
        entry = collected.get(name)
        if isinstance(entry, Mapping) and "json" in entry:
            values[name] = entry["json"]
        elif isinstance(entry, Mapping) and "repr" in entry:
            values[name] = str(entry["repr"])
            as_repr.append(name)
        else:
            values[name] = None
            missing.append(name)
    return values, tuple(as_repr), tuple(missing)


def _error_message(outcome: RunOutcome, runner_error: Optional[Mapping[str, Any]],
                   limits: ContainerLimits, cell_timeout: Optional[float]) -> Optional[str]:
    """The one line ``nbdocker run`` would print for this outcome (None when ok)."""
    try:
        _raise_for(outcome, runner_error, limits, limits.timeout, cell_timeout)
    except RunError as exc:
        return str(exc).splitlines()[0]
    return None


def run_result(spec: RunSpec, stream: TaskStream, end: TaskEnd, *, image: str,
               collect: Sequence[str], limits: ContainerLimits,
               cell_timeout: Optional[float]) -> SweepRun:
    """The results row of a finished task (its notebook is :meth:`TaskStream.notebook`)."""
    events = stream.events
    record = stream.record
    tail = tuple(stream.tail)
    if record is None:   # the task never reported: the container or the task itself failed
        code = end.exit_code if end.exit_code is not None else -1
        status = _status(code, ContainerResult(exit_code=code, oom_killed=end.oom_killed,
                                               timed_out=end.timed_out))
        if status == "ok":
            status = "failed"
        outcome = RunOutcome(status=status, image=image, exit_code=code,
                             oom_killed=end.oom_killed, log_tail=tail)
        detail = end.message or (f"the task ended without a result (exit code {code})")
        message = (_error_message(outcome, events.error, limits, cell_timeout)
                   if status != "failed" else None)
        if message is None:
            message = f"the task in {image} failed: {detail}"
            if tail:
                message += f"; last output: {tail[-1].strip()}"
        values, as_repr, missing = _values({}, collect)
        return SweepRun(spec.index, spec.parameters, status, None, message, values, as_repr,
                        missing)
    code = int(record.get("exit_code", 1))
    status = _status(code, ContainerResult(exit_code=code, oom_killed=end.oom_killed,
                                           timed_out=end.timed_out))
    failed: Optional[FailedCell] = (_failed_cell(events.error)
                                    if events.error and "index" in events.error else None)
    outcome = RunOutcome(status=status, image=image, exit_code=code, failed_cell=failed,
                         oom_killed=end.oom_killed, log_tail=tail)
    message = _error_message(outcome, events.error, limits, cell_timeout)
    if status == "ok" and stream.notebook() is None:
        status, message = "failed", "the executed notebook did not come back intact"
    values, as_repr, missing = _values(events.collected, collect)
    seconds = record.get("seconds")
    return SweepRun(spec.index, spec.parameters, status,
                    float(seconds) if seconds is not None else None, message, values,
                    as_repr, missing)
