"""Finding the running notebook: --notebook, VS Code's variable, the Jupyter server's
sessions, JPY_SESSION_NAME."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Iterator, List

import pytest

from nbdocker.exceptions import NotebookError
from nbdocker.frontends.notebook_path import NOT_FOUND_MESSAGE, find_notebook


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """server root tmp_path/ with sub/analysis.ipynb and sub/other.ipynb."""
    (tmp_path / "sub").mkdir()
    for name in ("analysis.ipynb", "other.ipynb"):
        (tmp_path / "sub" / name).write_text("{}", encoding="utf-8")
    return tmp_path


def test_explicit_path_wins_and_is_resolved_against_cwd(tree: Path) -> None:
    found = find_notebook("other.ipynb", user_ns={"__vsc_ipynb_file__": str(tree / "sub/analysis.ipynb")},
                          environ={"JPY_SESSION_NAME": "sub/analysis.ipynb"}, cwd=tree / "sub")
    assert found == (tree / "sub" / "other.ipynb").resolve()


def test_explicit_missing_path_is_returned_for_the_reader_to_refuse(tree: Path) -> None:
    assert find_notebook("nope.ipynb", environ={}, cwd=tree) == (tree / "nope.ipynb").resolve()


def test_vscode_variable(tree: Path) -> None:
    path = tree / "sub" / "analysis.ipynb"
    assert find_notebook(user_ns={"__vsc_ipynb_file__": str(path)}, environ={}, cwd=tree) == path


def test_jpy_session_name_absolute(tree: Path) -> None:
    path = tree / "sub" / "other.ipynb"
    assert find_notebook(environ={"JPY_SESSION_NAME": str(path)}, cwd="/") == path


def test_jpy_session_name_relative_to_the_server_root_above_cwd(tree: Path) -> None:
    # JupyterLab: the session path is relative to the server root; the kernel's cwd is
    # the notebook's own directory, below that root.
    found = find_notebook(environ={"JPY_SESSION_NAME": "sub/analysis.ipynb"}, cwd=tree / "sub")
    assert found == tree / "sub" / "analysis.ipynb"


def test_jpy_session_name_relative_to_cwd(tree: Path) -> None:
    found = find_notebook(environ={"JPY_SESSION_NAME": "sub/other.ipynb"}, cwd=tree)
    assert found == tree / "sub" / "other.ipynb"


@pytest.mark.parametrize("environ", [{}, {"JPY_SESSION_NAME": ""},
                                     {"JPY_SESSION_NAME": "Console 1"},
                                     {"JPY_SESSION_NAME": "gone/missing.ipynb"}])
def test_nothing_found_is_one_clear_message(tree: Path, environ: dict) -> None:
    with pytest.raises(NotebookError) as info:
        find_notebook(user_ns={"__vsc_ipynb_file__": None}, environ=environ, cwd=tree)
    assert str(info.value) == NOT_FOUND_MESSAGE
    assert "--notebook PATH" in NOT_FOUND_MESSAGE


# -- asking the Jupyter server -----------------------------------------------------------
# JupyterLab's first save of a new notebook offers "Rename file": the kernel keeps
# JPY_SESSION_NAME=Untitled.ipynb while the notebook is now analysis.ipynb. A stand-in
# server (http.server) answers GET /api/sessions as Jupyter Server does.

class _Sessions(BaseHTTPRequestHandler):
    """A stand-in Jupyter server: GET /api/sessions with the right token."""

    sessions: List[dict] = []
    token = "secret-token"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != "/api/sessions" or self.headers.get("Authorization") != f"token {self.token}":
            self.send_error(403)
            return
        body = json.dumps(self.sessions).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running stand-in server rooted at ``tree``; yields the runtime dir naming it."""
    httpd = HTTPServer(("127.0.0.1", 0), _Sessions)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    runtime = tmp_path_factory.mktemp("runtime")
    info = {"url": f"http://127.0.0.1:{httpd.server_address[1]}/", "token": _Sessions.token,
            "root_dir": str(tree), "pid": 4242}
    (runtime / "jpserver-4242.json").write_text(json.dumps(info), encoding="utf-8")
    _Sessions.sessions = [
        {"id": "s1", "path": "sub/other.ipynb", "kernel": {"id": "someone-else"}},
        {"id": "s2", "path": "sub/analysis.ipynb", "kernel": {"id": "k-123"}},
    ]
    try:
        yield runtime
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_server_session_beats_a_stale_session_name(tree: Path, server: Path) -> None:
    # New notebook, saved under another name: the kernel's environment still says
    # Untitled.ipynb, which (worse) may exist and be another notebook.
    (tree / "sub" / "Untitled.ipynb").write_text("{}", encoding="utf-8")
    found = find_notebook(environ={"JPY_SESSION_NAME": str(tree / "sub" / "Untitled.ipynb"),
                                   "JPY_PARENT_PID": "4242"},
                          cwd=tree / "sub", kernel_id="k-123", runtime_dir=server)
    assert found == (tree / "sub" / "analysis.ipynb").resolve()


def test_renamed_notebook_found_through_the_server(tree: Path, server: Path) -> None:
    found = find_notebook(environ={"JPY_SESSION_NAME": "sub/Untitled.ipynb"},
                          cwd=tree / "sub", kernel_id="k-123", runtime_dir=server)
    assert found == (tree / "sub" / "analysis.ipynb").resolve()


@pytest.mark.parametrize("token", ["wrong", ""])
def test_a_refusing_server_falls_back_to_the_session_name(tree: Path, server: Path,
                                                          token: str) -> None:
    info_file = server / "jpserver-4242.json"
    info = json.loads(info_file.read_text(encoding="utf-8"))
    info["token"] = token
    info_file.write_text(json.dumps(info), encoding="utf-8")
    found = find_notebook(environ={"JPY_SESSION_NAME": "sub/other.ipynb"}, cwd=tree,
                          kernel_id="k-123", runtime_dir=server)
    assert found == tree / "sub" / "other.ipynb"


def test_unknown_kernel_or_no_server_falls_back(tree: Path, server: Path,
                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    environ = {"JPY_SESSION_NAME": "sub/other.ipynb"}
    assert find_notebook(environ=environ, cwd=tree, kernel_id="not-listed",
                         runtime_dir=server) == tree / "sub" / "other.ipynb"
    empty = tmp_path_factory.mktemp("no-servers")
    (empty / "jpserver-1.json").write_text("{not json", encoding="utf-8")
    assert find_notebook(environ=environ, cwd=tree, kernel_id="k-123",
                         runtime_dir=empty) == tree / "sub" / "other.ipynb"
    with pytest.raises(NotebookError):
        find_notebook(environ={}, cwd=tree, kernel_id="not-listed", runtime_dir=server)
