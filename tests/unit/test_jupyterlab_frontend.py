"""What a JupyterLab check showed: the live log must follow the newest line, the status
must stay one line, and the requirements table must not be right-aligned."""
import pytest

pytest.importorskip("ipywidgets")

from nbdocker.events import Event, Phase  # noqa: E402
from nbdocker.stages.capture.summary import requirements_html  # noqa: E402
from nbdocker.spec import EnvironmentSpec, PythonInfo, Requirement  # noqa: E402
from nbdocker.frontends.widgets.progress import ProgressView  # noqa: E402


def test_log_is_escaped_html_pinned_to_its_end_and_text_stays_plain() -> None:
    # A Textarea stayed scrolled to the top while the build went on (JupyterLab check).
    view = ProgressView((Phase.BUILD,))
    view(Event(Phase.BUILD, "log", "ERROR: <no> matching dist & co"))
    view.append("last line")
    assert view.text == "ERROR: <no> matching dist & co\nlast line"
    assert "&lt;no&gt; matching dist &amp; co\nlast line</pre>" in view.log.value
    assert "<no>" not in view.log.value
    assert "column-reverse" in view.log.value and "overflow:auto" in view.log.value
    view.start((Phase.BUILD,))
    assert view.text == "" and "last line" not in view.log.value


def test_status_is_one_escaped_line_that_does_not_wrap() -> None:
    view = ProgressView((Phase.BUILD,))
    long = "step 6/20: RUN /opt/venv/bin/python -m pip install <pkgs> " + "x" * 400
    view(Event(Phase.BUILD, "progress", long, step=6, total=20))
    assert "white-space:nowrap" in view.status.value and "text-overflow:ellipsis" in view.status.value
    assert "&lt;pkgs&gt;" in view.status.value and "<pkgs>" not in view.status.value
    view.finish(False, "build failed: 'quoted'")
    assert "color:#b00" in view.status.value and "&#x27;quoted&#x27;" in view.status.value


def test_requirements_table_is_left_aligned_for_jupyterlab() -> None:
    # JupyterLab right-aligns rendered table cells; the "why" column is prose.
    spec = EnvironmentSpec(notebook="x.ipynb", python=PythonInfo("3.11.7"), requirements=(
        Requirement("numpy", "2.0.0", direct=True, reasons=("import numpy (cell 1)",)),))
    out = requirements_html(spec)
    cells = out.count("<td ") + out.count("<th ")
    assert cells == 6 and out.count("text-align:left") == cells
