"""The OS-package layer (issue 12.1) on the real engine: apt installs what the spec
names, and a package apt cannot find fails the build naming it (exit 3)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nbdocker import pipeline
from nbdocker.engine.docker import DockerEngine
from nbdocker.frontends.cli import main
from nbdocker.spec import SystemPackage

from _build_helpers import build, make_spec, write_notebook

pytestmark = pytest.mark.engine


def test_graphviz_from_apt_runs_dot_in_the_image(engine: DockerEngine, base_image: str,
                                                 tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path, "# dot", code="import six\n!dot -V")
    spec = make_spec(notebook, pins=[("six", "1.16.0")],
                     apt_packages=(SystemPackage("graphviz", reasons=("!dot -V (cell 1)",)),))
    tag = "nbdocker-itest/apt:graphviz"
    try:
        build(engine, spec, tmp_path, base_image, tag)
        dot = engine.run(tag, ["dot", "-V"])
        assert dot.exit_code == 0 and "dot - graphviz version" in " ".join(dot.logs), dot.logs
        # Package lists went in the layer that fetched them; the run user is still 1000.
        lists = engine.run(tag, ["sh", "-c", "ls -A /var/lib/apt/lists | wc -l; id -u"])
        assert lists.logs == ("0", "1000")
        # Before the Python layers (cache order): the apt layer is older than the venv's.
        history = [h["CreatedBy"] for h in engine.client.api.history(tag)][::-1]
        apt = next(i for i, h in enumerate(history) if "apt-get install" in h)
        venv = next(i for i, h in enumerate(history) if "/opt/venv" in h)
        assert apt < venv
    finally:
        engine.remove_image(tag)


def test_an_unknown_apt_package_fails_the_build_naming_it(engine: DockerEngine, base_image: str,
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    notebook = write_notebook(tmp_path / "nb", "# no such package", code="import json")
    spec = make_spec(notebook, pins=[],
                     apt_packages=(SystemPackage("nbdocker-no-such-pkg"),))
    bundle = pipeline.export(notebook, tmp_path / "bundle", spec=spec)   # carries apt_packages
    code = main(["build", str(bundle), "--base-image", base_image, "--python", sys.executable])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "apt could not install nbdocker-no-such-pkg: unable to locate package" in err
