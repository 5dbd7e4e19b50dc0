"""Find the path of the notebook a live kernel is running.

A kernel does not know which notebook it serves; front ends leave hints:

1. an explicit path (``%dockerize --notebook PATH``) always wins;
2. VS Code puts ``__vsc_ipynb_file__`` (an absolute path) in the user namespace;
3. the Jupyter server that started this kernel, asked for its sessions
   (``GET /api/sessions``, the server found through its ``jpserver-<pid>.json`` file
   and ``JPY_PARENT_PID``): the session whose kernel is this kernel names the notebook
   as it is *now*. Only this survives a rename: JupyterLab's "Rename file" dialog on
   the first save of ``Untitled.ipynb`` leaves the kernel's environment naming the old
   file. Skipped outside a kernel; any failure falls through to the next hint;
4. Jupyter Server (JupyterLab, Notebook 7, classic) sets ``JPY_SESSION_NAME`` in the
   kernel's environment when it starts the kernel: the session path, absolute or
   relative to the server root. The kernel's working directory is the notebook's
   directory, which is below the server root, so a relative value is tried against
   the working directory and each of its parents.

When none of these names an existing ``.ipynb`` file, :func:`find_notebook` raises
:class:`~nbdocker.exceptions.NotebookError` with one clear line.
"""
from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Any, Iterator, List, Mapping, Optional, Union

from ..exceptions import NotebookError

__all__ = ["find_notebook", "server_session_path", "current_kernel_id", "NOT_FOUND_MESSAGE",
           "SESSION_ENV", "VSCODE_VARIABLE"]

SESSION_ENV = "JPY_SESSION_NAME"
VSCODE_VARIABLE = "__vsc_ipynb_file__"
NOT_FOUND_MESSAGE = "cannot tell which notebook this kernel runs; pass --notebook PATH"
SERVER_TIMEOUT = 2.0  # seconds per server asked; the server is the kernel's own parent
_SERVER_FILE = re.compile(r"^(?:jp|nb)server-(\d+)\.json$")
_KERNEL_FILE = re.compile(r"^kernel-(.+)\.json$")


def find_notebook(explicit: Optional[Union[str, "os.PathLike[str]"]] = None, *,
                  user_ns: Optional[Mapping[str, Any]] = None,
                  environ: Optional[Mapping[str, str]] = None,
                  cwd: Optional[Union[str, "os.PathLike[str]"]] = None,
                  kernel_id: Optional[str] = None,
                  runtime_dir: Optional[Union[str, "os.PathLike[str]"]] = None) -> Path:
    """The absolute path of the running notebook (see the module doc for the order).

    ``environ`` and ``cwd`` default to the process's own; ``kernel_id`` to this
    kernel's (None outside a kernel: the server is not asked) and ``runtime_dir`` to
    Jupyter's runtime directory (where servers leave their ``jpserver-*.json``); tests
    pass their own.
    An ``explicit`` path is returned resolved even when it does not exist, so that
    reading it gives the usual "notebook not found" error.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    if explicit is not None and str(explicit).strip():
        path = Path(os.path.expanduser(str(explicit)))
        return (path if path.is_absolute() else base / path).resolve()
    environ = os.environ if environ is None else environ
    kernel_id = kernel_id if kernel_id is not None else current_kernel_id()
    for candidate in _candidates(user_ns or {}, environ, base, kernel_id, runtime_dir):
        if candidate.suffix == ".ipynb" and candidate.is_file():
            return candidate.resolve()
    raise NotebookError(NOT_FOUND_MESSAGE)


def _candidates(user_ns: Mapping[str, Any], environ: Mapping[str, str], base: Path,
                kernel_id: Optional[str],
                runtime_dir: Optional[Union[str, "os.PathLike[str]"]]) -> Iterator[Path]:
    vsc = user_ns.get(VSCODE_VARIABLE)
    if isinstance(vsc, (str, os.PathLike)) and str(vsc):
        path = Path(str(vsc))
        yield path if path.is_absolute() else base / path
    if kernel_id:
        current = server_session_path(kernel_id, environ=environ, runtime_dir=runtime_dir)
        if current is not None:
            yield current
    session = environ.get(SESSION_ENV, "").strip()
    if not session:
        return
    path = Path(os.path.expanduser(session))
    if path.is_absolute():
        yield path
        return
    # Relative to the server root, which is the kernel's cwd or one of its parents.
    for root in (base, *base.parents):
        yield root / path
    yield base / path.name  # the session path may be stale (renamed folder); cwd is not


# -- asking the Jupyter server --------------------------------------------------------

def current_kernel_id() -> Optional[str]:
    """This kernel's id (from its ``kernel-<id>.json`` connection file), or None when
    not running inside an ipykernel."""
    try:
        from ipykernel.kernelapp import IPKernelApp
    except ImportError:
        return None
    if not IPKernelApp.initialized():
        return None
    match = _KERNEL_FILE.match(os.path.basename(str(IPKernelApp.instance().connection_file or "")))
    return match.group(1) if match else None


def server_session_path(kernel_id: str, *, environ: Optional[Mapping[str, str]] = None,
                        runtime_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
                        timeout: float = SERVER_TIMEOUT) -> Optional[Path]:
    """The notebook path the Jupyter server currently holds for kernel ``kernel_id``,
    or None (no server file, server unreachable or refusing, no such session)."""
    for info in _servers(os.environ if environ is None else environ, runtime_dir):
        for session in _sessions(info, timeout):
            kernel = session.get("kernel") or {}
            if kernel.get("id") != kernel_id:
                continue
            relative = session.get("path") or (session.get("notebook") or {}).get("path")
            root = info.get("root_dir") or info.get("notebook_dir")
            if not isinstance(relative, str) or not relative or not isinstance(root, str):
                continue
            return Path(os.path.expanduser(root)) / relative
    return None


def _servers(environ: Mapping[str, str],
             runtime_dir: Optional[Union[str, "os.PathLike[str]"]]) -> List[Mapping[str, Any]]:
    """Server info files, the kernel's parent (``JPY_PARENT_PID``) alone when known."""
    if runtime_dir is None:
        try:
            from jupyter_core.paths import jupyter_runtime_dir
        except ImportError:
            return []
        runtime_dir = jupyter_runtime_dir()
    try:
        names = sorted(os.listdir(runtime_dir))
    except OSError:
        return []
    infos = {}
    for name in names:
        match = _SERVER_FILE.match(name)
        if not match:
            continue
        try:
            with open(os.path.join(runtime_dir, name), encoding="utf-8") as handle:
                info = json.load(handle)
        except (OSError, ValueError):
            continue  # being written, or not ours to read
        if isinstance(info, dict):
            infos[match.group(1)] = info
    parent = environ.get("JPY_PARENT_PID", "").strip()
    return [infos[parent]] if parent in infos else list(infos.values())


def _sessions(info: Mapping[str, Any], timeout: float) -> List[Mapping[str, Any]]:
    url = info.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return []  # e.g. a server on a Unix socket
    request = urllib.request.Request(url.rstrip("/") + "/api/sessions")
    if info.get("token"):
        request.add_header("Authorization", f"token {info['token']}")
    # No proxies: the server is the kernel's local parent, and HTTP(S)_PROXY may be set.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            sessions = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError):  # refused, timed out, HTTP error, not JSON
        return []
    return [s for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else []
