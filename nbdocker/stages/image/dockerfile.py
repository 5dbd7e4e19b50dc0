"""Pure, deterministic rendering of an EnvironmentSpec into a Dockerfile.

Layout (classic builder; no BuildKit syntax), in cache order::

    FROM <base> AS builder          # builder stage: never part of the final image
      [apt-get install <apt_packages>]
      [COPY CA bundle / pip.conf / uv.toml; ENV PIP_CERT, SSL_CERT_FILE, ...]
      RUN python3 -m venv /opt/venv   [+ uv in its own venv, /opt/nbdocker-uv]
      COPY requirements.txt;          RUN install it (uv, pip as fallback)
      [COPY local/; RUN install each local package --no-deps]   # the project's own code
      COPY runner-requirements.txt;   RUN install it --constraint requirements.txt
      RUN pip uninstall debugpy jedi parso     # unused headless, unless the spec pins them
    FROM <base>                     # final stage
      [apt-get install <apt_packages>]
      RUN useradd nbdocker (uid 1000)
      COPY --from=builder /opt/venv /opt/venv;  ENV PATH=/opt/venv/bin:$PATH
      COPY nbdocker_runner.py
      USER 1000:1000;  WORKDIR /home/nbdocker/work
      COPY --chown=1000:1000 notebook/ ./        # the only layer a notebook edit rebuilds
      LABEL ...                                  # metadata only, no layer

The same inputs always give byte-identical text: everything is sorted and pinned, and
nothing host-specific (paths, URLs, credentials) appears in the text itself.
"""
from __future__ import annotations

import json
import re
from typing import Dict, List, Optional, Tuple

from ... import contract
from ...engine.refs import check_reference
from ...grammar import dockerfile_comment, dockerfile_string, shell_words
from ...secrets import is_secret_env
from ...spec import EnvironmentSpec
from .hostpip import BuildOptions

__all__ = ["render", "image_labels", "default_tag", "requirements_txt",
           "runner_requirements_txt", "RUNNER_REQUIREMENTS", "RUNNER_TRIM", "UV_VERSION",
           "CONTEXT_NOTEBOOK_DIR", "CONTEXT_BUILD_DIR", "CONTEXT_LOCAL_DIR"]

# The runner's own needs, pinned so two builds of one spec get the same runner. A spec
# that pins any of these (or their dependencies) wins: see runner_requirements_txt().
RUNNER_REQUIREMENTS: Tuple[Tuple[str, str], ...] = (("ipykernel", "6.29.5"),
                                                    ("nbclient", "0.10.2"))
# Pulled in by the runner's closure but never used by a headless run: the debugger
# (ipykernel → debugpy, 20 MB) and tab completion (IPython → jedi + parso, 37 MB). Both
# packages import them lazily and work without them. Removed unless the spec needs them.
RUNNER_TRIM: Tuple[str, ...] = ("debugpy", "jedi", "parso")
UV_VERSION = "0.9.5"
UID, HOME, WORKDIR, VENV = contract.UID, contract.HOME, contract.WORKDIR, contract.VENV
UV_VENV = "/opt/nbdocker-uv"
BUILD_TMP = "/tmp/nbdocker-build"       # builder-only files (CA, pip.conf, requirements)
# Names inside the build context.
CONTEXT_NOTEBOOK_DIR = "notebook"
CONTEXT_BUILD_DIR = "nbdocker-build"
CONTEXT_LOCAL_DIR = f"{CONTEXT_BUILD_DIR}/local"  # sources of Requirement.local packages
RUNNER_FILE = contract.RUNNER_PATH.rsplit("/", 1)[1]      # the runner, under CONTEXT_BUILD_DIR
CONTRACT_FILE = contract.CONTRACT_PATH.rsplit("/", 1)[1]  # and the contract beside it


def _nbdocker_version() -> str:
    try:
        from importlib.metadata import version

        return version("nbdocker")
    except Exception:  # not installed (running from a source tree)
        return "0.0.0"


def default_tag(spec: EnvironmentSpec) -> str:
    """``nbdocker/<notebook stem, lower-cased and sanitised>:<first 12 of spec hash>``."""
    stem = re.sub(r"[^a-z0-9._-]+", "-", spec.notebook_stem.lower())
    # Docker allows ".", "_", "__" or a run of "-" between alphanumerics, nothing mixed:
    # "5. KNN" must become "5-knn", not "5.-knn" (an invalid reference).
    stem = re.sub(r"[._-]{2,}", lambda m: m.group(0) if m.group(0) == "__"
                  or set(m.group(0)) == {"-"} else "-", stem)
    stem = re.sub(r"^[._-]+|[._-]+$", "", stem[:100]) or "notebook"
    return f"nbdocker/{stem}:{spec.content_hash()[:12]}"


def image_labels(spec: EnvironmentSpec, base_image: Optional[str] = None) -> Dict[str, str]:
    """OCI labels plus nbdocker's own (spec hash, notebook, Python, nbdocker version)."""
    labels = {
        "org.opencontainers.image.title": spec.notebook_stem,
        "org.opencontainers.image.description":
            f"Reproducible environment for {spec.notebook}, built by nbdocker",
        "org.opencontainers.image.version": spec.content_hash()[:12],
        contract.LABEL_SPEC_HASH: spec.content_hash(),
        contract.LABEL_NOTEBOOK: spec.notebook,
        contract.LABEL_PYTHON: spec.python.version,
        contract.LABEL_VERSION: _nbdocker_version(),
    }
    if base_image and not base_image.startswith("sha256:"):  # an image id names nothing
        name, _, digest = base_image.partition("@")
        labels[contract.LABEL_BASE_NAME] = name
        if digest:
            labels[contract.LABEL_BASE_DIGEST] = digest
    return dict(sorted(labels.items()))


def requirements_txt(spec: EnvironmentSpec) -> str:
    """Every requirement's pin (the locked closure) plus unresolved names, unpinned.
    The project's own packages (``Requirement.local``) are not here: they are installed
    from their source, never from an index under their name."""
    lines = {req.pin for req in spec.requirements if req.local is None}
    pinned = {req.name for req in spec.requirements}
    for unresolved in spec.unresolved:
        name = unresolved.pypi_name or unresolved.module
        if name and name not in pinned:
            lines.add(name)
    return "".join(f"{line}\n" for line in sorted(lines))


def runner_requirements_txt(spec: EnvironmentSpec) -> str:
    """The runner's pins, minus any distribution the spec already pins (its pin wins)."""
    return "".join(f"{name}=={version}\n" for name, version in RUNNER_REQUIREMENTS
                   if spec.requirement(name) is None)


def _q(value: str) -> str:
    """One literal double-quoted word for ENV/LABEL (see :mod:`nbdocker.grammar`)."""
    return dockerfile_string(value)


def _install(options: BuildOptions, args: str) -> str:
    """A shell command installing ``args`` into the venv: uv first, pip as fallback."""
    pip = f"{VENV}/bin/python -m pip install --no-cache-dir --progress-bar off {args}"
    if options.installer == "pip":
        return pip
    uv = f"{UV_VENV}/bin/uv pip install --python {VENV}/bin/python {args}"
    # uv may be missing (its own install failed) or refuse something pip handles.
    return (f"if [ -x {UV_VENV}/bin/uv ] && {uv}; then :; "
            f"else echo 'nbdocker: uv unavailable or failed, using pip'; {pip}; fi")


def _apt(spec: EnvironmentSpec) -> List[str]:
    if not spec.apt_packages:
        return []
    packages = shell_words(p.pin for p in spec.apt_packages)
    return [
        "RUN apt-get update \\\n"
        f" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {packages} \\\n"
        " && rm -rf /var/lib/apt/lists/*",
    ]


def _local_installs(spec: EnvironmentSpec, options: BuildOptions) -> List[str]:
    """The project's own packages, from the sources in the build context, without their
    dependencies (pinned above like any other)."""
    # The spec's grammar keeps `local` a relative path inside the project; quoted anyway.
    folders = sorted({req.local for req in spec.requirements if req.local is not None})
    if not folders:
        return []
    paths = shell_words(f"{BUILD_TMP}/local" if f == "." else f"{BUILD_TMP}/local/{f}"
                        for f in folders)
    return [f"COPY {CONTEXT_LOCAL_DIR}/ {BUILD_TMP}/local/",
            "RUN " + _install(options, f"--no-deps {paths}")]


def render(spec: EnvironmentSpec, *, base_image: str,
           options: Optional[BuildOptions] = None) -> str:
    """The Dockerfile for ``spec`` on ``base_image`` (pure and deterministic).

    ``options`` (from :func:`~nbdocker.stages.image.hostpip.discover_build_options`)
    only decides *whether* a CA bundle / index configuration is copied into the builder
    and which installer runs; their contents live in the build context, not here.
    """
    options = options or BuildOptions()
    check_reference(base_image, "base image", digest=True)  # FROM takes one word
    notebook_name = next((f.path for f in spec.files if f.kind == "notebook"),
                         spec.notebook.rsplit("/", 1)[-1])
    out: List[str] = [
        dockerfile_comment(f"Generated by nbdocker {_nbdocker_version()} for {spec.notebook}; "
                           "do not edit."),
        dockerfile_comment(f"Spec {spec.content_hash()[:12]}, Python {spec.python.version}. "
                           "Classic builder."),
        "",
        "# ---- builder: installs the locked environment into /opt/venv ----",
        f"FROM {base_image} AS builder",
        *_apt(spec),
    ]
    # uv compiles bytecode like pip does: the venv is read-only for the runtime user, so
    # without .pyc files every kernel start would recompile IPython & co. (~0.5 s).
    build_env = ["PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "UV_COMPILE_BYTECODE=1"]
    if options.ca_bundle:
        # Builder only: the final stage starts again from the base image.
        out.append(f"COPY {CONTEXT_BUILD_DIR}/ca-bundle.crt {BUILD_TMP}/ca-bundle.crt")
        build_env += [f"PIP_CERT={BUILD_TMP}/ca-bundle.crt",
                      f"SSL_CERT_FILE={BUILD_TMP}/ca-bundle.crt",
                      f"REQUESTS_CA_BUNDLE={BUILD_TMP}/ca-bundle.crt"]
    if options.has_index_config:
        out.append(f"COPY {CONTEXT_BUILD_DIR}/pip.conf {CONTEXT_BUILD_DIR}/uv.toml {BUILD_TMP}/")
        build_env += [f"PIP_CONFIG_FILE={BUILD_TMP}/pip.conf",
                      f"UV_CONFIG_FILE={BUILD_TMP}/uv.toml"]
    out.append("ENV " + " \\\n    ".join(build_env))
    # The setuptools that venv seeds (Python < 3.12) is not part of the captured
    # environment: it comes back only when the spec pins it.
    venv = (f"RUN python3 -m venv {VENV} \\\n"
            f" && {VENV}/bin/python -m pip uninstall --quiet --yes setuptools")
    if options.installer == "uv":
        # uv lives in its own venv so it never reaches the final image.
        venv += (f" \\\n && (python3 -m venv {UV_VENV} && {UV_VENV}/bin/python -m pip install"
                 f" --no-cache-dir --progress-bar off uv=={UV_VERSION}"
                 " || echo 'nbdocker: could not install uv, pip will be used')")
    out.append(venv)
    out.append(f"COPY {CONTEXT_BUILD_DIR}/requirements.txt {BUILD_TMP}/requirements.txt")
    if requirements_txt(spec):
        out.append("RUN " + _install(options, f"-r {BUILD_TMP}/requirements.txt"))
    out += _local_installs(spec, options)
    out.append(f"COPY {CONTEXT_BUILD_DIR}/runner-requirements.txt {BUILD_TMP}/runner-requirements.txt")
    if runner_requirements_txt(spec):
        out.append("RUN " + _install(options, f"-r {BUILD_TMP}/runner-requirements.txt"
                                              f" --constraint {BUILD_TMP}/requirements.txt"))
    trim = [name for name in RUNNER_TRIM if spec.requirement(name) is None]
    if trim:
        out.append(f"RUN {VENV}/bin/python -m pip uninstall --quiet --yes {' '.join(trim)}")

    env = [f"PATH={VENV}/bin:$PATH", f"VIRTUAL_ENV={VENV}", f"HOME={HOME}",
           "PYTHONUNBUFFERED=1", "LANG=C.UTF-8"]
    # The spec's own variables, minus anything that looks like a secret.
    env += [f"{k}={_q(v)}" for k, v in spec.env if not is_secret_env(k, v)]
    out += [
        "",
        "# ---- final image: base + venv + runner + notebook (no build-time files) ----",
        f"FROM {base_image}",
        *_apt(spec),
        f"RUN useradd --uid {UID} --user-group --create-home --home-dir {HOME}"
        f" --shell /bin/sh nbdocker \\\n && mkdir -p {WORKDIR}"
        f" && chown {UID}:{UID} {WORKDIR}",
        f"COPY --from=builder {VENV} {VENV}",
        "ENV " + " \\\n    ".join(env),
        f"COPY {CONTEXT_BUILD_DIR}/{RUNNER_FILE} {CONTEXT_BUILD_DIR}/{CONTRACT_FILE}"
        f" {contract.RUNNER_DIR}/",
        f"USER {UID}:{UID}",
        f"WORKDIR {WORKDIR}",
        "# Last, so that editing the notebook rebuilds only this layer.",
        f"COPY --chown={UID}:{UID} {CONTEXT_NOTEBOOK_DIR}/ {WORKDIR}/",
        # `docker run IMAGE` re-runs the notebook; nbdocker itself passes its own command.
        # "--": a notebook named "-x.ipynb" is a file, not an option of the runner.
        "CMD " + json.dumps(["python", contract.RUNNER_PATH, "--", notebook_name,
                             f"{HOME}/{spec.notebook_stem}.out.ipynb"]),
        "LABEL " + " \\\n      ".join(f"{k}={_q(v)}" for k, v in
                                     image_labels(spec, base_image).items()),
    ]
    return "\n".join(out) + "\n"
