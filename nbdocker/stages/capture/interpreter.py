"""The target interpreter: which one, and what is installed in it (cached on disk).

One subprocess of the target runs :mod:`nbdocker.stages.capture._probe` and prints JSON. The
result is cached under ``$XDG_CACHE_HOME/nbdocker`` (default ``~/.cache/nbdocker``),
keyed by the interpreter path and mtime; an entry is used only while the mtimes of the
interpreter's site directories are unchanged (``pip install`` changes them). Writes are
atomic, a corrupt entry is ignored, and a cache that cannot be written is no error.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ...exceptions import CaptureError
from ..._fs import read_cache, write_cache

__all__ = ["InterpreterInfo", "query_interpreter", "kernelspec_interpreter"]

_PROBE_VERSION = 2  # bump when _probe.py's output changes
_PROBE_TIMEOUT = 60.0   # a probe takes ~1 s; a hung --python is stopped after this


@dataclass(frozen=True)
class InterpreterInfo:
    """What the target interpreter reported (see :mod:`nbdocker.stages.capture._probe`)."""

    executable: str
    version: str
    implementation: str
    system: str
    machine: str
    stdlib: frozenset
    packages: Mapping[str, Tuple[str, ...]]
    distributions: Mapping[str, Mapping[str, Any]]  # canonical name -> name/version/requires
    marker_env: Mapping[str, str]
    sys_path: Tuple[str, ...] = ()
    site_dirs: Tuple[str, ...] = ()

    @classmethod
    def from_probe(cls, data: Mapping[str, Any]) -> "InterpreterInfo":
        from packaging.utils import canonicalize_name

        dists: Dict[str, Mapping[str, Any]] = {
            canonicalize_name(d["name"]): d for d in data["distributions"]}
        return cls(
            executable=str(data["executable"]),
            version=str(data["version"]),
            implementation=str(data["implementation"]),
            system=str(data["system"]),
            machine=str(data["machine"]),
            stdlib=frozenset(data["stdlib"]),
            packages={k: tuple(v) for k, v in data["packages"].items()},
            distributions=dists,
            marker_env=dict(data["marker_env"]),
            sys_path=tuple(data.get("sys_path", ())),
            site_dirs=tuple(data.get("site_dirs", ())),
        )


def _mtime(path: str) -> Optional[int]:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _cache_name(python: str) -> str:
    key = json.dumps([_PROBE_VERSION, python, _mtime(python)])
    return f"interpreter-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def _load_cached(python: str) -> Optional[Dict[str, Any]]:
    try:
        entry = read_cache(_cache_name(python))
        if not isinstance(entry, dict) or entry.get("python") != python or not isinstance(entry.get("site_mtimes"), dict):
            return None
        for directory, mtime in entry["site_mtimes"].items():
            if _mtime(directory) != mtime:
                return None
        data = entry["probe"]
        InterpreterInfo.from_probe(data)  # a corrupt entry fails here and is ignored
        return data
    except Exception:  # missing, unreadable, corrupt: just probe again
        return None


def _store(python: str, data: Mapping[str, Any]) -> None:
    entry = {"python": python, "probe": data,
             "site_mtimes": {d: _mtime(d) for d in data.get("site_dirs", ())}}
    write_cache(_cache_name(python), entry)


def _probe_source() -> str:
    return (Path(__file__).with_name("_probe.py")).read_text(encoding="utf-8")


def _resolve_python(python: str) -> str:
    if os.sep not in python and not os.path.exists(python):
        found = shutil.which(python)
        if found:
            return os.path.abspath(found)
    # abspath, not realpath: a venv's python is a symlink whose path IS the venv.
    return os.path.abspath(os.path.expanduser(python))


def query_interpreter(python: Optional[str] = None, *, use_cache: bool = True) -> InterpreterInfo:
    """Describe ``python`` (default: the current interpreter), from the cache if fresh.

    Raises :class:`CaptureError` with one line when the interpreter is missing, not
    executable, or its probe fails.
    """
    path = _resolve_python(python or sys.executable)
    if not os.path.isfile(path):
        raise CaptureError(f"target Python interpreter not found: {python or path}")
    if not os.access(path, os.X_OK):
        raise CaptureError(f"target Python interpreter is not executable: {path}")
    data = _load_cached(path) if use_cache else None
    if data is None:
        data = _run_probe(path)
        if use_cache:
            _store(path, data)
    try:
        return InterpreterInfo.from_probe(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise CaptureError(f"target Python interpreter {path} gave unexpected metadata: {exc}") from None


def _run_probe(path: str) -> Dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSTARTUP", "PYTHONINSPECT")}
    try:
        # Its own session, so a wrapper script's children are killed with it on a hang.
        proc = subprocess.Popen([path, "-c", _probe_source()], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                env=env, start_new_session=True)
    except OSError as exc:
        raise CaptureError(f"cannot run target Python interpreter {path}: "
                           f"{exc.strerror or exc}") from None
    try:
        stdout, stderr = proc.communicate(timeout=_PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise CaptureError(f"target Python interpreter {path} did not answer within "
                           f"{_PROBE_TIMEOUT:g} s (stopped); is it a Python, and does it "
                           "start without waiting for input?") from None
    except BaseException:  # Ctrl-C, SIGTERM: no child left behind
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        tail = (stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise CaptureError(f"target Python interpreter {path} failed (exit {proc.returncode}): {tail}")
    try:
        data = json.loads(stdout)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except ValueError:
        raise CaptureError(f"target Python interpreter {path} is not a usable Python 3.8+ "
                           "(its probe printed no JSON)") from None


def _kill_group(proc: "subprocess.Popen[str]") -> None:
    """Kill the probe and everything it started, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.communicate()


@lru_cache(maxsize=32)
def kernelspec_interpreter(kernel_name: str) -> Optional[str]:
    """The interpreter of kernelspec ``kernel_name``, or None when it can't be found.

    Only asked for non-default kernel names (``python3`` is the current interpreter) and
    only when ``jupyter_client`` is installed; both keep the common case cheap.
    """
    if kernel_name in ("", "python", "python3"):
        return None
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except Exception:
        return None
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return None
    except Exception:  # a broken kernel.json must not break capture
        return None
    argv: List[str] = list(spec.argv or [])
    if not argv or "python" not in os.path.basename(argv[0]).lower() and argv[0] != "{python}":
        return None
    exe = sys.executable if argv[0] == "{python}" else argv[0]
    return shutil.which(exe) or (exe if os.path.isfile(exe) else None)
