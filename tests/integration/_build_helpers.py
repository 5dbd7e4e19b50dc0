"""Small helpers shared by the integration tests (notebooks and specs made by hand)."""
from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Sequence, Tuple

import nbformat

from nbdocker.engine.base import BuildResult
from nbdocker.events import EventHandler
from nbdocker.spec import EnvironmentSpec, FileEntry, PythonInfo, Requirement

if TYPE_CHECKING:
    from nbdocker.engine.docker import DockerEngine
    from nbdocker.stages.image import BuildOptions

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


def build(engine: "DockerEngine", spec: EnvironmentSpec, directory: Path, base_image: str,
          tag: str, options: Optional["BuildOptions"] = None,
          on_event: Optional[EventHandler] = None) -> BuildResult:
    """Build ``spec`` as nbdocker does (:func:`nbdocker.stages.image.build_image`): with
    this machine's CA / index set-up unless ``options`` are given."""
    from nbdocker.stages.image import build_image, context_files, discover_build_options

    options = options or discover_build_options()
    files = context_files(spec, directory, base_image=base_image, options=options)
    return build_image(engine, spec, files, base_image=base_image, options=options, tag=tag,
                       on_event=on_event)


def image_blobs(archive: Path) -> Iterator[Tuple[str, bytes]]:
    """(name, bytes) of every member of a saved image (``docker save``; gzip undone) and
    of every file inside each layer (``layer!path``): what a canary search must read."""
    with tarfile.open(archive) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            data = outer.extractfile(member).read()  # type: ignore[union-attr]
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            yield member.name, data
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                    for inner in layer.getmembers():
                        handle = layer.extractfile(inner) if inner.isfile() else None
                        yield f"{member.name}!{inner.name}", handle.read() if handle else b""
            except tarfile.TarError:
                pass  # a config or manifest blob: searched above as bytes
