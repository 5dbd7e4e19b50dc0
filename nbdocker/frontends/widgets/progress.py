"""A progress bar, a status line and a collapsible log, fed by pipeline events.

:class:`ProgressView` is an ``on_event`` callback (like the CLI's ConsoleRenderer). The
bar shows the whole job: each phase of the job's plan (capture, build, run, compare)
gets an equal share, filled by the phase's ``step/total``; it never moves backwards.
Widget updates may come from a worker thread (ipykernel sends them right away).
"""
from __future__ import annotations

import collections
import html
import threading
from typing import Deque, Optional, Sequence

import ipywidgets as w

from ...events import Event, Phase

__all__ = ["ProgressView", "PLANS"]

# Which phases each action goes through, in order (the bar's shares).
# A base image already on the engine skips PULL: its share fills when the build starts.
PLANS = {
    "dry-run": (Phase.CAPTURE,),
    "build": (Phase.CAPTURE, Phase.PULL, Phase.BUILD),
    "run": (Phase.CAPTURE, Phase.PULL, Phase.BUILD, Phase.RUN),
    "verify": (Phase.CAPTURE, Phase.PULL, Phase.BUILD, Phase.RUN, Phase.COMPARE),
    "sweep": (Phase.CAPTURE, Phase.PULL, Phase.BUILD, Phase.SWEEP),
}


# The log box: ``column-reverse`` keeps a scroll box pinned to its end, so the newest
# line shows without any JavaScript (a Textarea stays scrolled to the top, and its
# disabled text cannot be selected to copy an error). The <pre> must not scroll itself
# (JupyterLab's stylesheet gives rendered <pre> overflow:auto): the box does.
_LOG_BOX = ("<div style='display:flex;flex-direction:column-reverse;max-height:14em;"
            "overflow:auto'><pre style='margin:0;overflow:visible;max-height:none;"
            "white-space:pre-wrap;word-break:break-all;font-size:var(--jp-code-font-size,12px)'>"
            "{}</pre></div>")
# One line, cut with an ellipsis: a wrapping status would squeeze the bar beside it.
_STATUS = ("<div style='white-space:nowrap;overflow:hidden;text-overflow:ellipsis'"
           " title='{title}'>{html}</div>")


class ProgressView:
    """Bar + status + log (an Accordion holding an auto-scrolling HTML ``<pre>``)."""

    def __init__(self, plan: Sequence[Phase] = PLANS["verify"], *, max_lines: int = 300) -> None:
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="nbdocker",
                                   layout=w.Layout(width="50%", flex="0 0 auto"))
        self.status = w.HTML("", layout=w.Layout(flex="1 1 0%", min_width="0"))
        self.log = w.HTML(_LOG_BOX.format(""), layout=w.Layout(width="auto"))
        self.accordion = w.Accordion(children=[self.log], selected_index=None)
        self.accordion.set_title(0, "log")
        self.widget = w.VBox([w.HBox([self.bar, self.status]), self.accordion])
        self._lines: Deque[str] = collections.deque(maxlen=max_lines)
        self._lock = threading.Lock()  # events may come from a worker thread
        self.plan: Sequence[Phase] = tuple(plan)
        self.events: int = 0

    # -- job lifecycle --------------------------------------------------------------
    def start(self, plan: Sequence[Phase]) -> None:
        """Reset for a new job going through ``plan``."""
        with self._lock:
            self.plan = tuple(plan)
            self._lines.clear()
            self.log.value = _LOG_BOX.format("")
            self.bar.value = 0.0
            self.bar.bar_style = ""
            self._set_status("")

    def finish(self, ok: bool, message: str = "") -> None:
        """Mark the job done (green, full) or failed (red, with ``message``)."""
        with self._lock:
            if ok:
                self.bar.value = 1.0
                self.bar.bar_style = "success"
                self._set_status(message or "done")
            else:
                self.bar.bar_style = "danger"
                self._set_status(message or "failed", color="#b00")

    def append(self, line: str) -> None:
        """Add one line to the log."""
        with self._lock:
            self._append(line)

    # -- the on_event callback ------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events += 1
            if event.kind == "log":
                self._append(event.message)
                return
            if event.kind == "warning":
                self._append(f"warning: {event.message}")
                self._set_status(event.message, color="#a60")
                return
            fraction = 1.0 if event.kind == "done" else event.fraction
            self._advance(event.phase, fraction)
            if event.message:
                label = f"[{event.phase.value}] " + (
                    f"{event.step}/{event.total} " if event.step is not None and event.total else "")
                self._append(label + event.message)
                self._set_status(label + event.message)

    def _advance(self, phase: Phase, fraction: Optional[float]) -> None:
        if phase not in self.plan or fraction is None:
            return
        share = 1.0 / len(self.plan)
        value = (self.plan.index(phase) + fraction) * share
        self.bar.value = max(self.bar.value, min(1.0, value))

    @property
    def text(self) -> str:
        """The log as plain text (the widget holds it escaped, in HTML)."""
        with self._lock:
            return "\n".join(self._lines)

    def _append(self, line: str) -> None:
        self._lines.append(line.rstrip("\n"))
        self.log.value = _LOG_BOX.format(html.escape("\n".join(self._lines)))

    def _set_status(self, text: str, color: str = "") -> None:
        text = text[:300]
        body = html.escape(text)
        if color:
            body = f"<span style='color:{color}'>{body}</span>"
        self.status.value = _STATUS.format(title=html.escape(text, quote=True), html=body)
