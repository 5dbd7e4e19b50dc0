"""Verify: compare saved outputs with re-runs and report (see :mod:`.compare`).

One concern per module: :mod:`.normalise` (masks), :mod:`.numbers` (tolerance),
:mod:`.images`, :mod:`.install` (pip output), :mod:`.markers` (nbval),
:mod:`.volatility`, :mod:`.outputs` (cells → comparable parts), :mod:`.diff`,
:mod:`.compare` (cells → report), :mod:`.report` (the report's types), and the views
:mod:`.text`, :mod:`.html`, :mod:`.junit`, :mod:`.files`.
"""
from .compare import compare_notebooks
from .html import html_page, report_html
from .junit import junit_xml
from .report import CellResult, ReproductionReport, Status
from .text import format_report

__all__ = ["compare_notebooks", "CellResult", "ReproductionReport", "Status",
           "format_report", "report_html", "html_page", "junit_xml"]
