"""Glob patterns in literals and shell lines ship what they match (bounded, shell-style)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from nbdocker.stages.capture import capture_notebook
from nbdocker.stages.capture.files import FileCollector


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "nb [1]"  # glob characters in the notebook's own folder name
    for rel in ("scripts/hello.py", "scripts/hej.py", "scripts/notes.txt", "data/a.csv",
                "data/sub/b.csv", "data/.hidden.csv", "data/__pycache__/c.csv", ".env",
                "top.csv", "other/x.bin"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    return root


def shipped(root: Path, *literals: str) -> set:
    collector = FileCollector(root)
    collector.add_literals(literals)
    return set(collector.entries)


def test_patterns_ship_their_matches(folder: Path) -> None:
    assert shipped(folder, "scripts/h*.py") == {"scripts/hello.py", "scripts/hej.py"}
    assert shipped(folder, "data/**/*.csv") == {"data/a.csv", "data/sub/b.csv"}
    assert shipped(folder, "*.csv") == {"top.csv"}
    # a matched folder ships like a folder literal ("data"): its tree, caches left out
    assert shipped(folder, "dat?") == shipped(folder, "data") == {
        "data/a.csv", "data/sub/b.csv", "data/.hidden.csv"}


def test_too_broad_outside_hidden_and_secret_matches_are_not_shipped(folder: Path) -> None:
    assert shipped(folder, "*", "**/*", "*.*", "../*.csv", "/etc/*") == set()
    assert shipped(folder, "data/.h*") == {"data/.hidden.csv"}  # asked for by name
    assert shipped(folder, ".e*") == set()  # a secret stays out


def test_shell_lines_and_glob_calls_in_a_notebook(folder: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(folder.parent / "cache"))
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("ls scripts/*.py"),
        nbformat.v4.new_code_cell("import glob\nfiles = glob.glob('data/*.csv')")])
    nbformat.write(nb, str(folder / "nb.ipynb"))
    spec = capture_notebook(folder / "nb.ipynb")
    assert {f.path for f in spec.files} == {"nb.ipynb", "scripts/hello.py", "scripts/hej.py",
                                            "data/a.csv"}
