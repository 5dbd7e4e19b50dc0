"""The ``swarm`` backend: the sweep as one Docker Swarm ``replicated-job`` service.

Submission: the image is pushed to ``--registry`` (the nodes pull it by digest); the
payload becomes a Swarm config mounted at ``/opt/nbdocker-sweep/sweep.json``; one service
in mode ``replicated-job`` runs ``len(runs)`` tasks, ``-j`` at a time (its
max-concurrent). Each task picks its parameter set by its slot: the container's
environment has ``NBDOCKER_SLOT={{.Task.Slot}}`` (swarmkit renders slot 0 as the node
id, so ``NBDOCKER_NODE={{.Node.ID}}`` tells that case apart).

Collection: when a task ends, its log (the runner's record and the executed notebook,
see :mod:`..sweep_task`) is read through the engine's ``/tasks/{id}/logs`` endpoint: no
shared storage, any node. A task that ended without a record (it could not start, the
image could not be pulled) is retried by Swarm; after :data:`_ATTEMPTS` such tasks its
run is reported failed with Swarm's reason.

``--network none``: Swarm has no ``none`` network for services, so the tasks join an
``--internal`` overlay network of their own (no route out; the sweep's tasks can reach
each other), removed with the service. ``--memory``/``--cpus`` are the tasks' resource
limits. Swarm cannot stop one task after ``--timeout``: the runner stops the notebook
itself (a hung runner is not stopped).

Everything created (service, config, network) carries the sweep's label and is removed
on every exit, Ctrl-C included. Docker 20.10 leaves the exited containers of a removed
job service behind; those on the engine nbdocker talks to are removed too (on a swarm of
several nodes, the other nodes' exited task containers remain until pruned there).
"""
from __future__ import annotations

import struct
import time
from typing import Any, Dict, Iterator, List, Optional, Set

import docker
import docker.errors
import requests.exceptions

from .... import contract
from ....engine.base import ContainerEngine
from ....engine.docker import DockerEngine, _lines, _where
from ....events import EventHandler
from ....exceptions import EngineError, InputError
from ..sweep_task import SweepJob, TaskEnd, TaskStream, task_command
from .base import SweepBackend, TaskSink, publish_to_registry

__all__ = ["SwarmBackend"]

_ATTEMPTS = 3            # tasks without a record before a run counts as failed
_POLL = 0.5              # seconds between task listings
_REREADS = 10            # times a complete task's log is read again for its record
_MAX_CONFIG = 500 * 1024  # what a Swarm config may hold
_STUCK = 120.0           # seconds of nothing but unschedulable tasks before giving up
_GONE = 60.0             # seconds to wait for the service's containers to disappear
_TERMINAL = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}
_SLOT_ENV, _NODE_ENV = "NBDOCKER_SLOT", "NBDOCKER_NODE"


def _frames(data: bytes) -> Iterator[bytes]:
    """The payloads of Docker's multiplexed stream (8-byte header: stream, 0, 0, 0,
    big-endian size); a stream without headers (a TTY) is passed through."""
    if len(data) < 8 or data[0] not in (0, 1, 2) or data[1:4] != b"\0\0\0":
        yield data
        return
    at = 0
    while at + 8 <= len(data):
        (size,) = struct.unpack(">L", data[at + 4:at + 8])
        yield data[at + 8:at + 8 + size]
        at += 8 + size


class SwarmBackend(SweepBackend):
    """A replicated-job service on the swarm the engine manages."""

    name = "swarm"

    def __init__(self, engine: ContainerEngine, registry: Optional[str]) -> None:
        if not isinstance(engine, DockerEngine):
            raise InputError("--backend swarm needs a Docker engine (DOCKER_HOST)")
        self.engine = engine
        self.client: docker.DockerClient = engine.client
        self.registry = registry

    def check(self) -> None:
        """The engine is a swarm manager (``--registry`` is checked with the options)."""
        swarm = self._call("docker info", self.client.info).get("Swarm") or {}
        state = swarm.get("LocalNodeState") or "inactive"
        if state != "active":
            raise InputError(f"--backend swarm: the Docker engine at {_where()} is not part "
                             f"of a swarm (state: {state}): run `docker swarm init` there, "
                             "or set DOCKER_HOST to a swarm manager")
        if not swarm.get("ControlAvailable"):
            raise InputError(f"--backend swarm: the Docker engine at {_where()} is a swarm "
                             "worker; set DOCKER_HOST to a manager (`docker node ls` on a "
                             "manager lists them)")

    def default_concurrency(self) -> int:
        """The CPUs of the swarm's ready nodes."""
        nanos = 0
        for node in self._call("list nodes", self.client.api.nodes):
            if (node.get("Status") or {}).get("State") == "ready":
                nanos += int(((node.get("Description") or {}).get("Resources") or {})
                             .get("NanoCPUs") or 0)
        return max(1, nanos // 1_000_000_000)

    def publish(self, image: str, on_event: Optional[EventHandler] = None) -> str:
        """Push ``image`` to ``--registry``; the nodes run it by digest."""
        assert self.registry is not None
        return publish_to_registry(self.engine, image, self.registry, on_event)

    # -- execute -----------------------------------------------------------------------
    def execute(self, job: SweepJob, sink: TaskSink) -> None:
        """See :meth:`SweepBackend.execute`."""
        service: Optional[str] = None
        network: Optional[str] = None
        payload = job.payload()
        if len(payload) > _MAX_CONFIG:
            raise InputError(f"the sweep's payload (the notebook without outputs and every "
                             f"parameter set) is {len(payload) // 1024} KiB; a Swarm config "
                             f"holds at most {_MAX_CONFIG // 1024} KiB: split the sweep")
        config = self._call("create the sweep's config", self.client.api.create_config,
                            job.name, payload, labels=job.labels)["ID"]
        try:
            targets: List[Any] = []
            if job.limits.network == "none":
                network = self._call("create the sweep's network",
                                     self.client.api.create_network, job.name,
                                     driver="overlay", internal=True,
                                     labels=job.labels)["Id"]
                targets = [network]
            elif job.limits.network == "host":
                targets = ["host"]
            service = self._call("create the sweep's service",
                                 self.client.api.create_service,
                                 self._template(job, config, targets), name=job.name,
                                 labels=job.labels,
                                 mode=docker.types.ServiceMode(
                                     "replicated-job", concurrency=job.concurrency,
                                     replicas=len(job.runs)))["ID"]
            self._collect(service, job, sink)
        finally:
            self._remove(service, config, network)

    def _template(self, job: SweepJob, config: str, networks: List[Any]
                  ) -> docker.types.TaskTemplate:
        command = task_command(f"{contract.SWEEP_DIR}/{contract.SWEEP_FILE}",
                               index_env=_SLOT_ENV, node_env=_NODE_ENV)
        spec = docker.types.ContainerSpec(
            job.image, command, workdir=contract.WORKDIR, labels=job.labels,
            env=[f"{_SLOT_ENV}={{{{.Task.Slot}}}}", f"{_NODE_ENV}={{{{.Node.ID}}}}"],
            configs=[docker.types.ConfigReference(
                config, job.name, filename=f"{contract.SWEEP_DIR}/{contract.SWEEP_FILE}",
                uid=str(contract.UID), gid=str(contract.UID), mode=0o444)])
        resources = None
        if job.limits.memory or job.limits.cpus:
            resources = docker.types.Resources(
                cpu_limit=int(job.limits.cpus * 1e9) if job.limits.cpus else None,
                mem_limit=int(docker.utils.parse_bytes(job.limits.memory))
                if job.limits.memory else None)
        return docker.types.TaskTemplate(
            spec, resources=resources, networks=networks or None,
            restart_policy=docker.types.RestartPolicy(condition="on-failure"))

    def _collect(self, service: str, job: SweepJob, sink: TaskSink) -> None:
        reported: Set[int] = set()
        fetched: Set[str] = set()
        rereads: Dict[str, int] = {}
        running: Set[int] = set()
        failures: Dict[int, int] = {}
        stuck_since: Optional[float] = None
        while len(reported) < len(job.runs):
            tasks = self._call("list the sweep's tasks", self.client.api.tasks,
                               filters={"service": service})
            waiting: List[str] = []
            for task in tasks:
                slot = int(task.get("Slot") or 0)   # slot 0 is left out of the API's JSON
                if slot in reported or slot >= len(job.runs):
                    continue
                status = task.get("Status") or {}
                state = status.get("State", "")
                if state == "pending" and status.get("Err"):
                    waiting.append(str(status["Err"]))
                if state == "running" and slot not in running:
                    running.add(slot)
                    sink.started(job.runs[slot].index)
                if state not in _TERMINAL or task["ID"] in fetched:
                    continue
                stream = TaskStream()
                for line in self._task_log(task["ID"]):
                    stream.feed(line)
                if not stream.complete and state == "complete" \
                        and rereads.get(task["ID"], 0) < _REREADS:
                    rereads[task["ID"]] = rereads.get(task["ID"], 0) + 1
                    continue   # its log is still arriving: read it again next round
                fetched.add(task["ID"])
                container = status.get("ContainerStatus") or {}
                end = TaskEnd(exit_code=container.get("ExitCode"),
                              message=status.get("Err") or status.get("Message"))
                if not stream.complete:
                    failures[slot] = failures.get(slot, 0) + 1
                    if failures[slot] < _ATTEMPTS:
                        continue
                if slot not in running:
                    sink.started(job.runs[slot].index)
                sink.finished(job.runs[slot].index, stream, end)
                reported.add(slot)
                running.add(slot)
            stuck_since = self._stuck(waiting, bool(running - reported), stuck_since)
            if len(reported) < len(job.runs):
                time.sleep(_POLL)

    def _stuck(self, waiting: List[str], progress: bool, since: Optional[float]
               ) -> Optional[float]:
        """Raise when tasks could not be scheduled for :data:`_STUCK` seconds."""
        if not waiting or progress:
            return None
        now = time.monotonic()
        if since is not None and now - since > _STUCK:
            raise EngineError(f"the swarm cannot schedule the sweep's tasks: {waiting[0]}")
        return since if since is not None else now

    def _task_log(self, task: str) -> Iterator[str]:
        """A finished task's output lines (``GET /tasks/{id}/logs``)."""
        api = self.client.api
        url = f"{api.base_url}/v{api.api_version}/tasks/{task}/logs"
        response = self._call(f"read the log of task {task}", api.get, url,
                              params={"stdout": 1, "stderr": 1})
        if response.status_code != 200:
            raise EngineError(f"read the log of task {task}: HTTP {response.status_code} "
                              f"{response.text.strip()[:200]}")
        return _lines(_frames(response.content))

    def _remove(self, service: Optional[str], config: str, network: Optional[str]) -> None:
        """Remove the service, wait for its containers, then its config and network."""
        api = self.client.api
        if service is not None:
            self._quietly(api.remove_service, service)
            # Docker (20.10) leaves the exited containers of a removed job's tasks behind:
            # remove those on this engine (other nodes' agents keep theirs).
            mine = {"com.docker.swarm.service.id": service}
            deadline = time.monotonic() + _GONE
            while self.engine.remove_containers(mine) and time.monotonic() < deadline:
                time.sleep(_POLL)
        # The config and the network stay in use until the tasks are gone: retry a while.
        for remove, name in ((api.remove_config, config), (api.remove_network, network)):
            deadline = time.monotonic() + _GONE
            while name is not None and not self._quietly(remove, name) \
                    and time.monotonic() < deadline:
                time.sleep(_POLL)

    @staticmethod
    def _quietly(fn: Any, name: str) -> bool:
        """``fn(name)``; True when it worked or ``name`` is gone already."""
        try:
            fn(name)
        except docker.errors.NotFound:
            return True
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return False
        return True

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.engine._call(what, fn, *args, **kwargs)
