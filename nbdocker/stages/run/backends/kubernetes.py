"""The ``kubernetes`` backend: the sweep as one Indexed Job.

:func:`manifests` writes the objects (also what ``--emit DIR`` saves):

* a **ConfigMap** holding the payload (``sweep.json``: the notebook, every run's
  parameters, ``--collect``, the timeouts), mounted read-only at ``/opt/nbdocker-sweep``;
* an **Indexed Job** (``completionMode: Indexed``, ``completions`` = the runs,
  ``parallelism`` = ``-j``), whose pods run the runner's task mode; each pod's
  ``JOB_COMPLETION_INDEX`` picks its parameter set. Pods run as the image's non-root
  user with no privilege escalation, no capabilities and no service-account token;
  ``--memory``/``--cpus`` are requests and limits, ``--timeout`` the pod's
  ``activeDeadlineSeconds`` (plus a grace); ``backoffLimitPerIndex: 1`` retries a pod
  that could not report once, without failing the other indexes;
* with ``--network none``, a **NetworkPolicy** denying all ingress and egress of the
  sweep's pods (enforced by the cluster's network plugin, if it enforces policies).

Submission and collection go through the official ``kubernetes`` client (``pip install
'nbdocker[kubernetes]'``) with the current kubeconfig context and its namespace: the
objects are created, the pods are listed every second, and each finished pod's log
(the runner's record and the executed notebook, see :mod:`..sweep_task`) is read with
``read_namespaced_pod_log``. On every exit the Job (with its pods), the ConfigMap and
the NetworkPolicy are deleted.
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from typing import Any, Dict, List, Optional, Set, Tuple

from .... import contract
from ....engine.base import ContainerEngine
from ....events import EventHandler
from ....exceptions import EngineError, InputError, MissingExtra
from ..execute import _TIMEOUT_GRACE
from ..sweep_task import SweepJob, TaskEnd, TaskStream, task_command
from .base import SweepBackend, TaskSink, publish_to_registry

__all__ = ["KubernetesBackend", "manifests", "CONTAINER", "INDEX_ANNOTATION"]

CONTAINER = "notebook"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
_MANAGED_BY = {"app.kubernetes.io/managed-by": "nbdocker"}
_RETRIES_PER_INDEX = 1
_POLL = 1.0
_STUCK = 300.0     # seconds a pod may wait on an image pull or a bad config
_STUCK_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                  "CreateContainerConfigError", "CreateContainerError"}
_UNITS = {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi"}


def _quantity(memory: str) -> str:
    """Docker's ``512m`` → Kubernetes' ``512Mi`` (Docker's units are binary)."""
    match = re.fullmatch(r"([0-9.]+)([bkmg]?)", memory.lower())
    assert match is not None, memory   # Options checked it
    return match.group(1) + _UNITS[match.group(2)]


def manifests(job: SweepJob, namespace: str = "default") -> List[Dict[str, Any]]:
    """The ConfigMap, the Indexed Job and (``--network none``) the NetworkPolicy."""
    labels = {**_MANAGED_BY, contract.LABEL_SWEEP: job.sweep_id}
    meta = {"name": job.name, "namespace": namespace, "labels": labels}
    container: Dict[str, Any] = {
        "name": CONTAINER, "image": job.image, "imagePullPolicy": "IfNotPresent",
        "command": task_command(f"{contract.SWEEP_DIR}/{contract.SWEEP_FILE}",
                                index_env="JOB_COMPLETION_INDEX"),
        "workingDir": contract.WORKDIR,
        "volumeMounts": [{"name": "sweep", "mountPath": contract.SWEEP_DIR,
                          "readOnly": True}],
        "securityContext": {"runAsUser": contract.UID, "runAsGroup": contract.UID,
                            "runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }
    resources: Dict[str, str] = {}
    if job.limits.memory:
        resources["memory"] = _quantity(job.limits.memory)
    if job.limits.cpus:
        resources["cpu"] = f"{job.limits.cpus:g}"
    if resources:
        container["resources"] = {"requests": dict(resources), "limits": dict(resources)}
    pod: Dict[str, Any] = {
        "restartPolicy": "Never", "automountServiceAccountToken": False,
        "enableServiceLinks": False, "containers": [container],
        "volumes": [{"name": "sweep", "configMap": {"name": job.name}}]}
    if job.limits.timeout:
        pod["activeDeadlineSeconds"] = int(math.ceil(job.limits.timeout + _TIMEOUT_GRACE))
    docs: List[Dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": dict(meta),
         "data": {contract.SWEEP_FILE: job.payload().decode("utf-8")}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": dict(meta),
         "spec": {"completionMode": "Indexed", "completions": len(job.runs),
                  "parallelism": job.concurrency,
                  "backoffLimitPerIndex": _RETRIES_PER_INDEX,
                  "template": {"metadata": {"labels": labels}, "spec": pod}}},
    ]
    if job.limits.network == "none":
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": dict(meta),
                     "spec": {"podSelector": {"matchLabels": {
                         contract.LABEL_SWEEP: job.sweep_id}},
                              "policyTypes": ["Ingress", "Egress"]}})
    return docs


def _client_module() -> Any:
    try:
        import kubernetes
    except ImportError:
        raise MissingExtra.need("--backend kubernetes", "kubernetes",
                                "the kubernetes client") from None
    return kubernetes


class KubernetesBackend(SweepBackend):
    """An Indexed Job in the current kubeconfig context's namespace."""

    name = "kubernetes"

    def __init__(self, engine: Optional[ContainerEngine], registry: Optional[str]) -> None:
        self.engine = engine
        self.registry = registry
        self.api: Any = None
        self.namespace = "default"

    def check(self) -> None:
        """The client is installed and a kubeconfig names a cluster."""
        kubernetes = _client_module()
        # As kubectl reads it now (the client reads $KUBECONFIG once, at its import).
        config = os.environ.get("KUBECONFIG") or "~/.kube/config"
        try:
            _, active = kubernetes.config.list_kube_config_contexts(config_file=config)
            self.api = kubernetes.config.new_client_from_config(config_file=config)
        except (kubernetes.config.ConfigException, OSError) as exc:
            raise InputError(f"--backend kubernetes needs a kubeconfig (~/.kube/config or "
                             f"KUBECONFIG) naming a cluster ({exc}); to submit the sweep "
                             "yourself, write its manifests with --emit DIR") from None
        self.namespace = ((active or {}).get("context") or {}).get("namespace") or "default"

    def default_concurrency(self) -> int:
        """All at once: the cluster's scheduler bounds what runs."""
        return 2 ** 31 - 1

    def publish(self, image: str, on_event: Optional[EventHandler] = None) -> str:
        """Push to ``--registry`` (pinned by digest); without one, ``--image`` as given."""
        if self.registry is None:
            return image
        if self.engine is None:
            raise InputError("--registry needs a Docker engine to push from")
        return publish_to_registry(self.engine, image, self.registry, on_event)

    # -- execute -----------------------------------------------------------------------
    def _apis(self) -> Tuple[Any, Any, Any]:
        client = _client_module().client
        return (client.CoreV1Api(self.api), client.BatchV1Api(self.api),
                client.NetworkingV1Api(self.api))

    def execute(self, job: SweepJob, sink: TaskSink) -> None:
        """See :meth:`SweepBackend.execute`."""
        core, batch, networking = self._apis()
        create = {"ConfigMap": core.create_namespaced_config_map,
                  "Job": batch.create_namespaced_job,
                  "NetworkPolicy": networking.create_namespaced_network_policy}
        created: List[str] = []
        try:
            for doc in manifests(job, self.namespace):
                self._call(f"create {doc['kind']} {job.name}", create[doc["kind"]],
                           self.namespace, doc)
                created.append(doc["kind"])
            self._collect(job, sink, core, batch)
        finally:
            self._delete(job, created, core, batch, networking)

    def _collect(self, job: SweepJob, sink: TaskSink, core: Any, batch: Any) -> None:
        selector = f"{contract.LABEL_SWEEP}={job.sweep_id}"
        reported: Set[int] = set()
        running: Set[int] = set()
        seen: Set[str] = set()
        failures: Dict[int, int] = {}
        waiting_since: Dict[str, float] = {}
        while len(reported) < len(job.runs):
            pods = self._call("list the sweep's pods", core.list_namespaced_pod,
                              self.namespace, label_selector=selector).items
            for pod in pods:
                annotations = pod.metadata.annotations or {}
                if INDEX_ANNOTATION not in annotations:
                    continue
                slot = int(annotations[INDEX_ANNOTATION])
                if slot in reported or slot >= len(job.runs):
                    continue
                phase = pod.status.phase if pod.status else None
                if phase == "Running" and slot not in running:
                    running.add(slot)
                    sink.started(job.runs[slot].index)
                if phase == "Pending":
                    self._check_waiting(pod, waiting_since)
                if phase not in ("Succeeded", "Failed") or pod.metadata.uid in seen:
                    continue
                seen.add(pod.metadata.uid)
                stream = TaskStream()
                # Raw bytes: the client would otherwise try to read a log as JSON.
                log = self._call(f"read the log of pod {pod.metadata.name}",
                                 core.read_namespaced_pod_log, pod.metadata.name,
                                 self.namespace, container=CONTAINER,
                                 _preload_content=False)
                for line in log.data.decode("utf-8", "replace").splitlines():
                    stream.feed(line)
                if not stream.complete:
                    failures[slot] = failures.get(slot, 0) + 1
                    if failures[slot] <= _RETRIES_PER_INDEX:
                        continue   # the Job controller starts it once more
                if slot not in running:
                    running.add(slot)
                    sink.started(job.runs[slot].index)
                sink.finished(job.runs[slot].index, stream, _pod_end(pod))
                reported.add(slot)
            if len(reported) < len(job.runs):
                self._check_job(job, batch)
                time.sleep(_POLL)

    def _check_waiting(self, pod: Any, since: Dict[str, float]) -> None:
        """Raise when a pod waited :data:`_STUCK` seconds on something that will not
        resolve itself (an image that cannot be pulled, a broken config)."""
        for status in (pod.status.container_statuses or []):
            waiting = status.state.waiting if status.state else None
            if waiting is not None and waiting.reason in _STUCK_REASONS:
                first = since.setdefault(pod.metadata.uid, time.monotonic())
                if time.monotonic() - first > _STUCK:
                    raise EngineError(f"pod {pod.metadata.name} cannot start: "
                                      f"{waiting.reason}: {waiting.message or ''}".rstrip(": "))

    def _check_job(self, job: SweepJob, batch: Any) -> None:
        found = self._call(f"read Job {job.name}", batch.read_namespaced_job, job.name,
                           self.namespace)
        for condition in ((found.status.conditions if found.status else None) or []):
            if condition.type == "Failed" and condition.status == "True" and \
                    condition.reason not in ("FailedIndexes",):
                raise EngineError(f"Job {job.name} failed: {condition.reason}: "
                                  f"{condition.message or ''}".rstrip(": "))

    def _delete(self, job: SweepJob, created: List[str], core: Any, batch: Any,
                networking: Any) -> None:
        delete = {"ConfigMap": core.delete_namespaced_config_map,
                  "Job": batch.delete_namespaced_job,
                  "NetworkPolicy": networking.delete_namespaced_network_policy}
        for kind in reversed(created):
            extra = {"propagation_policy": "Background"} if kind == "Job" else {}
            self._quietly(delete[kind], job.name, self.namespace, **extra)
        if "Job" in created:   # do not leave the pods to the garbage collector's timing
            self._quietly(core.delete_collection_namespaced_pod, self.namespace,
                          label_selector=f"{contract.LABEL_SWEEP}={job.sweep_id}")

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One client call; its errors become :class:`EngineError` (exit 3)."""
        kubernetes = _client_module()
        try:
            return fn(*args, **kwargs)
        except kubernetes.client.exceptions.ApiException as exc:
            reason = exc.reason
            try:
                reason = json.loads(exc.body).get("message") or reason
            except (TypeError, ValueError, AttributeError):
                pass
            raise EngineError(f"kubernetes: {what}: {exc.status} {reason}") from None
        except Exception as exc:  # urllib3's connection errors have many types
            if isinstance(exc, (EngineError, InputError)):
                raise
            raise EngineError(f"kubernetes: {what}: {type(exc).__name__}: {exc}") from None

    def _quietly(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            self._call("clean up", fn, *args, **kwargs)
        except EngineError:
            pass   # already gone, or the cluster went away: nothing more to do


def _pod_end(pod: Any) -> TaskEnd:
    """How a finished pod ended, from its status."""
    statuses = (pod.status.container_statuses or []) if pod.status else []
    terminated = next((s.state.terminated for s in statuses
                       if s.name == CONTAINER and s.state and s.state.terminated), None)
    timed_out = bool(pod.status and pod.status.reason == "DeadlineExceeded")
    if terminated is None:
        message = pod.status.message if pod.status else None
        return TaskEnd(timed_out=timed_out, message=message or None)
    return TaskEnd(exit_code=terminated.exit_code,
                   oom_killed=terminated.reason == "OOMKilled", timed_out=timed_out,
                   message=terminated.message or terminated.reason)
