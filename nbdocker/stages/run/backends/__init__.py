"""Sweep backends: where a sweep's runs go (see :mod:`.base` for the seam)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ....exceptions import InputError

if TYPE_CHECKING:
    from ....engine.base import ContainerEngine
    from .base import SweepBackend

__all__ = ["BACKENDS", "SweepBackend", "TaskSink", "get_backend"]

BACKENDS = ("local", "swarm", "kubernetes")   # sweep --backend (nbdocker.options)


def __getattr__(name: str) -> Any:
    # The seam's classes load with the sweep machinery (nbformat & co.), not with the
    # option table that only needs BACKENDS.
    if name in ("SweepBackend", "TaskSink"):
        from . import base

        return getattr(base, name)
    raise AttributeError(name)


def get_backend(name: str, engine: Optional["ContainerEngine"], *,
                registry: Optional[str] = None) -> "SweepBackend":
    """The backend called ``name``; cluster backends push to ``registry``. ``engine`` may
    be None only for a Kubernetes backend given an image it need not push."""
    if name == "local":
        from .local import LocalBackend

        assert engine is not None
        return LocalBackend(engine)
    if name == "swarm":
        from .swarm import SwarmBackend

        assert engine is not None
        return SwarmBackend(engine, registry)
    if name == "kubernetes":
        from .kubernetes import KubernetesBackend

        return KubernetesBackend(engine, registry)
    raise InputError(f"--backend must be one of {', '.join(BACKENDS)}, not {name!r}")
