"""Unit tests see no machine-specific base image: ./scripts/test exports
NBDOCKER_BASE_IMAGE for the engine tests, and a unit test's outcome must not depend on it."""
import pytest


@pytest.fixture(autouse=True)
def _no_machine_base_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
