"""compare.py: after a failed cell, later NameError/AttributeError/ImportError rows say
they probably follow it; their status stays "error" (the failures are real)."""
from __future__ import annotations

from typing import Any, List, Optional

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbdocker.stages.verify import ReproductionReport, compare_notebooks, format_report


def ok(text: str, source: str = "x", count: Optional[int] = 1) -> Any:
    return new_code_cell(source, execution_count=count,
                         outputs=[new_output("stream", name="stdout", text=text)])


def failed(ename: str, evalue: str, source: str = "x", count: Optional[int] = 1) -> Any:
    return new_code_cell(source, execution_count=count, outputs=[
        new_output("error", ename=ename, evalue=evalue, traceback=["tb"])])


def compare(old: List[Any], new: List[Any]) -> ReproductionReport:
    return compare_notebooks(new_notebook(cells=old), new_notebook(cells=new))


def notes(report: ReproductionReport) -> dict:
    return {c.index: c.note for c in report.cells}


def test_later_name_errors_point_at_the_first_error() -> None:
    old = [new_markdown_cell("# intro"),
           ok("1\n", "a = 1"),
           ok("loaded\n", "df = load()"),
           ok("3\n", "print(len(df))"),
           ok("x\n", "print(df.x)"),
           ok("m\n", "from helpers import m"),
           ok("z\n", "print(z)")]
    new = [new_markdown_cell("# intro"),
           ok("1\n", "a = 1"),
           failed("FileNotFoundError", "data.csv", "df = load()"),
           failed("NameError", "name 'df' is not defined", "print(len(df))"),
           failed("AttributeError", "'NoneType' object has no attribute 'x'", "print(df.x)"),
           failed("ImportError", "cannot import name 'm' from 'helpers'", "from helpers import m"),
           failed("ZeroDivisionError", "division by zero", "print(z)")]
    report = compare(old, new)
    # statuses are unchanged: each cell really failed
    assert {c.index: c.status for c in report.cells} == {
        1: "same", 2: "error", 3: "error", 4: "error", 5: "error", 6: "error"}
    got = notes(report)
    assert got[2] == "re-run raised FileNotFoundError: data.csv"  # the cause: no pointer
    assert got[3] == ("re-run raised NameError: name 'df' is not defined; "
                      "probably follows the error in cell 2")
    assert got[4].endswith("; probably follows the error in cell 2")
    assert got[5].endswith("; probably follows the error in cell 2")
    # another kind of error is a failure of its own
    assert got[6] == "re-run raised ZeroDivisionError: division by zero"
    assert "(re-run raised NameError: name 'df' is not defined; probably follows the error " \
           "in cell 2)" in format_report(report)
    assert not report.reproduced and report.summary["error"] == 5


def test_a_name_error_with_no_earlier_error_has_no_pointer() -> None:
    old = [ok("1\n", "a = 1"), ok("2\n", "print(b)")]
    new = [ok("1\n", "a = 1"), failed("NameError", "name 'b' is not defined", "print(b)")]
    assert notes(compare(old, new))[1] == "re-run raised NameError: name 'b' is not defined"


def test_an_earlier_differing_or_module_not_found_cell_is_no_cause_here() -> None:
    # Only an earlier "error" cell counts; an earlier "differs" one does not.
    old = [ok("1\n"), ok("2\n"), ok("3\n")]
    new = [ok("changed\n"),
           failed("ModuleNotFoundError", "No module named 'lib'"),
           failed("NameError", "name 'lib' is not defined")]
    got = notes(compare(old, new))
    assert "probably follows" not in got[1]  # the first error itself
    assert got[2].endswith("; probably follows the error in cell 1")


def test_a_cell_raising_the_same_error_in_both_runs_is_not_an_error_cause() -> None:
    # The original also raised in cell 0 (same ename: evalue): status "same", so a later
    # NameError has no earlier "error" cell to follow.
    old = [failed("ValueError", "boom"), ok("2\n")]
    new = [failed("ValueError", "boom"), failed("NameError", "name 'y' is not defined")]
    report = compare(old, new)
    assert [c.status for c in report.cells] == ["same", "error"]
    assert "probably follows" not in report.cells[1].note
