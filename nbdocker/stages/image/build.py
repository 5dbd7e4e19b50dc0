"""Build the image for a spec: one classic build, or - when a CA bundle or index
configuration must stay out of every image - the environment first, in a container.

Without a CA or index (:func:`~nbdocker.stages.image.dockerfile.needs_builder`) the
whole one-stage Dockerfile is built at once; the layer cache makes rebuilds cheap.

With one, a builder stage would leave images holding the CA and the password (the
classic builder keeps every stage's steps as images) and would cost a second copy of the
venv. Instead:

1. the environment's key: sha256 of the install format (:data:`_ENV_FORMAT`), the base
   image id, the system stage, the install script and its inputs (the index
   configuration with credentials redacted, so the key, which ends up in a label, says
   nothing about a password). An image with that key is
   reused as it is: a notebook-only edit never re-runs the install;
2. otherwise the ``system`` stage (base, OS packages, user; no secret, so the layer cache
   applies) is built, and the install script runs in a throwaway container of it, as
   root, with its inputs put in through the archive API; the script deletes them, so
   when it succeeds the container is committed as the environment image (labelled with
   the key) without them, and it is removed whatever happens (failure, Ctrl-C);
3. the app stage (:func:`~.dockerfile.render_app`) is built ``FROM`` that image.

Progress events, steps and build errors of the parts are numbered as one sequence.
"""
from __future__ import annotations

import hashlib
import posixpath
import re
import time
from dataclasses import replace
from typing import Dict, List, Mapping, Optional, Tuple

from ... import contract
from ...engine.base import (BuildResult, BuildStep, ContainerEngine, ContainerLimits,
                            dockerfile_instructions)
from ...engine.buildlog import GuessLog, failure_reason, short
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import BuildError
from ...secrets import redact_text
from ...spec import EnvironmentSpec
from .context import tar_bytes
from .dockerfile import (BUILD_TMP, CONTEXT_BUILD_DIR, CONTRACT_FILE, RUNNER_FILE,
                         install_script, needs_builder, render_app, render_system)
from .hostpip import BuildOptions

__all__ = ["build_image", "environment_key"]

_APP_FILES = (f"{CONTEXT_BUILD_DIR}/{RUNNER_FILE}", f"{CONTEXT_BUILD_DIR}/{CONTRACT_FILE}")
_REDACTED = (f"{CONTEXT_BUILD_DIR}/pip.conf", f"{CONTEXT_BUILD_DIR}/uv.toml")
_FAILED_AT_RE = re.compile(r"^build failed at step (\d+)/(\d+) ")
_LOG_TAIL = 25
# How the install container is set up; bumped when that changes, so that an environment
# image made the old way is not reused (2: inputs below /tmp, /tmp's mode kept).
_ENV_FORMAT = "nbdocker-env 2"


def _split(files: Mapping[str, bytes]) -> Tuple[Dict[str, bytes], Dict[str, bytes]]:
    """(install inputs, app files) of a full build context, the Dockerfile left out."""
    env: Dict[str, bytes] = {}
    app: Dict[str, bytes] = {}
    for name, data in files.items():
        if name == "Dockerfile":
            continue
        is_env = name.startswith(CONTEXT_BUILD_DIR + "/") and name not in _APP_FILES
        (env if is_env else app)[name] = data
    return env, app


def environment_key(system_dockerfile: str, script: str, inputs: Mapping[str, bytes],
                    base_image_id: str) -> str:
    """sha256 of what makes the environment (see the module docstring)."""
    digest = hashlib.sha256()
    for part in (_ENV_FORMAT, base_image_id, system_dockerfile, script):
        digest.update(part.encode() + b"\0")
    for name in sorted(inputs):
        data = inputs[name]
        if name in _REDACTED:
            data = redact_text(data.decode("utf-8")).encode("utf-8")
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def _steps(dockerfile: str, labels: Mapping[str, str]) -> int:
    # The classic builder adds one LABEL step per build label.
    return len(dockerfile_instructions(dockerfile)) + len(labels)


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
           offset: int, total: int, platform: Optional[str] = None) -> BuildResult:
    """One classic build of the parts, its steps and errors numbered within the whole."""
    try:
        result = engine.build(tar_bytes(context), tag, labels=labels, nocache=nocache,
                              platform=platform, on_event=_renumber(on_event, offset, total))
    except BuildError as exc:
        m = _FAILED_AT_RE.match(str(exc))
        if m is None:
            raise
        # The same error, renumbered in place (its type, fields and traceback stay).
        exc.args = (f"build failed at step {int(m.group(1)) + offset}/{total} "
                    f"{str(exc)[m.end():]}",) + exc.args[1:]
        raise
    return replace(result, steps=tuple(replace(s, index=s.index + offset, total=total)
                                       for s in result.steps))


def _install(engine: ContainerEngine, system_id: str, script: str,
             inputs: Mapping[str, bytes], key: str, step: int, total: int,
             on_event: Optional[EventHandler],
             platform: Optional[str] = None) -> Tuple[str, BuildStep, Tuple[str, ...]]:
    """Run the install script in a container of the system image and commit it: the
    environment image's id, the step as a BuildStep, and the guess warnings."""
    instruction = "RUN " + " ".join(script.replace("\\\n", " ").split())
    emit(on_event, Event(Phase.BUILD, "progress", f"step {step}/{total}: {short(instruction, 60)}",
                         step=step, total=total, data={"instruction": instruction,
                                                       "cached": False}))
    guesses = GuessLog()
    lines: List[str] = []

    def on_line(line: str) -> None:
        lines.append(line)
        warning = guesses.feed(line)
        if warning is not None:
            emit(on_event, warning)
        elif not GuessLog.is_marker(line) and line.strip():
            emit(on_event, Event(Phase.BUILD, "log", line))

    # From BUILD_TMP's parent: a working directory of the container would outlive the
    # script's cleanup, and the archive must not carry an entry for the parent itself
    # (from "/", a "tmp/" entry would reset /tmp's mode 1777 to 0755 in the image).
    parent, where = posixpath.split(BUILD_TMP)
    start = time.monotonic()
    result = engine.run(system_id, ["/bin/sh", "-c", script], workdir=parent,
                        files_in={f"{where}/{n[len(CONTEXT_BUILD_DIR) + 1:]}": d
                                  for n, d in inputs.items()},
                        limits=ContainerLimits(user="0", platform=platform), on_line=on_line,
                        commit={contract.LABEL_ENV: key})
    if result.exit_code != 0 or result.image_id is None:
        reason = redact_text(failure_reason(lines, f"exited with code {result.exit_code}"))
        raise BuildError(f"build failed at step {step}/{total} ({short(instruction, 60)}): "
                         f"{reason}", step=instruction, reason=reason,
                         log_tail=[redact_text(x) for x in lines[-_LOG_TAIL:]])
    return (result.image_id, BuildStep(step, total, instruction, False,
                                       round(time.monotonic() - start, 3)),
            tuple(guesses.warnings))


def build_image(engine: ContainerEngine, spec: EnvironmentSpec, files: Mapping[str, bytes],
                *, base_image: str, options: BuildOptions, tag: Optional[str],
                labels: Mapping[str, str] = {}, on_event: Optional[EventHandler] = None,
                platform: Optional[str] = None, nocache: bool = False,
                base_distribution: Optional[str] = None) -> BuildResult:
    """Build ``files`` (the full context of :func:`~.context.context_files` for
    ``spec``, ``base_image`` and ``options``) as ``tag`` for ``platform`` (None: the
    engine's own); see the module docstring. ``nocache``: no layer cache and no reused
    environment (benchmarks). ``base_distribution``: the one ``files`` were rendered for."""
    if not needs_builder(options):
        return engine.build(tar_bytes(dict(files)), tag, labels=labels, on_event=on_event,
                            platform=platform, nocache=nocache)
    inputs, app_files = _split(files)
    system_text = render_system(spec, base_image=base_image,
                                base_distribution=base_distribution)
    script = install_script(spec, options)
    key = environment_key(system_text, script, inputs,
                          engine.image_id(base_image) or base_image)
    # The app's step count does not depend on the environment image's id.
    app_steps = _steps(render_app(spec, env_image="env", base_image=base_image), labels)
    env_id = None if nocache else engine.find_image(contract.LABEL_ENV, key)
    steps: List[BuildStep] = []
    log: Tuple[str, ...] = ()
    warnings: Tuple[str, ...] = ()
    offset = 0
    if env_id is None:
        offset = _steps(system_text, {}) + 1
        total = offset + app_steps
        system = _build(engine, {"Dockerfile": system_text.encode()}, None, {}, on_event,
                        nocache, 0, total, platform)
        env_id, install, warnings = _install(engine, system.image_id, script, inputs, key,
                                             offset, total, on_event, platform)
        steps, log = list(system.steps) + [install], system.log
    else:
        emit(on_event, Event(Phase.BUILD, "log",
                             f"environment {key[:12]} already installed: {env_id[:19]}"))
    total = offset + app_steps
    app_text = render_app(spec, env_image=env_id, base_image=base_image)
    app = _build(engine, {"Dockerfile": app_text.encode(), **app_files}, tag, labels,
                 on_event, nocache, offset, total, platform)
    return BuildResult(image_id=app.image_id, tag=app.tag, steps=tuple(steps) + app.steps,
                       log=log + app.log, warnings=warnings + app.warnings)
