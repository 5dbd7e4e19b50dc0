"""compare.py: ignore_warnings leaves Python warnings on stderr out of the comparison."""
from typing import Any, List

from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbdocker.stages.verify import compare_notebooks, format_report
from nbdocker.stages.verify.normalise import strip_warnings

WIN = ("C:\\Anaconda\\Lib\\site-packages\\sklearn\\cluster\\_kmeans.py:1429: UserWarning: "
       "KMeans is known to have a memory leak on Windows with MKL.\n  warnings.warn(\n")
MULTILINE = ("/opt/venv/lib/python3.11/site-packages/pkg/mod.py:7: FutureWarning:\n\n"
             "The default will change.\n\n")


def cell(*outputs: Any) -> Any:
    return new_code_cell("x", outputs=list(outputs), execution_count=1)


def out(text: str, name: str = "stdout") -> Any:
    return new_output("stream", name=name, text=text)


def statuses(old: List[Any], new: List[Any], **kw: Any) -> List[str]:
    report = compare_notebooks(new_notebook(cells=old), new_notebook(cells=new), **kw)
    return [c.status for c in report.cells]


def test_warning_only_differences_are_ignored_on_request() -> None:
    old = [cell(out("acc 1.0\n"), out(WIN, "stderr")), cell(out(MULTILINE, "stderr"))]
    new = [cell(out("acc 1.0\n")), cell()]
    assert statuses(old, new) == ["differs", "differs"]  # default: warnings count
    report = compare_notebooks(new_notebook(cells=old), new_notebook(cells=new),
                               ignore_warnings=True)
    assert [c.status for c in report.cells] == ["same", "same"]
    assert report.reproduced
    assert "only Python warnings on stderr differ (ignored)" in format_report(report)


def test_other_stderr_and_stdout_still_count() -> None:
    old = [cell(out("acc 1.0\n"), out("ERROR: disk full\n" + WIN, "stderr"))]
    assert statuses(old, [cell(out("acc 1.0\n"), out(WIN, "stderr"))],
                    ignore_warnings=True) == ["differs"]
    assert statuses([cell(out("acc 1.0\n"), out(WIN, "stderr"))],
                    [cell(out("acc 0.9\n"))], ignore_warnings=True) == ["differs"]


def test_strip_warnings_keeps_what_comes_before_the_first_warning() -> None:
    assert strip_warnings("loading\n" + WIN) == "loading\n"
    assert strip_warnings(MULTILINE) == ""
    assert strip_warnings("x.py:3: numpy.exceptions.RankWarning: poor fit\n") == ""
    assert strip_warnings("a:1: not a warning: Warning\n") == "a:1: not a warning: Warning\n"
