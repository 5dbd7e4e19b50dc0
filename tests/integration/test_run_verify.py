"""run against a real Docker engine and a real kernel, through the Python API.

The cases that only need a command line and its outcome live in tests/cases/ (run by
test_cases.py); these need to look inside the executed notebook. One image is built per
module (from tests/cases/deterministic, standard library only, so the build is quick)
and the other notebooks are copied into it through the archive API, exactly as
``nbdocker run NOTEBOOK --image IMG`` does. Each test checks that no container of that
image is left behind and that the user's notebook is byte-for-byte unchanged.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nbdocker import pipeline
from nbdocker.stages.verify import compare_notebooks
from nbdocker.engine.base import ContainerLimits
from nbdocker.exceptions import KernelDied
from nbdocker.stages.run.execute import run_in_container
from nbdocker.notebook_io import read_notebook

pytestmark = pytest.mark.engine

DETERMINISTIC = Path(__file__).resolve().parent.parent / "cases" / "deterministic"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the fixture notebooks (outputs of runs land beside them)."""
    target = tmp_path_factory.mktemp("run_verify")
    shutil.copy(DETERMINISTIC / "notebook.ipynb", target / "deterministic.ipynb")
    return target


@pytest.fixture(scope="module")
def image(engine: Any, base_image: str, workdir: Path) -> Iterator[str]:
    """The image of deterministic.ipynb, built once and removed afterwards."""
    built = pipeline.build(workdir / "deterministic.ipynb", python=sys.executable,
                           base_image=base_image, engine=engine)
    yield built.tag
    engine.remove_image(built.tag)


@pytest.fixture
def guard(engine: Any, image: str, workdir: Path) -> Iterator[None]:
    """After the test: no container of the image left, every notebook unchanged."""
    def containers() -> List[str]:  # only ours: other work may share the engine
        return [c.id for c in engine.client.containers.list(all=True, filters={"ancestor": image})]

    before_bytes: Dict[str, bytes] = {p.name: p.read_bytes() for p in workdir.glob("*.ipynb")
                                      if not p.name.endswith(".nbdocker.ipynb")}
    before = containers()
    yield
    assert containers() == before
    for name, data in before_bytes.items():
        assert (workdir / name).read_bytes() == data, f"{name} was modified"


def rerun(engine: Any, image: str, notebook: Path, **kwargs: Any) -> Any:
    return run_in_container(engine, image, notebook,
                            output=notebook.with_name(notebook.stem + ".out.ipynb"), **kwargs)


def test_parameters_change_the_output(engine: Any, image: str, workdir: Path,
                                      guard: None) -> None:
    notebook = workdir / "deterministic.ipynb"
    outcome = rerun(engine, image, notebook, parameters={"n": 3, "label": "param"},
                    allow_errors=True)
    cells = outcome.notebook.cells
    assert cells[2].metadata["tags"] == ["injected-parameters"]
    assert cells[2].source == "# Parameters\nn = 3\nlabel = 'param'\n"
    def printed(cell: Any) -> str:   # the kernel may flush one print in two chunks
        return "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream")

    assert printed(cells[3]) == "hello param\n"
    assert printed(cells[10]) == "n * 10 = 30\n"
    report = compare_notebooks(read_notebook(notebook), outcome.notebook)
    # 5 prints datetime.now(): data, not masked (one run: volatility is not learnt here)
    assert {c.index for c in report.failures} == {2, 3, 4, 5, 9}


def test_memory_limit_kills_the_kernel(engine: Any, image: str, workdir: Path,
                                       guard: None) -> None:
    notebook = workdir / "hungry.ipynb"
    nb = new_notebook(cells=[new_code_cell("data = b'x' * (512 * 1024 * 1024)")])
    nbformat.write(nb, str(notebook))
    try:
        with pytest.raises(KernelDied, match="128m memory limit"):
            rerun(engine, image, notebook, limits=ContainerLimits(memory="128m"))
    finally:
        notebook.unlink()
