"""The CI recipes README shows are what `nbdocker ci` renders, and they are valid YAML
with the steps a notebook repository needs."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from nbdocker.exceptions import InputError
from nbdocker.frontends.ci import render

yaml = pytest.importorskip("yaml")
README = Path(__file__).resolve().parent.parent.parent / "README.md"


def _bash_ok(script: str) -> None:
    proc = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_github_workflow_parses_and_has_the_steps() -> None:
    doc = yaml.safe_load(render("github"))
    steps = doc["jobs"]["verify"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert uses[0].startswith("actions/checkout@") and uses[1].startswith("actions/setup-python@")
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    assert any("junit" in u for u in uses)
    verify = next(s for s in steps if s.get("name") == "Verify the notebooks")
    assert "nbdocker verify" in verify["run"] and "--junit-xml" in verify["run"]
    assert "--html" in verify["run"] and verify["shell"] == "bash"
    _bash_ok(verify["run"])
    # reports are uploaded and published even when a notebook does not reproduce
    assert all(s.get("if") == "always()" for s in steps[-2:])


def test_gitlab_job_parses_and_publishes_junit() -> None:
    doc = yaml.safe_load(render("gitlab", pattern="notebooks/*.ipynb", python="3.12"))
    job = doc["nbdocker"]
    assert job["image"] == "python:3.12" and job["services"] == ["docker:27-dind"]
    assert job["artifacts"]["reports"]["junit"] == "nbdocker-reports/*.xml"
    assert job["artifacts"]["when"] == "always"
    script = "\n".join(job["script"])
    assert "git ls-files -z -- 'notebooks/*.ipynb'" in script
    _bash_ok(script)


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_readme_shows_exactly_the_rendered_recipe(kind: str) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert render(kind) in blocks, f"README's {kind} recipe differs from `nbdocker ci {kind}`"


@pytest.mark.parametrize("changes", [{"kind": "jenkins"}, {"python": "3.11; rm -rf /"},
                                     {"pattern": "x'; rm -rf / #"}, {"package": "a\nb"}])
def test_bad_recipe_values_are_refused(changes: dict) -> None:
    kind = changes.pop("kind", "github")
    with pytest.raises(InputError):
        render(kind, **changes)
