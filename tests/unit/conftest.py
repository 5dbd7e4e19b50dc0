"""Unit tests see no machine-specific base image: ./scripts/test exports
NBDOCKER_BASE_IMAGE for the engine tests, and a unit test's outcome must not depend on it.
Nor do they reach a real engine: ``DOCKER_HOST`` names a socket that does not exist (a
test that wants an engine passes a FakeEngine)."""
import os

import pytest


@pytest.fixture(autouse=True)
def _no_machine_base_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBDOCKER_BASE_IMAGE", raising=False)
    monkeypatch.delenv("NBDOCKER_BASE_REPOSITORY", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/nbdocker-unit-tests.sock")


@pytest.fixture(autouse=True)
def _no_host_build_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nor does a unit test see this host's CA bundle or pip indexes (which would turn
    every build into the install-container shape): the tests of that shape pass their
    BuildOptions, or env and config files, themselves."""
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "PIP_INDEX_URL",
                 "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "NBDOCKER_INSTALLER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)   # pip's own rule: no config files
