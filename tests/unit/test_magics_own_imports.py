"""Modules nbdocker itself loads are not the notebook's.

Seen in a real kernel: after ``%dockerize --verify`` (nbformat's validator loads
jsonschema and its optional format plugins, the engine client loads socks), the next
``%dockerize --dry-run`` listed arrow, fqdn, webcolors, six, pysocks… as requirements
"loaded in this kernel". The magics (and the panel's background jobs) now add what
they load to the capture baseline.
"""
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator, List, Set

import pytest

pytest.importorskip("IPython")
pytest.importorskip("ipywidgets")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from nbdocker import pipeline  # noqa: E402
from nbdocker.frontends.magics import NbDockerMagics  # noqa: E402
from nbdocker.frontends.views import DockerizeResult  # noqa: E402
from nbdocker.frontends.widgets.panel import DockerizePanel  # noqa: E402
from nbdocker.options import Options  # noqa: E402
from nbdocker.stages.capture.live import own_imports  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "notebooks" / "frontend"


@pytest.fixture
def lazy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A top-level module nobody has imported yet (stands in for jsonschema's plugins)."""
    name = f"nbdocker_lazy_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[InteractiveShell]:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbdocker")
    yield ip
    ip.run_line_magic("unload_ext", "nbdocker")


def _magics(ip: InteractiveShell) -> NbDockerMagics:
    return ip.magics_manager.registry["NbDockerMagics"]


def test_own_imports_records_only_what_the_block_loads(lazy_module: str) -> None:
    seen: Set[str] = set()
    with own_imports(seen):
        __import__(lazy_module)
    assert lazy_module in seen and "sys" not in seen


def test_a_later_dockerize_gets_what_an_earlier_one_loaded_in_its_baseline(
        shell: InteractiveShell, lazy_module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    baselines: List[frozenset] = []

    def fake(action: str, notebook: Any, options: Any, **kwargs: Any) -> str:
        baselines.append(frozenset(kwargs["kernel"].baseline))
        __import__(lazy_module)  # what a verify's nbformat/jsonschema does
        return "done"

    monkeypatch.setattr(DockerizeResult, "make", staticmethod(fake))
    monkeypatch.setattr("nbdocker.frontends.notebook_path.find_notebook",
                        lambda explicit, user_ns=None: Path("x.ipynb"))
    assert shell.run_line_magic("dockerize", "--dry-run --no-widget") == "done"
    assert shell.run_line_magic("dockerize", "--dry-run --no-widget") == "done"
    assert lazy_module not in baselines[0] and lazy_module in baselines[1]
    assert lazy_module in _magics(shell).baseline


def test_the_panel_jobs_add_what_they_load(tmp_path: Path, lazy_module: str) -> None:
    notebook = tmp_path / "dryrun.ipynb"
    shutil.copy(FIXTURES / "dryrun.ipynb", notebook)

    def build(path: Path, options: Any, **kwargs: Any) -> Any:
        __import__(lazy_module)
        raise RuntimeError("stop here")  # still recorded: the job did load it

    own: Set[str] = set()
    panel = DockerizePanel(notebook, spec=pipeline.capture(notebook), actions={"build": build},
                           options=Options(base_image="nbdocker-test/base:fake"),
                           own_modules=own)
    panel.click_build()
    assert panel.wait(30)
    assert lazy_module in own
