"""capture → image → run → verify, and share: the one orchestrator every front end uses.

Each action is a plain function taking the notebook (or a bundle directory), one
:class:`~nbdocker.options.Options` and an optional ``on_event`` callback (see
:mod:`nbdocker.events`), and returning a typed outcome; the CLI, the ``%dockerize``
magic and the widget panel only turn their input into an ``Options``, call one of these
and render the events and the outcome. Keyword arguments named like ``Options`` fields
are a shorthand: ``nbdocker.run("a.ipynb", parameters={"alpha": 0.2}, timeout=60)``.

``kernel`` (a :class:`~nbdocker.stages.capture.live.LiveKernel`) makes the capture join
what a live kernel imported; ``spec`` skips the capture (a bundle's own spec is never
re-captured); ``engine`` replaces the default Docker engine (tests pass a
:class:`~nbdocker.engine.fake.FakeEngine`). Callbacks rather than generators keep
results as return values and errors as ordinary exceptions, and work unchanged from
the panel's worker thread.
"""
from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, replace
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Set, Tuple, Union)

from .contract import LABEL_BUILD_HASH, WORKDIR
from .engine.base import BuildResult, ContainerEngine, ContainerLimits
from .events import Event, EventHandler, Phase, emit
from .exceptions import InputError
from .options import Options
from .spec import EnvironmentSpec

if TYPE_CHECKING:  # the stages load lazily: capturing needs neither docker-py nor nbclient
    from .stages.image.hostpip import BuildOptions
    from .stages.capture.live import LiveKernel
    from .stages.image.base import BaseImage
    from .stages.run.execute import RunOutcome
    from .stages.run.sweep import SweepOutcome
    from .stages.verify.report import Environment, ReproductionReport

__all__ = ["Plan", "BuildOutcome", "PushOutcome", "VerifyOutcome", "capture", "plan",
           "dockerfile", "build", "ensure_image", "run", "verify", "compare", "sweep",
           "export", "push",
           "save_image", "load_image", "ACTIONS"]

PathLike = Union[str, Path]


@dataclass(frozen=True)
class Plan:
    """What a build would do, without an engine: the spec, the Dockerfile, the tag and
    the base image (``%dockerize --dry-run``, ``nbdocker dockerfile``)."""

    spec: EnvironmentSpec
    dockerfile: str
    tag: str
    base_image: str


@dataclass(frozen=True)
class PushOutcome:
    """A pushed image: the local ``source``, the registry ``ref`` (``repo:tag``) it
    was pushed as and the manifest ``digest`` the registry returned."""

    source: str
    ref: str
    digest: str

    @property
    def pinned(self) -> str:
        """``registry/repo@sha256:...``: pulls exactly this image, whatever the tag."""
        from .engine.refs import repository_of

        return f"{repository_of(self.ref)}@{self.digest}"


@dataclass(frozen=True)
class BuildOutcome:
    """A built (or found) image for a spec; ``saved``/``pushed`` when the options asked."""

    tag: str
    image_id: str
    spec: EnvironmentSpec
    base_image: str                        # the base, pinned: name@sha256:… (or its name)
    result: Optional[BuildResult] = None   # None when the image already existed
    saved: Optional[Path] = None
    pushed: Optional[PushOutcome] = None
    base: Optional["BaseImage"] = None     # digest, image id and Python of the base

    @property
    def built(self) -> bool:
        """True when this call built the image (False: an identical one was reused)."""
        return self.result is not None


@dataclass(frozen=True)
class VerifyOutcome:
    """``verify``'s result: the image, the run in it and the comparison."""

    build: BuildOutcome
    run: "RunOutcome"
    report: "ReproductionReport"

    @property
    def output(self) -> Optional[Path]:
        """The executed notebook, written beside the original (or ``--output``)."""
        return self.run.output


def _options(options: Optional[Options], changes: Mapping[str, Any]) -> Options:
    base = options if options is not None else Options()
    return base.replace(**changes) if changes else base


# -- capture -----------------------------------------------------------------------

def capture(notebook: PathLike, options: Optional[Options] = None, *,
            kernel: Optional["LiveKernel"] = None, on_event: Optional[EventHandler] = None,
            **changes: Any) -> EnvironmentSpec:
    """The notebook's :class:`EnvironmentSpec`: versions from ``options.python`` (default:
    its kernel's), joined with a live ``kernel`` when given, edited by
    ``options.exclude``/``options.add``. A bundle's spec is its capture."""
    options = _options(options, changes)
    path, bundled = _resolve(notebook, None, options)
    return _spec_for(path, options, bundled, kernel, on_event)


def _spec_for(notebook: Path, options: Options, spec: Optional[EnvironmentSpec],
              kernel: Optional["LiveKernel"], on_event: Optional[EventHandler]
              ) -> EnvironmentSpec:
    """The spec to work with: ``spec`` (a bundle's, or the panel's) or a fresh capture,
    with the options' edits applied (once: edits are idempotent)."""
    from .stages.capture.edit import apply_changes

    if spec is None:
        from .stages.capture.notebook import capture_notebook

        if kernel is not None:
            from .stages.capture.live import capture_live

            spec = capture_live(notebook, kernel.user_ns, baseline=kernel.baseline,
                                env_names=options.env, root=options.root, on_event=on_event)
        else:
            spec = capture_notebook(notebook, python=options.python, env_names=options.env,
                                    root=options.root, on_event=on_event)
        # The stage reports progress; its warnings reach the user here, once.
        for warning in spec.warnings:
            emit(on_event, Event(Phase.CAPTURE, "warning", warning))
    return apply_changes(spec, exclude=options.exclude, extra=options.add, apt=options.apt)


# -- image ---------------------------------------------------------------------------

def dockerfile(spec: EnvironmentSpec, options: Optional[Options] = None,
               **changes: Any) -> str:
    """The deterministic Dockerfile for ``spec`` (pure; no engine needed). Its ``FROM``
    names the base by the policy's name; a build pins it by digest."""
    from .stages.image import discover_build_options, render
    from .stages.image.base import resolve_base_image

    options = _options(options, changes)
    return render(spec, base_image=resolve_base_image(spec, options.base_image),
                  options=discover_build_options())


def plan(notebook: PathLike, options: Optional[Options] = None, *,
         spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
         engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
         **changes: Any) -> Plan:
    """What :func:`build` would do (the dry run): spec, Dockerfile, tag, base image."""
    from .stages.image import default_tag
    from .stages.image.base import resolve_base_image

    options = _options(options, changes)
    path, spec = _resolve(notebook, spec, options)
    spec = _spec_for(path, options, spec, kernel, on_event)
    base = resolve_base_image(spec, options.base_image, spec.base_image)
    return Plan(spec=spec, dockerfile=dockerfile(spec, options.replace(base_image=base)),
                tag=options.tag or default_tag(spec), base_image=base)


def build(notebook: PathLike, options: Optional[Options] = None, *,
          spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
          engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
          **changes: Any) -> BuildOutcome:
    """Build the image (capturing first unless ``spec`` is given), then save and push
    it when ``options.save`` / ``options.push`` ask."""
    options = _options(options, changes)
    path, spec = _resolve(notebook, spec, options)
    spec = _spec_for(path, options, spec, kernel, on_event)
    if options.save:
        from ._fs import check_writable

        check_writable(options.save, "--save")
    engine = engine or _default_engine()
    built = _build(engine, spec, options, _build_inputs(engine, spec, path, options, on_event),
                   on_event)
    return _share_built(engine, built, options, on_event)


def ensure_image(notebook: PathLike, options: Optional[Options] = None, *,
                 spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
                 engine: Optional[ContainerEngine] = None,
                 on_event: Optional[EventHandler] = None, **changes: Any) -> BuildOutcome:
    """The image for the notebook's current spec: reused when an image with that tag
    was built from exactly these inputs (spec, base image, Dockerfile, runner, files:
    the ``io.nbdocker.build-hash`` label), else built (the layer cache keeps that cheap
    when little changed)."""
    options = _options(options, changes)
    path, spec = _resolve(notebook, spec, options)
    spec = _spec_for(path, options, spec, kernel, on_event)
    engine = engine or _default_engine()
    inputs = _build_inputs(engine, spec, path, options, on_event)
    tag = _tag(spec, options)
    image_id = engine.image_id(tag)
    if image_id is not None and engine.image_labels(tag).get(LABEL_BUILD_HASH) == inputs.digest:
        emit(on_event, Event(Phase.BUILD, "done", f"{tag} (already built)",
                             data={"image_id": image_id, "reused": True}))
        return BuildOutcome(tag=tag, image_id=image_id, spec=spec,
                            base_image=inputs.base.pinned, base=inputs.base)
    return _build(engine, spec, options, inputs, on_event)


def _tag(spec: EnvironmentSpec, options: Options) -> str:
    from .stages.image import default_tag

    return options.tag or default_tag(spec)


def _build(engine: ContainerEngine, spec: EnvironmentSpec, options: Options,
           inputs: "_BuildInputs", on_event: Optional[EventHandler]) -> BuildOutcome:
    from .stages.image.build import build_image

    tag = _tag(spec, options)
    labels = {LABEL_BUILD_HASH: inputs.digest, **inputs.base.labels}
    result = build_image(engine, spec, inputs.files, base_image=inputs.base.ref,
                         options=inputs.build_options, tag=tag, labels=labels,
                         platform=inputs.platform, on_event=on_event,
                         base_distribution=inputs.base.distribution)
    emit(on_event, Event(Phase.BUILD, "done", tag, data={"image_id": result.image_id}))
    return BuildOutcome(tag=tag, image_id=result.image_id, spec=spec,
                        base_image=inputs.base.pinned, result=result, base=inputs.base)


@dataclass(frozen=True)
class _BuildInputs:
    """The base (found or pulled, pinned), the build context's files, the digest of its
    tar, the host's build options (CA bundle, indexes) and the platform to build for
    (None: the engine's own)."""

    base: "BaseImage"
    files: Dict[str, bytes]
    digest: str
    build_options: "BuildOptions"
    platform: Optional[str]


def _build_inputs(engine: ContainerEngine, spec: EnvironmentSpec, notebook: Path,
                  options: Options, on_event: Optional[EventHandler]) -> _BuildInputs:
    """The build's inputs. The context tar is deterministic and its Dockerfile starts
    ``FROM`` the base's digest (or image id), so equal digests mean an identical build;
    a foreign platform is part of the digest too."""
    from .stages.image import context_files, discover_build_options, tar_bytes
    from .stages.image.base import check_platform, ensure_base

    target = check_platform(engine, options.platform, spec, on_event)
    platform = target if target != engine.native_platform() else None
    base = ensure_base(engine, spec, override=options.base_image,
                       pinned=spec.base_image, pull=options.pull or "missing",
                       platform=platform, on_event=on_event)
    build_options = discover_build_options()
    files = context_files(spec, _project_dir(notebook, spec), base_image=base.ref,
                          options=build_options, on_event=on_event,
                          base_distribution=base.distribution)
    digest = hashlib.sha256(tar_bytes(files))
    if platform:
        digest.update(f"\0platform={platform}".encode())
    return _BuildInputs(base, files, digest.hexdigest(), build_options, platform)


def _share_built(engine: ContainerEngine, built: BuildOutcome, options: Options,
                 on_event: Optional[EventHandler]) -> BuildOutcome:
    saved = save_image(built.tag, options.save, engine=engine, on_event=on_event) \
        if options.save else None
    pushed = push(built.tag, options.push, engine=engine, on_event=on_event) \
        if options.push else None
    return replace(built, saved=saved, pushed=pushed)


# -- run and verify --------------------------------------------------------------------

def _limits(options: Options) -> ContainerLimits:
    return ContainerLimits(network=options.network, memory=options.memory,
                           cpus=options.cpus, timeout=options.timeout, disk=options.disk,
                           platform=options.platform)


def run(notebook: Optional[PathLike] = None, options: Optional[Options] = None, *,
        spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
        engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
        source: Any = None, **changes: Any) -> "RunOutcome":
    """Run the notebook headless in its image: ``options.image`` (or the image of
    ``options.image_tar``), else the notebook's own, built when missing. Without a
    notebook, the notebook baked into the image runs. ``source`` (an nbformat
    ``NotebookNode``, e.g. papermill's parameterized copy) runs instead of the file's
    own cells; the file still names the image, and the executed notebook is written
    only to ``options.output``. Cells that drive nbdocker itself are skipped (see
    :mod:`nbdocker.stages.run.selfcells`).

    Raises :class:`~nbdocker.exceptions.RunError` subclasses when a cell fails (unless
    ``options.allow_errors``), the run times out or the kernel dies.
    """
    from .stages.run.execute import image_notebook_path, run_in_container

    options = _options(options, changes)
    if notebook is None and not (options.image or options.image_tar):
        raise InputError("give a NOTEBOOK, or --image IMG / --image-tar FILE.tar to run "
                         "the notebook baked into it")
    path: Optional[Path] = None
    if notebook is not None:
        path, spec = _resolve(notebook, spec, options)
    # Everything that can be refused is refused before a build or a load starts.
    node, output = _container_notebook(path, options.output, source, given=notebook)
    engine = engine or _default_engine()
    engine.check_limits(_limits(options))
    image = options.image
    if options.image_tar:
        loaded = load_image(options.image_tar, engine=engine, on_event=on_event)
        image = image or loaded
    name: Optional[str] = None
    if image is None:
        assert path is not None
        built = ensure_image(path, options, spec=spec, kernel=kernel, engine=engine,
                             on_event=on_event)
        image, name = built.tag, built.spec.notebook
    if node is not None and name is None:  # a given image: where it keeps its notebook
        assert path is not None
        name = image_notebook_path(engine, image, default=path.name)
    return run_in_container(engine, image, node, parameters=options.parameters,
                            output=output, write_output=source is None or output is not None,
                            limits=_limits(options), cell_timeout=options.cell_timeout,
                            allow_errors=options.allow_errors, notebook_name=name,
                            on_event=on_event)


def verify(notebook: PathLike, options: Optional[Options] = None, *,
           spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
           engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
           **changes: Any) -> VerifyOutcome:
    """capture (unless ``spec``) → build (or reuse) → run ``options.runs`` times (errors
    allowed; default 2), each in a fresh container → compare with the saved outputs
    (what differs between the runs is volatile) → write ``options.html`` /
    ``options.junit_xml`` when asked. Cells that drive nbdocker itself are skipped in
    both, cells marked ``NBVAL_SKIP`` are not run."""
    from .stages.run.execute import run_in_container
    from .stages.verify.markers import mark_skipped_cells
    from .stages.verify.report import DEFAULT_RUNS

    options = _options(options, changes)
    _check_reports(options)
    path, spec = _resolve(notebook, spec, options)
    source, output = _container_notebook(path, options.output, given=notebook)
    engine = engine or _default_engine()   # a bad notebook is said before the engine
    engine.check_limits(_limits(options))
    mark_skipped_cells(source)   # nbval's NBVAL_SKIP: not run (an in-memory copy)
    built = ensure_image(path, options, spec=spec, kernel=kernel, engine=engine,
                         on_event=on_event)
    name = built.spec.notebook  # where the image keeps it: the same path as in the project
    folder = posixpath.dirname(name)
    runs = options.runs or DEFAULT_RUNS
    executed = []
    outcome: Optional["RunOutcome"] = None
    warned: Set[str] = set()

    def once(event: Event) -> None:   # a control run repeats the first run's warnings
        if event.kind == "warning":
            if event.message in warned:
                return
            warned.add(event.message)
        if on_event is not None:
            on_event(event)

    for number in range(1, runs + 1):
        if runs > 1:
            emit(on_event, Event(Phase.RUN, "progress", f"run {number} of {runs} (what "
                                 "differs between runs is volatile)", step=number - 1,
                                 total=runs))
        # Errors are allowed so that every cell gets compared; a cell that now raises
        # shows up as "error" in the report instead of stopping the run. Each run gets
        # a fresh container, so no run sees what another left behind.
        this = run_in_container(engine, built.tag, source, parameters=options.parameters,
                                output=output, limits=_limits(options),
                                cell_timeout=options.cell_timeout, allow_errors=True,
                                notebook_name=name, write_output=number == 1,
                                on_event=once)
        outcome = outcome or this
        executed.append(this.notebook)
    assert outcome is not None
    report = _compare(source, executed, options, notebook=str(path), image=built.tag,
                      rerun_dirs=[posixpath.join(WORKDIR, folder) if folder else WORKDIR],
                      shipped_files=_beside_notebook(built.spec, folder),
                      environments=_environments(engine, built, source, executed[0]),
                      on_event=on_event)
    return VerifyOutcome(build=built, run=outcome, report=report)


def sweep(notebook: Optional[PathLike] = None, options: Optional[Options] = None, *,
          spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
          engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
          **changes: Any) -> "SweepOutcome":
    """Run the notebook once per parameter set, each run in a container of its own.

    The sets are every combination of ``options.sweep_parameters`` (``-p NAME
    V1,V2,...``), ``options.grid`` (a .yaml/.json file, or the data itself) and
    ``options.seeds``; names the notebook's ``parameters`` cell does not set, and values
    that cannot be injected, are an :class:`InputError` before anything is built. The
    image is built once (``ensure_image``; or ``options.image``), then ``options.backend``
    runs the sets, ``options.jobs`` at a time, each with the run options (timeouts,
    memory, CPUs, network). Executed notebooks, ``results.csv`` and ``results.json`` go
    to ``options.out``, after every run. ``options.emit`` writes Kubernetes and Slurm
    files instead of running. See :mod:`nbdocker.stages.run.sweep`.

    Returns a :class:`~nbdocker.stages.run.sweep.SweepOutcome` (``.ok``, ``.failed``,
    ``.runs``); Ctrl-C raises :class:`~nbdocker.exceptions.RunInterrupted` once every
    container of the sweep is removed, leaving the complete results in place.
    """
    from .stages.run.backends import get_backend
    from .stages.run.sweep import (SweepOutcome, execute_sweep, image_notebook, make_job,
                                   plan_sweep)

    options = _options(options, changes)
    if notebook is None and not options.image:
        raise InputError("give a NOTEBOOK, or --image IMG to sweep the notebook baked into it")
    path: Optional[Path] = None
    if notebook is not None:
        from .stages.capture.project import notebook_path

        path, spec = _resolve(notebook, spec, options)
        source, _ = _container_notebook(path, None)
        # Where the image keeps it (its path in the project): every run starts in the
        # notebook's own folder there.
        name = spec.notebook if spec is not None else notebook_path(path, options.root)
    else:
        assert options.image is not None
        engine = engine or _default_engine()
        name, source = image_notebook(engine, options.image)
    # Results go beside the notebook; never into a bundle or an image's notebook.
    folder = path.parent if path is not None and not Path(str(notebook)).is_dir() \
        else Path.cwd()
    out = Path(options.out) if options.out else folder / f"{Path(name).stem}.sweep"
    planned = plan_sweep(name, source, out=out, grid=options.grid,
                         values=options.sweep_parameters, seeds=options.seeds,
                         collect=options.collect, resume=options.resume,
                         send_source=path is not None, check_out=not options.emit)
    if options.emit or options.backend == "kubernetes":
        # Kubernetes needs an engine only to build and push.
        if options.registry or not options.image:
            engine = engine or _default_engine()
    else:
        engine = engine or _default_engine()
    backend = get_backend("kubernetes" if options.emit else options.backend, engine,
                          registry=options.registry)
    if not options.emit:
        backend.check()   # a missing swarm, registry or kubeconfig: said before building
    image = options.image
    if image is None:
        assert path is not None and engine is not None
        image = ensure_image(path, options, spec=spec, kernel=kernel, engine=engine,
                             on_event=on_event).tag
    ref = backend.publish(image, on_event)
    if options.emit:
        from .stages.run.sweep_emit import emit_sweep

        job = make_job(planned, ref, limits=_limits(options),
                       cell_timeout=options.cell_timeout,
                       concurrency=options.jobs or backend.default_concurrency())
        written = emit_sweep(job, Path(options.emit))
        emit(on_event, Event(Phase.SWEEP, "done", f"wrote {len(written)} files to "
                             f"{options.emit}", data={"files": [str(p) for p in written]}))
        return SweepOutcome(runs=(), out=Path(options.emit), image=ref, backend="emit",
                            notebook=name, parameters=planned.names,
                            collect=planned.collect, emitted=tuple(written))
    return execute_sweep(planned, backend, ref, limits=_limits(options),
                         cell_timeout=options.cell_timeout, concurrency=options.jobs,
                         on_event=on_event)


def compare(original: PathLike, reruns: Union[PathLike, Sequence[PathLike]],
            options: Optional[Options] = None, *, on_event: Optional[EventHandler] = None,
            **changes: Any) -> "ReproductionReport":
    """Compare the executed notebook(s) ``reruns`` with ``original`` (no engine needed):
    the first re-run against the original, any further ones against the first (what
    differs between them is volatile). Writes ``options.html`` / ``options.junit_xml``
    when asked."""
    from .notebook_io import read_notebook

    options = _options(options, changes)
    _check_reports(options)
    paths = [Path(original)] + ([Path(reruns)] if isinstance(reruns, (str, Path))
                                else [Path(p) for p in reruns])
    if len(paths) < 2:
        raise InputError("compare needs the ORIGINAL notebook and at least one RERUN")
    notebooks = [read_notebook(p) for p in paths]   # one clear NotebookError each
    return _compare(notebooks[0], notebooks[1:], options, notebook=str(paths[0]),
                    original_dir=str(paths[0].resolve().parent),
                    rerun_dirs=[str(p.resolve().parent) for p in paths[1:]] + [WORKDIR],
                    environments=_environments(None, None, notebooks[0], notebooks[1]),
                    on_event=on_event)


def _check_reports(options: Options) -> None:
    """Report files that could not be written are found before any work."""
    if options.html or options.junit_xml:
        from .stages.verify.files import check_report_path

        check_report_path(options.html, "--html")
        check_report_path(options.junit_xml, "--junit-xml")


def _compare(original: Any, executed: Sequence[Any], options: Options, *,
             on_event: Optional[EventHandler], **kwargs: Any) -> "ReproductionReport":
    """The comparison both ``verify`` and ``compare`` make, and the report files."""
    from .stages.verify.compare import compare_notebooks
    from .stages.verify.files import write_reports
    from .stages.verify.markers import load_sanitize

    emit(on_event, Event(Phase.COMPARE, "progress", "comparing outputs", step=0, total=1))
    report = compare_notebooks(
        original, executed[0], controls=executed[1:], strict_images=options.strict_images,
        ignore_warnings=options.ignore_warnings, rtol=options.rtol, atol=options.atol,
        image_tolerance=options.image_tolerance, lax=options.nbval_lax,
        sanitize=load_sanitize(options.sanitize) if options.sanitize else (),
        sanitize_file=options.sanitize or "", **kwargs)
    write_reports(report, html=options.html, junit=options.junit_xml)
    for path in (options.html, options.junit_xml):
        if path:
            emit(on_event, Event(Phase.COMPARE, "log", f"report written to {path}"))
    emit(on_event, Event(Phase.COMPARE, "done", report.verdict, step=1, total=1))
    return report


def _environments(engine: Optional[ContainerEngine], built: Optional[BuildOutcome],
                  original: Any, rerun: Any) -> Tuple["Environment", "Environment"]:
    """Both sides of a comparison as far as they are known: the Python and kernel each
    notebook ran with, and for a container run its image and base image."""
    from .contract import LABEL_BASE_DIGEST, LABEL_BASE_NAME
    from .stages.verify.report import Environment

    def python(nb: Any) -> str:
        return str(((nb.metadata.get("language_info") or {}).get("version")) or "")

    def kernel(nb: Any) -> str:
        return str(((nb.metadata.get("kernelspec") or {}).get("name")) or "")

    # The saved outputs' own Python, else the captured interpreter's (same notebook).
    first = Environment("original (saved outputs)",
                        python=python(original) or (built.spec.python.version if built else ""),
                        kernel=kernel(original))
    if engine is None or built is None:
        return first, Environment("re-run", python=python(rerun), kernel=kernel(rerun))
    labels = engine.image_labels(built.tag)
    return first, Environment("re-run (container)", python=python(rerun),
                              kernel=kernel(rerun), image=built.tag, image_id=built.image_id,
                              base_image=labels.get(LABEL_BASE_NAME, built.base_image),
                              base_digest=labels.get(LABEL_BASE_DIGEST, ""))


# -- share ---------------------------------------------------------------------------

def export(notebook: PathLike, to: PathLike, options: Optional[Options] = None, *,
           spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
           engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
           **changes: Any) -> Path:
    """Write the shareable bundle of ``notebook`` (or of a bundle: re-export) to ``to``,
    a directory or a ``.tar.gz``; see :mod:`nbdocker.stages.share.bundle`. The bundle's
    ``FROM`` pins the base by digest (found or pulled on ``engine``); without an engine,
    or for a base that exists only locally, it names the base and warns."""
    from ._fs import check_writable
    from .stages.share.bundle import check_bundle_target, export_bundle

    options = _options(options, changes)
    check_writable(to, "--to", directory_ok=True)   # before the capture, not after
    path, spec = _resolve(notebook, spec, options)
    spec = _spec_for(path, options, spec, kernel, on_event)
    check_bundle_target(to, force=options.force)   # refused before a base is pulled
    spec = _pin_base(engine, spec, options, on_event)
    return export_bundle(spec, _project_dir(path, spec), to,
                         base_image=spec.base_image or options.base_image,
                         force=options.force, on_event=on_event)


def _pin_base(engine: Optional[ContainerEngine], spec: EnvironmentSpec, options: Options,
              on_event: Optional[EventHandler]) -> EnvironmentSpec:
    """``spec`` with ``base_image`` pinned by digest when an engine can find or pull the
    base; else unchanged, with a warning saying others may start from other bytes."""
    from .exceptions import EngineError
    from .stages.image.base import ensure_base, resolve_base_image

    try:
        engine = engine or _default_engine()
        base = ensure_base(engine, spec, override=options.base_image, pinned=spec.base_image,
                           pull=options.pull or "missing", platform=options.platform,
                           on_event=on_event)
    except EngineError as exc:
        name = resolve_base_image(spec, options.base_image, spec.base_image)
        emit(on_event, Event(Phase.EXPORT, "warning",
                             f"the bundle names its base {name} without a digest, so a "
                             f"rebuild elsewhere may start from other bytes ({exc})",
                             data={"base": name}))
        return spec
    if base.digest is None:
        emit(on_event, Event(Phase.EXPORT, "warning",
                             f"base image {base.name} exists only on this engine (image "
                             f"{base.image_id[:19]}, no registry digest): others cannot "
                             "pull it; push it to a registry they can reach and export "
                             "with --base-image REGISTRY/NAME, or use an official base",
                             data={"base": base.name, "image_id": base.image_id}))
        return spec.with_changes(base_image=None)
    return spec.with_changes(base_image=base.pinned)


def push(source: str, ref: str, options: Optional[Options] = None, *,
         engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
         **changes: Any) -> PushOutcome:
    """Push ``source`` (a local image, or a notebook / bundle whose image is built when
    missing) as ``ref`` (``REGISTRY/REPO[:TAG]``; without a tag, the image's own) with
    the credentials of the Docker config. ``RegistryError`` (exit 3) says why a push
    failed."""
    from .engine.refs import check_reference
    from .stages.share.registry import push_image

    options = _options(options, changes)
    check_reference(ref, "push target")
    engine = engine or _default_engine()
    image = source
    if source.endswith(".ipynb") or Path(source).is_dir():
        image = ensure_image(source, options, engine=engine, on_event=on_event).tag
    target, digest = push_image(engine, image, ref, on_event=on_event)
    return PushOutcome(source=image, ref=target, digest=digest)


def save_image(image: str, path: PathLike, *, engine: Optional[ContainerEngine] = None,
               on_event: Optional[EventHandler] = None) -> Path:
    """``docker save`` ``image`` to the tarball ``path`` (written atomically)."""
    engine = engine or _default_engine()
    target = Path(path).absolute()
    emit(on_event, Event(Phase.EXPORT, "progress", f"saving {image}", step=0, total=1))
    engine.save_image(image, str(target))
    emit(on_event, Event(Phase.EXPORT, "done", str(target), step=1, total=1,
                         data={"path": str(target), "image": image}))
    return target


def load_image(path: PathLike, *, engine: Optional[ContainerEngine] = None,
               on_event: Optional[EventHandler] = None) -> str:
    """``docker load`` the tarball ``path``; the nbdocker image it held (the first
    with nbdocker's notebook label, else the first image)."""
    from .stages.share.registry import load_image_tar

    return load_image_tar(engine or _default_engine(), path, on_event=on_event)


# What the magic and the panel can do, by the name they give it.
ACTIONS: Dict[str, Callable[..., Any]] = {"dry-run": plan, "build": build, "run": run,
                                          "verify": verify, "sweep": sweep}


# -- helpers -----------------------------------------------------------------------------

def _resolve(notebook: PathLike, spec: Optional[EnvironmentSpec], options: Options
             ) -> Tuple[Path, Optional[EnvironmentSpec]]:
    """A bundle directory stands for its (checked) notebook and spec."""
    from .stages.share.bundle import resolve_notebook

    return resolve_notebook(notebook, spec, expect_digest=options.expect_digest)


def _container_notebook(notebook: Optional[Path], output: Optional[PathLike],
                        source: Any = None, *, given: Optional[PathLike] = None
                        ) -> Tuple[Any, Optional[PathLike]]:
    """What to send to the container, read once: an in-memory copy of the notebook (or
    of ``source``) in which cells driving nbdocker (``%load_ext nbdocker``,
    ``%dockerize``) are tagged to be skipped, and the output path (beside the original,
    never over it; for a bundle (``given``), beside the bundle, never into it; with
    ``source``, only an explicit ``output``). ``(None, output)`` runs the notebook baked
    into the image."""
    if notebook is None:
        if output is not None:
            from ._fs import check_writable

            check_writable(output, "--output")
        return None, output
    from .notebook_io import read_notebook
    from .stages.run.execute import resolve_output_path
    from .stages.run.selfcells import mark_nbdocker_cells

    from ._fs import check_writable

    marked, _ = mark_nbdocker_cells(source if source is not None else read_notebook(notebook))
    if source is not None and output is None:
        return marked, None
    from .stages.share.bundle import is_bundle

    if output is None and given is not None and is_bundle(given):
        notebook = Path(given).absolute().parent / notebook.name   # a bundle stays as it was
    out = resolve_output_path(notebook, output)
    check_writable(out, "--output")   # found now, not after the whole run
    return marked, out


def _project_dir(notebook: Path, spec: EnvironmentSpec) -> Path:
    """The folder the spec's file paths are relative to (the project root)."""
    from .stages.capture.project import project_dir

    return project_dir(notebook, spec.notebook)


def _beside_notebook(spec: EnvironmentSpec, folder: str) -> List[str]:
    """The spec's files relative to the notebook's own folder (those below it)."""
    prefix = f"{folder}/" if folder else ""
    return [f.path[len(prefix):] for f in spec.files if f.path.startswith(prefix)]


def _default_engine() -> ContainerEngine:
    from .engine import get_engine

    engine = get_engine()
    engine.ping()
    return engine
