"""The report as JUnit XML, which CI systems show as tests.

One ``<testcase>`` per cell of the report, named by position, ``In [n]``, id and first
source line; ``classname`` is the notebook. ``differs`` is a ``<failure>`` and ``error``
an ``<error>`` (message: the note, body: the diff); ``volatile`` and ``skipped`` are
``<skipped>`` (not proven, with the reason); ``close`` passes with its deviation in
``<system-out>``. The suite's ``tests``/``failures``/``errors``/``skipped`` attributes
count them.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Optional

from .report import ReproductionReport, Status

__all__ = ["junit_xml"]

# Characters XML 1.0 cannot hold (a binary print, a stray control code)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: Optional[str]) -> Optional[str]:
    return _NOT_XML.sub("\ufffd", text) if text else text


def junit_xml(report: ReproductionReport) -> str:
    """The JUnit XML document (UTF-8 text with an XML declaration)."""
    counts = report.summary
    name = report.notebook or "notebook"
    suites = ET.Element("testsuites", name="nbdocker")
    suite = ET.SubElement(suites, "testsuite", {
        "name": f"nbdocker verify {name}", "tests": str(len(report.cells)),
        "failures": str(counts["differs"]), "errors": str(counts["error"]),
        "skipped": str(counts["volatile"] + counts["skipped"])})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="verdict", value=_x(report.verdict) or "")
    ET.SubElement(properties, "property", name="settings", value=report.settings.describe())
    if report.image:
        ET.SubElement(properties, "property", name="image", value=report.image)
    for cell in report.cells:
        first = cell.source_head.splitlines()[0] if cell.source_head else ""
        case = ET.SubElement(suite, "testcase", classname=_x(name) or "",
                             name=_x(f"{cell.name}: {first}".rstrip(": ")) or "")
        explanation = _x(cell.explanation()) or ""
        message = f"{cell.status.value}: {explanation}" if explanation else cell.status.value
        diff = _x(cell.diff)
        if cell.status == Status.DIFFERS:
            ET.SubElement(case, "failure", message=message, type="differs").text = \
                diff or explanation
        elif cell.status == Status.ERROR:
            ET.SubElement(case, "error", message=message, type="error").text = \
                diff or explanation
        elif cell.status in (Status.VOLATILE, Status.SKIPPED):
            ET.SubElement(case, "skipped", message=message).text = diff or None
        elif cell.status == Status.CLOSE:
            ET.SubElement(case, "system-out").text = explanation
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
