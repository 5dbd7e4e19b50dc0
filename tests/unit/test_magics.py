"""%load_ext nbdocker, %dockerize and %nbdocker_env in an in-process IPython shell."""
import importlib.metadata as md
import shutil
from pathlib import Path
from typing import Any, Iterator, List

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

import nbdocker  # noqa: E402
from nbdocker.engine.fake import FakeEngine  # noqa: E402
from nbdocker import pipeline  # noqa: E402
from nbdocker.frontends.views import DockerizeResult  # noqa: E402
from nbdocker.stages.capture.edit import apply_changes  # noqa: E402
from nbdocker.stages.capture.live import LiveKernel  # noqa: E402
from nbdocker.stages.run.selfcells import mark_nbdocker_cells  # noqa: E402
from nbdocker.notebook_io import read_notebook  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "notebooks" / "frontend"
BASE = "nbdocker-test/base:fake"


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[InteractiveShell]:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbdocker")
    yield ip
    ip.run_line_magic("unload_ext", "nbdocker")
    ip.user_ns.pop("__vsc_ipynb_file__", None)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    shutil.copy(FIXTURES / "dryrun.ipynb", tmp_path / "dryrun.ipynb")
    return tmp_path / "dryrun.ipynb"


def test_load_and_unload_register_the_magics(shell: InteractiveShell) -> None:
    assert {"dockerize", "nbdocker_env"} <= set(shell.magics_manager.magics["line"])
    shell.run_line_magic("unload_ext", "nbdocker")
    assert "dockerize" not in shell.magics_manager.magics["line"]
    shell.run_line_magic("load_ext", "nbdocker")
    assert "dockerize" in shell.magics_manager.magics["line"]


def test_dry_run_shows_pins_and_dockerfile(shell: InteractiveShell, notebook: Path) -> None:
    shell.run_cell("import packaging.version")
    result = shell.run_line_magic("dockerize", f"--dry-run --no-widget --notebook {notebook}")
    assert isinstance(result, DockerizeResult) and result.action == "dry-run"
    text = repr(result)
    version = md.version("packaging")
    assert f"packaging  {version}" in text.replace("   ", "  ")
    assert result.spec.requirement("packaging").version == version
    assert "FROM " in result.dockerfile and "Dockerfile:" in text
    assert result._repr_html_() is None  # --no-widget: plain text only
    assert "nbdocker" not in {r.name for r in result.spec.requirements}


def test_html_repr_without_no_widget(shell: InteractiveShell, notebook: Path) -> None:
    result = shell.run_line_magic("dockerize", f"--dry-run --notebook {notebook}")
    html = result._repr_html_()
    assert "<table>" in html and "packaging" in html and "Dockerfile" in html


def test_vscode_variable_names_the_notebook(shell: InteractiveShell, notebook: Path) -> None:
    shell.user_ns["__vsc_ipynb_file__"] = str(notebook)
    result = shell.run_line_magic("dockerize", "--dry-run --no-widget")
    assert result is not None and result.notebook == notebook


def test_unknown_notebook_is_one_clear_message(shell: InteractiveShell,
                                               capsys: pytest.CaptureFixture) -> None:
    assert shell.run_line_magic("dockerize", "--dry-run --no-widget") is None
    err = capsys.readouterr().err
    assert err.strip() == ("nbdocker: error: cannot tell which notebook this kernel runs; "
                           "pass --notebook PATH")


def test_conflicting_actions_are_refused(shell: InteractiveShell, notebook: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    assert shell.run_line_magic("dockerize", f"--run --verify --notebook {notebook}") is None
    assert "choose one of --dry-run, --run, --verify and --sweep" in capsys.readouterr().err


def test_build_with_options_and_text_progress(shell: InteractiveShell, notebook: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    engine = FakeEngine(images={BASE: {}}, execute_locally=True)
    monkeypatch.setattr("nbdocker.pipeline._default_engine", lambda: engine)
    result = shell.run_line_magic(
        "dockerize", f"--no-widget --notebook {notebook} --base-image {BASE} --tag me/nb:1 "
                     "--exclude packaging --add six==1.16.0")
    assert result is not None and result.action == "build" and result.tag == "me/nb:1"
    assert engine.builds[-1].tag == "me/nb:1"
    sent = {name: data for b in engine.builds for name, data in b.files.items()}
    # With a forwarded CA the install inputs go to the install container instead.
    sent.update({name.replace("tmp/", "", 1): data for r in engine.runs
                 for name, data in r.files_in.items()})
    requirements = sent["nbdocker-build/requirements.txt"].decode()
    assert "six==1.16.0" in requirements and "packaging==" not in requirements
    assert "[build]" in capsys.readouterr().out  # progress lines, as on a non-TTY console
    assert "image: me/nb:1" in repr(result)


def test_nbdocker_env_names_distributions_not_modules(shell: InteractiveShell,
                                                      capsys: pytest.CaptureFixture) -> None:
    shell.run_cell("import dateutil")
    shell.run_line_magic("nbdocker_env", "")
    out = capsys.readouterr().out
    assert out.startswith("Python ")
    line = next(l for l in out.splitlines() if l.startswith("python-dateutil"))
    assert md.version("python-dateutil") in line and "import dateutil" in line


def test_panel_option_returns_the_panel(shell: InteractiveShell, notebook: Path) -> None:
    pytest.importorskip("ipywidgets")
    panel = shell.run_line_magic("dockerize", f"--panel --notebook {notebook}")
    assert "packaging" in panel.checks
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()


def test_public_extension_hooks_are_lazy() -> None:
    assert "load_ipython_extension" in nbdocker.__all__
    assert nbdocker.load_ipython_extension.__module__ == "nbdocker"


def test_marking_own_cells_leaves_the_original_alone() -> None:
    nb = read_notebook(FIXTURES / "selfverify.ipynb")
    marked, cells = mark_nbdocker_cells(nb)
    assert cells == [1, 4]
    assert all("skip-execution" in marked.cells[i].metadata["tags"] for i in cells)
    assert all("nbdocker-skip-compare" in marked.cells[i].metadata["tags"] for i in cells)
    assert all("tags" not in nb.cells[i].metadata for i in cells)


@pytest.mark.parametrize("source,mine", [
    ("%load_ext nbdocker", True), ("%reload_ext nbdocker", True),
    ("r = %dockerize --verify", True), ("%nbdocker_env", True),
    ("get_ipython().run_line_magic('dockerize', '--dry-run')", True),
    ("import nbdocker", True), ("%load_ext autoreload", False),
    ("print('%dockerize is a magic')", False), ("import nbdockerish", False)])
def test_which_cells_drive_nbdocker(source: str, mine: bool) -> None:
    from nbdocker.stages.run.selfcells import is_nbdocker_cell

    assert is_nbdocker_cell({"cell_type": "code", "source": source}) is mine


def test_apply_changes_drops_orphaned_locked_requirements() -> None:
    from nbdocker.spec import PythonInfo, Requirement, EnvironmentSpec

    spec = EnvironmentSpec("x.ipynb", PythonInfo("3.11.7"), requirements=(
        Requirement("pandas", "2.0", True, ("import pandas (cell 1)",)),
        Requirement("numpy", "1.26", True, ("import numpy (cell 1)",)),
        Requirement("pytz", "2024.1", False, required_by=("pandas",)),
        Requirement("six", "1.16", False, required_by=("pytz",)),
        Requirement("tzdata", "2024.1", False, required_by=("numpy", "pandas"))))
    changed = apply_changes(spec, exclude=["Pandas"], extra=["requests==2.31.0"])
    assert {r.name for r in changed.requirements} == {"numpy", "tzdata", "requests"}
    assert changed.requirement("requests").reasons == ("added by hand",)


def test_the_plain_function_works_without_ipython(notebook: Path) -> None:
    # watermark's habit: the magic's work is a plain function; a namespace can be passed in
    plan = pipeline.plan(notebook, kernel=LiveKernel({"packaging": __import__("packaging")}))
    assert "packaging" in {r.name for r in plan.spec.direct_requirements}
    assert "FROM " in plan.dockerfile


def test_build_with_the_progress_widget(shell: InteractiveShell, notebook: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ipywidgets")
    from nbdocker.frontends.widgets.progress import ProgressView

    engine = FakeEngine(images={BASE: {}}, execute_locally=True)
    monkeypatch.setattr("nbdocker.pipeline._default_engine", lambda: engine)
    shown: List[Any] = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    views: List[ProgressView] = []
    real_init = ProgressView.__init__

    def spy(self: ProgressView, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        views.append(self)

    monkeypatch.setattr(ProgressView, "__init__", spy)
    result = shell.run_line_magic("dockerize", f"--notebook {notebook} --base-image {BASE}")
    assert result is not None and result._repr_html_() is not None
    (view,) = views
    assert shown == [view.widget]
    assert view.bar.value == 1.0 and view.bar.bar_style == "success" and view.events > 2


@pytest.mark.parametrize("quote", ["'", '"'])
def test_quoted_notebook_path_with_spaces(shell: InteractiveShell, tmp_path: Path,
                                          quote: str) -> None:
    notebook = tmp_path / "5. My analysis.ipynb"
    shutil.copy(FIXTURES / "dryrun.ipynb", notebook)
    result = shell.run_line_magic(
        "dockerize", f"--dry-run --no-widget --notebook {quote}{notebook}{quote}")
    assert isinstance(result, DockerizeResult)
    assert result.spec.notebook == notebook.name


def test_parse_line_unquotes_values_and_keeps_backslashes() -> None:
    from nbdocker.frontends.magics import parse_line

    args = parse_line(r'''--notebook "C:\work\my nb.ipynb" -p title 'a b' -p n 3 --tag x''')
    assert args.notebook == r"C:\work\my nb.ipynb"
    assert args.parameters == [["title", "a b"], ["n", "3"]]
    assert args.tag == "x"
    # a quote inside a value is the user's, and stays
    assert parse_line("--tag it's").tag == "it's"


def test_panel_without_ipywidgets_names_the_pip_line(shell: InteractiveShell, notebook: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now fails
    for name in ("nbdocker.frontends.widgets.panel", "nbdocker.frontends.widgets.progress"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert shell.run_line_magic("dockerize", f"--panel --notebook {notebook}") is None
    assert capsys.readouterr().err.strip() == (
        "nbdocker: error: the panel needs ipywidgets, which is not installed here: "
        "pip install 'nbdocker[widgets]'")
