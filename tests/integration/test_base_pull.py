"""The base image through a real registry on loopback (Debian's docker-registry).

A base is pushed to the registry under ``REG/python:<X.Y.Z>-slim`` and ``:<X.Y>-slim``
(``NBDOCKER_BASE_REPOSITORY=REG/python``: the official tags in another repository) with
a layer of its own, then removed from the engine. A build pulls it with progress (layers
and bytes), starts ``FROM REG/python:<X.Y.Z>-slim@sha256:<the pushed digest>`` and
labels the image with that digest; a second build pulls nothing. With only the minor
tag in the registry the build falls back with a warning naming both; with the registry
stopped, the CLI exits 3 with one line naming the image and the registry.
"""
from __future__ import annotations

import io
import os
import platform
import sys
import tarfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from _build_helpers import make_spec, write_notebook
from _registry import docker_registry
from nbdocker import contract, pipeline
from nbdocker.events import Event, Phase
from nbdocker.frontends.cli import main
from nbdocker.spec import EnvironmentSpec, PythonInfo
from nbdocker.stages.image.base import ensure_base

pytestmark = pytest.mark.engine

PY = platform.python_version()
MINOR = ".".join(PY.split(".")[:2])
BLOB = 4 * 1024 * 1024   # the pushed base's own layer, so the pull downloads bytes


def _blob_image(engine: Any, base_image: str, tag: str) -> None:
    """``base_image`` plus a layer of random bytes, tagged ``tag``."""
    files = {"Dockerfile": f"FROM {base_image}\nCOPY blob /opt/nbdocker-test-blob\n".encode(),
             "blob": os.urandom(BLOB)}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    engine.build(buf.getvalue(), tag)


def _push(engine: Any, image: str, ref: str) -> str:
    engine.tag_image(image, ref)
    digest = engine.push(ref)
    engine.remove_image(ref)
    return str(digest)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with docker_registry(tmp_path_factory.mktemp("base-registry")) as address:
        yield address


@pytest.fixture(scope="module")
def pushed(engine: Any, base_image: str, registry: str) -> Iterator[Dict[str, str]]:
    """``REG/python`` with both tags of one image, ``REG/minor-only/python`` with the
    minor tag only; nothing of them left on the engine."""
    source = "nbdocker-itest/blob-base:1"
    _blob_image(engine, base_image, source)
    digests = {tag: _push(engine, source, f"{registry}/python:{tag}")
               for tag in (f"{PY}-slim", f"{MINOR}-slim")}
    digests["minor-only"] = _push(engine, source, f"{registry}/minor-only/python:{MINOR}-slim")
    engine.remove_image(source)
    yield digests
    for ref in (f"{registry}/python:{PY}-slim", f"{registry}/minor-only/python:{MINOR}-slim"):
        engine.remove_image(ref)


def test_a_missing_base_is_pulled_with_progress_pinned_and_labelled(
        engine: Any, registry: str, pushed: Dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    monkeypatch.setenv("NBDOCKER_BASE_REPOSITORY", f"{registry}/python")
    exact = f"{registry}/python:{PY}-slim"
    assert engine.image_id(exact) is None
    notebook = write_notebook(tmp_path, "# pull", code="print('hi')")
    spec = make_spec(notebook, pins=(), python=PythonInfo(PY))
    events: List[Event] = []
    built = pipeline.build(notebook, spec=spec, engine=engine, on_event=events.append)
    try:
        pulls = [e for e in events if e.phase is Phase.PULL and e.kind == "progress" and e.total]
        assert pulls, [e.message for e in events if e.phase is Phase.PULL]
        last = pulls[-1].data
        assert last["layers_done"] == last["layers"] >= 2
        assert last["bytes_total"] >= BLOB // 2  # the blob layer came over the wire
        assert any(0 < e.data["bytes"] < e.data["bytes_total"] or e.step < e.total  # type: ignore[operator]
                   for e in pulls)  # progress while it came, not only at the end
        digest = pushed[f"{PY}-slim"]
        assert built.base is not None and built.base.digest == digest and built.base.pulled
        assert built.result is not None
        assert built.result.steps[0].instruction == f"FROM {exact}@{digest}"   # either shape
        labels = engine.image_labels(built.tag)
        assert labels[contract.LABEL_BASE_DIGEST] == digest
        assert labels[contract.LABEL_BASE_NAME] == exact
        # A second build finds the base on the engine: no pull; the image is reused.
        events.clear()
        again = pipeline.ensure_image(notebook, spec=spec, engine=engine, on_event=events.append)
        assert not again.built and not [e for e in events if e.phase is Phase.PULL]
    finally:
        engine.remove_image(built.tag)


def test_only_the_minor_tag_falls_back_with_a_warning_naming_both(
        engine: Any, registry: str, pushed: Dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    monkeypatch.setenv("NBDOCKER_BASE_REPOSITORY", f"{registry}/minor-only/python")
    exact, minor = (f"{registry}/minor-only/python:{PY}-slim",
                    f"{registry}/minor-only/python:{MINOR}-slim")
    events: List[Event] = []
    spec = EnvironmentSpec(notebook="nb.ipynb", python=PythonInfo(PY))
    base = ensure_base(engine, spec, on_event=events.append)
    assert base.name == minor and base.digest == pushed["minor-only"]
    warnings = [e.message for e in events if e.kind == "warning"]
    assert any(exact in w and minor in w for w in warnings), warnings


def test_registry_stopped_is_exit_3_and_one_line(engine: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with docker_registry(tmp_path / "gone") as address:
        pass   # started and stopped: nothing answers there now
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    monkeypatch.setenv("NBDOCKER_BASE_REPOSITORY", f"{address}/python")
    notebook = write_notebook(tmp_path / "nb", "# gone", code="print('hi')")
    code = main(["build", str(notebook), "--quiet", "--python", sys.executable])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    errors = [line for line in err if line.startswith("nbdocker: error:")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err)
    assert f"{address}/python:{PY}-slim" in errors[0] and address in errors[0]
    assert "reachable" in errors[0] and "--base-image" in errors[0]


def test_another_platform_warns_of_emulation_on_the_real_engine(
        engine: Any, base_image: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    native = engine.native_platform()
    other = "linux/arm64" if native == "linux/amd64" else "linux/amd64"
    notebook = write_notebook(tmp_path / "nb", "# platform", code="print('hi')")
    code = main(["build", str(notebook), "--quiet", "--platform", other, "--pull", "never",
                 "--base-image", base_image, "--python", sys.executable])
    err = capsys.readouterr().err
    assert code == 3
    assert f"warning: building for {other} on a {native} engine" in err and "emulation" in err
    errors = [line for line in err.splitlines() if line.startswith("nbdocker: error:")]
    assert errors == [errors[0]] and f"only for {native}, not {other}" in errors[0]
