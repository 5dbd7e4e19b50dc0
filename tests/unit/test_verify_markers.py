"""nbval's conventions: markers as comments and as tags, sanitize files, --nbval-lax."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbdocker.contract import SKIP_EXECUTION_TAG
from nbdocker.exceptions import InputError
from nbdocker.options import Options
from nbdocker.stages.verify import compare_notebooks
from nbdocker.stages.verify.markers import Marker, load_sanitize, mark_skipped_cells, markers_of


def _cell(source: str, outputs: List[Any], tags: Sequence[str] = ()) -> Any:
    cell = new_code_cell(source, outputs=outputs, execution_count=1)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _out(text: str) -> Any:
    return new_output("stream", name="stdout", text=text)


def _error(name: str = "ValueError") -> Any:
    return new_output("error", ename=name, evalue="boom", traceback=[])


def _status(old: Any, new: Any, **kwargs: Any) -> Any:
    report = compare_notebooks(new_notebook(cells=[old]), new_notebook(cells=[new]), **kwargs)
    return report.cells[0]


@pytest.mark.parametrize("comment, tag, marker", [
    ("# NBVAL_IGNORE_OUTPUT", "nbval-ignore-output", Marker.IGNORE_OUTPUT),
    ("# NBVAL_SKIP", "nbval-skip", Marker.SKIP),
    ("# NBVAL_RAISES_EXCEPTION", "raises-exception", Marker.RAISES_EXCEPTION),
    ("#NBVAL_RAISES_EXCEPTION", "nbval-raises-exception", Marker.RAISES_EXCEPTION),
    ("# NBVAL_CHECK_OUTPUT", "nbval-check-output", Marker.CHECK_OUTPUT),
])
def test_markers_as_comments_and_as_tags(comment: str, tag: str, marker: Marker) -> None:
    assert markers_of(_cell(f"x = 1\n  {comment}\nprint(x)", [])) == {marker}
    assert markers_of(_cell("x = 1", [], tags=[tag])) == {marker}
    assert markers_of(_cell(f"print('{comment}')", [])) == set()   # not a comment line


@pytest.mark.parametrize("how", ["# NBVAL_IGNORE_OUTPUT\nprint(random())", "print(random())"])
def test_ignore_output_compares_no_output_but_a_new_error_counts(how: str) -> None:
    tags = [] if how.startswith("#") else ["nbval-ignore-output"]
    ignored = _status(_cell(how, [_out("0.1\n")], tags), _cell(how, [_out("0.7\n")], tags))
    assert ignored.status == "skipped" and "NBVAL_IGNORE_OUTPUT" in ignored.note
    failed = _status(_cell(how, [_out("0.1\n")], tags), _cell(how, [_error()], tags))
    assert failed.status == "error"


def test_skip_is_not_compared_and_not_run() -> None:
    assert _status(_cell("# NBVAL_SKIP\nslow()", [_out("a\n")]),
                   _cell("# NBVAL_SKIP\nslow()", [])).status == "skipped"
    nb = new_notebook(cells=[_cell("a()", []), _cell("b()", [], tags=["nbval-skip"]),
                             _cell("# NBVAL_SKIP\nc()", [])])
    assert mark_skipped_cells(nb) == [1, 2]
    assert [SKIP_EXECUTION_TAG in c.metadata.get("tags", []) for c in nb.cells] == \
        [False, True, True]


def test_raises_exception_cells_may_raise_and_are_compared() -> None:
    source = "# NBVAL_RAISES_EXCEPTION\nraise ValueError('boom')"
    assert _status(_cell(source, [_error()]), _cell(source, [_error()])).status == "same"
    assert _status(_cell(source, [_error()]), _cell(source, [_error("KeyError")])).status == \
        "differs"
    # without the marker, a new error is an error; with it, a difference
    assert _status(_cell("f()", [_out("1\n")]), _cell("f()", [_error()])).status == "error"
    assert _status(_cell(source, [_out("1\n")]), _cell(source, [_error()])).status == "differs"


def test_lax_compares_only_check_output_cells() -> None:
    old = new_notebook(cells=[_cell("a()", [_out("1\n")]),
                              _cell("# NBVAL_CHECK_OUTPUT\nb()", [_out("2\n")]),
                              _cell("c()", [_out("3\n")])])
    new = new_notebook(cells=[_cell("a()", [_out("changed\n")]),
                              _cell("# NBVAL_CHECK_OUTPUT\nb()", [_out("2\n")]),
                              _cell("c()", [_error()])])
    report = compare_notebooks(old, new, lax=True)
    assert [c.status.value for c in report.cells] == ["skipped", "same", "error"]
    assert "--nbval-lax" in report.cells[0].note
    assert [c.status.value for c in compare_notebooks(old, new).cells] == \
        ["differs", "same", "error"]


SANITIZE = """[timestamps]
regex: \\d{2}:\\d{2}:\\d{2}
replace: HH:MM:SS

[object ids]
regex: id=(\\d+)
replace: id=<ID>
"""


def test_a_sanitize_file_applies_to_both_sides(tmp_path: Path) -> None:
    path = tmp_path / "sanitize.cfg"
    path.write_text(SANITIZE, encoding="utf-8")
    rules = load_sanitize(str(path))
    assert [p.pattern for p, _ in rules] == [r"\d{2}:\d{2}:\d{2}", r"id=(\d+)"]
    old = _cell("log()", [_out("at 09:30:00 id=17\n")])
    assert _status(old, _cell("log()", [_out("at 17:45:00 id=99\n")]), sanitize=rules,
                   sanitize_file=str(path)).status == "same"
    assert _status(old, _cell("log()", [_out("at 17:45:00 id=99 again\n")]),
                   sanitize=rules).status == "differs"
    # without the file, both are data
    assert _status(old, _cell("log()", [_out("at 17:45:00 id=99\n")])).status == "differs"
    assert Options(sanitize=str(path)).sanitize == str(path)


@pytest.mark.parametrize("text, message", [
    ("[a]\nregex: x\n", "section [a] needs both 'regex:' and 'replace:'"),
    ("[a]\nregex: (\nreplace: y\n", "section [a]: bad regex"),
    ("[a]\nregex: (x)\nreplace: \\2\n", "section [a]: bad replace"),
    ("regex: x\n", "not an nbval sanitize file"),
    ("", "no [section]"),
])
def test_a_bad_sanitize_file_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.cfg"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")) as err:
        Options(sanitize=str(path))
    assert err.value.exit_code == 2
    with pytest.raises(InputError, match="cannot read it"):
        Options(sanitize=str(tmp_path / "missing.cfg"))


def test_empty_marker_free_cells_keep_their_names() -> None:
    cell: Optional[Any] = _status(_cell("print(1)", [_out("1\n")]), _cell("print(1)", [_out("1\n")]))
    assert cell is not None and cell.name == f"cell 0 In [1] id {cell.cell_id}"
