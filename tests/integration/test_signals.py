"""Issue 14.4: SIGTERM and SIGHUP handled like Ctrl-C. A real ``nbdocker`` process on
the real engine gets each signal in each long phase — build, run, ``--save``,
``export`` — and must exit 143 / 129 leaving no container, temporary file or folder."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import nbformat
import pytest

pytestmark = pytest.mark.engine

RUN = uuid.uuid4().hex[:10]
SIGNALS = {"SIGTERM": (signal.SIGTERM, 143), "SIGHUP": (signal.SIGHUP, 129)}
BIG = 3   # data files of 40 MiB: --save and export take long enough to be caught mid-way


def _notebook(directory: Path, code: str, data: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(data):
        (directory / f"blob{i}.bin").write_bytes(os.urandom(40 << 20))
    reads = "".join(f"open('blob{i}.bin', 'rb').close()\n" for i in range(data))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(reads + code)])
    nbformat.write(nb, directory / "nb.ipynb")
    return directory / "nb.ipynb"


class Nbdocker:
    """``nbdocker ARGS`` as a subprocess, its stderr collected line by line."""

    def __init__(self, args: List[str], tmp: Path) -> None:
        self.tmpdir = tmp / "tmpdir"
        self.tmpdir.mkdir(exist_ok=True)
        env = {**os.environ, "TMPDIR": str(self.tmpdir), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "nbdocker.frontends.cli", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=env, cwd=tmp)
        self.lines: List[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, ready: Callable[[], bool], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"nbdocker ended ({self.proc.returncode}) before the phase: "
                            + "\n".join(self.lines[-20:]))
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("the phase never came: " + "\n".join(self.lines[-20:]))
            time.sleep(0.002)

    def signal(self, signum: int) -> int:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=120)
        self._reader.join(timeout=10)
        return code


def _containers(engine: Any) -> List[str]:
    return sorted(engine.list_containers())


def _settled(engine: Any, before: List[str], timeout: float = 30) -> List[str]:
    """Containers not in ``before``, after giving the daemon a moment to remove a
    cancelled build's step container."""
    deadline = time.monotonic() + timeout
    while True:
        extra = sorted(set(_containers(engine)) - set(before))
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.5)


@pytest.fixture(scope="module")
def big_image(engine: Any, base_image: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Dict[str, Any]]:
    """A notebook that sleeps, with 120 MiB of data, and its built image."""
    from nbdocker import pipeline

    directory = tmp_path_factory.mktemp("signals-src")
    notebook = _notebook(directory, "import time\ntime.sleep(600)\n", data=BIG)
    built = pipeline.build(notebook, python=sys.executable, base_image=base_image,
                           engine=engine)
    yield {"notebook": notebook, "tag": built.tag}
    engine.remove_image(built.tag)


@pytest.fixture
def fresh_base(engine: Any, base_image: str) -> Iterator[str]:
    """A base image no build has used yet, so a build's steps are not cached."""
    container = engine.client.containers.create(base_image, command=["true"])
    try:
        image = container.commit(repository="nbdocker-itest/fresh-base", tag=uuid.uuid4().hex[:12])
    finally:
        container.remove(force=True)
    ref = image.tags[0]
    yield ref
    engine.remove_image(ref)


def _check_clean(code: int, expected: int, proc: Nbdocker, folder: Path,
                 allowed: List[str]) -> None:
    assert code == expected, "\n".join(proc.lines[-20:])
    assert proc.lines and proc.lines[-1].startswith("nbdocker: ") \
        and "interrupted (SIG" in proc.lines[-1], proc.lines[-3:]
    assert sorted(p.name for p in folder.iterdir()) == sorted(allowed)
    assert list(proc.tmpdir.iterdir()) == []


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_signal_during_build(name: str, engine: Any, fresh_base: str, tmp_path: Path) -> None:
    signum, expected = SIGNALS[name]
    work = tmp_path / "w"
    notebook = _notebook(work, "print(1)")
    before = _containers(engine)
    proc = Nbdocker(["build", str(notebook), "--base-image", fresh_base, "--python",
                     sys.executable, "--tag", f"nbdocker-itest/sig-build:{RUN}"], tmp_path)
    # The install step (a Dockerfile RUN, or the install container when this host
    # forwards a CA) downloads from an index: long enough to be cut in the middle.
    proc.wait_for(lambda: any("RUN set -e" in line for line in proc.lines))
    time.sleep(1.0)
    code = proc.signal(signum)
    _check_clean(code, expected, proc, work, ["nb.ipynb"])
    assert _settled(engine, before) == []
    assert engine.image_id(f"nbdocker-itest/sig-build:{RUN}") is None


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_signal_during_run(name: str, engine: Any, big_image: Dict[str, Any],
                           tmp_path: Path) -> None:
    signum, expected = SIGNALS[name]
    out = tmp_path / "out"
    out.mkdir()
    proc = Nbdocker(["run", str(big_image["notebook"]), "--image", big_image["tag"],
                     "--output", str(out / "ran.ipynb")], tmp_path)
    proc.wait_for(lambda: any("cell 0" in line for line in proc.lines))
    code = proc.signal(signum)
    _check_clean(code, expected, proc, out, [])
    ours = engine.client.containers.list(all=True, filters={"ancestor": big_image["tag"]})
    assert ours == []


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_signal_during_save(name: str, engine: Any, big_image: Dict[str, Any],
                            base_image: str, tmp_path: Path) -> None:
    signum, expected = SIGNALS[name]
    out = tmp_path / "out"
    out.mkdir()
    proc = Nbdocker(["build", str(big_image["notebook"]), "--base-image", base_image,
                     "--python", sys.executable, "--save", str(out / "image.tar")], tmp_path)
    proc.wait_for(lambda: any(p.name.startswith(".image.tar.") for p in out.iterdir()))
    code = proc.signal(signum)
    _check_clean(code, expected, proc, out, [])


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_signal_during_export(name: str, big_image: Dict[str, Any], tmp_path: Path) -> None:
    signum, expected = SIGNALS[name]
    out = tmp_path / "out"
    out.mkdir()
    proc = Nbdocker(["export", str(big_image["notebook"]), "--python", sys.executable,
                     "--to", str(out / "share")], tmp_path)
    proc.wait_for(lambda: any(p.name.startswith(".share.") for p in out.iterdir()))
    code = proc.signal(signum)
    _check_clean(code, expected, proc, out, [])
