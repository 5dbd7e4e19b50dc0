"""Reading and writing notebook files, with one clear :class:`NotebookError` per problem.

Every part of nbdocker reads notebooks through :func:`read_notebook`, so a missing file,
a non-JSON file, an nbformat v3 (or older) notebook or a non-Python kernel always gives
the same one-line message. :func:`write_notebook_atomic` never leaves a half-written
file behind (temporary file in the same directory, then :func:`os.replace`).
"""
from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Union

from ._fs import atomic_write_text
from ._json import loads
from .exceptions import NotebookError

if TYPE_CHECKING:  # nbformat costs ~0.1 s to import (jsonschema): only where needed
    import nbformat

__all__ = ["read_notebook", "load_notebook_json", "write_notebook_atomic",
           "code_cells", "kernel_name"]

PathLike = Union[str, "os.PathLike[str]"]

# Languages nbdocker can reproduce; anything else is refused up front.
_PYTHON_LANGUAGES = frozenset({"python", "python3", "python2", "ipython", "ipython3"})


def read_notebook(path: PathLike, *, validate: bool = True) -> "nbformat.NotebookNode":
    """Read a v4 notebook with nbformat; :class:`NotebookError` with one clear line on problems.

    ``validate=False`` skips nbformat's JSON-schema validation; the structure checks
    of :func:`load_notebook_json` are made either way.
    """
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines, strip_transient

    p = Path(path)
    data = load_notebook_json(p)
    try:
        # What nbformat.read does, minus the always-on validation (opt-in here):
        # multi-line sources joined into strings, transient fields dropped.
        nb = strip_transient(rejoin_lines(nbformat.from_dict(data)))
        if validate:
            nbformat.validate(nb)
    except Exception as exc:  # nbformat raises ValidationError and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{p} is not a valid v4 notebook: {first}") from None
    return nb


def load_notebook_json(path: PathLike) -> Dict[str, Any]:
    """The notebook's JSON as a dict, after the checks every reader needs.

    Missing file, non-JSON, nbformat v3 or older (or newer than v4) and non-Python
    kernels raise :class:`NotebookError`; a Jupytext text notebook (``.py`` percent
    script, ``.md``) is refused with the ``jupytext --to ipynb`` command that converts
    it. No schema validation and no nbformat import: this is the fast path static
    capture uses on big notebooks.
    """
    p = Path(path)
    if not p.exists():
        raise NotebookError(f"notebook not found: {p}")
    if not p.is_file():
        raise NotebookError(f"not a notebook file: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"cannot read notebook {p}: {exc}") from None
    try:
        data = loads(text, str(p), error=NotebookError)   # depth-bounded
    except json.JSONDecodeError as exc:
        if _looks_like_jupytext(text, p.suffix):
            raise NotebookError(
                f"{p} looks like a Jupytext notebook (text, not .ipynb JSON): convert it with "
                f"`jupytext --to ipynb {shlex.quote(p.name)}` first") from None
        raise NotebookError(f"{p} is not a notebook (invalid JSON: {exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or ("cells" not in data and "worksheets" not in data):
        raise NotebookError(f"{p} is not a notebook (no 'cells')")
    major = data.get("nbformat")
    if not isinstance(major, int) or major < 4:
        raise NotebookError(
            f"{p} uses nbformat v{major}; only v4 is supported "
            f"(convert it with: jupyter nbconvert --to notebook --nbformat 4 {p.name})")
    if major > 4:
        raise NotebookError(f"{p} uses nbformat v{major}, newer than this nbdocker reads (v4)")
    if not isinstance(data.get("cells"), list) or not isinstance(data.get("metadata", {}), dict):
        raise NotebookError(f"{p} is not a valid v4 notebook: 'cells' is not a list")
    language = _language(data)
    if language is not None and language.lower() not in _PYTHON_LANGUAGES:
        raise NotebookError(f"{p} uses a {language} kernel; nbdocker supports Python notebooks only")
    return data


# Jupytext's text notebooks: a YAML header in comments ("# ---" then "# jupyter:"),
# percent-format cells ("# %%"), or Markdown front matter naming jupyter / jupytext.
_JUPYTEXT_HEADER = re.compile(r"\A(?:#!.*\n)?(?:#.*coding[:=].*\n)?\s*# ---\s*$", re.M)
_PERCENT_CELL = re.compile(r"^# ?%%(?:\s|$)", re.M)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*$", re.S | re.M)
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".rmd", ".qmd", ".myst", ".mystnb", ".mnb")


def _looks_like_jupytext(text: str, suffix: str) -> bool:
    """True for a Jupytext text notebook (``.py`` percent/light script, ``.md`` & co)."""
    text = text.lstrip("\ufeff")
    if suffix.lower() in _MARKDOWN_SUFFIXES:
        front = _FRONT_MATTER.match(text.lstrip())
        return bool(front and re.search(r"^\s*(?:jupyter|jupytext|kernelspec):", front.group(1),
                                        re.M))
    return bool(_JUPYTEXT_HEADER.match(text) or _PERCENT_CELL.search(text))


def _language(nb: Any) -> Union[str, None]:
    meta = nb.get("metadata", {}) or {}
    kernelspec = meta.get("kernelspec") or {}
    lang = kernelspec.get("language") or (meta.get("language_info") or {}).get("name")
    return str(lang) if lang else None


def kernel_name(nb: Any) -> str:
    """The notebook's kernelspec name (``"python3"`` when it names none)."""
    meta = nb.get("metadata", {}) or {}
    return str((meta.get("kernelspec") or {}).get("name") or "python3")


def code_cells(nb: Any) -> List[Tuple[int, str]]:
    """``(index, source)`` of every code cell; ``index`` is the position in ``nb.cells``."""
    out: List[Tuple[int, str]] = []
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):  # tolerate the on-disk list form
            source = "".join(source)
        if not isinstance(source, str):
            continue  # malformed cell: nothing to scan
        out.append((index, source))
    return out


def write_notebook_atomic(nb: "nbformat.NotebookNode", path: PathLike) -> None:
    """Write ``nb`` to ``path`` atomically (see :func:`nbdocker._fs.atomic_writer`)."""
    import nbformat

    atomic_write_text(path, nbformat.writes(nb))
