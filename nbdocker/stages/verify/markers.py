"""nbval's conventions: cell markers and sanitize files.

Markers, as comment lines anywhere in a cell (``# NBVAL_IGNORE_OUTPUT``) or as tags
(``nbval-ignore-output``), with nbval's meaning:

===========================  ============================  ==============================
comment                      tags                          effect
===========================  ============================  ==============================
``# NBVAL_IGNORE_OUTPUT``    ``nbval-ignore-output``       runs, output not compared (a
                                                           new error still counts)
``# NBVAL_SKIP``             ``nbval-skip``                not run in the container, not
                                                           compared
``# NBVAL_RAISES_EXCEPTION`` ``raises-exception``,         may raise; its output (the
                             ``nbval-raises-exception``    error too) is compared
``# NBVAL_CHECK_OUTPUT``     ``nbval-check-output``        compared even with
                                                           ``--nbval-lax``
===========================  ============================  ==============================

A sanitize file (``--sanitize FILE``) is nbval's INI format: each section holds a
``regex`` and a ``replace``, applied with :func:`re.sub` to every text output of both
sides after nbdocker's own masks::

    [timestamps]
    regex: \\d{2}:\\d{2}:\\d{2}
    replace: HH:MM:SS
"""
from __future__ import annotations

import configparser
import enum
import re
from pathlib import Path
from typing import Any, FrozenSet, List, Mapping, Pattern, Set, Tuple

from ...contract import SKIP_EXECUTION_TAG
from ...exceptions import InputError

__all__ = ["Marker", "markers_of", "mark_skipped_cells", "load_sanitize"]


class Marker(str, enum.Enum):
    """An nbval marker (see the module docstring)."""

    IGNORE_OUTPUT = "ignore-output"
    SKIP = "skip"
    RAISES_EXCEPTION = "raises-exception"
    CHECK_OUTPUT = "check-output"


_COMMENTS = {"NBVAL_IGNORE_OUTPUT": Marker.IGNORE_OUTPUT, "NBVAL_SKIP": Marker.SKIP,
             "NBVAL_RAISES_EXCEPTION": Marker.RAISES_EXCEPTION,
             "NBVAL_CHECK_OUTPUT": Marker.CHECK_OUTPUT}
_TAGS = {"nbval-ignore-output": Marker.IGNORE_OUTPUT, "nbval-skip": Marker.SKIP,
         "nbval-raises-exception": Marker.RAISES_EXCEPTION,
         "raises-exception": Marker.RAISES_EXCEPTION,
         "nbval-check-output": Marker.CHECK_OUTPUT}


def _source(cell: Mapping[str, Any]) -> str:
    value = cell.get("source", "")
    return "".join(value) if isinstance(value, list) else str(value)


def markers_of(cell: Mapping[str, Any]) -> FrozenSet[Marker]:
    """The nbval markers of ``cell``: comment lines (``# NBVAL_SKIP``) and tags."""
    found: Set[Marker] = set()
    source = _source(cell)
    if "NBVAL_" in source:
        for line in source.splitlines():
            line = line.strip()
            if line.startswith("#"):
                marker = _COMMENTS.get(line.lstrip("#").strip())
                if marker is not None:
                    found.add(marker)
    for tag in (cell.get("metadata", {}) or {}).get("tags", []) or []:
        if tag in _TAGS:
            found.add(_TAGS[tag])
    return frozenset(found)


def mark_skipped_cells(nb: Any) -> List[int]:
    """Tag every ``NBVAL_SKIP`` cell of ``nb`` (an in-memory copy, never the user's file)
    ``skip-execution``, which nbclient honours; returns their indices."""
    marked = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code" and Marker.SKIP in markers_of(cell):
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if SKIP_EXECUTION_TAG not in tags:
                tags.append(SKIP_EXECUTION_TAG)
            marked.append(index)
    return marked


def load_sanitize(path: str) -> Tuple[Tuple[Pattern[str], str], ...]:
    """The ``(pattern, replacement)`` pairs of an nbval sanitize file, in file order;
    :class:`InputError` (exit 2) naming the section for anything malformed."""
    file = Path(path)
    parser = configparser.RawConfigParser()
    try:
        with open(file, encoding="utf-8") as fh:
            parser.read_file(fh)
    except OSError as exc:
        raise InputError(f"--sanitize {path}: cannot read it ({exc.strerror or exc})") from None
    except (configparser.Error, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"--sanitize {path}: not an nbval sanitize file: {first}") from None
    rules = []
    for section in parser.sections():
        if not parser.has_option(section, "regex") or not parser.has_option(section, "replace"):
            raise InputError(f"--sanitize {path}: section [{section}] needs both 'regex:' "
                             "and 'replace:'")
        try:
            pattern = re.compile(parser.get(section, "regex"))
        except re.error as exc:
            raise InputError(f"--sanitize {path}: section [{section}]: bad regex: {exc}") \
                from None
        replacement = parser.get(section, "replace")
        try:
            pattern.sub(replacement, "")   # a bad group reference fails now, not mid-run
        except (re.error, IndexError) as exc:
            raise InputError(f"--sanitize {path}: section [{section}]: bad replace: {exc}") \
                from None
        rules.append((pattern, replacement))
    if not rules:
        raise InputError(f"--sanitize {path}: no [section] with regex: and replace:")
    return tuple(rules)
