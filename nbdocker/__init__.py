"""nbdocker: make a Jupyter notebook reproducible with one line.

Public API (everything else is private and may change)::

    spec   = nbdocker.capture("analysis.ipynb")         # EnvironmentSpec
    text   = nbdocker.dockerfile(spec)                   # deterministic Dockerfile
    built  = nbdocker.build("analysis.ipynb")            # BuildOutcome (tag, image id)
    result = nbdocker.run("analysis.ipynb", parameters={"alpha": 0.2})
    check  = nbdocker.verify("analysis.ipynb")           # .report.reproduced
    path   = nbdocker.export("analysis.ipynb", "share/") # rebuildable bundle

In IPython/Jupyter: ``%load_ext nbdocker`` then ``%dockerize``.
Importing this package is cheap: docker-py, nbclient and IPython load only when used.
"""
from .engine.base import BuildResult, BuildStep, ContainerEngine, ContainerLimits, ContainerResult
from .events import Event, EventHandler, Phase
from .exceptions import (
    BuildError,
    BundleError,
    CaptureError,
    CellExecutionError,
    EngineError,
    EngineUnavailable,
    ImageNotFound,
    InputError,
    KernelDied,
    NbDockerError,
    NotebookError,
    RegistryError,
    RunError,
    RunInterrupted,
    RunTimeout,
)
from .pipeline import (BuildOutcome, PushOutcome, VerifyOutcome, build, capture, dockerfile,
                       ensure_image, export, load_image, push, run, save_image, verify)
from .spec import EnvironmentSpec, FileEntry, PlatformInfo, PythonInfo, Requirement, Unresolved

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext nbdocker``: register ``%dockerize`` and ``%nbdocker_env``.

    IPython is imported only now, so ``import nbdocker`` stays cheap."""
    from .frontends.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext nbdocker``: remove the magics."""
    from .frontends.magics import unload_ipython_extension as unload

    unload(ipython)


__all__ = [
    "__version__",
    # IPython extension (%load_ext nbdocker)
    "load_ipython_extension", "unload_ipython_extension",
    # pipeline
    "capture", "dockerfile", "build", "ensure_image", "run", "verify",
    "export", "push", "save_image", "load_image",
    "BuildOutcome", "VerifyOutcome", "PushOutcome",
    # data
    "EnvironmentSpec", "PythonInfo", "PlatformInfo", "Requirement", "Unresolved", "FileEntry",
    # events
    "Event", "EventHandler", "Phase",
    # engine seam
    "ContainerEngine", "ContainerLimits", "ContainerResult", "BuildResult", "BuildStep",
    # exceptions
    "NbDockerError", "InputError", "NotebookError", "BundleError", "CaptureError",
    "EngineError", "EngineUnavailable", "BuildError", "ImageNotFound", "RegistryError",
    "RunError", "CellExecutionError", "RunTimeout", "KernelDied", "RunInterrupted",
]
