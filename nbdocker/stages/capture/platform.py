"""The environment around the code: interpreter/platform facts and opt-in env vars."""
from __future__ import annotations

import os
from typing import List, Mapping, Optional, Sequence, Tuple

from ...spec import PlatformInfo, PythonInfo
from .interpreter import InterpreterInfo
from ...secrets import env_secret_reason

__all__ = ["python_info", "platform_info", "capture_env"]


def python_info(info: InterpreterInfo) -> PythonInfo:
    """Full version (``3.11.7``) and implementation of the target interpreter."""
    return PythonInfo(version=info.version, implementation=info.implementation)


def platform_info(info: InterpreterInfo, kernel_name: str) -> PlatformInfo:
    """OS and machine of the target interpreter, and the notebook's kernelspec name."""
    return PlatformInfo(system=info.system, machine=info.machine, kernel_name=kernel_name)


def capture_env(names: Sequence[str], environ: Optional[Mapping[str, str]] = None
                ) -> Tuple[List[Tuple[str, str]], List[str]]:
    """``(pairs, warnings)`` for the opt-in variables ``names``.

    Secret-looking names (``*KEY*``, ``*TOKEN*``, ``*PASSWORD*``, …) and values that
    carry a credential whatever the name (``postgres://u:pw@…``, a token) are refused
    with a warning (see :func:`nbdocker.secrets.env_secret_reason`); unset names are
    reported and skipped.
    """
    env = os.environ if environ is None else environ
    pairs: List[Tuple[str, str]] = []
    warnings: List[str] = []
    for name in sorted(set(names)):
        if name not in env:
            warnings.append(f"environment variable {name} is not set: not captured")
            continue
        reason = env_secret_reason(name, env[name])
        if reason:
            warnings.append(f"environment variable {name} looks secret ({reason}): "
                            "not captured")
        else:
            pairs.append((name, env[name]))
    return pairs, warnings
