"""Control runs: what differs between the container's own runs is 'volatile' (never
same, with a likely cause); what is stable but not the original's 'differs'."""
from __future__ import annotations

from typing import Any, List, Optional

from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbdocker.stages.verify import compare_notebooks, format_report


def _nb(*cells: Any) -> Any:
    return new_notebook(cells=list(cells))


def _cell(source: str, text: Optional[str], count: int = 1) -> Any:
    outputs: List[Any] = [] if text is None else [new_output("stream", name="stdout", text=text)]
    return new_code_cell(source, outputs=outputs, execution_count=count)


SOURCES = ["import numpy as np\nrng = np.random.default_rng()",
           "print(rng.normal())",
           "import datetime\nprint(datetime.datetime.now())",
           "print(sorted([3, 1, 2]))",
           "print({'pear', 'apple', 'fig'})",
           "print(42)"]


def _run(random: str, now: str, order: str, answer: str = "42") -> Any:
    texts = [None, random, now, "[1, 2, 3]\n", order, answer + "\n"]
    return _nb(*[_cell(s, t, i + 1) for i, (s, t) in enumerate(zip(SOURCES, texts))])


def test_volatile_cells_are_named_with_their_cause_and_never_same() -> None:
    original = _run("0.123\n", "2024-03-01 09:30:00.1\n", "{'pear', 'apple', 'fig'}\n")
    first = _run("0.123\n", "2026-01-01 10:00:00.5\n", "{'fig', 'pear', 'apple'}\n")
    second = _run("-1.7\n", "2026-01-01 10:00:07.9\n", "{'apple', 'fig', 'pear'}\n")
    report = compare_notebooks(original, first, controls=[second])
    statuses = {c.index: c.status.value for c in report.cells}
    # cell 1 matches the original in run 1, by chance: still not provable
    assert statuses == {0: "same", 1: "volatile", 2: "volatile", 3: "same", 4: "volatile",
                        5: "same"}
    reasons = {c.index: c.reason for c in report.cells}
    assert reasons[1] == ("an unseeded random generator, made in cell 0: "
                          "rng = np.random.default_rng()")
    assert reasons[2] == "it reads a clock: print(datetime.datetime.now())"
    assert "PYTHONHASHSEED" in reasons[4]
    assert "-[run 1] " not in report.cells[1].diff and "-[stdout] 0.123" in report.cells[1].diff
    assert "--- run 1" in report.cells[1].diff and "+++ run 2" in report.cells[1].diff
    assert report.reproduced
    assert report.verdict == "REPRODUCED: 3 same; 3 volatile cells not provable"
    assert report.settings.runs == 2
    assert "it reads a clock" in format_report(report)


def test_stable_but_different_from_the_original_differs() -> None:
    original = _run("0.1\n", "x\n", "{'a'}\n", answer="42")
    runs = [_run("0.1\n", "x\n", "{'a'}\n", answer="41") for _ in range(3)]
    report = compare_notebooks(original, runs[0], controls=runs[1:])
    assert {c.index: c.status.value for c in report.cells}[5] == "differs"
    assert report.verdict.startswith("NOT REPRODUCED: 1 cell differs; 5 same")
    assert report.settings.runs == 3


def test_an_error_in_any_run_is_an_error() -> None:
    original = _nb(_cell("flaky()", "ok\n"))
    ok = _nb(_cell("flaky()", "ok\n"))
    failed = _nb(new_code_cell("flaky()", execution_count=1, outputs=[
        new_output("error", ename="ConnectionError", evalue="reset", traceback=[])]))
    report = compare_notebooks(original, ok, controls=[failed])
    assert report.cells[0].status == "error"
    assert report.cells[0].note == "re-run raised in run 2 ConnectionError: reset"


def test_runs_that_only_differ_within_tolerance_are_not_volatile() -> None:
    original = _nb(_cell("print(s)", "0.30000000000000004\n"))
    a = _nb(_cell("print(s)", "0.3\n"))
    b = _nb(_cell("print(s)", "0.30000000000000004\n"))
    report = compare_notebooks(original, a, controls=[b])
    assert report.cells[0].status == "close"


def test_every_cell_volatile_proves_nothing() -> None:
    report = compare_notebooks(_nb(_cell("print(time.time())", "1.5\n")),
                               _nb(_cell("print(time.time())", "2.5\n")),
                               controls=[_nb(_cell("print(time.time())", "3.5\n"))])
    assert not report.reproduced
    assert report.verdict == "NOT PROVEN: no cell could be compared (0 same; 1 volatile " \
                             "cell not provable)"


def test_causes_read_from_earlier_cells() -> None:
    sources = ["import random\nimport numpy as np", "walk = [random.randint(0, 1) for _ in range(9)]",
               "print(sum(walk))", "rng = np.random.default_rng()", "x = rng.normal(size=3)",
               "print(x.mean())", "print(np.empty(3))"]

    def run(texts: List[Optional[str]]) -> Any:
        return _nb(*[_cell(s, t, i + 1) for i, (s, t) in enumerate(zip(sources, texts))])

    first = run([None, None, "4\n", None, None, "0.1\n", "[0. 0. 1.]\n"])
    second = run([None, None, "5\n", None, None, "0.3\n", "[1. 2. 3.]\n"])
    report = compare_notebooks(first, first, controls=[second])
    reasons = {c.index: c.reason for c in report.cells if c.status == "volatile"}
    assert reasons == {
        2: "probably values from random numbers drawn without a seed in cell 1: "
           "walk = [random.randint(0, 1) for _ in range(9)]",
        5: "probably values from the unseeded random generator made in cell 3: "
           "rng = np.random.default_rng()",
        6: "uninitialised memory: print(np.empty(3))"}


def test_cells_that_print_nothing_prove_nothing() -> None:
    # A field test's Bootstrap notebook: every cell with output volatile, the "same"
    # ones comments and imports. That is NOT PROVEN, never REPRODUCED.
    def run(value: str) -> Any:
        return _nb(_cell("# just a comment", None, 1), _cell("import numpy as np", None, 2),
                   _cell("print(np.random.normal())", value, 3))

    report = compare_notebooks(run("0.5\n"), run("1.5\n"), controls=[run("-0.2\n")])
    assert [c.status.value for c in report.cells] == ["same", "same", "volatile"]
    assert [c.empty for c in report.cells] == [True, True, False]
    assert not report.reproduced
    assert report.verdict.startswith("NOT PROVEN: no cell could be compared "
                                     "(2 same, 2 of them without output")
    # One cell with output that matches is enough again.
    proven = compare_notebooks(_nb(_cell("# c", None), _cell("print(1)", "1\n")),
                               _nb(_cell("# c", None), _cell("print(1)", "1\n")))
    assert proven.reproduced and proven.verdict.startswith("REPRODUCED: 2 same")
