"""%dockerize --dry-run: a notebook without third-party imports says so (text and HTML,
the same line as `nbdocker capture`), and the result names the tag a build would use."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nbdocker.frontends.views import DockerizeResult
from nbdocker.options import Options
from nbdocker.pipeline import BuildOutcome
from nbdocker.spec import EnvironmentSpec, PythonInfo, Requirement
from nbdocker.stages.capture.summary import NO_REQUIREMENTS, format_spec, requirements_html
from nbdocker.stages.image import default_tag
from nbdocker.stages.verify import CellResult, ReproductionReport, report_html

BASE = "local/python:3.11-slim"


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    """A notebook with standard-library imports only."""
    path = tmp_path / "plain.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import os\nprint(os.sep)")]), str(path))
    return path


def _spec(*reqs: Requirement) -> EnvironmentSpec:
    return EnvironmentSpec("plain.ipynb", PythonInfo("3.11.7"), requirements=reqs)


def test_no_requirements_line_is_shared_with_the_cli() -> None:
    assert NO_REQUIREMENTS in format_spec(_spec()).splitlines()


def test_html_says_no_requirements_instead_of_an_empty_table() -> None:
    html = requirements_html(_spec())
    assert f"<p>{NO_REQUIREMENTS}</p>" in html and "<table" not in html


def test_html_keeps_the_table_when_there_are_requirements() -> None:
    html = requirements_html(_spec(Requirement("numpy", "2.0", True, ("import numpy (cell 0)",))))
    assert "<table" in html and "<code>numpy</code>" in html and NO_REQUIREMENTS not in html


def test_dry_run_of_a_stdlib_only_notebook(plain: Path) -> None:
    result = DockerizeResult.make("dry-run", plain, Options(base_image=BASE))
    assert result.spec.direct_requirements == ()
    tag = default_tag(result.spec)
    assert result.tag == tag and result.image_id is None
    text = result.text()
    assert NO_REQUIREMENTS in text.splitlines()
    assert f"image tag: {tag} (dry run: nothing built)" in text.splitlines()
    html = result._repr_html_() or ""
    assert f"<p>{NO_REQUIREMENTS}</p>" in html and "<table" not in html
    assert f"image tag <code>{tag}</code> (dry run: nothing built)" in html


def test_dry_run_states_the_tag_given_with_tag(plain: Path) -> None:
    result = DockerizeResult.make("dry-run", plain, Options(base_image=BASE, tag="me/plain:1"))
    assert result.tag == "me/plain:1"
    assert "image tag: me/plain:1 (dry run: nothing built)" in result.text()


def test_a_built_image_is_still_reported_as_an_image() -> None:
    built = BuildOutcome(tag="nbdocker/plain:abc", image_id="sha256:1", spec=_spec(),
                         base_image=BASE)
    result = DockerizeResult(Path("plain.ipynb"), _spec(), "build", built)
    assert "image: nbdocker/plain:abc (sha256:1)" in result.text()
    assert "nothing built" not in result.text() + (result._repr_html_() or "")


def test_report_html_shows_the_note_next_to_the_diff() -> None:
    cell = CellResult(3, "error", diff="-a\n+b", source_head="print(df)",
                      note="re-run raised NameError: x; probably follows the error in cell 2")
    html = report_html(ReproductionReport(False, (cell,)))
    assert "probably follows the error in cell 2" in html and "+b" in html
