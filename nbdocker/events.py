"""Typed progress events. The library never prints: front ends render these.

Every long operation takes an optional ``on_event`` callback (:data:`EventHandler`) and
calls it with :class:`Event` objects; a callback may be ``None``. Events are also logged
at DEBUG level on :data:`logger`.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

__all__ = ["Phase", "Event", "EventHandler", "logger", "emit"]

logger = logging.getLogger("nbdocker")


class Phase(str, enum.Enum):
    """Which part of the pipeline an event comes from."""

    CAPTURE = "capture"
    RENDER = "render"
    PULL = "pull"        # fetching the base image (layers and bytes in ``data``)
    BUILD = "build"
    RUN = "run"
    COMPARE = "compare"
    EXPORT = "export"
    PUSH = "push"
    SWEEP = "sweep"


@dataclass(frozen=True)
class Event:
    """One progress report.

    ``kind`` is ``"progress"`` (``step`` of ``total`` done), ``"log"`` (a raw log line),
    ``"warning"`` (something the user should read) or ``"done"``. ``data`` carries
    phase-specific details, e.g. ``{"cached": True, "instruction": "RUN ..."}`` for a
    build step or ``{"cell": 3}`` for a run.
    """

    phase: Phase
    kind: str
    message: str = ""
    step: Optional[int] = None
    total: Optional[int] = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> Optional[float]:
        """``step / total`` when both are known, else None."""
        if self.step is None or not self.total:
            return None
        return min(1.0, max(0.0, self.step / self.total))


EventHandler = Callable[[Event], None]


def emit(on_event: Optional[EventHandler], event: Event) -> None:
    """Log ``event`` and hand it to ``on_event`` when there is one."""
    logger.debug("%s %s %s", event.phase.value, event.kind, event.message)
    if on_event is not None:
        on_event(event)
