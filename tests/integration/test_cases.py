"""The cases under tests/cases/, each run through the real CLI on the real engine
(repo2docker's habit: one folder per case; see tests/cases/README.md)."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from nbdocker import pipeline
from nbdocker.frontends.cli import main

pytestmark = pytest.mark.engine

CASES = Path(__file__).resolve().parent.parent / "cases"
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "case.json").is_file())


def _snapshot(root: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".nbdocker.ipynb")}


def _check_statuses(report: Dict[str, Any], expected: Dict[str, str]) -> None:
    statuses = {str(c["index"]): c["status"] for c in report["cells"]}
    rest = expected.get("*")
    for index, status in statuses.items():
        want = expected.get(index, rest)
        if want is not None:
            assert status == want, f"cell {index}: {status}, expected {want}"
    missing = set(expected) - {"*"} - set(statuses)
    assert not missing, f"cells {sorted(missing)} are not in the report"


@pytest.mark.parametrize("name", NAMES)
def test_case(name: str, engine: Any, base_image: str, tmp_path: Path,
              capsys: pytest.CaptureFixture) -> None:
    case = json.loads((CASES / name / "case.json").read_text(encoding="utf-8"))
    folder = tmp_path / name
    shutil.copytree(CASES / name, folder, ignore=shutil.ignore_patterns("case.json"))
    before_files = _snapshot(folder)
    before: List[str] = engine.list_containers()
    args = [a.replace("{case}", str(folder)) for a in case.get("args", [])]
    argv = [case["command"], str(folder / "notebook.ipynb"), "--base-image", base_image,
            "--python", sys.executable, *args]
    # "fresh_build": the case's image (its default tag) is removed before, so the build
    # and its warnings happen however earlier runs left the engine, and after.
    tag = pipeline.plan(folder / "notebook.ipynb", python=sys.executable,
                        base_image=base_image).tag if case.get("fresh_build") else None
    if tag:
        engine.remove_image(tag)
    try:
        code = main(argv)
    finally:
        if tag:
            engine.remove_image(tag)
    out, err = capsys.readouterr()
    assert code == case["exit_code"], f"exit {code}; stderr:\n{err}"
    for text in case.get("stderr_contains", []):
        assert text in err, f"{text!r} not in stderr:\n{err}"
    for text in case.get("stdout_contains", []):
        assert text in out, f"{text!r} not in stdout:\n{out}"
    if "reproduced" in case or "statuses" in case:
        report = json.loads(out)
        if "reproduced" in case:
            assert report["reproduced"] is case["reproduced"], out
        _check_statuses(report, case.get("statuses", {}))
        cells = {str(c["index"]): c for c in report["cells"]}
        for index, parts in case.get("diff_contains", {}).items():
            for part in parts:
                assert part in cells[index]["diff"], cells[index]["diff"]
        for index, wanted in case.get("fields_contain", {}).items():
            for name, parts in wanted.items():
                value = cells[index][name]
                text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                for part in parts:
                    assert part in text, f"cell {index} {name}: {text}"
    assert engine.list_containers() == before, "a container was left behind"
    assert _snapshot(folder) == before_files, "the case's files were modified"
