"""verify: outputs as comparable parts, per-cell statuses, the report and its rendering."""
from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Optional, Sequence

import pytest
from nbformat.v4 import (new_code_cell, new_markdown_cell, new_notebook, new_output)

from nbdocker.stages.verify import CellResult, ReproductionReport, compare_notebooks, format_report
from nbdocker.stages.verify.normalise import Normaliser
from nbdocker.stages.verify.outputs import comparable


def normalise_outputs(outputs: List[Any]) -> Any:
    found = comparable(outputs, Normaliser())
    return [line for part in found.parts for line in part.lines()], list(found.pictures)


def stream(text: str, name: str = "stdout") -> Any:
    return new_output("stream", name=name, text=text)


def result(data: Dict[str, Any], kind: str = "execute_result") -> Any:
    if kind == "execute_result":
        return new_output(kind, data=data, execution_count=1)
    return new_output(kind, data=data)


def error(ename: str, evalue: str, tb: Sequence[str] = ("tb",)) -> Any:
    return new_output("error", ename=ename, evalue=evalue, traceback=list(tb))


def cell(outputs: List[Any], source: str = "x", count: Optional[int] = 1,
         tags: Sequence[str] = ()) -> Any:
    c = new_code_cell(source, outputs=outputs, execution_count=count)
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def compare(old: List[Any], new: List[Any], **kwargs: Any) -> ReproductionReport:
    return compare_notebooks(new_notebook(cells=old), new_notebook(cells=new), **kwargs)


def statuses(report: ReproductionReport) -> Dict[int, str]:
    return {c.index: c.status for c in report.cells}


# -- normalise_outputs -------------------------------------------------------------

def test_consecutive_streams_are_merged_whatever_the_chunking() -> None:
    one, _ = normalise_outputs([stream("a\nb\n")])
    many, _ = normalise_outputs([stream("a\n"), stream("b"), stream("\n")])
    assert one == many == ["[stdout] a", "[stdout] b"]


def test_interleaved_stdout_stderr_compare_equal() -> None:
    a, _ = normalise_outputs([stream("x\n"), stream("warn\n", "stderr"), stream("y\n")])
    b, _ = normalise_outputs([stream("x\ny\n"), stream("warn\n", "stderr")])
    assert a == b


def test_stream_runs_split_by_a_result_stay_apart() -> None:
    a, _ = normalise_outputs([stream("x\n"), result({"text/plain": "1"}, "display_data"),
                              stream("y\n")])
    b, _ = normalise_outputs([stream("x\ny\n"), result({"text/plain": "1"}, "display_data")])
    assert a != b


def test_text_plain_preferred_over_html_and_html_used_without_it() -> None:
    a, _ = normalise_outputs([result({"text/plain": "df", "text/html": "<b>1</b>"})])
    b, _ = normalise_outputs([result({"text/plain": "df", "text/html": "<b>2</b>"})])
    assert a == b
    c, _ = normalise_outputs([result({"text/html": "<b>1</b>"})])
    d, _ = normalise_outputs([result({"text/html": "<b>2</b>"})])
    assert c != d


def test_widget_model_ids_are_masked() -> None:
    def widget(model_id: str) -> Any:
        return result({"application/vnd.jupyter.widget-view+json":
                       {"model_id": model_id, "version_major": 2, "version_minor": 0}},
                      "display_data")
    a, _ = normalise_outputs([widget("5f1c0e2a9b8d4c7e8f6a5b4c3d2e1f0a")])
    b, _ = normalise_outputs([widget("0a1b2c3d4e5f60718293a4b5c6d7e8f9")])
    assert a == b and a


def test_execution_counts_are_ignored() -> None:
    old = cell([new_output("execute_result", data={"text/plain": "2"}, execution_count=7)], count=7)
    new = cell([new_output("execute_result", data={"text/plain": "2"}, execution_count=1)], count=1)
    assert statuses(compare([old], [new])) == {0: "same"}


def test_images_by_hash_reported_apart() -> None:
    png1 = base64.b64encode(b"\x89PNG one").decode()
    png2 = base64.b64encode(b"\x89PNG two").decode()
    fig = "<Figure size 640x480 with 1 Axes>"
    old = cell([result({"text/plain": fig, "image/png": png1}, "display_data")])
    new = cell([result({"text/plain": fig, "image/png": png2}, "display_data")])
    report = compare([old], [new])
    assert report.reproduced and report.cells[0].status == "same"
    assert report.cells[0].images_differ and report.summary["images_differ"] == 1
    strict = compare([old], [new], strict_images=True)
    assert not strict.reproduced and strict.cells[0].status == "differs"
    same = compare([old], [cell([result({"text/plain": fig, "image/png": png1 + "\n"},
                                        "display_data")])])
    assert not same.cells[0].images_differ


# -- statuses ----------------------------------------------------------------------

def test_deterministic_notebook_is_all_same() -> None:
    cells = [new_markdown_cell("# t"), cell([stream("hi\n")]), cell([result({"text/plain": "3"})])]
    report = compare(cells, [new_markdown_cell("# t"), cell([stream("hi\n")]),
                             cell([result({"text/plain": "3"})])])
    assert report.reproduced
    assert statuses(report) == {1: "same", 2: "same"}  # markdown cells are not listed


def test_a_changed_number_flags_exactly_that_cell_with_a_diff() -> None:
    old = [cell([stream("a\n")]), cell([result({"text/plain": "0.8444218515250481"})],
                                       source="random.random()"), cell([stream("c\n")])]
    new = [cell([stream("a\n")]), cell([result({"text/plain": "0.7579544029403025"})],
                                       source="random.random()"), cell([stream("c\n")])]
    report = compare(old, new)
    assert not report.reproduced
    assert statuses(report) == {0: "same", 1: "differs", 2: "same"}
    diff = report.cells[1].diff
    assert "-[result] 0.8444218515250481" in diff and "+[result] 0.7579544029403025" in diff


def test_diff_is_bounded() -> None:
    old = cell([stream("".join(f"line {i}\n" for i in range(200)))])
    new = cell([stream("".join(f"LINE {i}\n" for i in range(200)))])
    diff = compare([old], [new], max_diff_lines=10).cells[0].diff
    assert len(diff.splitlines()) == 11 and "more diff lines" in diff


def test_new_error_is_error_status() -> None:
    report = compare([cell([stream("ok\n")])], [cell([error("ValueError", "boom")])])
    assert statuses(report) == {0: "error"} and not report.reproduced
    assert "ValueError: boom" in report.cells[0].note


def test_error_raised_on_purpose_is_same_even_with_other_tracebacks() -> None:
    old = cell([error("ZeroDivisionError", "division by zero", ["File /home/a/x.py"])])
    new = cell([error("ZeroDivisionError", "division by zero", ["File /opt/venv/y.py"])])
    assert compare([old], [new]).reproduced


def test_different_error_on_purpose_differs() -> None:
    old = cell([error("KeyError", "'a'")])
    new = cell([error("KeyError", "'b'")])
    assert statuses(compare([old], [new])) == {0: "differs"}


def test_expected_error_missing_differs() -> None:
    assert statuses(compare([cell([error("KeyError", "'a'")])], [cell([])])) == {0: "differs"}


@pytest.mark.parametrize("tag", ["parameters", "nbdocker-skip-compare"])
def test_tagged_cells_are_skipped(tag: str) -> None:
    old = [cell([stream("1\n")], tags=[tag]), cell([stream("same\n")])]
    new = [cell([stream("2\n")], tags=[tag]), cell([stream("same\n")])]
    report = compare(old, new)
    assert report.reproduced and statuses(report) == {0: "skipped", 1: "same"}
    assert tag in report.cells[0].note


def test_injected_parameters_cell_is_set_aside_and_indices_are_the_originals() -> None:
    params = cell([], source="x = 1", tags=["parameters"])
    injected = cell([], source="# Parameters\nx = 2\n", tags=["injected-parameters"])
    old = [params, cell([stream("1\n")]), cell([stream("2\n")])]
    new = [params, injected, cell([stream("1\n")]), cell([stream("two\n")])]
    report = compare(old, new)
    assert statuses(report) == {0: "skipped", 1: "same", 2: "differs"}


def test_old_injected_cell_replaced_in_the_rerun() -> None:
    params = cell([], source="x = 1", tags=["parameters"])
    old_inj = cell([], source="x = 5", tags=["injected-parameters"])
    new_inj = cell([], source="x = 6", tags=["injected-parameters"])
    report = compare([params, old_inj, cell([stream("a\n")])],
                     [params, new_inj, cell([stream("a\n")])])
    assert [c.index for c in report.cells] == [0, 2] and report.reproduced


def test_cell_never_run_in_original_is_skipped_and_nothing_is_proven() -> None:
    report = compare([cell([], count=None)], [cell([stream("now it prints\n")])])
    assert statuses(report) == {0: "skipped"}
    assert "not run in the original" in report.cells[0].note
    # nothing was compared: no verdict of success
    assert not report.reproduced and report.verdict.startswith("NOT PROVEN")


def test_executed_cell_without_output_is_compared() -> None:
    report = compare([cell([], count=3)], [cell([stream("surprise\n")])])
    assert statuses(report) == {0: "differs"}


def test_cell_not_reached_in_rerun_differs() -> None:
    report = compare([cell([stream("a\n")]), cell([stream("b\n")])],
                     [cell([error("ValueError", "x")]), cell([], count=None)])
    assert statuses(report) == {0: "error", 1: "differs"}
    assert "not run in the re-run" in report.cells[1].note


# -- report ------------------------------------------------------------------------

def test_report_json_contract() -> None:
    report = compare([cell([stream("a\n")]), cell([stream("b\n")], tags=["nbdocker-skip-compare"])],
                     [cell([stream("A\n")]), cell([stream("b\n")])],
                     image="nbdocker/demo:abc", notebook="demo.ipynb")
    doc = json.loads(report.to_json())
    assert doc["reproduced"] is False and doc["image"] == "nbdocker/demo:abc"
    assert [(c["index"], c["status"]) for c in doc["cells"]] == [(0, "differs"), (1, "skipped")]
    assert doc["summary"] == {"same": 0, "close": 0, "volatile": 0, "differs": 1, "error": 0,
                              "skipped": 1, "images_differ": 0}
    assert doc["verdict"] == "NOT REPRODUCED: 1 cell differs; 0 same; 1 skipped; volatility " \
                             "not checked (--runs 1)"
    assert doc["settings"]["rtol"] == 1e-6 and doc["settings"]["atol"] == 1e-12
    assert doc["cells"][0]["cell_id"] == report.cells[0].cell_id
    assert report.to_json() == report.to_json()


def test_report_is_frozen() -> None:
    report = compare([cell([stream("a\n")])], [cell([stream("a\n")])])
    with pytest.raises(Exception):
        report.reproduced = False  # type: ignore[misc]
    assert isinstance(report.cells[0], CellResult)


def test_format_report_table() -> None:
    report = compare([cell([stream("a\n")], source="print('a')"),
                      cell([stream("b\n")], source="print(random.random())\n# more")],
                     [cell([stream("a\n")], source="print('a')"),
                      cell([stream("c\n")], source="print(random.random())\n# more")],
                     image="img:1", notebook="nb.ipynb")
    text = format_report(report)
    lines = text.splitlines()
    assert lines[0] == "Reproduction report for nb.ipynb in img:1"
    # Position, the original's In [n] (what users see), the cell id, status, source head.
    first, second = (c.cell_id for c in report.cells)
    assert any(line.split()[:4] == ["0", "[1]", first, "same"] for line in lines)
    assert any(line.split()[:5] == ["1", "[1]", second, "differs", "print(random.random())"]
               for line in lines)
    assert report.cells[1].execution_count == 1 and report.to_dict()["cells"][1]["execution_count"] == 1
    assert f"cell 1 In [1] id {second} differs:" in text
    assert "-[stdout] b" in text and "+[stdout] c" in text
    assert "1 same, 0 close, 0 volatile, 1 differ, 0 error, 0 skipped" in text
    assert "compared with rtol 1e-06, atol 1e-12, 1 run" in text
    assert lines[-1].startswith("NOT REPRODUCED: 1 cell differs; 1 same")
    ok = format_report(compare([cell([stream("a\n")])], [cell([stream("a\n")])]))
    assert ok.splitlines()[-1] == "REPRODUCED: 1 same; volatility not checked (--runs 1)"


def test_cells_waiting_for_input_get_a_hint() -> None:
    stdin = error("StdinNotImplementedError", "raw_input was called, but this frontend "
                  "does not support input requests.")
    report = compare([cell([stream("> f()\nipdb> quit\n")], "%debug"),
                      cell([error("ZeroDivisionError", "division by zero"),
                            stream("ipdb> quit\n")], "%pdb on\n1/0"),
                      cell([stream("1\n")], "print(1)")],
                     [cell([stream("> f()\n"), stdin], "%debug"),
                      cell([error("ZeroDivisionError", "division by zero"), stdin], "%pdb on\n1/0"),
                      cell([stream("2\n")], "print(1)")])
    first, second, third = report.cells
    assert first.status == "error" and "nbdocker-skip-compare" in first.note
    assert second.status == "differs" and "asks for input" in second.note
    assert third.status == "differs" and third.note == ""
