"""Image references (``[host[:port]/]path[:tag][@digest]``): one grammar for every caller.

Splitting is docker-py's own :func:`docker.utils.parse_repository_tag` (what the SDK does
when it pulls, tags and pushes); checking follows Docker's reference grammar, so a typo
in ``--tag`` or ``--push`` is a usage error (exit 2) before any build starts, never the
engine's message after it.
"""
from __future__ import annotations

import re
from typing import Optional, Tuple

from ..exceptions import InputError

__all__ = ["check_reference", "split_reference", "repository_of", "with_tag", "registry_of",
           "registry_failure"]

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    r"^(?:(?P<host>(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)/)?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}))?$")
_MAX_NAME = 255


def check_reference(ref: str, option: str = "image reference", *,
                    digest: bool = False) -> str:
    """``ref`` when it is a valid image reference (a digest only when ``digest``);
    :class:`InputError` naming ``option`` otherwise."""
    m = _REFERENCE.match(ref)
    if not m or len(m.group("path")) > _MAX_NAME or (m.group("digest") and not digest):
        from ..secrets import redact_text   # never echo user:password@ typed into a ref

        raise InputError(
            f"{option}: not a valid image reference: {redact_text(ref)!r} (expected "
            "[REGISTRY/]REPO[:TAG],"
            " e.g. registry.example.com:5000/team/analysis:v1; repository names are "
            "lower-case)")
    return ref


def split_reference(ref: str) -> Tuple[str, Optional[str]]:
    """``(repository, tag or digest)``: ``host:5000/team/repo:v1`` → ``("host:5000/team/repo",
    "v1")``; ``repo@sha256:…`` → ``("repo", "sha256:…")``; no tag → ``(ref, None)``."""
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(ref)
    return str(repository), (str(tag) if tag else None)


def repository_of(ref: str) -> str:
    """The repository part of ``ref`` (its tag and digest dropped)."""
    return split_reference(ref.split("@", 1)[0])[0]


def with_tag(ref: str, default_tag: str) -> str:
    """``ref`` with a tag: its own, else ``default_tag``."""
    repository, tag = split_reference(check_reference(ref))
    return f"{repository}:{tag or default_tag}"


def registry_of(ref: str) -> str:
    """The registry host of ``ref`` (``docker.io`` when it names none), as the docker CLI
    reads it: a first component with a ``.`` or ``:``, or ``localhost``, is a host."""
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


# What registries and the engine say, by cause. Network first: those messages are
# unambiguous; Docker Hub's "pull access denied … does not exist or may require
# 'docker login'" usually means the name is wrong, so not-found comes before denied.
# Status codes need word boundaries: a port such as 57401 is not "401".
_UNREACHABLE = re.compile(
    r"connection refused|no such host|dial tcp|i/o timeout|timed? ?out|network is "
    r"unreachable|connection reset|\beof\b|server gave http response to https client|"
    r"\btls\b|x509|no route to host", re.I)
_NOT_FOUND = re.compile(r"manifest unknown|not found|does not exist|name unknown|\b404\b", re.I)
_DENIED = re.compile(r"unauthorized|authentication required|denied|forbidden|"
                     r"no basic auth credentials|\b40[13]\b", re.I)


def registry_failure(message: str) -> str:
    """Why a registry operation failed, from the engine's message: ``"unreachable"``,
    ``"not_found"``, ``"denied"`` or ``"error"`` (see ``RegistryError.reason``)."""
    for reason, pattern in (("unreachable", _UNREACHABLE), ("not_found", _NOT_FOUND),
                            ("denied", _DENIED)):
        if pattern.search(message):
            return reason
    return "error"
