"""papermill's ``nbdocker`` engine: ``papermill --engine nbdocker in.ipynb out.ipynb -p a 1``.

Registered through papermill's ``papermill.engine`` entry point (``pip install
'nbdocker[papermill]'``). papermill keeps everything it owns — reading, parameter
injection, output writing, its metadata and its error cells — and hands this engine the
parameterized notebook; the engine builds (or reuses) the notebook's nbdocker image from
the input notebook's folder, runs the parameterized copy inside it through
:func:`nbdocker.pipeline.run`, and puts the container's outputs back into papermill's
notebook, cell by cell, so papermill's ``PapermillExecutionError`` and progress bar work
as with its own engine.

Engine keyword arguments named like :class:`~nbdocker.options.Options` fields (from
``papermill.execute_notebook(..., engine_name="nbdocker", base_image=..., memory=...)``)
set nbdocker's options; papermill's ``execution_timeout`` is the per-cell timeout.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, Optional

from papermill.engines import Engine

from .. import pipeline
from ..events import Event, Phase
from ..exceptions import CellExecutionError, InputError
from ..options import Options

__all__ = ["NbDockerEngine"]

_OPTION_NAMES = frozenset(f.name for f in fields(Options))


class NbDockerEngine(Engine):  # papermill ships no type hints: Engine is Any to mypy
    """papermill engine template method: execute the managed notebook in its image."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, *,
                                 input_path: Optional[str] = None,
                                 execution_timeout: Optional[float] = None,
                                 **kwargs: Any) -> Any:
        if not input_path:
            raise InputError("the nbdocker engine needs the input notebook's path (its folder "
                             "holds the files the image is built from)")
        options = Options(**{k: v for k, v in kwargs.items()
                             if k in _OPTION_NAMES and v is not None})
        if execution_timeout:
            options = options.replace(cell_timeout=execution_timeout)
        cells = nb_man.nb.cells

        def on_event(event: Event) -> None:
            index = event.data.get("cell") if event.phase is Phase.RUN else None
            if event.kind == "progress" and isinstance(index, int) and index < len(cells):
                nb_man.cell_start(cells[index], index)

        try:
            outcome = pipeline.run(Path(input_path), options, source=nb_man.nb,
                                   on_event=on_event)
        except CellExecutionError as exc:
            if exc.outcome is None or exc.outcome.notebook is None:
                raise
            _copy_outputs(exc.outcome.notebook, nb_man)
            failed = exc.cell_index
            nb_man.cell_exception(cells[failed], cell_index=failed, exception=exc)
            return nb_man.nb
        _copy_outputs(outcome.notebook, nb_man)
        return nb_man.nb


def _copy_outputs(executed: Any, nb_man: Any) -> None:
    """The container's outputs into papermill's notebook (same cells, same order)."""
    for index, (cell, done) in enumerate(zip(nb_man.nb.cells, executed.cells)):
        if cell.get("cell_type") != "code":
            continue
        cell.outputs = done.get("outputs", [])
        cell.execution_count = done.get("execution_count")
        ran: Dict[str, Any] = done.get("metadata", {}).get("execution", {})
        if ran:
            cell.metadata["execution"] = ran
        if cell.execution_count is not None or cell.outputs:
            nb_man.cell_complete(cell, cell_index=index)
