"""Real target interpreters for capture tests: a venv with given packages from the index."""
from __future__ import annotations

import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

from _env import must_not_skip

__all__ = ["make_venv"]


def make_venv(root: Path, *packages: str, with_suite: bool = False,
              timeout: float = 900) -> Path:
    """A venv at ``root`` with ``packages`` installed by its pip (pip arguments:
    ``"-e", path`` works); ``with_suite``: it also sees the suite's own packages (a
    ``.pth`` file). Its python; a failed install fails the test under ./scripts/test and
    in CI, and skips it elsewhere."""
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    python = root / "bin" / "python"
    if with_suite:
        purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                                  "print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        Path(purelib, "nbdocker-suite.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    if packages:
        proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                               "--disable-pip-version-check", *packages],
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            reason = f"cannot install {' '.join(packages)}: {proc.stderr.strip()[-400:]}"
            if must_not_skip():
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
    return python
