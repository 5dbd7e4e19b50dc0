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
from ...engine.refs import repository_of, split_reference, with_tag
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import ImageNotFound, InputError, RegistryError
from ...secrets import redact_text

__all__ = ["target_ref", "push_image", "load_image_tar"]

PathLike = Union[str, "os.PathLike[str]"]

_AUTH_HINTS = ("unauthorized", "authentication required", "denied", "forbidden",
               "no basic auth credentials", "401", "403")
_NETWORK_HINTS = ("connection refused", "no such host", "dial tcp", "i/o timeout",
                  "timeout", "network is unreachable", "connection reset", "eof",
                  "server gave http response to https client", "tls")


def target_ref(image: str, ref: str) -> str:
    """``ref`` with a tag: its own, else ``image``'s tag, else ``latest``."""
    own = split_reference(image.split("@", 1)[0])[1]
    return with_tag(ref, own or "latest")


def _explain(message: str, target: str) -> str:
    """The engine's (already redacted) message plus what to do about it."""
    repo = repository_of(target)
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
