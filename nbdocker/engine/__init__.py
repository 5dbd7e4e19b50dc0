"""Container engines behind one seam; see :mod:`nbdocker.engine.base`."""
from .base import BuildResult, BuildStep, ContainerEngine, ContainerLimits, ContainerResult

__all__ = ["ContainerEngine", "BuildStep", "BuildResult", "ContainerLimits", "ContainerResult",
           "get_engine"]


def get_engine() -> ContainerEngine:
    """The default engine: Docker through docker-py, configured from the environment
    (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``)."""
    from .docker import DockerEngine  # imported lazily: docker-py is not needed to capture

    return DockerEngine.from_env()
