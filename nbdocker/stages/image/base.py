"""Which base image to build on, and whether its Python matches the spec.

Policy: an explicit ``--base-image`` wins, then ``NBDOCKER_BASE_IMAGE``, then the
official ``python:<major.minor>-slim`` of the captured interpreter. The base's Python is
probed once per image id (a throwaway container running ``python3 -c ...``) and cached
on disk, so later builds pay nothing; a major.minor mismatch is a warning event, not an
error (air-gapped users may have only one base).
"""
from __future__ import annotations

import os
from typing import Dict, Optional

from ..._fs import read_cache, write_cache
from ...engine.base import ContainerEngine, ContainerLimits
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import EngineError, ImageNotFound
from ...spec import EnvironmentSpec

__all__ = ["resolve_base_image", "check_base_python", "probe_base_python"]

_PROBE = ["python3", "-c", "import platform; print(platform.python_version())"]


def resolve_base_image(spec: EnvironmentSpec, override: Optional[str] = None) -> str:
    """``override`` > ``$NBDOCKER_BASE_IMAGE`` > ``python:<major.minor>-slim``."""
    if override:
        return override
    env = os.environ.get("NBDOCKER_BASE_IMAGE", "").strip()
    if env:
        return env
    return f"python:{spec.python.major_minor}-slim"


_CACHE = "base-python.json"  # image id -> Python version, in nbdocker's cache directory


def probe_base_python(engine: ContainerEngine, image: str) -> str:
    """The Python version (``3.11.2``) of ``image``'s ``python3``, cached by image id.
    ``ImageNotFound`` when the image is absent; ``EngineError`` when it has no python3."""
    image_id = engine.image_id(image)
    if image_id is None:
        raise ImageNotFound(
            f"base image {image} is not on the engine (and nbdocker does not pull it): "
            "pull or build it, or choose another with --base-image / NBDOCKER_BASE_IMAGE")
    cached = read_cache(_CACHE)
    known: Dict[str, str] = cached if isinstance(cached, dict) else {}
    if image_id in known:
        return known[image_id]
    result = engine.run(image, _PROBE, workdir="/", limits=ContainerLimits(network="none",
                                                                          timeout=60, user="0"))
    version = (result.logs[-1].strip() if result.logs else "")
    if result.exit_code != 0 or not version[:1].isdigit():
        raise EngineError(f"base image {image} has no working python3 on PATH "
                          f"(exit {result.exit_code}): {version or 'no output'}")
    known[image_id] = version
    write_cache(_CACHE, known)
    return version


def check_base_python(engine: ContainerEngine, image: str, spec: EnvironmentSpec,
                      on_event: Optional[EventHandler] = None) -> str:
    """Probe ``image`` and warn (a BUILD ``"warning"`` event) when its Python's
    major.minor differs from the spec's; return the version found."""
    found = probe_base_python(engine, image)
    wanted = spec.python.major_minor
    if ".".join(found.split(".")[:2]) != wanted:
        emit(on_event, Event(
            Phase.BUILD, "warning",
            f"base image {image} has Python {found} but the notebook ran on "
            f"{spec.python.version}; pinned packages may not install or may behave "
            f"differently (choose a base with --base-image or NBDOCKER_BASE_IMAGE)",
            data={"base_python": found, "spec_python": spec.python.version}))
    return found
