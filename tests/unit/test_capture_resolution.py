"""Resolution against a described interpreter: pins, markers, extras, closure, aliases."""
from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from nbdocker.stages.capture import distributions, interpreter
from nbdocker.stages.capture.distributions import pypi_name_for, resolve
from nbdocker.stages.capture.imports import extract_imports
from nbdocker.stages.capture.interpreter import InterpreterInfo, query_interpreter
from nbdocker.stages.capture.platform import capture_env
from nbdocker.exceptions import CaptureError

ENV_39_WIN = {"implementation_name": "cpython", "implementation_version": "3.9.1", "os_name": "nt",
              "platform_machine": "AMD64", "platform_release": "10", "platform_system": "Windows",
              "platform_version": "10", "python_full_version": "3.9.1",
              "platform_python_implementation": "CPython", "python_version": "3.9",
              "sys_platform": "win32"}


def make_info(dists: List[Dict[str, Any]], packages: Dict[str, List[str]],
              env: Dict[str, str] = ENV_39_WIN) -> InterpreterInfo:
    return InterpreterInfo.from_probe({
        "executable": "/x/python", "version": env["python_full_version"], "implementation": "CPython",
        "system": "windows", "machine": "AMD64", "stdlib": ["os", "sys", "json"],
        "packages": packages, "distributions": dists, "marker_env": env})


INFO = make_info(
    [{"name": "Top_Pkg", "version": "1.0", "requires": [
        "dep-a>=1", 'dep-win; sys_platform == "win32"', 'dep-linux; sys_platform == "linux"',
        'dep-old; python_version < "3.8"', 'dep-extra; extra == "fast"', "not-installed"]},
     {"name": "dep-a", "version": "2.0", "requires": ["dep-b"]},
     {"name": "dep-b", "version": "3.0", "requires": ["dep-a"]},  # a cycle
     {"name": "dep-win", "version": "4.0", "requires": []},
     {"name": "dep-linux", "version": "5.0", "requires": []},
     {"name": "dep-old", "version": "6.0", "requires": []},
     {"name": "dep-extra", "version": "7.0", "requires": []},
     {"name": "nbdocker", "version": "0.1", "requires": []}],
    {"top": ["Top_Pkg"], "nbdocker": ["nbdocker"]})


def test_markers_are_evaluated_for_the_target() -> None:
    out = resolve(extract_imports(["import top\nimport os\nimport nbdocker"]), INFO)
    got = {r.name: (r.version, r.direct) for r in out.requirements}
    assert got == {"top-pkg": ("1.0", True), "dep-a": ("2.0", False), "dep-b": ("3.0", False),
                   "dep-win": ("4.0", False)}
    assert dict((r.name, r.required_by) for r in out.requirements)["dep-b"] == ("dep-a",)
    assert any("not-installed" in w for w in out.warnings)


def test_extras_only_when_requested() -> None:
    out = resolve(extract_imports(["%pip install 'top-pkg[fast]>=0.5'"]), INFO)
    req = {r.name: r for r in out.requirements}
    assert "dep-extra" in req and req["top-pkg"].specifier == ">=0.5"
    assert req["top-pkg"].reasons == ("%pip install top-pkg[fast]>=0.5 (cell 0)",)


def test_unresolved_and_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distributions, "_pipreqs_mapping", lambda: {})
    out = resolve(extract_imports(["import sklearn\nimport yaml\nimport weird_mod\n"
                                   "try:\n    import ujson\nexcept ImportError:\n    pass"]), INFO)
    assert {u.module: u.pypi_name for u in out.unresolved} == {
        "sklearn": "scikit-learn", "yaml": "PyYAML", "weird_mod": "weird_mod"}
    assert sum(w.startswith("module ") for w in out.warnings) == 3
    assert any("optional `import ujson`" in w for w in out.warnings)


def test_pip_line_covers_an_unresolved_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distributions, "_pipreqs_mapping", lambda: {})
    out = resolve(extract_imports(["%pip install scikit-learn", "import sklearn"]), INFO)
    assert out.unresolved == []
    [req] = out.requirements
    assert req.name == "scikit-learn" and req.version is None and len(req.reasons) == 2


def test_pipreqs_mapping_is_read_without_importing_it(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "pipreqs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    (pkg / "mapping").write_text("weird_mod:Weird-Dist\nsklearn:scikit-learn\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    distributions._pipreqs_mapping.cache_clear()
    try:
        assert pypi_name_for("weird_mod.sub") == "Weird-Dist"
        assert pypi_name_for("bs4") == "beautifulsoup4"  # alias table still answers
        assert "pipreqs" not in sys.modules
    finally:
        distributions._pipreqs_mapping.cache_clear()


def test_env_opt_in_refuses_secrets() -> None:
    pairs, warnings = capture_env(["MPLBACKEND", "OPENAI_API_KEY", "DB_PASSWORD", "GH_TOKEN", "UNSET_X"],
                                  {"MPLBACKEND": "Agg", "OPENAI_API_KEY": "sk", "DB_PASSWORD": "p",
                                   "GH_TOKEN": "t"})
    assert pairs == [("MPLBACKEND", "Agg")]
    assert sum("looks secret" in w for w in warnings) == 3
    assert any("UNSET_X" in w and "not set" in w for w in warnings)


def test_interpreter_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path))
    calls: List[str] = []
    real = interpreter._run_probe

    def counting(path: str) -> Dict[str, Any]:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(interpreter, "_run_probe", counting)
    first = query_interpreter(sys.executable)
    second = query_interpreter(sys.executable)
    assert len(calls) == 1 and first == second
    assert first.version == ".".join(map(str, sys.version_info[:3]))
    assert set(sys.stdlib_module_names) <= first.stdlib
    for entry in tmp_path.glob("interpreter-*.json"):
        entry.write_text("{corrupt")
    assert query_interpreter(sys.executable) == first  # corrupt entry ignored, re-probed
    assert len(calls) == 2


def test_bad_interpreters_are_capture_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(CaptureError, match="not found"):
        query_interpreter(str(tmp_path / "nope"))
    failing = tmp_path / "python"
    failing.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    failing.chmod(failing.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(CaptureError, match="exit 3"):
        query_interpreter(str(failing))
    silent = tmp_path / "python-silent"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(silent.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(CaptureError, match="no JSON"):
        query_interpreter(str(silent))
    assert not list((tmp_path / "cache").glob("interpreter-*.json"))  # failures aren't cached
