"""DockerEngine.run(): files in and out through the archive API, logs, limits, cleanup."""
from __future__ import annotations

from typing import List

import pytest

from nbdocker.engine.base import ContainerLimits
from nbdocker.engine.docker import DockerEngine
from nbdocker.exceptions import ImageNotFound, RegistryError

pytestmark = pytest.mark.engine


@pytest.fixture()
def no_leaks(engine: DockerEngine):
    """Fails the test when it leaves a container behind."""
    before = set(engine.list_containers())
    yield
    assert set(engine.list_containers()) == before


def test_files_in_command_files_out(engine: DockerEngine, base_image: str, no_leaks: None) -> None:
    lines: List[str] = []
    result = engine.run(
        base_image,
        ["sh", "-c", "cat in/a.txt; tr a-z A-Z < in/a.txt > out.txt; echo to-stderr >&2; exit 3"],
        files_in={"in/a.txt": b"hello\nworld\n"}, workdir="/tmp/work",
        files_out=["out.txt", "absent.txt"], on_line=lines.append)
    assert result.exit_code == 3
    assert result.files == {"out.txt": b"HELLO\nWORLD\n"}
    # stdout keeps its order; how it interleaves with stderr is up to the engine.
    assert [line for line in lines if line != "to-stderr"] == ["hello", "world"]
    assert lines.count("to-stderr") == 1 and result.logs == tuple(lines)
    assert not result.timed_out and not result.oom_killed


def test_timeout_stops_and_removes_the_container(engine: DockerEngine, base_image: str,
                                                 no_leaks: None) -> None:
    result = engine.run(base_image, ["sh", "-c", "echo started; sleep 60; echo never"],
                        limits=ContainerLimits(timeout=1.5), workdir="/tmp")
    assert result.timed_out and result.exit_code != 0
    assert result.logs == ("started",)


def test_network_none_and_user_are_applied(engine: DockerEngine, base_image: str,
                                           no_leaks: None) -> None:
    result = engine.run(base_image, ["sh", "-c", "id -u; ls /sys/class/net"], workdir="/tmp",
                        limits=ContainerLimits(network="none", user="4242", memory="256m",
                                               cpus=0.5))
    assert result.exit_code == 0
    assert result.logs == ("4242", "lo")


def test_memory_limit_kill_is_reported_as_oom(engine: DockerEngine, base_image: str,
                                              no_leaks: None) -> None:
    result = engine.run(base_image, ["python3", "-c", "x = bytearray(400 * 1024 * 1024)"],
                        workdir="/tmp", limits=ContainerLimits(memory="64m"))
    assert result.oom_killed and result.exit_code == 137


def test_ctrl_c_while_streaming_removes_the_container_and_propagates(
        engine: DockerEngine, base_image: str, no_leaks: None) -> None:
    def interrupt(line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.run(base_image, ["sh", "-c", "echo go; sleep 60"], workdir="/tmp",
                   on_line=interrupt)


def test_missing_image_is_image_not_found(engine: DockerEngine, no_leaks: None) -> None:
    with pytest.raises(ImageNotFound):
        engine.run("nbdocker-itest/does-not-exist:0", ["true"])
    assert engine.image_id("nbdocker-itest/does-not-exist:0") is None
    engine.remove_image("nbdocker-itest/does-not-exist:0")      # no error when absent


def test_push_to_unreachable_registry_is_a_registry_error(engine: DockerEngine,
                                                          base_image: str) -> None:
    ref = "127.0.0.1:1/nbdocker-itest/push:1"
    engine.tag_image(base_image, ref)
    try:
        with pytest.raises(RegistryError) as caught:
            engine.push(ref)
    finally:
        engine.remove_image(ref)
    assert str(caught.value).startswith(f"push of {ref} failed: ")
    assert caught.value.exit_code == 3
    assert engine.image_id(base_image) is not None          # the base image is kept


def test_quiet_commands_outlive_the_client_timeout(base_image: str, no_leaks: None) -> None:
    # A notebook cell may compute silently for longer than the API client's timeout.
    quick = DockerEngine.from_env(timeout=2)
    result = quick.run(base_image, ["sh", "-c", "echo a; sleep 4; echo b"], workdir="/tmp")
    assert (result.exit_code, result.logs) == (0, ("a", "b"))
