"""Bundles (export / load), image sharing helpers and their CLI, without an engine."""
from __future__ import annotations


import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Dict, List

import pytest

from _dockerfiles import builds_from
from nbdocker import pipeline
from nbdocker.stages.share import bundle
from nbdocker.engine.refs import check_reference, split_reference
from nbdocker.frontends.cli import main
from nbdocker.engine.fake import FakeEngine
from nbdocker.events import Event
from nbdocker.exceptions import BundleError, ImageNotFound, InputError, RegistryError
from nbdocker.spec import EnvironmentSpec, FileEntry, PythonInfo, Requirement, SystemPackage

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "share" / "analysis"


def _entry(directory: Path, rel: str, kind: str) -> FileEntry:
    data = (directory / rel).read_bytes()
    return FileEntry(rel, kind, len(data), hashlib.sha256(data).hexdigest())


def _spec(directory: Path, extra: List[tuple] = (), **changes: object) -> EnvironmentSpec:
    files = [_entry(directory, "analysis.ipynb", "notebook"),
             _entry(directory, "helpers.py", "module"),
             _entry(directory, "data/values.csv", "data")]
    files += [_entry(directory, rel, kind) for rel, kind in extra]
    spec = EnvironmentSpec(notebook="analysis.ipynb", python=PythonInfo("3.11.7"),
                           requirements=(Requirement("six", "1.16.0"),), files=tuple(files))
    return spec.with_changes(**changes) if changes else spec


@pytest.fixture
def nbdir(tmp_path: Path) -> Path:
    """A copy of the share fixture (notebook, helpers.py, data/values.csv)."""
    target = tmp_path / "src"
    for path in NOTEBOOK.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            dest = target / path.relative_to(NOTEBOOK)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    return target


def _fake_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeEngine:
    """A fake engine with a base image whose python3 answers 3.11.7 (the probe)."""
    from nbdocker.engine.base import ContainerResult

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return FakeEngine(images={"base:1": {}},
                      run_handler=lambda image, cmd, files: ContainerResult(0, logs=("3.11.7",)))


def _tree(root: Path) -> Dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# -- layout and content -----------------------------------------------------------

def test_bundle_is_the_build_context_plus_spec_binder_and_readme(
        nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    spec = _spec(nbdir)
    out = bundle.export_bundle(spec, nbdir, tmp_path / "b")
    tree = _tree(out)
    assert sorted(tree) == [
        "Dockerfile", "README.md", "binder/requirements.txt", "binder/runtime.txt",
        "nbdocker-build/nbdocker_contract.py", "nbdocker-build/nbdocker_runner.py",
        "nbdocker-build/overrides.txt", "nbdocker-build/requirements.txt",
        "nbdocker-build/runner-requirements.txt", "nbdocker-build/warmup.py",
        "nbdocker-build/warmup.txt",
        "nbdocker-spec.json",
        "notebook/analysis.ipynb", "notebook/data/values.csv", "notebook/helpers.py"]
    assert tree["notebook/helpers.py"] == (nbdir / "helpers.py").read_bytes()
    assert EnvironmentSpec.from_json(tree["nbdocker-spec.json"].decode()) == spec
    assert tree["binder/runtime.txt"] == b"python-3.11\n"
    assert tree["binder/requirements.txt"] == b"six==1.16.0\n"
    assert tree["binder/requirements.txt"] == tree["nbdocker-build/requirements.txt"]
    dockerfile = tree["Dockerfile"].decode()
    # No CA or index travels in a bundle, so nothing needs a builder stage: one stage,
    # on the exact patch.
    assert "FROM python:3.11.7-slim\n" in dockerfile and " AS builder" not in dockerfile
    # Every COPY source of the Dockerfile exists in the bundle: `docker build .` works.
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                if not source.startswith("--"):
                    assert any(n == source.rstrip("/") or n.startswith(source)
                               for n in tree), source
    readme = tree["README.md"].decode()
    assert "nbdocker verify --bundle ." in readme and "docker build" in readme


def test_apt_txt_only_when_os_packages(nbdir: Path, tmp_path: Path) -> None:
    files = bundle.bundle_files(_spec(nbdir, apt_packages=(SystemPackage("libgomp1"), SystemPackage("curl"))), nbdir)
    assert files["binder/apt.txt"] == b"curl\nlibgomp1\n"
    assert "binder/apt.txt" not in bundle.bundle_files(_spec(nbdir), nbdir)


def test_host_ca_bundle_and_index_urls_never_enter_a_bundle(
        nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nHOSTCA\n-----END CERTIFICATE-----\n")
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://pypi.corp.example/simple\n")
    monkeypatch.setenv("PIP_CERT", str(ca))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    from nbdocker.stages.image import discover_build_options

    options = discover_build_options()
    assert options.ca_bundle and options.index_url  # the host does have both
    files = bundle.bundle_files(_spec(nbdir), nbdir)
    blob = b"".join(files.values())
    assert b"HOSTCA" not in blob and b"pypi.corp.example" not in blob
    assert not any(n.endswith(("ca-bundle.crt", "pip.conf", "uv.toml")) for n in files)
    assert "PIP_CERT" not in files["Dockerfile"].decode()


def test_the_bundle_base_follows_the_one_policy_and_export_pins_or_warns(
        nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # NBDOCKER_BASE_IMAGE is the policy for every command, bundles included ...
    monkeypatch.setenv("NBDOCKER_BASE_IMAGE", "nbdocker-local/python:3-bookworm")
    files = bundle.bundle_files(_spec(nbdir), nbdir)
    assert builds_from("nbdocker-local/python:3-bookworm", files["Dockerfile"].decode())
    # ... and export says when others cannot pull that base (a local build: no digest).
    engine = _fake_engine(monkeypatch, tmp_path)
    engine.images["nbdocker-local/python:3-bookworm"] = engine.images["base:1"]
    events: List[Event] = []
    out = pipeline.export(nbdir / "analysis.ipynb", tmp_path / "b", spec=_spec(nbdir),
                          engine=engine, on_event=events.append)
    assert builds_from("nbdocker-local/python:3-bookworm", (out / "Dockerfile").read_text())
    assert any(e.kind == "warning" and "others cannot pull it" in e.message for e in events)
    # A base from a registry is pinned by digest in the Dockerfile and the README.
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE")
    engine.registry["python:3.11.7-slim"] = {}
    out = pipeline.export(nbdir / "analysis.ipynb", tmp_path / "c", spec=_spec(nbdir),
                          engine=engine)
    pinned = f"python:3.11.7-slim@{engine.manifest_digest('python:3.11.7-slim')}"
    assert builds_from(f"{pinned}", (out / "Dockerfile").read_text())
    assert f"`{pinned}` (pinned by digest" in (out / "README.md").read_text()
    # The pin is in the bundle's spec: the bundle digest covers it.
    assert bundle.load_bundle(out).spec.base_image == pinned
    explicit = bundle.bundle_files(_spec(nbdir), nbdir, base_image="corp/python:3.11")
    assert "FROM corp/python:3.11\n" in explicit["Dockerfile"].decode()
    files = bundle.bundle_files(_spec(nbdir), nbdir)
    assert "FROM python:3.11.7-slim\n" in files["Dockerfile"].decode()


def test_secret_files_and_env_named_by_the_spec_are_dropped(nbdir: Path, tmp_path: Path) -> None:
    (nbdir / "credentials.json").write_text('{"token": "CANARY-1234"}')
    spec = _spec(nbdir, extra=[("credentials.json", "data")],
                 env=(("API_TOKEN", "CANARY-1234"), ("MODE", "fast")))
    events: List[Event] = []
    out = bundle.export_bundle(spec, nbdir, tmp_path / "b", on_event=events.append)
    tree = _tree(out)
    assert not any(b"CANARY-1234" in data for data in tree.values())
    assert "notebook/credentials.json" not in tree
    exported = EnvironmentSpec.from_json(tree["nbdocker-spec.json"].decode())
    assert exported.env == (("MODE", "fast"),)
    assert {e.path for e in exported.files} == {"analysis.ipynb", "helpers.py",
                                                 "data/values.csv"}
    warnings = [e.message for e in events if e.kind == "warning"]
    assert any("credentials.json" in w for w in warnings)
    assert any("API_TOKEN" in w for w in warnings)
    bundle.load_bundle(out)  # and the bundle is consistent with its own spec


# -- determinism ------------------------------------------------------------------

def test_export_twice_gives_identical_directories_and_archives(nbdir: Path,
                                                               tmp_path: Path) -> None:
    spec = _spec(nbdir)
    a = bundle.export_bundle(spec, nbdir, tmp_path / "a")
    b = bundle.export_bundle(spec, nbdir, tmp_path / "b")
    assert _tree(a) == _tree(b)
    ta = bundle.export_bundle(spec, nbdir, tmp_path / "a.tar.gz").read_bytes()
    tb = bundle.export_bundle(spec, nbdir, tmp_path / "b.tar.gz").read_bytes()
    assert ta == tb
    assert ta[4:8] == b"\0\0\0\0"  # gzip header mtime
    with tarfile.open(fileobj=io.BytesIO(ta), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
                 for m in members if m.isfile()}
        assert {m.name.split("/", 1)[0] for m in members} == {"analysis-bundle"}
    assert files == _tree(a)
    plain = bundle.export_bundle(spec, nbdir, tmp_path / "a.tar").read_bytes()
    assert gzip.decompress(ta) == plain  # `.tar`: the same archive, uncompressed


# -- atomicity and overwrite rules ---------------------------------------------------

def test_failed_export_leaves_no_partial_directory(nbdir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    written: List[str] = []
    real = Path.write_bytes

    def flaky(self: Path, data: bytes) -> int:
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        written.append(self.name)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    with pytest.raises(OSError):
        bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "out")
    assert written  # it did fail half-way
    monkeypatch.undo()
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src"]  # no temporary left behind


def test_failed_reexport_keeps_the_old_bundle(nbdir: Path, tmp_path: Path) -> None:
    out = bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "out")
    before = _tree(out)
    spec = _spec(nbdir)
    (nbdir / "helpers.py").unlink()  # the spec names it: reading fails
    with pytest.raises(InputError):
        bundle.export_bundle(spec, nbdir, out)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


def test_failed_archive_export_leaves_no_file(nbdir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle, "_archive", boom)
    with pytest.raises(OSError):
        bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "b.tar.gz")
    assert [p.name for p in tmp_path.iterdir()] == ["src"]


def test_refuses_to_overwrite_a_directory_that_is_not_a_bundle(nbdir: Path,
                                                               tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    with pytest.raises(BundleError, match="refusing to overwrite"):
        bundle.export_bundle(_spec(nbdir), nbdir, target)
    assert [p.name for p in target.iterdir()] == ["thesis.tex"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert bundle.is_bundle(bundle.export_bundle(_spec(nbdir), nbdir, empty))


def test_reexport_replaces_an_old_bundle_and_its_stale_files(nbdir: Path,
                                                             tmp_path: Path) -> None:
    # The old bundle shipped stale.txt; the new spec no longer names it.
    (nbdir / "stale.txt").write_text("old")
    out = bundle.export_bundle(_spec(nbdir, [("stale.txt", "data")]), nbdir, tmp_path / "out")
    assert (out / "notebook" / "stale.txt").exists()
    bundle.export_bundle(_spec(nbdir), nbdir, out)
    assert not (out / "notebook" / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


# -- loading and checking -----------------------------------------------------------

def test_load_checks_every_file_against_the_spec(nbdir: Path, tmp_path: Path) -> None:
    out = bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "b")
    loaded = bundle.load_bundle(out)
    assert loaded.notebook == out / "notebook" / "analysis.ipynb"
    assert loaded.spec == _spec(nbdir)

    (out / "notebook" / "data" / "values.csv").write_text("x,y\n1,999\n")
    with pytest.raises(BundleError, match="data/values.csv does not match its sha256"):
        bundle.load_bundle(out)
    (out / "notebook" / "data" / "values.csv").unlink()
    with pytest.raises(BundleError, match="data/values.csv is missing"):
        bundle.load_bundle(out)


def test_not_a_bundle_and_broken_spec(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not an nbdocker bundle"):
        bundle.load_bundle(tmp_path)
    (tmp_path / bundle.SPEC_NAME).write_text("{not json")
    with pytest.raises(BundleError, match="not a valid nbdocker spec"):
        bundle.load_bundle(tmp_path)
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(gzip.compress(b""))
    with pytest.raises(BundleError, match="unpack it first"):
        bundle.load_bundle(archive)


def test_spec_naming_a_path_outside_the_bundle_is_refused(nbdir: Path, tmp_path: Path) -> None:
    out = bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "b")
    doc = json.loads((out / bundle.SPEC_NAME).read_text())
    doc["files"].append({"path": "../../etc/passwd", "kind": "data", "size": 1, "sha256": "0"})
    (out / bundle.SPEC_NAME).write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="outside the bundle"):
        bundle.load_bundle(out)
    assert "etc/passwd" in str(doc)


def test_a_bundle_path_works_where_a_notebook_is_accepted(
        nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pipeline.export picks the base from NBDOCKER_BASE_IMAGE (set by scripts/test);
    # export_bundle's default is python:X.Y-slim: compare like with like.
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    out = bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "b")
    assert pipeline.capture(out) == _spec(nbdir)  # the bundle's spec; no re-capture
    engine = _fake_engine(monkeypatch, tmp_path)
    built = pipeline.build(out, base_image="base:1", engine=engine)
    context = {name: data for b in engine.builds for name, data in b.files.items()}
    assert context["notebook/helpers.py"] == (nbdir / "helpers.py").read_bytes()
    assert built.spec == _spec(nbdir)
    # Re-exporting a bundle gives the same bundle.
    again = pipeline.export(out, tmp_path / "again", engine=engine)
    assert _tree(again) == _tree(out)


def test_rebuild_from_bundle_uses_the_local_machines_ca(
        nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "b")
    ca = tmp_path / "here-ca.pem"
    ca.write_text("LOCAL-CA\n")
    monkeypatch.setenv("PIP_CERT", str(ca))
    engine = _fake_engine(monkeypatch, tmp_path)
    pipeline.build(out, base_image="base:1", engine=engine)
    # The CA goes to the install container only, never to a build.
    (install,) = [r for r in engine.runs if "nbdocker-build/ca-bundle.crt" in r.files_in]
    assert install.files_in["nbdocker-build/ca-bundle.crt"] == b"LOCAL-CA\n"
    assert not [b for b in engine.builds if "nbdocker-build/ca-bundle.crt" in b.files]


# -- images: push, save, load ---------------------------------------------------------

@pytest.mark.parametrize("ref, expected", [
    ("127.0.0.1:5000/demo", ("127.0.0.1:5000/demo", None)),
    ("127.0.0.1:5000/team/demo:v1", ("127.0.0.1:5000/team/demo", "v1")),
    ("registry.example.com/a/b:latest", ("registry.example.com/a/b", "latest")),
    ("demo:1.0", ("demo", "1.0")),
])
def test_split_reference(ref: str, expected: tuple) -> None:
    assert split_reference(check_reference(ref)) == expected


@pytest.mark.parametrize("ref", ["", "Upper/Case", "host:5000/repo@sha256:abc", "a b",
                                 "host/repo:bad tag", "repo\nFROM evil", "-rm"])
def test_bad_references_are_usage_errors(ref: str) -> None:
    with pytest.raises(InputError, match="not a valid image reference"):
        check_reference(ref, "--push")


def test_push_tags_with_the_images_own_tag_and_reports_the_digest() -> None:
    engine = FakeEngine(images={"nbdocker/analysis:065945af1acf": {}})
    events: List[Event] = []
    out = pipeline.push("nbdocker/analysis:065945af1acf", "127.0.0.1:5000/team/analysis",
                        engine=engine, on_event=events.append)
    assert out.ref == "127.0.0.1:5000/team/analysis:065945af1acf"
    assert engine.pushed == [out.ref]
    assert out.digest.startswith("sha256:")
    assert out.pinned == f"127.0.0.1:5000/team/analysis@{out.digest}"
    assert any(e.phase.value == "push" and e.kind == "progress" for e in events)


def test_push_errors_say_what_to_do() -> None:
    denied = FakeEngine(images={"img:1": {}}, push_error=RegistryError(
        "push of r.example.com/x:1 failed: unauthorized: authentication required"))
    with pytest.raises(RegistryError, match="docker login r.example.com"):
        pipeline.push("img:1", "r.example.com/x", engine=denied)
    down = FakeEngine(images={"img:1": {}}, push_error=RegistryError(
        "push of 127.0.0.1:9/x:1 failed: dial tcp 127.0.0.1:9: connect: connection refused"))
    with pytest.raises(RegistryError, match="running and reachable"):
        pipeline.push("img:1", "127.0.0.1:9/x", engine=down)
    with pytest.raises(ImageNotFound):
        pipeline.push("missing:1", "127.0.0.1:9/x", engine=FakeEngine())


def test_save_and_load_round_trip_picks_the_nbdocker_image(tmp_path: Path) -> None:
    engine = FakeEngine(images={"nbdocker/a:1": {"io.nbdocker.notebook": "a.ipynb"}})
    path = pipeline.save_image("nbdocker/a:1", tmp_path / "a.tar", engine=engine)
    assert path.is_file()
    other = FakeEngine()
    assert pipeline.load_image(path, engine=other) == "nbdocker/a:1"
    with pytest.raises(InputError, match="not found"):
        pipeline.load_image(tmp_path / "missing.tar", engine=other)


# -- CLI ------------------------------------------------------------------------------

def test_cli_export_prints_the_path_then_the_digest(nbdir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "cli.tar.gz"
    assert main(["export", str(nbdir / "analysis.ipynb"), "--to", str(target), "-q"]) == 0
    path, digest = capsys.readouterr().out.split()
    assert path == str(target) and target.is_file()
    # The same digest for the folder form of the same bundle: it names the content.
    assert main(["export", str(nbdir / "analysis.ipynb"), "--to", str(tmp_path / "d"),
                 "-q"]) == 0
    assert capsys.readouterr().out.split()[1] == digest
    assert digest == bundle.bundle_digest(bundle.load_bundle(tmp_path / "d").spec)


def test_cli_bundle_errors_exit_2(nbdir: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--bundle", str(tmp_path)]) == 2
    assert "not an nbdocker bundle" in capsys.readouterr().err
    assert main(["verify", str(nbdir / "analysis.ipynb"), "--bundle", str(tmp_path)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["push", "img:1", "Not A Ref"]) == 2
    assert "not a valid image reference" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("x")
    assert main(["export", str(nbdir / "analysis.ipynb"), "--to", str(mine), "-q"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


def test_cli_run_image_tar_loads_then_runs_the_baked_notebook(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from nbdocker.engine.base import ContainerResult

    source = FakeEngine(images={"nbdocker/a:1": {"io.nbdocker.notebook": "a.ipynb"}})
    source.save_image("nbdocker/a:1", str(tmp_path / "a.tar"))
    executed = json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                           "nbformat_minor": 5}).encode()
    engine = FakeEngine(run_results=[ContainerResult(
        exit_code=0, files={".nbdocker-output.ipynb": executed})])
    monkeypatch.setattr(pipeline, "_default_engine", lambda: engine)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--image-tar", str(tmp_path / "a.tar"), "-q"]) == 0
    assert engine.runs[0].image == "nbdocker/a:1"
    assert engine.runs[0].files_in == {}          # the notebook baked into the image
    assert "a.ipynb" in engine.runs[0].command
    assert capsys.readouterr().out.strip().endswith("a.nbdocker.ipynb")


@pytest.mark.parametrize("stem", ["LU+Decomposition", "8. Implementing QR Factorization",
                                  "x; rm -rf ~", "$(id)"])
def test_the_readme_docker_lines_name_a_valid_image_whatever_the_notebook_is_called(
        nbdir: Path, stem: str) -> None:
    from nbdocker.engine.refs import check_reference

    spec = _spec(nbdir)
    renamed = spec.with_changes(notebook=f"{stem}.ipynb", files=tuple(
        f if f.kind != "notebook" else replace(f, path=f"{stem}.ipynb") for f in spec.files))
    readme = bundle._readme(renamed, "python:3.11.7-slim")
    lines = [line.split() for line in readme.splitlines() if line.strip().startswith("docker ")]
    assert [words[:3] for words in lines] == [["docker", "build", "-t"], ["docker", "run", "--rm"]]
    for words in lines:
        check_reference(words[3], "tag")     # one word, a valid reference
    assert lines[0][4] == "." and lines[1][4] == "#"
