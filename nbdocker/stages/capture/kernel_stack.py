"""The kernel stack, pinned from the notebook's own interpreter.

The image re-runs the notebook on ipykernel (with IPython, traitlets, jupyter_client,
pyzmq, tornado, comm, matplotlib-inline, ...) driven by nbclient. Magics and display
behaviour depend on their versions (``%matplotlib notebook`` works on IPython 8.12 and
fails on 9.x), so the image must get the notebook's versions, not whatever resolves.

:func:`kernel_stack` adds to a capture every distribution of the runner's closure that
is installed in the target interpreter, pinned to the version found there and marked
``Requirement.kernel``: the closure of the runner's roots (``RUNNER_REQUIREMENTS``:
ipykernel, nbclient) walked through the target's ``Requires-Dist``. A root the target
lacks comes from nbdocker's default pin; what that default requires
(:data:`DEFAULT_REQUIRES`) is still pinned from the target when installed there and
compatible. In a live kernel the running modules' versions win over the installed
metadata (a package upgraded after the kernel started). The debugger and tab completion
(``RUNNER_TRIM``) are left out unless the notebook itself needs them: the image removes
them.
"""
from __future__ import annotations

import os
import sys
import warnings
from dataclasses import replace
from typing import Dict, List, Mapping, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement as PkgRequirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ...spec import Requirement
from ..image.dockerfile import RUNNER_REQUIREMENTS, RUNNER_TRIM
from .distributions import resolve
from .imports import ImportRecord
from .interpreter import InterpreterInfo

__all__ = ["kernel_stack", "DEFAULT_REQUIRES", "KERNEL_REASON"]

# Requires-Dist of the default pins (ipykernel 6.29.5, nbclient 0.10.2), from their
# wheels' METADATA; tests/unit/test_kernel_stack.py keeps the keys equal to the pins.
DEFAULT_REQUIRES: Mapping[str, Tuple[str, ...]] = {
    "ipykernel": ("appnope; platform_system == 'Darwin'", "comm>=0.1.1", "debugpy>=1.6.5",
                  "ipython>=7.23.1", "jupyter-client>=6.1.12", "jupyter-core!=5.0.*,>=4.12",
                  "matplotlib-inline>=0.1", "nest-asyncio", "packaging", "psutil",
                  "pyzmq>=24", "tornado>=6.1", "traitlets>=5.4.0"),
    "nbclient": ("jupyter-client>=6.1.12", "jupyter-core!=5.0.*,>=4.12", "nbformat>=5.1",
                 "traitlets>=5.4"),
}
KERNEL_REASON = "kernel stack"


def _seeds(info: InterpreterInfo, notes: List[str]) -> Dict[str, str]:
    """name → the root it stands for: the installed roots (themselves), and for a
    missing root what its default pin requires (when installed there and compatible)."""
    seeds: Dict[str, str] = {}
    for root, default in RUNNER_REQUIREMENTS:
        if root in info.distributions:
            seeds[root] = root
            continue
        for line in DEFAULT_REQUIRES.get(root, ()):
            try:
                req = PkgRequirement(line)
            except InvalidRequirement:
                continue
            name = canonicalize_name(req.name)
            installed = info.distributions.get(name)
            if installed is None or (req.marker is not None and not req.marker.evaluate(
                    {**info.marker_env, "extra": ""})):
                continue
            version = str(installed["version"])
            if req.specifier and not req.specifier.contains(version, prereleases=True):
                notes.append(f"{name} {version} in the target interpreter does not suit "
                             f"{root}=={default} ({req.name}{req.specifier}), which the "
                             f"image adds: {name} is not pinned")
                continue
            seeds.setdefault(name, root)
    return seeds


def _running_versions(info: InterpreterInfo, names: Sequence[str]) -> Dict[str, str]:
    """Distribution → ``__version__`` of its module as loaded in this (kernel) process,
    for the distributions ``names`` (modules that belong to one distribution only)."""
    wanted = set(names)
    found: Dict[str, str] = {}
    with warnings.catch_warnings():  # some packages deprecate __version__ itself
        warnings.simplefilter("ignore")
        for module, dists in info.packages.items():
            loaded = sys.modules.get(module)
            if loaded is None or len(dists) != 1 or canonicalize_name(dists[0]) not in wanted:
                continue
            version = getattr(loaded, "__version__", None)
            if not isinstance(version, str):
                continue
            try:
                Version(version)
            except InvalidVersion:
                continue
            found[canonicalize_name(dists[0])] = version
    return found


def kernel_stack(requirements: Sequence[Requirement], info: InterpreterInfo, *,
                 live: bool = False) -> Tuple[Tuple[Requirement, ...], Tuple[str, ...]]:
    """``requirements`` plus the kernel stack pinned from ``info`` (see the module
    docstring), and the warnings to show. A requirement the notebook already has keeps
    its own entry and is marked ``kernel``; ``live`` pins the running versions."""
    notes: List[str] = []
    seeds = _seeds(info, notes)
    records = [ImportRecord(name, None, "pip", text=name, origin="kernel stack")
               for name in sorted(seeds)]
    resolution = resolve(records, info)
    have: Dict[str, Requirement] = {r.name: r for r in requirements}
    for req in resolution.requirements:
        if req.version is None:
            continue
        current = have.get(req.name)
        if current is not None:
            have[req.name] = replace(current, kernel=True)
            continue
        if req.name in RUNNER_TRIM:
            continue
        # A seed a missing root's default needs is "required by" that root.
        parents = req.required_by or tuple(
            root for root in (seeds.get(req.name),) if root and root != req.name)
        have[req.name] = Requirement(name=req.name, version=req.version, direct=False,
                                     reasons=(KERNEL_REASON,), required_by=parents,
                                     kernel=True)
    # sys.modules speaks for ``info`` only when it describes this very interpreter.
    here = live and os.path.abspath(info.executable) == os.path.abspath(sys.executable)
    running = _running_versions(info, [n for n, r in have.items() if r.kernel]) if here else {}
    for name, version in sorted(running.items()):
        current = have.get(name)
        if current is not None and current.kernel and current.version not in (None, version):
            notes.append(f"this kernel runs {name} {version} but {current.version} is "
                            f"installed: the image gets {version}, the running one "
                            "(restart the kernel to use the installed one)")
            have[name] = replace(current, version=version)
    notes += resolution.warnings
    return tuple(have.values()), tuple(notes)

