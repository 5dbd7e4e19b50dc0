"""The panel driven from Python (no browser) with FakeEngine and a stand-in pipeline."""
import shutil
import threading
from pathlib import Path
from typing import Any, List

import pytest

pytest.importorskip("ipywidgets")

from nbdocker.engine.fake import FakeEngine  # noqa: E402
from nbdocker.events import Event, Phase  # noqa: E402
from nbdocker.exceptions import BuildError  # noqa: E402
from nbdocker import pipeline  # noqa: E402
from nbdocker.options import Options  # noqa: E402
from nbdocker.spec import EnvironmentSpec  # noqa: E402
from nbdocker.frontends.widgets.panel import DockerizePanel
from nbdocker.frontends.widgets.progress import ProgressView  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "notebooks" / "frontend"
BASE = "nbdocker-test/base:fake"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The base-image probe caches by image id: keep the fake's ids out of ~/.cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    for name in ("dryrun.ipynb", "selfverify.ipynb"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path / "dryrun.ipynb"


@pytest.fixture(scope="module")
def spec() -> EnvironmentSpec:
    return pipeline.capture(FIXTURES / "dryrun.ipynb")


def _engine(**kwargs: Any) -> FakeEngine:
    # execute_locally: the base-image Python probe (and runs) use this interpreter.
    return FakeEngine(images={BASE: {}}, execute_locally=True, **kwargs)


def _buttons(panel: DockerizePanel) -> List[bool]:
    return [b.disabled for b in panel.buttons]


def test_build_runs_the_pipeline_and_the_bar_advances(notebook: Path, spec: EnvironmentSpec) -> None:
    engine = _engine()
    panel = DockerizePanel(notebook, spec=spec, engine=engine, options=Options(base_image=BASE))
    seen: List[float] = []
    panel.progress.bar.observe(lambda change: seen.append(change["new"]), "value")
    panel.click_build()
    assert panel.wait(60)
    assert panel.error is None, panel.message.value
    assert [b.tag for b in engine.builds if b.tag] == [panel.result.tag]
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0
    assert panel.progress.bar.bar_style == "success"
    assert "step" in panel.progress.log.value
    assert panel.result.tag in panel.report.value
    assert _buttons(panel) == [False] * 4


def test_unchecked_and_added_requirements_reach_the_build(notebook: Path,
                                                          spec: EnvironmentSpec) -> None:
    engine = _engine()
    panel = DockerizePanel(notebook, spec=spec, engine=engine, options=Options(base_image=BASE))
    assert "packaging" in panel.checks  # `import packaging.version` in the notebook
    panel.checks["packaging"].value = False
    assert panel.add_requirement("six==1.16.0") is not None
    assert "six" in panel.checks
    panel.click_build()
    assert panel.wait(60) and panel.error is None, panel.message.value
    sent = {name: data for b in engine.builds for name, data in b.files.items()}
    # With a forwarded CA the install inputs go to the install container instead.
    sent.update({name.replace("tmp/", "", 1): data for r in engine.runs
                 for name, data in r.files_in.items()})
    requirements = sent["nbdocker-build/requirements.txt"].decode()
    assert "six==1.16.0" in requirements
    assert "packaging==" not in requirements


def test_bad_addition_is_shown_in_the_panel(notebook: Path, spec: EnvironmentSpec) -> None:
    panel = DockerizePanel(notebook, spec=spec, engine=_engine(), options=Options(base_image=BASE))
    assert panel.add_requirement("not a requirement!!") is None
    assert "not a requirement" in panel.message.value
    assert "not" not in panel.checks


def test_build_error_lands_in_the_panel_not_as_a_traceback(notebook: Path,
                                                           spec: EnvironmentSpec) -> None:
    error = BuildError("build failed at step 5/9 (RUN pip install): no matching distribution",
                       log_tail=["ERROR: No matching distribution found for nosuchpkg==9"])
    panel = DockerizePanel(notebook, spec=spec, engine=_engine(build_error=error), options=Options(base_image=BASE))
    panel.click_build()
    assert panel.wait(60)
    assert panel.error is error
    assert "build failed at step 5/" in panel.message.value   # /total: of all build parts
    assert "Traceback" not in panel.message.value
    assert "No matching distribution found" in panel.progress.log.value
    assert panel.progress.bar.bar_style == "danger"
    assert _buttons(panel) == [False] * 4


def test_buttons_are_disabled_while_a_job_runs(notebook: Path, spec: EnvironmentSpec) -> None:
    started, release = threading.Event(), threading.Event()
    calls: List[str] = []

    def job(action: str) -> Any:
        def run(path: Path, options: Options, **kwargs: Any) -> Any:
            calls.append(action)
            kwargs["on_event"](Event(Phase.BUILD, "progress", "step 1/2", step=1, total=2))
            started.set()
            release.wait(30)
            raise RuntimeError("boom")
        return run

    panel = DockerizePanel(notebook, spec=spec, options=Options(base_image=BASE),
                           actions={a: job(a) for a in ("build", "run", "verify")})
    panel.click_verify()
    assert started.wait(30)
    try:
        assert panel.busy and _buttons(panel) == [True] * 4
        assert 0 < panel.progress.bar.value < 1
        panel.click_build()  # ignored while busy
    finally:
        release.set()
    assert panel.wait(30)
    assert calls == ["verify"]
    assert _buttons(panel) == [False] * 4
    assert "internal error: RuntimeError: boom" in panel.message.value
    assert "Traceback" not in panel.message.value  # one line in the panel...
    assert "Traceback (most recent call last)" in panel.progress.text  # ...the rest in its log
    assert 'raise RuntimeError("boom")' in panel.progress.text


def test_capture_failure_disables_the_panel_with_a_message(tmp_path: Path) -> None:
    panel = DockerizePanel(tmp_path / "missing.ipynb", engine=_engine())
    assert "notebook not found" in panel.message.value
    assert _buttons(panel) == [True] * 4
    panel.click_build()
    assert panel.wait(1) and panel.result is None


@pytest.mark.parametrize("answer,reproduced", [(42, True), (41, False)])
def test_verify_skips_its_own_cells_and_shows_diffs(notebook: Path, answer: int,
                                                    reproduced: bool) -> None:
    path = notebook.parent / "selfverify.ipynb"
    text = path.read_text(encoding="utf-8").replace('{\\"answer\\": 42}', f'{{\\"answer\\": {answer}}}')
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    engine = _engine()
    panel = DockerizePanel(path, engine=engine, options=Options(base_image=BASE))
    panel.click_verify()
    assert panel.wait(120)
    assert panel.error is None, panel.message.value
    report = panel.result.report
    assert report.reproduced is reproduced
    statuses = {c.index: c.status for c in report.cells}
    assert statuses[1] == "skipped"  # %load_ext nbdocker: nbdocker is not in the image
    assert statuses[3] == "same"
    assert ("NOT REPRODUCED" in panel.report.value) is not reproduced
    if not reproduced:
        assert statuses[2] == "differs" and "answer" in panel.report.value
    assert path.read_bytes() == before  # the user's notebook is never modified


def test_progress_view_shares_the_bar_between_phases() -> None:
    view = ProgressView((Phase.CAPTURE, Phase.BUILD))
    view(Event(Phase.CAPTURE, "done", "3 requirements"))
    assert view.bar.value == pytest.approx(0.5)
    view(Event(Phase.BUILD, "progress", "step 1/4", step=1, total=4))
    assert view.bar.value == pytest.approx(0.625)
    view(Event(Phase.RUN, "progress", "not in the plan", step=1, total=1))
    assert view.bar.value == pytest.approx(0.625)
    view(Event(Phase.BUILD, "log", "Step 1/4 : FROM x"))
    view(Event(Phase.BUILD, "warning", "base has Python 3.9"))
    assert "Step 1/4 : FROM x" in view.log.value and "warning: base has Python 3.9" in view.log.value
