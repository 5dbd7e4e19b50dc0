"""A stand-in Kubernetes API server at the HTTP level, for the ``kubernetes`` sweep backend.

No cluster can run here, so this serves the few endpoints the backend calls (create a
ConfigMap, a Job and a NetworkPolicy; list pods by label; read a pod's log; read and
delete the Job; delete the rest) with the JSON a real API server sends, so the official
``kubernetes`` client parses them into its own models. Its "job controller" honours the
Indexed Job's ``completions``, ``parallelism`` and ``backoffLimitPerIndex``, annotates each
pod with ``batch.kubernetes.io/job-completion-index``, and hands each pod to a
``run_pod(container, files, env)`` callable: the integration test runs the pod's image
and command as a real container on the Docker engine, the unit test runs the pod's
command with this interpreter. It serves only what the backend needs; anything else
answers 404 and is recorded in ``unexpected``.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlparse

__all__ = ["KubeStub", "local_pod_runner", "docker_pod_runner"]

# (container spec, files to place {absolute path: bytes}, env) -> (exit code, log text)
PodRunner = Callable[[Mapping[str, Any], Mapping[str, bytes], Mapping[str, str]],
                     Tuple[int, str]]

_PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[a-z0-9.]+)/v1)/namespaces/(?P<ns>[^/]+)/"
                   r"(?P<kind>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>log))?$")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeStub:
    """``with KubeStub(run_pod) as stub:``; ``stub.kubeconfig(path)`` points a client at it."""

    def __init__(self, run_pod: PodRunner, namespace: str = "nbtest") -> None:
        self.run_pod = run_pod
        self.namespace = namespace
        self.objects: Dict[Tuple[str, str], Dict[str, Any]] = {}   # (kind, name) -> object
        self.pods: Dict[str, Dict[str, Any]] = {}
        self.logs: Dict[str, str] = {}
        self.requests: List[Tuple[str, str]] = []
        self.unexpected: List[Tuple[str, str]] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.controllers: List[threading.Thread] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "KubeStub":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopped.set()
        for controller in self.controllers:
            controller.join(timeout=120)
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig whose current context is this server and namespace."""
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "stub",
            "clusters": [{"name": "stub", "cluster": {"server": self.url}}],
            "users": [{"name": "stub", "user": {"token": "stub-token"}}],
            "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "stub",
                                                       "namespace": self.namespace}}]}))
        return path

    # -- the job controller ----------------------------------------------------------
    def _start_job(self, job: Dict[str, Any]) -> None:
        thread = threading.Thread(target=self._control, args=(job,), daemon=True)
        self.controllers.append(thread)
        thread.start()

    def _alive(self, job: Dict[str, Any]) -> bool:
        return not self.stopped.is_set() and ("jobs", job["metadata"]["name"]) in self.objects

    def _control(self, job: Dict[str, Any]) -> None:
        spec = job["spec"]
        retries = int(spec.get("backoffLimitPerIndex", 0))
        failed: List[int] = []

        def run_index(index: int) -> None:
            for _ in range(retries + 1):
                if not self._alive(job) or self._run_one(job, index) == 0:
                    return
            failed.append(index)

        with ThreadPoolExecutor(max_workers=int(spec.get("parallelism", 1))) as pool:
            list(pool.map(run_index, range(int(spec["completions"]))))
        with self.lock:
            condition = ({"type": "Failed", "status": "True", "reason": "FailedIndexes",
                          "message": "Job has failed indexes"} if failed else
                         {"type": "Complete", "status": "True"})
            job["status"] = {"conditions": [{**condition, "lastTransitionTime": _now()}],
                             "failedIndexes": ",".join(map(str, sorted(failed))) or None}

    def _run_one(self, job: Dict[str, Any], index: int) -> int:
        template = job["spec"]["template"]
        name = f"{job['metadata']['name']}-{index}-{uuid.uuid4().hex[:5]}"
        container = template["spec"]["containers"][0]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": self.namespace,
                            "uid": str(uuid.uuid4()),
                            "labels": {**template["metadata"].get("labels", {}),
                                       "job-name": job["metadata"]["name"]},
                            "annotations": {"batch.kubernetes.io/job-completion-index":
                                            str(index)}},
               "spec": template["spec"], "status": {"phase": "Pending"}}
        with self.lock:
            self.pods[name] = pod
        files: Dict[str, bytes] = {}
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            config = self.objects[("configmaps", volumes[mount["name"]]["configMap"]["name"])]
            for key, text in config.get("data", {}).items():
                files[f"{mount['mountPath']}/{key}"] = text.encode("utf-8")
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        env["JOB_COMPLETION_INDEX"] = str(index)
        with self.lock:
            pod["status"] = {"phase": "Running", "startTime": _now()}
        code, log = self.run_pod(container, files, env)
        with self.lock:
            self.logs[name] = log
            pod["status"] = {
                "phase": "Succeeded" if code == 0 else "Failed", "startTime": _now(),
                "containerStatuses": [{
                    "name": container["name"], "image": container["image"],
                    "imageID": "", "ready": False, "restartCount": 0,
                    "state": {"terminated": {"exitCode": code,
                                             "reason": "Completed" if code == 0 else "Error",
                                             "finishedAt": _now()}}}]}
        return code

    # -- HTTP ------------------------------------------------------------------------
    def _handler(self) -> type:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: Any, content_type: str = "application/json"
                      ) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                url = urlparse(self.path)
                stub.requests.append((method, url.path))
                match = _PATH.match(url.path)
                if not match or match.group("ns") != stub.namespace:
                    stub.unexpected.append((method, self.path))
                    return self._send(404, _status(404, "NotFound", self.path))
                kind, name, sub = match.group("kind"), match.group("name"), match.group("sub")
                query = parse_qs(url.query)
                body = None
                if method == "POST":
                    length = int(self.headers.get("Content-Length") or 0)
                    body = json.loads(self.rfile.read(length) or b"{}")
                answer = stub.handle(method, kind, name, sub, query, body)
                if answer is None:
                    stub.unexpected.append((method, self.path))
                    return self._send(404, _status(404, "NotFound", self.path))
                code, payload, content_type = answer
                self._send(code, payload, content_type)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

        return Handler

    def handle(self, method: str, kind: str, name: Optional[str], sub: Optional[str],
               query: Mapping[str, List[str]], body: Any
               ) -> Optional[Tuple[int, Any, str]]:
        json_type = "application/json"
        with self.lock:
            if method == "POST" and name is None and kind in ("configmaps", "jobs",
                                                               "networkpolicies"):
                body.setdefault("metadata", {}).update(
                    uid=str(uuid.uuid4()), creationTimestamp=_now(), resourceVersion="1")
                if (kind, body["metadata"]["name"]) in self.objects:
                    return 409, _status(409, "AlreadyExists", body["metadata"]["name"]), json_type
                self.objects[(kind, body["metadata"]["name"])] = body
                if kind == "jobs":
                    body["status"] = {}
                    self._start_job(body)
                return 201, body, json_type
            if method == "GET" and kind == "pods" and name is None:
                wanted = dict(p.split("=", 1) for p in
                              (query.get("labelSelector", [""])[0].split(",")) if p)
                items = [p for p in self.pods.values()
                         if all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
                return 200, {"apiVersion": "v1", "kind": "PodList", "metadata": {},
                             "items": json.loads(json.dumps(items))}, json_type
            if method == "GET" and kind == "pods" and sub == "log" and name in self.logs:
                return 200, self.logs[name].encode(), "text/plain"
            if method == "GET" and kind == "jobs" and (kind, name) in self.objects:
                return 200, self.objects[(kind, name)], json_type
            if method == "DELETE" and name is not None and (kind, name) in self.objects:
                del self.objects[(kind, name)]
                return 200, _status(200, "Success", name), json_type
            if method == "DELETE" and kind == "pods" and name is None:
                self.pods.clear()
                return 200, {"apiVersion": "v1", "kind": "PodList", "metadata": {},
                             "items": []}, json_type
        return None


def _status(code: int, reason: str, what: str) -> Dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Status", "metadata": {},
            "status": "Success" if code < 300 else "Failure", "reason": reason,
            "message": f"{reason}: {what}", "code": code}


def local_pod_runner(runner: Path) -> PodRunner:
    """Pods run as local processes: the image's runner path is this repository's runner,
    ``python`` this interpreter, the mounted files land in a temporary directory that is
    also the work directory."""
    from nbdocker import contract

    def run(container: Mapping[str, Any], files: Mapping[str, bytes],
            env: Mapping[str, str]) -> Tuple[int, str]:
        with tempfile.TemporaryDirectory(prefix="kube-pod-") as tmp:
            mapped = {}
            for path, data in files.items():
                target = Path(tmp, "mounts", path.lstrip("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                mapped[path] = str(target)
            work = Path(tmp, "work")
            work.mkdir()
            argv = [{"python": sys.executable, contract.RUNNER_PATH: str(runner)}.get(a, a)
                    for a in container["command"]]
            argv = [mapped.get(a, a) for a in argv]
            proc = subprocess.run(argv, cwd=work, env={**_base_env(), **env, "HOME": tmp},
                                  capture_output=True, text=True, timeout=300)
            return proc.returncode, proc.stdout + proc.stderr

    return run


def _base_env() -> Dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "PYTHONPATH")}


def docker_pod_runner(client: Any, labels: Mapping[str, str]) -> PodRunner:
    """Pods run as real containers of their image on a Docker engine (docker-py client):
    the pod's command, working directory, user and environment; the ConfigMap's files
    put in through the archive API before the start; ``labels`` on each container."""
    import io
    import tarfile

    def run(container: Mapping[str, Any], files: Mapping[str, bytes],
            env: Mapping[str, str]) -> Tuple[int, str]:
        security = container.get("securityContext", {})
        user = f"{security.get('runAsUser', 0)}:{security.get('runAsGroup', 0)}"
        created = client.containers.create(
            container["image"], container["command"], working_dir=container.get("workingDir"),
            user=user, environment=dict(env), labels=dict(labels))
        try:
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                for path, data in files.items():
                    info = tarfile.TarInfo(path.lstrip("/"))
                    info.size, info.mode = len(data), 0o444
                    tar.addfile(info, io.BytesIO(data))
            created.put_archive("/", buffer.getvalue())
            created.start()
            code = int(created.wait().get("StatusCode", -1))
            return code, created.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        finally:
            created.remove(force=True)

    return run
