"""The build context: an in-memory, deterministic tar of exactly what the build needs.

Layout inside the tar (all entries sorted, mtime 0, uid/gid 0, fixed modes)::

    Dockerfile
    nbdocker-build/requirements.txt          the pinned environment (requirements_txt)
    nbdocker-build/runner-requirements.txt   the runner's pins the spec lacks
    nbdocker-build/overrides.txt             runner-only packages left out (uv overrides)
    nbdocker-build/guesses.txt               unresolved guesses, installed best effort
    nbdocker-build/warmup.txt                modules compiled to bytecode at build time
    nbdocker-build/nbdocker_runner.py        nbdocker/stages/run/runner.py
    nbdocker-build/nbdocker_contract.py      nbdocker/contract.py (the runner imports it)
    nbdocker-build/ca-bundle.crt             forwarded CA bundle (builder stage only)
    nbdocker-build/pip.conf, uv.toml         forwarded http(s) indexes (builder only)
    nbdocker-build/local/<paths>             the project's own packages' sources (files of
                                             kind "package"), installed from here
    notebook/<every file the spec names>     the notebook, local modules, data files, at
                                             their paths below the project root

Only files the spec names are read, from the project root (``project_dir``: the folder
the spec's paths are relative to), never the whole folder, each at most
:data:`~nbdocker._fs.MAX_SHIPPED_FILE` bytes, and a file that looks like a secret by its
name, its link target, its inode or its content (:func:`nbdocker.secrets.file_secret_reason`)
is skipped with a warning even when the spec names it. A notebook whose sources or saved
outputs hold a credential ships (it is the notebook) with a warning per cell. The project's
packages' sources go in twice: under ``local/`` for the install step (which must not
depend on the notebook, so that a notebook-only edit rebuilds only the last layer) and
under ``notebook/`` like every other file.
"""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional

from ...events import Event, EventHandler, Phase, emit
from ...exceptions import InputError, NotebookError
from ..._fs import MAX_SHIPPED_FILE
from ..._json import loads
from ...secrets import file_secret_reason, notebook_secret_warnings
from ...spec import EnvironmentSpec
from .hostpip import BuildOptions
from .dockerfile import (CONTEXT_BUILD_DIR, CONTEXT_LOCAL_DIR, CONTEXT_NOTEBOOK_DIR,
                         CONTRACT_FILE, RUNNER_FILE, apt_pin, build_files, render)

__all__ = ["build_context", "context_files", "runner_files", "tar_bytes"]


def runner_files() -> Dict[str, bytes]:
    """The runner and the contract it imports, as they go into the image (name → bytes
    under the build context's ``nbdocker-build/``)."""
    package = Path(__file__).resolve().parent.parent.parent
    return {RUNNER_FILE: (package / "stages" / "run" / "runner.py").read_bytes(),
            CONTRACT_FILE: (package / "contract.py").read_bytes()}


def _safe_relpath(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    if not path or rel.is_absolute() or ".." in rel.parts:
        raise InputError(f"spec names a file outside the project root: {path!r}")
    return rel


def _toml_str(value: str) -> str:
    # TOML basic strings share JSON's escapes for everything an URL can hold.
    return json.dumps(value)


def _index_files(options: BuildOptions) -> Dict[str, bytes]:
    """pip.conf and uv.toml for the builder, naming only the forwarded http(s) indexes."""
    pip_lines = ["[global]"]
    uv_lines = ["[pip]"]
    if options.index_url:
        pip_lines.append(f"index-url = {options.index_url}")
        uv_lines.append(f"index-url = {_toml_str(options.index_url)}")
    if options.extra_index_urls:
        pip_lines.append("extra-index-url = " + " ".join(options.extra_index_urls))
        uv_lines.append("extra-index-url = [" + ", ".join(
            _toml_str(u) for u in options.extra_index_urls) + "]")
    if options.trusted_hosts:
        pip_lines.append("trusted-host = " + " ".join(options.trusted_hosts))
        uv_lines.append("allow-insecure-host = [" + ", ".join(
            _toml_str(h) for h in options.trusted_hosts) + "]")
    return {f"{CONTEXT_BUILD_DIR}/pip.conf": ("\n".join(pip_lines) + "\n").encode(),
            f"{CONTEXT_BUILD_DIR}/uv.toml": ("\n".join(uv_lines) + "\n").encode()}


def context_files(spec: EnvironmentSpec, project_dir: Path, *, base_image: str,
                  options: Optional[BuildOptions] = None,
                  on_event: Optional[EventHandler] = None,
                  base_distribution: Optional[str] = None) -> Dict[str, bytes]:
    """Every file of the build context, name → bytes (see the module docstring).
    ``project_dir`` is the folder the spec's paths are relative to; ``base_distribution``
    as for :func:`~.dockerfile.render`."""
    options = options or BuildOptions()
    loose = [p for p in spec.apt_packages if p.version and apt_pin(p, base_distribution) == p.name]
    if loose:   # what the Dockerfile below does with them: said, not hidden
        shown = ", ".join(f"{p.name} {p.version} ({p.distribution})" for p in loose)
        emit(on_event, Event(Phase.BUILD, "warning",
                             f"OS packages installed unpinned: {shown} were read from a host "
                             f"of another release than the base "
                             f"({base_distribution or 'release unknown'})",
                             data={"packages": [p.name for p in loose]}))
    files: Dict[str, bytes] = {
        "Dockerfile": render(spec, base_image=base_image, options=options,
                             base_distribution=base_distribution).encode("utf-8")}
    files.update({f"{CONTEXT_BUILD_DIR}/{name}": data
                  for name, data in build_files(spec).items()})
    files.update({f"{CONTEXT_BUILD_DIR}/{name}": data for name, data in runner_files().items()})
    if options.ca_bundle:
        try:
            files[f"{CONTEXT_BUILD_DIR}/ca-bundle.crt"] = Path(options.ca_bundle).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read CA bundle {options.ca_bundle}: {exc.strerror}") from None
    if options.has_index_config:
        files.update(_index_files(options))

    notebook_rel = spec.notebook
    kinds = {f.path: f.kind for f in spec.files}
    paths = set(kinds)
    if not any(f.kind == "notebook" for f in spec.files):
        paths.add(notebook_rel)  # a spec without file entries still ships its notebook
    # The notebook first: when the directory is wrong, say so about the notebook.
    for path in sorted(paths, key=lambda p: (p != notebook_rel, p)):
        rel = _safe_relpath(path)
        source = Path(project_dir) / rel
        is_notebook = path == notebook_rel
        try:
            size = source.stat().st_size
            if size > MAX_SHIPPED_FILE:
                raise InputError(f"{source} is {size} bytes, over the {MAX_SHIPPED_FILE}-byte "
                                 "cap for a shipped file")
            data = source.read_bytes()
        except OSError as exc:
            error = NotebookError if is_notebook or path.endswith(".ipynb") else InputError
            raise error(f"cannot read {source}: {exc.strerror or exc}") from None
        if is_notebook:
            for warning in _notebook_warnings(data):
                emit(on_event, Event(Phase.BUILD, "warning", warning, data={"path": str(rel)}))
        else:
            reason = file_secret_reason(source, str(rel), data=data)
            if reason:
                emit(on_event, Event(Phase.BUILD, "warning",
                                     f"not copying {rel} into the image: it looks like a "
                                     f"secret ({reason})", data={"path": str(rel)}))
                continue
        files[f"{CONTEXT_NOTEBOOK_DIR}/{rel}"] = data
        if kinds.get(path) == "package":
            files[f"{CONTEXT_LOCAL_DIR}/{rel}"] = data
    return files


def _notebook_warnings(data: bytes) -> List[str]:
    try:
        nb = loads(data.decode("utf-8"), "the notebook")
    except (UnicodeDecodeError, ValueError, InputError):
        return []  # not for this check to say: reading the notebook says it clearly
    return notebook_secret_warnings(nb) if isinstance(nb, dict) else []


def tar_bytes(files: Dict[str, bytes]) -> bytes:
    """A deterministic uncompressed tar of ``files``: sorted, mtime 0, uid/gid 0,
    mode 0644 (directories 0755), with explicit directory entries."""
    dirs: List[str] = sorted({str(parent) for name in files
                              for parent in list(PurePosixPath(name).parents)[:-1]})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(dirs + list(files)):
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if name in files:
                data = files[name]
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    return buf.getvalue()


def build_context(spec: EnvironmentSpec, project_dir: Path, *, base_image: str,
                  options: Optional[BuildOptions] = None,
                  on_event: Optional[EventHandler] = None) -> bytes:
    """The uncompressed build-context tar for ``spec``; files are read from
    ``project_dir`` (the folder the spec's paths are relative to). Same inputs, same
    bytes."""
    return tar_bytes(context_files(spec, project_dir, base_image=base_image,
                                   options=options, on_event=on_event))
