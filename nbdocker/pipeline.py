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
from dataclasses import dataclass
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Tuple, Union)

from .contract import LABEL_BUILD_HASH
from .engine.base import BuildResult, ContainerEngine, ContainerLimits
from .events import Event, EventHandler, Phase, emit
from .exceptions import InputError
from .options import Options
from .spec import EnvironmentSpec

if TYPE_CHECKING:  # the stages load lazily: capturing needs neither docker-py nor nbclient
    from .stages.image.hostpip import BuildOptions
    from .stages.capture.live import LiveKernel
    from .stages.run.execute import RunOutcome
    from .stages.verify.compare import ReproductionReport

__all__ = ["Plan", "BuildOutcome", "PushOutcome", "VerifyOutcome", "capture", "plan",
           "dockerfile", "build", "ensure_image", "run", "verify", "export", "push",
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
    base_image: str
    result: Optional[BuildResult] = None   # None when the image already existed
    saved: Optional[Path] = None
    pushed: Optional[PushOutcome] = None

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
    path, bundled = _resolve(notebook, None)
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
                                env_names=options.env, on_event=on_event)
        else:
            spec = capture_notebook(notebook, python=options.python, env_names=options.env,
                                    on_event=on_event)
        # The stage reports progress; its warnings reach the user here, once.
        for warning in spec.warnings:
            emit(on_event, Event(Phase.CAPTURE, "warning", warning))
    return apply_changes(spec, exclude=options.exclude, extra=options.add)


# -- image ---------------------------------------------------------------------------

def dockerfile(spec: EnvironmentSpec, options: Optional[Options] = None,
               **changes: Any) -> str:
    """The deterministic Dockerfile for ``spec`` (pure; no engine needed)."""
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
    path, spec = _resolve(notebook, spec)
    spec = _spec_for(path, options, spec, kernel, on_event)
    return Plan(spec=spec, dockerfile=dockerfile(spec, options),
                tag=options.tag or default_tag(spec),
                base_image=resolve_base_image(spec, options.base_image))


def build(notebook: PathLike, options: Optional[Options] = None, *,
          spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
          engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
          **changes: Any) -> BuildOutcome:
    """Build the image (capturing first unless ``spec`` is given), then save and push
    it when ``options.save`` / ``options.push`` ask."""
    options = _options(options, changes)
    path, spec = _resolve(notebook, spec)
    spec = _spec_for(path, options, spec, kernel, on_event)
    engine = engine or _default_engine()
    built = _build(engine, spec, options, _build_inputs(spec, path, options, on_event),
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
    path, spec = _resolve(notebook, spec)
    spec = _spec_for(path, options, spec, kernel, on_event)
    engine = engine or _default_engine()
    inputs = _build_inputs(spec, path, options, on_event)
    tag = _tag(spec, options)
    image_id = engine.image_id(tag)
    if image_id is not None and engine.image_labels(tag).get(LABEL_BUILD_HASH) == inputs[2]:
        emit(on_event, Event(Phase.BUILD, "done", f"{tag} (already built)",
                             data={"image_id": image_id, "reused": True}))
        return BuildOutcome(tag=tag, image_id=image_id, spec=spec, base_image=inputs[0])
    return _build(engine, spec, options, inputs, on_event)


def _tag(spec: EnvironmentSpec, options: Options) -> str:
    from .stages.image import default_tag

    return options.tag or default_tag(spec)


def _build(engine: ContainerEngine, spec: EnvironmentSpec, options: Options,
           inputs: "_BuildInputs", on_event: Optional[EventHandler]) -> BuildOutcome:
    from .stages.image.base import check_base_python
    from .stages.image.build import build_image

    base, files, build_hash, build_options = inputs
    tag = _tag(spec, options)
    check_base_python(engine, base, spec, on_event)
    result = build_image(engine, spec, files, base_image=base, options=build_options,
                         tag=tag, labels={LABEL_BUILD_HASH: build_hash}, on_event=on_event)
    emit(on_event, Event(Phase.BUILD, "done", tag, data={"image_id": result.image_id}))
    return BuildOutcome(tag=tag, image_id=result.image_id, spec=spec, base_image=base,
                        result=result)


# base image, build-context files, digest of the context tar, host build options
_BuildInputs = Tuple[str, Dict[str, bytes], str, "BuildOptions"]


def _build_inputs(spec: EnvironmentSpec, notebook: Path, options: Options,
                  on_event: Optional[EventHandler]) -> _BuildInputs:
    """The base image, the build context's files and the digest of its tar (the tar is
    deterministic, so equal digests mean an identical build), and the host's build
    options (CA bundle, indexes)."""
    from .stages.image import context_files, discover_build_options, tar_bytes
    from .stages.image.base import resolve_base_image

    base = resolve_base_image(spec, options.base_image)
    build_options = discover_build_options()
    files = context_files(spec, notebook.parent, base_image=base, options=build_options,
                          on_event=on_event)
    return base, files, hashlib.sha256(tar_bytes(files)).hexdigest(), build_options


def _share_built(engine: ContainerEngine, built: BuildOutcome, options: Options,
                 on_event: Optional[EventHandler]) -> BuildOutcome:
    from dataclasses import replace

    saved = save_image(built.tag, options.save, engine=engine, on_event=on_event) \
        if options.save else None
    pushed = push(built.tag, options.push, engine=engine, on_event=on_event) \
        if options.push else None
    return replace(built, saved=saved, pushed=pushed)


# -- run and verify --------------------------------------------------------------------

def _limits(options: Options) -> ContainerLimits:
    return ContainerLimits(network=options.network, memory=options.memory,
                           cpus=options.cpus, timeout=options.timeout)


def run(notebook: Optional[PathLike] = None, options: Optional[Options] = None, *,
        spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
        engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
        **changes: Any) -> "RunOutcome":
    """Run the notebook headless in its image: ``options.image`` (or the image of
    ``options.image_tar``), else the notebook's own, built when missing. Without a
    notebook, the notebook baked into the image runs. Cells that drive nbdocker itself
    are skipped (see :mod:`nbdocker.stages.run.selfcells`).

    Raises :class:`~nbdocker.exceptions.RunError` subclasses when a cell fails (unless
    ``options.allow_errors``), the run times out or the kernel dies.
    """
    from .stages.run.execute import run_in_container

    options = _options(options, changes)
    if notebook is None and not (options.image or options.image_tar):
        raise InputError("give a NOTEBOOK, or --image IMG / --image-tar FILE.tar to run "
                         "the notebook baked into it")
    path: Optional[Path] = None
    if notebook is not None:
        path, spec = _resolve(notebook, spec)
    engine = engine or _default_engine()
    image = options.image
    if options.image_tar:
        loaded = load_image(options.image_tar, engine=engine, on_event=on_event)
        image = image or loaded
    if image is None:
        assert path is not None
        image = ensure_image(path, options, spec=spec, kernel=kernel, engine=engine,
                             on_event=on_event).tag
    source, output, name = _container_notebook(path, options.output)
    return run_in_container(engine, image, source, parameters=options.parameters,
                            output=output, limits=_limits(options),
                            cell_timeout=options.cell_timeout,
                            allow_errors=options.allow_errors, notebook_name=name,
                            on_event=on_event)


def verify(notebook: PathLike, options: Optional[Options] = None, *,
           spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
           engine: Optional[ContainerEngine] = None, on_event: Optional[EventHandler] = None,
           **changes: Any) -> VerifyOutcome:
    """capture (unless ``spec``) → build (or reuse) → run (errors allowed) → compare
    with the saved outputs. Cells that drive nbdocker itself are skipped in both."""
    from .stages.run.execute import run_in_container
    from .stages.verify.compare import compare_notebooks

    options = _options(options, changes)
    engine = engine or _default_engine()
    path, spec = _resolve(notebook, spec)
    source, output, name = _container_notebook(path, options.output)
    built = ensure_image(path, options, spec=spec, kernel=kernel, engine=engine,
                         on_event=on_event)
    # Errors are allowed so that every cell gets compared; a cell that now raises shows
    # up as "error" in the report instead of stopping the run.
    outcome = run_in_container(engine, built.tag, source, parameters=options.parameters,
                               output=output, limits=_limits(options),
                               cell_timeout=options.cell_timeout, allow_errors=True,
                               notebook_name=name, on_event=on_event)
    emit(on_event, Event(Phase.COMPARE, "progress", "comparing outputs", step=0, total=1))
    report = compare_notebooks(source, outcome.notebook, image=built.tag,
                               notebook=str(path), strict_images=options.strict_images,
                               ignore_warnings=options.ignore_warnings,
                               shipped_files=[f.path for f in built.spec.files])
    emit(on_event, Event(Phase.COMPARE, "done", "reproduced" if report.reproduced
                         else "outputs differ", step=1, total=1))
    return VerifyOutcome(build=built, run=outcome, report=report)


# -- share ---------------------------------------------------------------------------

def export(notebook: PathLike, to: PathLike, options: Optional[Options] = None, *,
           spec: Optional[EnvironmentSpec] = None, kernel: Optional["LiveKernel"] = None,
           on_event: Optional[EventHandler] = None, **changes: Any) -> Path:
    """Write the shareable bundle of ``notebook`` (or of a bundle: re-export) to ``to``,
    a directory or a ``.tar.gz``; see :mod:`nbdocker.stages.share.bundle`. No engine
    needed."""
    from .stages.image.base import resolve_base_image
    from .stages.share.bundle import export_bundle

    options = _options(options, changes)
    path, spec = _resolve(notebook, spec)
    spec = _spec_for(path, options, spec, kernel, on_event)
    return export_bundle(spec, path.parent, to,
                         base_image=resolve_base_image(spec, options.base_image),
                         on_event=on_event)


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
                                          "verify": verify}


# -- helpers -----------------------------------------------------------------------------

def _resolve(notebook: PathLike, spec: Optional[EnvironmentSpec]
             ) -> Tuple[Path, Optional[EnvironmentSpec]]:
    """A bundle directory stands for its (checked) notebook and spec."""
    from .stages.share.bundle import resolve_notebook

    return resolve_notebook(notebook, spec)


def _container_notebook(notebook: Optional[Path], output: Optional[PathLike]
                        ) -> Tuple[Any, Optional[PathLike], Optional[str]]:
    """What to send to the container, read once: an in-memory copy of the notebook in
    which cells driving nbdocker (``%load_ext nbdocker``, ``%dockerize``) are tagged to
    be skipped, the output path (beside the original, never over it) and the notebook's
    file name. ``(None, output, None)`` runs the notebook baked into the image."""
    if notebook is None:
        return None, output, None
    from .notebook_io import read_notebook
    from .stages.run.execute import resolve_output_path
    from .stages.run.selfcells import mark_nbdocker_cells

    marked, _ = mark_nbdocker_cells(read_notebook(notebook))
    return marked, resolve_output_path(notebook, output), notebook.name


def _default_engine() -> ContainerEngine:
    from .engine import get_engine

    engine = get_engine()
    engine.ping()
    return engine
