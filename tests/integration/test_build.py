"""Real builds through the Docker Engine API (classic builder), as nbdocker builds them
(:func:`nbdocker.stages.image.build_image`, with this machine's CA: a builder stage)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from nbdocker.stages.image.base import check_base_python, probe_base
from nbdocker.stages.image import discover_build_options
from nbdocker.engine.docker import DockerEngine
from nbdocker.events import Event
from nbdocker.exceptions import BuildError, EngineUnavailable
from nbdocker.spec import EnvironmentSpec, PythonInfo, Requirement

from _build_helpers import PINS, build, make_spec, write_notebook

pytestmark = pytest.mark.engine

TAG = "nbdocker-itest/build"


@pytest.fixture(scope="module")
def built(engine: DockerEngine, base_image: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[EnvironmentSpec, Path, str]]:
    notebook = write_notebook(tmp_path_factory.mktemp("nb"), "# First title")
    spec = make_spec(notebook)
    tag = f"{TAG}:{spec.content_hash()[:12]}"
    build(engine, spec, notebook.parent, base_image, tag)
    yield spec, notebook, tag
    engine.remove_image(tag)


def _python(engine: DockerEngine, tag: str, code: str) -> List[str]:
    result = engine.run(tag, ["python", "-c", code])
    assert result.exit_code == 0, result.logs
    return list(result.logs)


def test_installed_versions_equal_the_pins(engine: DockerEngine, built: tuple) -> None:
    _, _, tag = built
    code = ("import importlib.metadata as m; "
            f"print(' '.join(n + '==' + m.version(n) for n in {[n for n, _ in PINS]!r}))")
    assert _python(engine, tag, code) == [" ".join(f"{n}=={v}" for n, v in PINS)]


def test_the_packages_import_from_the_venv_as_a_non_root_user(engine: DockerEngine,
                                                              built: tuple) -> None:
    _, _, tag = built
    assert _python(engine, tag, "import six, attrs, tabulate, sys, os; "
                                "print(sys.prefix, os.getuid() != 0)") == ["/opt/venv True"]
    result = engine.run(tag, ["id", "-u"])
    assert result.logs == ("1000",)
    # The runner's own needs are there too, and the notebook sits in the work dir.
    assert _python(engine, tag, "import nbclient, ipykernel, os; print(os.listdir('.'))") == \
        ["['demo.ipynb']"]


def test_runner_only_packages_are_absent_pip_is_there_and_bytecode_is_warm(
        engine: DockerEngine, built: tuple) -> None:
    _, _, tag = built
    code = ("import importlib.metadata as m, importlib.util as u, ipykernel.kernelapp as k, os\n"
            "missing = []\n"
            "for name in ('debugpy', 'jedi', 'parso', 'setuptools'):\n"
            "    try: m.version(name)\n"
            "    except m.PackageNotFoundError: missing.append(name)\n"
            "print(missing, os.path.exists(u.cache_from_source(k.__file__)))")
    assert _python(engine, tag, code) == ["['debugpy', 'jedi', 'parso', 'setuptools'] True"]
    pip = engine.run(tag, ["python", "-m", "pip", "--version"])      # `%pip` works in the image
    assert pip.exit_code == 0 and pip.logs[0].startswith("pip "), pip.logs
    # Nothing of the build is left: no uv, no build inputs, no CA, no pip.conf.
    leftovers = engine.run(tag, ["sh", "-c", "ls -d /tmp/nbdocker-* /opt/venv/bin/uv 2>&1; "
                                             "ls /tmp; find / -name pip.conf -o -name "
                                             "ca-bundle.crt 2>/dev/null | grep -v ^/proc"])
    assert all("No such file" in line for line in leftovers.logs), leftovers.logs


def test_labels_name_the_spec(engine: DockerEngine, built: tuple) -> None:
    spec, _, tag = built
    labels = engine.image_labels(tag)
    assert labels["io.nbdocker.spec-hash"] == spec.content_hash()
    assert labels["io.nbdocker.notebook"] == "demo.ipynb"
    assert labels["io.nbdocker.python"] == "3.11.2"
    assert labels["org.opencontainers.image.title"] == "demo"
    assert "io.nbdocker.version" in labels


def test_markdown_edit_rebuilds_only_the_notebook_layer(engine: DockerEngine, base_image: str,
                                                        built: tuple) -> None:
    spec, notebook, tag = built
    write_notebook(notebook.parent, "# A new title")          # markdown-only edit
    edited = make_spec(notebook)
    assert edited.content_hash() != spec.content_hash()
    new_tag = f"{TAG}:{edited.content_hash()[:12]}"
    events: List[Event] = []
    try:
        result = build(engine, edited, notebook.parent, base_image, new_tag,
                       on_event=events.append)
    finally:
        engine.remove_image(new_tag)
    progress = [e for e in events if e.kind == "progress"]
    assert [e.step for e in progress] == list(range(1, progress[0].total + 1))
    notebook_step = next(e.step for e in progress if "notebook/" in e.data["instruction"])
    before = [e for e in progress if e.step < notebook_step]
    assert before and all(e.data["cached"] for e in before), \
        [e.data["instruction"] for e in before if not e.data["cached"]]
    assert progress[notebook_step - 1].data["cached"] is False
    assert [s.cached for s in result.steps] == [e.data["cached"] for e in progress]


def test_unknown_pin_is_a_build_error_naming_step_requirement_and_reason(
        engine: DockerEngine, base_image: str, tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path, "# broken", code="import nonexistent_pkg")
    spec = make_spec(notebook, pins=[("nonexistent-pkg", "0.0.1"), ("six", "1.16.0")])
    options = discover_build_options()
    containers = set(engine.list_containers())
    events: List[Event] = []
    with pytest.raises(BuildError) as caught:
        build(engine, spec, notebook.parent, base_image, "nbdocker-itest/broken:1",
              options=options, on_event=events.append)
    err = caught.value
    install = [e for e in events if e.kind == "progress"][-1]   # the step that failed
    assert install.data["instruction"].startswith("RUN set -e;")
    assert str(err).startswith(f"build failed at step {install.step}/{install.total} (RUN set -e;")
    assert str(err).endswith("): pip could not install nonexistent-pkg==0.0.1: no matching "
                             "distribution found (from versions: none)"), str(err)
    assert " ".join((err.step or "").split()) == install.data["instruction"]
    assert err.exit_code == 3
    assert any("nonexistent-pkg" in line for line in err.log_tail)
    assert set(engine.list_containers()) == containers        # build containers removed
    assert engine.image_id("nbdocker-itest/broken:1") is None


@pytest.mark.parametrize("host, why", [("tcp://127.0.0.1:9", "connection refused"),
                                       ("unix:///nonexistent.sock", "no such socket")])
def test_unreachable_engine_is_one_line_naming_docker_host(monkeypatch: pytest.MonkeyPatch,
                                                           host: str, why: str) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(EngineUnavailable) as caught:
        DockerEngine.from_env(timeout=5)
    assert str(caught.value) == (
        f"no Docker engine answers at DOCKER_HOST={host} ({why}): is dockerd running? "
        "try `sudo systemctl start docker` or set DOCKER_HOST")
    assert caught.value.exit_code == 3


def test_base_python_is_probed_cached_and_checked(engine: DockerEngine, base_image: str,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path))
    cache = tmp_path / "base-probe.json"
    spec = EnvironmentSpec(notebook="x.ipynb", python=PythonInfo("3.11.9"))
    events: List[Event] = []
    found = check_base_python(engine, base_image, spec, events.append)
    assert found.startswith("3.") and cache.is_file()
    assert engine.image_id(base_image) in cache.read_text()
    # The same probe names the base's release (whether host-read apt pins apply).
    version, release = probe_base(engine, base_image)
    assert version == found and release is not None and release.startswith("debian:"), release
    # Any difference warns, patch included (no base here has 3.11.9).
    assert [e.kind for e in events] == ["warning"]
    assert f"image Python {found}, notebook 3.11.9" in events[0].message
    other = spec.with_changes(python=PythonInfo("2.7.18"),
                              requirements=(Requirement("six", "1.16.0"),))
    events.clear()
    assert check_base_python(engine, base_image, other, events.append) == found
    assert [e.kind for e in events] == ["warning"] and "2.7.18" in events[0].message
