"""Report files (``--html FILE``, ``--junit-xml FILE``): checked before any work,
written atomically (readers see the old file or the new one, never half of one)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..._fs import atomic_write_text, check_writable
from ...exceptions import InputError
from .html import html_page
from .junit import junit_xml
from .report import ReproductionReport

__all__ = ["check_report_path", "write_reports"]

_REFUSED = (".ipynb", ".py")


def check_report_path(path: Optional[str], option: str) -> None:
    """:class:`InputError` (exit 2) now, before any work, when ``path`` cannot take a
    report: a notebook or Python file, or a place an atomic write would fail."""
    if not path:
        return
    target = Path(path)
    if target.suffix.lower() in _REFUSED:
        raise InputError(f"{option} {path}: refusing to write a report over a "
                         f"{target.suffix} file")
    check_writable(target, option)


def write_reports(report: ReproductionReport, *, html: Optional[str] = None,
                  junit: Optional[str] = None) -> None:
    """Write the HTML page and / or the JUnit XML of ``report``."""
    if html:
        atomic_write_text(html, html_page(report))
    if junit:
        atomic_write_text(junit, junit_xml(report))
