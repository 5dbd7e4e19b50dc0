"""ipywidgets front end (``pip install 'nbdocker[widgets]'``): a live progress view for
``%dockerize`` and the interactive panel (``%dockerize --panel``).

Import :func:`load_panel` (cheap, no ipywidgets) to get the panel class, or a
:class:`~nbdocker.exceptions.MissingExtra` naming the pip line when ipywidgets is missing.
"""
from __future__ import annotations

from typing import Any

from ...exceptions import MissingExtra

__all__ = ["load_panel"]


def load_panel() -> Any:
    """:class:`~nbdocker.frontends.widgets.panel.DockerizePanel`, or ``MissingExtra``."""
    try:
        from .panel import DockerizePanel
    except ModuleNotFoundError as exc:
        if exc.name != "ipywidgets":
            raise
        raise MissingExtra.need("the panel", "widgets", "ipywidgets") from None
    return DockerizePanel
