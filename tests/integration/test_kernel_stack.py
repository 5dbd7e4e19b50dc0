"""The kernel stack comes from the notebook's interpreter, on a real engine.

A venv holds the oldest stack nbdocker supports (IPython 7.34, ipykernel 6.0, nbclient
0.5.0, jupyter_client 6.1), far older than nbdocker's defaults. The notebook's saved
outputs are made by running it in that venv; then ``verify --python VENV`` builds an
image whose kernel stack is the venv's (a cell prints the versions) and reproduces
``%lsmagic``, whose output changed since (new magics, and IPython 9 shows it as a
string repr). Verified against the newest stack (this Python's: ipykernel 7, IPython 9,
nbclient 0.11) the same notebook runs through and differs exactly in those two cells.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import nbformat
import pytest

from _venv import make_venv
from nbdocker import pipeline
from nbdocker.stages.capture import capture_notebook
from nbdocker.stages.image import runner_files
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.engine

# A coherent stack of its time: traitlets 5.0 still brings ipython_genutils, which
# ipykernel 6.0 and nbclient 0.5.0 import without declaring it.
OLDEST = {"ipython": "7.34.0", "ipykernel": "6.0.3", "nbclient": "0.5.0", "traitlets": "5.0.5"}
VERSIONS = ("import importlib.metadata as md\n"
            "print(*(f'{d} {md.version(d)}' for d in ('ipython', 'ipykernel', 'nbclient',"
            " 'jupyter_client', 'traitlets')))")


def _pip_list(python: Path) -> Dict[str, str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format", "json",
                          "--disable-pip-version-check"],
                         capture_output=True, text=True, check=True).stdout
    return {canonicalize_name(d["name"]): d["version"] for d in json.loads(out)}


@pytest.fixture(scope="module")
def old_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("old-kernel") / "venv",
                     *(f"{k}=={v}" for k, v in OLDEST.items()))


@pytest.fixture(scope="module")
def notebook(old_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook as its author saved it: executed on the old stack (by nbdocker's
    runner, i.e. nbclient 0.5.0, in the venv)."""
    folder = tmp_path_factory.mktemp("old-kernel-nb")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(VERSIONS),
                                         nbformat.v4.new_code_cell("%lsmagic")])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    source = folder / "source.ipynb"
    nbformat.write(nb, str(source))
    path = folder / "magics.ipynb"
    runner = folder.parent / f"{folder.name}-runner"   # as in the image: runner + contract
    runner.mkdir()
    for name, data in runner_files().items():
        (runner / name).write_bytes(data)
    proc = subprocess.run([str(old_python), str(runner / "nbdocker_runner.py"), str(source),
                           str(path)],
                          capture_output=True, text=True, timeout=300, cwd=folder)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    source.unlink()
    return path


def _outputs(nb: Any, index: int) -> str:
    cell = nb.cells[index]
    return "".join(o.get("text") or o.get("data", {}).get("text/plain", "")
                   for o in cell.outputs)


def test_the_spec_pins_the_venvs_kernel_stack(old_python: Path, notebook: Path,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))
    installed = _pip_list(old_python)
    spec = capture_notebook(notebook, python=str(old_python))
    kernel = {r.name: r.version for r in spec.requirements if r.kernel}
    for name, version in OLDEST.items():
        assert kernel[name] == version
    # Everything else of the stack is the venv's too (debugger and completion aside).
    assert {"jupyter-client", "jupyter-core", "ipython-genutils", "tornado", "pyzmq",
            "matplotlib-inline", "nbformat"} <= set(kernel)
    assert all(installed[name] == version for name, version in kernel.items())
    assert not {"debugpy", "jedi", "parso"} & set(kernel)
    assert not any(r.kernel and r.direct for r in spec.requirements)


def test_the_image_runs_the_old_stack_and_reproduces_its_magics(
        engine: Any, base_image: str, old_python: Path, notebook: Path,
        tmp_path: Path) -> None:
    out = tmp_path / "old.out.ipynb"
    check = pipeline.verify(notebook, python=str(old_python), base_image=base_image,
                            engine=engine, output=str(out))
    try:
        assert check.report.reproduced, [c.diff for c in check.report.cells]
        printed = _outputs(nbformat.read(str(out), 4), 0)
        assert "ipython 7.34.0 ipykernel 6.0.3 nbclient 0.5.0 jupyter_client 6.1.12 traitlets 5.0.5" \
            in printed
    finally:
        engine.remove_image(check.build.tag)


def test_the_newest_stack_runs_the_notebook_and_shows_what_changed(
        engine: Any, base_image: str, notebook: Path, tmp_path: Path) -> None:
    out = tmp_path / "new.out.ipynb"
    check = pipeline.verify(notebook, python=sys.executable, base_image=base_image,
                            engine=engine, output=str(out))
    try:
        statuses = [c.status for c in check.report.cells]
        assert statuses == ["differs", "differs"], statuses   # versions and %lsmagic
        printed = _outputs(nbformat.read(str(out), 4), 0)
        import importlib.metadata as md

        assert f"ipykernel {md.version('ipykernel')}" in printed
        assert f"nbclient {md.version('nbclient')}" in printed
    finally:
        engine.remove_image(check.build.tag)
