"""The forwarded CA and index password never reach an image, not even an intermediate
one, and nothing is left behind: after a successful build, a failed one and a Ctrl-C
(the install runs in a throwaway container that is committed only without them).

The CA bundle is this machine's own (PyPI is reachable only through it) with a canary
line appended; the index is PyPI itself with a canary password (it ignores basic auth).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, Set

import pytest

from nbdocker import contract
from nbdocker.engine.docker import DockerEngine
from nbdocker.exceptions import BuildError
from nbdocker.stages.image import BuildOptions, context_files, discover_build_options

from _build_helpers import build, image_blobs, make_spec, write_notebook

pytestmark = pytest.mark.engine

RUN_ID = uuid.uuid4().hex[:12]
CA_CANARY = f"canary-ca-{RUN_ID}"
INDEX_CANARY = f"canary-index-{RUN_ID}"
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def secret_env(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """Environment variables forwarding a canary CA bundle and a canary index password."""
    options = discover_build_options()
    assert options.ca_bundle, "this machine reaches PyPI through a forwarded CA bundle"
    ca = tmp_path_factory.mktemp("ca") / "ca-bundle.crt"
    ca.write_bytes(Path(options.ca_bundle).read_bytes() + f"\n# {CA_CANARY}\n".encode())
    return {"PIP_CERT": str(ca),
            "PIP_INDEX_URL": f"https://nbuser:{INDEX_CANARY}@pypi.org/simple"}


@pytest.fixture()
def secret_options(secret_env: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> BuildOptions:
    for name, value in secret_env.items():
        monkeypatch.setenv(name, value)
    options = discover_build_options()
    monkeypatch.undo()
    return options


def _images(engine: DockerEngine) -> Dict[str, dict]:
    return {i["Id"]: i for i in engine.client.api.images(all=True)}


def _env_images(engine: DockerEngine) -> Set[str]:
    return {i["Id"] for i in engine.client.api.images(all=True,
                                                      filters={"label": contract.LABEL_ENV})}


def _ancestry(engine: DockerEngine, image_id: str) -> Set[str]:
    return {h["Id"] for h in engine.client.api.history(image_id) if h["Id"] != "<missing>"}


def _copies_build_files(engine: DockerEngine, image_id: str) -> bool:
    """Whether an image's history shows a COPY of the install inputs (CA, pip.conf)."""
    return any("/tmp/nbdocker-build" in (h.get("CreatedBy") or "")
               and "COPY" in (h.get("CreatedBy") or "")
               for h in engine.client.api.history(image_id))



def test_a_successful_build_leaves_only_the_final_image_and_no_secret(
        engine: DockerEngine, base_image: str, tmp_path: Path,
        secret_options: BuildOptions) -> None:
    notebook = write_notebook(tmp_path, "# cleanup", code="import six")
    spec = make_spec(notebook, pins=[("six", "1.16.0")])
    files = context_files(spec, tmp_path, base_image=base_image, options=secret_options)
    # Guards: the canaries really were in play, in the builder's inputs.
    assert CA_CANARY.encode() in files["nbdocker-build/ca-bundle.crt"]
    assert INDEX_CANARY.encode() in files["nbdocker-build/pip.conf"]
    before = set(_images(engine))
    containers = set(engine.list_containers())
    tag = f"nbdocker-itest/cleanup:{RUN_ID}"
    try:
        result = build(engine, spec, tmp_path, base_image, tag, options=secret_options)
        new = set(_images(engine)) - before
        # Every image the build left is the final image or one of its parents.
        assert new and new <= _ancestry(engine, result.image_id)
        assert not [i for i in new if _copies_build_files(engine, i)]
        assert set(engine.list_containers()) == containers
        archive = tmp_path / "image.tar"
        engine.save_image(tag, str(archive))
        names = []
        for name, data in image_blobs(archive):
            names.append(name)
            assert CA_CANARY.encode() not in data, f"CA canary in {name}"
            assert INDEX_CANARY.encode() not in data, f"index password in {name}"
        assert any(n.endswith("work/demo.ipynb") for n in names)   # we did look into layers
        assert any(n.endswith("site-packages/six.py") for n in names)
        # The install's inputs went in below /tmp without touching /tmp itself: it is
        # still world-writable with the sticky bit, as every program expects.
        mode = engine.run(tag, ["stat", "-c", "%a", "/tmp"])
        assert mode.exit_code == 0 and mode.logs[-1].strip() == "1777", mode.logs
    finally:
        engine.remove_image(tag)


def test_a_failed_install_leaves_no_image_of_it(engine: DockerEngine, base_image: str,
                                                tmp_path: Path,
                                                secret_options: BuildOptions) -> None:
    notebook = write_notebook(tmp_path, "# broken", code="import six")
    spec = make_spec(notebook, pins=[("six", "1.16.0"), ("nonexistent-pkg", "0.0.1")])
    before = set(_images(engine))
    containers = set(engine.list_containers())
    with pytest.raises(BuildError, match="nonexistent-pkg==0.0.1"):
        build(engine, spec, tmp_path, base_image, f"nbdocker-itest/broken:{RUN_ID}",
              options=secret_options)
    new = set(_images(engine)) - before
    # What stays is cache of the system stage (base + useradd): no install, no input.
    assert not new & _env_images(engine)
    assert not [i for i in new if _copies_build_files(engine, i)]
    for image in new:
        assert not any("/tmp/nbdocker-build" in (h.get("CreatedBy") or "")
                       for h in engine.client.api.history(image))
    assert set(engine.list_containers()) == containers       # the install container went


_CHILD = """
import sys
sys.path.insert(0, {here!r})
from pathlib import Path
from nbdocker.engine.docker import DockerEngine
from _build_helpers import build, image_blobs, make_spec, write_notebook
directory = Path({directory!r})
notebook = write_notebook(directory, "# interrupted", code="import six")
# A pin that takes a while: the install is still running when the signal comes.
spec = make_spec(notebook, pins=[("six", "1.16.0"), ("numpy", "1.26.4"), ("pandas", "2.2.2")])
def show(event):
    if event.kind == "progress":
        print("STEP", event.data["instruction"][:40], flush=True)
build(DockerEngine.from_env(), spec, directory, {base!r}, "nbdocker-itest/interrupted:1",
      on_event=show)
"""


def test_ctrl_c_during_the_install_leaves_no_container_and_no_image_of_it(
        engine: DockerEngine, base_image: str, tmp_path: Path,
        secret_env: Dict[str, str]) -> None:
    containers = set(engine.list_containers())
    envs = _env_images(engine)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(here=str(HERE), directory=str(tmp_path),
                                             base=base_image)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **secret_env})
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("STEP RUN set -e"):
                break
        else:
            pytest.fail(f"the build never reached the install: {child.stderr.read()}")  # type: ignore[union-attr]
        time.sleep(2)
        assert set(engine.list_containers()) - containers   # guard: the install is running
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert set(engine.list_containers()) == containers   # the install container went
    time.sleep(3)                             # nothing is committed after the fact either
    assert _env_images(engine) == envs
    assert engine.image_id("nbdocker-itest/interrupted:1") is None
