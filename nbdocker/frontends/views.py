"""What ``%dockerize`` and the panel show: :class:`DockerizeResult`, one pipeline outcome
with the spec it was made from, as plain text (``repr``) and as HTML (the cell output).

It renders; it decides nothing. The spec's table comes from
:mod:`nbdocker.stages.capture.summary`, the report's from
:mod:`nbdocker.stages.verify.text` and :mod:`nbdocker.stages.verify.html`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union

from ..engine.base import ContainerEngine
from ..events import EventHandler
from ..exceptions import InputError
from ..options import Options
from ..pipeline import ACTIONS, BuildOutcome, Plan, VerifyOutcome, capture
from ..spec import EnvironmentSpec

if TYPE_CHECKING:
    from ..stages.capture.live import LiveKernel
    from ..stages.run.execute import RunOutcome
    from ..stages.run.sweep import SweepOutcome
    from ..stages.verify.report import ReproductionReport

__all__ = ["DockerizeResult", "result_html", "outcome_html"]

Outcome = Union[Plan, BuildOutcome, "RunOutcome", VerifyOutcome]


@dataclass(frozen=True)
class DockerizeResult:
    """What one ``%dockerize`` did; usable in the next cell as ``_``.

    ``action`` is ``dry-run``, ``build``, ``run``, ``verify`` or ``sweep`` and ``outcome`` what the
    pipeline returned for it. ``html=False`` (``--no-widget``) keeps the cell output
    plain text.
    """

    notebook: Path
    spec: EnvironmentSpec
    action: str
    outcome: Any
    html: bool = field(default=True, compare=False)

    @classmethod
    def make(cls, action: str, notebook: Path, options: Options, *,
             spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
             engine: Optional[ContainerEngine] = None,
             on_event: Optional[EventHandler] = None, html: bool = True,
             actions: Mapping[str, Callable[..., Any]] = ACTIONS) -> "DockerizeResult":
        """Capture (unless ``spec``), then do ``action`` (``dry-run``, ``build``, ``run``,
        ``verify``) through the pipeline; what the magic and the panel both do."""
        if action not in actions:
            raise InputError(f"unknown action {action!r} (one of {', '.join(actions)})")
        if spec is None:
            spec = capture(notebook, options, kernel=kernel, on_event=on_event)
        outcome = actions[action](notebook, options, spec=spec, kernel=kernel, engine=engine,
                                  on_event=on_event)
        return cls(notebook, spec, action, outcome, html=html)

    # -- what users reach for: _.tag, _.dockerfile, _.report.reproduced, _.output ------
    @property
    def dockerfile(self) -> Optional[str]:
        """The Dockerfile (dry run only)."""
        return self.outcome.dockerfile if isinstance(self.outcome, Plan) else None

    @property
    def build(self) -> Optional[BuildOutcome]:
        """The image built or reused (build and verify)."""
        if isinstance(self.outcome, BuildOutcome):
            return self.outcome
        return self.outcome.build if isinstance(self.outcome, VerifyOutcome) else None

    @property
    def tag(self) -> Optional[str]:
        """The image's tag (for a dry run: the tag a build would give it)."""
        if isinstance(self.outcome, Plan):
            return self.outcome.tag
        if self.build is not None:
            return self.build.tag
        return getattr(self.outcome, "image", None)

    @property
    def image_id(self) -> Optional[str]:
        return self.build.image_id if self.build is not None else None

    @property
    def run(self) -> Optional["RunOutcome"]:
        """How the run in the container went (run and verify)."""
        if isinstance(self.outcome, VerifyOutcome):
            return self.outcome.run
        if self.action == "sweep" or isinstance(self.outcome, (Plan, BuildOutcome)):
            return None
        return self.outcome

    @property
    def sweep(self) -> Optional["SweepOutcome"]:
        """The sweep's results (``--sweep``): ``_.sweep.runs``, ``_.sweep.out``."""
        return self.outcome if self.action == "sweep" else None

    @property
    def report(self) -> Optional["ReproductionReport"]:
        """The reproduction report (verify)."""
        return self.outcome.report if isinstance(self.outcome, VerifyOutcome) else None

    @property
    def output(self) -> Optional[Path]:
        """The executed notebook (run and verify)."""
        return self.run.output if self.run is not None else None

    @property
    def reproduced(self) -> Optional[bool]:
        """The verdict of ``--verify``; None when nothing was verified."""
        return None if self.report is None else bool(self.report.reproduced)

    # -- rendering -------------------------------------------------------------------
    def text(self) -> str:
        """The plain-text account: requirements table, Dockerfile, image, report."""
        from ..stages.capture.summary import format_spec

        parts = [format_spec(self.spec)]
        if self.dockerfile is not None:
            parts += ["", "Dockerfile:", "", self.dockerfile.rstrip("\n")]
        if self.tag and self.action == "dry-run":
            parts += ["", f"image tag: {self.tag} (dry run: nothing built)"]
        elif self.tag:
            parts += ["", f"image: {self.tag}" + (f" ({self.image_id})" if self.image_id else "")]
        if self.report is not None:
            from ..stages.verify.text import format_report

            parts += ["", format_report(self.report)]
        if self.output is not None:
            parts.append(f"executed notebook: {self.output}")
        if self.sweep is not None:
            from ..stages.run.sweep import format_table

            parts += ["", format_table(self.sweep)]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> Optional[str]:
        return result_html(self) if self.html else None


def _h(text: Any) -> str:
    return html.escape(str(text))


def outcome_html(result: DockerizeResult) -> str:
    """The image, the reproduction summary (with diffs) and the executed notebook."""
    from ..stages.verify.html import report_html

    parts = []
    if result.tag and result.action == "dry-run":
        parts.append(f"<p>image tag <code>{_h(result.tag)}</code> (dry run: nothing built)</p>")
    elif result.tag:
        parts.append(f"<p>image <code>{_h(result.tag)}</code></p>")
    if result.report is not None:
        parts.append(report_html(result.report))
    if result.output is not None:
        parts.append(f"<p>executed notebook: <code>{_h(result.output)}</code></p>")
    if result.sweep is not None:
        from ..stages.run.sweep import format_table

        parts.append(f"<pre>{_h(format_table(result.sweep))}</pre>")
    return "".join(parts)


def result_html(result: DockerizeResult) -> str:
    """The HTML cell output of a :class:`DockerizeResult`."""
    from ..stages.capture.summary import requirements_html

    parts = [f"<div><b>nbdocker</b> · {_h(result.notebook.name)}", requirements_html(result.spec)]
    if result.dockerfile is not None:
        parts.append(f"<details><summary>Dockerfile</summary><pre>{_h(result.dockerfile)}"
                     "</pre></details>")
    return "".join(parts) + outcome_html(result) + "</div>"
