"""The sweep backend seam: how a sweep's runs reach containers and how their logs come back.

A backend only *submits* and *collects*; everything else a sweep does - the parameter
sets, the payload, the runner's task mode, reading a task's record from its log lines,
the results table, progress and resume - is shared (:mod:`nbdocker.stages.run.sweep`,
:mod:`nbdocker.stages.run.sweep_task`). It sits beside the engine seam
(:mod:`nbdocker.engine.base`) and schedules nothing itself: the local engine with a
bounded pool, a Docker Swarm replicated job or a Kubernetes Indexed Job do that.

=================  ==========================================  ===========================
backend            submission                                  collection
=================  ==========================================  ===========================
``local``          one container per run, ``-j`` at a time     each container's output
``swarm``          one ``replicated-job`` service              the service's log stream
``kubernetes``     one Indexed Job + ConfigMap                 each pod's log
=================  ==========================================  ===========================
"""
from __future__ import annotations

import abc
from typing import ClassVar, Optional, Protocol

from ....engine.base import ContainerEngine
from ....events import EventHandler
from ..sweep_task import SweepJob, TaskEnd, TaskStream

__all__ = ["SweepBackend", "TaskSink", "publish_to_registry"]


class TaskSink(Protocol):
    """Where a backend reports its tasks (thread-safe: the local backend calls it from
    its worker threads)."""

    def started(self, index: int) -> None:
        """The run of sweep index ``index`` started (its container is running)."""

    def finished(self, index: int, stream: TaskStream, end: TaskEnd) -> None:
        """The run of ``index`` ended; ``stream`` holds its log lines as read."""


class SweepBackend(abc.ABC):
    """Submission and collection of a sweep's runs on one kind of engine."""

    name: ClassVar[str]

    def check(self) -> None:
        """Raise (one line naming what to set up) when this backend cannot work here;
        called before any image is built."""

    @abc.abstractmethod
    def default_concurrency(self) -> int:
        """How many runs at once when ``-j`` is not given."""

    def publish(self, image: str, on_event: Optional[EventHandler] = None) -> str:
        """The reference the backend's nodes run ``image`` by (pushed first when the
        nodes cannot see the local engine's images)."""
        return image

    @abc.abstractmethod
    def execute(self, job: SweepJob, sink: TaskSink) -> None:
        """Run every run of ``job`` (at most ``job.concurrency`` at once), reporting each
        to ``sink``. Returns when all have been reported. On any exit - an error,
        KeyboardInterrupt - everything it created is stopped and removed first."""


def publish_to_registry(engine: ContainerEngine, image: str, registry: str,
                        on_event: Optional[EventHandler] = None) -> str:
    """Push ``image`` as ``registry`` (``HOST/REPO[:TAG]``, the existing push of
    ``nbdocker push``); the ``repo@sha256:...`` a cluster's nodes pull."""
    from ....engine.refs import repository_of
    from ...share.registry import push_image

    target, digest = push_image(engine, image, registry, on_event=on_event)
    return f"{repository_of(target)}@{digest}"
