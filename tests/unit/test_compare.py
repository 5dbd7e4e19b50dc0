"""compare.py: normalisation, per-cell statuses, the report and its rendering."""
from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Optional, Sequence

import pytest
from nbformat.v4 import (new_code_cell, new_markdown_cell, new_notebook, new_output)

from nbdocker.stages.verify.compare import (CellResult, ReproductionReport, compare_notebooks, format_report,
                              normalise_outputs, normalise_text)


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


# -- normalise_text ----------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("<object object at 0x7f3a2b1c4d50>", "<object object at 0x7ff00dd1e2a0>"),
    ("<__main__.A at 0x10a2b3c4d>", "<__main__.A at 0x7fb1c2d3e4f5>"),
    ("now: 2024-03-01 12:34:56.789012", "now: 2025-11-30 01:02:03.000001"),
    ("now: 2024-03-01T12:34:56+01:00", "now: 2026-01-01T00:00:00Z"),
    ("today 2024-03-01", "today 2025-12-31"),
    ("at 12:34:56", "at 01:02:03"),
    ("Fri Mar  1 12:00:00 2024", "Sun Dec 21 23:59:59 2025"),
    ("datetime.datetime(2024, 3, 1, 12, 0, 0, 123)", "datetime.datetime(2025, 1, 1, 0, 0)"),
    ("t=1712345678.123456", "t=1799999999.5"),
    ("CPU times: user 1.2 ms, sys: 3 µs, total: 1.21 ms", "CPU times: user 10 s, sys: 0 ns, total: 10 s"),
    ("Wall time: 1.2 ms", "Wall time: 3.45 s"),
    ("1.23 µs ± 45.6 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)",
     "2.5 ms ± 1 ms per loop (mean ± std. dev. of 7 runs, 100 loops each)"),
    ("100%|██████████| 10/10 [00:01<00:00,  9.52it/s]", "100%|██████████| 10/10 [00:03<00:00,  3.01it/s]"),
    ("wrote /tmp/tmpab12cd/out.csv", "wrote /tmp/tmpzz99yy/out.csv"),
    ("cache in /var/folders/x1/abc/T/tmp123", "cache in /tmp/xyz"),
    ("/tmp/ipykernel_123/4567.py:3: UserWarning: careful",
     "/tmp/ipykernel_9/1.py:3: UserWarning: careful"),
    ("/home/alice/.venv/lib/python3.11/site-packages/pandas/core/frame.py:12: FutureWarning",
     "/opt/venv/lib/python3.11/site-packages/pandas/core/frame.py:12: FutureWarning"),
    ("config at /home/alice/.config/app", "config at /root/.config/app"),
    ("config at /Users/bob/.config/app", "config at /home/nbdocker/.config/app"),
    ("id 123e4567-e89b-12d3-a456-426614174000", "id 00000000-1111-2222-3333-444444444444"),
    ("\x1b[0;31mred\x1b[0m", "red"),
    ("10%\r50%\r100%\n", "100%\n"),
    ("a\r\nb", "a\nb"),
])
def test_volatile_text_is_masked(a: str, b: str) -> None:
    assert normalise_text(a) == normalise_text(b)


@pytest.mark.parametrize("a, b", [
    ("value 0.5", "value 0.6"),
    ("count: 12", "count: 13"),
    ("0xff", "0xfe"),                       # short hex literals are data, not addresses
    ("/data/run1/x.csv", "/data/run2/x.csv"),
    ("total 12 ms", "total 13 ms"),
])
def test_real_differences_survive(a: str, b: str) -> None:
    assert normalise_text(a) != normalise_text(b)


def test_notebook_directories_are_aliased() -> None:
    a = normalise_text("/srv/projects/demo/data.csv", dirs=["/srv/projects/demo"])
    b = normalise_text("/home/nbdocker/work/data.csv", dirs=["/home/nbdocker/work"])
    assert a == b == "<NOTEBOOK_DIR>/data.csv"


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


def test_cell_never_run_in_original_is_skipped() -> None:
    report = compare([cell([], count=None)], [cell([stream("now it prints\n")])])
    assert statuses(report) == {0: "skipped"} and report.reproduced
    assert "not run in the original" in report.cells[0].note


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
    assert doc["summary"] == {"same": 0, "differs": 1, "error": 0, "skipped": 1,
                              "images_differ": 0}
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
    # Position, then the original's In [n] (what users see), status and source head.
    assert any(line.split()[:3] == ["0", "[1]", "same"] for line in lines)
    assert any(line.split()[:4] == ["1", "[1]", "differs", "print(random.random())"]
               for line in lines)
    assert report.cells[1].execution_count == 1 and report.to_dict()["cells"][1]["execution_count"] == 1
    assert "-[stdout] b" in text and "+[stdout] c" in text
    assert "1 same, 1 differ, 0 error, 0 skipped" in text
    assert lines[-1].startswith("NOT REPRODUCED")
    ok = format_report(compare([cell([stream("a\n")])], [cell([stream("a\n")])]))
    assert ok.splitlines()[-1] == "REPRODUCED"


# -- profilers, IPython cell files, %%writefile (field test of real notebooks) -------

_PRUN = """         {calls} function calls in {secs} seconds

   Ordered by: internal time

   ncalls  tottime  percall  cumtime  percall filename:lineno(function)
{rows}"""
_LPRUN = """Timer unit: {unit} s

Total time: {total} s
File: {file}
Function: f at line 1

Line #      Hits         Time  Per Hit   % Time  Line Contents
==============================================================
     1                                           def f(n):
     2         5 {t:>12} {p:>8} {pct:>8}      return [i for i in range(n)]"""


@pytest.mark.parametrize("a, b", [
    (_PRUN.format(calls=14, secs="0.932", rows=(
        "        5    0.808    0.162    0.808    0.162 <ipython-input-7-f1057>:4(<listcomp>)\n"
        "        1    0.000    0.000    0.000    0.000 {built-in method builtins.exec}")),
     _PRUN.format(calls=14, secs="0.101", rows=(
         "        1    0.000    0.000    0.000    0.000 {built-in method builtins.exec}\n"
         "      3/1    0.090    0.018    0.090    0.018 1234.py:4(<listcomp>)\n"
         "        1    0.011    0.011    0.101    0.101 <string>:1(<module>)"))),
    (_LPRUN.format(unit="1e-06", total="0.014803", file="<ipython-input-7-f105717832a2>",
                   t="14242.0", p="2848.4", pct="96.2"),
     _LPRUN.format(unit="1e-09", total="0.00316", file="/tmp/ipykernel_1/2966738455.py",
                   t="3160000.0", p="632000.0", pct="100.0")),
    ("peak memory: 141.70 MiB, increment: 75.65 MiB",
     "peak memory: 121.00 MiB, increment: -4.54 MiB"),
    ("Line #    Mem usage    Increment  Occurences   Line Contents\n" + "=" * 60 + "\n"
     "     4    105.9 MiB     30.8 MiB     5000015           L = [j for j in range(N)]",
     "Line #    Mem usage    Increment  Occurrences   Line Contents\n" + "=" * 61 + "\n"
     "     4     99.1 MiB     -2.0 MiB     5000015           L = [j for j in range(N)]"),
    ("Overwriting mprun_demo.py", "Writing mprun_demo.py"),
    ("<Figure size 432x288 with 1 Axes>", "<Figure size 640x480 with 1 Axes>"),
    ("> <ipython-input-1-d849e34d61fb>(2)func1()", "> /tmp/ipykernel_77/3071331547.py(2)func1()"),
    ("<ipython-input-3-ab12cd>:2: UserWarning: x",
     "/var/folders/x1/T/ipykernel_9/123.py:2: UserWarning: x"),
])
def test_profiler_and_cell_file_noise_is_masked(a: str, b: str) -> None:
    assert normalise_text(a) == normalise_text(b)


@pytest.mark.parametrize("a, b", [
    # what profilers report about the code itself is kept
    (_PRUN.format(calls=14, secs="1", rows=""), _PRUN.format(calls=15, secs="1", rows="")),
    (_LPRUN.format(unit="1", total="1", file="x", t="1.0", p="1.0", pct="1.0"),
     _LPRUN.format(unit="1", total="1", file="x", t="1.0", p="1.0", pct="1.0").replace(
         "     2         5", "     2         6")),
    ("> /tmp/ipykernel_1/1.py(2)func1()", "> /tmp/ipykernel_1/1.py(3)func1()"),
    # a table of floats that is not a profile is data
    ("0    1.000    2.000    3.000    4.000 a:1(b)", "0    1.000    2.000    3.000    5.000 a:1(b)"),
    ("1   2   1.0   2.0   3.0  x", "1   2   1.0   2.0   4.0  x"),
    ("Overwriting is the mode", "Writing is the mode"),
    ("=" * 60, "=" * 61),  # a rule outside a memory profile is kept
    ("<Figure size 640x480 with 1 Axes>", "<Figure size 640x480 with 2 Axes>"),
])
def test_profiler_masks_keep_real_differences(a: str, b: str) -> None:
    assert normalise_text(a) != normalise_text(b)


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
