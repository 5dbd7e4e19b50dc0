"""The Docker Engine behind :class:`~nbdocker.engine.base.ContainerEngine`, via docker-py.

Builds use the classic builder (docker-py has no BuildKit), whose stream is parsed into
typed BUILD events: one ``"progress"`` event per Dockerfile step (``step``/``total``,
``data={"instruction": ..., "cached": bool}``) and ``"log"`` events for every other
line. Pulls are parsed the same way into ``Phase.PULL`` progress (layers and bytes).
Containers never get bind mounts: files go in and out through the archive API, so
a remote ``DOCKER_HOST`` works. Every docker-py / requests error is translated into an
:mod:`nbdocker.exceptions` error.
"""
from __future__ import annotations

import io
import json
import os
import re
import tarfile
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import docker
import docker.errors
import requests.exceptions

from .. import contract
from .._fs import atomic_writer
from ..events import Event, EventHandler, Phase, emit
from ..exceptions import (BuildError, EngineError, EngineUnavailable, ImageNotFound, InputError,
                          RegistryError)
from ..secrets import redact_text
from ..signals import deferred
from .buildlog import GuessLog, failure_reason, parse_pip_error, short
from .refs import registry_failure, registry_of, split_reference
from .base import (BuildResult, BuildStep, ContainerEngine, ContainerLimits, ContainerResult,
                   ImageInfo, build_steps)

__all__ = ["DockerEngine", "parse_pip_error"]

_DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_LOG_TAIL = 25
# The classic builder wraps a RUN's stderr in red/reset escapes, even mid-line.
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
def _where() -> str:
    host = os.environ.get("DOCKER_HOST")
    return f"DOCKER_HOST={host}" if host else f"{_DEFAULT_SOCKET} (DOCKER_HOST unset)"


PING_TIMEOUT = 15.0


def _ping_timeout() -> float:
    text = os.environ.get("NBDOCKER_ENGINE_TIMEOUT", "")
    try:
        value = float(text) if text else PING_TIMEOUT
    except ValueError:
        raise InputError(f"NBDOCKER_ENGINE_TIMEOUT must be a number of seconds, "
                         f"not {text!r}") from None
    if not 0 < value < float("inf"):
        raise InputError(f"NBDOCKER_ENGINE_TIMEOUT must be a positive number of seconds, "
                         f"not {text!r}")
    return value


def _unavailable(exc: BaseException, waited: Optional[float] = None) -> EngineUnavailable:
    """One line: where we looked, why it failed (short) and what to try."""
    text = str(exc)
    if "Connection refused" in text:
        why = "connection refused"
    elif "FileNotFoundError" in text or "No such file" in text:
        why = "no such socket"
    elif "PermissionError" in text or "Permission denied" in text:
        why = "permission denied; add yourself to the docker group or use sudo"
    elif "timed out" in text.lower() or "timeout" in text.lower():
        if waited is not None:
            return EngineUnavailable(
                f"the Docker engine at {_where()} accepted the connection but did not "
                f"answer within {waited:g} s: is dockerd hung or still starting? "
                "(NBDOCKER_ENGINE_TIMEOUT sets the wait)")
        why = "timed out"
    else:
        why = "no answer"
    return EngineUnavailable(
        f"no Docker engine answers at {_where()} ({why}): is dockerd running? "
        "try `sudo systemctl start docker` or set DOCKER_HOST")


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)) or (
        isinstance(exc, docker.errors.DockerException)
        and not isinstance(exc, docker.errors.APIError)
        and "Connection" in str(exc))


_DAEMON_RUN_ERROR_RE = re.compile(r"^The command .* returned a non-zero code: (\d+)$", re.S)


class _BuildStream:
    """Turns the classic builder's JSON stream into BuildSteps, log lines and events."""

    def __init__(self, on_event: Optional[EventHandler], total: Optional[int] = None) -> None:
        self.on_event = on_event
        # The classic builder's "Step i/n" leaves out the LABEL steps of the build's
        # labels; the caller's count includes them.
        self.total = total
        self.steps: List[BuildStep] = []
        self.log: List[str] = []
        self.step_log: List[str] = []          # lines of the current step only
        self.pending: Optional[Tuple[int, int, str]] = None
        self.current: Optional[Tuple[int, int, str]] = None
        self.image_id: Optional[str] = None
        self.error: Optional[str] = None
        self._splitter = _LineSplitter()
        self.guesses = GuessLog()
        self._started: Dict[int, float] = {}  # step index -> when its "Step" line came

    def feed(self, chunk: Mapping[str, Any]) -> None:
        if "error" in chunk:
            self.error = str(chunk.get("error") or "").strip()
            return
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            self.image_id = str(aux["ID"])
        text = chunk.get("stream")
        if not text:
            return
        # The classic builder may split a line across chunks; the splitter joins them
        # in linear time and caps a line's length.
        for line in self._splitter.feed(_ANSI_RE.sub("", str(text)).encode("utf-8")):
            self._line(line)

    def close(self) -> None:
        for line in self._splitter.close():
            self._line(line)
        # A step lasts until the next one starts (or the build ends): its commit included.
        order = sorted(self._started.items(), key=lambda item: item[1])
        ends = [start for _, start in order[1:]] + [time.monotonic()]
        seconds = {index: end - start for (index, start), end in zip(order, ends)}
        self.steps = [replace(s, seconds=round(seconds.get(s.index, 0.0), 3)) for s in self.steps]

    def _line(self, line: str) -> None:
        self.log.append(line)
        warning = self.guesses.feed(line)
        if warning is not None:
            emit(self.on_event, warning)
        if GuessLog.is_marker(line):
            return
        m = _STEP_RE.match(line)
        if m:
            index = int(m.group(1))
            self.pending = (index, max(int(m.group(2)), self.total or 0, index), m.group(3))
            self.current = self.pending
            self._started[self.pending[0]] = time.monotonic()
            self.step_log = []
            return
        stripped = line.strip()
        if self.pending is not None and stripped.startswith("--->"):
            # The first "--->" line after "Step i/n" tells whether the step was cached.
            index, total, instruction = self.pending
            cached = "Using cache" in stripped or instruction.upper().startswith("FROM ")
            self.steps.append(BuildStep(index, total, instruction, cached))
            self.pending = None
            emit(self.on_event, Event(Phase.BUILD, "progress",
                                      f"step {index}/{total}: {short(instruction, 60)}",
                                      step=index, total=total,
                                      data={"instruction": instruction, "cached": cached}))
            return
        if stripped and not stripped.startswith("--->") and not stripped.startswith(
                "Removing intermediate container"):
            self.step_log.append(line)
            emit(self.on_event, Event(Phase.BUILD, "log", line))

    def build_error(self, tail: int = _LOG_TAIL) -> BuildError:
        step = self.current
        where = f"step {step[0]}/{step[1]} ({short(step[2], 60)})" if step else "the build"
        # The daemon repeats the whole RUN line; say the exit code instead.
        m = _DAEMON_RUN_ERROR_RE.match(self.error or "")
        reason = failure_reason(self.step_log, f"exited with code {m.group(1)}" if m
                                else (self.error or "unknown error"))
        return BuildError(redact_text(f"build failed at {where}: {reason}"),
                          step=redact_text(step[2]) if step else None, reason=redact_text(reason),
                          log_tail=[redact_text(x) for x in self.log[-tail:]])


class _PullStream:
    """Turns the engine's pull stream into ``Phase.PULL`` events.

    Per layer the engine reports "Pulling fs layer" / "Waiting", "Downloading" with
    ``progressDetail`` bytes, then "Download complete", "Extracting" and "Pull complete"
    ("Already exists" for layers the engine has). A ``"progress"`` event goes out when
    a layer appears or finishes and each time another tenth of the known bytes has
    arrived, so a log (not a terminal) gets a dozen lines, not thousands; statuses
    other than byte counters are ``"log"`` events.
    """

    _DONE = ("Download complete", "Pull complete", "Already exists")

    def __init__(self, ref: str, on_event: Optional[EventHandler]) -> None:
        self.ref = ref
        self.on_event = on_event
        self.layers: Dict[str, Tuple[int, int]] = {}    # id -> (downloaded, total)
        self.done: Dict[str, None] = {}
        self.error: Optional[str] = None
        self._tenths = -1

    def feed(self, chunk: Mapping[str, Any]) -> None:
        if "error" in chunk:
            self.error = str(chunk.get("error") or "").strip() or "unknown error"
            return
        status = str(chunk.get("status") or "")
        layer = str(chunk.get("id") or "")
        detail = chunk.get("progressDetail") or {}
        layer_status = bool(layer) and not status.startswith("Pulling from")
        changed = False
        if layer_status and layer not in self.layers:
            self.layers[layer] = (0, 0)
            changed = True
        if layer_status and status == "Downloading" and isinstance(detail, dict):
            self.layers[layer] = (int(detail.get("current") or 0), int(detail.get("total") or 0))
        elif layer_status and status in self._DONE and layer not in self.done:
            self.done[layer] = None
            got, total = self.layers[layer]
            self.layers[layer] = (max(got, total), total)
            changed = True
        if status and status not in ("Downloading", "Extracting", "Waiting"):
            emit(self.on_event, Event(Phase.PULL, "log", f"{layer}: {status}" if layer_status
                                      else status))
        got, total = self._bytes()
        tenths = int(10 * got / total) if total else 0
        if changed or tenths > self._tenths:
            self._tenths = max(self._tenths, tenths)
            self._progress()

    def _bytes(self) -> Tuple[int, int]:
        return (sum(g for g, _ in self.layers.values()),
                sum(t for _, t in self.layers.values()))

    def _progress(self, kind: str = "progress", message: Optional[str] = None,
                  **extra: Any) -> None:
        got, total = self._bytes()
        size = f" ({got / 1e6:.1f} of {total / 1e6:.1f} MB)" if total else ""
        emit(self.on_event, Event(
            Phase.PULL, kind, message or f"layers of {self.ref}{size}",
            step=len(self.done), total=len(self.layers) or None,
            data={"image": self.ref, "layers": len(self.layers), "layers_done": len(self.done),
                  "bytes": got, "bytes_total": total, **extra}))

    def finish(self, info: ImageInfo) -> None:
        self._progress("done", f"pulled {self.ref}", image_id=info.image_id,
                       repo_digests=list(info.repo_digests))


class DockerEngine(ContainerEngine):
    """A Docker Engine reached through docker-py (``DOCKER_HOST`` or the local socket)."""

    def __init__(self, client: "docker.DockerClient") -> None:
        self.client = client
        self._platform: Optional[str] = None

    @classmethod
    def from_env(cls, timeout: int = 120) -> "DockerEngine":
        """Connect as the docker CLI would (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``,
        ``DOCKER_CERT_PATH``); raise ``EngineUnavailable`` when nothing answers. The
        first contact waits at most ``$NBDOCKER_ENGINE_TIMEOUT`` seconds (default
        :data:`PING_TIMEOUT`): a socket that accepts and never answers is reported then,
        not after the client's own ``timeout``, which later calls keep."""
        wait = float(max(1, int(_ping_timeout())))
        try:
            client = docker.from_env(timeout=max(1, int(wait)))
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unavailable(exc, wait) from None
        client.api.timeout = timeout
        return cls(client)

    # -- helpers ---------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one docker-py call, translating its errors into ours."""
        try:
            return fn(*args, **kwargs)
        except docker.errors.ImageNotFound as exc:
            raise ImageNotFound(f"image not found: {what}") from exc
        except docker.errors.APIError as exc:
            raise EngineError(f"{what}: {redact_text(exc.explanation or str(exc))}") from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from None
            raise EngineError(f"{what}: {redact_text(str(exc))}") from exc

    # -- ContainerEngine -----------------------------------------------------------
    def ping(self) -> None:
        """Raise ``EngineUnavailable`` when the engine does not answer."""
        try:
            self.client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unavailable(exc) from None

    def build(self, context_tar: bytes, tag: Optional[str], *,
              labels: Mapping[str, str] = {}, on_event: Optional[EventHandler] = None,
              platform: Optional[str] = None, nocache: bool = False) -> BuildResult:
        """Build with the classic builder (for ``platform``); ``tag`` None leaves the
        image untagged; ``nocache`` forces every step to run (benchmarks). Intermediate
        containers are removed even when a step fails; an interrupted build
        (KeyboardInterrupt) is stopped on the daemon too."""
        parser = _BuildStream(on_event, build_steps(context_tar, labels))
        finished = False
        # The build's HTTP response, to close it when interrupted: only a closed
        # connection makes the daemon stop (the classic builder has no cancel call).
        responses: List[Any] = []

        def keep(response: Any, *args: Any, **kwargs: Any) -> None:
            if not responses and "/build" in response.request.path_url:
                responses.append(response)
        self.client.api.hooks["response"].append(keep)
        try:
            stream = self.client.api.build(
                fileobj=io.BytesIO(context_tar), custom_context=True, tag=tag,
                labels=dict(labels) or None, rm=True, forcerm=True, pull=False,
                nocache=nocache, decode=True, platform=platform)
            for chunk in stream:
                parser.feed(chunk)
                if parser.error:
                    break
            parser.close()
            finished = True
        except docker.errors.APIError as exc:
            raise BuildError(f"build failed: {redact_text(exc.explanation or str(exc))}",
                             reason=str(exc.explanation or exc)) from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from None
            raise BuildError(f"build failed: {redact_text(str(exc))}") from exc
        finally:
            self.client.api.hooks["response"].remove(keep)
            if not finished:
                for response in responses:
                    response.close()
        if parser.error:
            raise parser.build_error()
        image_id = (self.image_id(tag) if tag else None) or parser.image_id
        if image_id is None:
            raise BuildError("build finished without an image", log_tail=parser.log[-_LOG_TAIL:])
        return BuildResult(image_id=image_id, tag=tag, steps=tuple(parser.steps),
                           log=tuple(parser.log), warnings=tuple(parser.guesses.warnings))

    def find_image(self, label: str, value: str) -> Optional[str]:
        """The image the label ``label=value`` was set on (its children inherit the
        label; this is the one whose parent does not carry it), or None."""
        images = list(self._call("list images", self.client.api.images, all=True,
                                 filters={"label": f"{label}={value}"}))
        ids = {i["Id"] for i in images}
        roots = sorted((i for i in images if i.get("ParentId") not in ids),
                       key=lambda i: i.get("Created", 0), reverse=True)
        return str(roots[0]["Id"]) if roots else None

    def check_limits(self, limits: ContainerLimits) -> None:
        """Refuse (exit 2, before any build) limits this engine cannot apply: a
        ``disk`` quota on a storage driver without per-container quotas (overlay2 needs
        xfs mounted with pquota; btrfs, zfs and devicemapper have them), more CPUs than
        it has."""
        if not (limits.disk or limits.cpus):
            return
        info = self._call("engine info", self.client.info)
        ncpu = int(info.get("NCPU") or 0)
        if limits.cpus and ncpu and limits.cpus > ncpu:
            raise InputError(f"--cpus {limits.cpus:g} is more than the engine's {ncpu} CPUs")
        if limits.cpus and limits.cpus < 0.01:
            raise InputError(f"--cpus {limits.cpus:g} is below Docker's minimum of 0.01")
        if limits.disk:
            driver = str(info.get("Driver") or "?")
            status = {str(k): str(v) for k, v in (info.get("DriverStatus") or [])}
            backing = status.get("Backing Filesystem", "")
            if driver in ("overlay2", "overlay") and backing != "xfs" or driver not in (
                    "overlay2", "overlay", "btrfs", "zfs", "devicemapper", "windowsfilter"):
                raise InputError(
                    f"--disk needs a storage driver with per-container quotas, and this "
                    f"engine uses {driver}" + (f" on {backing}" if backing else "")
                    + " (overlay2 supports --disk only on xfs mounted with pquota; btrfs, "
                    "zfs and devicemapper do): leave --disk out here")

    def image_id(self, ref: str) -> Optional[str]:
        """The image id of ``ref``, or None when it is not on the engine."""
        try:
            return str(self._call(ref, self.client.images.get, ref).id)
        except ImageNotFound:
            return None

    def image_labels(self, ref: str) -> Dict[str, str]:
        """Labels of ``ref``; ``ImageNotFound`` when absent."""
        image = self._call(ref, self.client.images.get, ref)
        return dict(image.labels or {})

    def inspect_image(self, ref: str) -> Optional[ImageInfo]:
        """Id, registry digests and platform of ``ref``; None when it is not here."""
        try:
            attrs = self._call(ref, self.client.images.get, _by_digest(ref)).attrs
        except ImageNotFound:
            return None
        return ImageInfo(image_id=str(attrs.get("Id") or ""),
                         repo_digests=tuple(sorted(attrs.get("RepoDigests") or ())),
                         os=str(attrs.get("Os") or "linux"),
                         architecture=str(attrs.get("Architecture") or ""))

    def native_platform(self) -> str:
        """``os/arch`` of the engine (``docker version``'s Os and Arch)."""
        if self._platform is None:
            version = self._call("docker version", self.client.version)
            self._platform = f"{version.get('Os', 'linux')}/{version.get('Arch', '')}"
        return self._platform

    def _mirrors(self) -> List[str]:
        """The engine's Docker Hub mirrors (``registry-mirrors``), for messages."""
        try:
            config = self.client.info().get("RegistryConfig") or {}
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return []
        return [str(m).rstrip("/") for m in config.get("Mirrors") or ()]

    def pull(self, ref: str, *, platform: Optional[str] = None,
             on_event: Optional[EventHandler] = None) -> ImageInfo:
        """Pull ``ref`` through the Engine API (credentials: docker-py reads the Docker
        config as the CLI does); see :class:`_PullStream` for the events. Failures raise
        ``RegistryError`` naming the image and the registry (and the engine's mirrors),
        with ``reason`` set; nothing of the credentials is echoed."""
        repository, tag = split_reference(_by_digest(ref))
        parser = _PullStream(ref, on_event)
        try:
            for chunk in self.client.api.pull(repository, tag=tag or "latest", stream=True,
                                              decode=True, platform=platform):
                parser.feed(chunk)
                if parser.error:
                    break
        except docker.errors.APIError as exc:
            parser.error = str(exc.explanation or exc)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from None
            parser.error = str(exc)
        if parser.error:
            raise self._pull_error(ref, parser.error)
        info = self.inspect_image(ref)
        if info is None:
            raise RegistryError(f"pull of {ref} finished without an image", reason="error")
        parser.finish(info)
        return info

    def _pull_error(self, ref: str, message: str) -> RegistryError:
        host = registry_of(ref)
        where = host
        if host == "docker.io":
            mirrors = self._mirrors()
            if mirrors:
                where += f" (through the engine's mirror {', '.join(mirrors)})"
        text = redact_text(" ".join(message.split()))
        return RegistryError(f"cannot pull {ref} from {where}: {text}",
                             reason=registry_failure(message))

    def image_size(self, ref: str) -> int:
        """Size in bytes of ``ref`` including its base layers (benchmarks)."""
        image = self._call(ref, self.client.images.get, ref)
        return int(image.attrs.get("Size") or 0)

    def remove_image(self, ref: str) -> None:
        """Remove ``ref`` (and its now-unused parents); silent when already gone."""
        try:
            self.client.images.remove(ref, force=True)
        except docker.errors.ImageNotFound:
            return
        except docker.errors.APIError as exc:
            if exc.status_code == 404:
                return
            raise EngineError(f"remove {ref}: {exc.explanation or exc}") from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise _unavailable(exc) from None

    def run(self, image: str, command: Sequence[str], *,
            files_in: Mapping[str, bytes] = {}, workdir: str = contract.WORKDIR,
            files_out: Sequence[str] = (), limits: ContainerLimits = ContainerLimits(),
            on_line: Optional[Callable[[str], None]] = None,
            labels: Mapping[str, str] = {},
            commit: Optional[Mapping[str, str]] = None) -> ContainerResult:
        """See :meth:`ContainerEngine.run`. Files in ``files_in`` are owned by the
        container's user when it is numeric (nbdocker images use ``USER 1000:1000``)."""
        kwargs: Dict[str, Any] = {"working_dir": workdir, "detach": True}
        if labels:
            kwargs["labels"] = dict(labels)
        if limits.network:
            kwargs["network_mode"] = limits.network
        if limits.memory:
            kwargs["mem_limit"] = limits.memory
            kwargs["memswap_limit"] = limits.memory   # no swap: the limit is the limit
        if limits.cpus:
            kwargs["nano_cpus"] = int(limits.cpus * 1e9)
        if limits.user:
            kwargs["user"] = limits.user
        if limits.disk:
            kwargs["storage_opt"] = {"size": limits.disk}
        if limits.platform:
            kwargs["platform"] = limits.platform
        timed_out = threading.Event()
        timer: Optional[threading.Timer] = None
        logs: Deque[str] = deque(maxlen=MAX_LOG_LINES)
        container: Any = None
        try:
            with deferred():  # a signal during create would leave the container unrecorded
                container = self._create(image, command, kwargs, limits)
            if files_in:
                owner = self._owner(image, limits.user)
                self._call(f"copy files into {image}", container.put_archive, "/",
                           _tar_files(files_in, workdir, owner))
            self._call(f"start {image}", container.start)
            if limits.timeout is not None:
                timer = threading.Timer(limits.timeout, self._stop_quietly, (container, timed_out))
                timer.daemon = True
                timer.start()
            for line in _lines(self._follow_logs(container)):
                logs.append(line)
                if on_line is not None:
                    on_line(line)
            status = self._call(f"wait for {image}", container.wait)
            if timer is not None:
                timer.cancel()
            self._call("inspect", container.reload)
            state = container.attrs.get("State", {})
            files = {p: data for p in files_out
                     if (data := self._get_file(container, str(PurePosixPath(workdir) / p))) is not None}
            exit_code = int(status.get("StatusCode", state.get("ExitCode", -1)))
            committed: Optional[str] = None
            if commit is not None and exit_code == 0 and not timed_out.is_set():
                changes = [f"LABEL {k}={json.dumps(v)}" for k, v in sorted(commit.items())]
                committed = str(self._call(f"commit a container of {image}", container.commit,
                                           changes=changes).id)
            return ContainerResult(exit_code=exit_code, files=files, logs=tuple(logs),
                                   oom_killed=bool(state.get("OOMKilled")),
                                   timed_out=timed_out.is_set(), image_id=committed)
        finally:
            # Also on KeyboardInterrupt (and SIGTERM/SIGHUP, which nbdocker.signals turns
            # into one): stop quickly, then remove; the interrupt propagates.
            if timer is not None:
                timer.cancel()
            if container is not None:
                self._remove_container(container)

    def _create(self, image: str, command: Sequence[str], kwargs: Dict[str, Any],
                limits: ContainerLimits) -> Any:
        try:
            return self._call(image, self.client.containers.create, image,
                              command=list(command), **kwargs)
        except EngineError as exc:
            if limits.disk and "storage" in str(exc).lower():
                raise InputError(f"--disk {limits.disk}: the engine refused the quota "
                                 f"({exc}); see `nbdocker run --help`") from None
            raise

    @staticmethod
    def _remove_container(container: Any) -> None:
        """Force-remove ``container``; an interrupt arriving meanwhile is held until the
        removal is done (it is retried once), so no container outlives nbdocker."""
        interrupted: Optional[BaseException] = None
        for _ in range(2):
            try:
                container.remove(force=True)
                break
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                break
            except KeyboardInterrupt as exc:
                interrupted = exc
        if interrupted is not None:
            raise interrupted

    def _follow_logs(self, container: Any) -> Iterator[bytes]:
        """The container's output as it comes, with no read timeout: a cell may compute
        silently for longer than the client's timeout. urllib3 fixes a socket's read
        timeout when the request is sent, so lifting it for this one call is enough."""
        api = self.client.api
        saved = api.timeout
        api.timeout = None  # type: ignore[assignment]  # urllib3: no read timeout
        try:
            stream = container.logs(stream=True, follow=True)
        finally:
            api.timeout = saved
        return stream

    def _stop_quietly(self, container: Any, flag: threading.Event) -> None:
        flag.set()
        try:
            container.stop(timeout=1)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            pass

    def _owner(self, image: str, user: Optional[str]) -> Tuple[int, int]:
        """uid/gid for files put into the container: the run user when numeric."""
        if user is None:
            config = self._call(image, self.client.images.get, image).attrs.get("Config") or {}
            user = config.get("User") or ""
        uid, _, gid = user.partition(":")
        if uid.isdigit():
            return int(uid), int(gid) if gid.isdigit() else int(uid)
        return 0, 0

    def _get_file(self, container: Any, path: str) -> Optional[bytes]:
        try:
            stream, _ = container.get_archive(path)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise EngineError(f"fetch {path}: {exc.explanation or exc}") from exc
        data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    handle = tar.extractfile(member)
                    return handle.read() if handle else None
        return None

    def list_containers(self) -> List[str]:
        """Ids of all containers, running or stopped."""
        return [c.id for c in self._call("list containers", self.client.containers.list, all=True)]

    def remove_containers(self, labels: Mapping[str, str]) -> int:
        """Force-remove every container carrying ``labels`` (see the seam)."""
        wanted = [f"{key}={value}" for key, value in labels.items()]
        found = self._call("list containers", self.client.containers.list, all=True,
                           filters={"label": wanted})
        for container in found:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass  # its own run() removed it meanwhile
            except docker.errors.APIError as exc:
                if "already in progress" not in str(exc):
                    raise EngineError(f"remove container {container.short_id}: "
                                      f"{exc.explanation or exc}") from exc
        return len(found)

    def cpu_count(self) -> int:
        """``NCPU`` of the engine's host (``docker info``)."""
        return int(self._call("docker info", self.client.info).get("NCPU") or 1)

    # -- sharing -------------------------------------------------------------------
    def save_image(self, ref: str, path: str) -> None:
        """``docker save`` ``ref`` into ``path``, written atomically (temp + rename)."""
        image = self._call(ref, self.client.images.get, ref)
        with atomic_writer(os.path.abspath(path)) as out:
            for chunk in self._call(f"save {ref}", image.save, named=True):
                out.write(chunk)

    def load_image(self, path: str) -> List[str]:
        """``docker load`` the tarball at ``path``; the tags it held (ids if untagged)."""
        with open(path, "rb") as handle:
            images = self._call(f"load {path}", self.client.images.load, handle)
        names: List[str] = []
        for image in images:
            names.extend(image.tags or [image.id])
        return names

    def tag_image(self, ref: str, new_ref: str) -> None:
        """``docker tag ref new_ref``."""
        image = self._call(ref, self.client.images.get, ref)
        repository, tag = split_reference(new_ref)
        self._call(f"tag {ref} as {new_ref}", image.tag, repository, tag=tag)

    def push(self, ref: str, *, on_event: Optional[EventHandler] = None) -> str:
        """Push ``ref`` with the credentials the docker CLI stored; the pushed digest.
        Failures raise ``RegistryError`` without echoing credentials."""
        repository, tag = split_reference(ref)
        digest: Optional[str] = None
        try:
            for chunk in self.client.api.push(repository, tag=tag, stream=True, decode=True):
                if "error" in chunk:
                    raise RegistryError(f"push of {ref} failed: "
                                        f"{redact_text(str(chunk['error']).strip())}")
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
                status = chunk.get("status")
                if status:
                    emit(on_event, Event(Phase.PUSH, "log",
                                         redact_text(f"{chunk.get('id', '')} {status}".strip())))
        except docker.errors.APIError as exc:
            raise RegistryError(f"push of {ref} failed: "
                                f"{redact_text(exc.explanation or str(exc))}") from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from None
            raise RegistryError(f"push of {ref} failed: {redact_text(str(exc))}") from None
        if digest is None:
            raise RegistryError(f"push of {ref} failed: the registry returned no digest")
        emit(on_event, Event(Phase.PUSH, "done", f"{ref}@{digest}", data={"digest": digest}))
        return digest


def _by_digest(ref: str) -> str:
    """``python:3.11-slim@sha256:…`` → ``python@sha256:…``: with a digest the tag says
    nothing, and the engine looks images up (and pulls them) by repository and digest."""
    if "@" not in ref:
        return ref
    name, digest = ref.rsplit("@", 1)
    head, _, last = name.rpartition("/")
    return f"{head + '/' if head else ''}{last.split(':', 1)[0]}@{digest}"


def _tar_files(files: Mapping[str, bytes], workdir: str, owner: Tuple[int, int]) -> bytes:
    """An uncompressed tar placing ``files`` (relative paths) under ``workdir``, owned by
    ``owner``; sub-directories are created with the same owner."""
    buf = io.BytesIO()
    base = PurePosixPath(workdir.lstrip("/"))
    dirs: Dict[str, None] = {}
    for rel in sorted(files):
        relpath = PurePosixPath(rel)
        if relpath.is_absolute() or ".." in relpath.parts:
            raise EngineError(f"refusing to copy {rel!r} outside {workdir}")
        for parent in reversed(relpath.parents[:-1]):
            dirs[str(base / parent)] = None
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, *owner
            tar.addfile(info)
        for rel in sorted(files):
            data = files[rel]
            info = tarfile.TarInfo(str(base / rel))
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, *owner
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


MAX_LINE = 16 * 1024     # bytes kept of one output line; the rest is counted, not kept
MAX_LOG_LINES = 1000     # lines kept of a run's output (ContainerResult.logs)


class _LineSplitter:
    """Bytes in, lines out, in time linear in the input and memory bounded by
    :data:`MAX_LINE`: each chunk is searched for newlines once, and only the first
    ``limit`` bytes of a line are kept (the line then says how much was left out)."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self._parts: List[bytes] = []
        self._size = 0
        self._dropped = 0

    def feed(self, chunk: bytes) -> Iterator[str]:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end == -1:
                self._keep(chunk[start:] if start else chunk)
                return
            self._keep(chunk[start:end])
            yield self._flush()
            start = end + 1

    def close(self) -> Iterator[str]:
        if self._parts or self._dropped:
            yield self._flush()

    def _keep(self, piece: bytes) -> None:
        if not piece:
            return
        room = self.limit - self._size
        if room <= 0:
            self._dropped += len(piece)
            return
        kept = piece[:room]
        self._parts.append(kept)
        self._size += len(kept)
        self._dropped += len(piece) - len(kept)

    def _flush(self) -> str:
        line = b"".join(self._parts).decode("utf-8", "replace").rstrip("\r")
        if self._dropped:
            line += f" [... {self._dropped} more bytes of this line not kept]"
        self._parts, self._size, self._dropped = [], 0, 0
        return line


def _lines(chunks: Iterable[bytes], limit: int = MAX_LINE) -> Iterator[str]:
    """Decode a byte stream into lines (joining lines split across chunks), each cut
    to ``limit`` bytes; linear time, bounded memory (see :class:`_LineSplitter`)."""
    splitter = _LineSplitter(limit)
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.close()
