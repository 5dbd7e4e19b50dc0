"""Small helpers shared by the integration tests (notebooks and specs made by hand)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence, Tuple

import nbformat

from nbdocker.spec import EnvironmentSpec, FileEntry, PythonInfo, Requirement

PINS: Tuple[Tuple[str, str], ...] = (("attrs", "23.2.0"), ("six", "1.16.0"),
                                     ("tabulate", "0.9.0"))


def write_notebook(directory: Path, markdown: str, code: str = "import six, attrs, tabulate",
                   name: str = "demo.ipynb") -> Path:
    """A two-cell notebook (markdown + code) at ``directory/name``."""
    directory.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown),
                                         nbformat.v4.new_code_cell(code)])
    path = directory / name
    nbformat.write(nb, path)
    return path


def entry(directory: Path, rel: str, kind: str) -> FileEntry:
    data = (directory / rel).read_bytes()
    return FileEntry(rel, kind, len(data), hashlib.sha256(data).hexdigest())


def make_spec(notebook: Path, pins: Sequence[Tuple[str, str]] = PINS,
              extra_files: Sequence[Tuple[str, str]] = (), **changes: object) -> EnvironmentSpec:
    """A spec as capture would write it for ``notebook`` with the given pins."""
    files = [entry(notebook.parent, notebook.name, "notebook")]
    files += [entry(notebook.parent, rel, kind) for rel, kind in extra_files]
    spec = EnvironmentSpec(notebook=notebook.name, python=PythonInfo("3.11.2"),
                           requirements=tuple(Requirement(n, v) for n, v in pins),
                           files=tuple(files))
    return spec.with_changes(**changes) if changes else spec


def short(instruction: str, limit: int = 60) -> str:
    """How BuildError messages abbreviate a Dockerfile instruction."""
    return instruction if len(instruction) <= limit else instruction[: limit - 3] + "..."
