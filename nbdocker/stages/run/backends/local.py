"""The ``local`` backend: one container per run on the local engine, ``-j`` at a time.

A thread pool bounds the concurrency; each worker runs one container through the engine
seam (:meth:`~nbdocker.engine.base.ContainerEngine.run`: the payload copied in through
the archive API, the output read as it comes). Every container carries the sweep's
label, so a cancelled sweep (Ctrl-C, SIGTERM turned into an exception, an error) stops
and removes all of them from the calling thread, repeating until every worker is done.
"""
from __future__ import annotations

import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import List, Optional

from .... import contract
from ....engine.base import ContainerEngine
from ....events import EventHandler
from ....exceptions import EngineError, ImageNotFound
from ..execute import _TIMEOUT_GRACE
from ..sweep_task import RunSpec, SweepJob, TaskEnd, TaskStream, task_command
from .base import SweepBackend, TaskSink

__all__ = ["LocalBackend"]

_POLL = 0.5   # seconds between sweeps of the label while cancelling


class LocalBackend(SweepBackend):
    """Containers on ``engine`` (any :class:`~nbdocker.engine.base.ContainerEngine`)."""

    name = "local"

    def __init__(self, engine: ContainerEngine) -> None:
        self.engine = engine

    def publish(self, image: str, on_event: Optional[EventHandler] = None) -> str:
        """``image`` as it is, once it is known to be on the engine."""
        if self.engine.image_id(image) is None:
            raise ImageNotFound(f"image not found: {image} (build it first, or name a "
                                "local image)")
        return image

    def default_concurrency(self) -> int:
        """The engine host's CPU count."""
        return self.engine.cpu_count()

    def execute(self, job: SweepJob, sink: TaskSink) -> None:
        """See :meth:`SweepBackend.execute`."""
        stop = threading.Event()
        limits = job.limits
        if limits.timeout:  # the runner stops itself; the engine's stop is the backstop
            limits = replace(limits, timeout=limits.timeout + _TIMEOUT_GRACE)
        command = task_command(contract.SWEEP_PAYLOAD_NAME, index=0)

        def one(spec: RunSpec) -> None:
            if stop.is_set():
                return
            stream = TaskStream()
            sink.started(spec.index)
            try:
                result = self.engine.run(
                    job.image, command,
                    files_in={contract.SWEEP_PAYLOAD_NAME: job.payload([spec])},
                    limits=limits, on_line=stream.feed, labels=job.labels)
            except EngineError as exc:
                if not stop.is_set():
                    sink.finished(spec.index, stream, TaskEnd(message=str(exc)))
                return
            if stream.complete or not stop.is_set():  # a complete result always counts
                sink.finished(spec.index, stream, TaskEnd(
                    exit_code=result.exit_code, oom_killed=result.oom_killed,
                    timed_out=result.timed_out))

        pool = ThreadPoolExecutor(max_workers=max(1, job.concurrency),
                                  thread_name_prefix="nbdocker-sweep")
        futures: List["Future[None]"] = [pool.submit(one, spec) for spec in job.runs]
        try:
            pending = futures
            while pending:   # with a timeout: a pending Ctrl-C is seen within _POLL
                done, not_done = wait(pending, timeout=_POLL, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()   # a bug in a worker surfaces here
                pending = list(not_done)
        finally:
            stop.set()
            for future in futures:
                future.cancel()
            while not all(f.done() for f in futures):
                self.engine.remove_containers(job.labels)
                wait(futures, timeout=_POLL)
            pool.shutdown(wait=True)
