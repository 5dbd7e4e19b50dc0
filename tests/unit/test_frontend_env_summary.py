"""%nbdocker_env's "imported as": what the notebook imports, not every module provided."""
import types
from typing import Any

import pytest

from nbdocker.stages.capture import interpreter
from nbdocker.stages.capture.summary import environment_summary
from nbdocker.spec import EnvironmentSpec, PythonInfo, Requirement

# matplotlib provides three top-level modules; a notebook imports one of them
PACKAGES = {"matplotlib": ("matplotlib",), "mpl_toolkits": ("matplotlib",),
            "pylab": ("matplotlib",), "zzfake": ("zz-fake",)}


@pytest.fixture(autouse=True)
def fake_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    def query(executable: Any, **_: Any) -> Any:
        return types.SimpleNamespace(packages=PACKAGES)
    monkeypatch.setattr(interpreter, "query_interpreter", query)


def _row(reason: str, dist: str = "matplotlib") -> str:
    spec = EnvironmentSpec(notebook="x.ipynb", python=PythonInfo("3.11.7"), requirements=(
        Requirement(dist, "1.0", direct=True, reasons=(reason,)),))
    return next(line for line in environment_summary(spec).splitlines()
                if line.startswith(dist + " ")).rstrip()


def test_imported_as_names_the_module_the_reasons_mention() -> None:
    assert _row("import matplotlib.pyplot (cell 1)").endswith("  import matplotlib")
    assert _row("from mpl_toolkits.mplot3d import Axes3D (cell 2)").endswith(
        "  import mpl_toolkits")


def test_imported_as_falls_back_to_what_the_distribution_provides() -> None:
    # nothing in the reasons names a module, and zzfake is not loaded in this process
    assert _row("%pip install zz-fake (cell 0)", "zz-fake").endswith("  import zzfake")
