"""Build benchmark: nbdocker's cold build against the Dockerfiles people write, one run.

A numpy + pandas + matplotlib notebook with 16 pinned distributions (its locked closure,
plus ipykernel and nbclient as the kernel stack), on the same base image, with the same
pins, cold (``nocache``: no layer cache; the base image present). In ``--rounds`` rounds,
interleaved (so the machine's drift hits every contender alike):

* **pip peer**: ``FROM <base>``, ``COPY`` the CA, ``RUN python3 -m venv /opt/venv &&
  /opt/venv/bin/pip install --no-cache-dir -r requirements.txt``;
* **uv peer**: the same with ``pip install uv`` into that venv and ``uv pip install``;
* **nbdocker as on this machine**: the forwarded CA bundle stays out of every image, so
  the install runs in a throwaway container of the system stage, committed without it;
* **nbdocker, one stage**: what a machine without a private CA gets. PyPI is reachable
  here only through the proxy's CA, so this one builds on the base plus that CA in its
  trust store (``nbdocker-bench/base-ca``, one extra 0.2 MB layer) with nothing forwarded.

Then it prints the median of each and of the per-round ratios (min-max: the noise),
nbdocker's per-step timings, the notebook-only and no-change rebuilds (ratio to cold;
target <= 0.10), image sizes and the runner's overhead over the notebook's own packages
(target <= 60 MB), what the apt layer adds for graphviz, how uv is fetched fastest, and
the bytecode choice: the build with and without it and the first run in the container.

Usage: python benchmarks/build.py [--base-image IMG] [--rounds N] [--skip-extras] [--keep]
                                  [--notebook NB.ipynb --python PY]
Downloads ~80 MB from PyPI per cold build; about 30 minutes with 3 rounds here.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import nbformat

from nbdocker.engine.base import BuildResult
from nbdocker.engine.docker import DockerEngine
from nbdocker.stages.image import (BuildOptions, build_image, context_files,
                                   discover_build_options, tar_bytes)
from nbdocker.stages.image.dockerfile import UV_VERSION, WARMUP_COMMAND
from nbdocker.spec import EnvironmentSpec, FileEntry, PythonInfo, Requirement, SystemPackage
from _common import default_base_image  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
# The locked closure of `import numpy, pandas, matplotlib.pyplot` on Python 3.11.
NOTEBOOK_PINS: Tuple[Tuple[str, str], ...] = (
    ("contourpy", "1.3.0"), ("cycler", "0.12.1"), ("fonttools", "4.54.1"),
    ("kiwisolver", "1.4.7"), ("matplotlib", "3.9.2"), ("numpy", "1.26.4"),
    ("packaging", "24.1"), ("pandas", "2.2.2"), ("pillow", "10.4.0"), ("pyparsing", "3.1.4"),
    ("python-dateutil", "2.9.0.post0"), ("pytz", "2024.1"), ("six", "1.16.0"),
    ("tzdata", "2024.1"))
KERNEL_PINS: Tuple[Tuple[str, str], ...] = (("ipykernel", "6.29.5"), ("nbclient", "0.10.2"))
DIRECT = {"numpy": "import numpy (cell 1)", "pandas": "import pandas (cell 1)",
          "matplotlib": "import matplotlib.pyplot (cell 1)"}
CODE = ("import numpy as np, pandas as pd\nimport matplotlib.pyplot as plt\n"
        "df = pd.DataFrame({'x': np.arange(5)})\ndf.plot(); df.describe()")
# What the warm-up step is replaced with to measure the alternatives.
BYTECODE = {"none": ":", "all": "/opt/venv/bin/python -m compileall -q -j0 /opt/venv/lib"}


def _spec(directory: Path, title: str, **changes: object) -> EnvironmentSpec:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(title),
                                         nbformat.v4.new_code_cell(CODE)])
    path = directory / "bench.ipynb"
    nbformat.write(nb, path)
    data = path.read_bytes()
    requirements = [Requirement(n, v, direct=n in DIRECT, reasons=(DIRECT[n],) if n in DIRECT
                                else ()) for n, v in NOTEBOOK_PINS]
    requirements += [Requirement(n, v, direct=False, kernel=True) for n, v in KERNEL_PINS]
    spec = EnvironmentSpec(
        notebook=path.name, python=PythonInfo("3.11.2"), requirements=tuple(requirements),
        files=(FileEntry(path.name, "notebook", len(data), hashlib.sha256(data).hexdigest()),))
    return spec.with_changes(**changes) if changes else spec


def _peer_context(base: str, ca: bytes, requirements: str, installer: str) -> bytes:
    install = "/opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt"
    if installer == "uv":
        install = (f"/opt/venv/bin/pip install --no-cache-dir uv=={UV_VERSION} && /opt/venv/bin/uv"
                   " pip install --no-cache --python /opt/venv/bin/python -r /tmp/requirements.txt")
    dockerfile = (f"FROM {base}\nCOPY ca.crt /etc/peer-ca.crt\n"
                  "ENV PIP_CERT=/etc/peer-ca.crt SSL_CERT_FILE=/etc/peer-ca.crt\n"
                  "COPY requirements.txt /tmp/requirements.txt\n"
                  f"RUN python3 -m venv /opt/venv && {install}\n")
    return tar_bytes({"Dockerfile": dockerfile.encode(), "ca.crt": ca,
                      "requirements.txt": requirements.encode()})


class Bench:
    def __init__(self, engine: DockerEngine, base: str, directory: Path, ca: bytes) -> None:
        self.engine, self.base, self.directory, self.ca = engine, base, directory, ca
        self.tags: List[str] = []
        self.results: Dict[str, BuildResult] = {}
        # Every image built, by id: a rebuild under the same tag leaves the earlier one
        # untagged, and removing tags alone would leak it.
        self.image_ids: List[str] = []

    def tag(self, name: str) -> str:
        tag = f"nbdocker-bench/{name}"
        self.tags.append(tag)
        return tag

    def timed(self, name: str, fn: Callable[[], BuildResult]) -> float:
        start = time.perf_counter()
        self.results[name] = fn()
        seconds = time.perf_counter() - start
        self.image_ids.append(self.results[name].image_id)
        return seconds

    def nbdocker(self, name: str, spec: EnvironmentSpec, base: str, options: BuildOptions,
                 nocache: bool = True, edit: Optional[Callable[[str], str]] = None) -> float:
        files = dict(context_files(spec, self.directory, base_image=base, options=options))
        if edit is not None:
            files["Dockerfile"] = edit(files["Dockerfile"].decode()).encode()
        return self.timed(name, lambda: build_image(
            self.engine, spec, files, base_image=base, options=options, tag=self.tag(name),
            nocache=nocache))

    def peer(self, name: str, requirements: str, installer: str) -> float:
        context = _peer_context(self.base, self.ca, requirements, installer)
        return self.timed(name, lambda: self.engine.build(context, self.tag(name), nocache=True))

    def size(self, name: str) -> int:
        return self.engine.image_size(f"nbdocker-bench/{name}")

    def seconds_in(self, image: str, command: Sequence[str]) -> float:
        start = time.perf_counter()
        result = self.engine.run(image, list(command))
        assert result.exit_code == 0, result.logs
        return time.perf_counter() - start


_SIZE_CODE = """
import importlib.metadata as m, json, os, sys
total = 0
for name in json.loads(sys.argv[1]):
    dist, seen = m.distribution(name), set()
    for f in dist.files or ():
        p = str(dist.locate_file(f))
        candidates = [p]
        if p.endswith(".py"):  # bytecode written after the install is not in RECORD
            d, n = os.path.split(p)
            candidates.append(os.path.join(d, "__pycache__", n[:-3] + ".cpython-%d%d.pyc" % sys.version_info[:2]))
        for c in candidates:
            if c not in seen and os.path.isfile(c):
                seen.add(c)
                total += os.path.getsize(c)
print(total)
"""


def _replaced(text: str, old: str, new: str) -> str:
    assert old in text, "the Dockerfile no longer has the step this variant replaces"
    return text.replace(old, new)


def _packages_bytes(engine: DockerEngine, tag: str, names: Sequence[str]) -> int:
    result = engine.run(tag, ["python", "-c", _SIZE_CODE, json.dumps(list(names))])
    assert result.exit_code == 0, result.logs
    return int(result.logs[-1])


def _stats(values: Sequence[float]) -> str:
    return (f"median {statistics.median(values):6.1f}  (min {min(values):.1f}, "
            f"max {max(values):.1f}, n={len(values)})")


def _ratios(a: Sequence[float], b: Sequence[float]) -> str:
    ratios = [x / y for x, y in zip(a, b)]
    return (f"{statistics.median(ratios):.2f}  (per round {min(ratios):.2f}-{max(ratios):.2f})")


def _steps(result: BuildResult, total: float) -> None:
    for step in result.steps:
        if step.seconds >= 0.3:
            print(f"      {step.seconds:6.1f} s  step {step.index:2}/{step.total}  "
                  f"{' '.join(step.instruction.split())[:70]}")
    other = total - sum(s.seconds for s in result.steps)
    print(f"      {other:6.1f} s  outside the steps (context uploads, starting the builds)")


def _uv_fetch(bench: Bench, rounds: int) -> None:
    """How long each way of having uv takes, in a throwaway container of the base."""
    script = ("export PIP_CERT=/tmp/ca.crt SSL_CERT_FILE=/tmp/ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1\n"
              "t(){ python3 -c 'import sys,time; print(sys.argv[2], round(time.time()-float(sys.argv[1]),2))' $1 $2; }\n"
              f"for i in $(seq {rounds}); do\n"
              f" rm -rf /tmp/u*; s=$(date +%s.%N); python3 -m pip install -q --no-cache-dir --target /tmp/uv uv=={UV_VERSION} 2>/dev/null; t $s base-pip-target\n"
              f" rm -rf /tmp/u*; s=$(date +%s.%N); python3 -m pip download -q --no-cache-dir --no-deps --only-binary :all: -d /tmp/uvw uv=={UV_VERSION} 2>/dev/null && python3 -m zipfile -e /tmp/uvw/*.whl /tmp/uvx; t $s wheel-binary-unzip\n"
              f" rm -rf /tmp/u*; s=$(date +%s.%N); python3 -m venv /tmp/uvenv && /tmp/uvenv/bin/pip install -q --no-cache-dir uv=={UV_VERSION}; t $s venv+its-pip\n"
              " rm -rf /tmp/v*; s=$(date +%s.%N); python3 -m venv /tmp/v1; t $s venv-with-pip-only\n"
              " rm -rf /tmp/v*; s=$(date +%s.%N); python3 -m venv --without-pip /tmp/v1; t $s venv-without-pip\n"
              "done\n")
    result = bench.engine.run(bench.base, ["sh", "/tmp/uvfetch.sh"], workdir="/tmp",
                              files_in={"ca.crt": bench.ca, "uvfetch.sh": script.encode()})
    times: Dict[str, List[float]] = {}
    for line in result.logs:
        parts = line.split()
        if len(parts) == 2:
            times.setdefault(parts[0], []).append(float(parts[1]))
    print("  ways to have uv (and a venv) in the build, seconds in a container of the base:")
    for name, values in times.items():
        print(f"    {name:22} {_stats(values)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default=default_base_image())
    parser.add_argument("--rounds", type=int, default=3, help="cold builds of each (>= 1)")
    parser.add_argument("--skip-extras", action="store_true",
                        help="only the cold builds, rebuilds and sizes")
    parser.add_argument("--keep", action="store_true", help="keep the built images")
    parser.add_argument("--notebook", type=Path, help="a real notebook instead of the built-in "
                        "one: cold builds and sizes only, its versions from --python")
    parser.add_argument("--python", help="the interpreter whose versions --notebook pins")
    args = parser.parse_args()
    engine = DockerEngine.from_env(timeout=3600)
    base = args.base_image
    here = discover_build_options()
    if not here.ca_bundle:
        print("no CA bundle is forwarded on this machine: the 'as here' shape is one stage")
    ca = Path(here.ca_bundle).read_bytes() if here.ca_bundle else b""
    single = BuildOptions(installer=here.installer)
    with tempfile.TemporaryDirectory(prefix="nbdocker-bench-") as tmp:
        directory = Path(tmp) if args.notebook is None else args.notebook.resolve().parent
        bench = Bench(engine, base, directory, ca)
        if args.notebook is None:
            spec = _spec(directory, "# Benchmark")
        else:
            from nbdocker import pipeline

            spec = pipeline.capture(args.notebook, python=args.python)
            print(f"{args.notebook}: {len(spec.requirements)} pinned from {args.python}")
        files = context_files(spec, directory, base_image=base, options=here)
        requirements = (files["nbdocker-build/requirements.txt"]
                        + files["nbdocker-build/runner-requirements.txt"]).decode()
        print(f"base {base}; {len(requirements.split())} pinned distributions: "
              f"{' '.join(requirements.split())}")
        base_ca = bench.tag("base-ca:1")
        engine.build(tar_bytes({"Dockerfile": (
            f"FROM {base}\nCOPY ca.crt /etc/ssl/certs/nbdocker-bench-ca.crt\n"
            "ENV SSL_CERT_FILE=/etc/ssl/certs/nbdocker-bench-ca.crt "
            "PIP_CERT=/etc/ssl/certs/nbdocker-bench-ca.crt\n").encode(), "ca.crt": ca}), base_ca)
        try:
            cold: Dict[str, List[float]] = {k: [] for k in ("pip", "uv", "here", "single")}
            for round_ in range(1, args.rounds + 1):
                order = ["pip", "here", "uv", "single"]
                for name in order if round_ % 2 else order[::-1]:
                    if name in ("pip", "uv"):
                        seconds = bench.peer(f"peer-{name}:cold", requirements, name)
                    else:
                        seconds = bench.nbdocker(
                            f"{name}:cold", spec, base if name == "here" else base_ca,
                            here if name == "here" else single)
                    cold[name].append(seconds)
                    print(f"  round {round_}: {name:6} {seconds:6.1f} s", flush=True)
            print("\ncold builds, seconds (no layer cache, base present):")
            labels = {"pip": "pip peer (plain `pip install -r` Dockerfile)",
                      "uv": "uv peer (plain `uv pip install -r` Dockerfile)",
                      "here": "nbdocker, CA kept out (install container; this machine)",
                      "single": "nbdocker, one stage (nothing to keep out)"}
            for name, label in labels.items():
                print(f"  {label:52} {_stats(cold[name])}")
            print("ratios (median of the per-round ratios):")
            for name in ("here", "single"):
                print(f"  {labels[name]:52} / pip peer {_ratios(cold[name], cold['pip'])}"
                      f"   / uv peer {_ratios(cold[name], cold['uv'])}")
            for name in ("here", "single"):
                print(f"\n  steps of the last cold build, {labels[name]}:")
                _steps(bench.results[f"{name}:cold"], cold[name][-1])

            if args.notebook is None:
                _rebuilds(bench, base, here, base_ca, single, cold, labels)
            print("\nimage sizes (MB):")
            base_size, base_ca_size = engine.image_size(base), engine.image_size(base_ca)
            print(f"  base {base_size / MB:.1f}")
            for name in ("peer-pip:cold", "peer-uv:cold", "here:cold", "single:cold"):
                print(f"  {name:14} {bench.size(name) / MB:7.1f}")
            notebook_own = [r.name for r in spec.requirements
                            if not r.kernel and r.name not in dict(KERNEL_PINS)]
            for name, bsize in (("here", base_size), ("single", base_ca_size)):
                tag = f"nbdocker-bench/{name}:cold"
                packages = _packages_bytes(engine, tag, notebook_own)
                image = engine.image_size(tag)
                print(f"  {labels[name]}: image {image / MB:.1f} - base {bsize / MB:.1f} - "
                      f"notebook's packages {packages / MB:.1f} = runner overhead "
                      f"{(image - bsize - packages) / MB:.1f} MB (target <= 60 MB)")

            if not args.skip_extras and args.notebook is None:
                _extras(bench, spec, base, here, base_ca, single, statistics.median(cold["here"]),
                        statistics.median(cold["single"]))
        finally:
            if not args.keep:
                for ref in [*reversed(bench.tags), *reversed(bench.image_ids)]:
                    engine.remove_image(ref)
    return 0


def _rebuilds(bench: Bench, base: str, here: BuildOptions, base_ca: str,
              single: BuildOptions, cold: Mapping[str, Sequence[float]],
              labels: Mapping[str, str]) -> None:
    print("\nrebuilds (layer cache / reused environment):")
    for name, image_base, options in (("here", base, here), ("single", base_ca, single)):
        spec = _spec(bench.directory, "# Benchmark")        # the cold builds' notebook
        bench.nbdocker(f"{name}:cold", spec, image_base, options, nocache=False)
        edited = _spec(bench.directory, "# Benchmark, edited title")
        warm = bench.nbdocker(f"{name}:edited", edited, image_base, options, nocache=False)
        ran = [s.instruction.split()[0] for s in bench.results[f"{name}:edited"].steps
               if not s.cached]
        same = bench.nbdocker(f"{name}:edited", edited, image_base, options, nocache=False)
        print(f"  {labels[name]}: notebook edit {warm:.1f} s (steps run: {', '.join(ran)}),"
              f" ratio to cold {warm / statistics.median(cold[name]):.3f} (target <= 0.10);"
              f" no change {same:.1f} s")


def _extras(bench: Bench, spec: EnvironmentSpec, base: str, here: BuildOptions, base_ca: str,
            single: BuildOptions, cold_here: float, cold_single: float) -> None:
    engine = bench.engine
    print("\napt layer for graphviz (cold, added to the builds above):")
    with_apt = spec.with_changes(apt_packages=(SystemPackage("graphviz"),))
    for name, image_base, options, cold in (("here", base, here, cold_here),
                                            ("single", base_ca, single, cold_single)):
        seconds = bench.nbdocker(f"{name}-apt:cold", with_apt, image_base, options)
        apt_step = next(s for s in bench.results[f"{name}-apt:cold"].steps
                        if "apt-get install" in s.instruction)
        layer = next(h["Size"] for h in engine.client.api.history(f"nbdocker-bench/{name}-apt:cold")
                     if "apt-get install" in (h.get("CreatedBy") or ""))
        print(f"  {name:6}: cold {seconds:.1f} s vs {cold:.1f} s without; the apt step "
              f"{apt_step.seconds:.1f} s, its layer {layer / MB:.1f} MB")

    print("\nbytecode (one stage; cold build, then 3 first runs of the notebook and 3 first"
          " imports in fresh containers):")
    variants: Dict[str, Optional[Callable[[str], str]]] = {"warm (default)": None}
    for key, command in BYTECODE.items():
        variants[key] = (lambda command: lambda text: _replaced(text, WARMUP_COMMAND, command))(
            command)
    imports = ["python", "-c", "import time; t = time.time(); import ipykernel.kernelapp, "
               "nbclient, numpy, pandas, matplotlib.pyplot; print(time.time() - t)"]
    run = ["python", "/opt/nbdocker/nbdocker_runner.py", "bench.ipynb", "/tmp/out.ipynb"]
    for key, edit in variants.items():
        name = "bytecode-" + key.split()[0]
        seconds = bench.nbdocker(f"{name}:cold", spec, base_ca, single, edit=edit)
        install = next(s for s in bench.results[f"{name}:cold"].steps if "pip install" in s.instruction)
        tag = f"nbdocker-bench/{name}:cold"
        runs = [bench.seconds_in(tag, run) for _ in range(3)]
        first = [float(engine.run(tag, imports).logs[-1]) for _ in range(3)]
        print(f"  {key:15} build {seconds:5.1f} s (install step {install.seconds:5.1f} s), "
              f"size {engine.image_size(tag) / MB:6.1f} MB; notebook run {statistics.median(runs):5.1f} s"
              f" (min {min(runs):.1f}); first import {statistics.median(first):4.2f} s")
    print()
    _uv_fetch(bench, 3)


if __name__ == "__main__":
    sys.exit(main())
