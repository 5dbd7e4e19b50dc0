"""A real, throw-away container registry on loopback for push/pull tests.

Debian's ``docker-registry`` (the CNCF distribution registry) serves a temporary
filesystem storage root on ``127.0.0.1:<free port>``; Docker engines talk plain HTTP to
127.0.0.0/8 without extra configuration. When the binary is missing and we run as root
on Debian, it is installed with apt-get; otherwise the test is skipped (failed under CI).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from _env import must_not_skip
from typing import Iterator, Optional

import pytest

__all__ = ["docker_registry", "free_port"]

_BINARY = "docker-registry"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_binary() -> str:
    found = shutil.which(_BINARY)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get") and Path("/etc/debian_version").exists():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", _BINARY]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
        found = shutil.which(_BINARY)
        if found:
            return found
    reason = f"{_BINARY} is not installed (apt-get install -y {_BINARY})"
    if must_not_skip():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
    raise AssertionError("unreachable")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def docker_registry(root: Path, startup_timeout: float = 30.0) -> Iterator[str]:
    """Serve a registry with storage under ``root``; yields ``127.0.0.1:<port>`` and
    stops the process (and only it) afterwards."""
    binary = _ensure_binary()
    port = free_port()
    storage = root / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n", encoding="utf-8")
    log = open(root / "registry.log", "wb")
    proc: Optional[subprocess.Popen] = None
    try:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + startup_timeout
        while not _ready(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                text = (root / "registry.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"{_BINARY} did not start on 127.0.0.1:{port}:\n{text}",
                            pytrace=False)
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
