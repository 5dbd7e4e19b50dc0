"""Issue 14 against the real engine: a hostile notebook name and env value stay inert
in a real image; planted credentials of every kind are in no layer of a saved image;
``-x.ipynb`` runs; a tarball cannot take over a tag; ``--disk`` is refused where the
storage driver has no quotas; a push error never echoes credentials."""
from __future__ import annotations

import base64
import io
import json
import os
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import nbformat
import pytest

from _build_helpers import image_blobs
from nbdocker import pipeline
from nbdocker.frontends.cli import main
from nbdocker.notebook_io import read_notebook

pytestmark = pytest.mark.engine

RUN = uuid.uuid4().hex[:10]
# Legal in a file name, and each one special to a Dockerfile or a shell.
HOSTILE_NAME = '-x "q" $(touch pwned) `id` #c.ipynb'
HOSTILE_VALUE = 'v "q" $(touch /tmp/pwned) ${HOME} \\ #c'


def _notebook(directory: Path, name: str, code: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbformat.write(nb, directory / name)
    return directory / name


@pytest.fixture(scope="module")
def hostile_image(engine: Any, base_image: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("hostile")
    notebook = _notebook(directory, HOSTILE_NAME, "import os\nprint(os.environ['NB_HOSTILE'])")
    os.environ["NB_HOSTILE"] = HOSTILE_VALUE
    try:
        built = pipeline.build(notebook, python=sys.executable, base_image=base_image,
                               env=("NB_HOSTILE",), engine=engine, tag=f"nbdocker-itest/hostile:{RUN}")
    finally:
        del os.environ["NB_HOSTILE"]
    yield built.tag, notebook
    engine.remove_image(built.tag)


def test_hostile_name_and_value_are_literal_in_the_real_image(engine: Any,
                                                               hostile_image: Tuple[str, Path]
                                                               ) -> None:
    tag, _ = hostile_image
    config = engine.client.images.get(tag).attrs["Config"]
    assert f"NB_HOSTILE={HOSTILE_VALUE}" in config["Env"]
    assert config["Labels"]["io.nbdocker.notebook"] == HOSTILE_NAME
    assert config["Cmd"][-3:-1] == ["--", HOSTILE_NAME]


def test_the_hostile_notebook_runs_and_nothing_was_executed(engine: Any,
                                                            hostile_image: Tuple[str, Path],
                                                            tmp_path: Path) -> None:
    tag, notebook = hostile_image
    out = tmp_path / "out.ipynb"
    assert main(["run", str(notebook), "--image", tag, "--output", str(out), "-q"]) == 0
    text = str(read_notebook(out).cells[0].outputs)
    assert HOSTILE_VALUE.replace("\\", "\\\\") in text
    # Neither the build nor the run substituted a command: no "pwned" file anywhere.
    result = engine.run(tag, ["sh", "-c", "find / -xdev -name pwned 2>/dev/null | head -1"])
    assert result.logs == ()
    # The image's own CMD (plain `docker run IMAGE`) takes the odd name too.
    cmd = engine.client.images.get(tag).attrs["Config"]["Cmd"]
    result = engine.run(tag, cmd)
    assert result.exit_code == 0, result.logs


# -- secrets by kind, in a real image -------------------------------------------------------

CANARY = f"cnry{RUN}"
PLANTED: Dict[str, str] = {
    "kaggle.json": json.dumps({"username": "me", "key": CANARY + "k"}),
    "token.json": json.dumps({"token": CANARY + "t"}),
    "client_secret_123.json": json.dumps({"installed": {"client_secret": CANARY + "c"}}),
    ".pgpass": f"db:5432:*:me:{CANARY}p\n",
    ".kube/config": f"users:\n- user:\n    token: {CANARY}kube\n",
    ".s3cfg": f"[default]\nsecret_key = {CANARY}s3\n",
    ".boto": f"[Credentials]\naws_secret_access_key = {CANARY}boto\n",
    "gcp-credentials.json": json.dumps({"type": "service_account", "x": CANARY + "g"}),
    "application_default_credentials.json": json.dumps({"refresh_token": CANARY + "adc"}),
    "api_key.txt": CANARY + "api\n",
    "passwords.txt": CANARY + "pw\n",
    ".bash_history": f"export TOKEN={CANARY}hist\n",
    # innocent names, credential content
    "data/config.ini": f"[db]\npassword = {CANARY}ini\n",
    "data/settings.yaml": f"api_key: {CANARY}AbC123xyz0\n",
    "data/conn.txt": f"postgres://analyst:{CANARY}url@db.internal/prod\n",
    "data/gh.txt": "ghp_" + (CANARY + "Q" * 36)[:36] + "\n",
    "data/key.txt": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}pk\n",
    "data/aws.txt": "AKIA" + (CANARY.upper() + "Z" * 16)[:16] + "\n",
}



@pytest.fixture(scope="module")
def planted(engine: Any, base_image: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Dict[str, Any]]:
    root = tmp_path_factory.mktemp("planted")
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(f"{CANARY}sshkey-without-header\n")
    project = root / "project"
    for rel, text in PLANTED.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    os.link(home / ".ssh" / "id_rsa", project / "data" / "notes.txt")       # hard link
    (project / "data" / "values.csv").write_text("a,b\n1,2\n")
    code = "\n".join(f"open({rel!r}).read()" for rel in [*PLANTED, "data/notes.txt",
                                                          "data/values.csv"])
    notebook = _notebook(project, "nb.ipynb", code)
    cell = nbformat.read(notebook, as_version=4)
    cell.cells[0].outputs = [nbformat.v4.new_output(
        "stream", name="stdout", text="xoxb-123456789012-" + CANARY + "slack\n")]
    nbformat.write(cell, notebook)
    secrets_env = {"DB_PASS": CANARY + "env1", "GH_PAT": CANARY + "env2",
                   "SLACK_WEBHOOK": CANARY + "env3",
                   "DATABASE_URL": f"postgres://u:{CANARY}env4@db/x", "MPLBACKEND": "Agg"}
    saved = {k: os.environ.get(k) for k in [*secrets_env, "HOME"]}
    os.environ.update(secrets_env)
    os.environ["HOME"] = str(home)
    from nbdocker import secrets
    secrets._known_secret_inodes.cache_clear()
    events: List[Any] = []
    tag = f"nbdocker-itest/planted:{RUN}"
    try:
        built = pipeline.build(notebook, python=sys.executable, base_image=base_image,
                               env=tuple(secrets_env), engine=engine, tag=tag,
                               on_event=events.append)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        secrets._known_secret_inodes.cache_clear()
    archive = root / "image.tar"
    engine.save_image(tag, str(archive))
    yield {"tag": tag, "archive": archive, "events": events, "spec": built.spec}
    engine.remove_image(tag)


def test_no_planted_credential_is_in_any_layer(planted: Dict[str, Any]) -> None:
    looked_inside = []
    for name, data in image_blobs(planted["archive"]):
        looked_inside.append(name)
        # The slack token sits in a saved output of the notebook: the notebook ships as it
        # is (with a warning); every other canary must be absent.
        text = data.replace(b"xoxb-123456789012-" + CANARY.encode() + b"slack", b"")
        assert CANARY.encode() not in text, f"canary found in {name}"
    assert any(n.endswith("nb.ipynb") for n in looked_inside)
    assert any(n.endswith("data/values.csv") for n in looked_inside)


def test_each_was_left_out_with_a_warning(planted: Dict[str, Any]) -> None:
    shipped = {f.path for f in planted["spec"].files}
    assert shipped == {"nb.ipynb", "data/values.csv"}
    warnings = " ".join(e.message for e in planted["events"] if e.kind == "warning")
    for name in ("DB_PASS", "GH_PAT", "SLACK_WEBHOOK", "DATABASE_URL"):
        assert f"environment variable {name} looks secret" in warnings
    assert "hard link" in warnings
    assert "cell 0's saved output holds what looks like a Slack token" in warnings


def test_the_image_config_and_history_hold_none(engine: Any, planted: Dict[str, Any]) -> None:
    image = engine.client.images.get(planted["tag"])
    text = json.dumps(image.attrs) + json.dumps(image.history())
    assert CANARY not in text and "MPLBACKEND=Agg" in image.attrs["Config"]["Env"]


# -- tarballs, disk, push --------------------------------------------------------------------

def test_a_tarball_cannot_re_point_the_base_image(engine: Any, base_image: str,
                                                  hostile_image: Tuple[str, Path],
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    tag, _ = hostile_image
    hijack = f"{base_image}"
    evil = f"nbdocker-itest/evil:{RUN}"
    engine.tag_image(tag, evil)
    tar = tmp_path / "evil.tar"
    try:
        engine.save_image(evil, str(tar))
        # Rewrite the manifest so that the tarball claims the base image's tag.
        patched = tmp_path / "patched.tar"
        with tarfile.open(tar) as src, tarfile.open(patched, "w") as dst:
            for member in src.getmembers():
                data = src.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
                if member.name == "manifest.json":
                    doc = json.loads(data)  # type: ignore[arg-type]
                    doc[0]["RepoTags"] = [hijack]
                    data = json.dumps(doc).encode()
                    member.size = len(data)
                dst.addfile(member, io.BytesIO(data) if data is not None else None)
        before = engine.image_id(hijack)
        code = main(["run", "--image-tar", str(patched), "-q"])
        assert code == 2 and "would re-point" in capsys.readouterr().err
        assert engine.image_id(hijack) == before
    finally:
        engine.remove_image(evil)


def test_disk_is_refused_before_a_build_where_the_driver_has_no_quotas(
        engine: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = engine.client.info()
    backing = dict(info.get("DriverStatus") or []).get("Backing Filesystem")
    notebook = _notebook(tmp_path, "d.ipynb", "1")
    images_before = len(engine.client.images.list(all=True))
    code = main(["run", str(notebook), "--disk", "1g", "--python", sys.executable, "-q"])
    err = capsys.readouterr().err
    if info["Driver"] == "overlay2" and backing != "xfs":
        assert code == 2 and "--disk needs a storage driver" in err
        assert len(engine.client.images.list(all=True)) == images_before  # nothing built
    else:  # pragma: no cover - only where the engine has quotas
        assert code == 0, err


def test_a_failed_push_never_echoes_the_stored_credentials(
        engine: Any, hostile_image: Tuple[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    tag, _ = hostile_image
    registry = "127.0.0.1:9"     # nothing listens there
    auth = base64.b64encode(f"alice:{CANARY}pw".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    code = main(["push", tag, f"{registry}/x/y:1", "-q"])
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("nbdocker: error: ")
    assert CANARY not in err and auth not in err
    engine.remove_image(f"{registry}/x/y:1")   # the tag push made before it failed
    code = main(["push", tag, f"alice:{CANARY}pw@{registry}/x/y:1", "-q"])
    assert code == 2 and CANARY not in capsys.readouterr().err
