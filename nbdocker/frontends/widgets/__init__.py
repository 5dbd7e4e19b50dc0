"""ipywidgets front end (``pip install 'nbdocker[widgets]'``): a live progress view for
``%dockerize`` and the interactive :class:`DockerizePanel` (``%dockerize --panel``)."""
from .panel import DockerizePanel
from .progress import ProgressView

__all__ = ["DockerizePanel", "ProgressView"]
