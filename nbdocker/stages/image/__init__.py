"""Spec → Dockerfile → build context.

:func:`render` is pure (golden-file tested); :func:`build_context` adds the files;
:func:`build_image` builds them (the environment in a container when a CA or index
must stay out of every image);
:func:`discover_build_options` reads the host's CA bundle and http(s) index URLs, which
go to the install step only. See :mod:`nbdocker.stages.image.dockerfile` for the layout.
"""
from .context import build_context, context_files, runner_files, tar_bytes
from .hostpip import BuildOptions, discover_build_options
from .dockerfile import (RUNNER_REQUIREMENTS, UV_VERSION, build_files, default_tag, image_labels,
                         install_script, needs_builder, render, render_app, render_system,
                         requirements_txt, runner_requirements_txt)
from .build import build_image

__all__ = [
    "render",
    "render_system",
    "render_app",
    "install_script",
    "needs_builder",
    "build_files",
    "build_image",
    "build_context",
    "context_files",
    "tar_bytes",
    "runner_files",
    "default_tag",
    "image_labels",
    "requirements_txt",
    "runner_requirements_txt",
    "BuildOptions",
    "discover_build_options",
    "RUNNER_REQUIREMENTS",
    "UV_VERSION",
]
