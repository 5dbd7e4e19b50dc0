"""The reproduction report: per-cell results, the settings and environments behind them,
and the verdict (what was and was not proven).

Statuses (:class:`Status`), from best to worst:

``same``      the outputs match once environment noise is masked
``close``     they match only within the numeric tolerance (or images within the
              pixel tolerance); the largest deviation is shown
``volatile``  the container's own runs disagree (an unseeded random generator, a clock):
              whatever the original says, this cell cannot be proven — never ``same``
``differs``   stable across the container's runs, but not what the original saved
``error``     a re-run raised where the original did not
``skipped``   not compared (tagged, marked by nbval, or never run in the original)

``reproduced`` is True when no cell ``differs`` or is ``error`` and at least one cell was
proven (``same`` or ``close``); volatile cells do not fail it, they are called out.
"""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = ["Status", "Settings", "Deviation", "ImageResult", "Environment", "CellSides",
           "CellResult", "ReproductionReport", "is_reproduced", "DEFAULT_RUNS", "DEFAULT_RTOL",
           "DEFAULT_ATOL", "DEFAULT_IMAGE_TOLERANCE"]

# Two runs are the fewest that can tell noise from a result; see README ("--runs").
DEFAULT_RUNS = 2
# pytest.approx's defaults: far above BLAS and summation-order noise (~1e-15 relative),
# far below a changed printed digit of an 8-significant-digit repr (>= 1e-7 relative).
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-12
# Share of an image's pixels that may differ for "close". Exact by default: the same
# pinned matplotlib renders pixel-identical plots, while a whole other data line changes
# only ~0.5% of a 500x300 plot and a moved marker ~0.04%, so any default share would pass
# real changes; --image-tolerance opts in.
DEFAULT_IMAGE_TOLERANCE = 0.0


class Status(str, enum.Enum):
    """How one cell compared (see the module docstring). A ``str``: ``== "same"`` works."""

    SAME = "same"
    CLOSE = "close"
    VOLATILE = "volatile"
    DIFFERS = "differs"
    ERROR = "error"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


FAILING = frozenset({Status.DIFFERS, Status.ERROR})
PROVEN = frozenset({Status.SAME, Status.CLOSE})


@dataclass(frozen=True)
class Settings:
    """What a comparison was made with (shown in every report)."""

    runs: int = 1
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    image_tolerance: float = DEFAULT_IMAGE_TOLERANCE
    strict_images: bool = False
    ignore_warnings: bool = False
    lax: bool = False
    sanitize: str = ""
    pixels: bool = False        # images were decoded and compared by pixels (Pillow)
    max_kept: int = 0           # characters of one output kept for diffs and views

    def describe(self) -> str:
        """``rtol 1e-06, atol 1e-12, 2 runs, images by pixels (exact)``."""
        parts = [f"rtol {self.rtol:g}", f"atol {self.atol:g}",
                 f"{self.runs} run{'s' if self.runs != 1 else ''}"]
        if not self.pixels:
            parts.append("images by hash")
        elif self.image_tolerance:
            parts.append(f"images by pixels ({self.image_tolerance:.2%} may differ)")
        else:
            parts.append("images by pixels (exact)")
        if self.strict_images:
            parts.append("strict images")
        if self.ignore_warnings:
            parts.append("warnings ignored")
        if self.lax:
            parts.append("nbval lax")
        if self.sanitize:
            parts.append(f"sanitize {self.sanitize}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Deviation:
    """The largest numeric deviation of a ``close`` cell: the two numbers as printed."""

    absolute: float
    relative: float
    original: str
    rerun: str

    def describe(self) -> str:
        """``largest deviation 3.3e-16 (-1.30367773e-15 vs -9.75918483e-16)``."""
        return (f"largest deviation {self.absolute:.2g} (relative {self.relative:.2g}): "
                f"{self.original} vs {self.rerun}")


@dataclass(frozen=True)
class ImageResult:
    """One image of a cell: ``same`` / ``close`` / ``differs``, compared by ``method``
    (``pixels``, ``hash`` or ``text`` for SVG); ``share`` of pixels that differ."""

    position: int
    mime: str
    status: Status
    method: str
    share: Optional[float] = None
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    def describe(self) -> str:
        """``image 1 (image/png) differs: 12.50% of pixels``."""
        detail = f": {self.share:.2%} of pixels" if self.share else ""
        note = f" ({self.note})" if self.note else ""
        return f"image {self.position + 1} ({self.mime}) {self.status.value}{detail}{note}"


@dataclass(frozen=True)
class Environment:
    """One side of a comparison: where its outputs came from."""

    label: str
    python: str = ""
    kernel: str = ""
    image: str = ""
    image_id: str = ""
    base_image: str = ""
    base_digest: str = ""

    def to_dict(self) -> Dict[str, str]:
        """Plain JSON-able dict (empty fields are unknown)."""
        return {"label": self.label, "python": self.python, "kernel": self.kernel,
                "image": self.image, "image_id": self.image_id,
                "base_image": self.base_image, "base_digest": self.base_digest}

    def rows(self) -> List[Tuple[str, str]]:
        """(name, value) of the known fields, for the text and HTML views."""
        names = (("python", "Python"), ("kernel", "kernel"), ("image", "image"),
                 ("image_id", "image id"), ("base_image", "base image"),
                 ("base_digest", "base digest"))
        return [(title, getattr(self, name)) for name, title in names if getattr(self, name)]


@dataclass(frozen=True)
class CellSides:
    """The raw material of one cell for the HTML view (never serialised): its source and
    the outputs of the original and of each run, as the notebooks hold them."""

    source: str
    original: Sequence[Mapping[str, Any]]
    runs: Tuple[Sequence[Mapping[str, Any]], ...]


@dataclass(frozen=True)
class CellResult:
    """How one code cell compared.

    ``index`` is the cell's 0-based position in the original notebook (markdown
    included), ``execution_count`` the original's ``In [n]`` and ``cell_id`` its id:
    together they name the cell however the reader looks for it. ``diff`` is a bounded
    unified diff of the normalised outputs (for a ``volatile`` cell: between the
    container's runs), ``note`` a short explanation, ``reason`` why a cell is volatile
    when that can be told, ``deviation`` the largest one of a ``close`` cell.
    ``truncated`` says that the kept text or the diff was cut (see ``Settings.max_kept``).
    ``empty``: the cell printed nothing, in the original and in every run; it is ``same``
    but proves nothing, so it never makes a report REPRODUCED on its own.
    """

    index: int
    status: Status
    diff: str = ""
    images_differ: bool = False
    source_head: str = ""
    note: str = ""
    execution_count: Optional[int] = None
    cell_id: Optional[str] = None
    deviation: Optional[Deviation] = None
    images: Tuple[ImageResult, ...] = ()
    reason: str = ""
    truncated: bool = False
    empty: bool = False
    sides: Optional[CellSides] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))   # "same" is accepted too

    @property
    def name(self) -> str:
        """``cell 4 [In 5] id 1a2b3c4d``: position, ``In [n]`` and id."""
        parts = [f"cell {self.index}"]
        if self.execution_count is not None:
            parts.append(f"In [{self.execution_count}]")
        if self.cell_id:
            parts.append(f"id {self.cell_id}")
        return " ".join(parts)

    def explanation(self) -> str:
        """The note, the reason, the deviation and the images, in one line."""
        parts = [p for p in (self.note, self.reason) if p]
        if self.deviation is not None:
            parts.append(self.deviation.describe())
        parts += [i.describe() for i in self.images if i.status != Status.SAME]
        return "; ".join(parts)

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-able dict."""
        return {"index": self.index, "status": self.status.value, "diff": self.diff,
                "images_differ": self.images_differ, "source_head": self.source_head,
                "note": self.note, "execution_count": self.execution_count,
                "cell_id": self.cell_id, "reason": self.reason, "truncated": self.truncated,
                "empty": self.empty, "deviation": None if self.deviation is None else {
                    "absolute": self.deviation.absolute, "relative": self.deviation.relative,
                    "original": self.deviation.original, "rerun": self.deviation.rerun},
                "images": [{"position": i.position, "mime": i.mime, "status": i.status.value,
                            "method": i.method, "share": i.share, "note": i.note}
                           for i in self.images]}


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


@dataclass(frozen=True)
class ReproductionReport:
    """Per-cell results of a comparison and the verdict (see the module docstring)."""

    reproduced: bool
    cells: Tuple[CellResult, ...]
    image: str = ""
    notebook: str = ""
    settings: Settings = Settings()
    original: Environment = Environment("original")
    rerun: Environment = Environment("re-run")
    notes: Tuple[str, ...] = ()

    @property
    def python_line(self) -> str:
        """``image Python 3.11.2, notebook 3.11.7: patch differs`` (for a re-run in a
        container; ``re-run Python …, original …`` otherwise) when both sides' versions
        are known: outputs can depend on any difference, the patch included."""
        a, b = self.original.python, self.rerun.python
        if not (a and b):
            return ""
        from ..image.base import python_difference

        names = ("image", "notebook") if self.rerun.image else ("re-run", "original")
        return (f"{names[0]} Python {b}, {names[1]} {a}: "
                f"{python_difference(b, a) or 'same'}")

    @property
    def strict_images(self) -> bool:
        """Whether differing images count as differences even by hash."""
        return self.settings.strict_images

    @property
    def summary(self) -> Dict[str, int]:
        """Counts per status, plus ``images_differ`` (cells whose images changed)."""
        counts = {status.value: 0 for status in Status}
        for cell in self.cells:
            counts[cell.status.value] += 1
        counts["images_differ"] = sum(1 for c in self.cells if c.images_differ)
        return counts

    @property
    def failures(self) -> Tuple[CellResult, ...]:
        """The cells that make the report fail (``differs`` and ``error``)."""
        return tuple(c for c in self.cells if c.status in FAILING)

    @property
    def verdict(self) -> str:
        """One line that says what was and was not proven, e.g.
        ``REPRODUCED: 14 same, 2 close; 1 volatile cell not provable``."""
        n = self.summary
        proven = ", ".join([f"{n['same']} same"] + ([f"{n['close']} close"] if n["close"] else []))
        tail = []
        if n["volatile"]:
            tail.append(f"{_plural(n['volatile'], 'volatile cell')} not provable")
        if n["skipped"]:
            tail.append(f"{n['skipped']} skipped")
        if self.settings.runs < 2:
            tail.append("volatility not checked (--runs 1)")
        rest = "".join(f"; {t}" for t in tail)
        if self.failures:
            failed = [f"{_plural(n['differs'], 'cell differs', 'cells differ')}"] \
                if n["differs"] else []
            failed += [f"{_plural(n['error'], 'error')}"] if n["error"] else []
            return f"NOT REPRODUCED: {', '.join(failed)}; {proven}{rest}"
        if not self.reproduced:
            empty = sum(1 for c in self.cells if c.empty)
            if empty:   # "same" only because they print nothing
                proven = proven.replace(" same", f" same, {empty} of them without output", 1)
            return f"NOT PROVEN: no cell could be compared ({proven}{rest})"
        return f"REPRODUCED: {proven}{rest}"

    def to_dict(self) -> Dict[str, Any]:
        """The ``verify --json`` / ``compare --json`` document."""
        s = self.settings
        return {"reproduced": self.reproduced, "verdict": self.verdict, "image": self.image,
                "notebook": self.notebook, "strict_images": s.strict_images,
                "settings": {"runs": s.runs, "rtol": s.rtol, "atol": s.atol,
                             "image_tolerance": s.image_tolerance,
                             "strict_images": s.strict_images,
                             "ignore_warnings": s.ignore_warnings, "lax": s.lax,
                             "sanitize": s.sanitize, "pixels": s.pixels,
                             "max_kept": s.max_kept},
                "environments": {"original": self.original.to_dict(),
                                 "rerun": self.rerun.to_dict()},
                "summary": self.summary, "notes": list(self.notes),
                "cells": [c.to_dict() for c in self.cells]}

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys, indented, trailing newline)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_reproduced(cells: Sequence[CellResult]) -> bool:
    """No failing cell, and at least one proven (``same`` or ``close``) that has output:
    a cell that prints nothing on either side proves nothing."""
    return not any(c.status in FAILING for c in cells) and \
        any(c.status in PROVEN and not c.empty for c in cells)
