"""Capture of the hand-written fixture notebooks against their expected.json lists.

The target interpreter is the one running the tests, so pins are checked against what
``importlib.metadata`` says is installed here, and modules that are not installed must
come out as unresolved with the right PyPI name.
"""
from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Optional, Set

import nbformat
import pytest
from packaging.utils import canonicalize_name

from nbdocker.stages.capture import capture_notebook
from nbdocker.exceptions import NotebookError
from nbdocker.notebook_io import read_notebook, write_notebook_atomic
from nbdocker.spec import EnvironmentSpec

FIXTURES = Path(__file__).resolve().parents[1] / "notebooks" / "capture"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").is_file())


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))


def _installed(dist: str) -> Optional[str]:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _expected(case: str) -> Dict[str, Any]:
    return json.loads((FIXTURES / case / "expected.json").read_text())


def _names(spec: EnvironmentSpec) -> Set[str]:
    """Direct requirement names plus the PyPI names of unresolved modules (canonical)."""
    names = {r.name for r in spec.requirements if r.direct}
    return names | {canonicalize_name(u.pypi_name or u.module) for u in spec.unresolved}


@pytest.mark.parametrize("case", CASES)
def test_fixture_requirements(case: str) -> None:
    expected = _expected(case)
    spec = capture_notebook(FIXTURES / case / "notebook.ipynb")
    names = _names(spec)
    assert set(expected["requirements"]) <= names
    assert not names & set(expected.get("not_requirements", ()))
    for req in spec.requirements:
        assert req.version == _installed(req.name), req.name
    if "files" in expected:
        shipped = {f.path for f in spec.files if f.kind != "notebook"}
        assert shipped == set(expected["files"])
    assert not {f.path for f in spec.files} & set(expected.get("not_files", ()))
    for name in expected.get("optional", ()):
        req = spec.requirement(name)
        assert req is None or req.optional
    assert [f.path for f in spec.files if f.kind == "notebook"] == ["notebook.ipynb"]


def test_aliases_pinned_when_installed_else_mapped() -> None:
    expected = _expected("aliases")["aliases"]
    spec = capture_notebook(FIXTURES / "aliases" / "notebook.ipynb")
    unresolved = {u.module: u for u in spec.unresolved}
    for module, dist in expected.items():
        version = _installed(dist)
        if version is not None:
            req = spec.requirement(dist)
            assert req is not None and req.direct and req.version == version, module
            assert module not in unresolved
        else:
            assert canonicalize_name(unresolved[module].pypi_name or "") == dist, module
            assert any(w.startswith(f"module {module} is not installed") for w in spec.warnings)


def test_syntax_error_cells_are_reported_and_skipped() -> None:
    spec = capture_notebook(FIXTURES / "syntax_error" / "notebook.ipynb")
    bad = [w for w in spec.warnings if "SyntaxError" in w]
    assert [int(w.split(":")[0].split()[1]) for w in bad] == _expected("syntax_error")["syntax_error_cells"]


def test_magic_reasons_and_specifiers() -> None:
    spec = capture_notebook(FIXTURES / "magics" / "notebook.ipynb")
    requests = spec.requirement("requests")
    assert requests is not None and requests.specifier == ">=2"
    assert "%pip install requests>=2 (cell 1)" in requests.reasons
    six = spec.requirement("six")
    assert six is not None and six.specifier == "==1.16.0"
    assert any("requirements file requirements.txt" in w for w in spec.warnings)
    # %%writefile generated_helper.py makes a local module whose imports count.
    assert "%%writefile generated_helper.py" in " ".join(spec.requirement("traitlets").reasons)


def test_transitive_closure_is_marked(tmp_path: Path) -> None:
    spec = capture_notebook(FIXTURES / "conditional" / "notebook.ipynb")
    indirect = [r for r in spec.requirements if not r.direct and not r.kernel]
    assert indirect, "pandas/requests/matplotlib pull in dependencies"
    assert all(r.required_by and not r.reasons for r in indirect)
    assert all(r.why == tuple(f"required by {p}" for p in r.required_by) for r in indirect)


def test_secrets_planted_at_test_time_are_not_listed(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    shutil.copytree(FIXTURES / "data_files", folder)
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    (folder / "data" / ".env").write_text("TOKEN=planted\n")
    (folder / "data" / "id_rsa").write_text("planted\n")
    nb = read_notebook(folder / "notebook.ipynb")
    nb.cells.append(nbformat.v4.new_code_cell("g = open('.git/config')\nk = open('data/id_rsa')"))
    write_notebook_atomic(nb, folder / "notebook.ipynb")
    spec = capture_notebook(folder / "notebook.ipynb")
    paths = {f.path for f in spec.files}
    assert ".git/config" not in paths and "data/.env" not in paths and "data/id_rsa" not in paths
    assert "data/x.csv" in paths
    assert any("looks like a secret" in w for w in spec.warnings)


def test_deterministic_and_round_trips() -> None:
    path = FIXTURES / "magics" / "notebook.ipynb"
    first = capture_notebook(path)
    second = capture_notebook(path)
    assert first.to_json() == second.to_json()
    assert EnvironmentSpec.from_json(first.to_json()) == first
    assert first.python.version.count(".") == 2
    assert first.platform.kernel_name == "python3"


@pytest.mark.parametrize("name,message", [
    ("not_json.ipynb", "invalid JSON"),
    ("v3.ipynb", "nbformat v3"),
    ("r_kernel.ipynb", "R kernel"),
    ("not_a_notebook.ipynb", "not a notebook"),
    ("missing.ipynb", "not found"),
])
def test_malformed_notebooks(name: str, message: str) -> None:
    with pytest.raises(NotebookError, match=message) as info:
        capture_notebook(FIXTURES / "malformed" / name)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2
