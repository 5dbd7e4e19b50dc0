"""Capture against a real, separate venv: pins and closure equal what pip says is there.

Needs no container engine, but needs pip to reach a package index (PyPI or the
machine's configured indexes); skipped when the install fails for lack of one.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict

import nbformat
import pytest

from _venv import make_venv
from packaging.utils import canonicalize_name

from nbdocker.stages.capture import capture_notebook
from nbdocker.exceptions import CaptureError

PINNED = {"six": "1.16.0", "attrs": "23.1.0", "requests": "2.31.0"}
# The dependencies requests 2.31.0 declares unconditionally (no extras requested).
REQUESTS_DEPS = {"urllib3", "idna", "charset-normalizer", "certifi"}


@pytest.fixture(scope="module")
def target_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("capture-venv") / "venv",
                     *(f"{k}=={v}" for k, v in PINNED.items()), timeout=600)


def _pip_list(python: Path) -> Dict[str, str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format", "json",
                          "--disable-pip-version-check"],
                         capture_output=True, text=True, check=True).stdout
    return {canonicalize_name(d["name"]): d["version"] for d in json.loads(out)}


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell("import six\nimport attr"),
                nbformat.v4.new_code_cell("import requests\nimport numpy_is_not_there")]
    path = folder / "nb.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_pins_and_closure_match_the_venv(target_venv: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))
    installed = _pip_list(target_venv)
    notebook = _notebook(tmp_path)
    spec = capture_notebook(notebook, python=str(target_venv))

    direct = {r.name: r.version for r in spec.requirements if r.direct}
    assert direct == {name: installed[name] for name in PINNED}
    assert direct == PINNED  # the venv really has what we asked for
    closure = {r.name: r.version for r in spec.requirements if not r.direct}
    assert set(closure) == REQUESTS_DEPS
    assert closure == {name: installed[name] for name in REQUESTS_DEPS}
    assert all(r.required_by == ("requests",) for r in spec.requirements if not r.direct)
    # The venv's Python, not the test runner's packages.
    assert spec.python.version.startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")
    assert [u.module for u in spec.unresolved] == ["numpy_is_not_there"]

    again = capture_notebook(notebook, python=str(target_venv))  # from the cache
    assert again.to_json() == spec.to_json()


def test_cache_notices_a_new_install(target_venv: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))
    nb = _notebook(tmp_path)
    before = capture_notebook(nb, python=str(target_venv))
    assert before.requirement("six") is not None
    subprocess.run([str(target_venv), "-m", "pip", "uninstall", "--yes", "--quiet", "six"],
                   check=True, capture_output=True)
    try:
        after = capture_notebook(nb, python=str(target_venv))
        assert after.requirement("six") is None
        assert "six" in [u.module for u in after.unresolved]
    finally:
        subprocess.run([str(target_venv), "-m", "pip", "install", "--quiet", "six==1.16.0"],
                       check=True, capture_output=True)


def test_missing_interpreter_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="not found"):
        capture_notebook(_notebook(tmp_path), python=str(tmp_path / "no" / "python"))
