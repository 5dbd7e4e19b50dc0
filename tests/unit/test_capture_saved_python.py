"""capture warns when the notebook's outputs were saved by another Python (field test)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nbdocker.stages.capture.notebook import capture_notebook, saved_python_warning

HERE = "%d.%d.%d" % sys.version_info[:3]


def _nb(language_info: Dict[str, Any]) -> Any:
    nb = new_notebook(cells=[new_code_cell("import json\nprint(json.dumps(1))")])
    nb.metadata["language_info"] = language_info
    return nb


@pytest.mark.parametrize("info, warned", [
    ({"name": "python", "version": "3.5.1"}, True),           # a textbook notebook from 2016
    ({"name": "python", "version": "2.7.18"}, True),
    ({"name": "python", "version": HERE}, False),
    ({"name": "python", "version": HERE.rsplit(".", 1)[0] + ".99"}, False),  # patch only
    ({"name": "python"}, False),                               # not recorded
    ({"name": "R", "version": "4.3.1"}, False),                # not a Python kernel
    ({}, False),
])
def test_saved_python_warning(info: Dict[str, Any], warned: bool) -> None:
    message = saved_python_warning(_nb(info), HERE)
    assert (message is not None) == warned
    if warned:
        assert info["version"] in message and HERE in message


def test_capture_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "old.ipynb"
    nbformat.write(_nb({"name": "python", "version": "3.5.1"}), str(path))
    spec = capture_notebook(path, python=sys.executable)
    assert any("saved by Python 3.5.1" in w for w in spec.warnings)
    nbformat.write(_nb({"name": "python", "version": HERE}), str(path))
    spec = capture_notebook(path, python=sys.executable)
    assert not any("saved by Python" in w for w in spec.warnings)
