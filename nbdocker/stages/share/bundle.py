"""Bundles: a notebook's build context plus what others need to rebuild it elsewhere.

``nbdocker export NOTEBOOK --to DIR`` (or ``--to FILE.tar.gz`` / ``FILE.tar``) writes::

    Dockerfile                              `docker build .` works here (no host CA/index)
    nbdocker-build/requirements.txt         the locked closure, pinned
    nbdocker-build/runner-requirements.txt  nbclient + ipykernel pins
    nbdocker-build/nbdocker_runner.py       the in-image runner
    notebook/<every file the spec names>    the notebook (with its saved outputs),
                                            local modules and data files
    nbdocker-spec.json                      the EnvironmentSpec (sha256 of every file)
    binder/requirements.txt, runtime.txt    for repo2docker / Binder; in binder/ because
    binder/apt.txt (if OS packages)         repo2docker ignores everything else when it
                                            sees a root Dockerfile, and reads only
                                            binder/ when that folder exists
    README.md                               how to rebuild and verify

The first four entries are exactly :func:`nbdocker.stages.image.context_files` rendered
with empty :class:`~nbdocker.stages.image.BuildOptions` (one source of truth for which
files ship, and the same secret filter); the machine's CA bundle and index URLs are
never part of a bundle. ``nbdocker verify --bundle DIR`` re-renders the context from the
bundle's spec and files with the *local* machine's options instead.

Exports are deterministic (same inputs, same bytes, also for ``.tar.gz``: sorted
members, mtime 0, uid/gid 0, gzip mtime 0) and atomic (temporary sibling, then rename).
"""
from __future__ import annotations

import gzip
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Tuple, Union

from ..image import BuildOptions, context_files, requirements_txt, tar_bytes
from ..image.dockerfile import CONTEXT_NOTEBOOK_DIR
from ..._fs import atomic_writer
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import BundleError, InputError
from ...secrets import is_secret_env_name, is_secret_path
from ...spec import EnvironmentSpec
from ..image.base import resolve_base_image

__all__ = ["SPEC_NAME", "Bundle", "bundle_files", "export_bundle", "write_bundle",
           "shareable_spec", "is_bundle", "load_bundle", "resolve_notebook"]

PathLike = Union[str, "os.PathLike[str]"]

SPEC_NAME = "nbdocker-spec.json"
BINDER_DIR = "binder"
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")


@dataclass(frozen=True)
class Bundle:
    """A bundle on disk whose files matched its spec when it was loaded."""

    root: Path
    spec: EnvironmentSpec

    @property
    def notebook_dir(self) -> Path:
        """The directory holding the notebook and its files (the spec's paths are
        relative to it); pipeline functions use it as the notebook's directory."""
        return self.root / CONTEXT_NOTEBOOK_DIR

    @property
    def notebook(self) -> Path:
        """The notebook inside the bundle."""
        return self.notebook_dir / _notebook_name(self.spec)


def _notebook_name(spec: EnvironmentSpec) -> str:
    return next((f.path for f in spec.files if f.kind == "notebook"),
                spec.notebook.rsplit("/", 1)[-1])


def shareable_spec(spec: EnvironmentSpec,
                   on_event: Optional[EventHandler] = None) -> EnvironmentSpec:
    """``spec`` minus anything that must not leave the machine: files whose names look
    like secrets and environment variables with secret-looking names (each dropped
    with a warning; capture normally refuses them already)."""
    files = tuple(f for f in spec.files if not is_secret_path(f.path))
    env = tuple((k, v) for k, v in spec.env if not is_secret_env_name(k))
    for entry in sorted(set(spec.files) - set(files), key=lambda f: f.path):
        emit(on_event, Event(Phase.EXPORT, "warning",
                             f"not exporting {entry.path}: it looks like a secret",
                             data={"path": entry.path}))
    for name in sorted({k for k, _ in spec.env} - {k for k, _ in env}):
        emit(on_event, Event(Phase.EXPORT, "warning",
                             f"not exporting environment variable {name}: its name looks "
                             "like a secret", data={"env": name}))
    if files == spec.files and env == spec.env:
        return spec
    return spec.with_changes(files=files, env=env)


def _readme(spec: EnvironmentSpec, base_image: str) -> str:
    name = _notebook_name(spec)
    return f"""# {spec.notebook_stem}: a reproducible notebook bundle

Exported by nbdocker. `notebook/{name}` is the notebook with its saved outputs; the
files next to it are the local modules and data files it uses. `nbdocker-spec.json`
records Python {spec.python.version}, every pinned requirement and the sha256 of every
file (spec {spec.content_hash()[:12]}).

## Rebuild and verify

    nbdocker verify --bundle .        # rebuild here, re-run, compare with saved outputs

`verify` checks every file against the spec first, and uses this machine's pip set-up
(CA bundle, index URLs) for the build. Plain Docker works too:

    docker build -t {spec.notebook_stem.lower() or "notebook"} .
    docker run --rm {spec.notebook_stem.lower() or "notebook"}     # re-runs the notebook headless

The Dockerfile builds on `{base_image}`; change its `FROM` lines, or run
`nbdocker verify --bundle . --base-image IMG`, to use another base.

## Binder / repo2docker

`binder/` holds `requirements.txt` (pinned) and `runtime.txt` (and `apt.txt` when OS
packages are needed), so `repo2docker .` or mybinder.org can build this folder as well.
"""


def bundle_files(spec: EnvironmentSpec, notebook_dir: PathLike, *,
                 base_image: Optional[str] = None,
                 on_event: Optional[EventHandler] = None) -> Dict[str, bytes]:
    """Every file of the bundle, name → bytes (see the module docstring).

    ``base_image`` goes into the bundle's Dockerfile, resolved by the one rule every
    command uses (:func:`~nbdocker.stages.image.base.resolve_base_image`). Raises :class:`~nbdocker.exceptions.InputError` /
    ``NotebookError`` when a file the spec names cannot be read.
    """
    spec = shareable_spec(spec, on_event)
    base = resolve_base_image(spec, base_image)
    # Empty options: no CA bundle, no index URLs; the bundle must not carry them.
    files = context_files(spec, Path(notebook_dir), base_image=base, options=BuildOptions(),
                          on_event=on_event)
    files[SPEC_NAME] = spec.to_json().encode("utf-8")
    files[f"{BINDER_DIR}/requirements.txt"] = requirements_txt(spec).encode("utf-8")
    files[f"{BINDER_DIR}/runtime.txt"] = f"python-{spec.python.major_minor}\n".encode()
    if spec.apt_packages:
        files[f"{BINDER_DIR}/apt.txt"] = "".join(
            f"{p.name}\n" for p in spec.apt_packages).encode("utf-8")
    files["README.md"] = _readme(spec, base).encode("utf-8")
    return files


def _is_tarball(target: Path) -> bool:
    return target.name.endswith(_TAR_SUFFIXES)


def is_bundle(path: PathLike) -> bool:
    """True when ``path`` is a directory holding ``nbdocker-spec.json``."""
    p = Path(path)
    return p.is_dir() and (p / SPEC_NAME).is_file()


def _archive(files: Dict[str, bytes], prefix: str, compress: bool) -> bytes:
    """Deterministic :func:`tar_bytes` under ``prefix/``, gzipped when ``compress``
    (gzip header: no name, mtime 0)."""
    data = tar_bytes({f"{prefix}/{name}": blob for name, blob in files.items()})
    if not compress:
        return data
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def _check_dir_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise InputError(f"--to {target} exists and is not a directory "
                         "(name a directory, or a file ending in .tar.gz or .tar)")
    if target.is_dir() and any(target.iterdir()) and not is_bundle(target):
        raise BundleError(f"refusing to overwrite {target}: it is not empty and not an "
                          f"nbdocker bundle (no {SPEC_NAME}); choose another directory")


def _write_tree(root: Path, files: Dict[str, bytes]) -> None:
    for name in sorted(files):
        path = root.joinpath(*PurePosixPath(name).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move the finished ``tmp`` to ``target``; an old bundle there is swapped out
    first and removed only once the new one is in place."""
    old: Optional[Path] = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rmdir(old)
        os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_bundle(files: Dict[str, bytes], target: PathLike, *, prefix: str = "bundle") -> Path:
    """Write ``files`` to ``target`` atomically: a directory, or a ``.tar.gz``/``.tar``
    whose members live under ``prefix/``. A non-empty directory that is not a bundle is
    never overwritten (:class:`~nbdocker.exceptions.BundleError`)."""
    target = Path(target).absolute()
    if not target.parent.is_dir():
        raise InputError(f"cannot export to {target}: {target.parent} does not exist")
    if _is_tarball(target):
        if target.is_dir():
            raise InputError(f"--to {target} is a directory")
        with atomic_writer(target) as out:
            out.write(_archive(files, prefix, compress=not target.name.endswith(".tar")))
        return target
    _check_dir_target(target)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _write_tree(tmp_dir, files)
        os.chmod(tmp_dir, 0o755)
        _replace_dir(tmp_dir, target)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return target


def export_bundle(spec: EnvironmentSpec, notebook_dir: PathLike, target: PathLike, *,
                  base_image: Optional[str] = None,
                  on_event: Optional[EventHandler] = None) -> Path:
    """Export the bundle of ``spec`` (files read from ``notebook_dir``) to ``target``
    (a directory, or a file ending in ``.tar.gz`` or ``.tar``); returns the absolute
    target path."""
    emit(on_event, Event(Phase.EXPORT, "progress", "collecting files", step=0, total=2))
    files = bundle_files(spec, notebook_dir, base_image=base_image, on_event=on_event)
    emit(on_event, Event(Phase.EXPORT, "progress", f"writing {len(files)} files", step=1,
                         total=2))
    path = write_bundle(files, target, prefix=_tar_prefix(spec))
    emit(on_event, Event(Phase.EXPORT, "done", str(path), step=2, total=2,
                         data={"path": str(path), "files": sorted(files)}))
    return path


def _tar_prefix(spec: EnvironmentSpec) -> str:
    stem = "".join(c if c.isalnum() or c in "._-" else "-" for c in spec.notebook_stem)
    return f"{stem.strip('.-') or 'notebook'}-bundle"


def load_bundle(path: PathLike) -> Bundle:
    """Open the bundle directory ``path`` and check every file the spec names against
    its recorded sha256. :class:`~nbdocker.exceptions.BundleError` when ``path`` is not
    a bundle, the spec is unreadable, or a file is missing or was modified."""
    from ..capture.files import sha256_file  # the same digest capture recorded

    root = Path(path)
    if _is_tarball(root) and root.is_file():
        raise BundleError(f"{root} is a bundle archive: unpack it first "
                          f"(tar xf {root.name}) and pass the directory")
    if not is_bundle(root):
        raise BundleError(f"{root} is not an nbdocker bundle (no {SPEC_NAME}); create one "
                          "with `nbdocker export NOTEBOOK --to DIR`")
    try:
        spec = EnvironmentSpec.from_json((root / SPEC_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{root / SPEC_NAME} is not a valid nbdocker spec: {exc}") from None
    bundle = Bundle(root=root, spec=spec)
    problems: List[str] = []
    entries = list(spec.files)
    if not any(f.kind == "notebook" for f in entries) and not bundle.notebook.is_file():
        problems.append(f"{CONTEXT_NOTEBOOK_DIR}/{bundle.notebook.name} is missing")
    for entry in entries:
        rel = PurePosixPath(entry.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise BundleError(f"{root / SPEC_NAME} names a file outside the bundle: "
                              f"{entry.path!r}")
        file = bundle.notebook_dir.joinpath(*rel.parts)
        shown = f"{CONTEXT_NOTEBOOK_DIR}/{entry.path}"
        if not file.is_file():
            problems.append(f"{shown} is missing")
        elif sha256_file(file) != entry.sha256:
            problems.append(f"{shown} does not match its sha256 in {SPEC_NAME}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BundleError(f"bundle {root} is incomplete or was modified: "
                          + "; ".join(problems[:3]) + more)
    return bundle


def resolve_notebook(path: PathLike, spec: Optional[EnvironmentSpec] = None
                     ) -> Tuple[Path, Optional[EnvironmentSpec]]:
    """``(notebook path, spec)`` for ``path``: a bundle directory gives its checked
    notebook and spec (an explicit ``spec`` still wins); anything else is returned
    unchanged. Lets every command that takes a NOTEBOOK take a bundle too."""
    if not is_bundle(path):
        return Path(path), spec
    bundle = load_bundle(path)
    return bundle.notebook, spec or bundle.spec
