"""Every error nbdocker raises on purpose, and the exit code the CLI gives it.

::

    NbDockerError                      root; ``exit_code`` is what the CLI returns
    ├── InputError              (2)    bad input or usage
    │   ├── NotebookError              missing, unreadable or malformed notebook
    │   ├── BundleError                not an nbdocker bundle / bundle incomplete
    │   └── MissingExtra               an optional extra is not installed (the pip line)
    ├── CaptureError            (2)    the target interpreter could not be queried
    ├── EngineError             (3)    the container engine failed us
    │   ├── EngineUnavailable          no engine answers (socket / DOCKER_HOST)
    │   ├── BuildError                 ``docker build`` failed (step, reason, log tail)
    │   ├── ImageNotFound              an image named by the user is not there
    │   └── RegistryError              push/pull refused (auth, unreachable)
    └── RunError                (1)    the notebook did not run through
        ├── CellExecutionError         a cell raised (index, error, source head)
        ├── RunTimeout                 the run (or one cell) took too long
        ├── KernelDied                 the kernel died (e.g. killed by the memory limit)
        └── RunInterrupted             Ctrl-C, SIGTERM, SIGHUP: the container was stopped
                                       and removed (exit 130, 143, 129)

Outputs that merely differ are not an error: ``ReproductionReport.reproduced`` is False
and the CLI exits 1.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

__all__ = [
    "NbDockerError",
    "InputError",
    "NotebookError",
    "BundleError",
    "MissingExtra",
    "CaptureError",
    "EngineError",
    "EngineUnavailable",
    "BuildError",
    "ImageNotFound",
    "RegistryError",
    "RunError",
    "CellExecutionError",
    "RunTimeout",
    "KernelDied",
    "RunInterrupted",
]


class NbDockerError(Exception):
    """Root of nbdocker's exceptions. ``str(err)`` is one line fit for a user."""

    exit_code: int = 1


class InputError(NbDockerError):
    """Bad input or usage (exit 2)."""

    exit_code = 2


class NotebookError(InputError):
    """The notebook is missing, unreadable, malformed or not a Python notebook."""


class BundleError(InputError):
    """A path given as a bundle is not a complete nbdocker bundle."""


class MissingExtra(InputError):
    """An optional part of nbdocker needs a package that is not installed; the message
    names the exact ``pip install 'nbdocker[extra]'`` line (papermill's habit)."""

    @classmethod
    def need(cls, what: str, extra: str, module: str) -> "MissingExtra":
        return cls(f"{what} needs {module}, which is not installed here: "
                   f"pip install 'nbdocker[{extra}]'")


class CaptureError(NbDockerError):
    """The target interpreter (``--python``) could not be queried (exit 2)."""

    exit_code = 2


class EngineError(NbDockerError):
    """The container engine failed (exit 3)."""

    exit_code = 3


class EngineUnavailable(EngineError):
    """No container engine answers at the configured socket or ``DOCKER_HOST``."""


class BuildError(EngineError):
    """An image build failed.

    ``step`` is the failing Dockerfile instruction, ``reason`` the short cause (for pip:
    the requirement and pip's reason) and ``log_tail`` the last lines of the build log.
    """

    def __init__(
        self,
        message: str,
        *,
        step: Optional[str] = None,
        reason: Optional[str] = None,
        log_tail: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.step = step
        self.reason = reason
        self.log_tail = list(log_tail)


class ImageNotFound(EngineError):
    """An image the user named does not exist on the engine."""


class RegistryError(EngineError):
    """A registry refused a push or pull (authentication, unreachable, unknown repo).

    ``reason`` says which, when the engine could tell: ``"not_found"`` (no such
    repository or tag), ``"denied"`` (credentials refused), ``"unreachable"`` (network,
    DNS, TLS) or ``"error"`` (anything else)."""

    def __init__(self, message: str, *, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


class RunError(NbDockerError):
    """The notebook did not run through inside the container (exit 1). ``outcome`` is the
    run's ``RunOutcome`` (with the partial executed notebook) when it got that far."""

    exit_code = 1
    outcome: Optional[Any] = None


class CellExecutionError(RunError):
    """A cell raised. Built with :meth:`from_cell` so the message shows the cell."""

    def __init__(self, message: str, *, cell_index: int, ename: str, evalue: str,
                 source_head: str = "") -> None:
        super().__init__(message)
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.source_head = source_head

    @classmethod
    def from_cell(cls, cell_index: int, source: str, ename: str, evalue: str,
                  head_lines: int = 3) -> "CellExecutionError":
        head = "\n".join(source.splitlines()[:head_lines])
        msg = f"cell {cell_index} raised {ename}: {evalue}"
        if head:
            msg += "\n" + "\n".join("    " + line for line in head.splitlines())
        return cls(msg, cell_index=cell_index, ename=ename, evalue=evalue, source_head=head)


class RunTimeout(RunError):
    """The run, or one cell, exceeded its timeout; the container was removed."""


class KernelDied(RunError):
    """The kernel died (often: killed by the container's memory limit)."""


class RunInterrupted(RunError):
    """The run was interrupted (Ctrl-C, SIGTERM, SIGHUP); the container was stopped and
    removed. ``exit_code`` is 128 + the signal (130, 143, 129)."""

    exit_code = 130

    def __init__(self, message: str, *, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code
