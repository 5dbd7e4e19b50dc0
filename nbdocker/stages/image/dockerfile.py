"""Pure, deterministic rendering of an EnvironmentSpec into a Dockerfile.

Two shapes (classic builder; no BuildKit syntax), both in cache order. Without anything
that must stay out of the image, one stage::

    FROM <base>
      [RUN apt-get install <apt_packages>]            # OS packages first (cache order)
      RUN useradd nbdocker (uid 1000)
      COPY nbdocker-build/<requirements, guesses, ...> /tmp/nbdocker-build/
      RUN <install>                                   # one layer: see below
      ENV PATH=/opt/venv/bin:$PATH ...
      COPY nbdocker_runner.py nbdocker_contract.py /opt/nbdocker/
      USER 1000:1000;  WORKDIR /home/nbdocker/work
      COPY --chown=1000:1000 notebook/ ./              # the only layer a notebook edit rebuilds
      CMD ...;  LABEL ...

With a forwarded CA bundle or index configuration (which may hold a password), these
must never reach an image - not even an intermediate one. :func:`render` then shows the
equivalent multi-stage Dockerfile::

    FROM <base> AS system       [apt], useradd                      (shared by both)
    FROM system AS builder      COPY CA, pip.conf, inputs;  RUN <install>
    FROM system AS env          COPY --from=builder /opt/venv /opt/venv
    FROM env                    ENV, runner, USER, WORKDIR, notebook, CMD, LABEL

but nbdocker builds it without the builder stage (:mod:`nbdocker.stages.image.build`):
the ``system`` stage (:func:`render_system`), then ``<install>`` (:func:`install_script`)
in a throwaway container of it, with the inputs put in and removed by the script before
the container is committed, then the last stage on that image (:func:`render_app`).
So no image ever holds the CA or the password, and the venv is written once instead of
being committed in a builder, copied and committed again.

``<install>`` is one shell script in one layer: uv (from the base's pip, never kept) →
``python3 -m venv --without-pip`` → ONE resolver pass over the notebook's pins and the
runner's (plus the base's own pip version, so ``%pip`` works in the image), with the
runner-only debugger/completion packages excluded → each unresolved guess on its own,
best effort → bytecode for what a run imports (the kernel stack, then the notebook's
imports) → uv and the build files removed. pip
is the fallback whenever uv is missing or fails (``NBDOCKER_INSTALLER=pip``: pip only).

The same inputs always give byte-identical text: everything is sorted and pinned, and
nothing host-specific (paths, URLs, credentials) or spec-controlled beyond validated
names appears in the text itself; guesses and module names travel in context files.
"""
from __future__ import annotations

import json
import re
from typing import Dict, List, Optional, Tuple

from packaging.utils import canonicalize_name

from ... import contract
from ...engine.refs import check_reference
from ...grammar import dockerfile_comment, dockerfile_string, shell_words
from ...secrets import is_secret_env
from ...spec import EnvironmentSpec, Requirement, SystemPackage
from .hostpip import BuildOptions

__all__ = ["render", "render_system", "render_app", "apt_pin", "install_script", "needs_builder",
           "image_labels",
           "default_tag", "requirements_txt", "runner_requirements_txt", "build_files",
           "RUNNER_REQUIREMENTS", "RUNNER_TRIM", "UV_VERSION", "WARMUP_KERNEL", "WARMUP_COMMAND",
           "CONTEXT_NOTEBOOK_DIR", "CONTEXT_BUILD_DIR", "CONTEXT_LOCAL_DIR", "BUILD_TMP"]

# The runner's own needs, pinned so two builds of one spec get the same runner. They
# fill only what the spec lacks (a spec that pins ipykernel wins) and are resolved in
# the same pass as the notebook's pins.
RUNNER_REQUIREMENTS: Tuple[Tuple[str, str], ...] = (("ipykernel", "6.29.5"),
                                                    ("nbclient", "0.10.2"))
# Pulled in by the runner's closure but never used by a headless run: the debugger
# (ipykernel → debugpy, 20 MB) and tab completion (IPython → jedi + parso, 37 MB). Both
# packages import them lazily and work without them. Never installed unless the
# notebook itself (not only the kernel stack) needs them.
RUNNER_TRIM: Tuple[str, ...] = ("debugpy", "jedi", "parso")
UV_VERSION = "0.9.5"
# Imported once at build time so their bytecode is in the image (the venv is read-only
# for the runtime user: without .pyc files every run recompiles them: a numpy + pandas +
# matplotlib notebook ran in 12 s instead of 4 s); compiling everything instead cost
# three times as long as these imports (benchmarks/build.py).
WARMUP_KERNEL: Tuple[str, ...] = ("nbclient", "ipykernel.kernelapp", "ipykernel.ipkernel",
                                  "ipykernel.zmqshell", "matplotlib_inline.backend_inline")
UID, HOME, WORKDIR, VENV = contract.UID, contract.HOME, contract.WORKDIR, contract.VENV
UV_DIR = "/tmp/nbdocker-uv"             # uv's own files: removed in the layer that used them
BUILD_TMP = "/tmp/nbdocker-build"       # build-only inputs (CA, pip.conf, requirements)
# Names inside the build context.
CONTEXT_NOTEBOOK_DIR = "notebook"
CONTEXT_BUILD_DIR = "nbdocker-build"
CONTEXT_LOCAL_DIR = f"{CONTEXT_BUILD_DIR}/local"  # sources of Requirement.local packages
RUNNER_FILE = contract.RUNNER_PATH.rsplit("/", 1)[1]      # the runner, under CONTEXT_BUILD_DIR
CONTRACT_FILE = contract.CONTRACT_PATH.rsplit("/", 1)[1]  # and the contract beside it

_MODULE_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$", re.ASCII)
_REASON_MODULE_RE = re.compile(r"^(?:import|from) ([A-Za-z_][\w.]*)", re.ASCII)
_REASON_WHERE_RE = re.compile(r"^(.*\S) \(([^()]+)\)$")


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


def needs_builder(options: BuildOptions) -> bool:
    """True when the build uses files that must never reach an image: a forwarded CA
    bundle (a private CA) or index configuration (URLs may carry a password). Then the
    Dockerfile takes its builder form and the install runs in a container (see the
    module docstring)."""
    return bool(options.ca_bundle or options.has_index_config)


def _kernel_only(spec: EnvironmentSpec, req: Requirement) -> bool:
    """Pinned only for the runner's kernel stack, not for the notebook's own imports."""
    if req.direct or not req.kernel:
        return False
    parents = [spec.requirement(p) for p in req.required_by]
    return all(p is None or p.kernel for p in parents)


def _trimmed(spec: EnvironmentSpec) -> Tuple[str, ...]:
    """The RUNNER_TRIM packages this image goes without."""
    return tuple(name for name in RUNNER_TRIM
                 if (req := spec.requirement(name)) is None or _kernel_only(spec, req))


def requirements_txt(spec: EnvironmentSpec) -> str:
    """The pinned environment: every requirement's pin (the locked closure), minus the
    trimmed runner-only packages and what is installed from local source. Unresolved
    guesses are not here: they are installed best effort, after it (``guesses.txt``)."""
    trimmed = set(_trimmed(spec))
    lines = {req.pin for req in spec.requirements
             if req.local is None and req.name not in trimmed}
    return "".join(f"{line}\n" for line in sorted(lines))


def runner_requirements_txt(spec: EnvironmentSpec) -> str:
    """The runner's pins, minus any distribution the spec already pins (its pin wins)."""
    return "".join(f"{name}=={version}\n" for name, version in RUNNER_REQUIREMENTS
                   if spec.requirement(name) is None)


def _guesses(spec: EnvironmentSpec) -> List[Tuple[str, str]]:
    """(PyPI name, why) for each unresolved module not otherwise pinned; ``why`` reads
    "`import foo` in cell 4"."""
    out: Dict[str, str] = {}
    for unresolved in spec.unresolved:
        name = unresolved.pypi_name or unresolved.module
        if not name or spec.requirement(canonicalize_name(name)) is not None:
            continue
        reasons = []
        for reason in unresolved.reasons or (f"import {unresolved.module}",):
            m = _REASON_WHERE_RE.match(reason)
            reasons.append(f"`{m.group(1)}` in {m.group(2)}" if m else f"`{reason}`")
        # One line per guess in a tab-separated file: no control character may survive.
        out.setdefault(name, re.sub(r"[\x00-\x1f\x7f]+", " ", "; ".join(reasons)))
    return sorted(out.items())


def _warmup_modules(spec: EnvironmentSpec) -> List[str]:
    """The modules the notebook's own import statements name (the kernel stack's are
    :data:`WARMUP_KERNEL`); sorted, valid module names only."""
    named = [m.group(1) for req in spec.direct_requirements for reason in req.reasons
             if (m := _REASON_MODULE_RE.match(reason))]
    named += [u.module for u in spec.unresolved]
    return sorted({m.rstrip(".") for m in named if _MODULE_RE.match(m.rstrip("."))})


# Imports each module named on its command line, ignoring failures (any exception: a
# module may do anything at import time), so that its bytecode is written.
WARMUP_SCRIPT = """\
import importlib, sys

for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException:
        pass
"""


def build_files(spec: EnvironmentSpec) -> Dict[str, bytes]:
    """The install inputs under ``nbdocker-build/`` (name → bytes), all deterministic;
    ``overrides.txt`` and ``guesses.txt`` only when there is something in them."""
    texts = {
        "requirements.txt": requirements_txt(spec),
        "runner-requirements.txt": runner_requirements_txt(spec),
        # uv: a marker that is never true removes a package from the resolution.
        "overrides.txt": "".join(f'{name} ; sys_platform == "never"\n'
                                 for name in _trimmed(spec)),
        "guesses.txt": "".join(f"{name}\t{why}\n" for name, why in _guesses(spec)),
        "warmup.py": WARMUP_SCRIPT,
        "warmup.txt": "".join(f"{m}\n" for m in _warmup_modules(spec)),
    }
    return {name: text.encode("utf-8") for name, text in texts.items()
            if text or name not in ("overrides.txt", "guesses.txt")}


def _q(value: str) -> str:
    """One literal double-quoted word for ENV/LABEL (see :mod:`nbdocker.grammar`)."""
    return dockerfile_string(value)


def apt_pin(package: SystemPackage, base_distribution: Optional[str]) -> str:
    """What apt installs for ``package``: ``name=version`` when the version was written by
    the user (no ``distribution``) or was read from a host of the base's own release;
    otherwise the bare name (that release's archive serves its own versions only)."""
    if package.version is None or (package.distribution is not None
                                   and package.distribution != base_distribution):
        return package.name
    return package.pin


def _apt(spec: EnvironmentSpec, base_distribution: Optional[str]) -> List[str]:
    """The OS-package layer: sorted, pinned where that holds (:func:`apt_pin`), no
    recommends, lists removed."""
    if not spec.apt_packages:
        return []
    # The spec's grammar (nbdocker.grammar) has validated every name and version already.
    words = shell_words(apt_pin(p, base_distribution)
                        for p in sorted(spec.apt_packages, key=lambda p: p.name))
    return [
        "RUN apt-get update \\\n"
        f" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {words} \\\n"
        " && rm -rf /var/lib/apt/lists/*",
    ]


def _local_folders(spec: EnvironmentSpec) -> List[str]:
    """The project folders of the spec's own packages (``Requirement.local``), sorted;
    the spec's grammar keeps each a relative path inside the project."""
    return sorted({req.local for req in spec.requirements if req.local is not None})


def _useradd() -> str:
    return (f"RUN useradd --uid {UID} --user-group --create-home --home-dir {HOME}"
            f" --shell /bin/sh nbdocker \\\n && mkdir -p {WORKDIR} && chown {UID}:{UID} {WORKDIR}")


def install_script(spec: EnvironmentSpec, options: BuildOptions) -> str:
    """The shell script that installs the environment (see the module docstring): the
    body of the install ``RUN``, and what the throwaway install container runs. It
    expects the inputs in ``/tmp/nbdocker-build`` and leaves nothing but ``/opt/venv``."""
    b, py, uv = BUILD_TMP, f"{VENV}/bin/python", f"{UV_DIR}/bin/uv"
    exports = ["PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_NO_CACHE_DIR=1",
               "PIP_PROGRESS_BAR=off", "UV_NO_CACHE=1"]
    if options.ca_bundle:
        exports += [f"PIP_CERT={b}/ca-bundle.crt", f"SSL_CERT_FILE={b}/ca-bundle.crt",
                    f"REQUESTS_CA_BUNDLE={b}/ca-bundle.crt"]
    if options.has_index_config:
        exports += [f"PIP_CONFIG_FILE={b}/pip.conf", f"UV_CONFIG_FILE={b}/uv.toml"]
    reqs = f"-r {b}/requirements.txt -r {b}/runner-requirements.txt"
    overrides = f" --overrides {b}/overrides.txt" if _trimmed(spec) else ""
    pip = f"{py} -m pip install --no-compile"
    # pip's own venv seeds setuptools (Python < 3.12), which the spec did not ask for;
    # and pip cannot leave the trimmed packages out, only remove them afterwards.
    extra = _trimmed(spec) + (() if spec.requirement("setuptools") else ("setuptools",))
    uninstall = f"; {py} -m pip uninstall --quiet --yes {' '.join(extra)}"
    # The base's pip version (what `python3 -m venv` would have seeded), so that `%pip`
    # cells still work in the image; the spec's own pin wins.
    seed = "" if spec.requirement("pip") else " ${pipv:+pip==$pipv}"
    lines = ["set -e", f"export {' '.join(exports)}"]
    if options.installer == "uv":
        lines += [
            f"python3 -m venv --without-pip {VENV}",
            # uv from the base's pip (fast); else from a throwaway venv's pip; else none.
            f"(python3 -m pip install --quiet --target {UV_DIR} uv=={UV_VERSION}"
            f" || (python3 -m venv {UV_DIR}-venv && {UV_DIR}-venv/bin/python -m pip install"
            f" --quiet --target {UV_DIR} uv=={UV_VERSION}))"
            " || echo 'nbdocker: could not install uv, pip will be used'",
            "pipv=$(python3 -c 'import ensurepip; print(ensurepip.version())' 2>/dev/null)"
            " || pipv=",
            f"if [ -x {uv} ] && {uv} pip install --python {py}{overrides}"
            f" {reqs}{seed}; then :; else echo 'nbdocker: uv unavailable or failed, using pip'",
            f"  {py} -m ensurepip --default-pip >/dev/null; {pip} {reqs}{uninstall}; fi",
        ]
    else:
        lines += [f"python3 -m venv {VENV}", f"{pip} {reqs}{uninstall}"]
    locals_ = _local_folders(spec)
    if locals_:
        # The project's own packages, from their sources, without their dependencies
        # (pinned above like any other).
        paths = shell_words(f"{b}/local" if f == "." else f"{b}/local/{f}" for f in locals_)
        if options.installer == "uv":
            lines.append(f"if [ -x {uv} ]; then {uv} pip install --python {py} --no-deps"
                         f" {paths}; else {pip} --no-deps {paths}; fi")
        else:
            lines.append(f"{pip} --no-deps {paths}")
    if _guesses(spec):
        # Each guess alone, constrained to what is installed: a wrong guess can neither
        # fail the build nor move a pin. Failures become build warnings (the engine
        # reads the markers, see contract.GUESS_*).
        constrain = f"-c {b}/installed.txt \"$name\""
        if options.installer == "uv":
            freeze = (f"if [ -x {uv} ]; then {uv} pip freeze --python {py};"
                      f" else {py} -m pip freeze --all; fi > {b}/installed.txt")
            install_one = (f"if [ -x {uv} ]; then {uv} pip install --python {py}"
                           f"{overrides} {constrain};"
                           f" else {pip} {constrain}; fi")
        else:
            freeze = f"{py} -m pip freeze --all > {b}/installed.txt"
            install_one = f"{pip} {constrain}"
        lines += [
            freeze,
            "tab=$(printf '\\t')",
            f"while IFS=\"$tab\" read -r name why; do echo \"{contract.GUESS_BEGIN}$name\"",
            f"  if {install_one}; then :; else printf '{contract.GUESS_FAILED}%s\\t%s\\n'"
            f" \"$name\" \"$why\"; fi; done < {b}/guesses.txt",
        ]
    lines += [WARMUP_COMMAND, f"rm -rf {UV_DIR} {UV_DIR}-venv /tmp/nbdocker-warmup {b}"]
    # Backslash-newline continues a line for the Dockerfile and for sh -c alike.
    return "; \\\n    ".join(lines)


# The kernel stack in one process, then the notebook's imports in another (one that
# crashes or hangs, bounded by `timeout`, costs only the rest of its group), with HOME
# elsewhere so that caches imports write (matplotlib's font list) stay out of the image.
WARMUP_COMMAND = (f"(export HOME=/tmp/nbdocker-warmup; timeout 300 {VENV}/bin/python"
                  f" {BUILD_TMP}/warmup.py {' '.join(WARMUP_KERNEL)} || true; timeout 300"
                  f" {VENV}/bin/python {BUILD_TMP}/warmup.py $(cat {BUILD_TMP}/warmup.txt)"
                  " || true) >/dev/null 2>&1")


def _env_lines(spec: EnvironmentSpec) -> List[str]:
    env = [f"PATH={VENV}/bin:$PATH", f"VIRTUAL_ENV={VENV}", f"HOME={HOME}",
           "PYTHONUNBUFFERED=1", "LANG=C.UTF-8"]
    # The spec's own variables, minus anything that looks like a secret.
    env += [f"{k}={_q(v)}" for k, v in spec.env if not is_secret_env(k, v)]
    return ["ENV " + " \\\n    ".join(env)]


def _copy_install_files(spec: EnvironmentSpec, options: BuildOptions) -> str:
    """One COPY of the install inputs (their content keys the install step's cache)."""
    names = ((["ca-bundle.crt"] if options.ca_bundle else [])
             + (["pip.conf", "uv.toml"] if options.has_index_config else [])
             + list(build_files(spec)))
    copy = "COPY " + " ".join(f"{CONTEXT_BUILD_DIR}/{n}" for n in names) + f" {BUILD_TMP}/"
    if _local_folders(spec):   # a folder's contents: a COPY of its own
        copy += f"\nCOPY {CONTEXT_LOCAL_DIR}/ {BUILD_TMP}/local/"
    return copy


def _header(spec: EnvironmentSpec) -> List[str]:
    return [dockerfile_comment(f"Generated by nbdocker {_nbdocker_version()} for "
                               f"{spec.notebook}; do not edit."),
            dockerfile_comment(f"Spec {spec.content_hash()[:12]}, Python "
                               f"{spec.python.version}. Classic builder."),
            ""]


def _system(spec: EnvironmentSpec, base_image: str, stage: str = "",
            base_distribution: Optional[str] = None) -> List[str]:
    check_reference(base_image, "base image", digest=True)  # FROM takes one word
    return [f"FROM {base_image}{stage}", *_apt(spec, base_distribution), _useradd()]


def _app_lines(spec: EnvironmentSpec, base_image: str) -> List[str]:
    """The environment's variables, the runner and the notebook (the same in both shapes)."""
    notebook_name = next((f.path for f in spec.files if f.kind == "notebook"),
                         spec.notebook.rsplit("/", 1)[-1])
    return [
        *_env_lines(spec),
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


def _options(options: Optional[BuildOptions]) -> BuildOptions:
    return options or BuildOptions()


def render(spec: EnvironmentSpec, *, base_image: str,
           options: Optional[BuildOptions] = None,
           base_distribution: Optional[str] = None) -> str:
    """The Dockerfile for ``spec`` on ``base_image`` (pure and deterministic).

    ``options`` (from :func:`~nbdocker.stages.image.hostpip.discover_build_options`)
    only decide *whether* a CA bundle / index configuration is used (then the text is
    the equivalent multi-stage form; see the module docstring) and which installer
    runs; their contents live in the build context, not here. ``base_distribution``
    (``debian:bookworm``, probed from the base; None: unknown) decides which OS package
    versions are pinned (:func:`apt_pin`).
    """
    options = _options(options)
    install = ["RUN " + install_script(spec, options)]
    if not needs_builder(options):
        body = [*_system(spec, base_image, "", base_distribution),
                _copy_install_files(spec, options), *install]
    else:
        body = [
            "# ---- system: the base and its OS packages, shared by both stages below ----",
            *_system(spec, base_image, " AS system", base_distribution),
            "",
            "# ---- builder: the only place the forwarded CA / index configuration exist. "
            "nbdocker",
            "# runs its RUN in a throwaway container and commits the result instead: no image",
            "# of this stage is ever made. ----",
            "FROM system AS builder", _copy_install_files(spec, options), *install,
            "",
            "# ---- env: the installed venv only ----",
            "FROM system AS env", f"COPY --from=builder {VENV} {VENV}",
            "",
            "# ---- the image: the environment, the runner and the notebook ----",
            "FROM env",
        ]
    return "\n".join(_header(spec) + body + _app_lines(spec, base_image)) + "\n"


def render_system(spec: EnvironmentSpec, *, base_image: str,
                  base_distribution: Optional[str] = None) -> str:
    """The ``system`` stage alone (base, OS packages, the user): what the install
    container starts from when a CA or index must stay out of every image."""
    # No spec hash in the header: a notebook edit must not change the environment.
    header = [f"# nbdocker {_nbdocker_version()}: the system stage. Classic builder.", ""]
    return "\n".join(header + _system(spec, base_image, "", base_distribution)) + "\n"


def render_app(spec: EnvironmentSpec, *, env_image: str, base_image: str) -> str:
    """The last stage of :func:`render` on an already installed environment image
    (``env_image``: its id)."""
    return "\n".join(_header(spec) + [f"FROM {env_image}"] + _app_lines(spec, base_image)) + "\n"
