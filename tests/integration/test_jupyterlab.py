"""The panel in a real JupyterLab, driven through the browser like a person would.

A real ``jupyter lab`` (this interpreter's, with nbdocker installed) serves a small
standard-library notebook from the test's temp dir; Debian's headless Chromium, driven by
Playwright (``_browser.py``), opens it, runs ``%load_ext nbdocker`` and ``%dockerize
--panel``, presses Verify, runs ``21 * 2`` while the job builds and runs the image on the
real engine (its answer must come back first: the panel's jobs run in a thread), waits for
REPRODUCED and saves a screenshot. The server's environment carries ``DOCKER_HOST`` and
``NBDOCKER_BASE_IMAGE``, so the kernel's nbdocker uses the test engine and base image.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import nbformat
import pytest

from _browser import chromium_page, unavailable
from _registry import free_port

pytestmark = pytest.mark.engine

TOKEN = "nbdocker-browser-test"
NOTEBOOK = "selfcheck.ipynb"
START_TIMEOUT = 90.0     # seconds for the server to answer (a cold start on 2 busy cores)
JOB_TIMEOUT = 900.0      # seconds for Verify: a cold build with pip installs on a slow day
# Cells of the notebook below, by index.
LOAD_CELL, PANEL_CELL, ANSWER_CELL = 1, 4, 5

# JupyterLab user settings: no autosave (the file on disk stays what the test wrote, which
# is what Verify re-runs), no news or update pop-up over the page (and no network for
# them), every cell in the DOM (no windowing of off-screen cells).
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def _notebook(path: Path) -> None:
    """Saved outputs that reproduce anywhere (standard library only). The nbdocker cells
    are skipped in the container; the last cell was never run, so it is "skipped" in the
    comparison: the test runs it in the browser while the job runs."""
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("Verifies itself from the nbdocker panel."),
        v4.new_code_cell("%load_ext nbdocker", execution_count=1),
        v4.new_code_cell("import json\nprint(json.dumps({'answer': 6 * 7}))", execution_count=2,
                         outputs=[v4.new_output("stream", name="stdout",
                                                text='{"answer": 42}\n')]),
        v4.new_code_cell("sum(range(10))", execution_count=3,
                         outputs=[v4.new_output("execute_result", {"text/plain": "45"},
                                                execution_count=3)]),
        v4.new_code_cell("%dockerize --panel"),
        v4.new_code_cell("21 * 2"),
    ]
    nb = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.write(nb, path)


def _jupyter_dirs(root: Path) -> Dict[str, str]:
    """Private config, data, runtime, settings and workspace dirs: nothing of the
    machine's Jupyter set-up leaks in. (The ``python3`` kernel is the server's own
    interpreter's, which has nbdocker installed: a kernelspec in an environment's
    ``share/jupyter`` wins over the user's, and ``python`` in its argv means the server's
    ``sys.executable``.)"""
    dirs = {name: root / name for name in ("config", "data", "runtime", "settings",
                                           "workspaces")}
    for directory in dirs.values():
        directory.mkdir(parents=True)
    for plugin, values in SETTINGS.items():
        target = dirs["settings"] / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")
    return {"JUPYTER_CONFIG_DIR": str(dirs["config"]), "JUPYTER_DATA_DIR": str(dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"])}


def _answers(url: str) -> bool:
    request = urllib.request.Request(f"{url}/api/status",
                                     headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def jupyter_lab(root: Path, state: Path, env: Dict[str, str]) -> Iterator[str]:
    """Serve ``root`` with a real ``jupyter lab`` on a free loopback port (its Jupyter
    dirs and log under ``state``); yields its base URL. Afterwards the server is stopped,
    which shuts its kernels down; a kernel still alive then is killed and fails the test."""
    if importlib.util.find_spec("jupyterlab") is None:
        unavailable("jupyterlab is not installed (pip install jupyterlab; "
                    "./scripts/test installs it)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = state / "jupyter-lab.log"
    dirs = _jupyter_dirs(state)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
               f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    proc: Optional[subprocess.Popen] = None
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(command, cwd=root, env={**env, **dirs}, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer on {url}:\n"
                                f"{log_path.read_text(errors='replace')[-3000:]}",
                                pytrace=False)
                time.sleep(0.25)
            yield url
        finally:
            if proc is not None:
                _stop(proc)
            leftovers = _kill_kernels(Path(dirs["JUPYTER_RUNTIME_DIR"]))
    if leftovers:  # reached only when the block itself passed
        pytest.fail(f"kernel process(es) {leftovers} outlived the server", pytrace=False)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _kill_kernels(runtime: Path) -> List[int]:
    """Kill the processes started with a connection file in ``runtime`` (this server's
    kernels: each runs in a session of its own, out of the server's process group);
    return their pids."""
    needle = (str(runtime) + os.sep).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "cmdline").read_bytes():
                continue
            os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            continue  # gone meanwhile
        pids.append(int(entry.name))
    return pids


def _run_cell(page: Any, index: int) -> Any:
    """Run cell ``index`` as a person would (click into it, Ctrl+Enter: run and stay, so
    no cell is added after the last); return its locator."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    return cell


def _wait_executed(cell: Any, timeout_s: float = 120.0) -> None:
    """Until the cell's prompt shows an execution count (``[*]`` while it runs)."""
    cell.locator(".jp-InputArea-prompt").filter(has_text=re.compile(r"\[\d+\]")).wait_for(
        timeout=timeout_s * 1000)


def test_panel_verify_in_jupyterlab_reproduces_while_the_kernel_answers(
        engine: Any, base_image: str, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    notebook = root / NOTEBOOK
    _notebook(notebook)
    before_bytes = notebook.read_bytes()
    containers = set(engine.list_containers())
    images = {image.id for image in engine.client.images.list(all=True)}
    env = {**os.environ, "NBDOCKER_BASE_IMAGE": base_image}  # DOCKER_HOST is in os.environ
    env.pop("JPY_SESSION_NAME", None)  # this process may itself run under Jupyter
    screenshot = tmp_path / "jupyterlab-verify.png"
    tag: Optional[str] = None
    try:
        with jupyter_lab(root, tmp_path, env) as url, chromium_page(height=1000) as page:
            try:
                tag = _verify_through_the_panel(page, f"{url}/lab/tree/{NOTEBOOK}?token={TOKEN}",
                                                screenshot)
            except BaseException:
                with contextlib.suppress(Exception):  # what the page showed, for the log
                    page.screenshot(path=str(tmp_path / "failure.png"))
                raise
        assert screenshot.stat().st_size > 10_000  # a real picture, not an empty page
        assert notebook.read_bytes() == before_bytes  # the user's file is untouched
        assert (root / "selfcheck.nbdocker.ipynb").is_file()  # the executed notebook
    finally:
        if tag:
            engine.remove_image(tag)
        for image in engine.client.images.list():  # a failed run's: its tag takes the rest
            if image.id not in images:
                engine.remove_image(image.id)
    assert set(engine.list_containers()) == containers  # no container left behind


def _verify_through_the_panel(page: Any, url: str, screenshot: Path) -> Optional[str]:
    """The person's part; returns the tag of the image the panel built."""
    page.goto(url)
    # The kernel has started and connected ("No Kernel | Initializing" before, with the
    # toolbar's indicator already "idle"): a cell run before then is silently not run.
    page.locator(".jp-StatusBar-TextItem",
                 has_text=re.compile(r"^(?!No Kernel).* \| Idle$")).wait_for(timeout=120_000)

    _wait_executed(_run_cell(page, LOAD_CELL))
    panel = _run_cell(page, PANEL_CELL)
    verify = panel.locator("button.nbdocker-verify")
    verify.wait_for(timeout=120_000)  # capture ran in the kernel: the panel is up
    message = panel.locator(".nbdocker-message")
    report = panel.locator(".nbdocker-report")
    assert message.inner_text().strip() == "", message.inner_text()

    verify.click()
    panel.locator("button.nbdocker-verify:disabled").wait_for()  # the job has started
    _run_cell(page, ANSWER_CELL).locator(".jp-OutputArea-output").filter(
        has_text=re.compile(r"^\s*42\s*$")).wait_for(timeout=120_000)
    still_running = verify.is_disabled() and report.inner_text().strip() == ""
    assert still_running, "21 * 2 was answered only after the job ended: it blocked the kernel"

    panel.locator(".nbdocker-report, .nbdocker-message").filter(
        has_text=re.compile(r"\S")).first.wait_for(timeout=JOB_TIMEOUT * 1000)
    text = report.inner_text()
    report.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot))
    found = re.search(r"^image (\S+)", text, re.M)
    assert message.inner_text().strip() == "", message.inner_text()
    # Same: the two cells with saved outputs; skipped: the nbdocker cells and 21 * 2.
    assert re.search(r"^REPRODUCED: 2 same; 3 skipped$", text, re.M), text
    assert not verify.is_disabled()  # the panel is ready for the next job
    return found.group(1) if found else None
