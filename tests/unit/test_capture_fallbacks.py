"""Fallback imports never break a build (issue 17): alternatives, interpreter tests decided
for the target, other Pythons' standard libraries never guessed, honest guesses only."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List

import nbformat
import pytest

from nbdocker.notebook_io import write_notebook_atomic
from nbdocker.stages.capture import capture_notebook
from nbdocker.stages.capture.conditions import environment_test, evaluate, facts_for
from nbdocker.stages.capture.distributions import resolve
from nbdocker.stages.capture.imports import extract_imports
from nbdocker.stages.capture.interpreter import InterpreterInfo
from nbdocker.stages.capture.stdlib import PYTHON2_STDLIB, other_stdlib
from nbdocker.stages.capture.summary import format_spec

IDIOM = "try:\n    from io import StringIO  # python3\nexcept ImportError:\n" \
        "    from StringIO import StringIO  # python2\n"
ENV_312 = {"implementation_name": "cpython", "implementation_version": "3.12.1", "os_name": "posix",
           "platform_machine": "x86_64", "platform_release": "", "platform_system": "Linux",
           "platform_version": "", "python_full_version": "3.12.1",
           "platform_python_implementation": "CPython", "python_version": "3.12",
           "sys_platform": "linux"}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))


def _notebook(folder: Path, *sources: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = folder / "nb.ipynb"
    write_notebook_atomic(nb, path)
    return path


def _info(dists: List[Dict[str, Any]], packages: Dict[str, List[str]],
          stdlib: List[str], env: Dict[str, str] = ENV_312) -> InterpreterInfo:
    return InterpreterInfo.from_probe({
        "executable": "/x/python", "version": env["python_full_version"],
        "implementation": "CPython", "system": "linux", "machine": "x86_64", "stdlib": stdlib,
        "packages": packages, "distributions": dists, "marker_env": env})


@pytest.mark.parametrize("where", ["top level", "in a function", "in a local helper module"])
def test_the_python2_3_stringio_idiom_never_becomes_a_guess(tmp_path: Path, where: str) -> None:
    if where == "top level":
        nb = _notebook(tmp_path, IDIOM + "buf = StringIO()")
    elif where == "in a function":
        body = "".join("    " + line + "\n" for line in IDIOM.splitlines())
        nb = _notebook(tmp_path, "def read(text):\n" + body + "    return StringIO(text)")
    else:
        (tmp_path / "mglearn_like").mkdir()
        (tmp_path / "mglearn_like" / "__init__.py").write_text("from .tools import read\n")
        body = "".join("    " + line + "\n" for line in IDIOM.splitlines())
        (tmp_path / "mglearn_like" / "tools.py").write_text(
            "def read(text):\n" + body + "    return StringIO(text)\n")
        nb = _notebook(tmp_path, "import mglearn_like\nmglearn_like.read('x')")
    spec = capture_notebook(nb, python=sys.executable)
    assert [u.module for u in spec.unresolved] == []
    assert all(r.name.lower() != "stringio" for r in spec.requirements)
    [note] = [w for w in spec.warnings if "StringIO" in w]
    assert "fallback" in note and "except ImportError" in note and "never guessed" in note
    assert "Python 2's standard library" in note


def test_version_and_platform_branches_are_decided_for_the_target() -> None:
    records = extract_imports([
        "import sys, platform\nPY2 = sys.version_info[0] == 2\n"
        "if PY2:\n    import urllib2\n    import py2only_pkg\nelse:\n    import urllib.request\n",
        "import sys\nif sys.version_info >= (3, 8):\n    import needed_on_new\n"
        "else:\n    import backport_pkg\n",
        "import sys\nif sys.platform == 'win32':\n    import winonly_pkg\n",
        "import platform\nif platform.system() == 'Linux':\n    import linux_pkg\n",
        "import six\nif six.PY2:\n    import old_six_pkg\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import typing_only_pkg\n",
        "if DEBUG:\n    import debug_pkg\n",
    ])
    info = _info([], {}, ["sys", "platform", "urllib", "typing"])
    out = resolve(records, info)
    guessed = {u.module for u in out.unresolved}
    # the branches that run on Linux / Python 3.12 are real needs: guessed when missing
    assert guessed == {"needed_on_new", "linux_pkg", "debug_pkg", "six"}
    for dead in ("py2only_pkg", "backport_pkg", "winonly_pkg", "old_six_pkg", "typing_only_pkg"):
        [note] = [w for w in out.warnings if f"import {dead}" in w]
        assert "does not run on the target interpreter" in note and "never guessed" in note
    # urllib2 sits in a dead branch: a note, never a guess, whatever its name
    assert not any("urllib2" in u.module for u in out.unresolved)


def test_conditions_evaluate_only_what_they_understand() -> None:
    facts = facts_for("3.11.7", {"sys_platform": "linux", "os_name": "posix",
                                 "platform_system": "Linux"})
    cases = {"sys.version_info >= (3, 8)": True, "sys.version_info[0] == 2": False,
             "sys.version_info[:2] == (3, 11)": True, "sys.version_info.major < 3": False,
             "sys.platform.startswith('win')": False, "os.name == 'nt'": False,
             "platform.system() == 'Linux'": True, "not PY2 and sys.maxsize > 2 ** 32": None,
             "sys.version_info > (3,) and os.name != 'nt'": True, "TYPE_CHECKING": False}
    for test, expected in cases.items():
        assert evaluate(test, facts) is expected, test
    import ast
    assert environment_test(ast.parse("x > 3", mode="eval").body, {}) is None
    assert environment_test(ast.parse("PY3", mode="eval").body, {}) == "PY3"


def test_other_pythons_standard_libraries_are_never_guessed() -> None:
    assert {"StringIO", "cStringIO", "cPickle", "urllib2", "urlparse", "ConfigParser",
            "Queue", "Tkinter", "httplib", "__builtin__", "copy_reg"} <= PYTHON2_STDLIB
    assert other_stdlib("distutils") == "removed from the standard library in Python 3.12"
    assert other_stdlib("imghdr") == "removed from the standard library in Python 3.13"
    assert other_stdlib("requests") is None
    # the TARGET's standard library decides: imp is stdlib on 3.11, not on 3.12
    info = _info([], {}, ["os", "sys"])
    out = resolve(extract_imports(["import imp\nimport cPickle\nimport urlparse\nimport asyncore"]),
                  info)
    assert out.unresolved == [] and out.requirements == []
    for name in ("imp", "cPickle", "urlparse", "asyncore"):
        assert any(f"import {name}" in w and "not a PyPI project" in w for w in out.warnings), name
    older = _info([], {}, ["os", "sys", "imp"])
    assert not any("imp" in w for w in resolve(extract_imports(["import imp"]), older).warnings)


def test_a_fallback_that_is_installed_is_kept() -> None:
    info = _info([{"name": "simplejson", "version": "3.19.2", "requires": []}],
                 {"simplejson": ["simplejson"]}, ["json"])
    out = resolve(extract_imports(["try:\n    import ujson as json\nexcept ImportError:\n"
                                   "    import simplejson as json\n"]), info)
    assert [(r.name, r.version, r.optional) for r in out.requirements] == [
        ("simplejson", "3.19.2", True)]
    assert out.unresolved == []


def test_only_honest_guesses_with_reasons_and_the_table_says_so(tmp_path: Path) -> None:
    nb = _notebook(tmp_path, "import nbdocker_no_such_project_on_any_index as x",
                   IDIOM, "try:\n    import also_missing_optional\nexcept ImportError:\n    pass")
    spec = capture_notebook(nb, python=sys.executable)
    [guess] = spec.unresolved
    assert guess.module == "nbdocker_no_such_project_on_any_index"
    assert guess.reasons == ("import nbdocker_no_such_project_on_any_index (cell 0)",)
    text = format_spec(spec)
    assert "installed best-effort" in text and "the cell will fail if it is wrong" in text
    assert any("guessed PyPI name nbdocker_no_such_project_on_any_index" in w for w in spec.warnings)
