"""IPython magics: ``%dockerize`` and ``%nbdocker_env`` (loaded by ``%load_ext nbdocker``).

A few lines over :func:`nbdocker.frontends.views.dockerize`: parse the options (mirroring the
CLI), pick a renderer for progress (a widget, or plain text with ``--no-widget``),
call the function, return its result. An :class:`~nbdocker.exceptions.NbDockerError`
is shown as one message, without a traceback, and the magic returns None.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Callable, Collection, Iterator, MutableSet, Optional, Set

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split

from ..events import Event, EventHandler
from .console import format_error
from ..exceptions import NbDockerError

__all__ = ["NbDockerMagics", "load_ipython_extension", "unload_ipython_extension"]

_MAGICS = ("dockerize", "nbdocker_env")


def parse_line(magic: Callable[..., Any], line: str) -> Any:
    """The options of ``magic`` in ``line``, with quotes around a value removed.

    IPython's own ``parse_argstring`` splits like Windows shells and keeps the quotes,
    so ``--notebook "My analysis.ipynb"`` would name a file with quotes in its name.
    Backslashes stay as typed (``C:\\work\\nb.ipynb``).
    """
    tokens = [t[1:-1] if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"" else t
              for t in arg_split(line, posix=False)]
    return magic.parser.parse_args(tokens)  # type: ignore[attr-defined]


def show_error(exc: NbDockerError, stream: Any = None) -> None:
    """One clear message on ``stream`` (stderr), as the CLI shows it."""
    print(format_error(exc), file=stream or sys.stderr)


@contextmanager
def own_imports(into: MutableSet[str]) -> Iterator[None]:
    """Add to ``into`` the top-level modules first loaded while the block runs.

    nbdocker's own work loads modules lazily (nbformat's validator pulls in jsonschema
    and its optional format plugins, the engine client requests/urllib3/socks): left in
    ``sys.modules`` they would read as "loaded in this kernel" to the next capture.
    """
    from ..stages.capture.live import top_level_modules

    before = set(sys.modules)
    try:
        yield
    finally:
        into.update(top_level_modules([m for m in list(sys.modules) if m not in before]))


@magics_class
class NbDockerMagics(Magics):
    """The magics; ``baseline`` = top-level modules loaded before the user's code, plus
    those nbdocker's own runs loaded since (see :func:`own_imports`)."""

    def __init__(self, shell: Any = None, baseline: Collection[str] = ()) -> None:
        super().__init__(shell)
        self.baseline: Set[str] = set(baseline)

    def _user_ns(self) -> dict:
        return self.shell.user_ns if self.shell is not None else {}

    @magic_arguments()
    @argument("--dry-run", action="store_true",
              help="show the requirements table and the Dockerfile; build nothing")
    @argument("--run", action="store_true", help="build (or reuse) the image, then run the "
                                                 "notebook in it")
    @argument("--verify", action="store_true",
              help="build, re-run the SAVED notebook file in the image and compare outputs")
    @argument("--tag", "-t", metavar="T", help="image tag (default nbdocker/<notebook>:<hash>)")
    @argument("--base-image", metavar="IMG",
              help="base image (default $NBDOCKER_BASE_IMAGE, else python:X.Y-slim)")
    @argument("-p", "--parameter", nargs=2, action="append", default=[],
              metavar=("NAME", "VALUE"), help="papermill-style parameter for --run/--verify")
    @argument("--notebook", metavar="PATH", help="the notebook file (default: the running one)")
    @argument("--exclude", metavar="DIST", action="append", default=[],
              help="leave this distribution out of the image (repeatable)")
    @argument("--add", metavar="REQ", action="append", default=[],
              help="add a requirement, e.g. requests or requests==2.31 (repeatable)")
    @argument("--ignore-warnings", action="store_true",
              help="with --verify: leave Python warnings on stderr out of the comparison")
    @argument("--no-widget", action="store_true",
              help="plain text progress and output (headless kernels)")
    @argument("--panel", action="store_true", help="open the interactive panel instead")
    @line_magic
    def dockerize(self, line: str = "") -> Any:
        """Make this notebook reproducible: capture, then dry-run / build / run / verify.

        ``--verify`` re-runs the notebook file on disk: save the notebook first. Cells
        that load or call nbdocker are skipped in the container.
        """
        args = parse_line(self.dockerize, line)
        with own_imports(self.baseline):
            return self._dockerize(args, self._user_ns())

    def _dockerize(self, args: Any, user_ns: dict) -> Any:
        from .views import dockerize
        from ..stages.run.parameters import parse_parameter_pairs

        try:
            if args.panel:
                from .widgets import DockerizePanel

                # Its jobs run later, in a thread: the panel adds what they load itself.
                return DockerizePanel(args.notebook, user_ns=user_ns, baseline=frozenset(self.baseline),
                                      base_image=args.base_image, tag=args.tag,
                                      parameters=parse_parameter_pairs(args.parameter),
                                      own_modules=self.baseline)
            action = "run" if args.run else "verify" if args.verify else "build"
            on_event, finish = (None, _noop) if args.dry_run else _renderer(args.no_widget,
                                                                            action)
            try:
                result = dockerize(args.notebook, user_ns=user_ns, dry_run=args.dry_run,
                                   run=args.run, verify=args.verify, tag=args.tag,
                                   base_image=args.base_image,
                                   parameters=parse_parameter_pairs(args.parameter),
                                   exclude=args.exclude, extra=args.add,
                                   baseline=frozenset(self.baseline),
                                   html=not args.no_widget,
                                   ignore_warnings=args.ignore_warnings, on_event=on_event)
            except BaseException:
                finish(False)
                raise
            finish(True)
            return result
        except NbDockerError as exc:
            show_error(exc)
            return None

    @magic_arguments()
    @argument("--notebook", metavar="PATH", help="also read this notebook file")
    @argument("--all", action="store_true", help="also list the locked transitive ones")
    @line_magic
    def nbdocker_env(self, line: str = "") -> None:
        """watermark-style summary: Python, platform and the distributions in use, by
        distribution name (``scikit-learn 1.4.0  import sklearn``)."""
        args = parse_line(self.nbdocker_env, line)
        with own_imports(self.baseline):
            self._nbdocker_env(args)

    def _nbdocker_env(self, args: Any) -> None:
        from ..stages.capture.live import capture_live
        from .views import environment_summary
        from .notebook_path import find_notebook

        try:
            try:
                path: Any = find_notebook(args.notebook, user_ns=self._user_ns())
            except NbDockerError:
                path = None  # no notebook file known: the live kernel alone still tells
            spec = capture_live(path, self._user_ns(), baseline=frozenset(self.baseline))
            print(environment_summary(spec, transitive=args.all))
        except NbDockerError as exc:
            show_error(exc)


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
