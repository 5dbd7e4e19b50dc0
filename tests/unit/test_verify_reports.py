"""The reports: JSON (the CLI contract's keys), one self-contained HTML page, JUnit XML,
and `nbdocker compare` (no Docker) writing them."""
from __future__ import annotations

import base64
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, List

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from PIL import Image, ImageDraw

from nbdocker.frontends.cli import main
from nbdocker.stages.verify import compare_notebooks, html_page, junit_xml


def _png(y: int) -> str:
    image = Image.new("RGB", (120, 80), "white")
    ImageDraw.Draw(image).line([(0, y), (120, y)], fill="red", width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def _out(text: str) -> Any:
    return new_output("stream", name="stdout", text=text)


def _notebook(answer: str, y: int, stamp: str) -> Any:
    nb = new_notebook(cells=[
        new_markdown_cell("# A report"),
        new_code_cell("print('hello')", outputs=[_out("hello\n")], execution_count=1),
        new_code_cell("print(answer)", outputs=[_out(answer + "\n")], execution_count=2),
        new_code_cell("df", execution_count=3, outputs=[new_output(
            "execute_result", execution_count=3,
            data={"text/plain": "   a\n0  1", "text/html": "<table class='dataframe'><tr>"
                  "<td>1</td></tr></table><script>fetch('https://example.com')</script>"})]),
        new_code_cell("plot()", execution_count=4, outputs=[new_output(
            "display_data", data={"image/png": _png(y),
                                  "text/plain": "<Figure size 120x80 with 1 Axes>"})]),
        new_code_cell("print(now())", outputs=[_out(stamp + "\n")], execution_count=5),
        new_code_cell("x = 1", execution_count=6, outputs=[]),
    ])
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    return nb


@pytest.fixture
def pair(tmp_path: Path) -> List[Path]:
    paths = []
    for name, answer, y, stamp in (("original", "42", 20, "t1"), ("rerun", "41", 50, "t2"),
                                   ("control", "41", 50, "t3")):
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(_notebook(answer, y, stamp), str(path))
        paths.append(path)
    return paths


def _report(paths: List[Path]) -> Any:
    nbs = [nbformat.read(str(p), as_version=4) for p in paths]
    return compare_notebooks(nbs[0], nbs[1], controls=nbs[2:], notebook=str(paths[0]))


def test_json_keeps_the_contract_and_gains_the_new_statuses(pair: List[Path]) -> None:
    doc = json.loads(_report(pair).to_json())
    assert doc["reproduced"] is False and "image" in doc
    assert [(c["index"], c["status"]) for c in doc["cells"]] == [
        (1, "same"), (2, "differs"), (3, "same"), (4, "differs"), (5, "volatile"), (6, "same")]
    assert doc["summary"]["volatile"] == 1 and doc["settings"]["runs"] == 2
    assert doc["cells"][4]["reason"] == "it reads a clock: print(now())"
    assert doc["cells"][3]["images"][0]["method"] == "pixels"
    assert doc["environments"]["original"]["python"] == ""   # set by the pipeline


def test_the_html_page_is_self_contained_and_side_by_side(pair: List[Path]) -> None:
    page = html_page(_report(pair))
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # nothing to fetch: no src/href other than data: URIs and in-page anchors
    for url in re.findall(r"(?:src|href)=['\"]([^'\"]*)", page):
        assert url.startswith(("data:", "#")), url
    assert "NOT REPRODUCED: 2 cells differ" in page
    assert page.count("<div class='sides'>") == 6
    assert page.count("src='data:image/png;base64,") >= 3   # both sides + differing pixels
    assert "differing pixels" in page and "<table class='dataframe'>" in page
    assert "it reads a clock" in page and "<h3>run 2</h3>" in page


def test_junit_xml_has_one_case_per_cell_and_counts(pair: List[Path]) -> None:
    suite = ET.fromstring(junit_xml(_report(pair))).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("6", "2", "0", "1")
    cases = suite.findall("testcase")
    assert [c.get("name", "").split(":")[0] for c in cases][:2] == [
        f"cell 1 In [1] id {_report(pair).cells[0].cell_id}",
        f"cell 2 In [2] id {_report(pair).cells[1].cell_id}"]
    failure = cases[1].find("failure")
    assert failure is not None and "+[stdout] 41" in (failure.text or "")
    assert cases[4].find("skipped") is not None


def test_junit_xml_survives_control_characters() -> None:
    old = new_notebook(cells=[new_code_cell("x", outputs=[_out("a\x00\x07b\n")],
                                            execution_count=1)])
    new = new_notebook(cells=[new_code_cell("x", outputs=[_out("c\n")], execution_count=1)])
    ET.fromstring(junit_xml(compare_notebooks(old, new)))


def test_compare_command_writes_every_report(pair: List[Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    html, junit = tmp_path / "r.html", tmp_path / "r.xml"
    before = {p: p.read_bytes() for p in pair}
    code = main(["compare", *map(str, pair), "--json", "--html", str(html),
                 "--junit-xml", str(junit)])
    out, err = capsys.readouterr()
    assert code == 1
    doc = json.loads(out)
    assert doc["verdict"].startswith("NOT REPRODUCED") and doc["settings"]["runs"] == 2
    assert doc["environments"]["original"]["python"] == "3.11.7"
    assert "NOT REPRODUCED" in html.read_text(encoding="utf-8")
    assert ET.parse(junit).getroot().find("testsuite") is not None
    assert f"HTML report: {html}" in err
    assert {p: p.read_bytes() for p in pair} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["original.ipynb", "rerun.ipynb", "control.ipynb", "r.html", "r.xml"])


def test_compare_command_exit_zero_when_reproduced(pair: List[Path],
                                                   capsys: pytest.CaptureFixture) -> None:
    assert main(["compare", str(pair[1]), str(pair[2]), "--rtol", "1e-3"]) == 1   # the clock
    text = capsys.readouterr().out
    assert "cell 5 In [5]" in text and "differs" in text
    assert main(["compare", str(pair[0]), str(pair[0])]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == \
        "REPRODUCED: 6 same; volatility not checked (--runs 1)"


@pytest.mark.parametrize("argv, message", [
    (["--html", "ORIGINAL/r.html"], "is not a directory"),
    (["--junit-xml", "ORIGINAL"], "refusing to write a report over a .ipynb file"),
    (["--rtol", "-1"], "--rtol must be a finite number of 0 or more"),
    (["--sanitize", "/nonexistent.cfg"], "--sanitize /nonexistent.cfg: cannot read it"),
])
def test_compare_usage_errors_exit_2(pair: List[Path], argv: List[str], message: str,
                                     capsys: pytest.CaptureFixture) -> None:
    argv = [a.replace("ORIGINAL", str(pair[0])) for a in argv]
    assert main(["compare", str(pair[0]), str(pair[1]), *argv]) == 2
    assert message in capsys.readouterr().err


def test_compare_refuses_what_is_not_a_notebook(tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "x.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["compare", str(bad), str(bad)]) == 2
    assert "nbdocker: error:" in capsys.readouterr().err
    assert main(["compare", str(bad)]) == 2   # argparse: RERUN is required
