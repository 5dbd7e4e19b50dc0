"""Shared fixtures: the real engine and the base image for tests/integration.

Under ``./scripts/test`` (which sets ``NBDOCKER_REQUIRE_ENGINE=1``) and under CI (``CI``
set and not "0"/"false") a missing engine or base image FAILS the engine tests; a bare
``pytest`` elsewhere skips them with the reason, so `pytest tests/unit` works on a laptop
without Docker.
"""
from __future__ import annotations

import os
from pathlib import Path
import pytest

from _env import must_not_skip

# pytester drives the pytest plugin in tests/integration/test_ecosystem.py.
pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


def _unavailable(reason: str) -> None:
    if must_not_skip():
        pytest.fail(f"CI needs a Docker engine and a base image: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine() -> "object":
    """A :class:`nbdocker.engine.docker.DockerEngine` (fails under CI when absent)."""
    from nbdocker.engine.docker import DockerEngine
    from nbdocker.exceptions import EngineUnavailable

    try:
        return DockerEngine.from_env()
    except EngineUnavailable as exc:
        _unavailable(str(exc))
        raise  # unreachable: skip/fail raised


@pytest.fixture(scope="session")
def base_image(engine: "object") -> str:
    """``$NBDOCKER_BASE_IMAGE``, else the image scripts/setup.sh recorded in
    ``.nbdocker-base``, else (the marker is empty: the engine's mirror serves it)
    nbdocker's default base for this Python, ``python:<X.Y.Z>-slim``. Pulled when
    missing, as a build would."""
    import platform

    from nbdocker.exceptions import EngineError
    from nbdocker.spec import EnvironmentSpec, PythonInfo
    from nbdocker.stages.image.base import resolve_base_image

    name = os.environ.get("NBDOCKER_BASE_IMAGE", "").strip()
    marker = ROOT / ".nbdocker-base"
    if not name and not marker.is_file():
        _unavailable("no base image: set NBDOCKER_BASE_IMAGE or run scripts/setup.sh")
    if not name:
        name = marker.read_text(encoding="utf-8").strip() or resolve_base_image(
            EnvironmentSpec(notebook="x.ipynb", python=PythonInfo(platform.python_version())))
    if engine.image_id(name) is None:  # type: ignore[attr-defined]
        try:
            engine.pull(name)  # type: ignore[attr-defined]
        except EngineError as exc:
            _unavailable(f"base image {name} is not on the engine ({exc}); run "
                         "scripts/setup.sh")
    return name
