"""What the benchmarks share: timing, interleaved repeats, commands that must succeed,
and the base image the suite's set-up chose."""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ROOT", "timed", "interleaved", "command", "default_base_image"]


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn()`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(commands: Dict[str, Callable[[], object]], repeat: int
                ) -> Tuple[Dict[str, float], Dict[str, List[float]]]:
    """``repeat`` rounds of every command in turn (the machine's drift hits each alike):
    the medians and every time, by name."""
    times: Dict[str, List[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, fn in commands.items():
            times[name].append(timed(fn))
    return {name: statistics.median(values) for name, values in times.items()}, times


def command(cmd: Sequence[str], ok: Tuple[int, ...] = (0,), cwd: Path = ROOT
            ) -> Callable[[], "subprocess.CompletedProcess[str]"]:
    """A call of ``cmd`` that stops the benchmark (with its output) unless it exits in ``ok``."""
    def call() -> "subprocess.CompletedProcess[str]":
        proc = subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd)
        if proc.returncode not in ok:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return proc
    return call


def default_base_image() -> str:
    """``$NBDOCKER_BASE_IMAGE``, else what ``scripts/setup.sh`` wrote to ``.nbdocker-base``
    (empty there: the engine's mirror serves nbdocker's default), else that default."""
    chosen = os.environ.get("NBDOCKER_BASE_IMAGE", "").strip()
    marker = ROOT / ".nbdocker-base"
    if not chosen and marker.is_file():
        chosen = marker.read_text(encoding="utf-8").strip()
    return chosen or f"python:{platform.python_version()}-slim"
