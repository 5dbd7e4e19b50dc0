"""The container-engine seam (repo2docker's ``ContainerEngine`` idea).

Everything nbdocker asks of a container engine goes through :class:`ContainerEngine`.
Implementations raise only :mod:`nbdocker.exceptions` errors (``EngineUnavailable``,
``BuildError``, ``ImageNotFound``, ``RegistryError``), never their SDK's own.
Pulls report ``Phase.PULL`` progress events: ``step``/``total`` are layers done / layers,
``data`` holds ``image``, ``layers``, ``layers_done``, ``bytes`` and ``bytes_total``
(downloaded so far / known so far).
:class:`~nbdocker.engine.docker.DockerEngine` talks to a real Docker Engine through
docker-py; :class:`~nbdocker.engine.fake.FakeEngine` is a public test double.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import contract
from ..events import EventHandler

__all__ = ["ContainerEngine", "BuildStep", "BuildResult", "ContainerLimits", "ContainerResult",
           "ImageInfo", "dockerfile_instructions", "build_steps"]


@dataclass(frozen=True)
class BuildStep:
    """One Dockerfile instruction as the engine reported it."""

    index: int          # 1-based
    total: int
    instruction: str    # e.g. "RUN pip install ..."
    cached: bool
    seconds: float = 0.0  # from this step's start to the next one's (layer commit included)


@dataclass(frozen=True)
class BuildResult:
    """A finished build: the image id, its tag (None: untagged), the steps, the full
    log and the warnings the build printed (e.g. a guess that could not be installed)."""

    image_id: str
    tag: Optional[str]
    steps: Tuple[BuildStep, ...]
    log: Tuple[str, ...] = ()
    warnings: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerLimits:
    """Resource limits and isolation for one container run."""

    network: Optional[str] = None      # "none" to cut the network; None = engine default
    memory: Optional[str] = None       # e.g. "512m"
    cpus: Optional[float] = None
    timeout: Optional[float] = None    # seconds for the whole container; None = no limit
    user: Optional[str] = None         # None = the image's USER
    disk: Optional[str] = None         # e.g. "2g": what the container may write (quota)
    platform: Optional[str] = None     # e.g. "linux/arm64"; None = the engine's own


@dataclass(frozen=True)
class ContainerResult:
    """How a container ended and the files fetched from it afterwards.

    ``files`` maps each requested path to its bytes (missing files are absent);
    ``image_id`` is the image the container was committed as, when asked to.
    ``oom_killed`` is the engine's OOM flag; ``timed_out`` is set when nbdocker stopped
    the container because ``ContainerLimits.timeout`` passed.
    """

    exit_code: int
    files: Dict[str, bytes] = field(default_factory=dict)
    logs: Tuple[str, ...] = ()
    oom_killed: bool = False
    timed_out: bool = False
    image_id: Optional[str] = None     # the committed image (``run(commit=...)``)


@dataclass(frozen=True)
class ImageInfo:
    """What the engine knows about a local image: its id, the registry digests it was
    pulled or pushed by (``repo@sha256:...``; empty for an image built or imported
    locally) and its platform."""

    image_id: str
    repo_digests: Tuple[str, ...] = ()
    os: str = "linux"
    architecture: str = ""

    @property
    def platform(self) -> str:
        """``linux/amd64``: Docker's spelling, as ``--platform`` takes it."""
        return f"{self.os}/{self.architecture}"


class ContainerEngine(abc.ABC):
    """What nbdocker needs from a container engine."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise ``EngineUnavailable`` (one line: where we looked, what to try) if down."""

    @abc.abstractmethod
    def build(self, context_tar: bytes, tag: Optional[str], *,
              labels: Mapping[str, str] = {}, on_event: Optional[EventHandler] = None,
              platform: Optional[str] = None, nocache: bool = False) -> BuildResult:
        """Build the Dockerfile at the root of ``context_tar`` (an uncompressed tar)
        with the classic builder (for ``platform``, default the engine's own; ``tag``
        None: untagged; ``nocache``: no layer cache); stream steps as BUILD events;
        raise ``BuildError``. Intermediate containers are always removed, also when
        interrupted."""

    @abc.abstractmethod
    def find_image(self, label: str, value: str) -> Optional[str]:
        """The id of an image that was given the label ``label=value`` (not one that
        merely inherited it from its parent), or None."""

    @abc.abstractmethod
    def image_id(self, ref: str) -> Optional[str]:
        """The image id for ``ref``, or None when it is not present locally."""

    @abc.abstractmethod
    def inspect_image(self, ref: str) -> Optional[ImageInfo]:
        """Id, registry digests and platform of local image ``ref``; None when absent."""

    @abc.abstractmethod
    def pull(self, ref: str, *, platform: Optional[str] = None,
             on_event: Optional[EventHandler] = None) -> ImageInfo:
        """Pull ``ref`` (``repo:tag`` or ``repo@sha256:...``) with the credentials of the
        Docker config, reporting ``Phase.PULL`` progress (see the module docstring);
        ``RegistryError`` with a ``reason`` when the registry cannot serve it."""

    @abc.abstractmethod
    def native_platform(self) -> str:
        """The platform the engine runs natively (``linux/amd64``)."""

    @abc.abstractmethod
    def image_labels(self, ref: str) -> Dict[str, str]:
        """The labels of image ``ref`` (``ImageNotFound`` if absent)."""

    @abc.abstractmethod
    def remove_image(self, ref: str) -> None:
        """Remove image ``ref`` (no error when it is already gone)."""

    @abc.abstractmethod
    def run(self, image: str, command: Sequence[str], *,
            files_in: Mapping[str, bytes] = {}, workdir: str = contract.WORKDIR,
            files_out: Sequence[str] = (), limits: ContainerLimits = ContainerLimits(),
            on_line: Optional[Callable[[str], None]] = None,
            labels: Mapping[str, str] = {},
            commit: Optional[Mapping[str, str]] = None) -> ContainerResult:
        """Create a container from ``image`` (carrying ``labels``), copy ``files_in``
        (relative paths) into ``workdir`` through the archive API (no bind mounts),
        start ``command``, call ``on_line`` with each output line as it comes, wait
        (stopping it after ``limits.timeout``), fetch ``files_out`` (relative to
        ``workdir``), commit it as an untagged image with the labels ``commit`` when
        asked and it exited 0, and remove the container, also on error and on
        KeyboardInterrupt."""

    def check_limits(self, limits: ContainerLimits) -> None:
        """Raise :class:`~nbdocker.exceptions.InputError` when this engine cannot apply
        ``limits`` (e.g. a ``disk`` quota its storage driver lacks, more CPUs than it
        has), so the usage error comes before a build. The default accepts them."""

    @abc.abstractmethod
    def list_containers(self) -> List[str]:
        """Ids of all containers, running or not (tests use it to prove no leaks)."""

    @abc.abstractmethod
    def remove_containers(self, labels: Mapping[str, str]) -> int:
        """Stop and remove every container carrying all of ``labels`` (running or not);
        how many there were. Another thread's :meth:`run` of such a container then
        returns or raises ``EngineError`` promptly (how a sweep is cancelled)."""

    @abc.abstractmethod
    def cpu_count(self) -> int:
        """How many CPUs the engine's host has (a sweep's default concurrency)."""

    # Sharing (bundles, tarballs, registries) ------------------------------------
    @abc.abstractmethod
    def save_image(self, ref: str, path: str) -> None:
        """Write ``docker save`` of ``ref`` to ``path`` (atomically)."""

    @abc.abstractmethod
    def load_image(self, path: str) -> List[str]:
        """``docker load`` a tarball; return the tags (or ids) it held."""

    @abc.abstractmethod
    def tag_image(self, ref: str, new_ref: str) -> None:
        """Give image ``ref`` the additional name ``new_ref`` (``repo[:tag]``);
        ``ImageNotFound`` when ``ref`` is absent."""

    @abc.abstractmethod
    def push(self, ref: str, *, on_event: Optional[EventHandler] = None) -> str:
        """Push ``ref``; return the repository digest (``sha256:...``)."""


def dockerfile_instructions(text: str) -> List[str]:
    """The instructions of a Dockerfile, continuation lines joined, comments dropped
    (the same text the classic builder prints after ``Step i/n :``)."""
    out: List[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1].rstrip() + " "
            continue
        current += line
        out.append(" ".join(current.split()))
        current = ""
    if current:
        out.append(" ".join(current.split()))
    return out


def build_steps(context_tar: bytes, labels: Mapping[str, str]) -> Optional[int]:
    """How many steps the classic builder runs for ``context_tar``: the Dockerfile's
    instructions plus one ``LABEL`` step per build label (which the builder's own
    ``Step i/n`` total leaves out); None when the context has no Dockerfile."""
    import io
    import tarfile

    try:
        with tarfile.open(fileobj=io.BytesIO(context_tar)) as tar:
            member = tar.extractfile("Dockerfile")
            text = member.read().decode("utf-8") if member is not None else None
    except (KeyError, tarfile.TarError, UnicodeDecodeError):
        return None
    return None if text is None else len(dockerfile_instructions(text)) + len(labels)
