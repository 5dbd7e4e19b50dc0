"""Build the image for a spec: one build, or an environment build and an app build.

Without a builder stage (:func:`~nbdocker.stages.image.dockerfile.needs_builder`) the
whole Dockerfile is built at once and the layer cache makes rebuilds cheap.

With one, the builder's images hold the forwarded CA / index password and are removed
after every build (by the engine, through their build-id label), so they can never serve
as cache. The build is therefore split in two, at the ``FROM env`` line of
:func:`~nbdocker.stages.image.dockerfile.render`:

1. the environment stages (:func:`render_env`), labelled with a key of everything that
   makes the environment (base image id, the stages' text, the install inputs; the index
   configuration with its credentials redacted), and skipped when an image with that key
   exists - so a notebook-only edit never re-runs the install;
2. the app stage (:func:`render_app`) ``FROM`` that environment image.

Progress events and steps of both builds are numbered as one sequence.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Dict, List, Mapping, Optional, Tuple

from ... import contract
from ...engine.base import BuildResult, BuildStep, ContainerEngine
from ...engine.fake import dockerfile_instructions
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import BuildError
from ...secrets import redact_text
from ...spec import EnvironmentSpec
from .dockerfile import (CONTEXT_BUILD_DIR, CONTRACT_FILE, RUNNER_FILE, needs_builder,
                         render_app, render_env)
from .context import tar_bytes
from .hostpip import BuildOptions

__all__ = ["build_image", "environment_key"]

_APP_FILES = (f"{CONTEXT_BUILD_DIR}/{RUNNER_FILE}", f"{CONTEXT_BUILD_DIR}/{CONTRACT_FILE}")
_REDACTED = (f"{CONTEXT_BUILD_DIR}/pip.conf", f"{CONTEXT_BUILD_DIR}/uv.toml")
_FAILED_AT_RE = re.compile(r"^build failed at step (\d+)/(\d+) ")


def _split(files: Mapping[str, bytes]) -> Tuple[Dict[str, bytes], Dict[str, bytes]]:
    """(environment files, app files) of a full build context, Dockerfiles left out."""
    env: Dict[str, bytes] = {}
    app: Dict[str, bytes] = {}
    for name, data in files.items():
        if name == "Dockerfile":
            continue
        is_env = name.startswith(CONTEXT_BUILD_DIR + "/") and name not in _APP_FILES
        (env if is_env else app)[name] = data
    return env, app


def environment_key(env_dockerfile: str, env_files: Mapping[str, bytes],
                    base_image_id: str) -> str:
    """sha256 of what makes the environment: base image id, the environment stages'
    text and the install inputs (index configuration with credentials redacted, so the
    key, which ends up as a label, says nothing about a password)."""
    digest = hashlib.sha256()
    for part in (base_image_id.encode(), env_dockerfile.encode()):
        digest.update(part + b"\0")
    for name in sorted(env_files):
        data = env_files[name]
        if name in _REDACTED:
            data = redact_text(data.decode("utf-8")).encode("utf-8")
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def _steps(dockerfile: str, labels: Mapping[str, str]) -> int:
    # The classic builder adds one LABEL step for the build's own labels.
    return len(dockerfile_instructions(dockerfile)) + (1 if labels else 0)


def _renumber(on_event: Optional[EventHandler], offset: int,
              total: int) -> Optional[EventHandler]:
    if on_event is None:
        return None

    def handler(event: Event) -> None:
        if event.kind == "progress" and event.step is not None:
            event = Event(event.phase, event.kind, f"step {event.step + offset}/{total}: "
                          f"{event.message.split(': ', 1)[-1]}", step=event.step + offset,
                          total=total, data=event.data)
        on_event(event)
    return handler


def _build(engine: ContainerEngine, context: Dict[str, bytes], tag: Optional[str],
           labels: Mapping[str, str], on_event: Optional[EventHandler], nocache: bool,
           offset: int, total: int) -> BuildResult:
    """One of the two builds, its steps and errors numbered within the whole."""
    try:
        return engine.build(tar_bytes(context), tag, labels=labels, nocache=nocache,
                            on_event=_renumber(on_event, offset, total))
    except BuildError as exc:
        m = _FAILED_AT_RE.match(str(exc))
        if m is None:
            raise
        # The same error, renumbered in place (its type, fields and traceback stay).
        exc.args = (f"build failed at step {int(m.group(1)) + offset}/{total} "
                    f"{str(exc)[m.end():]}",) + exc.args[1:]
        raise


def build_image(engine: ContainerEngine, spec: EnvironmentSpec, files: Mapping[str, bytes],
                *, base_image: str, options: BuildOptions, tag: Optional[str],
                labels: Mapping[str, str] = {}, on_event: Optional[EventHandler] = None,
                nocache: bool = False) -> BuildResult:
    """Build ``files`` (the full context of :func:`~.context.context_files` for
    ``spec``, ``base_image`` and ``options``) as ``tag``; see the module docstring."""
    if not needs_builder(options):
        return engine.build(tar_bytes(dict(files)), tag, labels=labels, on_event=on_event,
                            nocache=nocache)
    env_files, app_files = _split(files)
    env_text = render_env(spec, base_image=base_image, options=options)
    key = environment_key(env_text, env_files, engine.image_id(base_image) or base_image)
    env_labels = {contract.LABEL_ENV: key}
    # The app's text does not depend on the environment image's id except for FROM.
    app_steps = _steps(render_app(spec, env_image="env", base_image=base_image), labels)
    env_id = None if nocache else engine.find_image(contract.LABEL_ENV, key)
    env_result: Optional[BuildResult] = None
    offset = 0
    if env_id is None:
        offset = _steps(env_text, env_labels)
        env_result = _build(engine, {"Dockerfile": env_text.encode(), **env_files}, None,
                            env_labels, on_event, nocache, 0, offset + app_steps)
        env_id = env_result.image_id
    else:
        emit(on_event, Event(Phase.BUILD, "log",
                             f"environment {key[:12]} already built: {env_id[:19]}"))
    app_text = render_app(spec, env_image=env_id, base_image=base_image)
    total = offset + app_steps
    app = _build(engine, {"Dockerfile": app_text.encode(), **app_files}, tag, labels,
                 on_event, nocache, offset, total)
    steps: List[BuildStep] = [replace(s, total=total)
                              for s in (env_result.steps if env_result else ())]
    steps += [replace(s, index=s.index + offset, total=total) for s in app.steps]
    return BuildResult(image_id=app.image_id, tag=app.tag, steps=tuple(steps),
                       log=(env_result.log if env_result else ()) + app.log,
                       warnings=(env_result.warnings if env_result else ()) + app.warnings)
