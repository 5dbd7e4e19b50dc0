"""The classic-builder stream parser and the FakeEngine's layer-cache model (no Docker)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from nbdocker import contract
from nbdocker.stages.image import (BuildOptions, build_context, build_image, context_files,
                                   default_tag)
from nbdocker.engine.base import ContainerLimits, ContainerResult
from nbdocker.engine.buildlog import parse_apt_error, parse_pip_error
from nbdocker.engine.docker import _BuildStream
from nbdocker.engine.fake import FakeEngine, dockerfile_instructions
from nbdocker.events import Event
from nbdocker.exceptions import BuildError, EngineUnavailable, RegistryError
from nbdocker.spec import EnvironmentSpec, FileEntry, PythonInfo, Requirement

BASE = "python:3.11-slim"


def test_stream_parser_reports_steps_cache_hits_and_log_lines() -> None:
    events: List[Event] = []
    parser = _BuildStream(events.append)
    chunks = [
        {"stream": "Step 1/4 : FROM base AS builder\n"}, {"stream": " ---> 82d1166fe366\n"},
        {"stream": "Step 2/4 : RUN python3 -m venv /opt/venv\n"},
        {"stream": " ---> Using cache\n"}, {"stream": " ---> 1111\n"},
        {"stream": "Step 3/4 : RUN pip install -r r.txt\n"},
        {"stream": " ---> Running in abc\n"},
        {"stream": "\x1b[91mCollecting si"}, {"stream": "x==1.16.0\n\x1b[0m"},
        {"stream": "Removing intermediate container abc\n"}, {"stream": " ---> 2222\n"},
        {"stream": "Step 4/4 : COPY notebook/ /w/\n"}, {"stream": " ---> 3333\n"},
        {"aux": {"ID": "sha256:3333"}}, {"stream": "Successfully built 3333\n"},
    ]
    for chunk in chunks:
        parser.feed(chunk)
    parser.close()
    assert [(s.index, s.cached) for s in parser.steps] == [(1, True), (2, True), (3, False),
                                                           (4, False)]
    progress = [e for e in events if e.kind == "progress"]
    assert [(e.step, e.total, e.data["cached"]) for e in progress] == [
        (1, 4, True), (2, 4, True), (3, 4, False), (4, 4, False)]
    logs = [e.message for e in events if e.kind == "log"]
    assert "Collecting six==1.16.0" in logs            # joined across chunks, no ANSI
    assert not any("Removing intermediate" in line for line in logs)
    assert parser.image_id == "sha256:3333"


def test_failed_pip_step_becomes_a_build_error_naming_requirement_and_reason() -> None:
    parser = _BuildStream(None)
    for chunk in [
        {"stream": "Step 5/9 : RUN pip install -r /tmp/requirements.txt\n"},
        {"stream": " ---> Running in abc\n"},
        {"stream": "ERROR: Could not find a version that satisfies the requirement "
                   "nonexistent-pkg==0.0.1 (from versions: none)\n"},
        {"stream": "ERROR: No matching distribution found for nonexistent-pkg==0.0.1\n"},
        {"error": "The command '/bin/sh -c pip install -r /tmp/requirements.txt' returned a "
                  "non-zero code: 1"},
    ]:
        parser.feed(chunk)
    err = parser.build_error()
    assert str(err) == ("build failed at step 5/9 (RUN pip install -r /tmp/requirements.txt): "
                        "pip could not install nonexistent-pkg==0.0.1: no matching "
                        "distribution found (from versions: none)")
    assert err.exit_code == 3 and err.step == "RUN pip install -r /tmp/requirements.txt"
    assert err.log_tail[-1].startswith("ERROR: No matching distribution")


def test_non_pip_failure_names_exit_code_and_last_output() -> None:
    parser = _BuildStream(None)
    for chunk in [{"stream": "Step 2/3 : RUN false-ish https://u:pw@h/x\n"},
                  {"stream": " ---> Running in abc\n"}, {"stream": "boom at https://u:pw@h/x\n"},
                  {"error": "The command '/bin/sh -c false-ish' returned a non-zero code: 7"}]:
        parser.feed(chunk)
    err = parser.build_error()
    assert "exited with code 7; last output: boom" in str(err)
    assert "u:pw" not in str(err) and not any("u:pw" in line for line in err.log_tail)


def test_parse_pip_error_falls_back_to_the_last_error_line() -> None:
    assert parse_pip_error(["ok", "ERROR: ResolutionImpossible: a vs b"]) == \
        "pip: ResolutionImpossible: a vs b"
    assert parse_pip_error(["all good"]) is None


def _spec(markdown: str) -> EnvironmentSpec:
    return EnvironmentSpec(notebook="nb.ipynb", python=PythonInfo("3.11.7"),
                           requirements=(Requirement("six", "1.16.0"),),
                           files=(FileEntry("nb.ipynb", "notebook", len(markdown), "0" * 64),))


def test_fake_cache_model_rebuilds_only_the_notebook_layer(tmp_path: Path) -> None:
    engine = FakeEngine()
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "v1"}]}))
    engine.build(build_context(_spec("v1"), tmp_path, base_image=BASE), "t:1")
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "v2"}]}))
    events: List[Event] = []
    result = engine.build(build_context(_spec("v2"), tmp_path, base_image=BASE), "t:2",
                          on_event=events.append)
    notebook_step = next(s.index for s in result.steps if "notebook/" in s.instruction)
    assert all(s.cached for s in result.steps if s.index < notebook_step)
    assert not result.steps[notebook_step - 1].cached
    assert len([e for e in events if e.kind == "progress"]) == len(result.steps)


def test_fake_engine_records_and_scripts(tmp_path: Path) -> None:
    (tmp_path / "nb.ipynb").write_text("{}")
    context = build_context(_spec("x"), tmp_path, base_image=BASE)
    failing = FakeEngine(build_error=BuildError("build failed at step 1/1 (X): nope"))
    with pytest.raises(BuildError):
        failing.build(context, "t:1")
    assert failing.builds[0].files["nbdocker-build/requirements.txt"] == b"six==1.16.0\n"

    engine = FakeEngine()
    tag = default_tag(_spec("x"))
    engine.build(context, tag)
    assert engine.image_labels(tag)["io.nbdocker.notebook"] == "nb.ipynb"
    saved = tmp_path / "img.tar"
    engine.save_image(tag, str(saved))
    other = FakeEngine()
    assert other.load_image(str(saved)) == [tag] and other.image_id(tag) == engine.image_id(tag)
    assert engine.push(tag).startswith("sha256:")
    engine.tag_image(tag, "other/name:1")
    assert engine.image_id("other/name:1") == engine.image_id(tag)
    with pytest.raises(RegistryError):
        FakeEngine(images={tag: {}}, push_error=RegistryError("denied")).push(tag)
    with pytest.raises(EngineUnavailable):
        FakeEngine(available=False).ping()


def test_fake_engine_can_execute_locally(tmp_path: Path) -> None:
    engine = FakeEngine(images={"img": {}}, execute_locally=True)
    lines: List[str] = []
    result = engine.run("img", ["python", "-c",
                                "print(open('in.txt').read().upper()); open('out.txt','w').write('ok')"],
                        files_in={"in.txt": b"hi"}, files_out=["out.txt", "nope.txt"],
                        on_line=lines.append)
    assert (result.exit_code, result.files, lines) == (0, {"out.txt": b"ok"}, ["HI"])
    slow = engine.run("img", [sys.executable, "-c", "import time; time.sleep(30)"],
                      limits=ContainerLimits(timeout=0.5))
    assert slow.timed_out and slow.exit_code == 137


def test_dockerfile_instructions_join_continuations() -> None:
    text = "# c\nFROM a AS b\nRUN x \\\n && y\n\nENV A=1 \\\n    B=2\n"
    assert dockerfile_instructions(text) == ["FROM a AS b", "RUN x && y", "ENV A=1 B=2"]


def test_parse_apt_error_names_the_package_and_apts_reason() -> None:
    assert parse_apt_error(["Reading package lists...", "E: Unable to locate package nope-x"]) \
        == "apt could not install nope-x: unable to locate package"
    assert parse_apt_error(["E: Version '9.9' for 'graphviz' was not found"]) == \
        "apt could not install graphviz=9.9: version 9.9 not found"
    assert parse_apt_error(["E: Package 'python-foo' has no installation candidate"]) == \
        "apt could not install python-foo: no installation candidate"
    assert parse_apt_error(["all good"]) is None


def test_a_failed_apt_step_becomes_a_build_error_naming_the_package() -> None:
    parser = _BuildStream(None)
    for chunk in [{"stream": "Step 2/9 : RUN apt-get update && apt-get install -y nope-x\n"},
                  {"stream": " ---> Running in abc\n"},
                  {"stream": "Reading package lists...\nE: Unable to locate package nope-x\n"},
                  {"error": "The command '/bin/sh -c apt-get ...' returned a non-zero code: 100"}]:
        parser.feed(chunk)
    err = parser.build_error()
    assert str(err).endswith("apt could not install nope-x: unable to locate package")
    assert err.exit_code == 3


def test_failed_guesses_become_warnings_with_the_index_reason() -> None:
    events: List[Event] = []
    parser = _BuildStream(events.append)
    for chunk in [
        {"stream": "Step 7/9 : RUN set -e; ...\n"}, {"stream": " ---> Running in abc\n"},
        {"stream": f"{contract.GUESS_BEGIN}tabulate\n"},
        {"stream": "Installed 1 package in 3ms\n"},
        {"stream": f"{contract.GUESS_BEGIN}nope-zz\n"},
        {"stream": "  × No solution found when resolving dependencies:\n"
                   "  ╰─▶ Because nope-zz was not found in the package\n"
                   "      registry and you require nope-zz, we can conclude ...\n"},
        {"stream": f"{contract.GUESS_FAILED}nope-zz\t`import nope_zz` in cell 4\n"},
        {"stream": f"{contract.GUESS_BEGIN}oldpkg\n"},
        {"stream": "ERROR: Failed building wheel for oldpkg\n"},
        {"stream": f"{contract.GUESS_FAILED}oldpkg\t`import oldpkg` in cell 5\n"},
    ]:
        parser.feed(chunk)
    parser.close()
    warnings = [e for e in events if e.kind == "warning"]
    assert [w.message for w in warnings] == [
        "guessed `nope-zz` for `import nope_zz` in cell 4: not on the index; "
        "the cell will fail if it runs",
        "guessed `oldpkg` for `import oldpkg` in cell 5: could not be installed "
        "(ERROR: Failed building wheel for oldpkg); the cell will fail if it runs"]
    assert warnings[0].data == {"guess": "nope-zz", "reason": "not on the index"}
    assert parser.guesses.warnings == [w.message for w in warnings]
    logs = [e.message for e in events if e.kind == "log"]
    assert "Installed 1 package in 3ms" in logs
    assert not any("nbdocker-guess" in line for line in logs)
    assert [s.index for s in parser.steps] == [7] and parser.steps[0].seconds >= 0


def _builder_spec(tmp_path: Path, title: str) -> Tuple[EnvironmentSpec, Dict[str, bytes]]:
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": title}]}))
    spec = _spec(title)
    options = BuildOptions(ca_bundle=str(tmp_path / "ca.pem"))
    (tmp_path / "ca.pem").write_text("CA\n")
    return spec, context_files(spec, tmp_path, base_image=BASE, options=options)


def test_with_a_ca_the_environment_is_installed_in_a_container_once_and_reused(
        tmp_path: Path) -> None:
    engine = FakeEngine(images={BASE: {}})
    options = BuildOptions(ca_bundle=str(tmp_path / "ca.pem"))
    spec, files = _builder_spec(tmp_path, "v1")
    events: List[Event] = []
    first = build_image(engine, spec, files, base_image=BASE, options=options, tag="t:1",
                        labels={"x": "1"}, on_event=events.append)
    system, app = engine.builds
    assert system.tag is None and set(system.files) == {"Dockerfile"}   # no secret, no input
    (install,) = engine.runs
    assert install.image == system.result.image_id and install.limits.user == "0"  # type: ignore
    assert install.command[:2] == ("/bin/sh", "-c") and install.workdir == "/tmp"
    assert install.files_in["nbdocker-build/ca-bundle.crt"] == b"CA\n"
    assert "nbdocker-build/requirements.txt" in install.files_in
    assert not any(n.startswith("notebook/") for n in install.files_in)
    env_id = engine.find_image(contract.LABEL_ENV, next(
        i.labels[contract.LABEL_ENV] for i in engine.images.values() if contract.LABEL_ENV in i.labels))
    assert app.tag == "t:1" and app.dockerfile.splitlines()[3] == f"FROM {env_id}"
    assert "nbdocker-build/ca-bundle.crt" not in app.files and "notebook/nb.ipynb" in app.files
    # One numbering over the parts, the install step included.
    progress = [e for e in events if e.kind == "progress"]
    assert [e.step for e in progress] == list(range(1, len(progress) + 1))
    assert {e.total for e in progress} == {len(progress)}
    assert [s.index for s in first.steps] == [e.step for e in progress]
    assert any(e.data["instruction"].startswith("RUN set -e;") for e in progress)
    # A notebook-only edit: no install, only the app, FROM the same environment.
    spec2, files2 = _builder_spec(tmp_path, "v2")
    second = build_image(engine, spec2, files2, base_image=BASE, options=options, tag="t:2")
    assert [b.tag for b in engine.builds] == [None, "t:1", "t:2"] and len(engine.runs) == 1
    assert engine.builds[2].dockerfile.splitlines()[3] == f"FROM {env_id}"
    assert [s.index for s in second.steps] == list(range(1, len(second.steps) + 1))
    # nocache installs again.
    build_image(engine, spec2, files2, base_image=BASE, options=options, tag="t:3", nocache=True)
    assert [b.tag for b in engine.builds[3:]] == [None, "t:3"] and len(engine.runs) == 2


def test_a_failed_install_is_a_build_error_numbered_in_the_whole(tmp_path: Path) -> None:
    lines = ("Collecting nope==1", "ERROR: Could not find a version that satisfies the "
             "requirement nope==1 (from versions: none)",
             f"{contract.GUESS_BEGIN}x", f"{contract.GUESS_FAILED}x\t`import x` in cell 1")
    engine = FakeEngine(images={BASE: {}}, commit_result=ContainerResult(1, logs=lines))
    spec, files = _builder_spec(tmp_path, "v1")
    events: List[Event] = []
    with pytest.raises(BuildError) as caught:
        build_image(engine, spec, files, base_image=BASE,
                    options=BuildOptions(ca_bundle=str(tmp_path / "ca.pem")), tag="t:1",
                    on_event=events.append)
    step = next(e for e in events if e.kind == "progress" and "RUN set -e" in e.data["instruction"])
    assert str(caught.value).startswith(f"build failed at step {step.step}/{step.total} (RUN set -e;")
    assert str(caught.value).endswith("pip could not install nope==1: no matching distribution "
                                      "found (from versions: none)")
    assert [e.message for e in events if e.kind == "warning"] == [
        "guessed `x` for `import x` in cell 1: could not be installed; the cell will fail if it runs"]
    assert [b.tag for b in engine.builds] == [None]          # no app build after a failure
    assert not [i for i in engine.images.values() if contract.LABEL_ENV in i.labels]


def test_without_a_builder_one_build_of_the_whole_context(tmp_path: Path) -> None:
    engine = FakeEngine(images={BASE: {}})
    (tmp_path / "nb.ipynb").write_text("{}")
    files = context_files(_spec("x"), tmp_path, base_image=BASE, options=BuildOptions())
    build_image(engine, _spec("x"), files, base_image=BASE, options=BuildOptions(), tag="t:1")
    assert [b.tag for b in engine.builds] == ["t:1"] and engine.builds[0].files == files


def test_a_local_source_requirement_is_installed_from_its_source_never_by_name(
        tmp_path: Path) -> None:
    (tmp_path / "nb.ipynb").write_text("{}")
    spec = _spec("x").with_changes(requirements=(
        Requirement("six", "1.16.0"), Requirement("mglearn", "0.2.0", local="mglearn")))
    files = context_files(spec, tmp_path, base_image=BASE, options=BuildOptions())
    assert files["nbdocker-build/requirements.txt"] == b"six==1.16.0\n"
    dockerfile = files["Dockerfile"].decode()
    assert "COPY nbdocker-build/local/ /tmp/nbdocker-build/local/" in dockerfile
    assert "--no-deps /tmp/nbdocker-build/local/mglearn" in dockerfile
    events: List[Event] = []
    build_image(FakeEngine(images={BASE: {}}), spec, files, base_image=BASE,
                options=BuildOptions(), tag="t:1", on_event=events.append)
    assert [e for e in events if e.kind == "warning"] == []