"""nbdocker inside the tools people already run: the pytest plugin (through pytester)
and the papermill engine (through papermill's own CLI), on the real engine."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List

import nbformat
import pytest

pytestmark = pytest.mark.engine

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks" / "ecosystem"


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    """A folder with one notebook that reproduces and one that does not."""
    for name in ("good.ipynb", "bad.ipynb"):
        shutil.copy(NOTEBOOKS / name, pytester.path / name)
    return pytester.path


def _run(pytester: pytest.Pytester, base_image: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--nbdocker", f"--nbdocker-base-image={base_image}",
        f"--nbdocker-python={sys.executable}", "-p", "no:cacheprovider", "-rA", "-v", *args,
        timeout=900)


def _statuses(result: pytest.RunResult) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for line in result.outlines:
        for status in ("PASSED", "FAILED", "SKIPPED", "ERROR"):
            if f" {status}" in line and "::" in line and not line.startswith(status):
                found[line[:line.index(f" {status}")]] = status
    return found


EXPECTED = {"bad.ipynb::notebook": "PASSED", "bad.ipynb::Cell 0": "PASSED",
            "bad.ipynb::Cell 1": "FAILED", "good.ipynb::notebook": "PASSED",
            "good.ipynb::Cell 1": "PASSED", "good.ipynb::Cell 2": "PASSED"}


def test_plugin_reports_one_item_per_cell_with_the_diff(
        pytester: pytest.Pytester, project: Path, base_image: str, engine: Any) -> None:
    before = engine.list_containers()
    report = project / "junit.xml"
    result = _run(pytester, base_image, f"--junitxml={report}")
    assert _statuses(result) == EXPECTED, result.stdout.str()
    result.assert_outcomes(passed=5, failed=1)
    text = result.stdout.str()
    # the failure text is the cell's diff, as nbdocker verify prints it
    assert "Cell 1 (In [2]) differs" in text
    assert "-[stdout] 44" in text and "+[stdout] 43" in text
    # JUnit XML for CI: one testcase per item, the failure message holds the diff
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 6 and suite.get("failures") == "1"
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["Cell 1"]
    assert "+[stdout] 43" in (failed[0].find("failure").text or "")  # type: ignore[union-attr]
    assert engine.list_containers() == before


def test_plugin_under_xdist_gives_the_same_result(
        pytester: pytest.Pytester, project: Path, base_image: str) -> None:
    pytest.importorskip("xdist")
    result = _run(pytester, base_image, "-n", "2")
    result.assert_outcomes(passed=5, failed=1)
    assert "Cell 1 (In [2]) differs" in result.stdout.str()


def test_plugin_fails_a_notebook_whose_image_cannot_be_built(
        pytester: pytest.Pytester, project: Path, base_image: str) -> None:
    result = _run(pytester, "nbdocker-test/no-such-base:1", "-k", "good")
    result.assert_outcomes(failed=3)  # never skipped: the notebook and its cells
    text = result.stdout.str()
    assert "nbdocker: error: base image nbdocker-test/no-such-base:1" in text
    assert "not compared: the notebook did not run through" in text


def test_plugin_is_inert_without_its_flag(pytester: pytest.Pytester, project: Path) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_plugin_options_come_from_the_one_table(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    text = result.stdout.str()
    for option in ("--nbdocker", "--nbdocker-base-image", "--nbdocker-timeout",
                   "--nbdocker-strict-images", "--nbdocker-ignore-warnings"):
        assert option in text, option
    bad = pytester.runpytest_subprocess("--nbdocker", "--nbdocker-cpus=0")
    assert "--cpus must be a positive, finite number of CPUs" in bad.stderr.str()
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


# -- papermill -------------------------------------------------------------------------

def _papermill(*args: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("papermill")
    return subprocess.run([str(exe), "--engine", "nbdocker", *args], capture_output=True,
                          text=True, env=env, timeout=900)


def test_papermill_engine_runs_in_the_image_with_papermills_parameters(
        tmp_path: Path, base_image: str, engine: Any) -> None:
    pytest.importorskip("papermill")
    shutil.copy(NOTEBOOKS / "params.ipynb", tmp_path / "in.ipynb")
    env = {**os.environ, "NBDOCKER_BASE_IMAGE": base_image}
    before = engine.list_containers()
    proc = _papermill(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                      "-p", "alpha", "0.5", env=env)
    assert proc.returncode == 0, proc.stderr
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "alpha = 0.5" in injected[0].source  # papermill's own cell
    printed = "".join(o.get("text", "") for o in out.cells[-1].outputs)
    assert printed == "1.0 /opt/venv/bin/python\n"  # computed inside the container
    assert out.metadata.papermill["parameters"] == {"alpha": 0.5}
    assert out.cells[-1].metadata.papermill["status"] == "completed"
    assert engine.list_containers() == before


def test_papermill_engine_reports_a_failing_cell_the_papermill_way(
        tmp_path: Path, base_image: str) -> None:
    pytest.importorskip("papermill")
    shutil.copy(NOTEBOOKS / "failing.ipynb", tmp_path / "in.ipynb")
    env = {**os.environ, "NBDOCKER_BASE_IMAGE": base_image}
    proc = _papermill(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), env=env)
    assert proc.returncode != 0
    assert "PapermillExecutionError" in proc.stderr and "boom in the container" in proc.stderr
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    codes: List[Any] = [c for c in out.cells if c.cell_type == "code"]
    assert "".join(o.get("text", "") for o in codes[0].outputs) == "before\n"
    assert any(o.get("output_type") == "error" for o in codes[1].outputs)
    assert codes[2].outputs == []
    # papermill's red banner cell naming the failure sits above the failed cell
    assert any("papermill-error-cell-tag" in c.metadata.get("tags", []) for c in out.cells)
    assert json.loads(json.dumps(out.metadata.papermill))["exception"] is True
