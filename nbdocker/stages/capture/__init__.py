"""Static capture: what a notebook needs, as an :class:`~nbdocker.spec.EnvironmentSpec`.

* :func:`capture_notebook` - the whole capture of a notebook file;
* :mod:`.imports` - imports / ``%pip`` / ``%run`` records from cell sources;
* :mod:`.distributions` - module → distribution → pinned version + transitive closure;
* :mod:`.interpreter` - the target interpreter, queried once and cached;
* :mod:`.files` - local modules and data files (never secrets, never outside the tree);
* :mod:`.platform` - Python/platform info and opt-in environment variables.
"""
from __future__ import annotations

from .imports import ImportRecord, extract_imports
from .notebook import DEFAULT_MAX_FILE_SIZE, capture_notebook

__all__ = ["capture_notebook", "extract_imports", "ImportRecord", "DEFAULT_MAX_FILE_SIZE"]
