"""nbdocker/runner.py run as a subprocess with the local interpreter (as in the image)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import nbdocker.stages.run.runner as runner
from nbdocker.contract import (EVENT_PREFIX, EXIT_CELL_ERROR, EXIT_CELL_TIMEOUT, EXIT_INPUT,
                               EXIT_KERNEL_DIED, EXIT_KERNEL_START, EXIT_OK, EXIT_TIMEOUT)
from nbdocker.stages.run.runner import inject_parameters, python_literal

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

FIXTURES = Path(__file__).resolve().parent.parent / "notebooks" / "run"
RUNNER = Path(runner.__file__)


def run(notebook: str, tmp_path: Path, *args: str) -> Tuple[int, List[Dict[str, Any]], Any]:
    """Run the runner; return (exit code, JSON events, executed notebook or None)."""
    out = tmp_path / "out.ipynb"
    proc = subprocess.run([sys.executable, str(RUNNER), str(FIXTURES / notebook), str(out),
                           *args], capture_output=True, text=True, timeout=120)
    events = [json.loads(line[len(EVENT_PREFIX):]) for line in proc.stdout.splitlines()
              if line.startswith(EVENT_PREFIX)]
    nb = nbformat.read(str(out), as_version=4) if out.exists() else None
    return proc.returncode, events, nb


def of(events: Sequence[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def stdout_of(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_parameters_injected_after_parameters_cell(tmp_path: Path) -> None:
    code, events, nb = run("params.ipynb", tmp_path,
                           "--parameters-json", '{"x": 21, "name": "nbdocker"}')
    assert code == EXIT_OK
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags[1] == ["parameters"] and tags[2] == ["injected-parameters"]
    assert nb.cells[2].source == "# Parameters\nx = 21\nname = 'nbdocker'\n"
    assert stdout_of(nb.cells[3]) == "hello nbdocker 42\n"
    assert nb.cells[4].outputs[0].data["text/plain"] == "(21, 'nbdocker')"
    cells = of(events, "cell")
    assert [e["step"] for e in cells] == [1, 2, 3, 4] and {e["total"] for e in cells} == {4}
    # indices are those of the user's notebook; the injected cell has none
    assert [e["index"] for e in cells] == [1, None, 2, 3]
    assert of(events, "done")[0]["status"] == "ok"


def test_without_parameters_the_notebook_is_untouched(tmp_path: Path) -> None:
    code, _, nb = run("params.ipynb", tmp_path)
    assert code == EXIT_OK
    assert all("injected-parameters" not in c.metadata.get("tags", []) for c in nb.cells)
    assert stdout_of(nb.cells[2]) == "hello world 2\n"


def test_injected_first_without_parameters_cell(tmp_path: Path) -> None:
    code, _, nb = run("noparams.ipynb", tmp_path, "--parameters-json", '{"y": [1, 2.5, null]}')
    assert code == EXIT_OK
    assert nb.cells[0].metadata["tags"] == ["injected-parameters"]
    assert stdout_of(nb.cells[1]) == "[1, 2.5, None]\n"


def test_failing_cell_stops_with_its_index_error_and_source(tmp_path: Path) -> None:
    code, events, nb = run("failing.ipynb", tmp_path)
    assert code == EXIT_CELL_ERROR
    (err,) = of(events, "error")
    assert (err["kind"], err["index"], err["ename"], err["evalue"]) == ("cell", 2, "ValueError", "boom")
    assert err["source_head"].splitlines()[:2] == ["# this cell fails", "raise ValueError('boom')"]
    # the partial notebook is written; the cell after the failure did not run
    assert nb.cells[2].outputs[-1].output_type == "error"
    assert nb.cells[3].outputs == [] and nb.cells[3].execution_count is None


def test_allow_errors_runs_on_and_lists_the_errors(tmp_path: Path) -> None:
    code, events, nb = run("failing.ipynb", tmp_path, "--allow-errors")
    assert code == EXIT_OK
    assert stdout_of(nb.cells[3]) == "after\n"
    assert of(events, "done")[0]["errors"] == [2]


def test_cell_timeout(tmp_path: Path) -> None:
    code, events, nb = run("sleeping.ipynb", tmp_path, "--cell-timeout", "1")
    assert code == EXIT_CELL_TIMEOUT
    (err,) = of(events, "error")
    assert (err["kind"], err["index"]) == ("cell_timeout", 1)
    assert stdout_of(nb.cells[0]) == "start\n" and nb.cells[2].execution_count is None


def test_total_timeout_is_told_apart_from_cell_timeout(tmp_path: Path) -> None:
    # three 1.5 s cells (plus kernel start-up), a 3.5 s budget and a generous per-cell timeout
    code, events, _ = run("slow_cells.ipynb", tmp_path, "--timeout", "3.5", "--cell-timeout", "30")
    assert code == EXIT_TIMEOUT
    assert of(events, "error")[0]["kind"] == "timeout"


def test_dead_kernel(tmp_path: Path) -> None:
    code, events, _ = run("deadkernel.ipynb", tmp_path)
    assert code == EXIT_KERNEL_DIED
    assert of(events, "error")[0]["index"] == 0


def test_kernel_runs_in_cwd(tmp_path: Path) -> None:
    code, _, nb = run("cwd.ipynb", tmp_path, "--cwd", str(FIXTURES))
    assert code == EXIT_OK and stdout_of(nb.cells[0]) == "hello from data\n"
    code, _, nb = run("cwd.ipynb", tmp_path, "--cwd", str(tmp_path), "--allow-errors")
    assert nb.cells[0].outputs[-1].ename == "FileNotFoundError"


def test_unknown_kernel_and_bad_input(tmp_path: Path) -> None:
    code, events, _ = run("params.ipynb", tmp_path, "--kernel", "no-such-kernel")
    assert code == EXIT_KERNEL_START and of(events, "error")[0]["kind"] == "kernel_start"
    code, events, _ = run("params.ipynb", tmp_path, "--parameters-json", "[1]")
    assert code == EXIT_INPUT
    code, _, _ = run("missing.ipynb", tmp_path)
    assert code == EXIT_INPUT


def test_parameters_file_is_read_and_removed(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text('{"x": 5}')
    code, _, nb = run("params.ipynb", tmp_path, "--parameters-file", str(params))
    assert code == EXIT_OK and stdout_of(nb.cells[3]) == "hello world 10\n"
    assert not params.exists()


# -- in-process helpers --------------------------------------------------------------

@pytest.mark.parametrize("value", [1, -2.5, True, None, "it's \"q\"", [1, [2, {"a": None}]],
                                   {"k": [1.0, "v"]}, float("inf"), float("-inf")])
def test_python_literal_round_trips(value: Any) -> None:
    assert eval(python_literal(value)) == value  # noqa: S307 - test of generated literals


def test_python_literal_nan() -> None:
    assert python_literal(float("nan")) == "float('nan')"


def test_inject_replaces_existing_injected_cell_and_keeps_old_minor_valid() -> None:
    nb = new_notebook(cells=[new_code_cell("a = 1"), new_code_cell("b = 2")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    assert inject_parameters(nb, {"a": 3}) == 1
    assert inject_parameters(nb, {"a": 4}) == 1
    assert [c.source for c in nb.cells] == ["a = 1", "# Parameters\na = 4\n", "b = 2"]
    assert inject_parameters(nb, {}) is None and len(nb.cells) == 3
    old = new_notebook(cells=[new_code_cell("x")])
    old.nbformat_minor = 4
    for c in old.cells:
        c.pop("id", None)
    inject_parameters(old, {"x": 1})
    nbformat.validate(old)
    with pytest.raises(ValueError):
        inject_parameters(nb, {"not valid": 1})


def test_pager_payloads_become_display_outputs(tmp_path: Path) -> None:
    # %page, %prun, %lprun, obj? answer through the pager; Lab/VS Code save that inline.
    code, _, nb = run("pager.ipynb", tmp_path)
    assert code == EXIT_OK
    kinds = [o.output_type for o in nb.cells[0].outputs]
    assert kinds == ["stream", "display_data"]
    assert "paged text" in nb.cells[0].outputs[1].data["text/plain"]
    assert [o.output_type for o in nb.cells[1].outputs] == ["stream"]


def test_pager_outputs_ignores_other_payloads() -> None:
    reply = {"content": {"payload": [
        {"source": "set_next_input", "text": "x"},
        {"source": "page", "data": {"text/plain": "doc"}, "start": 0},
        {"source": "page", "data": {}},
    ]}}
    outputs = runner.pager_outputs(reply)
    assert [o.data for o in outputs] == [{"text/plain": "doc"}]
    assert runner.pager_outputs(None) == [] and runner.pager_outputs({"content": {}}) == []
