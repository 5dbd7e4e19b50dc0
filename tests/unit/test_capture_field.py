"""Capture traits met in real textbook notebooks (field test): automagic one-line cells
and files named only by shell lines or file magics."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nbdocker.stages.capture.imports import scan_source
from nbdocker.stages.capture.ipython_syntax import automagic_transform, parse_cell
from nbdocker.stages.capture.notebook import capture_notebook


@pytest.mark.parametrize("source, call", [
    ("ls nbpackage", "get_ipython().run_line_magic('ls', 'nbpackage')\n"),
    ("\ncat scripts/hello.py\n\n", "get_ipython().run_line_magic('cat', 'scripts/hello.py')\n"),
    ("pip install requests", "get_ipython().run_line_magic('pip', 'install requests')\n"),
    ("pwd", "get_ipython().run_line_magic('pwd', '')\n"),
])
def test_automagic_one_line_cells(source: str, call: str) -> None:
    assert automagic_transform(source) == call
    parse_cell(source)  # no SyntaxError


@pytest.mark.parametrize("source", [
    "ls nbpackage\nx = 1",        # IPython applies automagic to one-line cells only
    "frobnicate the data",         # not a magic
    "print 'hello'",               # Python 2 stays a syntax error
])
def test_not_automagic(source: str) -> None:
    assert automagic_transform(source) is None
    with pytest.raises(SyntaxError):
        parse_cell(source)


def test_automagic_cells_give_no_warning_and_pip_is_a_requirement() -> None:
    scan = scan_source("ls nbpackage", cell=3)
    assert scan.warnings == []
    scan = scan_source("pip install requests==2.31.0", cell=4)
    assert [(r.module, r.kind) for r in scan.records] == [("requests==2.31.0", "pip")]
    assert scan.warnings == []


@pytest.mark.parametrize("source, literal", [
    ("!head -4 data/heights.csv", "data/heights.csv"),
    ("rows = !wc -l data/heights.csv", "data/heights.csv"),
    ("%cat data/heights.csv", "data/heights.csv"),
    ("cat data/heights.csv", "data/heights.csv"),                 # automagic
    ("%%bash\nsort data/heights.csv | uniq", "data/heights.csv"),
    ("!python scripts/hello.py", "scripts/hello.py"),
])
def test_shell_and_file_magic_arguments_are_path_candidates(source: str, literal: str) -> None:
    assert literal in scan_source(source, cell=1).literals


def test_files_named_only_by_shell_lines_are_shipped(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "heights.csv").write_text("a,b\n1,2\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "hello.py").write_text("print('hi')\n")
    nb = new_notebook(cells=[new_code_cell("!head -4 data/heights.csv"),
                             new_code_cell("!python scripts/hello.py"),
                             new_code_cell("!echo not-a-file --also-not")])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    spec = capture_notebook(path, python=sys.executable)
    shipped = {f.path for f in spec.files}
    assert {"data/heights.csv", "scripts/hello.py"} <= shipped
    assert shipped == {"nb.ipynb", "data/heights.csv", "scripts/hello.py"}


def test_matplotlib_and_pylab_magics_need_their_packages() -> None:
    from nbdocker.stages.capture.imports import extract_imports

    records = extract_imports(["%matplotlib inline", "%pylab inline"])
    found = {(r.module, r.cell) for r in records}
    assert ("matplotlib", 0) in found and ("matplotlib", 1) in found and ("numpy", 1) in found
