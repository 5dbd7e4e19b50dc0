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
They write only into a new or empty folder or one holding nothing but an earlier
bundle's own files; ``force`` also writes into a folder holding other files and replaces
only nbdocker's own files there (never a file of the user's).

Loading trusts nothing of the bundle but its spec (checked against
:mod:`nbdocker.grammar`) and the files the spec names: each must be a regular file
(no symlink anywhere on its path, no hard link, no device), at most
:data:`~nbdocker._fs.MAX_SHIPPED_FILE` bytes, of the recorded size and sha256 (read in
chunks). The bundle's own Dockerfile, runner and requirements are never used: builds
re-render them from the spec. The **bundle digest** (:func:`bundle_digest`,
``sha256:`` + the spec's content hash) covers the spec and, through its sha256s, every
file that is used; ``export`` prints it, and ``load_bundle(..., expect_digest=...)``
(``--expect-digest``) checks a bundle against the digest its author published.
"""
from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Set, Tuple, Union

from ..image import BuildOptions, context_files, requirements_txt, tar_bytes
from ..image.base import resolve_base_image
from ..image.dockerfile import CONTEXT_NOTEBOOK_DIR, default_tag
from ..._fs import MAX_SHIPPED_FILE, atomic_writer
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import BundleError, InputError
from ...secrets import is_secret_env, is_secret_path
from ...signals import deferred
from ...spec import EnvironmentSpec

__all__ = ["SPEC_NAME", "Bundle", "bundle_files", "export_bundle", "write_bundle",
           "check_bundle_target",
           "shareable_spec", "is_bundle", "load_bundle", "resolve_notebook", "bundle_digest",
           "digest_of"]

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
    env = tuple((k, v) for k, v in spec.env if not is_secret_env(k, v))
    for entry in sorted(set(spec.files) - set(files), key=lambda f: f.path):
        emit(on_event, Event(Phase.EXPORT, "warning",
                             f"not exporting {entry.path}: it looks like a secret",
                             data={"path": entry.path}))
    for name in sorted({k for k, _ in spec.env} - {k for k, _ in env}):
        emit(on_event, Event(Phase.EXPORT, "warning",
                             f"not exporting environment variable {name}: it looks "
                             "like a secret", data={"env": name}))
    if files == spec.files and env == spec.env:
        return spec
    return spec.with_changes(files=files, env=env)


def _readme(spec: EnvironmentSpec, base_image: str) -> str:
    name = _notebook_name(spec)
    tag = default_tag(spec)   # a valid image name whatever the notebook is called
    pinned = (" (pinned by digest: a rebuild starts from the same bytes)"
              if "@sha256:" in base_image else "")
    return f"""# {spec.notebook_stem}: a reproducible notebook bundle

Exported by nbdocker. `notebook/{name}` is the notebook with its saved outputs; the
files next to it are the local modules and data files it uses. `nbdocker-spec.json`
records Python {spec.python.version}, every pinned requirement and the sha256 of every
file (spec {spec.content_hash()[:12]}).

## Rebuild and verify

    nbdocker verify --bundle .        # rebuild here, re-run, compare with saved outputs

`verify` checks every file against the spec first, and uses this machine's pip set-up
(CA bundle, index URLs) for the build. Plain Docker works too:

    docker build -t {tag} .
    docker run --rm {tag}     # re-runs the notebook headless

The Dockerfile builds on `{base_image}`{pinned}; change its `FROM` lines, or run
`nbdocker verify --bundle . --base-image IMG`, to use another base.

## Binder / repo2docker

`binder/` holds `requirements.txt` (pinned) and `runtime.txt` (and `apt.txt` when OS
packages are needed), so `repo2docker .` or mybinder.org can build this folder as well.
"""


def bundle_files(spec: EnvironmentSpec, notebook_dir: PathLike, *,
                 base_image: Optional[str] = None,
                 on_event: Optional[EventHandler] = None) -> Dict[str, bytes]:
    """Every file of the bundle, name → bytes (see the module docstring).

    ``base_image`` goes into the bundle's Dockerfile (``nbdocker.export`` passes the base
    pinned by digest), resolved by the one rule every command uses
    (:func:`~nbdocker.stages.image.base.resolve_base_image`). Raises
    :class:`~nbdocker.exceptions.InputError` / ``NotebookError`` when a file the spec
    names cannot be read.
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


_GENERATED_DIRS = ("nbdocker-build", BINDER_DIR)
_GENERATED_FILES = ("Dockerfile", "README.md", SPEC_NAME)


def _tree_files(root: Path) -> Set[str]:
    """Every non-directory entry below ``root`` (symlinks included, not followed), as
    POSIX paths relative to it."""
    found: Set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath).relative_to(root)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = [d for d in dirnames if d not in links]
        found.update((base / name).as_posix() for name in filenames + links)
    return found


def _own_files(target: Path, present: Set[str]) -> Set[str]:
    """What of ``present`` an earlier export wrote into ``target``: the generated files
    and the notebook files its spec names (all of it is foreign when there is no
    readable spec)."""
    try:
        old = EnvironmentSpec.from_json((target / SPEC_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, InputError):
        return set()
    named = {f"{CONTEXT_NOTEBOOK_DIR}/{f.path}" for f in old.files}
    named.add(f"{CONTEXT_NOTEBOOK_DIR}/{_notebook_name(old)}")
    return {name for name in present
            if name in named or name in _GENERATED_FILES
            or name.split("/", 1)[0] in _GENERATED_DIRS}


def _foreign_files(target: Path) -> Tuple[Set[str], Set[str]]:
    """``(own, foreign)`` files of an existing directory target."""
    present = _tree_files(target)
    own = _own_files(target, present) if is_bundle(target) else set()
    return own, present - own


def _listed(names: Set[str]) -> str:
    shown = sorted(names)
    return ", ".join(shown[:5]) + (f" (and {len(shown) - 5} more)" if len(shown) > 5 else "")


def _write_tree(root: Path, files: Dict[str, bytes]) -> None:
    for name in sorted(files):
        path = root.joinpath(*PurePosixPath(name).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move the finished ``tmp`` to ``target``; an old bundle there is swapped out
    first and removed only once the new one is in place."""
    old: Optional[Path] = None
    with deferred():  # renames only: a signal must not find the target moved away
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


def _update_in_place(target: Path, files: Dict[str, bytes], own: Set[str]) -> None:
    """``--force`` beside the user's files: each new file written atomically, the old
    bundle's files that the new one lacks removed; nothing else is touched."""
    for name in sorted(files):
        with atomic_writer(target.joinpath(*PurePosixPath(name).parts)) as out:
            out.write(files[name])
    for name in sorted(own - set(files)):
        path = target.joinpath(*PurePosixPath(name).parts)
        path.unlink()
        for parent in path.relative_to(target).parents:
            if str(parent) == ".":
                break
            try:
                os.rmdir(target / parent)   # only when it became empty
            except OSError:
                break


def _is_bundle_archive(path: Path) -> bool:
    """True when ``path`` is a tarball an export wrote (``PREFIX/nbdocker-spec.json``)."""
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if len(parts) == 2 and parts[1] == SPEC_NAME:
                    return True
    except (OSError, tarfile.TarError, EOFError):
        return False
    return False


def check_bundle_target(target: PathLike, *, force: bool = False) -> Path:
    """``target`` (absolute) when a bundle may be written there (see
    :func:`write_bundle`); the same errors otherwise, so that ``export`` can refuse a
    target before any long work (a base image pull)."""
    target = Path(target).absolute()
    if not target.parent.is_dir():
        raise InputError(f"cannot export to {target}: {target.parent} does not exist")
    if _is_tarball(target):
        if target.is_dir():
            raise InputError(f"--to {target} is a directory")
        if target.exists() and not force and not _is_bundle_archive(target):
            raise BundleError(f"refusing to overwrite {target}: it is not a bundle archive "
                              "nbdocker wrote; choose another name, or pass --force")
        return target
    if target.exists() and not target.is_dir():
        raise InputError(f"--to {target} exists and is not a directory "
                         "(name a directory, or a file ending in .tar.gz or .tar)")
    foreign = _foreign_files(target)[1] if target.is_dir() else set()
    if foreign and not force:
        what = ("it holds files nbdocker did not write" if is_bundle(target)
                else f"it is not empty and not an nbdocker bundle (no {SPEC_NAME})")
        raise BundleError(f"refusing to overwrite {target}: {what} ({_listed(foreign)}); "
                          "choose another directory, or pass --force to replace only "
                          "nbdocker's own files there")
    return target


def write_bundle(files: Dict[str, bytes], target: PathLike, *, prefix: str = "bundle",
                 force: bool = False) -> Path:
    """Write ``files`` to ``target`` atomically: a directory, or a ``.tar.gz``/``.tar``
    whose members live under ``prefix/``. Only into a new or empty directory or one
    holding nothing but an earlier bundle's own files, and over no file but an earlier
    bundle archive; :class:`~nbdocker.exceptions.BundleError` (exit 2) otherwise.
    ``force`` writes beside other files too, replacing only nbdocker's own."""
    target = check_bundle_target(target, force=force)
    if _is_tarball(target):
        with atomic_writer(target) as out:
            out.write(_archive(files, prefix, compress=not target.name.endswith(".tar")))
        return target
    own: Set[str] = set()
    foreign: Set[str] = set()
    if target.is_dir():
        own, foreign = _foreign_files(target)
    if foreign:
        clash = foreign & set(files)
        if clash:
            raise BundleError(f"refusing to export to {target}: these files are not "
                              f"nbdocker's and would be overwritten: {_listed(clash)}")
        _update_in_place(target, files, own)
        return target
    tmp_dir: Optional[Path] = None
    try:
        with deferred():  # a signal now would leave the folder unrecorded
            tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                            dir=target.parent))
        _write_tree(tmp_dir, files)
        os.chmod(tmp_dir, 0o755)
        _replace_dir(tmp_dir, target)
    except BaseException:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return target


def export_bundle(spec: EnvironmentSpec, notebook_dir: PathLike, target: PathLike, *,
                  base_image: Optional[str] = None, force: bool = False,
                  on_event: Optional[EventHandler] = None) -> Path:
    """Export the bundle of ``spec`` (files read from ``notebook_dir``) to ``target``
    (a directory, or a file ending in ``.tar.gz`` or ``.tar``; see
    :func:`write_bundle` for ``force``); returns the absolute target path. The done
    event's data carries the bundle digest."""
    emit(on_event, Event(Phase.EXPORT, "progress", "collecting files", step=0, total=2))
    files = bundle_files(spec, notebook_dir, base_image=base_image, on_event=on_event)
    emit(on_event, Event(Phase.EXPORT, "progress", f"writing {len(files)} files", step=1,
                         total=2))
    path = write_bundle(files, target, prefix=_tar_prefix(spec), force=force)
    digest = bundle_digest(EnvironmentSpec.from_json(files[SPEC_NAME].decode("utf-8")))
    emit(on_event, Event(Phase.EXPORT, "done", str(path), step=2, total=2,
                         data={"path": str(path), "files": sorted(files), "digest": digest}))
    return path


def _tar_prefix(spec: EnvironmentSpec) -> str:
    stem = "".join(c if c.isalnum() or c in "._-" else "-" for c in spec.notebook_stem)
    return f"{stem.strip('.-') or 'notebook'}-bundle"


def bundle_digest(spec: EnvironmentSpec) -> str:
    """``sha256:<content hash of the spec>``: names everything a build from the bundle
    uses (the spec, and every file through the sha256 the spec records for it)."""
    return f"sha256:{spec.content_hash()}"


_MAX_SPEC = 16 * 1024 * 1024


def digest_of(path: PathLike) -> str:
    """The bundle digest of a bundle directory or of an exported ``.tar.gz``/``.tar``."""
    target = Path(path)
    if target.is_dir():
        return bundle_digest(_read_spec(target))
    with tarfile.open(target) as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            handle = tar.extractfile(member) if member.isfile() else None
            if len(parts) == 2 and parts[1] == SPEC_NAME and handle is not None:
                return bundle_digest(EnvironmentSpec.from_json(
                    handle.read(_MAX_SPEC).decode("utf-8")))
    raise BundleError(f"{target} holds no {SPEC_NAME}")


def _regular(root: Path, rel: str, *, limit: int) -> os.stat_result:
    """``lstat`` of ``root/rel`` after checking that no component below ``root`` is a
    symlink and that the file is a regular file with one link, at most ``limit`` bytes.
    :class:`BundleError` naming the path otherwise."""
    current = root
    parts = PurePosixPath(rel).parts
    for i, part in enumerate(parts):
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            raise BundleError(f"{rel} is missing") from None
        except OSError as exc:
            raise BundleError(f"{rel} cannot be read: {exc.strerror}") from None
        if stat.S_ISLNK(st.st_mode):
            raise BundleError(f"{rel} is a symlink{'' if i == len(parts) - 1 else ' below'}"
                              f" ({current.relative_to(root)}): bundles hold regular files only")
        if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
            raise BundleError(f"{rel}: {current.relative_to(root)} is not a directory")
    if not stat.S_ISREG(st.st_mode):
        raise BundleError(f"{rel} is not a regular file (a device, pipe or folder): bundles "
                          "hold regular files only")
    if st.st_nlink > 1:
        raise BundleError(f"{rel} is a hard link ({st.st_nlink} names for one file): bundles "
                          "hold regular files only")
    if st.st_size > limit:
        raise BundleError(f"{rel} is {st.st_size} bytes, over the {limit}-byte cap")
    return st


def _sha256_nofollow(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_spec(root: Path) -> EnvironmentSpec:
    _regular(root, SPEC_NAME, limit=_MAX_SPEC)
    try:
        return EnvironmentSpec.from_json((root / SPEC_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, InputError) as exc:
        raise BundleError(f"{root / SPEC_NAME} is not a valid nbdocker spec: {exc}") from None


def load_bundle(path: PathLike, *, expect_digest: Optional[str] = None) -> Bundle:
    """Open the bundle directory ``path`` and check it (see the module docstring): the
    spec's grammar, every file it names (regular, capped, its size and sha256) and, with
    ``expect_digest``, the bundle digest. :class:`~nbdocker.exceptions.BundleError`
    (exit 2) when anything is off."""
    root = Path(path)
    if _is_tarball(root) and root.is_file():
        raise BundleError(f"{root} is a bundle archive: unpack it first "
                          f"(tar xf {root.name}) and pass the directory")
    if not is_bundle(root):
        raise BundleError(f"{root} is not an nbdocker bundle (no {SPEC_NAME}); create one "
                          "with `nbdocker export NOTEBOOK --to DIR`")
    spec = _read_spec(root)
    if expect_digest is not None and bundle_digest(spec) != expect_digest:
        raise BundleError(f"bundle {root} has digest {bundle_digest(spec)}, not the expected "
                          f"{expect_digest}: it is not the bundle that was published")
    bundle = Bundle(root=root, spec=spec)
    problems: List[str] = []
    if not any(f.kind == "notebook" for f in spec.files):
        problems.append(f"{SPEC_NAME} records no notebook file (and so no sha256 for it)")
    for entry in spec.files:
        shown = f"{CONTEXT_NOTEBOOK_DIR}/{entry.path}"
        try:
            st = _regular(root, shown, limit=MAX_SHIPPED_FILE)
        except BundleError as exc:
            problems.append(str(exc))
            continue
        if st.st_size != entry.size or _sha256_nofollow(root / shown) != entry.sha256:
            problems.append(f"{shown} does not match its sha256 in {SPEC_NAME}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BundleError(f"bundle {root} is incomplete or was modified: "
                          + "; ".join(problems[:3]) + more)
    return bundle


def resolve_notebook(path: PathLike, spec: Optional[EnvironmentSpec] = None, *,
                     expect_digest: Optional[str] = None
                     ) -> Tuple[Path, Optional[EnvironmentSpec]]:
    """``(notebook path, spec)`` for ``path``: a bundle directory gives its checked
    notebook and spec (an explicit ``spec`` still wins); anything else is returned
    unchanged. Lets every command that takes a NOTEBOOK take a bundle too.
    ``expect_digest`` needs a bundle, or the ``spec`` of one (a bundle resolved
    before: the digest is the spec's): :class:`InputError` otherwise."""
    if not is_bundle(path):
        if expect_digest is not None:
            if spec is None:
                raise InputError(f"--expect-digest checks a bundle, and {path} is not one")
            if bundle_digest(spec) != expect_digest:
                raise BundleError(f"the spec for {path} has digest {bundle_digest(spec)}, "
                                  f"not the expected {expect_digest}")
        return Path(path), spec
    bundle = load_bundle(path, expect_digest=expect_digest)
    return bundle.notebook, spec or bundle.spec
