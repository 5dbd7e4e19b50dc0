"""Where the notebook's author ran it, read from absolute paths in its saved outputs.

A saved output such as ``/Users/ann/proj/nb/helpers.py`` names the author's notebook
folder ``/Users/ann/proj/nb`` when its tail (``helpers.py``) is a file or folder the
notebook has; that folder is then masked like the re-run's own (``<NOTEBOOK_DIR>``).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .normalise import strip_ansi
from .outputs import IMAGE_MIMES, text_of

__all__ = ["infer_author_dirs", "output_texts", "relative_tails"]

# An absolute path in output text: POSIX (/a/b) or Windows (C:\a\b, or C:\\a\\b in a repr).
# Spaces end a path: a folder like "Google Drive" is not recognised (see infer_author_dirs).
_ABS_PATH = re.compile(r"""(?<![\w.~<>/\\])(?:/|[A-Za-z]:\\{1,2})[^\s'"`()<>\[\]{},;:*?|]+""")
_SEPARATORS = re.compile(r"/|\\{1,2}")
# Never an author's notebook folder: where Python itself and installed packages live.
_NOT_A_NOTEBOOK_DIR = re.compile(r"(?:^|[/\\])(?:site-packages|dist-packages|lib/python[\d.]*"
                                 r"|ipykernel_\d+)(?:[/\\]|$)")
_DRIVE = re.compile(r"[A-Za-z]:")
# Longer paths are not paths a notebook prints (PATH_MAX); their tails cost quadratic time.
_MAX_PATH = 4096
_MAX_PARTS = 64


def output_texts(outputs: Sequence[Mapping[str, Any]]) -> List[str]:
    """Every text of ``outputs`` that may name a path, tracebacks included."""
    texts: List[str] = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            texts.append(text_of(output.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            texts.extend(text_of(v) for m, v in (output.get("data", {}) or {}).items()
                         if m not in IMAGE_MIMES and isinstance(v, (str, list)))
        elif kind == "error":
            texts.append(str(output.get("evalue", "")))
            texts.extend(strip_ansi(str(line)) for line in output.get("traceback", []) or [])
    return texts


def _paths(text: str) -> List[str]:
    if "/" not in text and ":\\" not in text:
        return []
    return [m.group(0) for m in _ABS_PATH.finditer(text) if len(m.group(0)) <= _MAX_PATH]


def relative_tails(texts: Sequence[str], directory: str) -> List[str]:
    """Relative paths that follow ``directory`` in ``texts`` (``dir/a/b`` → ``a/b``)."""
    prefix = directory.rstrip("/\\")
    tails: List[str] = []
    for text in texts:
        if prefix not in text:
            continue
        for path in _paths(text):
            if path.startswith(prefix) and path[len(prefix):len(prefix) + 1] in ("/", "\\"):
                tails.append("/".join(p for p in _SEPARATORS.split(path[len(prefix):]) if p))
    return tails


def _under(base: Optional[Path], tail: str) -> bool:
    if base is None or ".." in tail.split("/"):
        return False
    try:
        return (base / tail).exists()
    except (OSError, ValueError):  # a name too long or otherwise invalid here
        return False


def infer_author_dirs(outputs: Sequence[Sequence[Mapping[str, Any]]], *,
                      notebook_dir: Optional[str] = None, known: Sequence[str] = ()
                      ) -> List[str]:
    """The author's notebook folders named in saved ``outputs`` (see the module doc).

    A path's tail must be one of ``known`` (relative paths, e.g. the files shipped with
    the notebook or those the re-run named in its work directory) or exist under
    ``notebook_dir``. The longest such tail wins for each path; a prefix holding
    ``site-packages`` or ``lib/pythonX.Y`` is never taken. Returns the prefixes found,
    as written in the outputs (most frequent first). Paths containing spaces, longer
    than 4096 characters or with more than 64 parts are not recognised.
    """
    known_set = {k.strip("/") for k in known if k and k.strip("/")}
    # every folder of a known file is known too (data/x.csv → data)
    known_set |= {"/".join(k.split("/")[:i]) for k in list(known_set)
                  for i in range(1, k.count("/") + 1)}
    base = Path(notebook_dir).resolve() if notebook_dir else None

    seen: Dict[str, bool] = {}

    def exists(tail: str) -> bool:
        if tail not in seen:
            seen[tail] = tail in known_set or _under(base, tail)
        return seen[tail]

    votes: Dict[str, int] = {}
    for cell_outputs in outputs:
        for text in output_texts(cell_outputs):
            for path in _paths(text):
                path = path.rstrip(".")
                # keep separators so the prefix is cut exactly as written
                names = _SEPARATORS.split(path)
                if len(names) > _MAX_PARTS:
                    continue
                seps = _SEPARATORS.findall(path)
                for k in range(1, len(names)):
                    tail_names = [n for n in names[k:] if n]
                    if not tail_names or not exists("/".join(tail_names)):
                        continue
                    prefix = names[0] + "".join(s + n for s, n in zip(seps[:k - 1], names[1:k]))
                    if prefix.strip("/\\") and not _NOT_A_NOTEBOOK_DIR.search(prefix) \
                            and not _DRIVE.fullmatch(prefix):
                        votes[prefix] = votes.get(prefix, 0) + 1
                    break  # the longest known tail decides for this path
    return sorted(votes, key=lambda d: (-votes[d], d))
