"""The project around a notebook: its root, and the project's own installed packages.

* **Root**: ``--root DIR``, else the nearest folder, from the notebook's own upwards,
  holding ``.git``, ``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``.here``, else
  the notebook's folder. Files anywhere under the root may ship (at the same relative
  paths; the notebook runs in its own folder inside the image); nothing above it ever
  does.
* **Local distributions**: a distribution installed from a folder (PEP 610
  ``direct_url.json``, editable or not) or whose metadata lives outside the site
  directories (``setup.py develop``, a folder on a ``.pth`` path) is local code. Inside
  the root, its source ships and it is installed from the build context with
  ``--no-deps`` (:attr:`~nbdocker.spec.Requirement.local`); outside, it cannot ship and
  is never fetched from an index under its name (PyPI has other projects called
  ``mglearn``, ``micrograd``…).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import unquote, urlsplit

from ...exceptions import InputError

__all__ = ["ROOT_MARKERS", "find_root", "notebook_path", "project_dir", "LocalDist", "local_distributions",
           "BUILD_FILES"]

ROOT_MARKERS: Tuple[str, ...] = (".git", "pyproject.toml", "setup.py", "setup.cfg", ".here")
# Files beside a project's pyproject.toml / setup.py that its build may read.
BUILD_FILES: Tuple[str, ...] = ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in",
                                "README", "README.md", "README.rst", "README.txt", "LICENSE",
                                "LICENSE.txt", "LICENSE.md", "COPYING", "requirements.txt",
                                "hatch.toml", "VERSION", "version.txt")
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


def find_root(notebook: Path, explicit: Optional[str] = None) -> Path:
    """The project root of ``notebook`` (see the module docstring), resolved.

    Raises :class:`InputError` when ``explicit`` is not a folder or does not hold the
    notebook.
    """
    folder = Path(os.path.realpath(notebook)).parent
    if explicit is not None:
        root = Path(os.path.realpath(os.path.expanduser(explicit)))
        if not root.is_dir():
            raise InputError(f"--root {explicit}: not a folder")
        try:
            folder.relative_to(root)
        except ValueError:
            raise InputError(f"--root {explicit} does not contain the notebook "
                             f"{notebook}: the root must be the notebook's folder or above it") from None
        return root
    for candidate in (folder, *folder.parents):
        if any(os.path.lexists(candidate / marker) for marker in ROOT_MARKERS):
            return candidate
    return folder


def notebook_path(notebook: Path, explicit_root: Optional[str] = None) -> str:
    """The notebook's POSIX path relative to its project root (what a capture records as
    ``spec.notebook``), without capturing."""
    real = Path(os.path.realpath(notebook))
    return real.relative_to(find_root(notebook, explicit_root)).as_posix()


def project_dir(notebook: Path, spec_notebook: str) -> Path:
    """The folder the spec's paths are relative to, for ``notebook`` whose spec names
    it ``spec_notebook`` (``notebooks/a/nb.ipynb`` → three levels up). A spec that does
    not end like the path (hand-made, or from another notebook) falls back to the
    notebook's folder."""
    parts = PurePosixPath(spec_notebook).parts
    path = Path(os.path.abspath(notebook))
    if len(parts) > 1 and not any(p in ("..", "") for p in parts) \
            and tuple(path.parts[-len(parts):]) == parts:
        return path.parents[len(parts) - 1]
    return path.parent


@dataclass(frozen=True)
class LocalDist:
    """A distribution installed from local source.

    ``folder`` is its source folder relative to the root (POSIX, ``.`` for the root)
    or None when outside it; ``source`` the absolute folder (or archive);
    ``archive`` True for a local wheel/sdist; ``editable`` from PEP 610.
    """

    name: str
    source: str
    folder: Optional[str]
    editable: bool = False
    archive: bool = False

    @property
    def how(self) -> str:
        return ("an editable install" if self.editable else
                "a local archive" if self.archive else "a local folder")


@dataclass
class LocalDists:
    """The local distributions of an interpreter, as seen from one project root."""

    root: Path
    by_name: Dict[str, LocalDist] = field(default_factory=dict)
    # sys.path folders inside the root that no local distribution explains
    path_entries: List[str] = field(default_factory=list)


def _project_folder(path: Path, root: Path) -> Path:
    """The folder holding the project file (pyproject.toml, setup.py) at or above
    ``path`` (an editable install's source or metadata folder), not above ``root``."""
    for candidate in (path, *path.parents):
        if any((candidate / name).is_file() for name in _PROJECT_FILES):
            return candidate
        if candidate == root:
            break
    return path


def local_distributions(distributions: Mapping[str, Mapping[str, object]],
                        sys_path: Sequence[str], site_dirs: Sequence[str],
                        root: Path) -> LocalDists:
    """Which installed distributions are local code, relative to ``root``."""
    root = Path(os.path.realpath(root))
    found = LocalDists(root)
    for name, dist in sorted(distributions.items()):
        direct = dist.get("direct_url")
        source: Optional[Path] = None
        editable = archive = False
        if isinstance(direct, dict):
            url = str(direct.get("url", ""))
            source = Path(unquote(urlsplit(url).path))
            editable = bool(direct.get("editable"))
            archive = bool(direct.get("archive"))
        elif isinstance(dist.get("location"), str):
            location = Path(str(dist["location"]))
            if location.is_dir() and not _under_any(location, site_dirs):
                source = location
        if source is None:
            continue
        real = Path(os.path.realpath(source))
        if not archive:
            real = _project_folder(real, root)
        found.by_name[name] = LocalDist(name, str(real), _relative(real, root),
                                        editable=editable, archive=archive)
    explained = [Path(d.source) for d in found.by_name.values()]
    for entry in sys_path:
        path = Path(os.path.realpath(entry))
        if _relative(path, root) is None or _under_any(path, site_dirs) or not path.is_dir():
            continue
        if any(_relative(path, e) is not None for e in explained):
            continue  # src/ of an editable project: that distribution covers it
        found.path_entries.append(str(path))
    return found


def _relative(path: Path, root: Path) -> Optional[str]:
    try:
        rel = Path(os.path.realpath(path)).relative_to(root).as_posix()
    except ValueError:
        return None
    return rel or "."


def _under_any(path: Path, folders: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == f or real.startswith(f.rstrip("/") + "/")
               for f in (os.path.realpath(d) for d in folders))
