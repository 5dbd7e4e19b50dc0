"""Live capture: helper modules next to the notebook bring the packages they import."""
import types
from pathlib import Path

from nbdocker.stages.capture.interpreter import InterpreterInfo
from nbdocker.stages.capture.live import capture_live, user_modules

STDLIB = frozenset({"os", "math", "sys"})
INFO = InterpreterInfo(
    executable="/fake/python", version="3.11.7", implementation="CPython", system="linux",
    machine="x86_64", stdlib=STDLIB,
    packages={"numpy": ("numpy",), "pandas": ("pandas",)},
    distributions={"numpy": {"name": "numpy", "version": "2.0.0", "requires": []},
                   "pandas": {"name": "pandas", "version": "2.2.0", "requires": []}},
    marker_env={"python_version": "3.11", "python_full_version": "3.11.7",
                "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                "platform_machine": "x86_64", "implementation_name": "cpython",
                "platform_python_implementation": "CPython", "platform_release": "",
                "platform_version": "", "implementation_version": "3.11.7"},
)


def _module(name: str, file: str = "") -> types.ModuleType:
    mod = types.ModuleType(name)
    if file:
        mod.__file__ = file
    return mod


def _helpers(folder: Path) -> types.ModuleType:
    """nsfg.py imports numpy and a second helper, stats.py, which imports pandas."""
    numpy = _module("numpy", "/venv/lib/python3.11/site-packages/numpy/__init__.py")
    pandas = _module("pandas", "/venv/lib/python3.11/site-packages/pandas/__init__.py")
    stats = _module("stats", str(folder / "stats.py"))
    stats.pd, stats.math = pandas, _module("math", "/usr/lib/python3.11/math.py")
    nsfg = _module("nsfg", str(folder / "nsfg.py"))
    nsfg.np, nsfg.stats = numpy, stats
    numpy.pandas = pandas  # an installed package's globals are not the user's code
    return nsfg


def test_a_helper_modules_imports_count_though_loaded_before_load_ext(tmp_path: Path) -> None:
    nsfg = _helpers(tmp_path)
    # everything was imported before %load_ext: the baseline hides it from sys.modules
    modules = ["nsfg", "stats", "numpy", "pandas", "math"]
    found = {m.name: m for m in user_modules({"nsfg": nsfg}, modules=modules,
                                             baseline=set(modules), stdlib=STDLIB)}
    assert set(found) == {"nsfg", "stats", "numpy", "pandas"}  # helpers go on as local code
    assert found["numpy"].referenced and found["pandas"].referenced
    assert found["numpy"].reasons == ("nsfg: np is module numpy",)
    assert found["pandas"].reasons == ("stats: pd is module pandas",)


def test_installed_packages_are_not_walked() -> None:
    numpy = _module("numpy", "/venv/lib/python3.11/site-packages/numpy/__init__.py")
    numpy.pandas = _module("pandas", "/venv/lib/python3.11/site-packages/pandas/__init__.py")
    found = {m.name for m in user_modules({"np": numpy}, modules=[], stdlib=STDLIB)}
    assert found == {"numpy"}


def test_capture_live_pins_what_local_helpers_import(tmp_path: Path) -> None:
    nsfg = _helpers(tmp_path)
    spec = capture_live(None, {"nsfg": nsfg}, modules=["nsfg"], baseline={"nsfg"}, info=INFO)
    assert {(r.name, r.version, r.direct) for r in spec.requirements} == {
        ("numpy", "2.0.0", True), ("pandas", "2.2.0", True)}
