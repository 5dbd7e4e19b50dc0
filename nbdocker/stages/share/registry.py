"""Sharing images: push to a registry, load a ``docker save`` tarball.

Credentials are never handled here: the engine (docker-py) reads them from the Docker
config (``~/.docker/config.json``, credential helpers included) exactly as ``docker
push`` does. Every message that leaves this module goes through
:func:`nbdocker.secrets.redact_text`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import List, Optional, Tuple, Union

from ... import contract
from ...engine.base import ContainerEngine
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import ImageNotFound, InputError, RegistryError
from ...secrets import redact_text

__all__ = ["parse_ref", "repository_of", "target_ref", "push_image", "load_image_tar",
]

PathLike = Union[str, "os.PathLike[str]"]

# Docker's reference grammar, simplified: [host[:port]/]path[:tag] (no digest: we push tags).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REF_RE = re.compile(
    rf"^(?:(?P<host>[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?)/)?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)(?::(?P<tag>[\w][\w.-]{{0,127}}))?$")
_AUTH_HINTS = ("unauthorized", "authentication required", "denied", "forbidden",
               "no basic auth credentials", "401", "403")
_NETWORK_HINTS = ("connection refused", "no such host", "dial tcp", "i/o timeout",
                  "timeout", "network is unreachable", "connection reset", "eof",
                  "server gave http response to https client", "tls")


def parse_ref(ref: str) -> Tuple[str, Optional[str]]:
    """``host:5000/team/repo:tag`` → (``host:5000/team/repo``, ``tag``); tag None when
    absent. :class:`InputError` for anything that is not a push target."""
    m = _REF_RE.match(ref.strip())
    if not m:
        raise InputError(f"not a registry reference: {ref!r} (expected REGISTRY/REPO[:TAG], "
                         "e.g. registry.example.com:5000/team/analysis:v1; repository names "
                         "are lower-case)")
    repo = f"{m.group('host')}/{m.group('path')}" if m.group("host") else m.group("path")
    # "host:5000" without a path is taken by the regex as repo "host" tag "5000" only
    # when no "/" follows; that is Docker's reading too.
    return repo, m.group("tag")


def repository_of(ref: str) -> str:
    """The repository part of ``ref`` (tag and digest dropped)."""
    name = ref.split("@", 1)[0]
    head, sep, tail = name.rpartition(":")
    return head if sep and "/" not in tail else name


def target_ref(image: str, ref: str) -> str:
    """``ref`` with a tag: its own, else ``image``'s tag, else ``latest``."""
    repo, tag = parse_ref(ref)
    if tag is None:
        name = image.split("@", 1)[0]
        head, sep, tail = name.rpartition(":")
        tag = tail if sep and "/" not in tail else "latest"
    return f"{repo}:{tag}"


def _explain(message: str, target: str) -> str:
    """The engine's (already redacted) message plus what to do about it."""
    repo, _ = parse_ref(target)
    host = repo.split("/", 1)[0] if "/" in repo and any(c in repo.split("/", 1)[0]
                                                        for c in ".:") else "docker.io"
    low = message.lower()
    if any(h in low for h in _AUTH_HINTS):
        return (f"{message} — the registry refused the credentials: log in with "
                f"`docker login {host}` (nbdocker uses the Docker config, "
                "~/.docker/config.json)")
    if any(h in low for h in _NETWORK_HINTS):
        return (f"{message} — is the registry {host} running and reachable from the "
                "Docker engine? (plain-http registries other than 127.0.0.1 must be "
                "listed in the engine's insecure-registries)")
    return message


def push_image(engine: ContainerEngine, image: str, ref: str, *,
               on_event: Optional[EventHandler] = None) -> Tuple[str, str]:
    """Tag ``image`` as ``ref`` (see :func:`target_ref`) and push it; returns
    ``(pushed ref, digest)``. ``RegistryError`` (auth failure, unreachable registry)
    with a hint; ``ImageNotFound`` when ``image`` is not on the engine."""
    target = target_ref(image, ref)
    if engine.image_id(image) is None:
        raise ImageNotFound(f"image not found: {image} (build it first, or name a local image)")
    emit(on_event, Event(Phase.PUSH, "progress", f"pushing {target}", step=0, total=1,
                         data={"ref": target}))
    engine.tag_image(image, target)
    try:
        digest = engine.push(target, on_event=on_event)
    except RegistryError as exc:
        raise RegistryError(redact_text(_explain(str(exc), target))) from None
    emit(on_event, Event(Phase.PUSH, "progress", f"pushed {target}", step=1, total=1,
                         data={"ref": target, "digest": digest}))
    return target, digest


def load_image_tar(engine: ContainerEngine, path: PathLike, *,
                   on_event: Optional[EventHandler] = None) -> str:
    """``docker load`` the tarball at ``path`` and return the image to run: the first
    one carrying nbdocker's notebook label, else the first one it held."""
    tar = Path(path)
    if not tar.is_file():
        raise InputError(f"image tarball not found: {tar}")
    emit(on_event, Event(Phase.RUN, "progress", f"loading {tar.name}", step=0, total=None))
    names: List[str] = engine.load_image(str(tar))
    if not names:
        raise InputError(f"{tar} holds no image (was it written by `docker save`?)")
    chosen = next((n for n in names if contract.LABEL_NOTEBOOK in engine.image_labels(n)), names[0])
    emit(on_event, Event(Phase.RUN, "log", f"loaded {', '.join(names)}"))
    return chosen
