"""capture → render → build → run → compare: the one pipeline every front end uses.

Each step is a plain function taking an optional ``on_event`` callback (see
:mod:`nbdocker.events`) and returning a typed result; the CLI, the ``%dockerize`` magic
and the widget panel only render events and results. Callbacks rather than generators
keep results as return values and errors as ordinary exceptions, and work unchanged from
the widget's worker thread.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from .contract import LABEL_BUILD_HASH
from .engine.base import BuildResult, ContainerEngine, ContainerLimits
from .events import Event, EventHandler, Phase, emit
from .spec import EnvironmentSpec

__all__ = ["BuildOutcome", "capture", "dockerfile", "build", "ensure_image", "run", "verify",
           "VerifyOutcome", "export", "push", "PushOutcome", "save_image", "load_image"]

PathLike = Union[str, Path]



@dataclass(frozen=True)
class BuildOutcome:
    """A built (or found) image for a spec."""

    tag: str
    image_id: str
    spec: EnvironmentSpec
    base_image: str
    result: Optional[BuildResult] = None   # None when the image already existed

    @property
    def built(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class VerifyOutcome:
    """``verify``'s result: the image, the executed notebook's path and the report."""

    build: BuildOutcome
    output: Path
    report: Any  # nbdocker.stages.verify.compare.ReproductionReport (kept lazy: compare is not needed to capture)


def capture(notebook: PathLike, *, python: Optional[str] = None, env_names: Sequence[str] = (),
            on_event: Optional[EventHandler] = None) -> EnvironmentSpec:
    """Capture ``notebook``'s environment; versions from ``python`` (default: its kernel's)."""
    from .stages.capture import capture_notebook

    notebook, bundled = _resolve(notebook, None)
    if bundled is not None:  # a bundle's spec is its capture: never re-capture it
        return bundled
    spec = capture_notebook(notebook, python=python, env_names=env_names, on_event=on_event)
    # capture_notebook reports progress; warnings are raised here once for every caller.
    for warning in spec.warnings:
        emit(on_event, Event(Phase.CAPTURE, "warning", warning))
    return spec


def dockerfile(spec: EnvironmentSpec, *, base_image: Optional[str] = None) -> str:
    """The deterministic Dockerfile for ``spec`` (pure; no engine needed)."""
    from .stages.image.base import resolve_base_image
    from .stages.image import discover_build_options, render

    return render(spec, base_image=resolve_base_image(spec, base_image),
                  options=discover_build_options())


def build(notebook: PathLike, *, spec: Optional[EnvironmentSpec] = None,
          python: Optional[str] = None, tag: Optional[str] = None,
          base_image: Optional[str] = None, engine: Optional[ContainerEngine] = None,
          on_event: Optional[EventHandler] = None) -> BuildOutcome:
    """Build the image for ``notebook`` (capturing first unless ``spec`` is given)."""
    from .stages.image import default_tag

    notebook, spec = _resolve(notebook, spec)
    spec = spec or capture(notebook, python=python, on_event=on_event)
    engine = engine or _default_engine()
    return _build(engine, spec, tag or default_tag(spec),
                  _build_inputs(spec, notebook, base_image, on_event), on_event)


def _build(engine: ContainerEngine, spec: EnvironmentSpec, tag: str,
           inputs: Tuple[str, bytes, str], on_event: Optional[EventHandler]) -> BuildOutcome:
    from .stages.image.base import check_base_python

    base, context, build_hash = inputs
    check_base_python(engine, base, spec, on_event)
    result = engine.build(context, tag, labels={LABEL_BUILD_HASH: build_hash},
                          on_event=on_event)
    emit(on_event, Event(Phase.BUILD, "done", tag, data={"image_id": result.image_id}))
    return BuildOutcome(tag=tag, image_id=result.image_id, spec=spec, base_image=base,
                        result=result)


def ensure_image(notebook: PathLike, *, spec: Optional[EnvironmentSpec] = None,
                 python: Optional[str] = None, tag: Optional[str] = None,
                 base_image: Optional[str] = None, engine: Optional[ContainerEngine] = None,
                 on_event: Optional[EventHandler] = None) -> BuildOutcome:
    """The image for the notebook's current spec: reuse it when an image with that tag
    was built from exactly these inputs (spec, base image, Dockerfile, runner, files —
    the ``io.nbdocker.build-hash`` label), else build it (the layer cache keeps that
    cheap when little changed)."""
    from .stages.image import default_tag

    notebook, spec = _resolve(notebook, spec)
    spec = spec or capture(notebook, python=python, on_event=on_event)
    engine = engine or _default_engine()
    tag = tag or default_tag(spec)
    inputs = _build_inputs(spec, notebook, base_image, on_event)
    image_id = engine.image_id(tag)
    if image_id is not None and engine.image_labels(tag).get(LABEL_BUILD_HASH) == inputs[2]:
        emit(on_event, Event(Phase.BUILD, "done", f"{tag} (already built)",
                             data={"image_id": image_id, "reused": True}))
        return BuildOutcome(tag=tag, image_id=image_id, spec=spec, base_image=inputs[0])
    return _build(engine, spec, tag, inputs, on_event)


def _build_inputs(spec: EnvironmentSpec, notebook: Path, base_image: Optional[str],
                  on_event: Optional[EventHandler]) -> Tuple[str, bytes, str]:
    """The base image, the in-memory build context and its digest (the context tar is
    deterministic, so equal digests mean an identical build)."""
    from .stages.image.base import resolve_base_image
    from .stages.image import build_context, discover_build_options

    base = resolve_base_image(spec, base_image)
    context = build_context(spec, notebook.parent, base_image=base,
                            options=discover_build_options(), on_event=on_event)
    return base, context, hashlib.sha256(context).hexdigest()


def run(notebook: Optional[PathLike] = None, *, image: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None, output: Optional[PathLike] = None,
        limits: ContainerLimits = ContainerLimits(), cell_timeout: Optional[float] = None,
        allow_errors: bool = False, python: Optional[str] = None,
        base_image: Optional[str] = None, engine: Optional[ContainerEngine] = None,
        spec: Optional[EnvironmentSpec] = None, tag: Optional[str] = None,
        on_event: Optional[EventHandler] = None) -> Any:
    """Run the notebook headless in its image (built first when missing, from ``spec``
    when given). Cells that drive nbdocker itself are skipped (see
    :mod:`nbdocker.stages.run.selfcells`).

    Returns :class:`nbdocker.stages.run.execute.RunOutcome`; raises :class:`~nbdocker.exceptions.RunError`
    subclasses when a cell fails, the run times out or the kernel dies.
    """
    from .stages.run.execute import run_in_container

    engine = engine or _default_engine()
    if notebook is not None:
        notebook, spec = _resolve(notebook, spec)
    if image is None:
        if notebook is None:
            raise ValueError("run() needs a notebook or an image")
        image = ensure_image(notebook, spec=spec, python=python, tag=tag,
                             base_image=base_image, engine=engine, on_event=on_event).tag
    source, output, name = _container_notebook(notebook, output)
    return run_in_container(engine, image, source, parameters=dict(parameters or {}),
                            output=output, limits=limits, cell_timeout=cell_timeout,
                            allow_errors=allow_errors, notebook_name=name, on_event=on_event)


def verify(notebook: PathLike, *, parameters: Optional[Mapping[str, Any]] = None,
           output: Optional[PathLike] = None, limits: ContainerLimits = ContainerLimits(),
           cell_timeout: Optional[float] = None, python: Optional[str] = None,
           base_image: Optional[str] = None, engine: Optional[ContainerEngine] = None,
           spec: Optional[EnvironmentSpec] = None, tag: Optional[str] = None,
           strict_images: bool = False, ignore_warnings: bool = False,
           on_event: Optional[EventHandler] = None) -> VerifyOutcome:
    """capture (unless ``spec``) → build (or reuse) → run (errors allowed) → compare
    with saved outputs. Cells that drive nbdocker itself are skipped in both. With
    ``strict_images`` a differing image makes its cell "differs"; ``ignore_warnings``
    leaves Python warnings on stderr out of the comparison."""
    from .stages.verify.compare import compare_notebooks
    from .stages.run.execute import run_in_container

    engine = engine or _default_engine()
    notebook, spec = _resolve(notebook, spec)
    source, output, name = _container_notebook(notebook, output)
    built = ensure_image(notebook, spec=spec, python=python, tag=tag, base_image=base_image,
                         engine=engine, on_event=on_event)
    # Errors are allowed so that every cell gets compared; a cell that now raises shows
    # up as "error" in the report instead of stopping the run.
    outcome = run_in_container(engine, built.tag, source, parameters=dict(parameters or {}),
                               output=output, limits=limits, cell_timeout=cell_timeout,
                               allow_errors=True, notebook_name=name, on_event=on_event)
    emit(on_event, Event(Phase.COMPARE, "progress", "comparing outputs", step=0, total=1))
    report = compare_notebooks(source, outcome.notebook, image=built.tag,
                               notebook=str(notebook), strict_images=strict_images,
                               ignore_warnings=ignore_warnings,
                               shipped_files=[f.path for f in built.spec.files])
    emit(on_event, Event(Phase.COMPARE, "done", "reproduced" if report.reproduced
                         else "outputs differ", step=1, total=1))
    return VerifyOutcome(build=built, output=outcome.output, report=report)


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
        from .stages.share.registry import repository_of

        return f"{repository_of(self.ref)}@{self.digest}"


def export(notebook: PathLike, to: PathLike, *, spec: Optional[EnvironmentSpec] = None,
           python: Optional[str] = None, env_names: Sequence[str] = (),
           base_image: Optional[str] = None, on_event: Optional[EventHandler] = None) -> Path:
    """Write the shareable bundle of ``notebook`` (or of a bundle: re-export) to ``to``,
    a directory or a ``.tar.gz``; see :mod:`nbdocker.stages.share.bundle`. No engine needed."""
    from .stages.share.bundle import export_bundle

    notebook, spec = _resolve(notebook, spec)
    spec = spec or capture(notebook, python=python, env_names=env_names, on_event=on_event)
    return export_bundle(spec, notebook.parent, to, base_image=base_image, on_event=on_event)


def push(image: str, ref: str, *, engine: Optional[ContainerEngine] = None,
         on_event: Optional[EventHandler] = None) -> PushOutcome:
    """Tag local ``image`` as ``ref`` (``REGISTRY/REPO[:TAG]``; without a tag, the
    image's own tag) and push it with the credentials of the Docker config
    (``~/.docker/config.json``). ``RegistryError`` (exit 3) says why a push failed."""
    from .stages.share.registry import push_image

    engine = engine or _default_engine()
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


def _resolve(notebook: PathLike, spec: Optional[EnvironmentSpec]
             ) -> Tuple[Path, Optional[EnvironmentSpec]]:
    """A bundle directory stands for its (checked) notebook and spec."""
    from .stages.share.bundle import resolve_notebook

    return resolve_notebook(notebook, spec)


def _read(notebook: PathLike) -> Any:
    from .notebook_io import read_notebook

    return read_notebook(notebook)


def _container_notebook(notebook: Optional[PathLike], output: Optional[PathLike]
                        ) -> Tuple[Any, Optional[PathLike], Optional[str]]:
    """What to send to the container, read once: an in-memory copy of the notebook in
    which cells driving nbdocker (``%load_ext nbdocker``, ``%dockerize``) are tagged to
    be skipped, the output path (beside the original, never over it) and the notebook's
    file name. ``(None, output, None)`` runs the notebook baked into the image."""
    if notebook is None:
        return None, output, None
    from .stages.run.execute import resolve_output_path
    from .stages.run.selfcells import mark_nbdocker_cells

    marked, _ = mark_nbdocker_cells(_read(notebook))
    return marked, resolve_output_path(notebook, output), Path(notebook).name


def _default_engine() -> ContainerEngine:
    from .engine import get_engine

    engine = get_engine()
    engine.ping()
    return engine
