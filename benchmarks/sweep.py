"""Benchmark: `nbdocker sweep` (-j 1/2/4, local and Swarm) vs a papermill loop, 32 runs.

Writes a small standard-library notebook with a ``parameters`` cell (``a``, ``seed``),
builds its image once (not timed), then times, in one go, the same 32 parameter sets
(``a`` in 1..8 times ``seed`` in 0..3):

* a papermill loop: ``papermill.execute_notebook`` once per set, in this process, with
  this virtualenv's kernel (``pip install papermill``, or ``pip install -e '.[bench]'``);
* ``nbdocker sweep NB --image IMG -j N`` for N = 1, 2, 4 (the CLI as a subprocess, one
  container per set on the local engine);
* ``nbdocker sweep ... --backend swarm -j 4`` on a one-node swarm of this engine with a
  loopback registry (Debian's ``docker-registry``; the first push is done before the
  clock starts). The engine is left as it was found. ``--no-swarm`` skips it.

Prints the wall times, the ratios to the papermill loop and to ``-j 1``, and the per-run
container overhead: the sweep's wall time per run at ``-j 1`` minus the time each run
took inside its container (kernel start included), i.e. what creating, starting,
feeding, reading and removing one container costs. Every sweep's collected values are
checked against what the parameters must give.

Usage: python benchmarks/sweep.py [--base-image IMG] [--no-swarm]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
# The suite's throw-away registry and one-node swarm (as benchmarks/base.py does).
sys.path[:0] = [str(REPO / "tests" / "integration"), str(REPO / "tests")]
from _registry import docker_registry  # noqa: E402
from _swarm import one_node_swarm  # noqa: E402
from _common import default_base_image  # noqa: E402

A = range(1, 9)
SEEDS = 4
CELLS = [
    ("a = 1\nseed = 0", ["parameters"]),
    ("import random, statistics\nrng = random.Random(seed)\n"
     "sample = [rng.gauss(a, 1) for _ in range(20_000)]", []),
    ("score = round(statistics.fmean(sample), 4)\nexpected = a * 1000 + seed", []),
]


def _notebook(folder: Path) -> Path:
    nb = new_notebook(cells=[new_code_cell(src, metadata={"tags": tags} if tags else {})
                             for src, tags in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = folder / "bench.ipynb"
    nbformat.write(nb, str(path))
    return path


def _sweep(notebook: Path, image: str, out: Path, *extra: str) -> Dict[str, Any]:
    cmd = [sys.executable, "-m", "nbdocker", "sweep", str(notebook), "--image", image,
           "-p", "a", ",".join(map(str, A)), "--seeds", str(SEEDS), "--collect", "expected",
           "--out", str(out), "--json", "-q", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({proc.returncode}): {proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout)
    for row in doc["runs"]:   # a benchmark of wrong answers measures nothing
        p = row["parameters"]
        assert row["collected"]["expected"] == p["a"] * 1000 + p["seed"], row
    inside = [row["seconds"] for row in doc["runs"]]
    return {"wall": wall, "inside": statistics.fmean(inside), "runs": len(inside)}


def _papermill(notebook: Path, out: Path) -> Dict[str, Any]:
    import papermill

    out.mkdir()
    start = time.perf_counter()
    for a in A:
        for seed in range(SEEDS):
            papermill.execute_notebook(str(notebook), str(out / f"{a}-{seed}.ipynb"),
                                       parameters={"a": a, "seed": seed}, progress_bar=False,
                                       log_output=False, kernel_name="python3")
    return {"wall": time.perf_counter() - start, "runs": len(A) * SEEDS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default=default_base_image())
    parser.add_argument("--no-swarm", action="store_true", help="skip the Swarm backend")
    args = parser.parse_args()
    try:
        import papermill  # noqa: F401
    except ImportError:
        raise SystemExit("papermill is not installed: pip install papermill "
                         "(or pip install -e '.[bench]')") from None

    from nbdocker import pipeline
    from nbdocker.engine import get_engine

    engine = get_engine()
    load = os.getloadavg()[0]
    results: Dict[str, Dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="nbdocker-bench-sweep-") as tmp:
        folder = Path(tmp)
        notebook = _notebook(folder)
        image = pipeline.build(notebook, python=sys.executable,
                               base_image=args.base_image, engine=engine).tag
        try:
            results["papermill loop"] = _papermill(notebook, folder / "papermill")
            for jobs in (1, 2, 4):
                results[f"sweep -j {jobs}"] = _sweep(notebook, image, folder / f"j{jobs}",
                                                     "-j", str(jobs))
            if not args.no_swarm:
                with docker_registry(folder / "registry") as registry, one_node_swarm(engine):
                    target = f"{registry}/nbdocker-bench"
                    pipeline.push(image, target, engine=engine)   # the first push, untimed
                    results["sweep -j 4 --backend swarm"] = _sweep(
                        notebook, image, folder / "swarm", "-j", "4", "--backend", "swarm",
                        "--registry", target)
                    engine.remove_image(f"{target}:{image.rsplit(':', 1)[1]}")
        finally:
            engine.remove_image(image)
    _report(results, load)
    return 0


def _report(results: Dict[str, Dict[str, Any]], load: float) -> None:
    runs = len(A) * SEEDS
    base = results["papermill loop"]["wall"]
    serial = results["sweep -j 1"]["wall"]
    print(f"{runs} runs of a small notebook; machine: {os.cpu_count()} CPUs "
          f"(shared with other work: load average {load:.1f} at the start)")
    print(f"{'':30} {'wall s':>8} {'s/run':>7} {'vs papermill':>13} {'vs -j 1':>8}")
    for name, r in results.items():
        print(f"{name:30} {r['wall']:8.1f} {r['wall'] / runs:7.2f} {r['wall'] / base:12.2f}x "
              f"{r['wall'] / serial:7.2f}x")
    one = results["sweep -j 1"]
    print(f"per-run container overhead (-j 1): {one['wall'] / runs - one['inside']:.2f} s "
          f"(wall per run {one['wall'] / runs:.2f} s - {one['inside']:.2f} s inside the "
          f"container, kernel start included); papermill per run {base / runs:.2f} s")
    swarm: Optional[Dict[str, Any]] = results.get("sweep -j 4 --backend swarm")
    if swarm:
        print(f"swarm vs local at -j 4: {swarm['wall'] / results['sweep -j 4']['wall']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
