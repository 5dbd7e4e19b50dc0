"""Atomic file writes: readers see the old file or the new one, never half of one."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, Union

__all__ = ["atomic_writer"]


@contextlib.contextmanager
def atomic_writer(path: Union[str, "os.PathLike[str]"], *, text: bool = False) -> Iterator[IO[Any]]:
    """Yield a file open on a temp file beside ``path``; on a clean exit it gets the mode a
    plain ``open()`` would give (or the replaced file's) and is renamed over ``path``; on
    any error (Ctrl-C included) it is removed and ``path`` is untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as fh:
            yield fh
        os.chmod(tmp, _mode_for(target))  # mkstemp creates 0600
        os.replace(tmp, target)
    except BaseException:
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
