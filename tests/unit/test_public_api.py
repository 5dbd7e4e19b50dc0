"""The public API is exactly what ``nbdocker.__all__`` claims (httpx's habit)."""
import subprocess
import sys

import nbdocker
from nbdocker import exceptions


def test_all_names_exist_and_nothing_private_leaks():
    for name in nbdocker.__all__:
        assert hasattr(nbdocker, name), name
    public = {n for n in dir(nbdocker) if not n.startswith("_")}
    # Submodules are importable but not part of the flat API.
    modules = {n for n in public if type(getattr(nbdocker, n)).__name__ == "module"}
    assert public - modules - set(nbdocker.__all__) == set()


def test_exception_tree_and_exit_codes():
    assert issubclass(exceptions.NotebookError, exceptions.InputError)
    assert issubclass(exceptions.BuildError, exceptions.EngineError)
    assert issubclass(exceptions.KernelDied, exceptions.RunError)
    assert exceptions.InputError.exit_code == 2
    assert exceptions.EngineUnavailable.exit_code == 3
    assert exceptions.CellExecutionError.exit_code == 1
    for name in exceptions.__all__:
        assert name in exceptions.__doc__, f"{name} missing from the drawn tree"
        assert issubclass(getattr(exceptions, name), exceptions.NbDockerError)


def test_cell_error_message_shows_the_cell():
    err = exceptions.CellExecutionError.from_cell(4, "x = 1\ny = 1/0\nz = 3\nw = 4",
                                                  "ZeroDivisionError", "division by zero")
    text = str(err)
    assert text.startswith("cell 4 raised ZeroDivisionError: division by zero")
    assert "y = 1/0" in text and "w = 4" not in text
    assert err.cell_index == 4


def test_import_is_cheap():
    """%load_ext must not drag docker-py, nbclient or IPython in."""
    code = ("import sys, nbdocker; heavy = [m for m in ('docker', 'nbclient', 'IPython', "
            "'ipywidgets') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
