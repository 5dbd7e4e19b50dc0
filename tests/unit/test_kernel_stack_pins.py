"""The kernel stack pinned from the target interpreter (nbdocker.stages.capture.kernel_stack),
the pull stream parser, registry failure reasons and IPython extension loads."""
from __future__ import annotations

import sys
import types
from typing import Any, Dict, List

import pytest

from nbdocker.engine.docker import _PullStream, _by_digest
from nbdocker.engine.base import ImageInfo
from nbdocker.engine.refs import registry_failure, registry_of
from nbdocker.events import Event, Phase
from nbdocker.spec import Requirement
from nbdocker.stages.capture.imports import extract_imports
from nbdocker.stages.capture.interpreter import InterpreterInfo
from nbdocker.stages.capture.kernel_stack import DEFAULT_REQUIRES, KERNEL_REASON, kernel_stack
from nbdocker.stages.image.dockerfile import RUNNER_REQUIREMENTS

MARKERS = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux",
           "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
           "implementation_name": "cpython", "platform_python_implementation": "CPython",
           "platform_release": "", "platform_version": "", "implementation_version": "3.11.7"}


def _info(dists: Dict[str, Any], executable: str = "/fake/python") -> InterpreterInfo:
    """``dists``: name -> (version, requires...)."""
    return InterpreterInfo(
        executable=executable, version="3.11.7", implementation="CPython", system="linux",
        machine="x86_64", stdlib=frozenset({"os", "sys"}),
        packages={n.replace("-", "_"): (n,) for n in dists},
        distributions={n: {"name": n, "version": v[0], "requires": list(v[1:])}
                       for n, v in dists.items()},
        marker_env=MARKERS)


OLD_STACK = {
    "ipykernel": ("6.25.2", "ipython>=7.23.1", "traitlets>=5.4.0", "jupyter-client>=6.1.12",
                  "debugpy>=1.6.5", "tornado>=6.1"),
    "ipython": ("8.12.3", "traitlets>=5", "jedi>=0.16", "appnope; sys_platform == 'darwin'"),
    "traitlets": ("5.9.0",), "jupyter-client": ("8.3.1", "tornado>=6.2", "traitlets>=5.3"),
    "tornado": ("6.3.3",), "debugpy": ("1.8.0",), "jedi": ("0.19.1", "parso<0.9,>=0.8.3"),
    "parso": ("0.8.3",), "nbformat": ("5.9.2", "traitlets>=5.1"), "numpy": ("1.26.4",),
}


def test_the_defaults_table_names_the_default_pins() -> None:
    assert set(DEFAULT_REQUIRES) == {name for name, _ in RUNNER_REQUIREMENTS}


def test_installed_roots_pin_their_closure_from_the_target() -> None:
    notebook = (Requirement("numpy", "1.26.4", reasons=("import numpy (cell 1)",)),)
    reqs, notes = kernel_stack(notebook, _info(OLD_STACK))
    kernel = {r.name: r for r in reqs if r.kernel}
    assert {n: r.version for n, r in kernel.items()} == {
        "ipykernel": "6.25.2", "ipython": "8.12.3", "traitlets": "5.9.0",
        "jupyter-client": "8.3.1", "tornado": "6.3.3",
        # nbclient is not installed: its default comes with the image; what it needs
        # and the target has is pinned from the target.
        "nbformat": "5.9.2"}
    assert kernel["ipykernel"].reasons == (KERNEL_REASON,) and not kernel["ipykernel"].direct
    assert kernel["nbformat"].required_by == ("nbclient",)
    assert "ipykernel" in kernel["ipython"].required_by
    # The notebook's own requirement stays as it was; the debugger and completion are
    # left to the image (it removes them).
    assert [r for r in reqs if r.name == "numpy"] == list(notebook)
    assert not {"debugpy", "jedi", "parso"} & {r.name for r in reqs}
    assert notes == ()


def test_a_notebook_requirement_in_the_stack_keeps_its_entry_marked_kernel() -> None:
    own = Requirement("traitlets", "5.9.0", reasons=("import traitlets (cell 2)",))
    reqs, _ = kernel_stack((own,), _info(OLD_STACK))
    traitlets = next(r for r in reqs if r.name == "traitlets")
    assert traitlets.kernel and traitlets.direct and traitlets.reasons == own.reasons
    jedi = Requirement("jedi", "0.19.1", reasons=("import jedi (cell 3)",))
    reqs, _ = kernel_stack((jedi,), _info(OLD_STACK))
    assert next(r for r in reqs if r.name == "jedi").kernel   # the notebook needs it: kept


def test_a_missing_root_pins_only_what_suits_its_default() -> None:
    dists = {"traitlets": ("5.1.0",), "jupyter-client": ("8.3.1",), "nbformat": ("5.9.2",)}
    reqs, notes = kernel_stack((), _info(dists))
    kernel = {r.name: r.version for r in reqs if r.kernel}
    assert "traitlets" not in kernel and kernel["jupyter-client"] == "8.3.1"
    assert any("traitlets 5.1.0" in n and "nbclient" in n for n in notes)


def test_no_kernel_stack_in_the_target_adds_nothing() -> None:
    reqs, notes = kernel_stack((), _info({"six": ("1.16.0",)}))
    assert reqs == () and notes == ()


def test_a_live_kernel_pins_the_running_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    running = types.ModuleType("ipykernel")
    running.__version__ = "6.20.0"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ipykernel", running)
    info = _info(OLD_STACK, executable=sys.executable)
    reqs, notes = kernel_stack((), info, live=True)
    assert next(r for r in reqs if r.name == "ipykernel").version == "6.20.0"
    assert any("runs ipykernel 6.20.0 but 6.25.2 is installed" in n for n in notes)
    # Not this interpreter (a --python target): its metadata, not our sys.modules.
    reqs, _ = kernel_stack((), _info(OLD_STACK), live=True)
    assert next(r for r in reqs if r.name == "ipykernel").version == "6.25.2"


@pytest.mark.parametrize("source,names", [
    ("%reload_ext version_information", ["version_information"]),
    ("%load_ext autoreload\n%load_ext storemagic\n%load_ext IPython.extensions.autoreload", []),
    ("get_ipython().extension_manager.load_extension('watermark')", ["watermark"]),
    ("ip = get_ipython()\nip.extension_manager.reload_extension('line_profiler')",
     ["line_profiler"]),
    ("c = get_config()\nc.InteractiveShellApp.extensions = ['sql', 'autoreload']", ["sql"]),
    ("c.InteractiveShellApp.extensions.append('memory_profiler')", ["memory_profiler"]),
    ("c.TerminalIPythonApp.extensions.extend(['rpy2.ipython'])", ["rpy2.ipython"]),
    ("%config InteractiveShellApp.extensions = ['watermark']", ["watermark"]),
    ("extensions = ['not_an_extension_list']", []),
])
def test_extension_loads_name_requirements(source: str, names: List[str]) -> None:
    assert [r.module for r in extract_imports([source])] == names


def test_pull_stream_reports_layers_and_bytes_sparingly() -> None:
    events: List[Event] = []
    stream = _PullStream("python:3.11.7-slim", events.append)
    stream.feed({"status": "Pulling from library/python", "id": "3.11.7-slim"})
    stream.feed({"status": "Already exists", "id": "aaa"})
    stream.feed({"status": "Pulling fs layer", "id": "bbb"})
    for current in range(0, 10_000_001, 100_000):
        stream.feed({"status": "Downloading", "id": "bbb",
                     "progressDetail": {"current": current, "total": 10_000_000}})
    stream.feed({"status": "Download complete", "id": "bbb"})
    stream.feed({"status": "Pull complete", "id": "bbb"})
    stream.finish(ImageInfo("sha256:x", ("python@sha256:y",)))
    progress = [e for e in events if e.kind == "progress"]
    assert 5 <= len(progress) <= 20          # a tenth at a time, not one per chunk
    assert progress[-1].step == progress[-1].total == 2
    assert progress[-1].data["bytes"] == progress[-1].data["bytes_total"] == 10_000_000
    assert "10.0 of 10.0 MB" in progress[-1].message
    assert events[-1].kind == "done" and events[-1].phase is Phase.PULL
    assert not any("Downloading" in e.message for e in events if e.kind == "log")
    stream.feed({"error": "manifest unknown"})
    assert stream.error == "manifest unknown"


@pytest.mark.parametrize("message,reason", [
    ('Get "http://127.0.0.1:57401/v2/": dial tcp 127.0.0.1:57401: connect: connection refused',
     "unreachable"),
    ("manifest for python:3.11.99-slim not found: manifest unknown: manifest unknown",
     "not_found"),
    ("pull access denied for nosuch/x, repository does not exist or may require 'docker login'",
     "not_found"),
    ("unauthorized: authentication required", "denied"),
    ("received unexpected HTTP status: 500 Internal Server Error", "error"),
])
def test_registry_failure_reasons(message: str, reason: str) -> None:
    assert registry_failure(message) == reason


def test_references_by_digest_and_registry_hosts() -> None:
    digest = "sha256:" + "a" * 64
    assert _by_digest(f"python:3.11-slim@{digest}") == f"python@{digest}"
    assert _by_digest(f"127.0.0.1:5000/hub/python:3.11@{digest}") == \
        f"127.0.0.1:5000/hub/python@{digest}"
    assert _by_digest("python:3.11-slim") == "python:3.11-slim"
    assert registry_of("python:3.11-slim") == "docker.io"
    assert registry_of("127.0.0.1:5000/python:1") == "127.0.0.1:5000"
    assert registry_of("localhost/x") == "localhost"
