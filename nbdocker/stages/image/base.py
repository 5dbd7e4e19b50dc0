"""The base image: which one, found or pulled, pinned by digest, and its Python measured.

Policy (the only one; every command uses it, bundles included):

1. ``--base-image`` wins, then ``$NBDOCKER_BASE_IMAGE``;
2. else the base a bundle's spec pins (``EnvironmentSpec.base_image``,
   ``name@sha256:...``: the bytes its image was built on, covered by the bundle digest);
3. else the official ``python:<X.Y.Z>-slim`` of the captured interpreter, and when
   that cannot be had (no such tag in the registry, or the registry cannot serve it)
   ``python:<X.Y>-slim``, with a warning naming both. ``$NBDOCKER_BASE_REPOSITORY``
   names another repository holding the official tags (a company's copy of Docker
   Hub's ``python``: ``registry.example.com/hub/python``).

A base missing from the engine is pulled through the Engine API (``--pull missing``, the
default; ``always`` pulls even when present, ``never`` uses only local images), with
``Phase.PULL`` progress events. The build then starts ``FROM <name>@sha256:<digest>``
(the registry's manifest digest), so the same Dockerfile gets the same bytes anywhere; a
base that has no registry digest (built or imported locally) is used by image id and
recorded as such. The base's ``python3`` is probed once per image id (a throwaway
container, cached on disk); any difference from the notebook's Python, patch included,
is a warning.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ... import contract
from ..._fs import read_cache, write_cache
from ...engine.base import ContainerEngine, ContainerLimits, ImageInfo
from ...engine.refs import registry_of, repository_of
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import EngineError, ImageNotFound, RegistryError
from ...spec import EnvironmentSpec

__all__ = ["BaseImage", "PULL_POLICIES", "PLATFORMS", "resolve_base_image", "base_candidates",
           "ensure_base", "check_base_python", "probe_base_python", "probe_base",
           "python_difference",
           "check_platform"]

PULL_POLICIES: Tuple[str, ...] = ("missing", "always", "never")   # Docker's own words
PLATFORMS: Tuple[str, ...] = ("linux/amd64", "linux/arm64")
# One line: the Python version, then the Debian-style release (``debian:bookworm``) when
# /etc/os-release names one: whether a package version pinned from the host applies.
_PROBE = ["python3", "-c", """\
import platform
v = {}
try:
    for line in open("/etc/os-release", encoding="utf-8"):
        k, _, x = line.strip().partition("=")
        v[k] = x.strip('"')
except OSError:
    pass
r = v.get("VERSION_CODENAME") or v.get("VERSION_ID") or ""
print(platform.python_version(), v.get("ID", "") + ":" + r if v.get("ID") and r else "")
"""]
_CACHE = "base-probe.json"  # image id -> [Python version, release], in nbdocker's cache
_MACHINES = {"x86_64": "linux/amd64", "amd64": "linux/amd64", "aarch64": "linux/arm64",
             "arm64": "linux/arm64"}


@dataclass(frozen=True)
class BaseImage:
    """A base image as found (or pulled) on the engine.

    ``name`` is the reference the policy chose (``python:3.11.7-slim``), ``digest`` the
    registry manifest digest it was pulled by (None for a base built or imported
    locally), ``repository`` the repository that digest belongs to, ``python`` the
    version its ``python3`` reported, ``distribution`` its release (``debian:bookworm``,
    None when unknown) and ``pulled`` whether this call pulled it.
    """

    name: str
    image_id: str
    python: str
    digest: Optional[str] = None
    repository: str = ""
    pulled: bool = False
    distribution: Optional[str] = None   # debian:bookworm, from its /etc/os-release

    @property
    def pinned(self) -> str:
        """The reference that names these bytes anywhere: ``python:3.11.7-slim@sha256:…``
        (only the name, for a local-only base: no one else can pull it by id)."""
        if not self.digest:
            return self.name
        name = self.name.split("@", 1)[0]
        if repository_of(name) != self.repository:
            name = self.repository  # the digest was pulled under another name
        return f"{name}@{self.digest}"

    @property
    def ref(self) -> str:
        """What this engine's build starts ``FROM``: the pinned reference, or the image
        id for a local-only base (so a re-tagged local base is a different build)."""
        return self.pinned if self.digest else self.image_id

    @property
    def labels(self) -> Dict[str, str]:
        """OCI base labels: the name, and the digest (a local base: its image id)."""
        return {contract.LABEL_BASE_NAME: self.pinned.split("@", 1)[0],
                contract.LABEL_BASE_DIGEST: self.digest or self.image_id}


def _explicit(override: Optional[str]) -> Optional[str]:
    if override:
        return override
    return os.environ.get("NBDOCKER_BASE_IMAGE", "").strip() or None


def resolve_base_image(spec: EnvironmentSpec, override: Optional[str] = None,
                       pinned: Optional[str] = None) -> str:
    """The base by name, without an engine (the Dockerfile preview, the panel):
    ``override`` > ``$NBDOCKER_BASE_IMAGE`` > ``pinned`` (a bundle's) >
    ``python:<X.Y.Z>-slim``. :func:`ensure_base` may fall back to ``python:<X.Y>-slim``."""
    return base_candidates(spec, override, pinned)[0]


def base_candidates(spec: EnvironmentSpec, override: Optional[str] = None,
                    pinned: Optional[str] = None) -> Tuple[str, ...]:
    """The bases to try, in order (see the module docstring)."""
    explicit = _explicit(override)
    if explicit:
        return (explicit,)
    repository = os.environ.get("NBDOCKER_BASE_REPOSITORY", "").strip() or "python"
    exact = f"{repository}:{spec.python.version}-slim"
    minor = f"{repository}:{spec.python.major_minor}-slim"
    defaults = (exact,) if exact == minor else (exact, minor)
    # A bundle exported without a digest for the default base keeps the default policy.
    return (pinned,) if pinned and pinned not in defaults else defaults


def _familiar(repository: str) -> str:
    """``docker.io/library/python`` → ``python``, as the engine lists RepoDigests."""
    for prefix in ("docker.io/", "index.docker.io/"):
        if repository.startswith(prefix):
            repository = repository[len(prefix):]
            if repository.startswith("library/"):
                repository = repository[len("library/"):]
    return repository


def _digest_of(name: str, info: ImageInfo) -> Tuple[Optional[str], str]:
    """(manifest digest, its repository) for ``name``: the digest ``name`` itself pins,
    else the one recorded for its repository, else any the image was pulled by."""
    if "@" in name:
        return name.rsplit("@", 1)[1], _familiar(repository_of(name))
    wanted = _familiar(repository_of(name))
    pairs = [(_familiar(d.rsplit("@", 1)[0]), d.rsplit("@", 1)[1])
             for d in info.repo_digests if "@" in d]
    for repository, digest in pairs:
        if repository == wanted:
            return digest, repository
    if pairs:
        repository, digest = sorted(pairs)[0]
        return digest, repository
    return None, wanted


def python_difference(image: str, notebook: str) -> Optional[str]:
    """How two Python versions differ: None when equal, else ``"patch differs"``,
    ``"minor differs"`` or ``"major differs"`` (``3.11.2`` vs ``3.11.7``: patch)."""
    a, b = image.strip().split("."), notebook.strip().split(".")
    if a == b:
        return None
    for level, name in enumerate(("major", "minor")):
        if a[level:level + 1] != b[level:level + 1]:
            return f"{name} differs"
    return "patch differs"


def probe_base_python(engine: ContainerEngine, image: str) -> str:
    """The Python version (``3.11.2``) of ``image``'s ``python3``, cached by image id.
    ``ImageNotFound`` when the image is absent; ``EngineError`` when it has no python3."""
    return probe_base(engine, image)[0]


def probe_base(engine: ContainerEngine, image: str) -> Tuple[str, Optional[str]]:
    """``(Python version, release)`` of ``image``: ``("3.11.2", "debian:bookworm")``, the
    release None when /etc/os-release names none. Cached by image id; errors as
    :func:`probe_base_python`."""
    info = engine.inspect_image(image)
    if info is None:
        raise ImageNotFound(f"base image {image} is not on the engine")
    cached = read_cache(_CACHE)
    known: Dict[str, Any] = cached if isinstance(cached, dict) else {}
    entry = known.get(info.image_id)
    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):
        return entry[0], entry[1] if isinstance(entry[1], str) and entry[1] else None
    result = engine.run(info.image_id, _PROBE, workdir="/",
                        limits=ContainerLimits(network="none", timeout=60, user="0",
                                               platform=info.platform))
    words = (result.logs[-1].split() if result.logs else [])
    version = words[0] if words else ""
    if result.exit_code != 0 or not version[:1].isdigit():
        raise EngineError(f"base image {image} has no working python3 on PATH "
                          f"(exit {result.exit_code}): {version or 'no output'}")
    release = words[1] if len(words) > 1 else None
    known[info.image_id] = [version, release or ""]
    write_cache(_CACHE, known)
    return version, release


def check_base_python(engine: ContainerEngine, image: str, spec: EnvironmentSpec,
                      on_event: Optional[EventHandler] = None, *,
                      shown: Optional[str] = None) -> str:
    """Probe ``image`` and warn (a BUILD ``"warning"`` event, naming it ``shown``) when
    its Python differs from the spec's in any way, patch included; return the version."""
    found = probe_base_python(engine, image)
    _warn_python(found, shown or image, spec, on_event)
    return found


def _warn_python(found: str, image: str, spec: EnvironmentSpec,
                 on_event: Optional[EventHandler]) -> None:
    difference = python_difference(found, spec.python.version)
    if difference:
        effect = ("outputs that show the interpreter (sys.version, %watermark) will differ"
                  if difference == "patch differs" else
                  "pinned packages may not install or may behave differently")
        emit(on_event, Event(
            Phase.BUILD, "warning",
            f"base image {image}: image Python {found}, notebook {spec.python.version}: "
            f"{difference}; {effect} (choose a base with --base-image or "
            "NBDOCKER_BASE_IMAGE)",
            data={"base_python": found, "spec_python": spec.python.version,
                  "difference": difference}))


def check_platform(engine: ContainerEngine, platform: Optional[str], spec: EnvironmentSpec,
                   on_event: Optional[EventHandler] = None) -> str:
    """The platform to build and run for (``platform``, else the engine's own), with a
    warning when it is not the engine's (the engine emulates it) or not the machine the
    notebook was captured on."""
    native = engine.native_platform()
    target = platform or native
    if target != native:
        arch = target.rsplit("/", 1)[-1]
        emit(on_event, Event(
            Phase.BUILD, "warning",
            f"building for {target} on a {native} engine: every step and the kernel will "
            f"run under emulation (the engine needs QEMU binfmt handlers for {arch}, e.g. "
            "Debian's qemu-user-static) and be much slower",
            data={"platform": target, "native": native}))
    captured = _MACHINES.get(spec.platform.machine.lower())
    if captured and captured != target:
        emit(on_event, Event(
            Phase.BUILD, "warning",
            f"the notebook was captured on {spec.platform.machine} ({captured}); building "
            f"for {target} (--platform {captured} builds for the captured machine, emulated "
            "here)" if captured != native else
            f"the notebook was captured on {spec.platform.machine} ({captured}); building "
            f"for {target}",
            data={"platform": target, "captured": captured}))
    return target


def _hint(reason: str, name: str) -> str:
    host = registry_of(name)
    if reason == "denied":
        return f"log in with `docker login {host}` (nbdocker uses the Docker config)"
    if reason == "not_found":
        return "check the name and tag"
    return ("is the registry reachable from the Docker engine? (check its network, proxy "
            "and registry-mirrors)")


def _no_base(candidates: Sequence[str], failures: Sequence[Tuple[str, Optional[RegistryError]]],
             pull: str, platform: Optional[str], elsewhere: Optional[str]) -> EngineError:
    """One line: the image, the registry, what happened, what to try."""
    wanted, others = candidates[0], list(candidates[1:])
    local = "or build on an image this engine has: --base-image IMG / NBDOCKER_BASE_IMAGE"
    if pull == "never":
        nor = f" (nor is {', '.join(others)})" if others else ""
        where = (f"is on the engine only for {elsewhere}, not {platform}," if elsewhere
                 else "is not on the engine")
        return ImageNotFound(
            f"base image {wanted} {where}{nor} and --pull never forbids pulling: "
            f"`docker pull {'--platform ' + platform + ' ' if platform else ''}{wanted}`, "
            f"use --pull missing, {local}")
    name, first = next((n, exc) for n, exc in failures if exc is not None)
    either = f"; {', '.join(others)} could not be had either" if others else ""
    what = str(first)
    prefix = f"cannot pull {name} "   # the engine's wording: "cannot pull REF from HOST: …"
    what = (f"base image {name} cannot be pulled {what[len(prefix):]}"
            if what.startswith(prefix) else f"base image {name}: {what}")
    return RegistryError(f"{what}{either} — {_hint(first.reason, wanted)}, {local}",
                         reason=first.reason)


def ensure_base(engine: ContainerEngine, spec: EnvironmentSpec, *,
                override: Optional[str] = None, pinned: Optional[str] = None,
                pull: str = "missing", platform: Optional[str] = None,
                on_event: Optional[EventHandler] = None) -> BaseImage:
    """The base for ``spec`` on ``engine``, pulled when the policy says so, with its
    digest and its Python (see the module docstring). Raises ``RegistryError`` (cannot
    pull; exit 3) or ``ImageNotFound`` (``--pull never`` and not here; exit 3)."""
    if pull not in PULL_POLICIES:
        raise ValueError(f"pull policy must be one of {PULL_POLICIES}, not {pull!r}")
    candidates = base_candidates(spec, override, pinned)
    failures: List[Tuple[str, Optional[RegistryError]]] = []
    elsewhere: Optional[str] = None   # the platform a present first candidate is for
    for index, name in enumerate(candidates):
        info = engine.inspect_image(name)
        if info is not None and platform and info.platform != platform:
            elsewhere = elsewhere or (info.platform if index == 0 else None)
            info = None   # here, but for another platform: Docker pulls the right one
        pulled = False
        if pull == "always" or (info is None and pull == "missing"):
            emit(on_event, Event(Phase.PULL, "progress", f"pulling {name}", step=0,
                                 total=None, data={"image": name}))
            try:
                info = engine.pull(name, platform=platform, on_event=on_event)
                pulled = True
            except RegistryError as exc:
                failures.append((name, exc))
                continue
        if info is None:
            failures.append((name, None))
            continue
        if index > 0:
            why = failures[0][1]
            emit(on_event, Event(
                Phase.BUILD, "warning",
                f"base image {candidates[0]} "
                + (f"could not be pulled ({why})" if why else "is not on the engine")
                + f": building on {name} instead, whose Python may differ in the patch",
                data={"wanted": candidates[0], "used": name}))
        digest, repository = _digest_of(name, info)
        python, release = probe_base(engine, info.image_id)
        _warn_python(python, name, spec, on_event)
        return BaseImage(name=name, image_id=info.image_id, python=python, digest=digest,
                         repository=repository, pulled=pulled, distribution=release)
    raise _no_base(candidates, failures, pull, platform, elsewhere)
