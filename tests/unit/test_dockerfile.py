"""render(): golden files, determinism, layer order, and what never reaches the text.

Regenerate the golden files after an intended change with
``NBDOCKER_UPDATE_GOLDEN=1 pytest tests/unit/test_dockerfile.py`` and review the diff.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List

import pytest

from nbdocker.stages.image import (BuildOptions, default_tag, image_labels, render,
                                 requirements_txt, runner_requirements_txt)
from nbdocker.engine.fake import dockerfile_instructions
from nbdocker.spec import (EnvironmentSpec, FileEntry, PythonInfo, Requirement, SystemPackage,
                           Unresolved)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
BASE = "python:3.11-slim"


@pytest.fixture(autouse=True)
def _fixed_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # The nbdocker version is part of the text; pin it so a release bump keeps goldens.
    monkeypatch.setattr("nbdocker.stages.image.dockerfile._nbdocker_version", lambda: "0.0.0-test")


def _spec(**changes: object) -> EnvironmentSpec:
    spec = EnvironmentSpec(
        notebook="analysis.ipynb",
        python=PythonInfo("3.11.7"),
        requirements=(
            Requirement("pandas", "2.2.2", reasons=("import pandas (cell 1)",)),
            Requirement("numpy", "1.26.4", direct=False, required_by=("pandas",)),
            Requirement("requests", None, specifier=">=2.31"),
        ),
        unresolved=(Unresolved("sklearn", pypi_name="scikit-learn"), Unresolved("mystery")),
        files=(FileEntry("analysis.ipynb", "notebook", 10, "a" * 64),
               FileEntry("helpers.py", "module", 5, "b" * 64),
               FileEntry("data/x.csv", "data", 3, "c" * 64)),
    )
    return spec.with_changes(**changes) if changes else spec


CASES: Dict[str, tuple] = {
    "minimal-pip": (EnvironmentSpec(notebook="hello.ipynb", python=PythonInfo("3.12.1")),
                    BuildOptions(installer="pip")),
    "typical-uv-ca-index": (_spec(), BuildOptions(
        ca_bundle="/etc/ssl/certs/ca-certificates.crt",
        index_url="https://user:s3cr3t@pypi.example.com/simple",
        extra_index_urls=("https://mirror.example.com/simple",), installer="uv")),
    "apt-env-kernel-pinned": (_spec(
        apt_packages=(SystemPackage("libgomp1"), SystemPackage("fonts-dejavu-core")),
        env=(("MPLBACKEND", "Agg"), ("AWS_SECRET_ACCESS_KEY", "canary-env-1"),
             ("GITHUB_TOKEN", "canary-env-2")),
        requirements=(Requirement("ipykernel", "6.28.0"), Requirement("six", "1.16.0"))),
        BuildOptions(installer="pip")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_matches_golden_file(case: str) -> None:
    spec, options = CASES[case]
    text = render(spec, base_image=BASE, options=options)
    golden = GOLDEN / f"{case}.Dockerfile"
    if os.environ.get("NBDOCKER_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_render_is_deterministic_and_order_independent() -> None:
    spec = _spec()
    shuffled = spec.with_changes(requirements=tuple(reversed(spec.requirements)),
                                 files=tuple(reversed(spec.files)))
    options = BuildOptions(ca_bundle="/x.pem")
    assert render(spec, base_image=BASE, options=options) == \
        render(shuffled, base_image=BASE, options=options)


def _stages(text: str) -> List[List[str]]:
    stages: List[List[str]] = []
    for instruction in dockerfile_instructions(text):
        if instruction.startswith("FROM "):
            stages.append([])
        stages[-1].append(instruction)
    return stages


def test_layer_order_puts_the_notebook_last_and_requirements_before_the_runner() -> None:
    builder, final = _stages(render(_spec(), base_image=BASE, options=BuildOptions()))
    assert builder[0] == f"FROM {BASE} AS builder"
    installs = [i for i in builder if i.startswith("RUN") and "-r /tmp/nbdocker-build/" in i]
    assert "requirements.txt" in installs[0] and "runner-requirements.txt" not in installs[0]
    assert "runner-requirements.txt" in installs[1] and "--constraint" in installs[1]
    assert final[0] == f"FROM {BASE}"
    layer_kinds = [i.split()[0] for i in final]
    notebook_copy = next(k for k, i in enumerate(final) if "notebook/" in i)
    # Only metadata instructions (no filesystem layer) follow the notebook COPY.
    assert set(layer_kinds[notebook_copy + 1:]) <= {"CMD", "LABEL"}
    assert final.index(next(i for i in final if "--from=builder" in i)) < notebook_copy
    assert any(i.startswith("USER 1000") for i in final)


def test_build_time_files_stay_in_the_builder_stage() -> None:
    options = BuildOptions(ca_bundle="/etc/ssl/certs/ca-certificates.crt",
                           index_url="https://u:p@idx.example/simple", installer="uv")
    text = render(_spec(), base_image=BASE, options=options)
    builder, final = _stages(text)
    assert any("ca-bundle.crt" in i for i in builder)
    assert any("pip.conf" in i for i in builder)
    final_text = "\n".join(final)
    for word in ("ca-bundle", "pip.conf", "uv.toml", "PIP_CERT", "SSL_CERT_FILE",
                 "nbdocker-uv", "ARG"):
        assert word not in final_text
    # Neither the URL nor its password is ever part of the Dockerfile text.
    assert "idx.example" not in text and "u:p@" not in text


def test_secret_looking_env_vars_are_not_rendered() -> None:
    spec = _spec(env=(("MPLBACKEND", "Agg"), ("DB_PASSWORD", "canary-7f3a"),
                      ("API_TOKEN", "canary-9b1c")))
    text = render(spec, base_image=BASE)
    assert 'MPLBACKEND="Agg"' in text
    assert "canary-" not in text
    assert "DB_PASSWORD" not in text and "API_TOKEN" not in text


def test_requirements_txt_pins_sorts_and_adds_unresolved_unpinned() -> None:
    spec = _spec(unresolved=(Unresolved("sklearn", pypi_name="scikit-learn"),
                             Unresolved("numpy")))  # already pinned: not listed twice
    assert requirements_txt(spec).splitlines() == [
        "numpy==1.26.4", "pandas==2.2.2", "requests>=2.31", "scikit-learn"]


def test_runner_requirements_yield_to_the_spec_pins() -> None:
    assert runner_requirements_txt(_spec()).splitlines() == [
        "ipykernel==6.29.5", "nbclient==0.10.2"]
    pinned = _spec(requirements=(Requirement("ipykernel", "7.4.0"),))
    assert runner_requirements_txt(pinned).splitlines() == ["nbclient==0.10.2"]
    both = _spec(requirements=(Requirement("ipykernel", "7.4.0"), Requirement("nbclient", "0.9.0")))
    assert runner_requirements_txt(both) == ""
    assert "runner-requirements.txt --constraint" not in render(both, base_image=BASE)


def test_default_tag_is_sanitised_and_hash_based() -> None:
    spec = EnvironmentSpec(notebook="work/My Notebook (v2).ipynb", python=PythonInfo("3.11.7"))
    tag = default_tag(spec)
    assert tag == f"nbdocker/my-notebook-v2:{spec.content_hash()[:12]}"
    assert re.fullmatch(r"nbdocker/[a-z0-9][a-z0-9._-]*:[0-9a-f]{12}", tag)
    odd = EnvironmentSpec(notebook="...ipynb", python=PythonInfo("3.11.7"))
    assert default_tag(odd).startswith("nbdocker/notebook:")


def test_image_labels_name_the_spec() -> None:
    spec = _spec()
    labels = image_labels(spec, "python:3.11-slim")
    assert labels["io.nbdocker.spec-hash"] == spec.content_hash()
    assert labels["io.nbdocker.notebook"] == "analysis.ipynb"
    assert labels["io.nbdocker.python"] == "3.11.7"
    assert labels["io.nbdocker.version"] == "0.0.0-test"
    assert labels["org.opencontainers.image.base.name"] == "python:3.11-slim"
    assert labels["org.opencontainers.image.title"] == "analysis"


def test_unused_runner_packages_are_trimmed_unless_the_spec_needs_them() -> None:
    trim_line = [line for line in render(_spec(), base_image=BASE).splitlines()
                 if "pip uninstall" in line and "debugpy" in line]
    assert trim_line and trim_line[0].endswith("debugpy jedi parso")
    # A notebook that imports IPython gets jedi (and parso) in its locked closure: kept.
    needs_jedi = _spec(requirements=(Requirement("ipython", "8.20.0"),
                                     Requirement("jedi", "0.19.1", direct=False),
                                     Requirement("parso", "0.8.3", direct=False)))
    lines = [line for line in render(needs_jedi, base_image=BASE).splitlines()
             if "pip uninstall" in line and "debugpy" in line]
    assert lines == ["RUN /opt/venv/bin/python -m pip uninstall --quiet --yes debugpy"]
