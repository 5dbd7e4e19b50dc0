"""The notebook runner that executes INSIDE the container.

This file is copied into the image as ``/opt/nbdocker/nbdocker_runner.py``, beside
:mod:`nbdocker.contract` (as ``nbdocker_contract.py``), and run with the image's own
interpreter. nbdocker itself is not installed there, so this module is standalone: the
standard library, the contract, nbformat and nbclient only (imported lazily, so the host
can import this module without them).

Usage (inside the container)::

    python /opt/nbdocker/nbdocker_runner.py
        [--parameters-json JSON | --parameters-file PATH] [--cell-timeout S]
        [--timeout S] [--allow-errors] [--kernel NAME] [--cwd DIR] [--collect NAME]...
        -- INPUT.ipynb OUTPUT.ipynb
    python /opt/nbdocker/nbdocker_runner.py --task SWEEP.json
        (--index N | --index-env NAME [--node-env NAME])

(``--`` lets the notebook be named like an option, ``-x.ipynb``.)

Progress goes to stdout as one JSON document per line, prefixed with
:data:`nbdocker.contract.EVENT_PREFIX`::

    @@nbdocker {"event": "start", "total": 5, "cells": 9}
    @@nbdocker {"event": "cell", "step": 1, "total": 5, "index": 0, "exec_index": 0}
    @@nbdocker {"event": "error", "kind": "cell", "index": 3, "ename": "...", ...}
    @@nbdocker {"event": "done", "status": "ok", "errors": [4]}

``index`` is the cell's position in the notebook as given (before the
``injected-parameters`` cell was added); ``exec_index`` its position in the executed
notebook. The executed notebook is written to OUTPUT even when the run fails, so the
user sees how far it got. The exit code says how the run ended (``EXIT_*``).

``--collect NAME`` reports the value of a notebook variable after the run: a hidden cell,
executed last in the same kernel and removed from OUTPUT again, prints the values (JSON
where they can be, else their ``repr``); the runner reports them as one event::

    @@nbdocker {"event": "collected", "values": {"acc": {"json": 0.93}, "m": {"repr": "M()"}}}

**Task mode** (``--task``) runs one parameter set of a sweep (see
:mod:`nbdocker.stages.run.sweep`): the JSON file holds the notebook, every run's
parameters and the run options; the run is picked by ``--index`` or by an environment
variable that the cluster sets (Kubernetes' ``JOB_COMPLETION_INDEX``, Swarm's
``{{.Task.Slot}}``). The executed notebook then goes to stdout, so that it comes back
through the orchestrator's log API without shared storage::

    @@nbdocker {"event": "output", "part": 1, "parts": 3, "data": "<base64 of gzip>"}
    @@nbdocker {"event": "task", "index": 5, "exit_code": 0, "seconds": 3.1}

The task exits 0 whenever it could report (the record says how the notebook did), so an
orchestrator retries only tasks that could not run at all.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

__all__ = ["python_literal", "inject_parameters", "pager_outputs", "collect_source",
           "main", "task_main"]

try:  # in the image the contract is copied beside this file
    import nbdocker_contract as contract  # type: ignore[import-not-found]
except ImportError:  # on the host (tests, the fake engine): the package's own module
    from nbdocker import contract

_SOURCE_HEAD_LINES = 3
# A collected value whose JSON (or repr) is longer than this is cut to a repr of this size.
_COLLECT_LIMIT = 65536


_MAX_FIELD = 2000   # characters of one text field: an event line stays well under the
                   # host's per-line cap, so a huge exception message cannot break it


def _emit(event: str, **fields: Any) -> None:
    """Write one machine-readable progress line to stdout (flushed: the host streams)."""
    fields = {"event": event, **{k: v[:_MAX_FIELD] + "..." if isinstance(v, str)
                                 and len(v) > _MAX_FIELD else v for k, v in fields.items()}}
    sys.stdout.write(contract.EVENT_PREFIX + json.dumps(fields, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def _tags(cell: Mapping[str, Any]) -> List[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _source_head(cell: Mapping[str, Any]) -> str:
    return "\n".join(_source(cell).splitlines()[:_SOURCE_HEAD_LINES])


def python_literal(value: Any) -> str:
    """Python source for a JSON-like ``value`` (what papermill's Python translator does).

    ``repr`` is right for str/int/bool/None; floats need care because ``repr(nan)`` is
    not valid Python, and containers are rendered recursively for the same reason.
    """
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"float({str(value)!r})"
        return repr(value)
    if isinstance(value, (list, tuple)):  # JSON has no tuples: both become lists
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    # Anything else arrived through JSON only as a string; keep papermill's fallback.
    return repr(str(value))


def inject_parameters(nb: Any, parameters: Mapping[str, Any]) -> Optional[int]:
    """Insert a cell tagged ``injected-parameters`` with ``name = value`` lines.

    Papermill's rules: existing injected cells are removed; the new cell goes right
    after the first cell tagged ``parameters``, or first when there is none. Returns
    the new cell's index, or None when ``parameters`` is empty (nothing is changed).
    """
    import nbformat

    if not parameters:
        return None
    for name in parameters:
        if not str(name).isidentifier():
            raise ValueError(f"parameter name {name!r} is not a Python identifier")
    nb.cells = [c for c in nb.cells if contract.INJECTED_TAG not in _tags(c)]
    lines = ["# Parameters"] + [f"{name} = {python_literal(value)}"
                                for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell(source="\n".join(lines) + "\n")
    cell.metadata["tags"] = [contract.INJECTED_TAG]
    # Cell ids only exist from nbformat 4.5; an id in an older notebook is invalid.
    if (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) < (4, 5):
        cell.pop("id", None)
    at = 0
    for i, existing in enumerate(nb.cells):
        if contract.PARAMETERS_TAG in _tags(existing):
            at = i + 1
            break
    nb.cells.insert(at, cell)
    return at


def pager_outputs(execute_reply: Optional[Mapping[str, Any]]) -> List[Any]:
    """``display_data`` outputs for the pager payloads of one ``execute_reply``.

    IPython sends what it "pages" (``%prun``, ``%lprun``, ``%mprun``, ``obj?``,
    ``%pdoc``...) as a ``page`` payload on the reply, not as an output message.
    JupyterLab, Notebook 7 and VS Code show it inline and save it in the notebook as a
    display; nbclient drops it. Turning it into the same display keeps such cells
    comparable with what their author saved.
    """
    import nbformat

    content = (execute_reply or {}).get("content") or {}
    outputs = []
    for payload in content.get("payload") or []:
        data = payload.get("data") if isinstance(payload, Mapping) else None
        if payload.get("source") == "page" and isinstance(data, Mapping) and data:
            outputs.append(nbformat.v4.new_output("display_data", data=dict(data)))
    return outputs


# Runs in the user's kernel, in a namespace of its own (nothing is bound in the
# notebook's), and never raises: a value that cannot be encoded is reported as its repr.
_COLLECT_CODE = r"""
import json
def encode(value):
    attempts = [lambda: value]
    tolist = getattr(value, "tolist", None)   # numpy scalars and arrays, pandas Series
    if callable(tolist):
        attempts.append(tolist)
    for attempt in attempts:
        try:
            text = json.dumps(attempt(), allow_nan=False)
        except Exception:
            continue
        if len(text) <= limit:
            return {"json": json.loads(text)}
        break
    try:
        text = repr(value)
    except Exception as exc:
        text = "<repr failed: %s>" % type(exc).__name__
    return {"repr": text if len(text) <= limit else text[:limit] + "..."}
values = {}
for name in names:
    try:
        values[name] = encode(ns[name]) if name in ns else {"missing": True}
    except BaseException as exc:
        values[name] = {"repr": "<collect failed: %s>" % type(exc).__name__}
print(prefix + json.dumps(values))
"""


def collect_source(names: Sequence[str]) -> str:
    """The hidden cell that prints the values of ``names`` (see the module docstring)."""
    scope = (f"{{'ns': globals(), 'names': {list(names)!r}, "
             f"'prefix': {contract.COLLECT_PREFIX!r}, 'limit': {_COLLECT_LIMIT}}}")
    return f"exec({_COLLECT_CODE!r}, {scope})\n"


def _collected(cell: Any) -> Dict[str, Any]:
    """The values the collect cell printed (empty when it never ran)."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    for line in reversed(text.splitlines()):
        if line.startswith(contract.COLLECT_PREFIX):
            try:
                values = json.loads(line[len(contract.COLLECT_PREFIX):])
            except ValueError:
                break
            return values if isinstance(values, dict) else {}
    return {}


def _write_atomic(nb: Any, path: str) -> None:
    import nbformat

    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    os.replace(tmp, path)


def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="nbdocker_runner",
                                description="Execute a notebook with nbclient (nbdocker).")
    p.add_argument("input")
    p.add_argument("output")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--parameters-json", default=None, help="JSON object of parameters")
    group.add_argument("--parameters-file", default=None, help="file holding that JSON")
    p.add_argument("--cell-timeout", type=float, default=None, help="seconds per cell")
    p.add_argument("--timeout", type=float, default=None, help="seconds for the whole run")
    p.add_argument("--allow-errors", action="store_true")
    p.add_argument("--kernel", default="python3", help="kernel name (default: python3)")
    p.add_argument("--cwd", default=None, help="kernel working directory "
                   "(default: the input notebook's directory)")
    p.add_argument("--collect", action="append", default=[], metavar="NAME",
                   help="report this variable's value after the run; repeatable")
    return p.parse_args(argv)


def _load_parameters(args: argparse.Namespace) -> Dict[str, Any]:
    text = args.parameters_json
    if args.parameters_file:
        with open(args.parameters_file, encoding="utf-8") as f:
            text = f.read()
        try:  # the file only carries the parameters in: keep the work dir as it was
            os.remove(args.parameters_file)
        except OSError:
            pass
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("parameters must be a JSON object")
    return value


def _hooked_client(base: Any, on_start: Any, on_executed: Any) -> Any:
    """``base`` (an nbclient before 0.6, which has no ``on_cell_executed`` hook, and
    before 0.5.11 no hooks at all) calling the two hooks from the methods that
    later versions call them from: the start of a cell, and its reply once its
    outputs are in."""

    class HookedClient(base):
        async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any,
                                     **kwargs: Any) -> Any:
            on_start(cell=cell, cell_index=cell_index)
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

        async def _async_poll_for_reply(self, msg_id: str, cell: Any, *args: Any,
                                        **kwargs: Any) -> Any:
            reply = await super()._async_poll_for_reply(msg_id, cell, *args, **kwargs)
            on_executed(cell=cell, execute_reply=reply)
            return reply

    return HookedClient


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the notebook; return one of the ``EXIT_*`` codes."""
    started = time.monotonic()
    args = _parse_args(argv)
    import nbformat

    try:
        with open(args.input, encoding="utf-8") as f:
            nb = nbformat.read(f, as_version=4)
        parameters = _load_parameters(args)
        injected_at = inject_parameters(nb, parameters)
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        _emit("error", kind="input", message=f"{type(exc).__name__}: {exc}")
        return contract.EXIT_INPUT

    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    def original_index(exec_index: int) -> Optional[int]:
        if injected_at is None or exec_index < injected_at:
            return exec_index
        return None if exec_index == injected_at else exec_index - 1

    # Clear old outputs: a cell the run never reaches must not look "reproduced".
    runnable: Dict[int, int] = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if _source(cell).strip():
                runnable[i] = len(runnable) + 1
    total = len(runnable)
    collect_cell = None
    if args.collect:  # last, outside `runnable`: no progress event, removed afterwards
        collect_cell = nbformat.v4.new_code_cell(source=collect_source(args.collect))
        nb.cells.append(collect_cell)
    deadline = started + args.timeout if args.timeout else None
    state: Dict[str, Any] = {"index": None}

    def on_cell_start(cell: Any, cell_index: int, **_: Any) -> None:
        if cell_index not in runnable:
            return
        state["index"] = cell_index
        _emit("cell", step=runnable[cell_index], total=total, exec_index=cell_index,
              index=original_index(cell_index))

    def timeout_for(cell: Any) -> Optional[float]:
        # The whole-run deadline becomes the cell's timeout once it is the nearer one,
        # so nbclient stops the cell and the kernel is shut down cleanly.
        limits = [t for t in (args.cell_timeout,) if t]
        if deadline is not None:
            limits.append(max(deadline - time.monotonic(), 0.01))  # 0 means "none"
        return min(limits) if limits else None

    def on_cell_executed(cell: Any, execute_reply: Any = None, **_: Any) -> None:
        cell.outputs.extend(pager_outputs(execute_reply))

    cwd = args.cwd or os.path.dirname(os.path.abspath(args.input))
    hooks: Dict[str, Any] = {"on_cell_start": on_cell_start,
                             "on_cell_executed": on_cell_executed}
    client_class = NotebookClient
    if "on_cell_executed" not in NotebookClient.class_trait_names():
        client_class, hooks = _hooked_client(NotebookClient, on_cell_start, on_cell_executed), {}
    client = client_class(
        nb, kernel_name=args.kernel, allow_errors=args.allow_errors, timeout=None,
        timeout_func=timeout_for, resources={"metadata": {"path": cwd}},
        # A stuck cell must not delay the shutdown; outputs are already collected.
        shutdown_kernel="immediate", **hooks,
    )
    if deadline is not None:
        client.startup_timeout = max(1, int(min(client.startup_timeout,
                                                deadline - time.monotonic()) + 1))
    _emit("start", total=total, cells=len(nb.cells), kernel=args.kernel)

    def cell_fields(exec_index: Optional[int]) -> Dict[str, Any]:
        if exec_index is None:
            return {"index": None, "exec_index": None, "source_head": ""}
        return {"index": original_index(exec_index), "exec_index": exec_index,
                "source_head": _source_head(nb.cells[exec_index])}

    code = contract.EXIT_OK
    try:
        client.execute()
    except CellTimeoutError:
        if deadline is not None and time.monotonic() >= deadline - 0.05:
            _emit("error", kind="timeout", timeout=args.timeout, **cell_fields(state["index"]))
            code = contract.EXIT_TIMEOUT
        else:
            _emit("error", kind="cell_timeout", timeout=args.cell_timeout,
                  **cell_fields(state["index"]))
            code = contract.EXIT_CELL_TIMEOUT
    except CellExecutionError as exc:
        _emit("error", kind="cell", ename=exc.ename, evalue=exc.evalue,
              **cell_fields(state["index"]))
        code = contract.EXIT_CELL_ERROR
    except DeadKernelError as exc:
        _emit("error", kind="kernel_died", message=str(exc), **cell_fields(state["index"]))
        code = contract.EXIT_KERNEL_DIED
    except Exception as exc:  # noqa: BLE001 - kernel start-up failures have many types
        if deadline is not None and time.monotonic() >= deadline - 0.05:
            _emit("error", kind="timeout", timeout=args.timeout, **cell_fields(state["index"]))
            code = contract.EXIT_TIMEOUT
        elif state["index"] is None:  # nothing ran yet: the kernel never came up
            _emit("error", kind="kernel_start", message=f"{type(exc).__name__}: {exc}")
            code = contract.EXIT_KERNEL_START
        else:
            raise
    finally:
        if collect_cell is not None:
            nb.cells = [c for c in nb.cells if c is not collect_cell]
            _emit("collected", values=_collected(collect_cell))
        _write_atomic(nb, args.output)

    errors = [original_index(i) for i, cell in enumerate(nb.cells)
              if cell.cell_type == "code"
              and any(o.get("output_type") == "error" for o in cell.get("outputs", []))]
    _emit("done", status="ok" if code == contract.EXIT_OK else "failed", exit_code=code, errors=errors,
          seconds=round(time.monotonic() - started, 3))
    return code


def _task_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="nbdocker_runner --task",
                                description="Run one parameter set of an nbdocker sweep.")
    p.add_argument("--task", required=True, metavar="FILE", help="the sweep's JSON payload")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=int, help="the position of the run in the payload")
    which.add_argument("--index-env", metavar="NAME",
                       help="read that position from this environment variable")
    p.add_argument("--node-env", metavar="NAME",
                   help="Swarm: swarmkit renders {{.Task.Slot}} of slot 0 as the node id; "
                        "a value equal to this variable (set to {{.Node.ID}}) means 0")
    return p.parse_args(argv)


def _slot(args: argparse.Namespace) -> int:
    if args.index is not None:
        return int(args.index)
    value = os.environ.get(args.index_env, "")
    if args.node_env and value and value == os.environ.get(args.node_env):
        return 0
    return int(value)


def _writable_workdir() -> None:
    """Run in a writable copy of the work directory when it is not writable (Apptainer
    and other runtimes that run the image read-only as the calling user)."""
    here = os.getcwd()
    if os.access(here, os.W_OK):
        return
    copy = os.path.join(tempfile.mkdtemp(prefix="nbdocker-work-"), "work")
    shutil.copytree(here, copy, symlinks=True)
    os.chdir(copy)


def _emit_output(path: str) -> None:
    """The executed notebook on stdout: gzip, base64, in lines of ``OUTPUT_CHUNK``."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    text = base64.b64encode(gzip.compress(data, mtime=0)).decode("ascii")
    size = contract.OUTPUT_CHUNK
    parts = max(1, -(-len(text) // size))
    for part in range(parts):
        _emit("output", part=part + 1, parts=parts, data=text[part * size:(part + 1) * size])
    _emit("output_done", sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def task_main(argv: Sequence[str]) -> int:
    """Task mode (see the module docstring); 0 once the run's record is written."""
    started = time.monotonic()
    args = _task_args(argv)
    try:
        with open(args.task, encoding="utf-8") as f:
            payload = json.load(f)
        run = payload["runs"][_slot(args)]
        index = int(run["index"])
        parameters = run["parameters"]
        name = str(payload["notebook"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        _emit("error", kind="input", message=f"sweep task: {type(exc).__name__}: {exc}")
        return contract.EXIT_INPUT
    if os.path.dirname(os.path.abspath(args.task)) == os.getcwd():
        try:  # local runs copy the payload into the work dir: the notebook must not see it
            os.remove(args.task)
        except OSError:
            pass
    _writable_workdir()
    if payload.get("source") is not None:  # else: the notebook baked into the image
        if os.path.dirname(name):  # its folder in the project: shipped, unless --image
            os.makedirs(os.path.dirname(name), exist_ok=True)
        with open(name, "w", encoding="utf-8") as f:
            json.dump(payload["source"], f)
    command = [name, contract.OUTPUT_NAME, "--parameters-json", json.dumps(parameters)]
    for option in ("cell_timeout", "timeout"):
        if payload.get(option):
            command += ["--" + option.replace("_", "-"), str(payload[option])]
    for variable in payload.get("collect") or []:
        command += ["--collect", str(variable)]
    try:
        code = main(command)
    except Exception as exc:  # noqa: BLE001 - a broken runner is reported, not retried
        _emit("error", kind="runner", message=f"{type(exc).__name__}: {exc}")
        code = 1
    _emit_output(contract.OUTPUT_NAME)
    _emit("task", index=index, exit_code=code, seconds=round(time.monotonic() - started, 3))
    return 0


if __name__ == "__main__":
    sys.exit(task_main(sys.argv[1:]) if sys.argv[1:2] == ["--task"] else main())
