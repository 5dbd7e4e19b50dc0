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
    ``.nbdocker-base``; it must exist on the engine."""
    name = os.environ.get("NBDOCKER_BASE_IMAGE", "").strip()
    marker = ROOT / ".nbdocker-base"
    if not name and marker.is_file():
        name = marker.read_text(encoding="utf-8").strip()
    if not name:
        _unavailable("no base image: set NBDOCKER_BASE_IMAGE or run scripts/setup.sh")
    if engine.image_id(name) is None:  # type: ignore[attr-defined]
        _unavailable(f"base image {name} is not on the engine; run scripts/setup.sh")
    return name
