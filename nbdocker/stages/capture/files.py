"""Files that ship with the notebook: local modules and data files named by literals.

Rules (paths are POSIX and relative to the project root, see :mod:`.project`; what the
code names is read relative to the notebook's own folder, as the kernel does):

* never above the project root (symlinks resolved; ``../data/x.csv`` is fine while it
  stays below the root, and a file above it is refused with a warning);
* never secret-looking files or anything under ``.ssh``/``.aws``/``.docker``/``.git``
  (see :mod:`nbdocker.secrets`);
* files over ``max_file_size`` are left out with a warning;
* a literal naming a *directory* (``"data"``, ``"data/"``, or the folder prefix of an
  f-string like ``f"data/{name}.csv"``) ships the files below it, at most
  :data:`MAX_DIR_FILES` of them, skipping hidden folders, caches and secrets;
* a literal holding a glob pattern (``glob("data/*.csv")``, ``!ls scripts/*.py``) ships
  what it matches under the notebook's directory, shell-style (hidden files only when
  the pattern says so), when the pattern has some literal text (``"*"`` alone is too
  broad and ships nothing).
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Optional, Set

from ..._fs import MAX_SHIPPED_FILE
from ...spec import FileEntry
from ...secrets import file_secret_reason, is_secret_path

__all__ = ["FileCollector", "MAX_DIR_FILES", "file_entry", "sha256_file"]

MAX_DIR_FILES = 1000
# Folders never worth shipping from a data directory.
_SKIP_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints", "node_modules", ".venv", "venv",
                        ".tox", ".mypy_cache", ".pytest_cache"})
_GLOB_MAGIC = re.compile(r"[*?\[]")
# What is left of a pattern once wildcards, classes, separators and dots are removed.
_WILDCARDS = re.compile(r"\[[^\]]*\]|[*?/.]")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(path: Path, rel: str, kind: str) -> FileEntry:
    """A :class:`FileEntry` with size and sha256 of ``path``."""
    return FileEntry(path=rel, kind=kind, size=path.stat().st_size, sha256=sha256_file(path))


@dataclass
class FileCollector:
    """Collects what ships, enforcing the rules in the module docstring.

    ``root`` is the project root; ``cwd`` the notebook's folder relative to it (POSIX,
    ``""`` for the root itself), against which the code's relative paths are read.
    """

    root: Path
    max_file_size: int = MAX_SHIPPED_FILE
    entries: Dict[str, FileEntry] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    cwd: str = ""

    def __post_init__(self) -> None:
        self.root = Path(os.path.realpath(self.root))
        self.cwd = "" if self.cwd in ("", ".") else self.cwd.strip("/")
        self._warned: Set[str] = set()

    def _warn(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            self.warnings.append(text)

    # -- path checks -------------------------------------------------------------
    def relative(self, literal: str, base: Optional[str] = None) -> Optional[str]:
        """The root-relative POSIX path that ``literal`` names from ``base`` (default:
        the notebook's folder), or None if it isn't a safe one.

        Absolute paths, ``~``, URLs and anything above the root (``..`` too far,
        symlinks out) are not shippable; an existing file above the root is refused
        with a warning.
        """
        text = literal.strip()
        if not text or text != literal or "://" in text or text.startswith(("~", "-")):
            return None
        posix = PurePosixPath(text.replace("\\", "/"))
        if posix.is_absolute():
            return None
        start = self.cwd if base is None else base
        parts: List[str] = [p for p in PurePosixPath(start).parts if p not in ("", ".")]
        for part in posix.parts:
            if part == "..":
                if not parts:
                    self._above_root(literal, start)
                    return None
                parts.pop()
            elif part != ".":
                parts.append(part)
        rel = "/".join(parts)
        if not rel or rel == start or start.startswith(rel + "/"):
            return None  # ".", "..": the notebook's folder or one holding it, never whole
        return rel

    def folder(self, literal: str, base: Optional[str] = None) -> Optional[str]:
        """The root-relative folder ``literal`` names from ``base`` (default: the
        notebook's folder; ``""`` is the root itself), when it is an existing folder
        below the root; the root and the notebook's own folder count here (a
        ``sys.path.append("..")``)."""
        text = literal.strip()
        if not text or "://" in text or text.startswith("~") or PurePosixPath(text).is_absolute():
            return None
        parts: List[str] = [p for p in PurePosixPath(base if base is not None else self.cwd).parts
                            if p not in ("", ".")]
        for part in PurePosixPath(text.replace("\\", "/")).parts:
            if part == "..":
                if not parts:
                    return None
                parts.pop()
            elif part != ".":
                parts.append(part)
        rel = "/".join(parts)
        return rel if (self.root / rel).is_dir() and self._inside(self.root / rel) is not None \
            else None

    def _above_root(self, literal: str, start: str) -> None:
        try:
            exists = (self.root / start / literal).exists()
        except OSError:
            exists = False
        if exists:
            self._warn(f"{literal}: above the project root {self.root}, not shipped (nothing "
                       "above the root ever ships; --root DIR sets a wider root): the code "
                       "that reads it will fail in the image")

    def _inside(self, path: Path) -> Optional[str]:
        real = Path(os.path.realpath(path))
        try:
            return real.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def add_file(self, rel: str, kind: str) -> bool:
        """Ship ``rel`` (relative POSIX) as ``kind`` if it passes the rules; True if shipped."""
        if rel in self.entries:
            if kind == "module" and self.entries[rel].kind == "data":
                self.entries[rel] = FileEntry(rel, kind, self.entries[rel].size, self.entries[rel].sha256)
            return True
        path = self.root / rel
        if is_secret_path(rel):
            self._warn(f"{rel}: looks like a secret, not shipped")
            return False
        if not path.is_file():
            return False
        real_rel = self._inside(path)
        if real_rel is None:
            self._warn(f"{rel}: points outside the project root {self.root}, not shipped")
            return False
        size = path.stat().st_size
        if size > self.max_file_size:
            self._warn(f"{rel}: {size} bytes is over the size cap of {self.max_file_size} bytes, "
                       "not shipped")
            return False
        # Links resolved, then name, inode and content (nbdocker.secrets: one rule).
        reason = file_secret_reason(path, real_rel)
        if reason:
            self._warn(f"{rel}: looks like a secret ({reason}), not shipped")
            return False
        self.entries[rel] = file_entry(path, rel, kind)
        return True

    def add_tree(self, rel_dir: str, kind: str, suffix: str = "") -> List[str]:
        """Ship the files below directory ``rel_dir`` (bounded); returns what shipped."""
        top = self.root / rel_dir
        if is_secret_path(rel_dir + "/x") or self._inside(top) is None:
            return []
        shipped: List[str] = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if suffix and not name.endswith(suffix):
                    continue
                rel = (Path(dirpath) / name).relative_to(self.root).as_posix()
                if len(shipped) >= MAX_DIR_FILES:
                    self._warn(f"{rel_dir}/: more than {MAX_DIR_FILES} files, the rest not shipped")
                    return shipped
                if self.add_file(rel, kind):
                    shipped.append(rel)
        return shipped

    # -- literals -----------------------------------------------------------------
    def add_literals(self, literals: Iterable[str], dir_prefixes: Iterable[str] = ()) -> None:
        """Ship data files (and directories) that string literals in the code name,
        read relative to the notebook's folder."""
        for literal in sorted(set(literals)):
            rel = self.relative(literal)
            if rel is None:
                continue
            path = self.root / rel
            try:
                if _GLOB_MAGIC.search(literal) and not path.exists():
                    if _WILDCARDS.sub("", literal):  # "*" alone is too broad
                        self.add_glob(rel)
                elif path.is_file():
                    self.add_file(rel, "data")
                elif path.is_dir() and self._inside(path) not in (None, ""):
                    self.add_tree(rel, "data")
            except OSError:  # names too long, permission denied: just not a data file
                continue
        for prefix in sorted(set(dir_prefixes)):
            rel = self.relative(prefix)
            if rel is not None and (self.root / rel).is_dir() and self._inside(self.root / rel) not in (None, ""):
                self.add_tree(rel, "data")

    def add_glob(self, pattern: str) -> List[str]:
        """Ship what glob ``pattern`` (relative POSIX) matches below the root; returns
        what shipped. A pattern of wildcards only (``*``, ``**/*``) ships nothing."""
        if not _WILDCARDS.sub("", pattern):
            return []
        shipped: List[str] = []
        base = glob.escape(str(self.root))
        for match in sorted(glob.glob(os.path.join(base, pattern), recursive=True)):
            rel = self._inside(Path(match))
            if not rel or _SKIP_DIRS & set(PurePosixPath(rel).parts):
                continue
            if len(shipped) >= MAX_DIR_FILES:
                self._warn(f"{pattern}: matches more than {MAX_DIR_FILES} files, "
                           "the rest not shipped")
                break
            if Path(match).is_dir():
                shipped += self.add_tree(rel, "data")
            elif self.add_file(rel, "data"):
                shipped.append(rel)
        return shipped

    # -- local modules --------------------------------------------------------------
    def local_module(self, dotted: str, folders: Iterable[str] = ("",)) -> Optional[List[str]]:
        """Files of local module ``dotted`` (root-relative paths), or None if it isn't local.

        ``a`` is local when ``a.py`` or a directory ``a/`` (package or namespace) sits in
        one of ``folders`` (root-relative; the first wins); for a directory, every
        ``.py`` file below it ships.
        """
        top = dotted.split(".", 1)[0]
        if not top.isidentifier():
            return None
        for folder in folders:
            base = f"{folder}/" if folder not in ("", ".") else ""
            if (self.root / f"{base}{top}.py").is_file():
                return [f"{base}{top}.py"] if self.add_file(f"{base}{top}.py", "module") else []
            pkg = self.root / f"{base}{top}"
            if pkg.is_dir() and ((pkg / "__init__.py").is_file() or "." in dotted):
                return self.add_tree(f"{base}{top}", "module", suffix=".py")
        return None
