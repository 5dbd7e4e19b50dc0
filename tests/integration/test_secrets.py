"""No secret reaches the final image: docker save it and search every byte of it."""
from __future__ import annotations

import json
import uuid
from typing import Dict, Iterator, List

import pytest

from nbdocker.stages.image import build_context, context_files, discover_build_options
from nbdocker.engine.docker import DockerEngine
from nbdocker.events import Event

from _build_helpers import image_blobs, make_spec, write_notebook

pytestmark = pytest.mark.engine

RUN_ID = uuid.uuid4().hex[:12]
CANARIES = {
    "dotenv": f"canary-dotenv-{RUN_ID}",
    "aws": f"canary-aws-{RUN_ID}",
    "index": f"canary-index-{RUN_ID}",
    "creds": f"canary-credfile-{RUN_ID}",
}


@pytest.fixture(scope="module")
def secret_build(engine: DockerEngine, base_image: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, object]]:
    directory = tmp_path_factory.mktemp("secrets")
    notebook = write_notebook(directory, "# secrets", code="import six")
    (directory / ".env").write_text(f"AWS_SECRET_ACCESS_KEY={CANARIES['dotenv']}\n")
    (directory / "credentials.json").write_text(json.dumps({"key": CANARIES["creds"]}))
    (directory / "data.csv").write_text("a,b\n1,2\n")
    # The spec even names the secret files: the context must still leave them out.
    spec = make_spec(notebook, pins=[("six", "1.16.0")],
                     extra_files=[(".env", "data"), ("credentials.json", "data"),
                                  ("data.csv", "data")],
                     env=(("AWS_SECRET_ACCESS_KEY", CANARIES["aws"]), ("MPLBACKEND", "Agg")))
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_SECRET_ACCESS_KEY", CANARIES["aws"])
    # A reachable index that accepts (and ignores) basic-auth credentials: PyPI itself.
    mp.setenv("PIP_INDEX_URL", f"https://nbuser:{CANARIES['index']}@pypi.org/simple")
    options = discover_build_options()
    mp.undo()
    tag = f"nbdocker-itest/secrets:{RUN_ID}"
    events: List[Event] = []
    files = context_files(spec, directory, base_image=base_image, options=options)
    try:
        engine.build(build_context(spec, directory, base_image=base_image, options=options,
                                   on_event=events.append), tag)
        archive = directory / "image.tar"
        engine.save_image(tag, str(archive))
        yield {"tag": tag, "archive": archive, "files": files, "events": events,
               "options": options}
    finally:
        engine.remove_image(tag)



def test_the_build_did_forward_the_credentialed_index_to_the_builder(secret_build: dict) -> None:
    # Guards the test itself: the canary really was in play during the build.
    pip_conf = secret_build["files"]["nbdocker-build/pip.conf"].decode()
    assert CANARIES["index"] in pip_conf
    assert secret_build["options"].ca_bundle is None or \
        "nbdocker-build/ca-bundle.crt" in secret_build["files"]


def test_secret_files_were_left_out_of_the_context(secret_build: dict) -> None:
    files = secret_build["files"]
    assert "notebook/data.csv" in files
    assert "notebook/.env" not in files and "notebook/credentials.json" not in files
    warned = {e.data.get("path") for e in secret_build["events"] if e.kind == "warning"}
    assert warned == {".env", "credentials.json"}


def test_no_canary_and_no_build_file_in_any_layer_or_config(secret_build: dict) -> None:
    names: List[str] = []
    for name, data in image_blobs(secret_build["archive"]):
        names.append(name)
        for label, canary in CANARIES.items():
            assert canary.encode() not in data, f"{label} canary found in {name}"
    layer_paths = [n.split("!", 1)[1] for n in names if "!" in n]
    assert any(p.endswith("demo.ipynb") for p in layer_paths)      # we did look inside layers
    assert not [p for p in layer_paths if "nbdocker-build" in p or "nbdocker-uv" in p
                or p.endswith(("pip.conf", "uv.toml", "ca-bundle.crt", ".env"))]


def test_image_history_and_config_carry_no_secret(engine: DockerEngine, secret_build: dict) -> None:
    image = engine.client.images.get(secret_build["tag"])
    text = json.dumps(image.history()) + json.dumps(image.attrs)
    for canary in CANARIES.values():
        assert canary not in text
    assert "pip.conf" not in json.dumps(image.history())
    env = image.attrs["Config"]["Env"]
    assert "MPLBACKEND=Agg" in env and not any(e.startswith("AWS_") for e in env)


def test_saved_image_loads_back(engine: DockerEngine, secret_build: dict) -> None:
    tag = secret_build["tag"]
    image_id = engine.image_id(tag)
    engine.remove_image(tag)
    assert engine.image_id(tag) is None
    assert engine.load_image(str(secret_build["archive"])) == [tag]
    assert engine.image_id(tag) == image_id
