"""run / verify against a real Docker engine and a real kernel inside the container.

One image is built per module (from tests/notebooks/run_verify/deterministic.ipynb,
standard library only, so the build is quick) and every other notebook is copied into
it through the archive API, exactly as ``nbdocker run NOTEBOOK --image IMG`` does.
Each test checks that no container of that image is left behind and that the user's
notebook is byte-for-byte unchanged.
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
from nbdocker.stages.verify.compare import compare_notebooks
from nbdocker.engine.base import ContainerLimits
from nbdocker.exceptions import CellExecutionError, KernelDied, RunTimeout
from nbdocker.stages.run.execute import run_in_container
from nbdocker.notebook_io import read_notebook

pytestmark = pytest.mark.engine

HERE = Path(__file__).resolve().parent.parent / "notebooks"
FIXTURES = [HERE / "run_verify" / name for name in
            ("deterministic.ipynb", "unseeded.ipynb", "network.ipynb")] + \
           [HERE / "run" / name for name in ("failing.ipynb", "sleeping.ipynb")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the fixture notebooks (outputs of runs land beside them)."""
    target = tmp_path_factory.mktemp("run_verify")
    for path in FIXTURES:
        shutil.copy(path, target / path.name)
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


def test_deterministic_notebook_reproduces(engine: Any, image: str, workdir: Path,
                                           guard: None) -> None:
    outcome = pipeline.verify(workdir / "deterministic.ipynb", python=sys.executable,
                              output=workdir / "verified.ipynb", engine=engine)
    assert outcome.build.tag == image  # the image of the current spec was reused
    report = outcome.report
    assert report.reproduced, report.to_json()
    statuses = {c.index: c.status for c in report.cells}
    assert statuses[1] == "skipped"  # the parameters cell
    assert set(statuses[i] for i in statuses if i != 1) == {"same"}
    assert statuses[8] == "same"     # raises ZeroDivisionError on purpose, both times
    assert (workdir / "verified.ipynb").is_file()


def test_unseeded_random_flags_exactly_that_cell(engine: Any, image: str, workdir: Path,
                                                 guard: None) -> None:
    notebook = workdir / "unseeded.ipynb"
    outcome = rerun(engine, image, notebook, allow_errors=True)
    report = compare_notebooks(read_notebook(notebook), outcome.notebook, image=image,
                               notebook=str(notebook))
    assert not report.reproduced
    assert [(c.index, c.status) for c in report.cells if c.status != "same"] == [(2, "differs")]
    assert "-[stdout] 0." in report.cells[2].diff and "+[stdout] 0." in report.cells[2].diff


def test_parameters_change_the_output(engine: Any, image: str, workdir: Path,
                                      guard: None) -> None:
    notebook = workdir / "deterministic.ipynb"
    outcome = rerun(engine, image, notebook, parameters={"n": 3, "label": "param"},
                    allow_errors=True)
    cells = outcome.notebook.cells
    assert cells[2].metadata["tags"] == ["injected-parameters"]
    assert cells[2].source == "# Parameters\nn = 3\nlabel = 'param'\n"
    assert cells[3].outputs[0]["text"] == "hello param\n"
    assert cells[10].outputs[0]["text"] == "n * 10 = 30\n"
    report = compare_notebooks(read_notebook(notebook), outcome.notebook)
    assert {c.index for c in report.failures} == {2, 3, 4, 9}


def test_failing_cell_names_index_and_error(engine: Any, image: str, workdir: Path,
                                            guard: None) -> None:
    with pytest.raises(CellExecutionError) as info:
        rerun(engine, image, workdir / "failing.ipynb")
    assert (info.value.cell_index, info.value.ename, info.value.evalue) == (2, "ValueError", "boom")
    assert "raise ValueError('boom')" in str(info.value) and info.value.exit_code == 1


def test_timeout_stops_and_removes_the_container(engine: Any, image: str, workdir: Path,
                                                 guard: None) -> None:
    with pytest.raises(RunTimeout, match="the run exceeded its 5 s timeout in cell 1; "
                                         "the container was stopped and removed"):
        rerun(engine, image, workdir / "sleeping.ipynb", limits=ContainerLimits(timeout=5))


def test_network_none_cuts_the_socket(engine: Any, image: str, workdir: Path,
                                      guard: None) -> None:
    with pytest.raises(CellExecutionError) as info:
        rerun(engine, image, workdir / "network.ipynb", limits=ContainerLimits(network="none"))
    assert info.value.cell_index == 1
    assert "Network is unreachable" in info.value.evalue


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
