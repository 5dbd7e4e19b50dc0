"""Sharing images: push to a registry, load a ``docker save`` tarball.

Credentials are never handled here: the engine (docker-py) reads them from the Docker
config (``~/.docker/config.json``, credential helpers included) exactly as ``docker
push`` does. Every message that leaves this module goes through
:func:`nbdocker.secrets.redact_text`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple, Union

from ... import contract
from ...engine.base import ContainerEngine
from ...engine.refs import registry_failure, registry_of, split_reference, with_tag
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import ImageNotFound, InputError, RegistryError
from ...secrets import redact_text

__all__ = ["target_ref", "push_image", "load_image_tar"]

PathLike = Union[str, "os.PathLike[str]"]


def target_ref(image: str, ref: str) -> str:
    """``ref`` with a tag: its own, else ``image``'s tag, else ``latest``."""
    own = split_reference(image.split("@", 1)[0])[1]
    return with_tag(ref, own or "latest")


def _explain(message: str, target: str) -> str:
    """The engine's (already redacted) message plus what to do about it."""
    host = registry_of(target)
    reason = registry_failure(message)
    if reason == "denied":
        return (f"{message} — the registry refused the credentials: log in with "
                f"`docker login {host}` (nbdocker uses the Docker config, "
                "~/.docker/config.json)")
    if reason == "unreachable":
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


def _manifest(tar: Path) -> List[Tuple[str, List[str]]]:
    """``[(image id, [tags])]`` that ``docker load`` of ``tar`` would create, read from
    its ``manifest.json`` (docker save and OCI layouts alike); bounded reads only."""
    import json
    import tarfile

    from ..._json import loads

    try:
        with tarfile.open(tar) as archive:
            member = archive.getmember("manifest.json")
            handle = archive.extractfile(member)
            if handle is None or member.size > 16 * 1024 * 1024:
                raise InputError(f"{tar}: manifest.json is not a readable file")
            doc = loads(handle.read().decode("utf-8"), f"{tar}: manifest.json")
    except KeyError:
        raise InputError(f"{tar} holds no manifest.json (was it written by `docker save`?)") \
            from None
    except (OSError, tarfile.TarError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{tar} is not a readable image tarball: {exc}") from None
    images: List[Tuple[str, List[str]]] = []
    for entry in doc if isinstance(doc, list) else []:
        config = str(entry.get("Config", "")) if isinstance(entry, dict) else ""
        digest = config.rsplit("/", 1)[-1].removesuffix(".json")
        tags = entry.get("RepoTags") or [] if isinstance(entry, dict) else []
        images.append((f"sha256:{digest}", [str(t) for t in tags]))
    return images


def load_image_tar(engine: ContainerEngine, path: PathLike, *,
                   on_event: Optional[EventHandler] = None) -> str:
    """``docker load`` the tarball at ``path`` and return the image to run: the first
    one carrying nbdocker's notebook label, else the first one it held.

    Never re-points a tag silently: a tarball naming a tag that exists here for another
    image is refused (:class:`InputError`, exit 2) before anything is loaded — a tarball
    could otherwise take over a base image's name. When the load fails, what it added is
    removed again."""
    tar = Path(path)
    if not tar.is_file():
        raise InputError(f"image tarball not found: {tar}")
    manifest = _manifest(tar)
    for image_id, tags in manifest:
        for tag in tags:
            current = engine.image_id(tag)
            if current is not None and current != image_id:
                raise InputError(
                    f"{tar.name} would re-point {tag} (here: {current[:19]}) to another image "
                    f"({image_id[:19]}); remove or rename the existing one first "
                    f"(docker tag {tag} OTHER, then docker rmi {tag})")
    # What a failed load must take out again: only names that are not here yet.
    added = [ref for image_id, tags in manifest
             for ref in [*tags, image_id] if engine.image_id(ref) is None]
    emit(on_event, Event(Phase.RUN, "progress", f"loading {tar.name}", step=0, total=None))
    try:
        names: List[str] = engine.load_image(str(tar))
        if not names:
            raise InputError(f"{tar} holds no image (was it written by `docker save`?)")
    except BaseException:
        for ref in added:   # whatever of it got in: out again
            try:
                engine.remove_image(ref)
            except Exception:  # noqa: BLE001 - clean-up must not hide the cause
                pass
        raise
    chosen = next((n for n in names if contract.LABEL_NOTEBOOK in engine.image_labels(n)), names[0])
    emit(on_event, Event(Phase.RUN, "log", f"loaded {', '.join(names)}"))
    return chosen
