"""Benchmark: `nbdocker run --image IMG` vs local `jupyter execute`, same notebook, one run.

Writes a small standard-library notebook into a temporary folder, builds its image once
(through the engine's cache; not timed), then times, interleaved, ``--repeat`` times:

* ``jupyter execute NB``                        (nbclient's CLI, this virtualenv's kernel)
* ``nbdocker run NB --image IMG -o OUT -q``     (the CLI as a subprocess)
* ``nbclient`` in-process / ``run_in_container`` in-process (no interpreter start-up),
  with the time the runner itself measured inside the container.

Prints the medians, the overhead of nbdocker over ``jupyter execute`` (target ≤ 1.5 s)
and where it goes. The image is removed at the end.

Usage: python benchmarks/run.py [--repeat N] [--base-image IMG]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from _common import command, default_base_image, interleaved  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

CELLS = [
    "import math, statistics, json",
    "values = [math.sin(i / 10) for i in range(1000)]\nround(statistics.mean(values), 6)",
    "print(json.dumps({'n': len(values), 'max': round(max(values), 3)}))",
    "sum(i * i for i in range(10_000))",
    "for i in range(3):\n    print('line', i)",
]


def _notebook(folder: Path) -> Path:
    nb = new_notebook(cells=[new_markdown_cell("# run benchmark")] +
                      [new_code_cell(src) for src in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = folder / "bench.ipynb"
    nbformat.write(nb, str(path))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--base-image", default=default_base_image())
    args = parser.parse_args()

    from nbclient import NotebookClient

    from nbdocker import pipeline
    from nbdocker.engine import get_engine
    from nbdocker.stages.run.execute import run_in_container

    engine = get_engine()
    with tempfile.TemporaryDirectory(prefix="nbdocker-bench-run-") as tmp:
        folder = Path(tmp)
        notebook = _notebook(folder)
        start = time.perf_counter()
        tag = pipeline.build(notebook, python=sys.executable, base_image=args.base_image,
                             engine=engine).tag
        print(f"image {tag} ready in {time.perf_counter() - start:.1f} s (cache allowed; "
              "not part of the figures)")
        runner_seconds: List[float] = []

        def in_container() -> None:
            outcome = run_in_container(engine, tag, notebook, output=folder / "lib.ipynb")
            runner_seconds.append(outcome.runner_seconds or 0.0)

        def local_nbclient() -> None:
            nb = nbformat.read(str(notebook), as_version=4)
            NotebookClient(nb, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()

        cases: Dict[str, Callable[[], object]] = {
            "jupyter execute (CLI)": command([str(BIN / "jupyter"), "execute", str(notebook)]),
            "nbdocker run --image (CLI)": command([
                str(BIN / "nbdocker"), "run", str(notebook), "--image", tag,
                "-o", str(folder / "cli.ipynb"), "-q"]),
            "nbclient in-process": local_nbclient,
            "run_in_container in-process": in_container,
        }
        try:
            for fn in cases.values():  # warm-up: page cache, image layers, kernelspecs
                fn()
            runner_seconds.clear()
            _, times = interleaved(cases, args.repeat)
        finally:
            engine.remove_image(tag)

    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"\nmedian of {args.repeat} runs (same notebook: {len(CELLS)} code cells):")
    for name, value in med.items():
        spread = f"min {min(times[name]):.2f}, max {max(times[name]):.2f}"
        print(f"  {name:<30} {value:6.2f} s   ({spread})")
    cli_overhead = med["nbdocker run --image (CLI)"] - med["jupyter execute (CLI)"]
    lib_overhead = med["run_in_container in-process"] - med["nbclient in-process"]
    inside = statistics.median(runner_seconds)
    print(f"\noverhead, CLI vs CLI:              {cli_overhead:+.2f} s "
          f"(ratio {med['nbdocker run --image (CLI)'] / med['jupyter execute (CLI)']:.2f}x; "
          f"target <= 1.5 s: {'met' if cli_overhead <= 1.5 else 'NOT met'})")
    print(f"overhead, in-process vs in-process: {lib_overhead:+.2f} s")
    print(f"  runner inside the container (kernel start + cells): {inside:.2f} s median; "
          f"container create/copy/start/fetch/remove: "
          f"{med['run_in_container in-process'] - inside:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
