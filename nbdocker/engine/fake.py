"""A public test double for :class:`~nbdocker.engine.base.ContainerEngine` (like httpx's
``MockTransport``): no Docker needed, everything recorded, failures scripted.

* **build** records the context (as a name → bytes dict), tag and labels, and simulates
  the classic builder's layer cache: each Dockerfile instruction is keyed by its parent
  key, its text and, for ``COPY``/``ADD``, the bytes of the context files it names. So a
  unit test can check which steps a second build would take from cache (the same
  ``"progress"`` events as :class:`~nbdocker.engine.docker.DockerEngine`). Scripted
  failure: ``FakeEngine(build_error=BuildError(...))``.
* **run** either pops a scripted :class:`ContainerResult` (``run_results``), calls a
  ``run_handler(image, command, files_in)``, or - with ``execute_locally=True`` - runs
  the command as a local subprocess in a fresh temporary directory standing in for the
  container's work directory: ``files_in`` are written there, ``files_out`` read back,
  ``limits.timeout`` enforced, the directory removed afterwards. ``command_map``
  rewrites in-image paths for the host (default: the runner path → ``nbdocker/stages/run/runner.py``
  and ``python`` → this interpreter). No isolation whatsoever: for host-side logic only.
  A run to ``commit`` (an environment's install) answers ``commit_result`` (default: exit
  0) and then makes an untagged image with the labels asked for.
* **save/load/push** use a tiny tar format of the fake's own; ``push_error`` scripts a
  registry failure; ``available=False`` makes every call raise ``EngineUnavailable``.
* **pull** serves the images of ``registry`` (reference → labels; each gets a fake
  manifest digest, recorded in the pulled image's ``repo_digests``) with ``Phase.PULL``
  events for two fake layers, records each pull in ``pulls`` and raises
  ``RegistryError(reason="not_found")`` for anything else (``pull_error`` scripts
  another failure). Images given in ``images`` are local builds: no digest.
  ``platform`` is the fake's native platform.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .. import contract
from .._fs import atomic_writer
from ..events import Event, EventHandler, Phase, emit
from ..exceptions import BuildError, EngineUnavailable, ImageNotFound, RegistryError
from .base import (BuildResult, BuildStep, ContainerEngine, ContainerLimits, ContainerResult,
                   dockerfile_instructions,
                   ImageInfo)

__all__ = ["FakeEngine", "FakeBuild", "FakeRun", "dockerfile_instructions"]

RunHandler = Callable[[str, Sequence[str], Mapping[str, bytes]], ContainerResult]


@dataclass(frozen=True)
class FakeBuild:
    """One recorded build."""

    tag: Optional[str]
    files: Dict[str, bytes]
    labels: Dict[str, str]
    result: Optional[BuildResult] = None

    @property
    def dockerfile(self) -> str:
        return self.files.get("Dockerfile", b"").decode("utf-8")


@dataclass(frozen=True)
class FakeRun:
    """One recorded run."""

    image: str
    command: Tuple[str, ...]
    files_in: Dict[str, bytes]
    limits: ContainerLimits
    workdir: str
    labels: Dict[str, str] = field(default_factory=dict)


@dataclass
class _Image:
    image_id: str
    labels: Dict[str, str] = field(default_factory=dict)
    repo_digests: Tuple[str, ...] = ()
    platform: str = "linux/amd64"


def _untar(data: bytes) -> Dict[str, bytes]:
    files: Dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                files[member.name] = handle.read()
    return files


def _sources_digest(instruction: str, files: Mapping[str, bytes]) -> str:
    """Hash of the context files a COPY/ADD names (``--from`` copies are keyed by text)."""
    words = instruction.split()
    if words[0].upper() not in ("COPY", "ADD") or any(w.startswith("--from") for w in words):
        return ""
    sources = [w.rstrip("/") for w in words[1:-1] if not w.startswith("--")]
    digest = hashlib.sha256()
    for name in sorted(files):
        if any(name == s or name.startswith(s + "/") for s in sources):
            digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


class FakeEngine(ContainerEngine):
    """In-memory :class:`ContainerEngine`; see the module docstring."""

    def __init__(self, *, images: Optional[Mapping[str, Mapping[str, str]]] = None,
                 build_error: Optional[BuildError] = None,
                 run_results: Sequence[ContainerResult] = (),
                 run_handler: Optional[RunHandler] = None,
                 execute_locally: bool = False,
                 command_map: Optional[Mapping[str, str]] = None,
                 push_error: Optional[RegistryError] = None,
                 registry: Optional[Mapping[str, Mapping[str, str]]] = None,
                 pull_error: Optional[RegistryError] = None,
                 platform: str = "linux/amd64",
                 commit_result: ContainerResult = ContainerResult(exit_code=0),
                 available: bool = True) -> None:
        self.images: Dict[str, _Image] = {
            ref: _Image(self._new_id(ref), dict(labels)) for ref, labels in (images or {}).items()}
        self.build_error = build_error
        self.run_results: List[ContainerResult] = list(run_results)
        self.run_handler = run_handler
        self.execute_locally = execute_locally
        runner = Path(__file__).resolve().parent.parent / "stages" / "run" / "runner.py"
        self.command_map: Dict[str, str] = dict(
            command_map if command_map is not None
            else {contract.RUNNER_PATH: str(runner), "python": sys.executable,
                  "python3": sys.executable})
        self.push_error = push_error
        self.registry: Dict[str, Dict[str, str]] = {
            ref: dict(labels) for ref, labels in (registry or {}).items()}
        self.pull_error = pull_error
        self.platform = platform
        self.pulls: List[str] = []
        self.commit_result = commit_result
        self.available = available
        self.builds: List[FakeBuild] = []
        self.runs: List[FakeRun] = []
        self.pushed: List[str] = []
        self._cache: Set[str] = set()
        self._lock = threading.Lock()
        self._processes: Dict[int, Tuple[Dict[str, str], "subprocess.Popen[str]"]] = {}

    @staticmethod
    def _new_id(seed: str) -> str:
        return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()

    def _check(self) -> None:
        if not self.available:
            raise EngineUnavailable("no Docker engine answers at fake://engine (fake engine "
                                    "marked unavailable): is dockerd running? try `sudo "
                                    "systemctl start docker` or set DOCKER_HOST")

    # -- ContainerEngine -----------------------------------------------------------
    def ping(self) -> None:
        """Raise ``EngineUnavailable`` when constructed with ``available=False``."""
        self._check()

    def build(self, context_tar: bytes, tag: Optional[str], *,
              labels: Mapping[str, str] = {}, on_event: Optional[EventHandler] = None,
              platform: Optional[str] = None,
              nocache: bool = False) -> BuildResult:
        """Record the build and simulate the layer cache (see the module docstring)."""
        self._check()
        files = _untar(context_tar)
        if self.build_error is not None:
            self.builds.append(FakeBuild(tag, files, dict(labels)))
            raise self.build_error
        if "Dockerfile" not in files:
            raise BuildError("build failed: the context has no Dockerfile")
        instructions = dockerfile_instructions(files["Dockerfile"].decode("utf-8"))
        # The classic builder adds one LABEL step per build label, sorted, at the end.
        instructions += [f"LABEL {k}={v}" for k, v in sorted(labels.items())]
        steps: List[BuildStep] = []
        image_labels: Dict[str, str] = {}
        key = ""
        for index, instruction in enumerate(instructions, 1):
            if instruction.upper().startswith("FROM "):
                key = instruction.split()[1]
                cached = True
            else:
                key = hashlib.sha256("\0".join(
                    (key, instruction, _sources_digest(instruction, files))).encode()).hexdigest()
                cached = key in self._cache and not nocache
                self._cache.add(key)
            if instruction.upper().startswith("LABEL "):
                image_labels.update(_parse_labels(instruction[6:]))
            steps.append(BuildStep(index, len(instructions), instruction, cached))
            emit(on_event, Event(Phase.BUILD, "progress", f"step {index}/{len(instructions)}",
                                 step=index, total=len(instructions),
                                 data={"instruction": instruction, "cached": cached}))
        image_labels.update(labels)
        image = _Image(self._new_id(key + (tag or "")), image_labels,
                       platform=platform or self.platform)
        self.images[tag or image.image_id] = image   # untagged images by their id
        result = BuildResult(image_id=image.image_id, tag=tag, steps=tuple(steps),
                             log=tuple(f"Step {s.index}/{s.total} : {s.instruction}" for s in steps))
        self.builds.append(FakeBuild(tag, files, dict(labels), result))
        return result

    def find_image(self, label: str, value: str) -> Optional[str]:
        """The first image built with ``label=value`` (the fake has no inheritance)."""
        self._check()
        return next((i.image_id for i in self.images.values() if i.labels.get(label) == value),
                    None)

    def image_id(self, ref: str) -> Optional[str]:
        """The fake id of ``ref``, or None."""
        self._check()
        image = self._lookup(ref)
        return image.image_id if image else None

    def inspect_image(self, ref: str) -> Optional[ImageInfo]:
        """The fake image's id, digests and platform; also found by ``repo@digest``."""
        self._check()
        image = self._lookup(ref)
        if image is None:
            return None
        os_name, _, arch = image.platform.partition("/")
        return ImageInfo(image.image_id, image.repo_digests, os_name, arch)

    def _lookup(self, ref: str) -> Optional[_Image]:
        """The image ``ref`` names: by name, by ``repo@digest`` or by image id, as
        Docker resolves references."""
        if ref in self.images:
            return self.images[ref]
        if ref.startswith("sha256:"):
            return next((i for i in self.images.values() if i.image_id == ref), None)
        if "@" not in ref:
            return None
        from .refs import repository_of

        wanted = f"{repository_of(ref)}@{ref.rsplit('@', 1)[1]}"
        return next((i for i in self.images.values() if wanted in i.repo_digests), None)

    @staticmethod
    def manifest_digest(ref: str) -> str:
        """The digest the fake registry serves ``ref`` (a tag reference) under."""
        return "sha256:" + hashlib.sha256(("manifest:" + ref).encode()).hexdigest()

    def pull(self, ref: str, *, platform: Optional[str] = None,
             on_event: Optional[EventHandler] = None) -> ImageInfo:
        """Serve ``ref`` from ``registry`` (by tag, or by the digest it was served
        under); see the module docstring."""
        from .refs import repository_of

        self._check()
        self.pulls.append(ref)
        if self.pull_error is not None:
            raise self.pull_error
        name = next((r for r in self.registry if r == ref or ("@" in ref and
                     f"{repository_of(r)}@{self.manifest_digest(r)}" ==
                     f"{repository_of(ref)}@{ref.rsplit('@', 1)[1]}")), None)
        if name is None:
            raise RegistryError(f"cannot pull {ref} from fake://registry: manifest unknown",
                                reason="not_found")
        sizes = (3_000_000, 1_000_000)
        for done in range(len(sizes) + 1):
            emit(on_event, Event(Phase.PULL, "progress", f"layers of {ref}", step=done,
                                 total=len(sizes),
                                 data={"image": ref, "layers": len(sizes), "layers_done": done,
                                       "bytes": sum(sizes[:done]), "bytes_total": sum(sizes)}))
        image = _Image(self._new_id("pulled:" + name), dict(self.registry[name]),
                       (f"{repository_of(name)}@{self.manifest_digest(name)}",),
                       platform or self.platform)
        self.images[ref if "@" in ref else name] = image   # by digest: no tag, as Docker
        emit(on_event, Event(Phase.PULL, "done", f"pulled {ref}", step=len(sizes),
                             total=len(sizes), data={"image": ref, "image_id": image.image_id}))
        os_name, _, arch = image.platform.partition("/")
        return ImageInfo(image.image_id, image.repo_digests, os_name, arch)

    def native_platform(self) -> str:
        """``platform`` given to the constructor (``linux/amd64`` by default)."""
        self._check()
        return self.platform

    def image_labels(self, ref: str) -> Dict[str, str]:
        """Labels of ``ref`` (from its Dockerfile's LABELs and the build's ``labels``)."""
        self._check()
        if ref not in self.images:
            raise ImageNotFound(f"image not found: {ref}")
        return dict(self.images[ref].labels)

    def remove_image(self, ref: str) -> None:
        """Forget ``ref``."""
        self._check()
        self.images.pop(ref, None)

    def run(self, image: str, command: Sequence[str], *,
            files_in: Mapping[str, bytes] = {}, workdir: str = contract.WORKDIR,
            files_out: Sequence[str] = (), limits: ContainerLimits = ContainerLimits(),
            on_line: Optional[Callable[[str], None]] = None,
            labels: Mapping[str, str] = {},
            commit: Optional[Mapping[str, str]] = None) -> ContainerResult:
        """Record the run; answer from ``run_results``, ``run_handler`` or a local
        subprocess (``execute_locally``); else exit 0 with no output. A run to
        ``commit`` answers ``commit_result`` instead (default: exit 0) and, when that
        exited 0, makes a new untagged image with those labels."""
        self._check()
        if self._lookup(image) is None:
            raise ImageNotFound(f"image not found: {image}")
        self.runs.append(FakeRun(image, tuple(command), dict(files_in), limits, workdir,
                                 dict(labels)))
        if commit is not None:
            # A run to commit installs an environment: not host-side logic to execute.
            result = self.commit_result
        elif self.run_results:
            result = self.run_results.pop(0)
        elif self.run_handler is not None:
            result = self.run_handler(image, command, files_in)
        elif self.execute_locally:
            result = self._run_locally(command, files_in, files_out, limits, on_line, labels)
            on_line = None   # already called line by line
        else:
            result = ContainerResult(exit_code=0)
        if on_line is not None:
            for line in result.logs:
                on_line(line)
        if commit is not None and result.exit_code == 0:
            committed = _Image(self._new_id(f"{image}\0{command}\0{len(self.runs)}"), dict(commit))
            self.images[committed.image_id] = committed
            result = replace(result, image_id=committed.image_id)
        return result

    def _run_locally(self, command: Sequence[str], files_in: Mapping[str, bytes],
                     files_out: Sequence[str], limits: ContainerLimits,
                     on_line: Optional[Callable[[str], None]],
                     labels: Mapping[str, str]) -> ContainerResult:
        argv = [self.command_map.get(arg, arg) for arg in command]
        with tempfile.TemporaryDirectory(prefix="nbdocker-fake-") as tmp:
            for rel, data in files_in.items():
                target = Path(tmp, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            proc = subprocess.Popen(argv, cwd=tmp, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    env={**os.environ, "HOME": tmp})
            with self._lock:
                self._processes[proc.pid] = (dict(labels), proc)
            logs: List[str] = []
            timed_out = False
            try:
                out, _ = proc.communicate(timeout=limits.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
                timed_out = True
            except BaseException:   # KeyboardInterrupt: never leave the process behind
                proc.kill()
                proc.wait()
                raise
            finally:
                with self._lock:
                    self._processes.pop(proc.pid, None)
            for line in out.splitlines():
                logs.append(line)
                if on_line is not None:
                    on_line(line)
            files = {rel: Path(tmp, rel).read_bytes() for rel in files_out
                     if Path(tmp, rel).is_file()}
            return ContainerResult(exit_code=137 if timed_out else proc.returncode,
                                   files=files, logs=tuple(logs), timed_out=timed_out)

    def list_containers(self) -> List[str]:
        """The local processes standing in for running containers (``execute_locally``);
        fake containers never outlive :meth:`run`."""
        self._check()
        with self._lock:
            return [str(pid) for pid in self._processes]

    def remove_containers(self, labels: Mapping[str, str]) -> int:
        """Kill the local processes of runs carrying ``labels``."""
        self._check()
        with self._lock:
            found = [proc for own, proc in self._processes.values()
                     if all(own.get(k) == v for k, v in labels.items())]
        for proc in found:
            proc.kill()
        return len(found)

    def cpu_count(self) -> int:
        """This machine's CPU count."""
        return os.cpu_count() or 1

    def save_image(self, ref: str, path: str) -> None:
        """Write a small tar holding the image's tag, id and labels (atomically)."""
        self._check()
        if ref not in self.images:
            raise ImageNotFound(f"image not found: {ref}")
        image = self.images[ref]
        payload = json.dumps({"tag": ref, "id": image.image_id, "labels": image.labels},
                             sort_keys=True).encode()
        # With a manifest.json naming the tag and config as `docker save` does.
        manifest = json.dumps([{"Config": f"{image.image_id.split(':')[-1]}.json",
                                "RepoTags": [ref]}]).encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, blob in (("manifest.json", manifest),
                               ("nbdocker-fake-image.json", payload)):
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
        with atomic_writer(path) as out:
            out.write(buf.getvalue())

    def load_image(self, path: str) -> List[str]:
        """Read back what :meth:`save_image` wrote."""
        self._check()
        files = _untar(Path(path).read_bytes())
        data = json.loads(files["nbdocker-fake-image.json"])
        self.images[data["tag"]] = _Image(data["id"], dict(data["labels"]))
        return [data["tag"]]

    def tag_image(self, ref: str, new_ref: str) -> None:
        """Make ``new_ref`` name the same fake image as ``ref``."""
        self._check()
        if ref not in self.images:
            raise ImageNotFound(f"image not found: {ref}")
        self.images[new_ref] = self.images[ref]

    def push(self, ref: str, *, on_event: Optional[EventHandler] = None) -> str:
        """Record the push and return a fake digest; raise ``push_error`` if scripted."""
        self._check()
        if self.push_error is not None:
            raise self.push_error
        if ref not in self.images:
            raise ImageNotFound(f"image not found: {ref}")
        self.pushed.append(ref)
        digest = "sha256:" + hashlib.sha256(self.images[ref].image_id.encode()).hexdigest()
        emit(on_event, Event(Phase.PUSH, "done", f"{ref}@{digest}", data={"digest": digest}))
        return digest


def _parse_labels(text: str) -> Dict[str, str]:
    """``k="v" k2="v2"`` (JSON-quoted values, as render() writes them)."""
    import shlex

    labels: Dict[str, str] = {}
    for token in shlex.split(text):
        key, _, value = token.partition("=")
        labels[key] = value
    return labels
