"""Scanning cells fast: skip the ones that cannot matter, cache the rest by content.

* A cell with no import, magic, shell line, string literal, program call or hidden-
  dependency word (:data:`~.hidden.TRIGGER_WORDS`) can neither import nor name a file,
  so it is not parsed at all (``x = df.groupby(k).mean()``).
* The scan of every other cell is cached by the sha256 of its source (and the scanner's
  version) in one cache document per notebook, through :mod:`nbdocker._fs`: re-capturing
  an edited notebook parses only the cells that changed; a cell that moved keeps its
  entry (records are re-numbered on the way out). Entries of cells that are gone are
  dropped when the document is rewritten, so it never grows beyond the notebook.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Dict, Iterable, Optional, Tuple

from ..._fs import read_cache, write_cache
from .hidden import TRIGGER_WORDS
from .imports import SourceScan, scan_source
from .ipython_syntax import AUTOMAGIC_NAMES

__all__ = ["SCAN_VERSION", "may_matter", "scan_notebook_cells"]

SCAN_VERSION = 5  # bump whenever imports.py records something new or differently
_TEMPLATE_CELL = -1
_TEMPLATE_ORIGIN = f"cell {_TEMPLATE_CELL}"
_TRIGGERS = re.compile("|".join(
    [r"import", r"[%!'\"]", r"\bprint\s+[^\s(=]", r"\bexec\s", r"cwd", r"which",
     r"system", r"popen", r"Popen", r"check_"] + [re.escape(w) for w in TRIGGER_WORDS]))


def may_matter(source: str) -> bool:
    """False when ``source`` can neither import, run, load nor name anything."""
    if _TRIGGERS.search(source):
        return True
    lines = [line for line in source.splitlines() if line.strip()]
    # a one-line automagic (`ls data`, `pip install x`) is a magic without its %
    return len(lines) == 1 and lines[0].split(None, 1)[0] in AUTOMAGIC_NAMES


def _key(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _cache_name(notebook: Path) -> str:
    where = hashlib.sha256(os.path.abspath(notebook).encode("utf-8", "surrogatepass"))
    return f"cells-{where.hexdigest()[:24]}.json"


def _load(name: str) -> Dict[str, SourceScan]:
    doc = read_cache(name)
    if not isinstance(doc, dict) or doc.get("version") != SCAN_VERSION:
        return {}
    found: Dict[str, SourceScan] = {}
    try:
        for key, data in doc["cells"].items():
            found[key] = SourceScan.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return {}  # a corrupt entry: scan again
    return found


def scan_notebook_cells(cells: Iterable[Tuple[int, str]], notebook: Optional[Path] = None,
                        *, use_cache: bool = True) -> SourceScan:
    """The merged scan of ``(index, source)`` cells, read through the cache of
    ``notebook`` (none without a path or with ``use_cache=False``)."""
    name = _cache_name(notebook) if notebook is not None and use_cache else None
    cached = _load(name) if name else {}
    used: Dict[str, SourceScan] = {}
    total = SourceScan()
    for index, source in cells:
        if not may_matter(source):
            continue
        key = _key(source)
        template = used.get(key) or cached.get(key)
        if template is None:
            template = scan_source(source, cell=_TEMPLATE_CELL, origin=_TEMPLATE_ORIGIN)
        used[key] = template
        total.merge(template.relocated(index, f"cell {index}", _TEMPLATE_ORIGIN))
    if name and used.keys() != cached.keys():
        write_cache(name, {"version": SCAN_VERSION,
                           "cells": {k: v.to_dict() for k, v in used.items()}})
    return total
