"""nbdocker: make a Jupyter notebook reproducible with one line.

Public API (everything else is private and may change)::

    spec   = nbdocker.capture("analysis.ipynb")         # EnvironmentSpec
    text   = nbdocker.dockerfile(spec)                   # deterministic Dockerfile
    built  = nbdocker.build("analysis.ipynb")            # BuildOutcome (tag, image id)
    result = nbdocker.run("analysis.ipynb", parameters={"alpha": 0.2})
    table  = nbdocker.sweep("analysis.ipynb", grid={"alpha": [0.1, 0.2]}, seeds=3)
    check  = nbdocker.verify("analysis.ipynb")           # .report.reproduced
    report = nbdocker.compare("a.ipynb", "a.rerun.ipynb")  # two executed notebooks
    path   = nbdocker.export("analysis.ipynb", "share/") # rebuildable bundle

In IPython/Jupyter: ``%load_ext nbdocker`` then ``%dockerize``.
Importing this package is cheap: docker-py, nbclient and IPython load only when used.
"""
from typing import TYPE_CHECKING as _TYPE_CHECKING, Any as _Any, List as _List

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
    MissingExtra,
    NbDockerError,
    NotebookError,
    RegistryError,
    RunError,
    RunInterrupted,
    RunTimeout,
)
from .options import Options
from .pipeline import (BuildOutcome, Plan, PushOutcome, VerifyOutcome, build, capture, dockerfile,
                       compare, ensure_image, export, load_image, plan, push, run,
                       save_image, sweep,
                       verify)
from .spec import EnvironmentSpec, FileEntry, PlatformInfo, PythonInfo, Requirement, Unresolved

if _TYPE_CHECKING:
    from .engine.fake import FakeEngine
    from .stages.capture.live import LiveKernel
    from .stages.run.execute import FailedCell, RunOutcome
    from .stages.run.sweep import SweepOutcome
    from .stages.run.sweep_task import SweepRun
    from .stages.verify.report import CellResult, ReproductionReport

# Public names whose modules are not needed to import nbdocker (nbformat, the compare
# masks, subprocess machinery): loaded on first use (PEP 562), so `import nbdocker` and
# `%load_ext nbdocker` stay cheap.
_LAZY = {
    "FakeEngine": "nbdocker.engine.fake",
    "LiveKernel": "nbdocker.stages.capture.live",
    "RunOutcome": "nbdocker.stages.run.execute",
    "FailedCell": "nbdocker.stages.run.execute",
    "SweepOutcome": "nbdocker.stages.run.sweep",
    "SweepRun": "nbdocker.stages.run.sweep_task",
    "ReproductionReport": "nbdocker.stages.verify.report",
    "CellResult": "nbdocker.stages.verify.report",
}


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nbdocker' has no attribute {name!r}")


def __dir__() -> _List[str]:
    return sorted(set(globals()) | set(_LAZY))

from ._version import __version__


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
    "Options", "capture", "plan", "dockerfile", "build", "ensure_image", "run", "verify",
    "compare", "sweep", "export", "push", "save_image", "load_image",
    "Plan", "BuildOutcome", "VerifyOutcome", "PushOutcome", "RunOutcome", "FailedCell",
    "SweepOutcome", "SweepRun",
    "ReproductionReport", "CellResult", "LiveKernel",
    # data
    "EnvironmentSpec", "PythonInfo", "PlatformInfo", "Requirement", "Unresolved", "FileEntry",
    # events
    "Event", "EventHandler", "Phase",
    # engine seam, and its test double
    "ContainerEngine", "ContainerLimits", "ContainerResult", "BuildResult", "BuildStep",
    "FakeEngine",
    # exceptions
    "NbDockerError", "InputError", "NotebookError", "BundleError", "MissingExtra", "CaptureError",
    "EngineError", "EngineUnavailable", "BuildError", "ImageNotFound", "RegistryError",
    "RunError", "CellExecutionError", "RunTimeout", "KernelDied", "RunInterrupted",
]
