"""Sharing against a real engine: bundles rebuilt elsewhere, image tarballs, a real
registry on loopback (Debian's docker-registry), and no secrets in bundles.

The notebook (tests/notebooks/share/analysis) uses only the standard library, one
local module and one data file, so the image builds quickly (its layers are shared with
the other stdlib-only test images). Every image, tag, registry process and temporary
directory a test creates is removed afterwards.
"""
from __future__ import annotations

import hashlib
import io
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from _registry import docker_registry, free_port
from nbdocker import pipeline
from nbdocker.stages.share.bundle import load_bundle
from nbdocker.frontends.cli import main
from nbdocker.stages.image import default_tag
from nbdocker.exceptions import RegistryError
from nbdocker.notebook_io import read_notebook

pytestmark = pytest.mark.engine

SOURCE = Path(__file__).resolve().parent.parent / "notebooks" / "share" / "analysis"
CANARY = "nbdocker-canary-7f3c9e1d"


def _copy_fixture(target: Path) -> Path:
    shutil.copytree(SOURCE, target, ignore=shutil.ignore_patterns("__pycache__", "*.nbdocker.ipynb"))
    return target / "analysis.ipynb"


def _tree_digest(root: Path) -> Dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def share_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("share")


@pytest.fixture(scope="module")
def notebook(share_dir: Path) -> Path:
    """A copy of the share notebook with its module and data file."""
    return _copy_fixture(share_dir / "src")


@pytest.fixture(scope="module")
def bundle_dir(share_dir: Path, notebook: Path) -> Path:
    """The exported bundle of the notebook (versions from this Python)."""
    return pipeline.export(notebook, share_dir / "bundle", python=sys.executable)


@pytest.fixture(scope="module")
def tags(engine: Any) -> Iterator[List[str]]:
    """Image references the tests created; all removed at the end of the module."""
    created: List[str] = []
    yield created
    for ref in reversed(created):
        engine.remove_image(ref)


@pytest.fixture
def image(engine: Any, base_image: str, bundle_dir: Path, tags: List[str]) -> str:
    """The bundle's image (reused when present, else built from the bundle: tests
    remove it on purpose)."""
    built = pipeline.ensure_image(bundle_dir, base_image=base_image, engine=engine)
    tags.append(built.tag)
    return built.tag


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with docker_registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


def test_bundle_rebuilds_and_verifies_elsewhere(engine: Any, base_image: str, bundle_dir: Path,
                                                tmp_path: Path, tags: List[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_bundle(bundle_dir).spec
    tag = default_tag(spec)
    tags.append(tag)
    engine.remove_image(tag)
    assert engine.image_id(tag) is None
    elsewhere = tmp_path / "colleague" / "copy"
    shutil.copytree(bundle_dir, elsewhere)
    code = main(["verify", "--bundle", str(elsewhere), "--base-image", base_image, "-q"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert engine.image_id(tag) is not None          # rebuilt from the bundle alone
    # No container of it left behind (other work may share the engine: only ours).
    assert engine.client.containers.list(all=True, filters={"ancestor": tag}) == []
    # The executed notebook landed beside the bundle folder, which stays as it was (an
    # export over it is not refused for a file in it that nbdocker wrote).
    before = sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*"))
    executed = read_notebook(elsewhere.parent / "analysis.nbdocker.ipynb")
    assert "mean y = 6.66" in str(executed.cells[3].outputs)
    assert sorted(p.relative_to(bundle_dir) for p in bundle_dir.rglob("*")) == before
    load_bundle(elsewhere)


def test_tampered_bundle_is_refused_before_any_build(bundle_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(bundle_dir, copy)
    (copy / "notebook" / "helpers.py").write_text("def mean(v):\n    return 0\n")
    assert main(["verify", "--bundle", str(copy), "-q"]) == 2
    assert "helpers.py does not match its sha256" in capsys.readouterr().err


def test_export_twice_is_byte_identical(notebook: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    outs = []
    for name in ("one", "two"):
        assert main(["export", str(notebook), "--python", sys.executable,
                     "--to", str(tmp_path / name), "-q"]) == 0
        assert main(["export", str(notebook), "--python", sys.executable,
                     "--to", str(tmp_path / f"{name}.tar.gz"), "-q"]) == 0
        outs.append(capsys.readouterr().out.split())
    assert _tree_digest(tmp_path / "one") == _tree_digest(tmp_path / "two")
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
    assert outs[0][0] == str(tmp_path / "one")


def test_save_then_run_image_tar_without_notebook(engine: Any, image: str, bundle_dir: Path,
                                                  base_image: str, tmp_path: Path,
                                                  tags: List[str],
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    tar = tmp_path / "image.tar"
    assert main(["build", str(bundle_dir), "--base-image", base_image, "--save", str(tar),
                 "-q"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == image
    with tarfile.open(tar) as archive:   # a real `docker save` tarball
        assert "manifest.json" in archive.getnames()
    engine.remove_image(image)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--image-tar", str(tar), "--output", str(tmp_path / "ran.ipynb"), "-q"])
    assert code == 0, capsys.readouterr().err
    assert engine.image_id(image) is not None
    executed = read_notebook(tmp_path / "ran.ipynb")
    assert "mean y = 6.66" in str(executed.cells[3].outputs)


def test_push_pull_by_digest_and_run(engine: Any, image: str, registry: str, tags: List[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    repo = f"{registry}/share/analysis"
    assert main(["push", image, repo, "-q"]) == 0
    pinned = capsys.readouterr().out.strip().splitlines()[-1]
    pushed_tag = f"{repo}:{image.rsplit(':', 1)[1]}"
    tags.append(pushed_tag)
    assert pinned.startswith(f"{repo}@sha256:")
    digest = pinned.split("@", 1)[1]
    # Gone locally (both names), then back from the registry by digest alone.
    engine.remove_image(pushed_tag)
    engine.remove_image(image)
    assert engine.image_id(image) is None and engine.image_id(pushed_tag) is None
    pulled = engine.client.images.pull(f"{repo}@{digest}")
    tags.append(pulled.id)
    result = engine.run(pinned, ["python", "-c",
                                 "import helpers; print(helpers.mean([1, 2, 6]))"])
    assert result.exit_code == 0 and result.logs[-1] == "3.0"
    assert engine.image_labels(pinned)["io.nbdocker.notebook"] == "analysis.ipynb"
    assert pulled.id == engine.image_id(pinned)


def test_unreachable_registry_is_a_clear_registry_error(engine: Any, image: str,
                                                        tags: List[str],
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    ref = f"127.0.0.1:{free_port()}/nobody/here:v1"
    tags.append(ref)
    with pytest.raises(RegistryError) as info:
        pipeline.push(image, ref, engine=engine)
    message = str(info.value)
    assert "connection refused" in message and "reachable" in message
    assert info.value.exit_code == 3
    assert main(["push", image, ref, "-q"]) == 3
    assert "reachable" in capsys.readouterr().err


def test_bundle_from_a_directory_with_planted_secrets_holds_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = _copy_fixture(tmp_path / "project")
    project = notebook.parent
    (project / ".env").write_text(f"API_TOKEN={CANARY}\n")
    (project / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}\n")
    (project / "credentials.json").write_text(f'{{"secret": "{CANARY}"}}')
    (project / ".aws").mkdir()
    (project / ".aws" / "credentials").write_text(f"[default]\naws_secret_access_key={CANARY}\n")
    # The notebook even names them, so capture sees them as data files.
    nb = read_notebook(notebook)
    import nbformat

    nb.cells.append(nbformat.v4.new_code_cell(
        "paths = ['.env', 'id_rsa', 'credentials.json', '.aws/credentials']\n"
        "for p in ['.env', 'credentials.json']:\n    open(p).read()"))
    nbformat.write(nb, notebook)
    monkeypatch.setenv("MY_SERVICE_API_KEY", CANARY)
    monkeypatch.setenv("DB_PASSWORD", CANARY)

    out_dir = pipeline.export(notebook, tmp_path / "bundle", python=sys.executable)
    archive = pipeline.export(notebook, tmp_path / "bundle.tar.gz", python=sys.executable)
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    assert (out_dir / "notebook" / "helpers.py").is_file()  # the bundle is not empty
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path
        assert path.name not in (".env", "id_rsa", "credentials.json", "credentials")
    raw = archive.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for member in tar.getmembers():
            assert not member.name.endswith((".env", "id_rsa", "credentials.json",
                                             ".aws/credentials")), member.name
            if member.isfile():
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                assert CANARY.encode() not in data, member.name
    import gzip

    assert CANARY.encode() not in gzip.decompress(raw)
