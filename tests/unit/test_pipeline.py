"""pipeline.ensure_image: reuse an image only when it was built from the same inputs."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nbdocker import contract, pipeline
from nbdocker.engine.base import ContainerResult
from nbdocker.engine.fake import FakeEngine


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "nb" / "hello.ipynb"
    path.parent.mkdir()
    nb = new_notebook(cells=[new_code_cell("print('hi')")],
                      metadata={"kernelspec": {"name": "python3", "language": "python",
                                               "display_name": "Python 3"}})
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeEngine:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    # Both bases answer the python probe with the notebook's major.minor.
    return FakeEngine(images={"base:1": {}, "base:2": {}},
                      run_handler=lambda image, cmd, files: ContainerResult(0, logs=("3.11.7",)))


def test_same_inputs_reuse_the_image(notebook: Path, engine: FakeEngine) -> None:
    first = pipeline.ensure_image(notebook, base_image="base:1", engine=engine)
    second = pipeline.ensure_image(notebook, base_image="base:1", engine=engine)
    assert first.built and not second.built
    assert len([b for b in engine.builds if b.tag]) == 1   # (+ the environment, with a CA)
    assert engine.image_labels(first.tag)[contract.LABEL_BUILD_HASH]


def test_another_base_image_rebuilds_under_the_same_tag(notebook: Path,
                                                         engine: FakeEngine) -> None:
    first = pipeline.ensure_image(notebook, base_image="base:1", engine=engine)
    second = pipeline.ensure_image(notebook, base_image="base:2", engine=engine)
    assert second.tag == first.tag and second.built
    assert len([b for b in engine.builds if b.tag]) == 2
    assert second.base_image == "base:2"


def test_an_image_without_our_label_is_not_trusted(notebook: Path, engine: FakeEngine) -> None:
    spec = pipeline.capture(notebook)
    from nbdocker.stages.image import default_tag

    engine.images[default_tag(spec)] = engine.images["base:1"]  # e.g. `docker tag` by hand
    outcome = pipeline.ensure_image(notebook, spec=spec, base_image="base:1", engine=engine)
    assert outcome.built
