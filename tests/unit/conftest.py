"""Unit tests see no machine-specific base image: ./scripts/test exports
NBDOCKER_BASE_IMAGE for the engine tests, and a unit test's outcome must not depend on it.
Nor do they reach a real engine: ``DOCKER_HOST`` names a socket that does not exist (a
test that wants an engine passes a FakeEngine)."""
import pytest


@pytest.fixture(autouse=True)
def _no_machine_base_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    monkeypatch.delenv("NBDOCKER_BASE_REPOSITORY", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/nbdocker-unit-tests.sock")
