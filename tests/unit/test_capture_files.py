"""Data files and local code: size cap, symlinks out of the tree, notebook I/O."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from nbdocker.stages.capture import capture_notebook
from nbdocker.notebook_io import read_notebook, write_notebook_atomic


def _notebook(folder: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = folder / "nb.ipynb"
    write_notebook_atomic(nb, path)
    return path


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))


def test_size_cap_and_outside_paths(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "big.bin").write_bytes(b"x" * 2000)
    (work / "small.txt").write_text("ok")
    (tmp_path / "outside.txt").write_text("no")
    (work / "link.txt").symlink_to(tmp_path / "outside.txt")
    nb = _notebook(work, "a = open('big.bin')\nb = open('small.txt')\nc = open('link.txt')\n"
                         "d = open('../outside.txt')\ne = open('/etc/passwd')")
    spec = capture_notebook(nb, max_file_size=1000)
    assert {f.path: f.kind for f in spec.files} == {"nb.ipynb": "notebook", "small.txt": "data"}
    small = next(f for f in spec.files if f.path == "small.txt")
    assert small.size == 2 and len(small.sha256) == 64
    assert any("big.bin" in w and "size cap" in w for w in spec.warnings)
    assert any("link.txt" in w and "outside" in w for w in spec.warnings)
    assert any("../outside.txt" in w for w in spec.warnings)


def test_directory_literal_ships_its_files_but_not_secrets(tmp_path: Path) -> None:
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "a.csv").write_text("1")
    (tmp_path / "data" / "sub" / "b.csv").write_text("2")
    (tmp_path / "data" / "credentials.json").write_text("{}")
    (tmp_path / "data" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "data" / ".ipynb_checkpoints" / "x.csv").write_text("3")
    spec = capture_notebook(_notebook(tmp_path, "import os\nfiles = os.listdir('data/')"))
    assert sorted(f.path for f in spec.files if f.kind == "data") == ["data/a.csv", "data/sub/b.csv"]


def test_run_and_writefile_and_nested_local_code(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("import attr\n")
    (tmp_path / "steps.py").write_text("from helper import *\n")
    nb = _notebook(tmp_path, "%run steps", "%%writefile made.py\nimport nbformat\n", "import made")
    spec = capture_notebook(nb)
    assert {f.path for f in spec.files if f.kind == "module"} == {"steps.py", "helper.py"}
    names = {r.name for r in spec.requirements if r.direct}
    assert {"attrs", "nbformat"} <= names and "made" not in {u.module for u in spec.unresolved}


def test_user_notebook_is_not_modified(tmp_path: Path) -> None:
    nb = _notebook(tmp_path, "import os")
    before = nb.read_bytes(), os.stat(nb).st_mtime_ns
    capture_notebook(nb)
    assert (nb.read_bytes(), os.stat(nb).st_mtime_ns) == before


def test_write_notebook_atomic_leaves_no_temp_files(tmp_path: Path) -> None:
    nb = _notebook(tmp_path, "x = 1")
    loaded = read_notebook(nb)
    loaded.cells[0].source = "x = 2"
    write_notebook_atomic(loaded, nb)
    assert read_notebook(nb).cells[0].source == "x = 2"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["nb.ipynb"]


def test_atomic_writes_get_a_normal_file_mode(tmp_path: Path) -> None:
    """mkstemp's 0600 must not leak into the user's files."""
    import os
    import stat

    from nbdocker._fs import atomic_write_text

    new = tmp_path / "new.txt"
    old_umask = os.umask(0o022)
    try:
        atomic_write_text(new, "x")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    kept = tmp_path / "kept.txt"
    kept.write_text("a")
    kept.chmod(0o640)
    atomic_write_text(kept, "b")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "b"


def test_git_folders_are_secret_for_capture_context_and_bundles_alike() -> None:
    """One rule in nbdocker.secrets serves capture, the build context and bundles."""
    from nbdocker.secrets import is_secret_path

    assert is_secret_path(".git/config") and is_secret_path("sub/.git/HEAD")
    assert not is_secret_path("data/git_log.csv") and not is_secret_path(".gitignore")
