"""The report as a terminal table: every compared cell by position, ``In [n]`` and id,
then the diffs of the cells that are not ``same``, the settings and the verdict line."""
from __future__ import annotations

from .compare import WARNINGS_NOTE
from .report import CellResult, ReproductionReport, Status

__all__ = ["format_report"]

_ID_WIDTH = 12


def _one_line(text: str, width: int) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _in(cell: CellResult) -> str:
    return f"[{cell.execution_count}]" if cell.execution_count is not None else ""


def _id(cell: CellResult) -> str:
    value = cell.cell_id or ""
    return value if len(value) <= _ID_WIDTH else value[:_ID_WIDTH - 1] + "…"


def format_report(report: ReproductionReport, *, width: int = 60) -> str:
    """A plain-text table of the report, the diffs of cells that are not ``same``, the
    settings, the notes and the verdict (last line)."""
    title = f"Reproduction report for {report.notebook or 'notebook'}"
    rows = [title + (f" in {report.image}" if report.image else ""),
            *([report.python_line] if report.python_line else []), "",
            f"{'cell':>4}  {'In [n]':<7} {'id':<{_ID_WIDTH}} {'status':<8} {'img':<3}  source"]
    for cell in report.cells:
        image_mark = "≠" if cell.images_differ else ""
        shown = cell.status != Status.SAME or cell.note == WARNINGS_NOTE
        explanation = cell.explanation() if shown else ""
        note = f"  ({explanation})" if explanation else ""
        rows.append(f"{cell.index:>4}  {_in(cell):<7} {_id(cell):<{_ID_WIDTH}} "
                    f"{cell.status.value:<8} {image_mark:<3}  "
                    f"{_one_line(cell.source_head, width)}{note}")
    for cell in report.cells:
        if cell.diff and cell.status != Status.SAME:
            rows += ["", f"{cell.name} {cell.status.value}:"]
            rows += ["    " + line for line in cell.diff.splitlines()]
    counts = report.summary
    rows += ["", ", ".join(f"{counts[s.value]} {'differ' if s == Status.DIFFERS else s.value}"
                           for s in Status)]
    if counts["images_differ"]:
        rows.append(f"images differ in {counts['images_differ']} cell(s)")
    rows.append(f"compared with {report.settings.describe()}")
    rows += [f"note: {note}" for note in report.notes]
    rows.append(report.verdict)
    return "\n".join(rows)
