"""Which base image to build on, and whether its Python matches the spec.

Policy: an explicit ``--base-image`` wins, then ``NBDOCKER_BASE_IMAGE``, then the
official ``python:<major.minor>-slim`` of the captured interpreter. The base's Python is
probed once per image id (a throwaway container running ``python3 -c ...``) and cached
on disk, so later builds pay nothing; a major.minor mismatch is a warning event, not an
error (air-gapped users may have only one base).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Optional

from ...engine.base import ContainerEngine, ContainerLimits
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import EngineError, ImageNotFound
from ...spec import EnvironmentSpec

__all__ = ["resolve_base_image", "check_base_python", "probe_base_python", "cache_path"]

_PROBE = ["python3", "-c", "import platform; print(platform.python_version())"]


def resolve_base_image(spec: EnvironmentSpec, override: Optional[str] = None) -> str:
    """``override`` > ``$NBDOCKER_BASE_IMAGE`` > ``python:<major.minor>-slim``."""
    if override:
        return override
    env = os.environ.get("NBDOCKER_BASE_IMAGE", "").strip()
    if env:
        return env
    return f"python:{spec.python.major_minor}-slim"


def cache_path() -> Path:
    """The on-disk probe cache (``$XDG_CACHE_HOME/nbdocker/base-python.json``)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "nbdocker" / "base-python.json"


def _load_cache(path: Path) -> Dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _store_cache(path: Path, cache: Dict[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)   # atomic: concurrent builds never read half a file
    except OSError:
        pass  # a cache we cannot write only costs another probe


def probe_base_python(engine: ContainerEngine, image: str,
                      cache: Optional[Path] = None) -> str:
    """The Python version (``3.11.2``) of ``image``'s ``python3``, cached by image id.
    ``ImageNotFound`` when the image is absent; ``EngineError`` when it has no python3."""
    image_id = engine.image_id(image)
    if image_id is None:
        raise ImageNotFound(
            f"base image {image} is not on the engine (and nbdocker does not pull it): "
            "pull or build it, or choose another with --base-image / NBDOCKER_BASE_IMAGE")
    path = cache or cache_path()
    known = _load_cache(path)
    if image_id in known:
        return known[image_id]
    result = engine.run(image, _PROBE, workdir="/", limits=ContainerLimits(network="none",
                                                                          timeout=60, user="0"))
    version = (result.logs[-1].strip() if result.logs else "")
    if result.exit_code != 0 or not version[:1].isdigit():
        raise EngineError(f"base image {image} has no working python3 on PATH "
                          f"(exit {result.exit_code}): {version or 'no output'}")
    known[image_id] = version
    _store_cache(path, known)
    return version


def check_base_python(engine: ContainerEngine, image: str, spec: EnvironmentSpec,
                      on_event: Optional[EventHandler] = None,
                      cache: Optional[Path] = None) -> str:
    """Probe ``image`` and warn (a BUILD ``"warning"`` event) when its Python's
    major.minor differs from the spec's; return the version found."""
    found = probe_base_python(engine, image, cache)
    wanted = spec.python.major_minor
    if ".".join(found.split(".")[:2]) != wanted:
        emit(on_event, Event(
            Phase.BUILD, "warning",
            f"base image {image} has Python {found} but the notebook ran on "
            f"{spec.python.version}; pinned packages may not install or may behave "
            f"differently (choose a base with --base-image or NBDOCKER_BASE_IMAGE)",
            data={"base_python": found, "spec_python": spec.python.version}))
    return found
