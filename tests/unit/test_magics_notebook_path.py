"""Finding the running notebook: --notebook, VS Code's variable, JPY_SESSION_NAME."""
from pathlib import Path

import pytest

from nbdocker.exceptions import NotebookError
from nbdocker.notebook_path import NOT_FOUND_MESSAGE, find_notebook


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
