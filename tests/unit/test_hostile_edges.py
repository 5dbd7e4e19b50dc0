"""Issue 14.5 and 14.7: output read in bounded memory, and the input edges — notebooks
named like options, JSON nested 100k deep, tarballs that would re-point a tag, pushes
that would echo credentials, an engine that never answers, a ``--python`` that hangs,
``--disk``. Timings live in benchmarks/hostile.py, not here."""
from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator, List

import nbformat
import pytest

from nbdocker import pipeline
from nbdocker.engine.base import ContainerLimits
from nbdocker.engine.fake import FakeEngine
from nbdocker.exceptions import CaptureError, EngineUnavailable, InputError
from nbdocker.frontends.cli import main
from nbdocker.stages.share import registry


# -- 14.5: output reading ----------------------------------------------------------------

def test_a_line_without_newline_is_kept_to_the_cap_and_says_so() -> None:
    from nbdocker.engine.docker import MAX_LINE, _lines

    chunks = (b"x" * 65536 for _ in range(160))           # 10 MiB, no newline
    lines = list(_lines(chunks))
    assert len(lines) == 1 and lines[0].startswith("x" * MAX_LINE)
    assert lines[0].endswith(f"[... {10 * 2**20 - MAX_LINE} more bytes of this line not kept]")


def test_lines_split_across_chunks_are_joined_and_short_lines_untouched() -> None:
    from nbdocker.engine.docker import _lines

    chunks = [b"a", b"b\nc", b"d\r\n", b"", b"\xc3", b"\xa9\ntail"]
    assert list(_lines(chunks)) == ["ab", "cd", "\u00e9", "tail"]
    assert list(_lines([b"3.11.2\n"])) == ["3.11.2"] and list(_lines([b"\n\n"])) == ["", ""]


def test_the_runner_caps_what_an_event_line_carries(capsys: pytest.CaptureFixture[str]) -> None:
    from nbdocker.stages.run.runner import _emit

    _emit("error", kind="cell", evalue="E" * 1_000_000)
    line = capsys.readouterr().out
    assert len(line) < 3000 and json.loads(line.split(" ", 1)[1])["evalue"].endswith("...")


# -- 14.7: a notebook named like an option -------------------------------------------------

def test_a_notebook_named_dash_x_runs(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nbformat.write(nb, tmp_path / "-x.ipynb")
    engine = FakeEngine(images={"img:1": {}}, execute_locally=True)
    outcome = pipeline.run(tmp_path / "-x.ipynb", image="img:1", engine=engine,
                           output=str(tmp_path / "out.ipynb"))
    assert outcome.ok and "42" in str(outcome.notebook.cells[0].outputs)


# -- 14.7: JSON nested 100k deep -----------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deep_notebook_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "deep.ipynb").write_text('{"nbformat": 4, "cells": ' + DEEP + "}")
    assert main(["capture", str(tmp_path / "deep.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "nested more than 100 levels" in err and "RecursionError" not in err
    nested = '{"a": ' * 150 + "1" + "}" * 150       # deep enough to hurt, not for json
    (tmp_path / "deep2.ipynb").write_text(
        '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": '
        '"code", "source": "", "metadata": {}, "outputs": [{"output_type": "execute_result",'
        ' "data": {"application/json": ' + nested + '}, "metadata": {}}]}]}')
    assert main(["capture", str(tmp_path / "deep2.ipynb")]) == 2
    assert "nested more than 100 levels" in capsys.readouterr().err


def test_a_deep_spec_and_deep_parameters_are_one_line(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nbdocker-spec.json").write_text(DEEP)
    assert main(["verify", "--bundle", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert "nested more than 100 levels" in err and len(err.strip().splitlines()) == 1
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert main(["run", str(tmp_path / "a.ipynb"), "-y", "a: " + "[" * 100_000, "-q"]) == 2
    err = capsys.readouterr().err
    assert "nested more than 100 levels" in err and "RecursionError" not in err
    with pytest.raises(InputError, match="nested more than"):
        loop: List[Any] = []
        loop.append(loop)
        pipeline.Options(parameters={"x": loop})


# -- 14.7: --image-tar never re-points a tag ------------------------------------------------

def test_a_tarball_naming_an_existing_tag_is_refused_and_loads_nothing(tmp_path: Path) -> None:
    other = FakeEngine(images={"python:3.11-slim": {"io.nbdocker.notebook": "x.ipynb"}})
    tar = tmp_path / "hijack.tar"
    other.save_image("python:3.11-slim", str(tar))     # a different image under that tag
    here = FakeEngine(images={"python:3.11-slim": {}})
    before = here.image_id("python:3.11-slim")
    here.images["python:3.11-slim"].image_id = "sha256:" + "1" * 64
    with pytest.raises(InputError, match="would re-point python:3.11-slim"):
        registry.load_image_tar(here, tar)
    assert here.image_id("python:3.11-slim") == "sha256:" + "1" * 64 != before


def test_a_failed_load_removes_what_it_added(tmp_path: Path) -> None:
    source = FakeEngine(images={"nbdocker/a:1": {}})
    tar = tmp_path / "a.tar"
    source.save_image("nbdocker/a:1", str(tar))

    class Half(FakeEngine):
        def load_image(self, path: str) -> List[str]:
            super().load_image(path)
            raise InputError("the engine gave up half-way")

    engine = Half(images={"kept:1": {}})
    with pytest.raises(InputError, match="half-way"):
        registry.load_image_tar(engine, tar)
    assert engine.image_id("nbdocker/a:1") is None and engine.image_id("kept:1") is not None


# -- 14.7: credentials never echoed --------------------------------------------------------

def test_a_push_ref_with_credentials_is_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", "img:1", "alice:hunter2@registry.example.com:5000/team/x"]) == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err and "alice" not in err and "***@" in err
    assert main(["build", "x.ipynb", "--push", "https://alice:hunter2@registry/x"]) == 2
    assert "hunter2" not in capsys.readouterr().err


def test_engine_errors_are_redacted_on_every_path() -> None:
    import docker.errors
    import requests

    from nbdocker.engine.docker import DockerEngine
    from nbdocker.exceptions import EngineError, RegistryError

    class Api:
        def push(self, *a: Any, **k: Any) -> Any:
            raise requests.exceptions.HTTPError("Get https://alice:hunter2@reg:5000/v2/: 401")

    class Client:
        api = Api()

    engine = DockerEngine(Client())  # type: ignore[arg-type]
    with pytest.raises(RegistryError) as err:
        engine.push("reg:5000/x:1")
    assert "hunter2" not in str(err.value)

    def denied() -> None:
        raise docker.errors.APIError("denied", explanation="alice:hunter2@reg:5000/x denied")

    with pytest.raises(EngineError) as err2:
        engine._call("push", denied)
    assert "hunter2" not in str(err2.value)


# -- 14.7: an engine that accepts and never answers -----------------------------------------

@pytest.fixture
def silent_socket() -> Iterator[str]:
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "silent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(8)
    accepted: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])   # and never answer
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"unix://{path}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_silent_engine_is_reported_after_a_bounded_wait(
        silent_socket: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from nbdocker.engine.docker import DockerEngine

    monkeypatch.setenv("DOCKER_HOST", silent_socket)
    monkeypatch.setenv("NBDOCKER_ENGINE_TIMEOUT", "2")
    with pytest.raises(EngineUnavailable, match="accepted the connection but did not answer "
                                                "within 2 s"):
        DockerEngine.from_env()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert main(["run", str(tmp_path / "a.ipynb"), "--image", "x:1", "-q"]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "within 2 s" in err
    monkeypatch.setenv("NBDOCKER_ENGINE_TIMEOUT", "soon")
    assert main(["run", str(tmp_path / "a.ipynb"), "--image", "x:1", "-q"]) == 2


# -- 14.7: a --python that hangs -------------------------------------------------------------

def test_a_hanging_python_is_stopped_with_one_line_and_no_orphan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbdocker.stages.capture import interpreter

    pidfile = tmp_path / "child.pid"
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\nwait\n")
    fake.chmod(0o755)
    monkeypatch.setattr(interpreter, "_PROBE_TIMEOUT", 1.0)
    with pytest.raises(CaptureError) as err:
        interpreter.query_interpreter(str(fake), use_cache=False)
    message = str(err.value)
    assert "did not answer within 1 s" in message and "\n" not in message
    assert len(message) < 300 and "import" not in message       # not the probe's source
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        # a zombie reaped by init may linger for a moment
        if Path(f"/proc/{child}/stat").exists() and \
                Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the --python's child outlived nbdocker")


# -- 14.7: option edges left after options.py -------------------------------------------------

@pytest.mark.parametrize("argv,needle", [
    (["--memory", "1k"], "at least 6m"), (["--disk", "lots"], "--disk"),
    (["--env", "A B"], "--env takes a variable name"),
    (["--expect-digest", "md5:x"], "--expect-digest"),
])
def test_usage_errors_are_one_line_exit_2(argv: List[str], needle: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "a.ipynb"), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_limits_the_engine_cannot_apply_are_refused_before_a_build() -> None:
    from nbdocker.engine.docker import DockerEngine

    class Client:
        def info(self) -> Any:
            return {"NCPU": 2, "Driver": "overlay2",
                    "DriverStatus": [["Backing Filesystem", "extfs"]]}

    engine = DockerEngine(Client())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="overlay2 on extfs"):
        engine.check_limits(ContainerLimits(disk="1g"))
    with pytest.raises(InputError, match="more than the engine's 2 CPUs"):
        engine.check_limits(ContainerLimits(cpus=8))
    engine.check_limits(ContainerLimits(cpus=1.5))
    Client.info = lambda self: {"NCPU": 2, "Driver": "btrfs"}  # type: ignore[method-assign]
    engine.check_limits(ContainerLimits(disk="1g"))
