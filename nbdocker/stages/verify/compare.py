"""Compare a notebook's saved outputs with a re-run: normalise, diff, report.

The approach follows nbclient's own tests: execution counts are dropped and what
legitimately changes between two runs is masked before comparing. Per code cell the
comparison covers

* streams — consecutive stream outputs are merged, per stream name, so how the kernel
  happened to chunk (or interleave) stdout and stderr does not matter;
* rich outputs — ``text/plain`` when present, else the first other textual
  representation (``text/html``, ``text/markdown``, JSON, widget views...);
* errors — ``ename: evalue`` only (tracebacks name files of one machine);
* images (``image/png``, ``image/jpeg``, ``image/gif``, ``image/svg+xml``...) — by
  SHA-256, reported apart from the text: by default a differing image does not fail the
  reproduction (renderers and fonts vary); ``strict_images=True`` makes it fail.

Masked in all text: ANSI colour codes, memory addresses (``0x7f...``), dates, times,
ISO timestamps, ``datetime(...)`` reprs, epoch timestamps, durations (``Wall time``,
``CPU times``, ``%timeit`` lines, tqdm's elapsed/rate), profiler measurements (``%prun``
and cProfile rows, ``%lprun`` times, ``%memit``/``%mprun`` memory; counts and code are
kept), IPython's cell file names (``<ipython-input-3-ab12>`` = ``/tmp/ipykernel_7/12.py``),
``%%writefile``'s "Overwriting" (= "Writing"), the pixel size in a matplotlib figure's
text (the image itself is compared by hash), temporary paths (``/tmp/...``,
``/var/folders/...``, Windows ``...\\Temp\\...``), the notebook's directory,
``site-packages`` locations, home directories, UUIDs and widget model ids.

Cells are skipped when tagged ``parameters``, ``injected-parameters`` or
``nbdocker-skip-compare``, and when the original never ran them (no execution count and
no outputs). Cells are aligned by position once ``injected-parameters`` cells are set
aside; indices are those of the ORIGINAL notebook.
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Pattern, Sequence, Tuple

from ...contract import INJECTED_TAG, PARAMETERS_TAG, SKIP_COMPARE_TAG, WORKDIR

__all__ = [
    "CellResult",
    "ReproductionReport",
    "normalise_text",
    "normalise_outputs",
    "strip_warnings",
    "compare_notebooks",
    "infer_author_dirs",
    "format_report",
    "report_html",
]

STATUSES = ("same", "differs", "error", "skipped")
_WARNINGS_NOTE = "only Python warnings on stderr differ (ignored)"
_SKIP_TAGS = (PARAMETERS_TAG, INJECTED_TAG, SKIP_COMPARE_TAG)
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
                "image/svg+xml", "application/pdf")
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_TIME_UNIT = r"(?:ns|µs|μs|us|ms|s|sec|min|h)"
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# How warnings.showwarning starts a warning: "path/to/file.py:12: FutureWarning: ..."
_WARNING_HEADER = re.compile(r"^\S[^\n]*:\d+: (?:[A-Za-z_][\w.]*\.)?[A-Z]\w*Warning:", re.M)
_WINDOWS_TAIL = re.compile(r"<NOTEBOOK_DIR>((?:\\{1,2}[^\s'\"\\]+)+)")
# Order matters: whole timing lines before times, paths before dates and home dirs.
_MASKS: Tuple[Tuple[Pattern[str], str], ...] = (
    (re.compile(r"^(CPU times:).*$", re.M), r"\1 <DURATION>"),
    (re.compile(r"^(Wall time:).*$", re.M), r"\1 <DURATION>"),
    (re.compile(rf"^.*[\d.,]+\s*{_TIME_UNIT}\s*±\s*[\d.,]+\s*{_TIME_UNIT} per loop.*$", re.M),
     "<TIMEIT>"),
    (re.compile(r"^[\d,]+ loops?, best of \d+: .* per loop$", re.M), "<TIMEIT>"),
    (re.compile(r"\[\d+:\d+(?::\d+)?<(?:\d+:\d+(?::\d+)?|\?)(?:,[^\]]*)?\]"), "[<ELAPSED>]"),
    # Profilers: %prun / cProfile, %lprun (line_profiler), %memit and %mprun
    # (memory_profiler) measure this run; call counts, hits and the code are kept.
    (re.compile(r"^(\s*\d+ function calls(?: \(\d+ primitive calls\))? in )[\d.]+ seconds$",
                re.M), r"\1<DURATION>"),
    (re.compile(r"^(Timer unit:|Total time:) .*$", re.M), r"\1 <DURATION>"),
    (re.compile(r"peak memory: [\d.]+ MiB, increment: -?[\d.]+ MiB"),
     "peak memory: <MEM>, increment: <MEM>"),
    (re.compile(r"^( *\d+) +-?[\d.]+ MiB +-?[\d.]+ MiB( +\d+ )", re.M), r"\1 <MEM> <MEM>\2"),
    (re.compile(r"^(Line # +Mem usage +Increment +)Occur+en+ces", re.M), r"\1Occurrences"),
    # A figure's text stands for its image, which is compared apart (by hash); its pixel
    # size follows the backend's dpi and rcParams, like the image itself.
    (re.compile(r"(<Figure size )\d+(?:\.\d+)?x\d+(?:\.\d+)?( with \d+ Axes>)"),
     r"\1<SIZE>\2"),
    # %%writefile says "Overwriting" when the file was left by an earlier session.
    (re.compile(r"^Overwriting (?=\S+$)", re.M), "Writing "),
    # The file IPython compiles a cell to: old <ipython-input-N-hash>, new
    # /tmp/ipykernel_PID/HASH.py (pdb, warnings, profilers, inspect).
    (re.compile(r"<ipython-input-\d+-[0-9a-f]+>"), "<CELL>"),
    (re.compile(r"(?<![\w.])(?:(?:/private)?/var/folders/[^\s'\"]*?|/tmp)/ipykernel_\d+/"
                r"\d+\.py"), "<CELL>"),
    (re.compile(r"(?<![\w.])(?:/private)?/var/folders/[^\s'\"]*"), "<TMP>"),
    (re.compile(r"(?<![\w.])/(?:tmp|var/tmp)/[^\s'\":]*"), "<TMP>"),
    (re.compile(r"[A-Za-z]:\\Users\\[^\\\s]+\\AppData\\Local\\Temp\\[^\s'\"]*"), "<TMP>"),
    (re.compile(r"[^\s'\"(]*[/\\](?:site|dist)-packages(?=[/\\])"), "<SITE-PACKAGES>"),
    (re.compile(r"(?<![\w.])/(?:home|Users)/[^/\s'\"]+"), "~"),
    (re.compile(r"(?<![\w.])/root(?=[/\s'\"]|$)", re.M), "~"),
    (re.compile(r"\b0x[0-9a-fA-F]{6,16}\b"), "0x<ADDR>"),
    (re.compile(r"\b(datetime\.(?:datetime|date|time))\([^()]*\)"), r"\1(<DATETIME>)"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                r"(?:Z|[+-]\d{2}:?\d{2})?"), "<DATETIME>"),
    (re.compile(rf"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:{_MONTHS}) [ \d]\d "
                r"\d{2}:\d{2}:\d{2} \d{4}\b"), "<DATETIME>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<DATE>"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<TIME>"),
    (re.compile(r"\b1[5-9]\d{8}\.\d+\b"), "<EPOCH>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                r"[0-9a-fA-F]{12}\b"), "<UUID>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<UUID>"),
)
# Masks that apply only to text holding a profiler's table header, so that a data
# table that merely looks like one (a DataFrame of floats) is never masked.
_TABLE_MASKS: Tuple[Tuple[Pattern[str], Tuple[Tuple[Pattern[str], str], ...]], ...] = (
    # cProfile rows are ordered by time and vary in number between Python versions
    (re.compile(r"^ +ncalls +tottime +percall +cumtime +percall +filename:lineno", re.M), (
        (re.compile(r"^ *\d+(?:/\d+)?(?: +\d+\.\d+){4} +\S.*\n?", re.M), "<PROFILE ROW>\n"),
        (re.compile(r"(?:^<PROFILE ROW>\n)+", re.M), "<PROFILE ROWS>\n"),
    )),
    # memory_profiler's rule is as wide as its header, whose spelling changed
    (re.compile(r"^Line # +Mem usage +Increment", re.M), (
        (re.compile(r"^={20,}$", re.M), "<RULE>"),
    )),
    # line_profiler: keep line numbers, hits and code; mask time, per hit and % time
    (re.compile(r"^Line # +Hits +Time +Per Hit +% Time +Line Contents", re.M), (
        (re.compile(r"^( *\d+ +\d+) +[\d.e+-]+ +[\d.e+-]+ +[\d.]+(?=  )", re.M),
         r"\1 <TIME>"),
    )),
)


@dataclass(frozen=True)
class CellResult:
    """How one code cell compared.

    ``status`` is ``"same"``, ``"differs"`` (``diff`` holds a short unified diff of the
    normalised outputs), ``"error"`` (the re-run raised where the original did not) or
    ``"skipped"`` (``note`` says why). ``images_differ`` is reported on its own.
    ``index`` is the cell's 0-based position in the notebook (markdown included);
    ``execution_count`` is the original's ``In [n]``, which is what users see.
    """

    index: int
    status: str
    diff: str = ""
    images_differ: bool = False
    source_head: str = ""
    note: str = ""
    execution_count: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class ReproductionReport:
    """Per-cell results of a comparison and the verdict.

    ``reproduced`` is True when no compared cell ``differs`` or is ``error`` (with
    ``strict_images``, a differing image counts as ``differs``).
    """

    reproduced: bool
    cells: Tuple[CellResult, ...]
    image: str = ""
    notebook: str = ""
    strict_images: bool = False
    # The image's Python (its base's python3, measured) and the notebook's (captured);
    # the pipeline fills them in.
    image_python: str = ""
    notebook_python: str = ""

    @property
    def python_line(self) -> str:
        """``image Python 3.11.2, notebook 3.11.7: patch differs`` ("" when unknown)."""
        if not (self.image_python and self.notebook_python):
            return ""
        from ..image.base import python_difference

        return (f"image Python {self.image_python}, notebook {self.notebook_python}: "
                f"{python_difference(self.image_python, self.notebook_python) or 'same'}")

    @property
    def summary(self) -> Dict[str, int]:
        """Counts per status, plus ``images_differ`` (cells whose images changed)."""
        counts = {status: 0 for status in STATUSES}
        for cell in self.cells:
            counts[cell.status] += 1
        counts["images_differ"] = sum(1 for c in self.cells if c.images_differ)
        return counts

    @property
    def failures(self) -> Tuple[CellResult, ...]:
        """The cells that make the report fail (``differs`` and ``error``)."""
        return tuple(c for c in self.cells if c.status in ("differs", "error"))

    def to_dict(self) -> Dict[str, Any]:
        """The ``verify --json`` document."""
        return {"reproduced": self.reproduced, "image": self.image, "notebook": self.notebook,
                "strict_images": self.strict_images, "summary": self.summary,
                "python": {"image": self.image_python, "notebook": self.notebook_python},
                "cells": [c.to_dict() for c in self.cells]}

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys, indented, trailing newline)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- normalisation -----------------------------------------------------------------

def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _collapse_carriage_returns(text: str) -> str:
    # What a terminal (and Jupyter) shows for progress bars redrawn with "\r".
    text = text.replace("\r\n", "\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def normalise_text(text: str, *, dirs: Sequence[str] = ()) -> str:
    """``text`` with ANSI codes removed and volatile parts masked (see module doc).

    Each of ``dirs`` (the notebook's directory on either side) becomes
    ``<NOTEBOOK_DIR>`` first, so ``os.getcwd()``-style output compares equal.
    """
    text = _ANSI.sub("", _collapse_carriage_returns(text))
    for directory in sorted((d.rstrip("/\\") for d in dirs if d and d.strip("/\\")),
                            key=len, reverse=True):
        text = text.replace(directory, "<NOTEBOOK_DIR>")
    # An author's Windows folder: what follows it compares like the POSIX re-run's path
    text = _WINDOWS_TAIL.sub(lambda m: "<NOTEBOOK_DIR>" + _SEPARATORS.sub("/", m.group(1)), text)
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    for marker, masks in _TABLE_MASKS:
        if marker.search(text):
            for pattern, replacement in masks:
                text = pattern.sub(replacement, text)
    return text


def _image_digest(mime: str, value: Any) -> str:
    raw = _text(value)
    if mime == "image/svg+xml":
        data = normalise_text(raw).encode("utf-8")  # SVG is text and embeds dates/ids
    else:
        try:
            data = base64.b64decode(raw.replace("\n", ""), validate=False)
        except ValueError:
            data = raw.encode("utf-8")
    return f"{mime} sha256:{hashlib.sha256(data).hexdigest()[:16]}"


def _data_lines(label: str, data: Mapping[str, Any], dirs: Sequence[str]) -> List[str]:
    """The comparable text of one rich output (images are handled apart)."""
    if "text/plain" in data:
        mime = "text/plain"
    else:
        textual = sorted(m for m in data if m not in _IMAGE_MIMES)
        if not textual:
            return []
        mime = textual[0]
    value = data[mime]
    if mime == _WIDGET_MIME and isinstance(value, Mapping):
        value = {**value, "model_id": "<MODEL_ID>"}
    if not isinstance(value, (str, list)) or (isinstance(value, list) and mime.endswith("json")):
        value = json.dumps(value, sort_keys=True, indent=1)
    prefix = f"[{label}]" if mime == "text/plain" else f"[{label} {mime}]"
    return [f"{prefix} {line}" for line in normalise_text(_text(value), dirs=dirs).split("\n")]


def strip_warnings(text: str) -> str:
    """``text`` (stderr) without Python warnings: from the first ``file:line: XWarning:``
    line on, up to the end of the text (the warning's message, source line and any
    warnings after it)."""
    match = _WARNING_HEADER.search(text)
    return text[:match.start()] if match else text


def normalise_outputs(outputs: Sequence[Mapping[str, Any]], *, dirs: Sequence[str] = (),
                      ignore_warnings: bool = False) -> Tuple[List[str], List[str]]:
    """(comparable text lines, image digests) of one cell's outputs; with
    ``ignore_warnings``, Python warnings on stderr are left out (:func:`strip_warnings`)."""
    lines: List[str] = []
    images: List[str] = []
    streams: Dict[str, List[str]] = {}  # the current run of consecutive stream outputs

    def flush_streams() -> None:
        # stdout, then stderr, whatever order the kernel flushed them in
        for name in sorted(streams, key=lambda n: (n != "stdout", n)):
            raw = "".join(streams[name])
            if ignore_warnings and name == "stderr":
                raw = strip_warnings(raw)
                if not raw.strip():
                    continue
            text = normalise_text(raw, dirs=dirs)
            lines.extend(f"[{name}] {line}" for line in text.rstrip("\n").split("\n"))
        streams.clear()

    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            streams.setdefault(str(output.get("name", "stdout")), []).append(
                _text(output.get("text", "")))
            continue
        flush_streams()
        if kind in ("execute_result", "display_data"):
            data = output.get("data", {}) or {}
            label = "result" if kind == "execute_result" else "display"
            lines.extend(_data_lines(label, data, dirs))
            images.extend(_image_digest(m, data[m]) for m in _IMAGE_MIMES if m in data)
        elif kind == "error":
            ename = str(output.get("ename", ""))
            evalue = normalise_text(str(output.get("evalue", "")), dirs=dirs)
            lines.append(f"[error] {ename}: {evalue}")
        else:
            lines.append(f"[{kind}]")
    flush_streams()
    return lines, images


# -- comparison --------------------------------------------------------------------

def _tags(cell: Mapping[str, Any]) -> List[str]:
    return list((cell.get("metadata", {}) or {}).get("tags", []) or [])


def _head(cell: Mapping[str, Any], lines: int = 3) -> str:
    return "\n".join(_text(cell.get("source", "")).splitlines()[:lines])


def _ran(cell: Mapping[str, Any]) -> bool:
    return cell.get("execution_count") is not None or bool(cell.get("outputs"))


def _first_error(outputs: Sequence[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    return next((o for o in outputs if o.get("output_type") == "error"), None)


def _bounded_diff(a: Sequence[str], b: Sequence[str], max_lines: int) -> str:
    diff = list(difflib.unified_diff(list(a), list(b), "original", "re-run", lineterm="", n=1))
    if len(diff) > max_lines:
        diff = diff[:max_lines] + [f"... ({len(diff) - max_lines} more diff lines)"]
    return "\n".join(diff)


def _stdin_hint(outputs: Sequence[Mapping[str, Any]]) -> str:
    # input(), getpass, %debug and pdb wait for a person; a headless run has none.
    if any(o.get("output_type") == "error" and o.get("ename") == "StdinNotImplementedError"
           for o in outputs):
        return ("; the cell asks for input (input(), %debug, pdb), which a headless run "
                f"cannot give: tag it {SKIP_COMPARE_TAG} to leave it out")
    return ""


# Errors that usually follow an earlier failed cell: the name, attribute or import it
# should have provided is missing (ModuleNotFoundError is a cause of its own).
_CASCADE_ERRORS = frozenset({"NameError", "AttributeError", "ImportError"})


def _follows_earlier_error(rerun: Mapping[str, Any]) -> bool:
    error = _first_error(rerun.get("outputs", []) or [])
    return error is not None and str(error.get("ename", "")) in _CASCADE_ERRORS


def _compare_cell(index: int, original: Mapping[str, Any], rerun: Optional[Mapping[str, Any]],
                  *, dirs: Sequence[str], strict_images: bool, max_diff_lines: int,
                  ignore_warnings: bool = False) -> CellResult:
    head = _head(original)
    tags = _tags(original)
    for tag in _SKIP_TAGS:
        if tag in tags:
            return CellResult(index, "skipped", source_head=head, note=f"tagged {tag}")
    if not _ran(original):
        return CellResult(index, "skipped", source_head=head, note="not run in the original")
    if rerun is None:
        return CellResult(index, "differs", source_head=head, note="missing in the re-run")
    if not _ran(rerun):
        return CellResult(index, "differs", source_head=head,
                          note="not run in the re-run (the run stopped before it)")
    old_lines, old_images = normalise_outputs(original.get("outputs", []), dirs=dirs,
                                              ignore_warnings=ignore_warnings)
    new_lines, new_images = normalise_outputs(rerun.get("outputs", []), dirs=dirs,
                                              ignore_warnings=ignore_warnings)
    images_differ = old_images != new_images
    old_error = _first_error(original.get("outputs", []))
    new_error = _first_error(rerun.get("outputs", []))
    hint = _stdin_hint(rerun.get("outputs", []))
    if new_error is not None and old_error is None:
        return CellResult(index, "error", _bounded_diff(old_lines, new_lines, max_diff_lines),
                          images_differ, head,
                          note=f"re-run raised {new_error.get('ename')}: "
                               f"{new_error.get('evalue')}" + hint)
    if old_lines != new_lines:
        return CellResult(index, "differs", _bounded_diff(old_lines, new_lines, max_diff_lines),
                          images_differ, head, note=hint.lstrip("; "))
    if images_differ:
        note = "images differ: " + ", ".join(sorted(set(old_images) ^ set(new_images)))
        return CellResult(index, "differs" if strict_images else "same", "", True, head,
                          note=note)
    if ignore_warnings and normalise_outputs(original.get("outputs", []), dirs=dirs)[0] != \
            normalise_outputs(rerun.get("outputs", []), dirs=dirs)[0]:
        return CellResult(index, "same", "", False, head,
                          note=_WARNINGS_NOTE)
    return CellResult(index, "same", "", False, head)


def _default_dir(notebook: str) -> Optional[str]:
    path = Path(notebook) if notebook else None
    return str(path.resolve().parent) if path is not None and path.is_file() else None


# -- the author's notebook directory -------------------------------------------------

# An absolute path in output text: POSIX (/a/b) or Windows (C:\a\b, or C:\\a\\b in a repr).
# Spaces end a path: a folder like "Google Drive" is not recognised (see infer_author_dirs).
_ABS_PATH = re.compile(r"""(?<![\w.~<>/\\])(?:/|[A-Za-z]:\\{1,2})[^\s'"`()<>\[\]{},;:*?|]+""")
_SEPARATORS = re.compile(r"/|\\{1,2}")
# Never an author's notebook folder: where Python itself and installed packages live.
_NOT_A_NOTEBOOK_DIR = re.compile(r"(?:^|[/\\])(?:site-packages|dist-packages|lib/python[\d.]*"
                                 r"|ipykernel_\d+)(?:[/\\]|$)")


def _output_texts(outputs: Sequence[Mapping[str, Any]]) -> List[str]:
    """Every text of ``outputs`` that may name a path, tracebacks included."""
    texts: List[str] = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            texts.append(_text(output.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            texts.extend(_text(v) for m, v in (output.get("data", {}) or {}).items()
                         if m not in _IMAGE_MIMES and isinstance(v, (str, list)))
        elif kind == "error":
            texts.append(str(output.get("evalue", "")))
            texts.extend(_ANSI.sub("", str(line)) for line in output.get("traceback", []) or [])
    return texts


def _relative_tails(texts: Sequence[str], directory: str) -> List[str]:
    """Relative paths that follow ``directory`` in ``texts`` (``dir/a/b`` → ``a/b``)."""
    prefix = directory.rstrip("/\\")
    tails: List[str] = []
    for text in texts:
        for match in _ABS_PATH.finditer(text):
            path = match.group(0)
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
    """Where the notebook's author ran it, read from absolute paths in its saved outputs.

    A saved output such as ``/Users/ann/proj/nb/helpers.py`` names the author's notebook
    folder ``/Users/ann/proj/nb`` when its tail (``helpers.py``) is a file or folder the
    notebook has: one of ``known`` (relative paths, e.g. the files shipped with it or
    those the re-run named in its work directory) or an existing path under
    ``notebook_dir``. The longest such tail wins for each path; a prefix holding
    ``site-packages`` or ``lib/pythonX.Y`` is never taken. Returns the prefixes found,
    as written in the outputs (most frequent first), for masking as ``<NOTEBOOK_DIR>``.
    Paths containing spaces are not recognised.
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
        for text in _output_texts(cell_outputs):
            for match in _ABS_PATH.finditer(text):
                path = match.group(0).rstrip(".")
                # keep separators so the prefix is cut exactly as written
                pieces = _SEPARATORS.split(path)
                seps = _SEPARATORS.findall(path)
                names = list(pieces)
                for k in range(1, len(names)):
                    tail_names = [n for n in names[k:] if n]
                    if not tail_names or not exists("/".join(tail_names)):
                        continue
                    prefix = names[0] + "".join(s + n for s, n in zip(seps[:k - 1], names[1:k]))
                    if prefix.strip("/\\") and not _NOT_A_NOTEBOOK_DIR.search(prefix) \
                            and not re.fullmatch(r"[A-Za-z]:", prefix):
                        votes[prefix] = votes.get(prefix, 0) + 1
                    break  # the longest known tail decides for this path
    return sorted(votes, key=lambda d: (-votes[d], d))


def compare_notebooks(original: Any, rerun: Any, *, image: str = "", notebook: str = "",
                      strict_images: bool = False, original_dir: Optional[str] = None,
                      rerun_dir: Optional[str] = WORKDIR,
                      shipped_files: Sequence[str] = (), ignore_warnings: bool = False,
                      max_diff_lines: int = 20) -> ReproductionReport:
    """Compare the saved outputs of ``original`` with those of the executed ``rerun``.

    ``original_dir`` (default: the directory of ``notebook`` when that is a file) and
    ``rerun_dir`` (the container's work directory) are masked as ``<NOTEBOOK_DIR>``, and
    so is the author's notebook folder when saved outputs name it (see
    :func:`infer_author_dirs`; ``shipped_files`` are the notebook's files, relative).
    With ``ignore_warnings``, Python warnings on stderr (library deprecations, platform
    notices) are left out of the comparison; a cell differing only by them is "same"
    with a note.
    A cell whose re-run raised ``NameError``, ``AttributeError`` or ``ImportError`` after
    an earlier cell already failed keeps its "error" status, with a note naming the first
    failed cell ("probably follows the error in cell N").
    Only code cells appear in the report.
    """
    notebook_dir = original_dir or _default_dir(notebook)
    dirs = [d for d in (notebook_dir, rerun_dir) if d]
    # The author's own folder, named in saved outputs (/Users/ann/nb/helpers.py), is
    # this notebook's folder too; files the re-run names in its work dir are evidence.
    rerun_outputs = [c.get("outputs", []) or [] for c in rerun.cells]
    known = list(shipped_files)
    if rerun_dir:
        known += _relative_tails([t for o in rerun_outputs for t in _output_texts(o)],
                                 rerun_dir)
    dirs += [d for d in infer_author_dirs([c.get("outputs", []) or [] for c in original.cells],
                                          notebook_dir=notebook_dir, known=known)
             if d not in dirs]
    old_cells = [(i, c) for i, c in enumerate(original.cells) if INJECTED_TAG not in _tags(c)]
    new_cells = [c for c in rerun.cells if INJECTED_TAG not in _tags(c)]
    results: List[CellResult] = []
    first_error: Optional[int] = None  # index of the first cell whose status is "error"
    for position, (index, cell) in enumerate(old_cells):
        if cell.get("cell_type") != "code":
            continue
        counterpart = new_cells[position] if position < len(new_cells) else None
        if counterpart is not None and counterpart.get("cell_type") != "code":
            counterpart = None  # the notebooks do not line up here
        result = _compare_cell(index, cell, counterpart, dirs=dirs,
                               strict_images=strict_images, max_diff_lines=max_diff_lines,
                               ignore_warnings=ignore_warnings)
        if result.status == "error" and counterpart is not None:
            if first_error is None:
                first_error = index
            elif _follows_earlier_error(counterpart):
                # A name the failed cell should have defined: a consequence, not a cause.
                result = replace(result, note=f"{result.note}; probably follows the error in "
                                              f"cell {first_error}")
        results.append(replace(result, execution_count=cell.get("execution_count")))
    reproduced = not any(r.status in ("differs", "error") for r in results)
    return ReproductionReport(reproduced=reproduced, cells=tuple(results), image=image,
                              notebook=notebook, strict_images=strict_images)


# -- rendering ---------------------------------------------------------------------

def _one_line(text: str, width: int) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _in(cell: CellResult) -> str:
    return f"[{cell.execution_count}]" if cell.execution_count is not None else ""


def format_report(report: ReproductionReport, *, width: int = 60) -> str:
    """A plain-text table of the report, then the diffs of failing cells and a verdict."""
    rows = [f"Reproduction report for {report.notebook or 'notebook'}"
            + (f" in {report.image}" if report.image else ""),
            *([report.python_line] if report.python_line else []), "",
            f"{'cell':>4}  {'In [n]':<7} {'status':<8} {'img':<3}  source"]
    for cell in report.cells:
        image_mark = "≠" if cell.images_differ else ""
        shown = cell.status != "same" or cell.note == _WARNINGS_NOTE
        note = f"  ({cell.note})" if cell.note and shown else ""
        rows.append(f"{cell.index:>4}  {_in(cell):<7} {cell.status:<8} {image_mark:<3}  "
                    f"{_one_line(cell.source_head, width)}{note}")
    for cell in report.failures:
        if cell.diff:
            rows += ["", f"cell {cell.index} {_in(cell)} {cell.status}:".replace("  ", " ")]
            rows += ["    " + line for line in cell.diff.splitlines()]
    counts = report.summary
    rows += ["", f"{counts['same']} same, {counts['differs']} differ, {counts['error']} error, "
                 f"{counts['skipped']} skipped"]
    if counts["images_differ"]:
        rule = "counted as differences" if report.strict_images else \
            "not counted: strict_images is off"
        rows.append(f"images differ in {counts['images_differ']} cell(s) ({rule})")
    if report.reproduced:
        rows.append("REPRODUCED")
    else:
        rows.append(f"NOT REPRODUCED: {len(report.failures)} cell(s) differ or fail")
    return "\n".join(rows)


def report_html(report: ReproductionReport) -> str:
    """The verdict, per-status counts and the differing cells' diffs, as HTML."""
    import html

    counts = report.summary
    verdict = ("<b style='color:green'>REPRODUCED</b>" if report.reproduced
               else "<b style='color:#b00'>NOT REPRODUCED</b>")
    out = [f"<p>{verdict}: {counts['same']} same, {counts['differs']} differ, "
           f"{counts['error']} error, {counts['skipped']} skipped</p>"]
    for cell in report.failures:
        # the note ("re-run raised …; probably follows the error in cell 2") with the diff
        note = f" ({html.escape(cell.note)})" if cell.note and cell.diff else ""
        first = cell.source_head.splitlines()[0] if cell.source_head else ""
        out.append(f"<details open><summary>cell {cell.index} {html.escape(cell.status)}: "
                   f"<code>{html.escape(first)}</code>{note}</summary>"
                   f"<pre>{html.escape(cell.diff or cell.note)}</pre></details>")
    return "".join(out)
