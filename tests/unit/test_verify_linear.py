"""Huge and hostile outputs: compare stays linear, keeps a short diff and says it cut.
(How long it takes is measured in benchmarks/compare.py, not asserted here.)"""
from __future__ import annotations

from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbdocker.stages.verify import compare_notebooks
from nbdocker.stages.verify.diff import first_difference
from nbdocker.stages.verify.normalise import Normaliser, strip_warnings


def _nb(text: str) -> Any:
    return new_notebook(cells=[new_code_cell("print(blob)", execution_count=1, outputs=[
        new_output("stream", name="stdout", text=text)])])


def test_a_1_mb_line_differing_near_its_end_shows_where() -> None:
    line = "x" * 1_000_000
    report = compare_notebooks(_nb(line + "A\n"), _nb(line + "B\n"))
    cell = report.cells[0]
    assert cell.status == "differs" and cell.truncated
    assert len(cell.diff) < 2_000
    assert "xA" in cell.diff and "xB" in cell.diff and "[999" in cell.diff   # the window
    assert any("cut" in note for note in report.notes)
    assert len(report.to_json()) < 10_000


def test_many_differing_lines_keep_a_bounded_diff() -> None:
    a = "".join(f"row {i}\n" for i in range(200_000))
    b = "".join(f"row {i + 1}\n" for i in range(200_000))
    cell = compare_notebooks(_nb(a), _nb(b)).cells[0]
    assert cell.status == "differs" and cell.truncated and len(cell.diff.splitlines()) <= 21


ADVERSARIAL = [
    "a" * 300_000, "0" * 300_000, "/" * 300_000, " at 0x1" * 50_000, "<" * 300_000 + " at 0x1>",
    "/site-packages" * 30_000, "x" * 300_000 + "/site-packages/", "/a" * 150_000 + "/bin/python",
    "CPU times: " + "1" * 300_000, "[00:01<" * 50_000, "1." * 150_000, "1e" * 150_000,
    "ab:1: " * 50_000 + "UserWarning:", "a:" * 150_000, "Requirement already satisfied: x " * 10_000,
    "/home/" * 50_000, "C:\\Users\\" * 30_000, "<TMP>/" * 50_000, "ipykernel_" * 30_000,
    "%" * 300_000, "\x1b[" * 150_000, "\r" * 300_000, "━" * 300_000, "9" * 299_999 + ".",
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=[t[:12].encode("unicode_escape").decode()
                                                   for t in ADVERSARIAL])
def test_hostile_shapes_are_compared(text: str) -> None:
    Normaliser(["/home/ann/nb"], ["/opt/conda"]).text(text)
    strip_warnings(text)
    report = compare_notebooks(_nb(text), _nb(text + "!"))
    assert report.cells[0].status == "differs"


def test_first_difference() -> None:
    assert first_difference("abc", "abd") == 2
    assert first_difference("abc", "abc") == 3
    assert first_difference("", "x") == 0
    assert first_difference("x" * 10**6 + "a", "x" * 10**6 + "b") == 10**6
