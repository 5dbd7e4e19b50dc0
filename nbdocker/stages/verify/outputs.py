"""A cell's outputs as comparable parts: merged streams, rich outputs, errors, images.

* streams — consecutive stream outputs are merged, per stream name, so how the kernel
  happened to chunk (or interleave) stdout and stderr does not matter;
* rich outputs — ``text/plain`` when present, else the first other textual
  representation (``text/html``, ``text/markdown``, JSON, widget views with their model
  id masked...). An image's placeholder text (``<Figure size 640x480 with 1 Axes>``, a
  bare ``<... object>`` repr) stands for the image and is left to the image comparison;
* errors — ``ename: evalue`` only (tracebacks name files of one machine);
* images (``image/png``, ``image/jpeg``, ``image/gif``, ``image/svg+xml``...) — apart
  (see :mod:`.images`);
* in a cell that installs packages (``%pip install``, ``!pip install``...), what the
  installer printed is reduced to what was installed (see :mod:`.install`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from .images import IMAGE_MIMES, Picture, picture
from .install import summarise_install
from .normalise import Normaliser, strip_warnings

__all__ = ["Part", "Comparable", "comparable", "text_of", "first_error", "IMAGE_MIMES"]

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# The text/plain of an output that also holds an image, when it carries no data itself
_PLACEHOLDER = re.compile(r"<Figure size \d{1,6}(?:\.\d{1,6})?x\d{1,6}(?:\.\d{1,6})? with "
                          r"\d{1,6} Axes>|<[\w.]{1,200} (?:object|at 0x)[^\n<>]{0,200}>")


@dataclass(frozen=True)
class Part:
    """One comparable text: its ``label`` (``stdout``, ``result``, ``display text/html``,
    ``error``, ``pip``...) and its normalised ``text``."""

    label: str
    text: str

    def lines(self) -> List[str]:
        """``[label] line`` for each line (what diffs show)."""
        return [f"[{self.label}] {line}" for line in self.text.split("\n")]


@dataclass(frozen=True)
class Comparable:
    """What is compared of one cell: its texts and its images."""

    parts: Tuple[Part, ...]
    pictures: Tuple[Picture, ...]

    def lines(self) -> List[str]:
        """Every part's lines, in order."""
        return [line for part in self.parts for line in part.lines()]


def text_of(value: Any) -> str:
    """A notebook's multiline string (a list of lines or a string) as one string."""
    return "".join(value) if isinstance(value, list) else str(value)


def first_error(outputs: Sequence[Mapping[str, Any]]) -> Any:
    """The first ``error`` output, or None."""
    return next((o for o in outputs if o.get("output_type") == "error"), None)


def _rich_part(label: str, data: Mapping[str, Any], has_image: bool,
               normaliser: Normaliser) -> List[Part]:
    if "text/plain" in data:
        mime = "text/plain"
    else:
        textual = sorted(m for m in data if m not in IMAGE_MIMES)
        if not textual:
            return []
        mime = textual[0]
    value = data[mime]
    if mime == _WIDGET_MIME and isinstance(value, Mapping):
        value = {**value, "model_id": "<MODEL_ID>"}
    if not isinstance(value, (str, list)) or (isinstance(value, list) and mime.endswith("json")):
        value = json.dumps(value, sort_keys=True, indent=1)
    text = text_of(value)
    if has_image and mime == "text/plain" and _PLACEHOLDER.fullmatch(text.strip()):
        return []
    name = label if mime == "text/plain" else f"{label} {mime}"
    return [Part(name, normaliser.text(text))]


def comparable(outputs: Sequence[Mapping[str, Any]], normaliser: Normaliser, *,
               ignore_warnings: bool = False, installs: bool = False) -> Comparable:
    """The comparable parts of one cell's ``outputs``. With ``ignore_warnings``, Python
    warnings on stderr are left out; ``installs`` (the cell runs ``pip install``)
    reduces its streams to what was installed."""
    parts: List[Part] = []
    pictures: List[Picture] = []
    streams: Dict[str, List[str]] = {}  # the current run of consecutive stream outputs

    def flush_streams() -> None:
        # stdout, then stderr, whatever order the kernel flushed them in
        for name in sorted(streams, key=lambda n: (n != "stdout", n)):
            raw = "".join(streams[name])
            if ignore_warnings and name == "stderr":
                raw = strip_warnings(raw)
            if installs:
                raw = summarise_install(raw)
            if not raw.strip() and (ignore_warnings or installs):
                continue
            parts.append(Part(name, normaliser.text(raw).rstrip("\n")))
        streams.clear()

    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            streams.setdefault(str(output.get("name", "stdout")), []).append(
                text_of(output.get("text", "")))
            continue
        flush_streams()
        if kind in ("execute_result", "display_data"):
            data = output.get("data", {}) or {}
            images = [picture(m, data[m], normaliser) for m in IMAGE_MIMES if m in data]
            label = "result" if kind == "execute_result" else "display"
            parts.extend(_rich_part(label, data, bool(images), normaliser))
            pictures.extend(images)
        elif kind == "error":
            ename = str(output.get("ename", ""))
            evalue = normaliser.text(str(output.get("evalue", "")))
            parts.append(Part("error", f"{ename}: {evalue}"))
        else:
            parts.append(Part(str(kind), ""))
    flush_streams()
    return Comparable(tuple(parts), tuple(pictures))
