"""Host side of a run: notebook in, runner started, progress out, executed notebook back.

:func:`run_in_container` copies the notebook into the container's work directory
through the engine's archive API (so a remote ``DOCKER_HOST`` works), starts
``python /opt/nbdocker/nbdocker_runner.py ...`` (see :mod:`nbdocker.stages.run.runner`) as the
image's non-root user, turns the runner's ``@@nbdocker`` JSON lines into RUN events,
fetches the executed notebook, writes it atomically beside the original (never over
it) and maps the way the run ended to an exception:

==========================  ===================================================
runner / container          raised
==========================  ===================================================
a cell raised               :class:`CellExecutionError` (index, error, source)
``--cell-timeout`` passed   :class:`RunTimeout`
``--timeout`` passed        :class:`RunTimeout` ("the run exceeded its 30 s ...")
kernel died / OOM-killed    :class:`KernelDied` (says when the memory limit hit)
Ctrl-C                      :class:`RunInterrupted`
anything else               :class:`RunError` with the last log lines
==========================  ===================================================

The engine removes the container in every case.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import nbformat

from ...engine.base import ContainerEngine, ContainerLimits, ContainerResult
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import (CellExecutionError, InputError, KernelDied, RunError, RunInterrupted,
                         RunTimeout)
from ...notebook_io import read_notebook, write_notebook_atomic
from ..._fs import cache_dir
from ..._json import check_depth
from ...signals import describe, exit_code
from .parameters import parameters_to_json
from ... import contract

__all__ = ["FailedCell", "RunOutcome", "run_in_container", "default_output_path",
           "resolve_output_path", "image_notebook_path", "OUTPUT_SUFFIX"]

PathLike = Union[str, "os.PathLike[str]"]

OUTPUT_SUFFIX = ".nbdocker.ipynb"
# The runner enforces --timeout itself and exits cleanly; the engine's hard stop is
# only the backstop, so it gets this much longer (kernel shutdown, writing the output).
_TIMEOUT_GRACE = 15.0
_MAX_PARAMETERS_JSON = 100_000            # well under Linux's 128 KiB per argument
_LOG_TAIL = 15


@dataclass(frozen=True)
class FailedCell:
    """A cell that raised: its index in the user's notebook, the error and its source."""

    index: Optional[int]
    ename: str = ""
    evalue: str = ""
    source_head: str = ""


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended.

    ``status`` is ``"ok"``, ``"cell_error"``, ``"cell_timeout"``, ``"timeout"``,
    ``"kernel_died"``, ``"kernel_start"`` or ``"failed"``. ``errors`` lists the cells
    that raised while errors were allowed. ``notebook`` is the executed notebook (the
    partial one when the run stopped early; None when the container gave none back).
    """

    status: str
    image: str
    notebook: Optional[nbformat.NotebookNode] = field(default=None, compare=False)
    output: Optional[Path] = None
    exit_code: int = 0
    seconds: float = 0.0
    failed_cell: Optional[FailedCell] = None
    errors: Tuple[FailedCell, ...] = ()
    oom_killed: bool = False
    log_tail: Tuple[str, ...] = ()
    runner_seconds: Optional[float] = None   # time inside the container, as the runner saw it

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able summary (the executed notebook itself is at ``output``)."""
        return {"status": self.status, "image": self.image,
                "output": str(self.output) if self.output else None,
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "failed_cell": asdict(self.failed_cell) if self.failed_cell else None,
                "errors": [asdict(e) for e in self.errors], "oom_killed": self.oom_killed,
                "runner_seconds": self.runner_seconds}


def default_output_path(notebook: PathLike) -> Path:
    """``analysis.ipynb`` → ``analysis.nbdocker.ipynb`` in the same directory."""
    path = Path(notebook)
    return path.with_name(path.stem + OUTPUT_SUFFIX)


def resolve_output_path(notebook: Optional[PathLike], output: Optional[PathLike], *,
                        name: str = "notebook.ipynb", force: bool = False) -> Path:
    """Where the executed notebook goes; refuses the input itself unless ``force``."""
    if output is None:
        return default_output_path(notebook if notebook is not None else Path.cwd() / name)
    out = Path(output)
    if out.suffix != ".ipynb":
        raise InputError(f"--output must end in .ipynb: {out}")
    if notebook is not None and not force and _same_file(Path(notebook), out):
        raise InputError(f"--output {out} is the notebook itself; nbdocker never overwrites "
                         "the original: choose another file")
    return out


def _write_or_rescue(nb: nbformat.NotebookNode, path: Path,
                     on_event: Optional[EventHandler]) -> Path:
    """Write the executed notebook to ``path``; when that fails (disk full, permissions
    changed during the run) keep it in nbdocker's cache folder instead, say where, and
    return where it is: the work of the run is never lost."""
    try:
        write_notebook_atomic(nb, path)
        return path
    except OSError as exc:
        reason = exc.strerror or str(exc)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in (cache_dir() / "rescued", Path(tempfile.gettempdir())):
        rescued = folder / f"{path.stem}.{stamp}.{os.getpid()}.ipynb"
        try:
            write_notebook_atomic(nb, rescued)
        except OSError:
            continue
        emit(on_event, Event(Phase.RUN, "warning",
                             f"could not write {path} ({reason}); the executed notebook was "
                             f"saved to {rescued}", data={"rescued": str(rescued)}))
        return rescued
    raise RunError(f"could not write the executed notebook to {path} ({reason}), nor to "
                   "nbdocker's cache or temporary folder")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)  # also catches hard links and symlinks
        return a.resolve() == b.resolve()
    except OSError:
        return False


class _RunnerEvents:
    """Turns runner output lines into RUN events and remembers the structured ones."""

    def __init__(self, on_event: Optional[EventHandler]) -> None:
        self.on_event = on_event
        self.error: Optional[Dict[str, Any]] = None
        self.done: Optional[Dict[str, Any]] = None
        self.total: Optional[int] = None
        self.collected: Dict[str, Any] = {}   # --collect: name -> {"json"|"repr"|"missing"}

    def __call__(self, line: str) -> None:
        if not line.startswith(contract.EVENT_PREFIX):
            emit(self.on_event, Event(Phase.RUN, "log", line))
            return
        try:
            doc = json.loads(line[len(contract.EVENT_PREFIX):])
        except ValueError:
            emit(self.on_event, Event(Phase.RUN, "log", line))
            return
        kind = doc.get("event")
        if kind == "start":
            self.total = doc.get("total")
            emit(self.on_event, Event(Phase.RUN, "progress", "kernel started", step=0,
                                      total=self.total, data={"cells": doc.get("cells")}))
        elif kind == "cell":
            index = doc.get("index")
            label = "parameters" if index is None else f"cell {index}"
            emit(self.on_event, Event(Phase.RUN, "progress", label,
                                      step=doc.get("step"), total=doc.get("total"),
                                      data={"cell": index}))
        elif kind == "error":
            self.error = doc
        elif kind == "done":
            self.done = doc
        elif kind == "collected" and isinstance(doc.get("values"), dict):
            self.collected = doc["values"]


def _failed_cell(doc: Mapping[str, Any]) -> FailedCell:
    return FailedCell(doc.get("index"), str(doc.get("ename", "")), str(doc.get("evalue", "")),
                      str(doc.get("source_head", "")))


def _allowed_errors(nb: Optional[nbformat.NotebookNode],
                    indices: Sequence[Optional[int]]) -> Tuple[FailedCell, ...]:
    """The cells that raised although the run went on (``--allow-errors``)."""
    if nb is None:
        return ()
    cells = [c for c in nb.cells if contract.INJECTED_TAG not in
             (c.get("metadata", {}).get("tags") or [])]
    found = []
    for index in indices:
        if index is None or index >= len(cells):
            continue
        error: Mapping[str, Any] = next((o for o in cells[index].get("outputs", [])
                                         if o.get("output_type") == "error"), {})
        head = "\n".join(str(cells[index].get("source", "")).splitlines()[:3])
        found.append(FailedCell(index, str(error.get("ename", "")),
                                str(error.get("evalue", "")), head))
    return tuple(found)


def _status(code: int, result: ContainerResult) -> str:
    if result.timed_out or code == contract.EXIT_TIMEOUT:
        return "timeout"
    return {contract.EXIT_OK: "ok", contract.EXIT_CELL_ERROR: "cell_error", contract.EXIT_CELL_TIMEOUT: "cell_timeout",
            contract.EXIT_KERNEL_DIED: "kernel_died", contract.EXIT_KERNEL_START: "kernel_start"}.get(
        code, "kernel_died" if result.oom_killed else "failed")


def _raise_for(outcome: RunOutcome, runner_error: Optional[Mapping[str, Any]],
               limits: ContainerLimits, timeout: Optional[float],
               cell_timeout: Optional[float]) -> None:
    """Raise the exception that says how the run ended (nothing when it went well)."""
    doc = runner_error or {}
    cell = outcome.failed_cell
    where = f" in cell {cell.index}" if cell and cell.index is not None else ""
    if outcome.status == "ok":
        return
    if outcome.status == "cell_error" and cell is not None:
        raise CellExecutionError.from_cell(cell.index if cell.index is not None else -1,
                                           cell.source_head, cell.ename, cell.evalue)
    if outcome.status == "timeout":
        limit = f"{timeout:g} s " if timeout else ""
        raise RunTimeout(f"the run exceeded its {limit}timeout{where}; "
                         "the container was stopped and removed")
    if outcome.status == "cell_timeout":
        head = f"\n    {cell.source_head.splitlines()[0]}" if cell and cell.source_head else ""
        raise RunTimeout(f"cell {cell.index if cell else '?'} exceeded the "
                         f"{cell_timeout:g} s cell timeout; the container was stopped and "
                         f"removed{head}")
    if outcome.status == "kernel_died":
        if outcome.oom_killed:
            limit = f"the {limits.memory} memory limit" if limits.memory else "lack of memory"
            raise KernelDied(f"the kernel died{where} — likely killed by {limit} (OOM); "
                             "the container was removed")
        hint = f" (the container had a {limits.memory} memory limit)" if limits.memory else ""
        raise KernelDied(f"the kernel died{where}{hint}; the container was removed")
    if outcome.status == "kernel_start":
        raise RunError(f"the kernel could not start in {outcome.image}: "
                       f"{doc.get('message', 'unknown reason')}")
    tail = "\n".join("    " + line for line in outcome.log_tail[-8:])
    detail = doc.get("message") or (f"exit code {outcome.exit_code}")
    raise RunError(f"the runner in {outcome.image} failed ({detail})"
                   + (f"; last output:\n{tail}" if tail else ""))


def image_notebook_path(engine: ContainerEngine, image: str,
                        default: Optional[str] = None) -> str:
    """Where ``image`` keeps its notebook: the POSIX path below the work directory in
    its ``io.nbdocker.notebook`` label (``notebooks/a/nb.ipynb``), else ``default``.
    Raises :class:`InputError` when neither says (or the label points outside)."""
    label = engine.image_labels(image).get(contract.LABEL_NOTEBOOK) or ""
    rel = PurePosixPath(label)
    if label and not rel.is_absolute() and ".." not in rel.parts and label.endswith(".ipynb"):
        return rel.as_posix()
    if default:
        return default
    raise InputError(f"image {image} does not say which notebook it holds "
                     "(no nbdocker notebook label): give the NOTEBOOK too")


def _command(name: str, *, parameters: Mapping[str, Any], cell_timeout: Optional[float],
             timeout: Optional[float], allow_errors: bool, kernel: str) -> List[str]:
    # No --cwd: the kernel starts beside the notebook (its folder below the work
    # directory), as it ran in the project. The file names come last, after "--": a
    # notebook named "-x.ipynb" is not an option.
    cmd = ["python", contract.RUNNER_PATH]
    if kernel != "python3":  # the runner's default
        cmd += ["--kernel", kernel]
    if parameters:
        text = parameters_to_json(parameters)
        if len(text) > _MAX_PARAMETERS_JSON:
            raise InputError(f"parameters are too large ({len(text)} bytes of JSON; "
                             f"at most {_MAX_PARAMETERS_JSON})")
        cmd += ["--parameters-json", text]
    if cell_timeout:
        cmd += ["--cell-timeout", f"{cell_timeout:g}"]
    if timeout:
        cmd += ["--timeout", f"{timeout:g}"]
    if allow_errors:
        cmd.append("--allow-errors")
    return cmd + ["--", name, contract.OUTPUT_NAME]


def run_in_container(engine: ContainerEngine, image: str,
                     notebook: Union[PathLike, nbformat.NotebookNode, None] = None, *,
                     parameters: Optional[Mapping[str, Any]] = None,
                     output: Optional[PathLike] = None, force: bool = False,
                     limits: ContainerLimits = ContainerLimits(),
                     cell_timeout: Optional[float] = None, allow_errors: bool = False,
                     kernel: str = "python3", notebook_name: Optional[str] = None,
                     write_output: bool = True, raise_on_error: bool = True,
                     on_event: Optional[EventHandler] = None) -> RunOutcome:
    """Run ``notebook`` headless in ``image`` and return how it went.

    ``notebook`` is a path (its bytes are copied in, as ``notebook_name`` or under its
    own name), a ``NotebookNode`` (copied in as ``notebook_name``), or None to run the
    notebook the image already holds. ``notebook_name`` is a POSIX path below the work
    directory (``notebooks/a/nb.ipynb``: the kernel runs in the notebook's folder).
    ``limits.timeout`` is the whole-run timeout; ``cell_timeout`` bounds each cell. The executed notebook is written to ``output`` (default
    ``<stem>.nbdocker.ipynb`` beside the notebook) even when the run fails, unless
    ``write_output`` is False. With ``raise_on_error`` (the default) a failed run
    raises (see the module docstring); otherwise the outcome tells.
    """
    parameters = dict(parameters or {})
    files_in: Dict[str, bytes] = {}
    source_path: Optional[Path] = None
    if isinstance(notebook, nbformat.NotebookNode):
        name = notebook_name or "notebook.ipynb"
        files_in[name] = nbformat.writes(notebook).encode("utf-8")
    elif notebook is not None:
        source_path = Path(notebook)
        read_notebook(source_path)  # one clear NotebookError for a bad file, before any work
        name = notebook_name or source_path.name
        files_in[name] = source_path.read_bytes()
    else:
        name = notebook_name or image_notebook_path(engine, image)
    out_path = resolve_output_path(source_path, output, name=PurePosixPath(name).name,
                                   force=force) if write_output else None

    timeout = limits.timeout
    engine_limits = replace(limits, timeout=timeout + _TIMEOUT_GRACE) if timeout else limits
    command = _command(name, parameters=parameters, cell_timeout=cell_timeout,
                       timeout=timeout, allow_errors=allow_errors, kernel=kernel)
    events = _RunnerEvents(on_event)
    emit(on_event, Event(Phase.RUN, "progress", f"starting {image}", step=0, total=None,
                         data={"image": image, "notebook": name}))
    started = time.monotonic()
    try:
        result = engine.run(image, command, files_in=files_in, workdir=contract.WORKDIR,
                            files_out=[contract.OUTPUT_NAME], limits=engine_limits, on_line=events)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (nbdocker.signals)
        raise RunInterrupted(f"interrupted ({describe(exc)}); the container was stopped and "
                             "removed", exit_code=exit_code(exc)) from None
    seconds = time.monotonic() - started

    executed: Optional[nbformat.NotebookNode] = None
    if contract.OUTPUT_NAME in result.files:
        try:
            executed = nbformat.reads(result.files[contract.OUTPUT_NAME].decode("utf-8"), as_version=4)
            check_depth(executed, "the executed notebook")
        except Exception as exc:  # nbformat raises several types for a broken file
            raise RunError(f"the executed notebook from {image} is unreadable: {exc}") from None
    if executed is not None and out_path is not None:
        out_path = _write_or_rescue(executed, out_path, on_event)

    code = result.exit_code
    status = _status(code, result)
    failed = _failed_cell(events.error) if events.error and "index" in events.error else None
    outcome = RunOutcome(
        status=status, image=image, notebook=executed,
        output=out_path if executed is not None else None, exit_code=code, seconds=seconds,
        failed_cell=failed,
        errors=_allowed_errors(executed, (events.done or {}).get("errors", []))
        if status == "ok" else (),
        oom_killed=result.oom_killed, log_tail=tuple(result.logs[-_LOG_TAIL:]),
        runner_seconds=(events.done or {}).get("seconds"))
    if outcome.errors:
        emit(on_event, Event(Phase.RUN, "warning", "cells raised (errors allowed): " +
                             ", ".join(str(e.index) for e in outcome.errors)))
    if status == "ok" and executed is None:
        raise RunError(f"the run in {image} finished but returned no executed notebook")
    if status != "ok" and outcome.output is not None:
        emit(on_event, Event(Phase.RUN, "warning",
                             f"partial executed notebook written to {outcome.output}"))
    emit(on_event, Event(Phase.RUN, "done", status, step=events.total, total=events.total,
                         data=outcome.to_dict()))
    if raise_on_error:
        try:
            _raise_for(outcome, events.error, limits, timeout, cell_timeout)
        except RunError as exc:
            exc.outcome = outcome  # the partial executed notebook, for callers that want it
            raise
    return outcome
