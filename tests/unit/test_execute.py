"""Host-side run logic (execute.py) against the FakeEngine: locally executed runner or
scripted container results. No Docker needed."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, List, Mapping, Sequence

import nbformat
import pytest

from nbdocker.engine.base import ContainerLimits, ContainerResult
from nbdocker.engine.fake import FakeEngine
from nbdocker.events import Event, Phase
from nbdocker.exceptions import (CellExecutionError, InputError, KernelDied, NotebookError,
                                 RunError, RunInterrupted, RunTimeout)
from nbdocker.stages.run.execute import default_output_path, resolve_output_path, run_in_container
from nbdocker.contract import EVENT_PREFIX, EXIT_KERNEL_DIED

pytest.importorskip("nbclient")

FIXTURES = Path(__file__).resolve().parent.parent / "notebooks" / "run"
IMAGE = "nbdocker/test:1"


@pytest.fixture
def local() -> FakeEngine:
    return FakeEngine(images={IMAGE: {"io.nbdocker.notebook": "params.ipynb"}},
                      execute_locally=True)


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


def test_run_writes_beside_the_notebook_and_streams_progress(local: FakeEngine,
                                                             tmp_path: Path) -> None:
    nb_path = copy("params.ipynb", tmp_path)
    before = nb_path.read_bytes()
    events: List[Event] = []
    outcome = run_in_container(local, IMAGE, nb_path, parameters={"x": 5, "name": "p"},
                               on_event=events.append)
    assert outcome.ok and outcome.output == tmp_path / "params.nbdocker.ipynb"
    written = nbformat.read(str(outcome.output), as_version=4)
    assert written.cells[3].outputs[0]["text"] == "hello p 10\n"
    assert nb_path.read_bytes() == before
    progress = [e for e in events if e.phase is Phase.RUN and e.kind == "progress"
                and e.step]
    assert [e.step for e in progress] == [1, 2, 3, 4] and progress[-1].total == 4
    assert [e.data.get("cell") for e in progress] == [1, None, 2, 3]
    assert events[-1].kind == "done" and events[-1].message == "ok"
    assert not any(e.kind == "log" and e.message.startswith(EVENT_PREFIX) for e in events)
    assert outcome.to_dict()["status"] == "ok"


def test_failing_cell_raises_with_index_error_and_source(local: FakeEngine,
                                                         tmp_path: Path) -> None:
    nb_path = copy("failing.ipynb", tmp_path)
    with pytest.raises(CellExecutionError) as info:
        run_in_container(local, IMAGE, nb_path)
    err = info.value
    assert (err.cell_index, err.ename, err.evalue) == (2, "ValueError", "boom")
    assert "cell 2 raised ValueError: boom" in str(err)
    assert "raise ValueError('boom')" in str(err) and err.exit_code == 1
    partial = nbformat.read(str(default_output_path(nb_path)), as_version=4)
    assert partial.cells[2].outputs[-1]["ename"] == "ValueError"


def test_allow_errors_returns_the_failed_cells(local: FakeEngine, tmp_path: Path) -> None:
    outcome = run_in_container(local, IMAGE, copy("failing.ipynb", tmp_path), allow_errors=True)
    assert outcome.ok
    assert [(e.index, e.ename, e.evalue) for e in outcome.errors] == [(2, "ValueError", "boom")]


def test_cell_timeout_message(local: FakeEngine, tmp_path: Path) -> None:
    with pytest.raises(RunTimeout, match=r"cell 1 exceeded the 1 s cell timeout; the container "
                                         r"was stopped and removed"):
        run_in_container(local, IMAGE, copy("sleeping.ipynb", tmp_path), cell_timeout=1)


def test_total_timeout_message_and_engine_backstop(local: FakeEngine, tmp_path: Path) -> None:
    with pytest.raises(RunTimeout, match=r"the run exceeded its 3.5 s timeout"):
        run_in_container(local, IMAGE, copy("slow_cells.ipynb", tmp_path),
                         limits=ContainerLimits(timeout=3.5))
    run = local.runs[-1]
    assert run.limits.timeout is not None and run.limits.timeout > 3.5
    assert run.command[run.command.index("--timeout") + 1] == "3.5"


def test_engine_stopping_the_container_is_a_timeout(tmp_path: Path) -> None:
    fake = FakeEngine(images={IMAGE: {}}, run_results=[ContainerResult(137, timed_out=True)])
    with pytest.raises(RunTimeout, match="the run exceeded its 30 s timeout; the container "
                                         "was stopped and removed"):
        run_in_container(fake, IMAGE, copy("params.ipynb", tmp_path),
                         limits=ContainerLimits(timeout=30))


def test_dead_kernel_locally(local: FakeEngine, tmp_path: Path) -> None:
    with pytest.raises(KernelDied, match="the kernel died in cell 0"):
        run_in_container(local, IMAGE, copy("deadkernel.ipynb", tmp_path))


def test_oom_names_the_memory_limit(tmp_path: Path) -> None:
    line = EVENT_PREFIX + '{"event": "error", "kind": "kernel_died", "index": 3}'
    fake = FakeEngine(images={IMAGE: {}}, run_results=[
        ContainerResult(EXIT_KERNEL_DIED, logs=(line,), oom_killed=True)])
    with pytest.raises(KernelDied, match=r"the kernel died in cell 3 — likely killed by the "
                                         r"256m memory limit \(OOM\)"):
        run_in_container(fake, IMAGE, copy("params.ipynb", tmp_path),
                         limits=ContainerLimits(memory="256m"))
    fake = FakeEngine(images={IMAGE: {}}, run_results=[ContainerResult(137, oom_killed=True)])
    with pytest.raises(KernelDied, match="OOM"):
        run_in_container(fake, IMAGE, copy("params.ipynb", tmp_path),
                         limits=ContainerLimits(memory="256m"))


def test_ctrl_c_becomes_run_interrupted(tmp_path: Path) -> None:
    def interrupted(image: str, command: Sequence[str], files: Mapping[str, bytes]) -> Any:
        raise KeyboardInterrupt

    fake = FakeEngine(images={IMAGE: {}}, run_handler=interrupted)
    with pytest.raises(RunInterrupted, match="container was stopped and removed") as info:
        run_in_container(fake, IMAGE, copy("params.ipynb", tmp_path))
    assert info.value.exit_code == 130


def test_unknown_failure_shows_the_log_tail(tmp_path: Path) -> None:
    fake = FakeEngine(images={IMAGE: {}}, run_results=[
        ContainerResult(1, logs=("Traceback (most recent call last):", "ImportError: nbclient"))])
    with pytest.raises(RunError, match="ImportError: nbclient"):
        run_in_container(fake, IMAGE, copy("params.ipynb", tmp_path))


def test_success_without_a_notebook_back_is_an_error(tmp_path: Path) -> None:
    fake = FakeEngine(images={IMAGE: {}}, run_results=[ContainerResult(0)])
    with pytest.raises(RunError, match="no executed notebook"):
        run_in_container(fake, IMAGE, copy("params.ipynb", tmp_path))


def test_output_over_the_input_is_refused_before_running(local: FakeEngine,
                                                         tmp_path: Path) -> None:
    nb_path = copy("params.ipynb", tmp_path)
    with pytest.raises(InputError, match="never overwrites"):
        run_in_container(local, IMAGE, nb_path, output=nb_path)
    with pytest.raises(InputError, match="never overwrites"):
        run_in_container(local, IMAGE, nb_path, output=tmp_path / "." / "params.ipynb")
    assert local.runs == []
    assert resolve_output_path(nb_path, nb_path, force=True) == nb_path
    with pytest.raises(InputError, match=r"\.ipynb"):
        resolve_output_path(nb_path, tmp_path / "out.txt")


def test_bad_notebook_is_refused_before_running(local: FakeEngine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json")
    with pytest.raises(NotebookError):
        run_in_container(local, IMAGE, bad)
    with pytest.raises(InputError, match="too large"):
        run_in_container(local, IMAGE, copy("params.ipynb", tmp_path),
                         parameters={"x": "a" * 200_000})
    assert local.runs == []


def test_image_only_runs_the_notebook_named_by_its_label(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seen: List[Sequence[str]] = []

    def handler(image: str, command: Sequence[str], files: Mapping[str, bytes]) -> Any:
        seen.append(command)
        assert files == {}
        nb = nbformat.v4.new_notebook()
        return ContainerResult(0, files={".nbdocker-output.ipynb": nbformat.writes(nb).encode()})

    monkeypatch.chdir(tmp_path)
    fake = FakeEngine(images={IMAGE: {"io.nbdocker.notebook": "sub/analysis.ipynb"}},
                      run_handler=handler)
    outcome = run_in_container(fake, IMAGE, None, parameters={"n": 1})
    # the notebook runs where the image keeps it (its folder below the work directory)
    assert list(seen[0][-3:-1]) == ["--", "sub/analysis.ipynb"] and "--parameters-json" in seen[0]
    assert outcome.output == tmp_path / "analysis.nbdocker.ipynb"
    assert (tmp_path / "analysis.nbdocker.ipynb").is_file()
    unlabelled = FakeEngine(images={IMAGE: {}}, run_handler=handler)
    with pytest.raises(InputError, match="give the NOTEBOOK"):
        run_in_container(unlabelled, IMAGE, None)
