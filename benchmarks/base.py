"""Base-image benchmark (issue 10): numpy + pandas notebook through the real Docker engine.

Prints, in one run:
  * base image from a registry: pull + cold build from a loopback registry (Debian's
    docker-registry) vs cold build from a base already on the engine, same notebook;
  * the kernel-stack layer: /opt/venv with the kernel stack pinned from this Python
    (ipykernel, IPython, ... as installed here) vs nbdocker's floating defaults.

Usage: python benchmarks/base.py [--base-image IMG] [--keep]
Downloads ~70 MB from PyPI per cold build (numpy + pandas wheels). The build itself
(cold, rebuilds, sizes, against plain Dockerfiles) is benchmarks/build.py.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import nbformat

from nbdocker.stages.image import context_files, discover_build_options
from nbdocker.stages.image.build import build_image
from nbdocker.stages.image.hostpip import DEFAULT_INSTALLER
from nbdocker.engine.base import BuildResult
from nbdocker.engine.docker import DockerEngine
from nbdocker.spec import EnvironmentSpec, FileEntry, PythonInfo, Requirement
from _common import default_base_image  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# A locked closure as capture would write it for `import numpy, pandas` on Python 3.11.
PINS: Tuple[Tuple[str, str, bool], ...] = (
    ("numpy", "1.26.4", True), ("pandas", "2.2.2", True),
    ("python-dateutil", "2.9.0.post0", False), ("pytz", "2024.1", False),
    ("six", "1.16.0", False), ("tzdata", "2024.1", False))
MB = 1024 * 1024


def _notebook(directory: Path, title: str) -> EnvironmentSpec:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(title),
        nbformat.v4.new_code_cell("import numpy as np, pandas as pd\n"
                                  "pd.DataFrame({'x': np.arange(5)}).describe()")])
    path = directory / "bench.ipynb"
    nbformat.write(nb, path)
    data = path.read_bytes()
    return EnvironmentSpec(
        notebook=path.name, python=PythonInfo("3.11.2"),
        requirements=tuple(Requirement(n, v, direct=d) for n, v, d in PINS),
        files=(FileEntry(path.name, "notebook", len(data), hashlib.sha256(data).hexdigest()),))


def _build(engine: DockerEngine, spec: EnvironmentSpec, directory: Path, base: str, tag: str,
           installer: str, nocache: bool = False) -> Tuple[float, BuildResult]:
    """One build the way nbdocker builds (stages.image.build), timed."""
    options = discover_build_options(installer=installer)
    files = context_files(spec, directory, base_image=base, options=options)
    start = time.perf_counter()
    result = build_image(engine, spec, files, base_image=base, options=options, tag=tag,
                         nocache=nocache)
    return time.perf_counter() - start, result


# -- base image: pulled from a registry vs already local (issue 10) ---------------------

def _flat_copy(engine: DockerEngine, base: str, tag: str) -> int:
    """``base`` flattened into one new layer (a marker file makes it unique, so a pull
    must fetch all of it); returns its size in bytes."""
    import io
    import tarfile

    data = os.urandom(16).hex().encode()
    container = engine.client.containers.create(base, command=["true"])
    try:
        exported = io.BytesIO(b"".join(container.export()))
    finally:
        container.remove(force=True)
    flat = io.BytesIO()
    with tarfile.open(fileobj=exported, mode="r|") as src, \
            tarfile.open(fileobj=flat, mode="w") as dst:
        for member in src:
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        marker_info = tarfile.TarInfo("etc/nbdocker-bench-marker")
        marker_info.size = len(data)
        dst.addfile(marker_info, io.BytesIO(data))
    repository, _, name = tag.rpartition(":")
    engine.client.api.import_image_from_data(flat.getvalue(), repository=repository, tag=name,
                                             changes=["CMD [\"python3\"]", "ENV LANG=C.UTF-8"])
    return engine.image_size(tag)


def _bench_base_pull(engine: DockerEngine, spec: EnvironmentSpec, directory: Path,
                     base: str, tags: List[str]) -> None:
    """Cold build on a base that must first be pulled from a loopback registry, against
    a cold build on a base already on the engine (the same bytes, the same notebook)."""
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    sys.path.insert(0, str(ROOT / "tests"))
    from _registry import docker_registry  # the suite's throw-away registry

    from nbdocker.stages.image.base import ensure_base

    local = "nbdocker-bench/flat-base:1"
    size = _flat_copy(engine, base, local)
    with tempfile.TemporaryDirectory(prefix="nbdocker-bench-registry-") as root, \
            docker_registry(Path(root)) as address:
        remote = f"{address}/bench/python:{spec.python.version}-slim"
        engine.tag_image(local, remote)
        engine.push(remote)
        # Nothing on the engine holds the flat layer now: the pull must fetch all of it.
        engine.remove_image(remote)
        engine.remove_image(local)
        start = time.perf_counter()
        pulled = ensure_base(engine, spec, override=remote)
        pull_time = time.perf_counter() - start
        tags += ["nbdocker-bench/base:pulled", remote]
        build_time, _ = _build(engine, spec, directory, pulled.ref,
                               "nbdocker-bench/base:pulled", DEFAULT_INSTALLER, nocache=True)
        # The same bytes, now local: a cold build that needs no pull.
        tags.append("nbdocker-bench/base:local")
        local_time, _ = _build(engine, spec, directory, pulled.ref, "nbdocker-bench/base:local",
                               DEFAULT_INSTALLER, nocache=True)
    print(f"base {size / MB:.0f} MB pulled from a loopback registry in {pull_time:.1f} s; "
          f"pull + cold build {pull_time + build_time:.1f} s vs cold build from a local "
          f"base {local_time:.1f} s (ratio {(pull_time + build_time) / local_time:.2f})")


# -- the kernel-stack layer: pinned from this Python vs today's defaults (issue 10) ------

def _venv_bytes(engine: DockerEngine, tag: str) -> int:
    result = engine.run(tag, ["du", "-sb", "/opt/venv"])
    assert result.exit_code == 0, result.logs
    return int(result.logs[-1].split()[0])


def _bench_kernel_layer(engine: DockerEngine, spec: EnvironmentSpec, directory: Path,
                        base: str, tags: List[str]) -> None:
    """/opt/venv of the same notebook: kernel stack floating from nbdocker's defaults
    (before issue 10) vs pinned from this interpreter (what capture writes now)."""
    from nbdocker.stages.capture.interpreter import query_interpreter
    from nbdocker.stages.capture.kernel_stack import kernel_stack

    pinned_reqs, _ = kernel_stack(spec.requirements, query_interpreter(sys.executable))
    pinned = spec.with_changes(requirements=pinned_reqs)
    sizes: Dict[str, int] = {}
    kernel = sum(r.kernel for r in pinned.requirements)
    for label, which in (("defaults", spec), ("pinned", pinned)):
        tag = f"nbdocker-bench/kernel:{label}"
        tags.append(tag)
        _build(engine, which, directory, base, tag, DEFAULT_INSTALLER)
        sizes[label] = _venv_bytes(engine, tag)
    print(f"/opt/venv with the kernel stack from nbdocker's defaults {sizes['defaults'] / MB:.2f}"
          f" MB vs pinned from this Python ({kernel} kernel pins) {sizes['pinned'] / MB:.2f} MB"
          f" (difference {(sizes['pinned'] - sizes['defaults']) / 1024:+.0f} kB, ratio "
          f"{sizes['pinned'] / sizes['defaults']:.3f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default=default_base_image())
    parser.add_argument("--keep", action="store_true", help="keep the built images")
    args = parser.parse_args()
    engine = DockerEngine.from_env(timeout=1800)
    tags: List[str] = []
    with tempfile.TemporaryDirectory(prefix="nbdocker-bench-") as tmp:
        directory = Path(tmp)
        spec = _notebook(directory, "# Benchmark")
        try:
            _bench_base_pull(engine, spec, directory, args.base_image, tags)
            _bench_kernel_layer(engine, spec, directory, args.base_image, tags)
        finally:
            if not args.keep:
                for tag in tags:
                    engine.remove_image(tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
