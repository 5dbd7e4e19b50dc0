"""%load_ext nbdocker / %dockerize in a REAL ipykernel, driven by nbclient.

The dry-run and no-path tests need a kernel only; the verify test (marked ``engine``)
builds a small standard-library-only image on the real engine and removes it again.
"""
from __future__ import annotations

import importlib.metadata as md
import re
import shutil
from pathlib import Path
from typing import Any, List

import nbformat
import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from nbclient import NotebookClient  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "notebooks" / "frontend"


def _execute(path: Path, timeout: int = 120) -> Any:
    """Execute ``path`` in memory (the file itself is what %dockerize reads)."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=timeout,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def _texts(cell: Any, output_type: str, key: str = "text/plain") -> List[str]:
    out = []
    for o in cell.outputs:
        if o.output_type != output_type:
            continue
        out.append(o.text if output_type == "stream" else o.data.get(key, ""))
    return out


def _table_rows(text: str) -> List[List[str]]:
    """Rows of the requirements table (between the dashed rule and the next blank line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("package"))
    rows = []
    for line in lines[start + 2:]:
        if not line.strip() or line.startswith("("):
            break
        rows.append(line.split())
    return rows


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)  # the kernel inherits os.environ
    for name in ("dryrun.ipynb", "nopath.ipynb", "selfverify.ipynb"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def test_dry_run_in_a_real_kernel_pins_the_kernels_versions(workdir: Path) -> None:
    path = workdir / "dryrun.ipynb"
    before = path.read_bytes()
    nb = _execute(path)
    cell = nb.cells[3]
    assert not [o for o in cell.outputs if o.output_type == "error"]
    (text,) = _texts(cell, "execute_result")
    rows = _table_rows(text)
    assert rows, text
    pins = {row[0]: row[1] for row in rows}
    assert "packaging" in pins and "nbdocker" not in pins
    for name, version in pins.items():
        assert version == md.version(name), (name, text)
    assert "Dockerfile:" in text and re.search(r"^FROM \S+", text, re.M)
    assert path.read_bytes() == before


def test_unknown_notebook_path_is_a_message_not_a_traceback(workdir: Path) -> None:
    nb = _execute(workdir / "nopath.ipynb")
    magic_cell = nb.cells[1]
    assert not [o for o in magic_cell.outputs if o.output_type == "error"]
    assert "".join(_texts(magic_cell, "stream")).strip() == (
        "nbdocker: error: cannot tell which notebook this kernel runs; pass --notebook PATH")
    assert _texts(nb.cells[2], "stream") == ["the kernel goes on\n"]


@pytest.mark.engine
def test_verify_from_inside_the_notebook_reproduces(workdir: Path, engine: Any, base_image: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_BASE_IMAGE", base_image)
    path = workdir / "selfverify.ipynb"
    before = path.read_bytes()
    nb = _execute(path, timeout=1200)
    cell = nb.cells[4]
    errors = [o for o in cell.outputs if o.output_type == "error"]
    streams = "".join(_texts(cell, "stream"))
    assert not errors and "nbdocker: error" not in streams, streams
    (text,) = _texts(cell, "execute_result")
    tag = re.search(r"^image: (\S+)", text, re.M)
    try:
        assert re.search(r"^REPRODUCED: \d+ same", text, re.M), text
        # %load_ext nbdocker: position, In [n], (cell id,) status
        assert re.search(r"^\s+1\s+\[1\]\s+(?:\S+\s+)?skipped", text, re.M), text
        assert path.read_bytes() == before
        executed = nbformat.read(workdir / "selfverify.nbdocker.ipynb", as_version=4)
        # Skipped by nbclient inside the image (nbdocker is not installed there).
        assert executed.cells[1].outputs == [] and executed.cells[4].outputs == []
        assert _texts(executed.cells[2], "stream") == ['{"answer": 42}\n']
    finally:
        if tag:
            engine.remove_image(tag.group(1))
