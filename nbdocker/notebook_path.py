"""Find the path of the notebook a live kernel is running.

A kernel does not know which notebook it serves; front ends leave hints:

1. an explicit path (``%dockerize --notebook PATH``) always wins;
2. VS Code puts ``__vsc_ipynb_file__`` (an absolute path) in the user namespace;
3. Jupyter Server (JupyterLab, Notebook 7, classic) sets ``JPY_SESSION_NAME`` in the
   kernel's environment: the session path, absolute or relative to the server root.
   The kernel's working directory is the notebook's directory, which is below the
   server root, so a relative value is tried against the working directory and each
   of its parents.

When none of these names an existing ``.ipynb`` file, :func:`find_notebook` raises
:class:`~nbdocker.exceptions.NotebookError` with one clear line.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Union

from .exceptions import NotebookError

__all__ = ["find_notebook", "NOT_FOUND_MESSAGE", "SESSION_ENV", "VSCODE_VARIABLE"]

SESSION_ENV = "JPY_SESSION_NAME"
VSCODE_VARIABLE = "__vsc_ipynb_file__"
NOT_FOUND_MESSAGE = "cannot tell which notebook this kernel runs; pass --notebook PATH"


def find_notebook(explicit: Optional[Union[str, "os.PathLike[str]"]] = None, *,
                  user_ns: Optional[Mapping[str, Any]] = None,
                  environ: Optional[Mapping[str, str]] = None,
                  cwd: Optional[Union[str, "os.PathLike[str]"]] = None) -> Path:
    """The absolute path of the running notebook (see the module doc for the order).

    ``environ`` and ``cwd`` default to the process's own; tests pass their own.
    An ``explicit`` path is returned resolved even when it does not exist, so that
    reading it gives the usual "notebook not found" error.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    if explicit is not None and str(explicit).strip():
        path = Path(os.path.expanduser(str(explicit)))
        return (path if path.is_absolute() else base / path).resolve()
    for candidate in _candidates(user_ns or {}, os.environ if environ is None else environ, base):
        if candidate.suffix == ".ipynb" and candidate.is_file():
            return candidate.resolve()
    raise NotebookError(NOT_FOUND_MESSAGE)


def _candidates(user_ns: Mapping[str, Any], environ: Mapping[str, str],
                base: Path) -> Iterator[Path]:
    vsc = user_ns.get(VSCODE_VARIABLE)
    if isinstance(vsc, (str, os.PathLike)) and str(vsc):
        path = Path(str(vsc))
        yield path if path.is_absolute() else base / path
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
