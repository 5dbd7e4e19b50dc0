"""Live capture on a fake user namespace, fake sys.modules and fake installed metadata."""
import types
from pathlib import Path

from nbdocker.stages.capture.interpreter import InterpreterInfo
from nbdocker.stages.capture.live import capture_live, kernel_distributions, user_modules
from nbdocker.spec import EnvironmentSpec, PythonInfo, Requirement

STDLIB = frozenset({"os", "json", "sys", "builtins"})


def _dist(name: str, version: str, *requires: str) -> dict:
    return {"name": name, "version": version, "requires": list(requires)}


INFO = InterpreterInfo(
    executable="/fake/python", version="3.11.7", implementation="CPython", system="linux",
    machine="x86_64", stdlib=STDLIB,
    packages={"sk": ("scikit-learn",), "fakedep": ("fakedep",), "machinery": ("machinery",),
              "ipykernel": ("ipykernel",), "loner": ("loner",), "nbdocker": ("nbdocker",),
              "pulled": ("pulled",)},
    distributions={
        "scikit-learn": _dist("scikit-learn", "1.4.0", "fakedep>=1"),
        "fakedep": _dist("fakedep", "2.0", "pulled; python_version >= '3'"),
        "pulled": _dist("pulled", "0.1"),
        "machinery": _dist("machinery", "5.0"),
        "ipykernel": _dist("ipykernel", "6.0", "machinery"),
        "loner": _dist("loner", "3.3"),
        "nbdocker": _dist("nbdocker", "0.1.0"),
    },
    marker_env={"python_version": "3.11", "python_full_version": "3.11.7",
                "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                "platform_machine": "x86_64", "implementation_name": "cpython",
                "platform_python_implementation": "CPython", "platform_release": "",
                "platform_version": "", "implementation_version": "3.11.7"},
)


def _module(name: str) -> types.ModuleType:
    return types.ModuleType(name)


class Estimator:  # pretends to come from sk.linear_model
    pass


Estimator.__module__ = "sk.linear_model"


def test_user_modules_reads_namespace_and_thins_sys_modules() -> None:
    def helper() -> None:
        pass

    def mine() -> None:
        pass

    helper.__module__ = "fakedep.tools"
    mine.__module__ = "__main__"  # defined in a cell
    ns = {"sk": _module("sk"), "Estimator": Estimator, "helper": helper, "model": Estimator(),
          "os": _module("os"), "_private": _module("loner"), "In": [], "n": 3,
          "nb": _module("nbdocker"), "mine": mine}
    modules = ["sk", "sk.linear_model", "fakedep", "machinery", "loner", "os", "json", "_thread",
               "early", "early.sub", "__main__", "nbdocker"]
    found = {m.name: m for m in user_modules(ns, modules=modules, baseline={"early", "sk"},
                                             stdlib=STDLIB)}
    assert set(found) == {"sk", "fakedep", "machinery", "loner"}
    assert found["sk"].referenced and found["fakedep"].referenced
    assert not found["machinery"].referenced and not found["loner"].referenced
    assert "sk is module sk" in found["sk"].reasons
    assert "Estimator from sk.linear_model" in found["sk"].reasons
    assert any("instance of Estimator" in r for r in found["sk"].reasons)
    assert found["fakedep"].reasons == ("helper from fakedep.tools",)
    assert found["loner"].reasons == ("import loner (loaded in this kernel)",)


def test_kernel_machinery_is_the_closure_of_the_kernel_roots() -> None:
    assert kernel_distributions(INFO, roots=("ipykernel",)) == {"ipykernel", "machinery"}


def test_capture_live_joins_static_spec_pins_and_locks() -> None:
    static = EnvironmentSpec(
        notebook="nb.ipynb", python=PythonInfo("3.11.7"),
        requirements=(Requirement("fakedep", "2.0", False, required_by=("something",)),
                      Requirement("nbdocker", "0.1.0", True, ("%load_ext nbdocker (cell 0)",))))
    ns = {"model": Estimator()}
    modules = ["sk", "machinery", "ipykernel", "loner", "fakedep", "pulled", "unknown_local"]
    spec = capture_live(Path("nb.ipynb"), ns, modules=modules, static=static, info=INFO)
    reqs = {r.name: r for r in spec.requirements if not r.kernel}
    # The distribution name, pinned from this interpreter, with the reason.
    assert reqs["scikit-learn"].version == "1.4.0" and reqs["scikit-learn"].direct
    assert reqs["scikit-learn"].reasons == ("model: instance of Estimator (sk.linear_model)",)
    # Loaded only because scikit-learn needs it: stays a locked, non-direct requirement.
    assert not reqs["fakedep"].direct and not reqs["pulled"].direct
    # Kernel machinery is not the notebook's (it is the kernel stack); nbdocker never is.
    assert "machinery" not in reqs and "ipykernel" not in reqs and "nbdocker" not in reqs
    kernel = {r.name: r.version for r in spec.requirements if r.kernel}
    assert kernel == {"ipykernel": "6.0", "machinery": "5.0"}
    # Loaded in the kernel, needed by nothing else: a direct requirement.
    assert reqs["loner"].direct and reqs["loner"].reasons == ("import loner (loaded in this kernel)",)
    assert spec.notebook == "nb.ipynb"


def test_capture_live_without_a_notebook_uses_the_kernel_alone() -> None:
    spec = capture_live(None, {"sk": _module("sk")}, modules=[], info=INFO)
    assert spec.python.version == "3.11.7"
    assert [r.name for r in spec.direct_requirements] == ["scikit-learn"]


def test_a_referenced_module_without_distribution_warns_unless_local(tmp_path: Path,
                                                                     monkeypatch) -> None:
    import sys

    ghost, local = _module("ghostpkg"), _module("helpers_mod")
    ghost.__file__ = "/elsewhere/ghostpkg/__init__.py"
    local.__file__ = str(tmp_path / "helpers_mod.py")
    monkeypatch.setitem(sys.modules, "ghostpkg", ghost)
    monkeypatch.setitem(sys.modules, "helpers_mod", local)
    static = EnvironmentSpec(notebook="nb.ipynb", python=PythonInfo("3.11.7"))
    spec = capture_live(tmp_path / "nb.ipynb", {"g": ghost, "h": local}, modules=[], info=INFO,
                        static=static)
    assert [r for r in spec.requirements if not r.kernel] == []
    assert len(spec.warnings) == 1 and spec.warnings[0].startswith("ghostpkg is used")
