"""Sweeps with the shipped FakeEngine running each container's command as a local process
(the real runner, a real kernel), plus the runner's --collect and task mode directly.
The same paths run on the real engine, Swarm and the Kubernetes stub in
tests/integration/test_sweep_engine.py."""
from __future__ import annotations

import _thread
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nbdocker import contract, pipeline
from nbdocker.engine.fake import FakeEngine
from nbdocker.exceptions import InputError, RunInterrupted
from nbdocker.frontends.cli import main
from nbdocker.stages.run import runner
from nbdocker.stages.run.sweep_task import RunSpec, TaskEnd, TaskStream, run_result
from nbdocker.engine.base import ContainerLimits
from _sweep_notebook import write_notebook  # noqa: E402 (tests/ helper)

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

IMAGE = "nbdocker-test/sweep:fake"
RUNNER = Path(runner.__file__)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(images={IMAGE: {}}, execute_locally=True)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "grid.ipynb")


def rows(out: Path) -> List[Dict[str, Any]]:
    return json.loads((out / "results.json").read_text())["runs"]


def test_every_set_runs_in_its_own_container_with_collected_values(
        notebook: Path, engine: FakeEngine, tmp_path: Path) -> None:
    out = tmp_path / "results"
    original = notebook.read_bytes()
    outcome = pipeline.sweep(notebook, engine=engine, image=IMAGE, out=str(out), jobs=2,
                             sweep_parameters={"a": [1, 3]}, seeds=None,
                             grid={"b": [0, 1]}, collect=["value", "ratio", "nested",
                                                          "ghost"])
    assert outcome.ok and len(outcome.runs) == 4 and notebook.read_bytes() == original
    assert [r.parameters for r in outcome.runs] == [
        {"b": 0, "a": 1}, {"b": 0, "a": 3}, {"b": 1, "a": 1}, {"b": 1, "a": 3}]
    for run in outcome.runs:
        a, b = run.parameters["a"], run.parameters["b"]
        assert run.collected["value"] == a * 10 + b
        assert run.collected["ratio"] == repr(__import__("fractions").Fraction(a, b + 1))
        assert run.collected["nested"] == {"v": [a * 10 + b, None]}
        assert run.collected["ghost"] is None
        assert run.collected_repr == ("ratio",) and run.collected_missing == ("ghost",)
        executed = nbformat.read(str(out / run.notebook), as_version=4)
        nbformat.validate(executed)
        assert executed.cells[1].metadata["tags"] == ["injected-parameters"]
        assert f"b = {b}\na = {a}\n" in executed.cells[1].source
        # the collect cell never reaches the user's copy
        assert len(executed.cells) == 4 and "nbdocker-collect" not in json.dumps(executed)
    assert sorted(p.name for p in out.iterdir()) == [
        "0000-b=0-a=1.ipynb", "0001-b=0-a=3.ipynb", "0002-b=1-a=1.ipynb",
        "0003-b=1-a=3.ipynb", "results.csv", "results.json"]
    csv = (out / "results.csv").read_text().splitlines()
    assert csv[0] == "index,status,seconds,error,notebook,a,b,pause,value,ratio,nested,ghost"
    assert csv[4].startswith("3,ok,") and csv[4].endswith(
        ',0003-b=1-a=3.ipynb,3,1,,31,"Fraction(3, 2)","{""v"": [31, null]}",')
    # one container per set, each with its own payload and the sweep's label
    assert len(engine.runs) == 4
    payloads = [json.loads(r.files_in[contract.SWEEP_PAYLOAD_NAME]) for r in engine.runs]
    assert sorted(p["runs"][0]["index"] for p in payloads) == [0, 1, 2, 3]
    assert len({r.labels[contract.LABEL_SWEEP] for r in engine.runs}) == 1
    assert engine.list_containers() == []


def test_a_failing_set_fails_alone_and_the_cli_lists_it(
        notebook: Path, engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(pipeline, "_default_engine", lambda: engine)
    out = tmp_path / "results"
    code = main(["sweep", str(notebook), "--image", IMAGE, "-p", "a", "1,2", "-p", "b", "0,1",
                 "--collect", "value", "-j", "4", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    doc = json.loads(captured.out)
    assert doc["summary"] == {"total": 4, "ok": 3, "failed": 1, "not_run": 0}
    assert doc["failed"] == [3]
    bad = doc["runs"][3]
    assert bad["status"] == "cell_error" and bad["error"].startswith(
        "cell 2 raised ValueError: bad pair")
    assert bad["collected"] == {"value": None}   # the run stopped before the collect cell
    assert (out / bad["notebook"]).is_file()     # the partial notebook is kept
    assert [r["collected"]["value"] for r in doc["runs"][:3]] == [10, 11, 20]
    assert "1 of 4 runs did not succeed: 3" in captured.err
    assert "warning: run 3 (a=2, b=1) failed: cell 2 raised ValueError" in captured.err


def test_resume_runs_only_what_is_missing(notebook: Path, engine: FakeEngine,
                                          tmp_path: Path) -> None:
    out = tmp_path / "results"
    first = pipeline.sweep(notebook, engine=engine, image=IMAGE, out=str(out),
                           sweep_parameters={"a": [1, 2], "b": [1]})
    assert [r.status for r in first.runs] == ["ok", "cell_error"]
    kept = (out / first.runs[0].notebook).read_bytes()
    with pytest.raises(InputError, match="already holds sweep results: pass --resume"):
        pipeline.sweep(notebook, engine=engine, image=IMAGE, out=str(out),
                       sweep_parameters={"a": [1, 2], "b": [1]})
    before = len(engine.runs)
    events: List[Any] = []
    second = pipeline.sweep(notebook, engine=engine, image=IMAGE, out=str(out), resume=True,
                            sweep_parameters={"a": [1, 2, 4], "b": [1]}, on_event=events.append)
    # index 0 was complete; 1 had failed and 2 is new: two containers, not three
    assert len(engine.runs) - before == 2
    ran = sorted(json.loads(r.files_in[contract.SWEEP_PAYLOAD_NAME])["runs"][0]["index"]
                 for r in engine.runs[before:])
    assert ran == [1, 2]
    assert (out / first.runs[0].notebook).read_bytes() == kept
    assert [r.status for r in second.runs] == ["ok", "cell_error", "ok"]
    assert second.runs[0] == first.runs[0]
    start = next(e for e in events if e.data.get("kept") is not None)
    assert start.data["kept"] == [0] and "2 to run (1 already complete)" in start.message


def test_results_folder_rules(notebook: Path, engine: FakeEngine, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("x")
    with pytest.raises(InputError, match="is not empty and holds no sweep results"):
        pipeline.sweep(notebook, engine=engine, image=IMAGE, out=str(busy),
                       sweep_parameters={"a": [1]})
    other = write_notebook(tmp_path / "other.ipynb")
    pipeline.sweep(other, engine=engine, image=IMAGE, out=str(tmp_path / "r"),
                   sweep_parameters={"a": [1]})
    with pytest.raises(InputError, match="holds a sweep of other.ipynb, not of grid.ipynb"):
        pipeline.sweep(notebook, engine=engine, image=IMAGE, out=str(tmp_path / "r"),
                       resume=True, sweep_parameters={"a": [1]})
    default = pipeline.sweep(notebook, engine=engine, image=IMAGE, sweep_parameters={"a": [1]})
    assert default.out == notebook.parent / "grid.sweep"


def test_usage_errors_come_before_any_engine_work(notebook: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    def no_engine() -> None:
        raise AssertionError("an engine was asked for")

    monkeypatch.setattr(pipeline, "_default_engine", no_engine)
    cases = [
        (["-p", "gamma", "1,2"], "parameter 'gamma' is not set in the parameters cell of "
                                 "grid.ipynb (it sets: a, b, pause)"),
        (["--seeds", "3"], "parameter 'seed' is not set in the parameters cell"),
        (["--grid", str(tmp_path / "none.json")], "--grid"),
        ([], "the sweep has no parameter sets"),
        (["-p", "a", "1", "--backend", "swarm"], "needs --registry HOST/REPO"),
        (["-p", "a", "1", "--emit", str(tmp_path / "e")], "--emit needs --registry"),
    ]
    for args, message in cases:
        assert main(["sweep", str(notebook), *args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (args, err)


def test_ctrl_c_stops_every_container_and_keeps_complete_results(
        tmp_path: Path, engine: FakeEngine) -> None:
    notebook = write_notebook(tmp_path / "slow.ipynb")
    out = tmp_path / "results"

    def interrupt_after_first_result() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (out / "results.json").is_file() and any(r["status"] == "ok"
                                                        for r in rows(out)):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        _thread.interrupt_main()   # what SIGINT does to the CLI's main thread

    threading.Thread(target=interrupt_after_first_result, daemon=True).start()
    with pytest.raises(RunInterrupted, match=r"complete in .*results; every container of "
                                             r"the sweep was stopped and removed"):
        pipeline.sweep(notebook, engine=engine, image=IMAGE, out=str(out), jobs=2,
                       sweep_parameters={"a": [1], "b": [0], "pause": [0, 30, 30, 30]},
                       grid=None)
    assert engine.list_containers() == []
    done = [r for r in rows(out) if r["status"] == "ok"]
    assert done and all(r["status"] in ("ok", "not_run") for r in rows(out))
    for row in done:
        nbformat.validate(nbformat.read(str(out / row["notebook"]), as_version=4))
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


# -- how a task's log becomes a row -------------------------------------------------------

def _task(index: int, parameters: Dict[str, Any], collect: List[str], tmp_path: Path,
          env: Dict[str, str] = {}) -> TaskStream:
    """Run the real runner's task mode on ``notebook`` and feed its stdout to a stream."""
    nb = nbformat.read(str(write_notebook(tmp_path / "t.ipynb")), as_version=4)
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"notebook": "t.ipynb", "source": nb, "collect": collect,
                                   "runs": [{"index": index, "parameters": parameters}]}))
    proc = subprocess.run([sys.executable, str(RUNNER), "--task", str(payload), "--index-env",
                           "SLOT", "--node-env", "NODE"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    stream = TaskStream()
    for line in proc.stdout.splitlines():
        stream.feed(line)
    return stream


def test_task_mode_swarm_slot_zero_and_the_record(tmp_path: Path) -> None:
    # swarmkit renders {{.Task.Slot}} of slot 0 as the node id
    stream = _task(5, {"a": 3}, ["value"], tmp_path, {"SLOT": "node-7x", "NODE": "node-7x"})
    assert stream.complete and stream.record["index"] == 5
    row = run_result(RunSpec(5, {"a": 3}), stream, TaskEnd(exit_code=0), image="img",
                     collect=["value"], limits=ContainerLimits(), cell_timeout=None)
    assert row.ok and row.collected == {"value": 30} and row.seconds is not None
    executed = nbformat.reads(stream.notebook().decode(), as_version=4)
    assert "a = 3" in executed.cells[1].source
    # the payload in the work directory is gone before the notebook runs
    assert not (tmp_path / "payload.json").exists()


def test_a_damaged_or_missing_record_is_a_failed_run(tmp_path: Path) -> None:
    stream = _task(0, {}, [], tmp_path, {"SLOT": "0"})
    first = min(stream.parts)
    stream.parts[first] = stream.parts[first][:-8] + "AAAAAAAA"
    row = run_result(RunSpec(0, {}), stream, TaskEnd(exit_code=0), image="img", collect=[],
                     limits=ContainerLimits(), cell_timeout=None)
    assert row.status == "failed" and row.error == \
        "the executed notebook did not come back intact"

    silent = TaskStream()
    silent.feed("Traceback (most recent call last):")
    silent.feed("MemoryError")
    oom = run_result(RunSpec(1, {"a": 1}), silent, TaskEnd(exit_code=137, oom_killed=True),
                     image="img", collect=["value"], limits=ContainerLimits(memory="64m"),
                     cell_timeout=None)
    assert oom.status == "kernel_died" and "64m memory limit" in oom.error
    assert oom.collected == {"value": None}
    lost = run_result(RunSpec(2, {}), TaskStream(), TaskEnd(message="No such image: x"),
                      image="img", collect=[], limits=ContainerLimits(), cell_timeout=None)
    assert lost.status == "failed" and lost.error == "the task in img failed: No such image: x"
    late = run_result(RunSpec(3, {}), TaskStream(), TaskEnd(exit_code=137, timed_out=True),
                      image="img", collect=[], limits=ContainerLimits(timeout=5),
                      cell_timeout=None)
    assert late.status == "timeout" and "exceeded its 5 s timeout" in late.error


def test_task_mode_refuses_a_bad_payload(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"runs": []}')
    proc = subprocess.run([sys.executable, str(RUNNER), "--task", "p.json", "--index", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == contract.EXIT_INPUT
    assert '"kind": "input"' in proc.stdout and "sweep task" in proc.stdout


def test_collect_reports_json_repr_and_missing(tmp_path: Path) -> None:
    numpy = pytest.importorskip("numpy")
    nb = new_notebook(cells=[new_code_cell(
        "import numpy as np\nf = np.float32(0.5)\narr = np.arange(3)\nbig = 'x' * 70000\n"
        "nan = float('nan')\nclass Odd:\n    def __repr__(self):\n        raise RuntimeError\n"
        "odd = Odd()")], metadata={"kernelspec": {"name": "python3", "language": "python",
                                                  "display_name": "Python 3"}})
    source, output = tmp_path / "c.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, str(source))
    proc = subprocess.run([sys.executable, str(RUNNER), str(source), str(output),
                           *[a for n in ("f", "arr", "big", "nan", "odd", "missing")
                             for a in ("--collect", n)]],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (event,) = [json.loads(line[len(contract.EVENT_PREFIX):]) for line in proc.stdout.splitlines()
                if '"collected"' in line]
    values = event["values"]
    assert values["f"] == {"json": 0.5} and values["arr"] == {"json": [0, 1, 2]}
    assert values["big"]["repr"].endswith("...") and len(values["big"]["repr"]) < 70000
    assert values["nan"] == {"repr": "nan"}
    assert values["odd"] == {"repr": "<repr failed: RuntimeError>"}
    assert values["missing"] == {"missing": True}
    executed = nbformat.read(str(output), as_version=4)
    assert len(executed.cells) == 1 and numpy is not None


def test_the_magic_sweeps_with_runs_p_spelling(tmp_path: Path, engine: FakeEngine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    IPython = pytest.importorskip("IPython")
    notebook = write_notebook(tmp_path / "m.ipynb")
    monkeypatch.setattr(pipeline, "_default_engine", lambda: engine)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shell = IPython.core.interactiveshell.InteractiveShell.instance()
    shell.run_line_magic("load_ext", "nbdocker")
    try:
        result = shell.run_line_magic(
            "dockerize", f"--sweep --no-widget --notebook {notebook} --image {IMAGE} "
                         f"-p a 1,3 --collect value --out {tmp_path / 'm'}")
    finally:
        shell.run_line_magic("unload_ext", "nbdocker")
    assert result.action == "sweep" and result.run is None
    assert [r.collected["value"] for r in result.sweep.runs] == [10, 30]
    assert "2 runs: 2 ok, 0 failed" in repr(result)


def test_a_project_notebook_runs_in_its_own_folder(tmp_path: Path, engine: FakeEngine) -> None:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "notebooks" / "a").mkdir(parents=True)
    notebook = write_notebook(root / "notebooks" / "a" / "grid.ipynb")
    nb = nbformat.read(str(notebook), as_version=4)
    nb.cells.append(new_code_cell("import os\nhere = os.getcwd().split(os.sep)[-2:]"))
    nbformat.write(nb, str(notebook))
    outcome = pipeline.sweep(notebook, engine=engine, image=IMAGE, out=str(tmp_path / "res"),
                             sweep_parameters={"a": [1]}, seeds=None, collect=["here"])
    assert outcome.ok and outcome.notebook == "notebooks/a/grid.ipynb"
    assert [r.collected["here"] for r in outcome.runs] == [["notebooks", "a"]]
