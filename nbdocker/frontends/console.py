"""Terminal rendering of pipeline events (used by the CLI; the library never prints).

On a TTY a one-line progress bar is redrawn in place; elsewhere (CI logs, pipes) each
step is printed once. Raw log lines are kept in a ring buffer so a failure can show the
last lines; ``verbose`` prints them as they come.
"""
from __future__ import annotations

import collections
import shutil
import sys
from typing import Deque, Optional, TextIO

from ..events import Event
from ..exceptions import BuildError, NbDockerError

__all__ = ["ConsoleRenderer", "format_error"]


class ConsoleRenderer:
    """An ``on_event`` callback that draws progress on ``stream`` (stderr by default)."""

    def __init__(self, stream: Optional[TextIO] = None, *, quiet: bool = False,
                 verbose: bool = False, tail: int = 15) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.verbose = verbose
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.log_tail: Deque[str] = collections.deque(maxlen=tail)
        self._bar_drawn = False

    def __call__(self, event: Event) -> None:
        if event.kind == "log":
            self.log_tail.append(event.message)
            if self.verbose and not self.quiet:
                self._line(f"  {event.message}")
            return
        if event.kind == "warning":
            self._line(f"warning: {event.message}")  # warnings show even with --quiet
            return
        if self.quiet:
            return
        label = event.phase.value
        if event.kind == "progress" and event.step is not None and event.total:
            self._bar(label, event)
        elif event.message:
            self._line(f"[{label}] {event.message}")

    def close(self) -> None:
        """End a progress bar line left open on a TTY."""
        if self._bar_drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_drawn = False

    # -- drawing -------------------------------------------------------------------
    def _bar(self, label: str, event: Event) -> None:
        assert event.step is not None and event.total
        text = f"[{label}] {event.step}/{event.total} {event.message}"
        if not self.tty:
            self._line(text)
            return
        width = shutil.get_terminal_size((100, 20)).columns
        filled = int(20 * (event.fraction or 0.0))
        line = f"[{'#' * filled}{'.' * (20 - filled)}] {text}"[: width - 1]
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self._bar_drawn = True

    def _line(self, text: str) -> None:
        if self._bar_drawn:
            self.stream.write("\r\x1b[2K")
            self._bar_drawn = False
        self.stream.write(text.rstrip("\n") + "\n")
        self.stream.flush()


def format_error(exc: NbDockerError, *, log_tail: bool = True) -> str:
    """The one message a front end shows for ``exc``: ``nbdocker: error: …``, plus the
    last lines of the build log for a failed build."""
    lines = [f"nbdocker: error: {exc}"]
    if log_tail and isinstance(exc, BuildError) and exc.log_tail:
        lines.append("last lines of the build log:")
        lines += [f"  {line}" for line in exc.log_tail]
    return "\n".join(lines)
