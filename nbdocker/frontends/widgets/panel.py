"""The interactive panel: requirements (uncheck to exclude, add one), base image,
Build / Run / Verify, live progress and log, and the reproduction summary.

Thin over :func:`nbdocker.frontends.views.dockerize`: a button reads the edited spec from the
widgets, then runs the job in a background thread (so the kernel stays free to send
progress) with a :class:`~nbdocker.frontends.widgets.progress.ProgressView` as ``on_event``.
Buttons are disabled while a job runs; errors land in the panel, never as a traceback.

Testable without a browser: pass ``engine`` (e.g. ``FakeEngine``) and/or ``pipeline``
(a stand-in for ``dockerize``), call :meth:`click_build` & co., then :meth:`wait`.
"""
from __future__ import annotations

import html
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Collection, Dict, List, Mapping, MutableSet, Optional, Union

import ipywidgets as w

from ...engine.base import ContainerEngine
from ...exceptions import BuildError, NbDockerError
from ...spec import EnvironmentSpec, Requirement
from ...stages.capture.summary import NO_REQUIREMENTS
from .progress import PLANS, ProgressView

__all__ = ["DockerizePanel"]

PipelineFn = Callable[..., Any]  # the signature of nbdocker.frontends.views.dockerize


class DockerizePanel:
    """See the module docstring. ``panel.widget`` is the root widget (the panel also
    displays itself); ``panel.result`` holds the last job's DockerizeResult and
    ``panel.error`` the last error (None after a success). ``own_modules``, when given,
    receives the top-level modules the jobs loaded (nbdocker's own, not the notebook's;
    the magics pass their baseline so later captures leave them out)."""

    def __init__(self, notebook: Optional[Union[str, Path]] = None, *,
                 spec: Optional[EnvironmentSpec] = None,
                 user_ns: Optional[Mapping[str, Any]] = None, baseline: Collection[str] = (),
                 engine: Optional[ContainerEngine] = None, pipeline: Optional[PipelineFn] = None,
                 base_image: Optional[str] = None, tag: Optional[str] = None,
                 parameters: Optional[Mapping[str, Any]] = None,
                 own_modules: Optional[MutableSet[str]] = None) -> None:
        from ..views import dockerize

        self.engine = engine
        self.tag = tag
        self.parameters = dict(parameters or {})
        self.own_modules = own_modules
        self._pipeline: PipelineFn = pipeline or dockerize
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
        self.base_image = w.Text(value="", description="base image",
                                 placeholder="python:X.Y-slim", layout=w.Layout(width="32em"))
        self.build_button = w.Button(description="Build", button_style="primary", icon="cube")
        self.run_button = w.Button(description="Run", icon="play")
        self.verify_button = w.Button(description="Verify", button_style="success",
                                      icon="check")
        self.report = w.HTML("")
        self.buttons = (self.build_button, self.run_button, self.verify_button, self.add_button)
        self.header = w.HTML("<b>nbdocker</b>")
        self.empty = w.HTML("")  # the "no third-party requirements" line
        self.widget = w.VBox([
            self.header, self.empty, self.table, w.HBox([self.new_requirement, self.add_button]),
            self.base_image, w.HBox([self.build_button, self.run_button, self.verify_button]),
            self.progress.widget, self.message, self.report])

        self.add_button.on_click(lambda _: self.add_requirement(self.new_requirement.value))
        self.build_button.on_click(lambda _: self._start("build"))
        self.run_button.on_click(lambda _: self._start("run"))
        self.verify_button.on_click(lambda _: self._start("verify"))
        self._load(notebook, spec, user_ns, baseline, base_image)

    # -- set-up ---------------------------------------------------------------------
    def _load(self, notebook: Optional[Union[str, Path]], spec: Optional[EnvironmentSpec],
              user_ns: Optional[Mapping[str, Any]], baseline: Collection[str],
              base_image: Optional[str]) -> None:
        from ...stages.image.base import resolve_base_image
        from ..views import capture_for_kernel
        from ..notebook_path import find_notebook

        try:
            self.notebook = find_notebook(notebook, user_ns=user_ns)
            self.spec = spec or capture_for_kernel(self.notebook, user_ns=user_ns,
                                                   baseline=baseline)
        except NbDockerError as exc:
            self._show_error(exc)
            self._enable(False)
            return
        self.header.value = (f"<b>nbdocker</b> · {html.escape(self.notebook.name)} · Python "
                             f"{html.escape(self.spec.python.version)}")
        self.base_image.value = resolve_base_image(self.spec, base_image)
        for req in self.spec.direct_requirements:
            self._add_row(req.name, req.version or req.specifier or "unpinned", req.reasons)
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
        from ..views import parse_extra

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

    def current_spec(self) -> EnvironmentSpec:
        """The captured spec with the table's exclusions and additions applied."""
        from ..views import apply_changes

        assert self.spec is not None
        extra = [req for name, req in self.added.items() if self.checks[name].value]
        return apply_changes(self.spec, exclude=self.excluded(), extra=extra)

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
            spec = self.current_spec()  # read the widgets here, not in the thread
        except NbDockerError as exc:
            self._show_error(exc)
            return
        self._enable(False)
        self.message.value = ""
        self.report.value = ""
        self.error = None
        self.progress.start(PLANS[action])
        kwargs = dict(spec=spec, run=action == "run", verify=action == "verify",
                      tag=self.tag, base_image=self.base_image.value.strip() or None,
                      parameters=self.parameters, engine=self.engine,
                      on_event=self.progress)
        self._thread = threading.Thread(target=self._job, args=(action, kwargs),
                                        name=f"nbdocker-{action}", daemon=True)
        self._thread.start()

    def _job(self, action: str, kwargs: Dict[str, Any]) -> None:
        from ..views import outcome_html
        from ..magics import own_imports

        try:
            with ExitStack() as stack:
                if self.own_modules is not None:
                    stack.enter_context(own_imports(self.own_modules))
                self.result = self._pipeline(self.notebook, **kwargs)
            self.report.value = outcome_html(self.result)
            self.progress.finish(True, f"{action} done")
        except NbDockerError as exc:
            self._show_error(exc)
        except Exception as exc:  # a bug of ours: still a message, never a traceback
            self._show_error(exc, prefix="internal error: ")
        finally:
            self._enable(True)

    def _show_error(self, exc: BaseException, prefix: str = "") -> None:
        self.error = exc
        text = f"{prefix}{type(exc).__name__ + ': ' if prefix else ''}{exc}"
        self.message.value = f"<pre style='color:#b00;white-space:pre-wrap'>{html.escape(text)}</pre>"
        if isinstance(exc, BuildError):
            for line in exc.log_tail:
                self.progress.append(line)
        self.progress.finish(False, text.splitlines()[0] if text else "failed")

    def _enable(self, enabled: bool) -> None:
        for button in self.buttons:
            button.disabled = not enabled

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
