"""Live capture: optional extras of the kernel machinery's dependencies (jsonschema's
format checkers, requests' SOCKS support) that the machinery imports whenever they are
installed are machinery too, not "loaded in this kernel" requirements (field test H8).
Fake installed metadata only; no kernel, no engine."""
import types
from pathlib import Path
from typing import Optional

from nbdocker.stages.capture.interpreter import InterpreterInfo
from nbdocker.stages.capture.live import capture_live, kernel_distributions
from nbdocker.spec import EnvironmentSpec, PythonInfo, Requirement

STDLIB = frozenset({"os", "sys", "json"})


def _dist(name: str, version: str, *requires: str) -> dict:
    return {"name": name, "version": version, "requires": list(requires)}


_DISTS = [
    _dist("ipykernel", "6.29", "ipython>=8", "pytest; extra == 'test'",
          "pyqt5; extra == 'pyqt5'"),
    _dist("ipython", "8.20", "matplotlib; extra == 'matplotlib'",
          "numpy; extra == 'test-extra'", "pandas; extra == 'all'"),
    _dist("nbformat", "5.10", "jsonschema>=2.6"),
    _dist("jsonschema", "4.23", "fqdn; extra == \"format\"",
          "rfc3987-syntax>=1.1; extra == \"format-nongpl\"",
          "webcolors>=24.6; extra == \"format-nongpl\"",
          "sphinx; extra == \"docs\""),
    _dist("rfc3987-syntax", "1.1", "lark>=1.2"),
    _dist("lark", "1.2.2", "regex; extra == 'regex'"),
    _dist("regex", "2024.1"),
    _dist("docker", "7.1", "requests>=2.26"),
    _dist("requests", "2.32", "urllib3", "PySocks!=1.5.7,>=1.5.6; extra == \"socks\""),
    _dist("urllib3", "2.2"),
    _dist("PySocks", "1.7.1"),
    _dist("fqdn", "1.5.1"),
    _dist("webcolors", "24.8"),
    _dist("pytest", "8.0"),
    _dist("sphinx", "7.0"),
    _dist("matplotlib", "3.9", "numpy"),
    _dist("numpy", "2.0"),
    _dist("pandas", "2.2", "numpy"),
    _dist("pyqt5", "5.15"),
]
# import name -> distribution (what packages_distributions() says)
_MODULES = {"ipykernel": "ipykernel", "IPython": "ipython", "nbformat": "nbformat",
            "jsonschema": "jsonschema", "rfc3987_syntax": "rfc3987-syntax", "lark": "lark",
            "regex": "regex", "docker": "docker", "requests": "requests", "urllib3": "urllib3",
            "socks": "PySocks", "fqdn": "fqdn", "webcolors": "webcolors", "pytest": "pytest",
            "sphinx": "sphinx", "matplotlib": "matplotlib", "numpy": "numpy",
            "pandas": "pandas", "PyQt5": "pyqt5"}

INFO = InterpreterInfo(
    executable="/fake/python", version="3.11.7", implementation="CPython", system="linux",
    machine="x86_64", stdlib=STDLIB,
    packages={m: (d,) for m, d in _MODULES.items()},
    distributions={d["name"].lower(): d for d in _DISTS},
    marker_env={"python_version": "3.11", "python_full_version": "3.11.7",
                "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                "platform_machine": "x86_64", "implementation_name": "cpython",
                "platform_python_implementation": "CPython", "platform_release": "",
                "platform_version": "", "implementation_version": "3.11.7"},
)
# capture_live uses the real KERNEL_ROOTS; those not installed here are simply absent
ROOTS = ("ipykernel", "nbformat", "docker")
EXTRAS_ONLY = {"fqdn", "rfc3987-syntax", "webcolors", "lark", "regex", "pysocks"}
# jsonschema's format plugins, lark (via rfc3987-syntax), socks (requests' extra)
LOADED_EXTRAS = ["fqdn", "rfc3987_syntax", "webcolors", "lark", "regex", "socks"]


def test_machinery_includes_runtime_extras_and_their_closure() -> None:
    machinery = kernel_distributions(INFO, roots=ROOTS)
    # extras of dependencies (jsonschema, requests), and the closure of what they bring
    # (rfc3987-syntax -> lark, and lark's own extra -> regex)
    assert EXTRAS_ONLY <= machinery
    assert {"ipykernel", "ipython", "nbformat", "jsonschema", "docker", "requests",
            "urllib3"} <= machinery


def test_test_docs_and_user_feature_extras_are_not_machinery() -> None:
    machinery = kernel_distributions(INFO, roots=ROOTS)
    # test/docs/all extras would hide the notebook's own libraries; %matplotlib and
    # %gui qt serve the user, so what their extras bring is the notebook's.
    assert not {"pytest", "sphinx", "numpy", "pandas", "matplotlib", "pyqt5"} & machinery


def _capture(ns: dict, modules: list, static: Optional[EnvironmentSpec] = None) -> dict:
    spec = capture_live(Path("nb.ipynb"), ns, modules=modules, info=INFO,
                        static=static or EnvironmentSpec(notebook="nb.ipynb",
                                                         python=PythonInfo("3.11.7")))
    return {r.name: r for r in spec.requirements}


def test_extras_loaded_only_in_sys_modules_are_not_requirements() -> None:
    reqs = _capture({}, ["IPython", "ipykernel", "jsonschema", *LOADED_EXTRAS, "matplotlib"])
    assert not EXTRAS_ONLY & set(reqs)
    # a user-feature extra's library loaded in the kernel is still captured
    assert reqs["matplotlib"].direct
    assert reqs["matplotlib"].reasons == ("import matplotlib (loaded in this kernel)",)


def test_extras_the_notebook_names_are_still_captured() -> None:
    # the namespace names lark; the static read names requests[socks]' PySocks
    lark = types.ModuleType("lark")
    static = EnvironmentSpec(notebook="nb.ipynb", python=PythonInfo("3.11.7"),
                             requirements=(Requirement("pysocks", "1.7.1", True,
                                                       ("import socks (cell 2)",)),))
    reqs = _capture({"lark": lark}, LOADED_EXTRAS, static=static)
    assert reqs["lark"].direct and reqs["lark"].reasons == ("lark is module lark",)
    assert reqs["pysocks"].direct and reqs["pysocks"].reasons == ("import socks (cell 2)",)
    # the others stay out
    assert not {"fqdn", "webcolors", "rfc3987-syntax"} & set(reqs)
