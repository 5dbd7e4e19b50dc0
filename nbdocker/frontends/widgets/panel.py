"""The interactive panel: requirements (uncheck to exclude, add one), the options form,
Build / Run / Verify, live progress and log, and the reproduction summary.

Thin over :mod:`nbdocker.pipeline`: the table and the form only edit an
:class:`~nbdocker.options.Options` (``exclude``, ``add`` and every option marked for the
panel in :mod:`nbdocker.options`); a button then runs
:meth:`~nbdocker.frontends.views.DockerizeResult.make` in a background thread (so the
kernel stays free to send progress) with a
:class:`~nbdocker.frontends.widgets.progress.ProgressView` as ``on_event``. Buttons are
disabled while a job runs. An error shows as the one line the CLI would print; its
traceback goes to the collapsible log.

Testable without a browser: pass ``engine`` (e.g. ``FakeEngine``) and/or ``actions`` (a
stand-in for :data:`nbdocker.pipeline.ACTIONS`), call :meth:`click_build` & co., then
:meth:`wait`.
"""
from __future__ import annotations

import html
import threading
import traceback
from contextlib import ExitStack
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, MutableSet, Optional, Tuple, Union

import ipywidgets as w

from ...engine.base import ContainerEngine
from ...exceptions import BuildError, InputError, NbDockerError
from ...options import Flag, Options
from ...pipeline import ACTIONS
from ...spec import EnvironmentSpec, Requirement
from ...stages.capture.live import LiveKernel
from ...stages.capture.summary import NO_REQUIREMENTS
from ..console import format_error
from .progress import PLANS, ProgressView

__all__ = ["DockerizePanel"]


def _form_fields() -> List[Tuple[str, Flag]]:
    return [(f.name, f.metadata["flag"]) for f in fields(Options)
            if "flag" in f.metadata and f.metadata["flag"].panel]


class DockerizePanel:
    """See the module docstring. ``panel.widget`` is the root widget (the panel also
    displays itself); ``panel.result`` holds the last job's DockerizeResult and
    ``panel.error`` the last error (None after a success). ``own_modules``, when given,
    receives the top-level modules the jobs loaded (nbdocker's own, not the notebook's;
    the magics pass their baseline so later captures leave them out)."""

    def __init__(self, notebook: Optional[Union[str, Path]] = None, *,
                 options: Options = Options(), kernel: Optional[LiveKernel] = None,
                 spec: Optional[EnvironmentSpec] = None,
                 engine: Optional[ContainerEngine] = None,
                 actions: Mapping[str, Callable[..., Any]] = ACTIONS,
                 own_modules: Optional[MutableSet[str]] = None) -> None:
        self.options = options
        self.kernel = kernel
        self.engine = engine
        self.actions = actions
        self.own_modules = own_modules
        self._thread: Optional[threading.Thread] = None
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.notebook: Optional[Path] = None
        self.spec: Optional[EnvironmentSpec] = None
        self.checks: Dict[str, w.Checkbox] = {}
        self.added: Dict[str, Requirement] = {}

        self.progress = ProgressView(PLANS["build"])
        self.message = w.HTML("")
        self.table = w.GridBox([], layout=w.Layout(grid_template_columns="max-content "
                                                   "max-content auto", grid_gap="2px 12px"))
        self.new_requirement = w.Text(placeholder="package or package==1.2",
                                      layout=w.Layout(width="20em"))
        self.add_button = w.Button(description="Add", icon="plus")
        self.form: Dict[str, w.Widget] = {name: self._field(name, flag, getattr(options, name))
                                          for name, flag in _form_fields()}
        self.base_image = self.form["base_image"]
        self.build_button = w.Button(description="Build", button_style="primary", icon="cube")
        self.run_button = w.Button(description="Run", icon="play")
        self.verify_button = w.Button(description="Verify", button_style="success",
                                      icon="check")
        self.report = w.HTML("")
        self.buttons = (self.build_button, self.run_button, self.verify_button, self.add_button)
        self.header = w.HTML("<b>nbdocker</b>")
        self.empty = w.HTML("")  # the "no third-party requirements" line
        form = w.Accordion(children=[w.VBox([self.form[n] for n, _ in _form_fields()
                                             if n != "base_image"])], selected_index=None)
        form.set_title(0, "options")
        self.widget = w.VBox([
            self.header, self.empty, self.table, w.HBox([self.new_requirement, self.add_button]),
            self.base_image, form,
            w.HBox([self.build_button, self.run_button, self.verify_button]),
            self.progress.widget, self.message, self.report])

        # Stable hooks for browser tests and user CSS.
        self.build_button.add_class("nbdocker-build")
        self.run_button.add_class("nbdocker-run")
        self.verify_button.add_class("nbdocker-verify")
        self.message.add_class("nbdocker-message")
        self.report.add_class("nbdocker-report")

        self.add_button.on_click(lambda _: self.add_requirement(self.new_requirement.value))
        self.build_button.on_click(lambda _: self._start("build"))
        self.run_button.on_click(lambda _: self._start("run"))
        self.verify_button.on_click(lambda _: self._start("verify"))
        self._load(notebook, spec)

    @staticmethod
    def _field(name: str, flag: Flag, value: Any) -> w.Widget:
        label = flag.flags[0].lstrip("-").replace("-", " ")
        style = {"description_width": "8em"}
        if flag.action == "store_true":
            return w.Checkbox(value=bool(value), description=label, indent=False,
                              tooltip=flag.help)
        if flag.choices:
            return w.Dropdown(options=[("default", "")] + [(c, c) for c in flag.choices],
                              value=value or "", description=label, style=style,
                              tooltip=flag.help)
        return w.Text(value="" if value is None else str(value), description=label,
                      placeholder=flag.metavar or "", style=style, tooltip=flag.help,
                      layout=w.Layout(width="32em"))

    # -- set-up ---------------------------------------------------------------------
    def _load(self, notebook: Optional[Union[str, Path]],
              spec: Optional[EnvironmentSpec]) -> None:
        from ...pipeline import capture
        from ...stages.image.base import resolve_base_image
        from ..notebook_path import find_notebook

        try:
            self.notebook = find_notebook(
                notebook, user_ns=self.kernel.user_ns if self.kernel else None)
            self.spec = spec or capture(self.notebook, self.options, kernel=self.kernel)
        except NbDockerError as exc:
            self._show_error(exc)
            self._enable(False)
            return
        self.header.value = (f"<b>nbdocker</b> · {html.escape(self.notebook.name)} · Python "
                             f"{html.escape(self.spec.python.version)}")
        self.base_image.placeholder = resolve_base_image(self.spec, None)
        for req in self.spec.direct_requirements:
            self._add_row(req.name, req.version or req.specifier or "unpinned", req.why)
        for unresolved in self.spec.unresolved:
            self._add_row(unresolved.pypi_name or unresolved.module, "unpinned (not installed)",
                          unresolved.reasons)
        if not self.checks:  # no third-party imports: say so, as the CLI and dry run do
            self.empty.value = html.escape(NO_REQUIREMENTS)

    def _add_row(self, name: str, version: str, reasons: Any) -> None:
        box = w.Checkbox(value=True, description=name, indent=False,
                         layout=w.Layout(width="auto"))
        self.checks[name] = box
        self.empty.value = ""
        why = "; ".join(list(reasons)[:3])
        self.table.children = list(self.table.children) + [
            box, w.HTML(f"<code>{html.escape(version)}</code>"), w.HTML(html.escape(why))]

    # -- edits ---------------------------------------------------------------------
    def add_requirement(self, text: str) -> Optional[Requirement]:
        """Add a requirement typed by hand (``requests`` or ``requests==2.31``)."""
        from ...stages.capture.edit import parse_extra

        if not text.strip():
            return None
        try:
            req = parse_extra(text)
        except NbDockerError as exc:
            self._show_error(exc)
            return None
        self.added[req.name] = req
        if req.name in self.checks:
            self.checks[req.name].value = True
        else:
            self._add_row(req.name, req.version or req.specifier or "unpinned", req.reasons)
        self.new_requirement.value = ""
        self.message.value = ""
        return req

    def excluded(self) -> List[str]:
        """Names unchecked in the table."""
        return sorted(n for n, box in self.checks.items() if not box.value and n not in self.added)

    def current_options(self) -> Options:
        """The magic's options with the table's and the form's edits (InputError when a
        field does not parse)."""
        changes: Dict[str, Any] = {}
        for name, flag in _form_fields():
            value = self.form[name].value
            if isinstance(value, str):
                value = value.strip() or None
                if value is not None and flag.parse is not None:
                    value = flag.parse(value)
            changes[name] = value
        added = tuple(req.pin for name, req in self.added.items() if self.checks[name].value)
        return self.options.replace(exclude=self.options.exclude + tuple(self.excluded()),
                                    add=self.options.add + added, **changes)

    # -- jobs ---------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a job thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def click_build(self) -> None:
        self.build_button.click()

    def click_run(self) -> None:
        self.run_button.click()

    def click_verify(self) -> None:
        self.verify_button.click()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for the running job (if any); True when none is left running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy

    def _start(self, action: str) -> None:
        if self.busy or self.spec is None or self.notebook is None:
            return
        try:
            options = self.current_options()  # read the widgets here, not in the thread
        except InputError as exc:
            self._show_error(exc)
            return
        self._enable(False)
        self.message.value = ""
        self.report.value = ""
        self.error = None
        self.progress.start(PLANS[action])
        self._thread = threading.Thread(target=self._job, args=(action, options),
                                        name=f"nbdocker-{action}", daemon=True)
        self._thread.start()

    def _job(self, action: str, options: Options) -> None:
        from ...stages.capture.live import own_imports
        from ..views import DockerizeResult, outcome_html

        assert self.notebook is not None and self.spec is not None
        try:
            with ExitStack() as stack:
                if self.own_modules is not None:
                    stack.enter_context(own_imports(self.own_modules))
                self.result = DockerizeResult.make(
                    action, self.notebook, options, spec=self.spec, kernel=self.kernel,
                    engine=self.engine, on_event=self.progress, actions=self.actions)
            self.report.value = outcome_html(self.result)
            self.progress.finish(True, f"{action} done")
        except Exception as exc:  # every error lands in the panel, never as a traceback
            self._show_error(exc)
        finally:
            self._enable(True)

    def _show_error(self, exc: BaseException) -> None:
        self.error = exc
        if isinstance(exc, NbDockerError):
            text = format_error(exc, log_tail=False)
        else:  # a bug of ours: still one line here, the traceback in the log
            text = f"nbdocker: internal error: {type(exc).__name__}: {exc}"
        self.message.value = f"<pre style='color:#b00;white-space:pre-wrap'>{html.escape(text)}</pre>"
        if isinstance(exc, BuildError):
            for line in exc.log_tail:
                self.progress.append(line)
        for line in "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)
                            ).splitlines():
            self.progress.append(line)
        self.progress.finish(False, text.splitlines()[0] if text else "failed")

    def _enable(self, enabled: bool) -> None:
        for button in self.buttons:
            button.disabled = not enabled

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
