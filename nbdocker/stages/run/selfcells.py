"""Cells that drive nbdocker itself, and how a re-run leaves them out.

A notebook that was dockerized from inside (``%load_ext nbdocker``, ``%dockerize
--verify``) contains those cells; nbdocker is not installed in the image, so re-running
them there would fail. Before a notebook is sent to a container, such cells get two tags
on an **in-memory copy** (the user's file is never touched):

* ``skip-execution`` — nbclient's own ``NotebookClient.skip_cells_with_tag`` default, so
  the runner inside the image skips them without knowing about nbdocker;
* ``nbdocker-skip-compare`` (:data:`nbdocker.contract.SKIP_COMPARE_TAG`) — the comparison reports
  them as ``skipped``.

Users can put either tag on any cell by hand for the same effect.
"""
from __future__ import annotations

import copy
import re
from typing import Any, List, Tuple

from ...contract import SKIP_COMPARE_TAG, SKIP_EXECUTION_TAG

__all__ = ["is_nbdocker_cell", "nbdocker_cells",
           "mark_nbdocker_cells"]


_SELF_PATTERNS = re.compile(
    r"^(?:[\w\s,]*=)?\s*%{1,2}(?:dockerize|nbdocker_env)\b"           # our magics (r = %...)
    r"|^\s*%(?:re)?load_ext\s+nbdocker\b"                           # loading them
    r"|^\s*(?:import\s+nbdocker\b|from\s+nbdocker[\s.])"            # the Python API
    r"|run_line_magic\(\s*['\"](?:dockerize|nbdocker_env)['\"]"     # transformed magics
    r"|run_line_magic\(\s*['\"](?:re)?load_ext['\"]\s*,\s*['\"]nbdocker\b",
    re.M)


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def is_nbdocker_cell(cell: Any) -> bool:
    """True for a code cell that loads or calls nbdocker (it cannot run in the image)."""
    return cell.get("cell_type") == "code" and bool(_SELF_PATTERNS.search(_source(cell)))


def nbdocker_cells(nb: Any) -> List[int]:
    """Indices (in ``nb.cells``) of the cells that drive nbdocker itself."""
    return [i for i, cell in enumerate(nb.get("cells", [])) if is_nbdocker_cell(cell)]


def mark_nbdocker_cells(nb: Any) -> Tuple[Any, List[int]]:
    """A deep copy of ``nb`` with nbdocker's own cells tagged to be skipped, and their
    indices. ``nb`` itself is left as it was; with no such cell the copy equals it."""
    marked = copy.deepcopy(nb)
    indices = nbdocker_cells(marked)
    for i in indices:
        metadata = marked.cells[i].setdefault("metadata", {})
        tags = list(metadata.get("tags", []) or [])
        metadata["tags"] = tags + [t for t in (SKIP_EXECUTION_TAG, SKIP_COMPARE_TAG)
                                   if t not in tags]
    return marked, indices
