"""IPython magics: ``%dockerize`` and ``%nbdocker_env`` (loaded by ``%load_ext nbdocker``).

A few lines over :mod:`nbdocker.pipeline`: the options are parsed with the same table
the CLI is built from (:mod:`nbdocker.options`), a renderer is picked for progress (a
widget, or plain text with ``--no-widget``), the live kernel is handed to the capture,
and the pipeline's outcome comes back as a :class:`~nbdocker.frontends.views.DockerizeResult`.
An :class:`~nbdocker.exceptions.NbDockerError` is shown as one message, without a
traceback, and the magic returns None.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Collection, Dict, NoReturn, Optional, Set

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.utils.process import arg_split

from ..events import Event, EventHandler
from ..exceptions import InputError, NbDockerError
from ..options import add_arguments, from_namespace
from .console import format_error

__all__ = ["NbDockerMagics", "load_ipython_extension", "unload_ipython_extension",
           "dockerize_parser", "MAGIC_COMMANDS"]

_MAGICS = ("dockerize", "nbdocker_env")
# %dockerize takes every option of these CLI commands (the test derives it from the CLI);
# sweep's -p is spelled like run's: with --sweep, its values are comma lists.
MAGIC_COMMANDS = ("build", "run", "verify", "sweep")


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`InputError` (one line) instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: Optional[str] = None) -> NoReturn:
        raise InputError(message.strip() if message else f"{self.prog}: exit {status}")


def dockerize_parser() -> argparse.ArgumentParser:
    """The parser of ``%dockerize``: its actions, then every option of build, run,
    verify and sweep (from :mod:`nbdocker.options`)."""
    parser = _Parser(prog="%dockerize", add_help=False,
                     description="Make this notebook reproducible: capture, then build "
                                 "(default), --dry-run, --run or --verify.")
    actions = parser.add_argument_group("actions")
    actions.add_argument("--dry-run", action="store_true",
                         help="show the requirements table and the Dockerfile; build nothing")
    actions.add_argument("--run", action="store_true",
                         help="build (or reuse) the image, then run the notebook in it")
    actions.add_argument("--verify", action="store_true",
                         help="build, re-run the SAVED notebook file in the image and "
                              "compare outputs")
    actions.add_argument("--sweep", action="store_true",
                         help="build once, then run the SAVED notebook once per parameter "
                              "set (-p NAME V1,V2,..., --grid FILE, --seeds N) into --out")
    actions.add_argument("--panel", action="store_true", help="open the interactive panel")
    parser.add_argument("--notebook", metavar="PATH",
                        help="the notebook file (default: the running one)")
    parser.add_argument("--no-widget", action="store_true",
                        help="plain text progress and output (headless kernels)")
    add_arguments(parser, MAGIC_COMMANDS)
    return parser


_PARSER = dockerize_parser()


def parse_line(line: str, parser: argparse.ArgumentParser = _PARSER) -> argparse.Namespace:
    """The options in ``line``, with quotes around a value removed.

    IPython's own ``parse_argstring`` splits like Windows shells and keeps the quotes,
    so ``--notebook "My analysis.ipynb"`` would name a file with quotes in its name.
    Backslashes stay as typed (``C:\\work\\nb.ipynb``).
    """
    tokens = [t[1:-1] if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"" else t
              for t in arg_split(line, posix=False)]
    return parser.parse_args(tokens)


def show_error(exc: NbDockerError, stream: Any = None) -> None:
    """One clear message on ``stream`` (stderr), as the CLI shows it."""
    print(format_error(exc), file=stream or sys.stderr)


def _action(args: argparse.Namespace) -> str:
    chosen = [name for name, on in (("dry-run", args.dry_run), ("run", args.run),
                                    ("verify", args.verify), ("sweep", args.sweep)) if on]
    if len(chosen) > 1:
        raise InputError("choose one of --dry-run, --run, --verify and --sweep")
    return chosen[0] if chosen else "build"


@magics_class
class NbDockerMagics(Magics):
    """The magics; ``baseline`` = top-level modules loaded before the user's code, plus
    those nbdocker's own runs loaded since (see
    :func:`~nbdocker.stages.capture.live.own_imports`)."""

    def __init__(self, shell: Any = None, baseline: Collection[str] = ()) -> None:
        super().__init__(shell)
        self.baseline: Set[str] = set(baseline)

    def _user_ns(self) -> Dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    @line_magic
    def dockerize(self, line: str = "") -> Any:
        from ..stages.capture.live import own_imports

        with own_imports(self.baseline):
            try:
                return self._dockerize(parse_line(line))
            except NbDockerError as exc:
                show_error(exc)
                return None

    def _dockerize(self, args: argparse.Namespace) -> Any:
        from ..stages.capture.live import LiveKernel

        options = from_namespace(args)
        action = _action(args)
        if action == "sweep":
            from ..stages.run.sweep_grid import values_of_parameters

            options = options.replace(sweep_parameters=values_of_parameters(options.parameters))
        kernel = LiveKernel(self._user_ns(), frozenset(self.baseline))
        if args.panel:
            from .widgets import load_panel

            # Its jobs run later, in a thread: the panel adds what they load itself.
            return load_panel()(args.notebook, options=options, kernel=kernel,
                                own_modules=self.baseline)
        from .notebook_path import find_notebook
        from .views import DockerizeResult

        path = find_notebook(args.notebook, user_ns=kernel.user_ns)
        on_event, finish = (None, _noop) if action == "dry-run" else _renderer(args.no_widget,
                                                                               action)
        try:
            result = DockerizeResult.make(action, path, options, kernel=kernel,
                                          on_event=on_event, html=not args.no_widget)
        except BaseException:
            finish(False)
            raise
        finish(True)
        return result

    @line_magic
    def nbdocker_env(self, line: str = "") -> None:
        """watermark-style summary: Python, platform and the distributions in use, by
        distribution name (``scikit-learn 1.4.0  import sklearn``).

        Options: ``--notebook PATH`` also reads that notebook file; ``--all`` also lists
        the locked transitive requirements."""
        from ..stages.capture.live import own_imports

        with own_imports(self.baseline):
            try:
                self._nbdocker_env(parse_line(line, _ENV_PARSER))
            except NbDockerError as exc:
                show_error(exc)

    def _nbdocker_env(self, args: argparse.Namespace) -> None:
        from .. import pipeline
        from ..stages.capture.live import LiveKernel, capture_live
        from ..stages.capture.summary import environment_summary
        from .notebook_path import find_notebook

        kernel = LiveKernel(self._user_ns(), frozenset(self.baseline))
        try:
            path: Any = find_notebook(args.notebook, user_ns=kernel.user_ns)
        except NbDockerError:
            path = None  # no notebook file known: the live kernel alone still tells
        spec = (pipeline.capture(path, kernel=kernel) if path is not None
                else capture_live(None, kernel.user_ns, baseline=kernel.baseline))
        print(environment_summary(spec, transitive=args.all))


def _env_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%nbdocker_env", add_help=False)
    parser.add_argument("--notebook", metavar="PATH", help="also read this notebook file")
    parser.add_argument("--all", action="store_true", help="also list the locked transitive ones")
    return parser


_ENV_PARSER = _env_parser()
# `%dockerize?` shows every option, from the same table the CLI uses.
NbDockerMagics.dockerize.__doc__ = (
    "Make this notebook reproducible: capture, then dry-run / build / run / verify.\n\n"
    "``--verify`` re-runs the notebook file on disk: save the notebook first. Cells that "
    "load or call nbdocker are skipped in the container.\n\n" + _PARSER.format_help())


def _noop(ok: bool) -> None:
    return None


def _renderer(plain: bool, action: str
              ) -> "tuple[Optional[EventHandler], Callable[[bool], None]]":
    """(on_event, finish): a progress widget, or text lines on stdout (``--no-widget``
    or when ipywidgets is missing)."""
    if not plain:
        try:
            from IPython.display import display

            from .widgets.progress import PLANS, ProgressView
        except ImportError:  # ipywidgets is an optional extra
            pass
        else:
            view = ProgressView(PLANS[action])
            display(view.widget)
            return view, view.finish
    from .console import ConsoleRenderer

    console = ConsoleRenderer(sys.stdout)

    def on_event(event: Event) -> None:
        console(event)

    return on_event, lambda ok: console.close()


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbdocker``: register the magics. Modules loaded by now are the
    kernel's (and nbdocker's) own: remembered so live capture can tell them apart."""
    from ..stages.capture.live import top_level_modules

    ipython.register_magics(NbDockerMagics(ipython, baseline=top_level_modules(list(sys.modules))))


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext nbdocker``: remove the magics again."""
    for name in _MAGICS:
        ipython.magics_manager.magics["line"].pop(name, None)
