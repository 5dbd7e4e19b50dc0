"""pytest plugin: ``pytest --nbdocker notebooks/`` verifies each notebook in its image.

Registered through the ``pytest11`` entry point and inert unless ``--nbdocker`` is
given. Each ``.ipynb`` (and each bundle folder, by its ``nbdocker-spec.json``) becomes
one test file: a ``notebook`` item that builds, runs and compares (failing — never
skipping — with the one-line error when the image cannot be built or the run dies),
then one item per code cell named the way nbval names them (``nb.ipynb::Cell 3``, the
cell's position in the notebook), passing when the cell is same or close, skipped when
it was not compared (with the reason; volatile cells are "not provable"), failing with
the cell's diff otherwise.

Every option of ``nbdocker verify`` is a pytest option ``--nbdocker-<flag>`` and an ini
setting ``nbdocker_<name>``, generated from the same table as the CLI
(:mod:`nbdocker.options`). Images are reused across sessions and notebooks through the
pipeline's build-hash check. Under pytest-xdist a notebook's items stay on one worker
(its ``load`` mode is replaced by ``loadfile`` for nbdocker sessions). Report files
(``--nbdocker-html report.html``) get each notebook's name (``report-analysis.html``).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

import pytest

from ..options import Flag, Options, flags_of

__all__ = ["NotebookFile", "NotebookItem", "CellItem"]

_OPTIONS_KEY = pytest.StashKey[Options]()
_PREFIX = "--nbdocker-"


def _long(flag: Flag) -> str:
    return next((f for f in flag.flags if f.startswith("--")), flag.flags[0]).lstrip("-")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nbdocker", "verify notebooks in their nbdocker image")
    group.addoption("--nbdocker", action="store_true", default=False,
                    help="collect .ipynb files (and nbdocker bundles) and verify each in "
                         "its image: one test per compared cell")
    for name, flag in flags_of("verify"):
        kwargs: Dict[str, Any] = {"dest": f"nbdocker_{name}", "action": flag.action,
                                  "help": flag.help}
        if flag.action == "store_true":
            kwargs["default"] = None
        else:
            kwargs["metavar"] = flag.metavar
            if flag.metavar and " " in flag.metavar:
                kwargs.update(nargs=len(flag.metavar.split()),
                              metavar=tuple(flag.metavar.split()))
            if flag.choices:
                kwargs["choices"] = flag.choices
        group.addoption(_PREFIX + _long(flag), **kwargs)
        help_text = f"{flag.help} (ini form of {_PREFIX}{_long(flag)})"
        if flag.action == "append":
            parser.addini(f"nbdocker_{name}", help=help_text, type="linelist")
        elif flag.action == "store_true":
            parser.addini(f"nbdocker_{name}", help=help_text, type="bool")
        else:
            parser.addini(f"nbdocker_{name}", help=help_text, type="string")


def _options(config: pytest.Config) -> Options:
    """The command line's values, else the ini file's, through the one parser."""
    from ..exceptions import NbDockerError
    from ..options import from_namespace

    values = argparse.Namespace()
    for name, flag in flags_of("verify"):
        value = config.getoption(f"nbdocker_{name}")
        if value in (None, []):
            value = config.getini(f"nbdocker_{name}")
            if flag.action == "append" and flag.metavar and " " in flag.metavar:
                value = [line.split(None, len(flag.metavar.split()) - 1) for line in value]
            if value in ("", [], False):
                continue
        setattr(values, name, value)
    try:
        return from_namespace(values)
    except NbDockerError as exc:
        raise pytest.UsageError(f"nbdocker: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("nbdocker"):
        config.stash[_OPTIONS_KEY] = _options(config)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Keep a notebook's items on one worker: it is built, run and compared once."""
    if not config.getoption("nbdocker") or config.getoption("dist", "load") != "load":
        return None
    from xdist.scheduler import LoadFileScheduling

    return LoadFileScheduling(config, log)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.Collector]:
    if not parent.config.getoption("nbdocker"):
        return None
    from ..stages.run.execute import OUTPUT_SUFFIX
    from ..stages.share.bundle import SPEC_NAME, is_bundle

    if file_path.name == SPEC_NAME and is_bundle(file_path.parent):
        return NotebookFile.from_parent(parent, path=file_path)
    if file_path.suffix != ".ipynb" or file_path.name.endswith(OUTPUT_SUFFIX) \
            or ".ipynb_checkpoints" in file_path.parts:
        return None
    if any(is_bundle(p) for p in file_path.parents[:3]):
        return None  # a bundle's own notebook: collected through its spec
    return NotebookFile.from_parent(parent, path=file_path)


class NotebookFile(pytest.File):
    """One notebook (or bundle): the ``notebook`` item, then one item per code cell."""

    outcome: Any = None
    error: Optional[BaseException] = None

    @property
    def target(self) -> Path:
        """What the pipeline verifies: the notebook, or the bundle folder."""
        return self.path.parent if self.path.suffix == ".json" else self.path

    def collect(self) -> Iterator[Union["NotebookItem", "CellItem"]]:
        from ..notebook_io import read_notebook
        from ..stages.share.bundle import resolve_notebook

        notebook, _ = resolve_notebook(self.target)
        yield NotebookItem.from_parent(self, name="notebook")
        for index, cell in enumerate(read_notebook(notebook, validate=False).cells):
            if cell.get("cell_type") == "code":
                yield CellItem.from_parent(self, name=f"Cell {index}", index=index)

    def verify(self) -> Any:
        """The VerifyOutcome, made once for all the file's items."""
        if self.outcome is None and self.error is None:
            from .. import pipeline

            options = self.config.stash[_OPTIONS_KEY]
            # one session, many notebooks: each report file gets the notebook's name
            stem = self.target.stem if self.target.suffix else self.target.name
            per_notebook = {name: str(Path(value).with_name(
                f"{Path(value).stem}-{stem}{Path(value).suffix}"))
                for name in ("html", "junit_xml") if (value := getattr(options, name, None))}
            try:
                self.outcome = pipeline.verify(self.target, options.replace(**per_notebook))
            except Exception as exc:  # every item reports it
                self.error = exc
        if self.error is not None:
            raise NotebookFailed(self.error)
        return self.outcome


class NotebookFailed(Exception):
    """The notebook could not be built or run: carries the one-line error."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class CellDiffers(Exception):
    """A compared cell did not reproduce: carries its report entry."""


class NotebookItem(pytest.Item):
    """Build, run and compare; fails with the one-line error when that does not work."""

    def runtest(self) -> None:
        assert isinstance(self.parent, NotebookFile)
        self.parent.verify()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        from ..exceptions import NbDockerError
        from .console import format_error

        if isinstance(excinfo.value, NotebookFailed):
            error = excinfo.value.error
            if isinstance(error, NbDockerError):
                return format_error(error)
            return f"nbdocker: internal error: {type(error).__name__}: {error}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> Any:
        return self.path, None, self.name


class CellItem(pytest.Item):
    """One code cell of the report."""

    def __init__(self, *, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    def runtest(self) -> None:
        assert isinstance(self.parent, NotebookFile)
        outcome = self.parent.verify()
        cell = next((c for c in outcome.report.cells if c.index == self.index), None)
        if cell is None:
            pytest.skip("not compared")
        status = str(getattr(cell.status, "value", cell.status))
        if status in ("differs", "error"):
            raise CellDiffers(cell)
        if status not in ("same", "close"):
            pytest.skip(f"{status}: {cell.note}" if cell.note else status)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, CellDiffers):
            cell = excinfo.value.args[0]
            status = str(getattr(cell.status, "value", cell.status))
            head = f"Cell {cell.index}"
            if cell.execution_count is not None:
                head += f" (In [{cell.execution_count}])"
            lines: List[str] = [f"{head} {status}" + (f": {cell.note}" if cell.note else "")]
            if cell.source_head:
                lines += ["", *(f"    {line}" for line in cell.source_head.splitlines())]
            if cell.diff:
                lines += ["", cell.diff]
            return "\n".join(lines)
        if isinstance(excinfo.value, NotebookFailed):
            return (f"not compared: the notebook did not run through "
                    f"(see {self.path.name}::notebook): {str(excinfo.value).splitlines()[0]}")
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> Any:
        return self.path, None, self.name
