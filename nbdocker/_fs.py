"""The file-system policies every module shares: atomic writes and nbdocker's cache.

Atomic writes: readers see the old file or the new one, never half of one, and an
interrupted write leaves nothing behind. The cache directory is
``$NBDOCKER_CACHE_DIR``, else ``$XDG_CACHE_HOME/nbdocker``, else ``~/.cache/nbdocker``;
a cache that cannot be read or written is never an error, only slower.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, Optional, Union

from .signals import deferred

__all__ = ["atomic_writer", "atomic_write_text", "cache_dir", "read_cache", "write_cache",
           "MAX_SHIPPED_FILE", "check_writable"]

# The largest file that ships with a notebook (capture, build context, bundles alike).
MAX_SHIPPED_FILE = 50 * 1024 * 1024

PathLike = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def atomic_writer(path: PathLike, *, text: bool = False) -> Iterator[IO[Any]]:
    """Yield a file open on a temp file beside ``path``; on a clean exit it gets the mode a
    plain ``open()`` would give (or the replaced file's) and is renamed over ``path``; on
    any error (Ctrl-C included) it is removed and ``path`` is untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp: Optional[str] = None
    try:
        with deferred():  # a signal now would leave the temp file unrecorded
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                       dir=str(target.parent))
            fh: IO[Any] = (os.fdopen(fd, "w", encoding="utf-8") if text
                           else os.fdopen(fd, "wb"))
        with fh:
            yield fh
        os.chmod(tmp, _mode_for(target))  # mkstemp creates 0600
        os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def _mode_for(target: Path) -> int:
    """The replaced file's mode, else 0666 minus the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # Read it without setting it where the OS lets us: os.umask() changes it process-wide
    # for a moment, which a worker thread (the widget panel) could race with.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, text=True) as fh:
        fh.write(text)


def check_writable(path: PathLike, option: str, *, directory_ok: bool = False) -> None:
    """Raise :class:`~nbdocker.exceptions.InputError` (exit 2) now, before any long work,
    when an atomic write to ``path`` would fail later: its folder (or the nearest one
    that exists, where it would be created) must take a new file, which is tried for
    real. A directory at ``path`` is refused unless ``directory_ok``."""
    from .exceptions import InputError

    target = Path(path).absolute()
    if target.is_dir() and not directory_ok:
        raise InputError(f"{option} {target} is a directory; name a file")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{option} {target}: {folder} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".nbdocker-probe.", dir=str(folder))
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{option} {target} cannot be written: {folder}: "
                         f"{exc.strerror or exc}") from None


def cache_dir() -> Path:
    """``$NBDOCKER_CACHE_DIR``, else ``$XDG_CACHE_HOME/nbdocker``, else ``~/.cache/nbdocker``."""
    explicit = os.environ.get("NBDOCKER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nbdocker"


def read_cache(name: str) -> Optional[Any]:
    """The JSON document cached as ``name``, or None (missing or unreadable)."""
    try:
        return json.loads((cache_dir() / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_cache(name: str, value: Any) -> None:
    """Cache ``value`` as JSON under ``name``, atomically; failures are ignored."""
    try:
        atomic_write_text(cache_dir() / name, json.dumps(value))
    except OSError:
        pass  # a read-only cache is not an error, only slower
