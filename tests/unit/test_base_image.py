"""The base image policy on the fake engine: exact patch, minor fallback, pull policies,
digest pinning, local-only bases, Python and platform warnings, bundles' pins."""
from __future__ import annotations

from dataclasses import replace


from pathlib import Path
from typing import List

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from _dockerfiles import builds_from
from nbdocker import contract, pipeline
from nbdocker.engine.base import ContainerResult
from nbdocker.engine.fake import FakeEngine
from nbdocker.events import Event, Phase
from nbdocker.exceptions import ImageNotFound, InputError, RegistryError
from nbdocker.frontends.cli import main
from nbdocker.options import Options
from nbdocker.spec import EnvironmentSpec, PlatformInfo, PythonInfo
from nbdocker.stages.share.bundle import bundle_digest, load_bundle
from nbdocker.stages.image.base import (base_candidates, ensure_base, python_difference,
                                        resolve_base_image)

EXACT, MINOR = "python:3.11.7-slim", "python:3.11-slim"
SPEC = EnvironmentSpec(notebook="nb.ipynb", python=PythonInfo("3.11.7"),
                       platform=PlatformInfo("linux", "x86_64"))


def _engine(python: str = "3.11.7", **kwargs: object) -> FakeEngine:
    """A fake engine whose images' python3 answers ``python``."""
    return FakeEngine(run_handler=lambda image, cmd, files: ContainerResult(0, logs=(python,)),
                      **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    monkeypatch.delenv("NBDOCKER_BASE_REPOSITORY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "nb" / "hello.ipynb"
    path.parent.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("print('hi')")]), str(path))
    return path


def _spec(notebook: Path) -> EnvironmentSpec:
    """The notebook's spec with Python 3.11.7 on x86_64 whatever runs the tests."""
    return pipeline.capture(notebook).with_changes(python=SPEC.python, platform=SPEC.platform)


def test_the_policy_exact_patch_then_minor_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert base_candidates(SPEC) == (EXACT, MINOR)
    assert resolve_base_image(SPEC) == EXACT
    monkeypatch.setenv("NBDOCKER_BASE_IMAGE", "corp/py:3")
    assert base_candidates(SPEC, pinned="python@sha256:" + "a" * 64) == ("corp/py:3",)
    assert base_candidates(SPEC, "mine:1") == ("mine:1",)
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE")
    assert base_candidates(SPEC, pinned="python@sha256:" + "a" * 64) == ("python@sha256:" + "a" * 64,)
    # A company's copy of Docker Hub's python repository: the same tags, the same policy.
    monkeypatch.setenv("NBDOCKER_BASE_REPOSITORY", "registry.example.com/hub/python")
    assert base_candidates(SPEC) == ("registry.example.com/hub/python:3.11.7-slim",
                                     "registry.example.com/hub/python:3.11-slim")


def test_a_missing_base_is_pulled_with_progress_and_pinned_by_digest(notebook: Path) -> None:
    engine = _engine(registry={EXACT: {}, MINOR: {}})
    events: List[Event] = []
    built = pipeline.build(notebook, spec=_spec(notebook), engine=engine, on_event=events.append)
    digest = engine.manifest_digest(EXACT)
    assert engine.pulls == [EXACT]
    pulls = [e for e in events if e.phase is Phase.PULL and e.kind == "progress" and e.total]
    assert pulls and pulls[-1].step == pulls[-1].total and pulls[-1].data["bytes_total"] > 0
    assert built.base is not None and built.base.pulled and built.base.digest == digest
    assert built.base_image == f"{EXACT}@{digest}"
    dockerfile = engine.builds[-1].dockerfile
    assert builds_from(f"{EXACT}@{digest}", dockerfile)
    labels = engine.image_labels(built.tag)
    assert labels[contract.LABEL_BASE_DIGEST] == digest
    assert labels[contract.LABEL_BASE_NAME] == EXACT
    assert not [e for e in events if e.kind == "warning"]  # same Python, same patch
    # A second build finds the base on the engine: no pull, and the image is reused.
    again = pipeline.ensure_image(notebook, spec=_spec(notebook), engine=engine)
    assert engine.pulls == [EXACT] and not again.built


def test_only_the_minor_tag_in_the_registry_falls_back_with_a_warning(notebook: Path) -> None:
    engine = _engine(python="3.11.2", registry={MINOR: {}})
    events: List[Event] = []
    built = pipeline.build(notebook, spec=_spec(notebook), engine=engine, on_event=events.append)
    assert engine.pulls == [EXACT, MINOR]
    assert built.base is not None and built.base.name == MINOR
    warnings = [e.message for e in events if e.kind == "warning"]
    assert any(EXACT in w and MINOR in w for w in warnings), warnings
    assert any("image Python 3.11.2, notebook 3.11.7: patch differs" in w for w in warnings)


def test_registry_unreachable_is_one_line_exit_3(notebook: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    error = RegistryError("cannot pull python:3.11.7-slim from docker.io: dial tcp: lookup "
                          "registry-1.docker.io: no such host", reason="unreachable")
    engine = _engine(pull_error=error)
    with pytest.raises(RegistryError) as caught:
        pipeline.build(notebook, spec=_spec(notebook), engine=engine)
    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == 3
    assert EXACT in message and "docker.io" in message and MINOR in message
    assert "reachable" in message and "--base-image" in message
    assert engine.builds == []


def test_pull_never_uses_local_images_only(notebook: Path) -> None:
    engine = _engine(registry={EXACT: {}})
    with pytest.raises(ImageNotFound, match="--pull never"):
        pipeline.build(notebook, spec=_spec(notebook), engine=engine, pull="never")
    assert engine.pulls == []
    engine.images[MINOR] = FakeEngine(images={MINOR: {}}).images[MINOR]
    built = pipeline.build(notebook, spec=_spec(notebook), engine=engine, pull="never")
    assert built.base is not None and built.base.name == MINOR and engine.pulls == []


def test_pull_always_pulls_a_present_base(notebook: Path) -> None:
    engine = _engine(registry={EXACT: {}})
    pipeline.build(notebook, spec=_spec(notebook), engine=engine)
    pipeline.build(notebook, spec=_spec(notebook), engine=engine, pull="always")
    assert engine.pulls == [EXACT, EXACT]


def test_a_local_only_base_is_used_and_recorded_by_image_id(notebook: Path) -> None:
    engine = _engine(images={"local/py:1": {}})
    built = pipeline.build(notebook, spec=_spec(notebook), engine=engine, base_image="local/py:1")
    image_id = engine.image_id("local/py:1")
    assert built.base is not None and built.base.digest is None and engine.pulls == []
    assert builds_from(f"{image_id}", engine.builds[-1].dockerfile)
    labels = engine.image_labels(built.tag)
    assert labels[contract.LABEL_BASE_DIGEST] == image_id
    assert labels[contract.LABEL_BASE_NAME] == "local/py:1"
    # Re-tagging another image under the same name is another build.
    engine.images["local/py:1"] = FakeEngine(images={"other": {}}).images["other"]
    assert pipeline.ensure_image(notebook, spec=_spec(notebook), engine=engine,
                                 base_image="local/py:1").built


@pytest.mark.parametrize("image,notebook_python,expected", [
    ("3.11.7", "3.11.7", None), ("3.11.2", "3.11.7", "patch differs"),
    ("3.12.1", "3.11.7", "minor differs"), ("2.7.18", "3.11.7", "major differs"),
    ("3.13.0rc1", "3.13.0", "patch differs")])
def test_python_difference(image: str, notebook_python: str, expected: object) -> None:
    assert python_difference(image, notebook_python) == expected


def test_the_report_names_both_pythons(notebook: Path, tmp_path: Path) -> None:
    from nbdocker.stages.verify.report import Environment, ReproductionReport
    from nbdocker.stages.verify.text import format_report

    report = ReproductionReport(reproduced=True, cells=(), image="img", notebook="nb.ipynb",
                                original=Environment("original", python="3.11.7"),
                                rerun=Environment("re-run", python="3.11.2"))
    assert "re-run Python 3.11.2, original 3.11.7: patch differs" in format_report(report)
    in_image = replace(report, rerun=Environment("re-run", python="3.11.2", image="img"))
    assert "image Python 3.11.2, notebook 3.11.7: patch differs" in format_report(in_image)
    sides = report.to_dict()["environments"]
    assert (sides["original"]["python"], sides["rerun"]["python"]) == ("3.11.7", "3.11.2")


def test_another_platform_warns_about_emulation_and_is_another_build(notebook: Path) -> None:
    engine = _engine(registry={EXACT: {}})
    events: List[Event] = []
    first = pipeline.build(notebook, spec=_spec(notebook), engine=engine)
    first_hash = engine.image_labels(first.tag)[contract.LABEL_BUILD_HASH]
    other = pipeline.build(notebook, spec=_spec(notebook), engine=engine,
                           platform="linux/arm64", on_event=events.append)
    assert any(e.kind == "warning" and "emulation" in e.message and "linux/arm64" in e.message
               for e in events)
    assert engine.inspect_image(other.tag).platform == "linux/arm64"  # type: ignore[union-attr]
    assert engine.pulls == [EXACT, EXACT]   # the base for arm64 is pulled too
    assert engine.image_labels(other.tag)[contract.LABEL_BUILD_HASH] != first_hash
    assert first.tag == other.tag


def test_a_local_base_for_another_platform_is_not_used(notebook: Path) -> None:
    engine = _engine(images={"local/py:1": {}})
    with pytest.raises(ImageNotFound, match="only for linux/amd64, not linux/arm64"):
        pipeline.build(notebook, spec=_spec(notebook), engine=engine, base_image="local/py:1",
                       platform="linux/arm64", pull="never")


def test_a_notebook_captured_on_arm64_says_so(notebook: Path) -> None:
    engine = _engine(registry={EXACT: {}})
    events: List[Event] = []
    spec = _spec(notebook).with_changes(platform=PlatformInfo("linux", "aarch64"))
    pipeline.build(notebook, spec=spec, engine=engine, on_event=events.append)
    assert any(e.kind == "warning" and "captured on aarch64" in e.message
               and "--platform linux/arm64" in e.message for e in events)


def test_bad_pull_and_platform_values_are_usage_errors() -> None:
    with pytest.raises(InputError, match="--pull must be one of missing, always, never"):
        Options(pull="sometimes")
    with pytest.raises(InputError, match="--platform must be one of"):
        Options(platform="windows/amd64")
    assert main(["build", "x.ipynb", "--pull", "sometimes"]) == 2


def test_a_bundle_is_rebuilt_from_its_pinned_base(notebook: Path, tmp_path: Path) -> None:
    engine = _engine(registry={EXACT: {}})
    out = pipeline.export(notebook, tmp_path / "bundle", spec=_spec(notebook), engine=engine)
    digest = engine.manifest_digest(EXACT)
    bundled = load_bundle(out)
    # The pin is in the bundle's spec, so the bundle digest covers it.
    assert bundled.spec.base_image == f"{EXACT}@{digest}"
    assert bundle_digest(bundled.spec) != bundle_digest(_spec(notebook))
    assert builds_from(f"{EXACT}@{digest}", (out / "Dockerfile").read_text())
    # Elsewhere the tag has moved on; the bundle still builds on the recorded bytes.
    elsewhere = _engine(registry={EXACT: {}})
    elsewhere.images[EXACT] = FakeEngine(images={"newer": {}}).images["newer"]
    built = pipeline.build(out, engine=elsewhere)
    assert elsewhere.pulls == [f"{EXACT}@{digest}"]
    assert builds_from(f"{EXACT}@{digest}", elsewhere.builds[-1].dockerfile)
    assert built.base is not None and built.base.digest == digest


def test_ensure_base_returns_the_measured_python() -> None:
    engine = _engine(python="3.11.2", registry={EXACT: {}})
    events: List[Event] = []
    base = ensure_base(engine, SPEC, on_event=events.append)
    assert base.python == "3.11.2" and base.pinned.startswith(EXACT + "@sha256:")
    assert [e.data.get("difference") for e in events if e.kind == "warning"] == ["patch differs"]


def test_os_package_versions_read_from_the_host_pin_only_on_a_base_of_that_release(
        notebook: Path) -> None:
    from nbdocker.spec import SystemPackage

    spec = _spec(notebook).with_changes(apt_packages=(
        SystemPackage("graphviz", "2.42.2-7+b3", distribution="debian:bookworm"),
        SystemPackage("units", "2.22-1")))                    # written by the user: kept
    cases = (("3.11.7 debian:bookworm", "graphviz=2.42.2-7+b3"),
             ("3.11.7 debian:trixie", "graphviz units"),
             ("3.11.7", "graphviz units"))                  # no os-release: unknown
    for number, (answer, graphviz) in enumerate(cases):
        events: List[Event] = []
        base = f"base:{number}"   # another image id each time: the probe is cached by id
        engine = _engine(answer, images={base: {}})
        pipeline.build(notebook, spec=spec, engine=engine, base_image=base,
                       on_event=events.append)
        (apt,) = [line for line in engine.builds[-1].dockerfile.splitlines()
                  if "apt-get install" in line]
        assert graphviz in apt and "units=2.22-1" in apt, (answer, apt)
        warned = [e.message for e in events if e.kind == "warning" and "unpinned" in e.message]
        assert bool(warned) == (graphviz == "graphviz units"), (answer, warned)
        if warned:
            assert "graphviz 2.42.2-7+b3 (debian:bookworm)" in warned[0]
