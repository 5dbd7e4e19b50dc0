"""The plain function behind ``%dockerize`` and the widget panel (watermark's habit).

:func:`dockerize` works with or without IPython: given the user namespace (``user_ns``)
it joins the live kernel's imports with the static read of the notebook
(:mod:`nbdocker.stages.capture.live`); without it, it captures statically like the CLI. Then
it renders the Dockerfile (``dry_run``), or builds, runs or verifies through
:mod:`nbdocker.pipeline`, the same code the CLI uses. It returns a
:class:`DockerizeResult` whose ``repr`` / ``_repr_html_`` make a useful cell output.

``--verify`` runs the notebook **file on disk** again inside the container: save the
notebook first. Cells that drive nbdocker itself (``%load_ext nbdocker``,
``%dockerize``) are skipped in the re-run and the comparison (see
:mod:`nbdocker.stages.run.selfcells`); the user's file is never modified.
"""
from __future__ import annotations

import html
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ..engine.base import ContainerEngine
from ..events import Event, EventHandler, Phase, emit
from ..exceptions import InputError
from ..spec import EnvironmentSpec, Requirement
from ..stages.capture.summary import NO_REQUIREMENTS

__all__ = ["DockerizeResult", "dockerize", "capture_for_kernel", "apply_changes",
           "parse_extra", "environment_summary", "result_html", "requirements_html",
           "report_html", "outcome_html"]

PathLike = Union[str, "os.PathLike[str]"]
MANUAL_REASON = "added by hand"


@dataclass(frozen=True)
class DockerizeResult:
    """What one ``%dockerize`` did. Usable in the next cell as ``_``.

    ``dockerfile`` is set for a dry run, and ``tag`` is then the tag a build would
    give the image; ``tag``/``image_id`` name the image once it exists;
    ``run`` is the :class:`~nbdocker.stages.run.execute.RunOutcome` of ``--run``; ``report`` the
    :class:`~nbdocker.stages.verify.compare.ReproductionReport` of ``--verify`` and ``output`` the
    executed notebook's path. ``html=False`` (``--no-widget``) keeps the cell output
    plain text.
    """

    notebook: Path
    spec: EnvironmentSpec
    action: str = "dry-run"
    dockerfile: Optional[str] = None
    tag: Optional[str] = None
    image_id: Optional[str] = None
    base_image: Optional[str] = None
    run: Any = None
    report: Any = None
    output: Optional[Path] = None
    html: bool = field(default=True, compare=False)

    @property
    def reproduced(self) -> Optional[bool]:
        """The verdict of ``--verify``; None when nothing was verified."""
        return None if self.report is None else bool(self.report.reproduced)

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
        if self.run is not None and self.output is not None:
            parts.append(f"executed notebook: {self.output}")
        if self.report is not None:
            from ..stages.verify.compare import format_report

            parts += ["", format_report(self.report)]
            if self.output is not None:
                parts.append(f"executed notebook: {self.output}")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> Optional[str]:
        if not self.html:
            return None
        return result_html(self)


def _h(text: Any) -> str:
    return html.escape(str(text))


def requirements_html(spec: EnvironmentSpec) -> str:
    """An HTML table of the direct requirements (package, version, why)."""
    # JupyterLab right-aligns table cells (numbers); this table is text: align it left.
    td = "<td style='text-align:left'>"
    rows = "".join(
        f"<tr>{td}<code>{_h(r.name)}</code></td>{td}{_h(r.version or r.specifier or 'unpinned')}"
        f"</td>{td}{_h('; '.join(r.reasons[:3]))}</td></tr>" for r in spec.direct_requirements)
    rows += "".join(
        f"<tr>{td}<code>{_h(u.pypi_name or u.module)}</code></td>{td}unpinned (not installed)"
        f"</td>{td}{_h('; '.join(u.reasons[:3]))}</td></tr>" for u in spec.unresolved)
    locked = len(spec.requirements) - len(spec.direct_requirements)
    foot = f"<p>+ {locked} transitive requirements locked</p>" if locked else ""
    warn = "".join(f"<li>{_h(w)}</li>" for w in spec.warnings)
    table = ("<table><thead><tr><th style='text-align:left'>package</th>"
             "<th style='text-align:left'>version</th><th style='text-align:left'>why</th></tr>"
             f"</thead><tbody>{rows}</tbody></table>" if rows else f"<p>{_h(NO_REQUIREMENTS)}</p>")
    return (f"<p>Python {_h(spec.python.version)} ({_h(spec.python.implementation)})</p>"
            f"{table}{foot}"
            + (f"<details><summary>warnings</summary><ul>{warn}</ul></details>" if warn else ""))


def report_html(report: Any) -> str:
    """The reproduction verdict, per-status counts and the differing cells' diffs."""
    counts = report.summary
    verdict = ("<b style='color:green'>REPRODUCED</b>" if report.reproduced
               else "<b style='color:#b00'>NOT REPRODUCED</b>")
    out = [f"<p>{verdict}: {counts['same']} same, {counts['differs']} differ, "
           f"{counts['error']} error, {counts['skipped']} skipped</p>"]
    for cell in report.failures:
        # the note ("re-run raised …; probably follows the error in cell 2") with the diff
        note = f" ({_h(cell.note)})" if cell.note and cell.diff else ""
        out.append(f"<details open><summary>cell {cell.index} {_h(cell.status)}: "
                   f"<code>{_h(cell.source_head.splitlines()[0] if cell.source_head else '')}"
                   f"</code>{note}</summary><pre>{_h(cell.diff or cell.note)}</pre></details>")
    return "".join(out)


def outcome_html(result: DockerizeResult) -> str:
    """The image, the reproduction summary (with diffs) and the executed notebook."""
    parts = []
    if result.tag and result.action == "dry-run":
        parts.append(f"<p>image tag <code>{_h(result.tag)}</code> (dry run: nothing built)</p>")
    elif result.tag:
        parts.append(f"<p>image <code>{_h(result.tag)}</code></p>")
    if result.report is not None:
        parts.append(report_html(result.report))
    if result.output is not None:
        parts.append(f"<p>executed notebook: <code>{_h(result.output)}</code></p>")
    return "".join(parts)


def result_html(result: DockerizeResult) -> str:
    """The HTML cell output of a :class:`DockerizeResult`."""
    parts = [f"<div><b>nbdocker</b> · {_h(result.notebook.name)}", requirements_html(result.spec)]
    if result.dockerfile is not None:
        parts.append(f"<details><summary>Dockerfile</summary><pre>{_h(result.dockerfile)}"
                     "</pre></details>")
    return "".join(parts) + outcome_html(result) + "</div>"


# -- changes from the panel / options --------------------------------------------

def parse_extra(text: str) -> Requirement:
    """A requirement added by hand (``requests`` or ``requests==2.31``), pinned to the
    version installed here when it names no version. Raises :class:`InputError`."""
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Pep508
    from packaging.utils import canonicalize_name

    try:
        req = Pep508(text.strip())
    except InvalidRequirement as exc:
        raise InputError(f"not a requirement: {text.strip()!r} ({exc})") from None
    if req.url or req.marker or req.extras:
        raise InputError(f"only plain requirements can be added (name or name==version): {text!r}")
    name = str(canonicalize_name(req.name))
    pins = [s.version for s in req.specifier if s.operator in ("==", "===")]
    if pins:
        return Requirement(name, pins[0], True, (MANUAL_REASON,))
    if str(req.specifier):
        return Requirement(name, None, True, (MANUAL_REASON,), specifier=str(req.specifier))
    from importlib import metadata

    try:
        version: Optional[str] = metadata.version(name)
    except metadata.PackageNotFoundError:
        version = None
    return Requirement(name, version, True, (MANUAL_REASON,))


def apply_changes(spec: EnvironmentSpec, *, exclude: Collection[str] = (),
                  extra: Iterable[Union[str, Requirement]] = ()) -> EnvironmentSpec:
    """``spec`` without the ``exclude``d distributions (or unresolved modules) and with
    the ``extra`` requirements. Locked transitive requirements that only an excluded
    one needed go too."""
    from packaging.utils import canonicalize_name

    if not exclude and not extra:
        return spec
    drop = {str(canonicalize_name(n)) for n in exclude}
    added = [e if isinstance(e, Requirement) else parse_extra(e) for e in extra]
    reqs = {r.name: r for r in spec.requirements if r.name not in drop}
    for req in added:
        reqs[req.name] = req
    # Drop locked dependencies whose every "required by" parent is gone (to a fixpoint).
    changed = True
    while changed:
        changed = False
        for name, req in list(reqs.items()):
            parents = [r[len("required by "):] for r in req.reasons if r.startswith("required by ")]
            if not req.direct and parents and not any(p in reqs for p in parents):
                del reqs[name]
                changed = True
    unresolved = tuple(u for u in spec.unresolved
                       if u.module not in exclude and str(canonicalize_name(u.pypi_name or u.module))
                       not in drop and str(canonicalize_name(u.pypi_name or u.module)) not in reqs)
    return spec.with_changes(requirements=tuple(reqs.values()), unresolved=unresolved)


# -- the function --------------------------------------------------------------------

def capture_for_kernel(notebook: Path, *, user_ns: Optional[Mapping[str, Any]] = None,
                       baseline: Collection[str] = (),
                       on_event: Optional[EventHandler] = None) -> EnvironmentSpec:
    """The spec of ``notebook``: joined with the live kernel when ``user_ns`` is given
    (versions from this interpreter), else the static capture the CLI makes."""
    if user_ns is None:
        from ..pipeline import capture

        return capture(notebook, on_event=on_event)
    from ..stages.capture.live import capture_live

    emit(on_event, Event(Phase.CAPTURE, "progress", f"capturing {notebook.name} (live kernel)",
                         step=0, total=1))
    spec = capture_live(notebook, user_ns, baseline=baseline, on_event=on_event)
    emit(on_event, Event(Phase.CAPTURE, "done", f"{len(spec.requirements)} requirements",
                         step=1, total=1))
    return spec


def dockerize(notebook: Optional[PathLike] = None, *, user_ns: Optional[Mapping[str, Any]] = None,
              dry_run: bool = False, run: bool = False, verify: bool = False,
              tag: Optional[str] = None, base_image: Optional[str] = None,
              parameters: Optional[Mapping[str, Any]] = None, exclude: Collection[str] = (),
              extra: Sequence[Union[str, Requirement]] = (),
              spec: Optional[EnvironmentSpec] = None, baseline: Collection[str] = (),
              engine: Optional[ContainerEngine] = None, html: bool = True,
              ignore_warnings: bool = False,
              on_event: Optional[EventHandler] = None) -> DockerizeResult:
    """Capture the notebook and show (``dry_run``), build (default), run or verify it.

    ``notebook`` defaults to the running notebook (``JPY_SESSION_NAME``,
    ``__vsc_ipynb_file__`` in ``user_ns``; see :mod:`nbdocker.frontends.notebook_path`).
    ``spec`` skips the capture (the panel passes its edited spec); ``exclude`` /
    ``extra`` edit the captured one. Raises :class:`~nbdocker.exceptions.NbDockerError`
    subclasses; never prints.
    """
    from .. import pipeline
    from .notebook_path import find_notebook

    if sum(map(bool, (dry_run, run, verify))) > 1:
        raise InputError("choose one of --dry-run, --run and --verify")
    path = find_notebook(notebook, user_ns=user_ns)
    if spec is None:
        spec = capture_for_kernel(path, user_ns=user_ns, baseline=baseline, on_event=on_event)
    spec = apply_changes(spec, exclude=exclude, extra=extra)
    if dry_run:
        from ..stages.image.base import resolve_base_image
        from ..stages.image import default_tag

        return DockerizeResult(path, spec, "dry-run", pipeline.dockerfile(spec, base_image=base_image),
                               tag=tag or default_tag(spec),
                               base_image=resolve_base_image(spec, base_image), html=html)
    engine = engine or pipeline._default_engine()
    if verify:
        outcome = pipeline.verify(path, spec=spec, tag=tag, parameters=parameters,
                                  base_image=base_image, engine=engine,
                                  ignore_warnings=ignore_warnings, on_event=on_event)
        return DockerizeResult(path, spec, "verify", tag=outcome.build.tag,
                               image_id=outcome.build.image_id,
                               base_image=outcome.build.base_image, report=outcome.report,
                               output=outcome.output, html=html)
    built = (pipeline.ensure_image if run else pipeline.build)(
        path, spec=spec, tag=tag, base_image=base_image, engine=engine, on_event=on_event)
    if not run:
        return DockerizeResult(path, spec, "build", tag=built.tag, image_id=built.image_id,
                               base_image=built.base_image, html=html)
    outcome = pipeline.run(path, image=built.tag, parameters=parameters, engine=engine,
                           on_event=on_event)
    return DockerizeResult(path, spec, "run", tag=built.tag, image_id=built.image_id,
                           base_image=built.base_image, run=outcome, output=outcome.output,
                           html=html)


def environment_summary(spec: EnvironmentSpec, *, transitive: bool = False) -> str:
    """watermark-style lines: Python, platform, then ``distribution version (import
    module)`` per requirement — distribution names, not module names."""
    import platform

    from ..stages.capture.summary import format_table

    lines = [f"Python {spec.python.version} ({spec.python.implementation})",
             f"Platform {spec.platform.system or sys.platform} {spec.platform.machine or platform.machine()}",
             ""]
    reqs = spec.requirements if transitive else spec.direct_requirements
    rows: List[Tuple[str, str, str]] = [
        (r.name, r.version or r.specifier or "unpinned", _imports_of(r)) for r in reqs]
    lines.append(format_table(("distribution", "version", "imported as"), rows) if rows
                 else "no third-party distributions")
    return "\n".join(lines)


def _imports_of(req: Requirement) -> str:
    """``import sklearn`` for scikit-learn: the top-level modules it provides here."""
    if not req.direct:
        return "; ".join(req.reasons[:1])
    from packaging.utils import canonicalize_name

    from ..stages.capture.interpreter import query_interpreter

    packages = query_interpreter(sys.executable).packages
    modules = sorted(m for m, dists in packages.items() if not m.startswith("_")
                     and any(canonicalize_name(d) == req.name for d in dists))
    # Of what the distribution provides (matplotlib: matplotlib, mpl_toolkits, pylab),
    # name what the notebook's reasons mention, else what this kernel has loaded.
    mentioned = [m for m in modules
                 if any(re.search(rf"(?<![\w.]){re.escape(m)}\b", r) for r in req.reasons)]
    loaded = {name.split(".", 1)[0] for name in list(sys.modules)}
    modules = mentioned or [m for m in modules if m in loaded] or modules
    return ", ".join(f"import {m}" for m in modules[:3]) or "; ".join(req.reasons[:1])
