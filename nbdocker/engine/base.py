"""The container-engine seam (repo2docker's ``ContainerEngine`` idea).

Everything nbdocker asks of a container engine goes through :class:`ContainerEngine`.
Implementations raise only :mod:`nbdocker.exceptions` errors (``EngineUnavailable``,
``BuildError``, ``ImageNotFound``, ``RegistryError``), never their SDK's own.
:class:`~nbdocker.engine.docker.DockerEngine` talks to a real Docker Engine through
docker-py; :class:`~nbdocker.engine.fake.FakeEngine` is a public test double.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import contract
from ..events import EventHandler

__all__ = ["ContainerEngine", "BuildStep", "BuildResult", "ContainerLimits", "ContainerResult"]


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


class ContainerEngine(abc.ABC):
    """What nbdocker needs from a container engine."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise ``EngineUnavailable`` (one line: where we looked, what to try) if down."""

    @abc.abstractmethod
    def build(self, context_tar: bytes, tag: Optional[str], *,
              labels: Mapping[str, str] = {}, on_event: Optional[EventHandler] = None,
              nocache: bool = False) -> BuildResult:
        """Build the Dockerfile at the root of ``context_tar`` (an uncompressed tar)
        with the classic builder (``tag`` None: untagged; ``nocache``: no layer cache);
        stream steps as BUILD events; raise ``BuildError``. Intermediate containers are
        always removed, also when interrupted."""

    @abc.abstractmethod
    def find_image(self, label: str, value: str) -> Optional[str]:
        """The id of an image that was given the label ``label=value`` (not one that
        merely inherited it from its parent), or None."""

    @abc.abstractmethod
    def image_id(self, ref: str) -> Optional[str]:
        """The image id for ``ref``, or None when it is not present locally."""

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
            commit: Optional[Mapping[str, str]] = None) -> ContainerResult:
        """Create a container from ``image``, copy ``files_in`` (relative paths) into
        ``workdir`` through the archive API (no bind mounts), start ``command``, call
        ``on_line`` with each output line as it comes, wait (stopping it after
        ``limits.timeout``), fetch ``files_out`` (relative to ``workdir``), commit it as
        an untagged image with the labels ``commit`` when asked and it exited 0, and
        remove the container, also on error and on KeyboardInterrupt."""

    @abc.abstractmethod
    def list_containers(self) -> List[str]:
        """Ids of all containers, running or not (tests use it to prove no leaks)."""

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
