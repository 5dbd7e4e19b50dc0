"""Benchmark: the pytest plugin against plain `nbdocker verify`, side by side in one run.

Writes N small standard-library notebooks (different sources, so each has its own image)
into a temporary folder, builds their images once (not timed), then times, interleaved,
``--repeat`` times:

* one notebook:  ``nbdocker verify NB -q --json``  vs  ``pytest --nbdocker NB -q``
  (the plugin's overhead per notebook on top of verify);
* N notebooks:   N separate ``nbdocker verify`` calls  vs  one ``pytest --nbdocker DIR``
  session (image reuse and one interpreter start-up for the session).

Prints medians and ratios. Images made here are removed at the end.

Usage: python benchmarks/ecosystem.py [--notebooks N] [--repeat R] [--base-image IMG]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from _common import command, default_base_image, interleaved  # noqa: E402

BIN = Path(sys.executable).parent


def _notebooks(folder: Path, count: int) -> List[Path]:
    paths = []
    for i in range(count):
        cells = [new_code_cell(f"import math\nprint(round(math.sqrt({i + 2}), 6))"),
                 new_code_cell(f"sorted(range({i}, {i + 3}))")]
        cells[0].execution_count, cells[1].execution_count = 1, 2
        cells[0].outputs = [new_output("stream", name="stdout",
                                       text=f"{round((i + 2) ** 0.5, 6)}\n")]
        cells[1].outputs = [new_output("execute_result", execution_count=2,
                                       data={"text/plain": str(list(range(i, i + 3)))})]
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        path = folder / f"nb{i}.ipynb"
        nbformat.write(nb, str(path))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base-image", default=default_base_image())
    args = parser.parse_args()
    common = ["--base-image", args.base_image, "--python", sys.executable]
    pytest_common = [f"--nbdocker-base-image={args.base_image}",
                     f"--nbdocker-python={sys.executable}", "-q", "-p", "no:cacheprovider"]
    with tempfile.TemporaryDirectory(prefix="nbdocker-bench-eco-") as tmp:
        folder = Path(tmp)
        notebooks = _notebooks(folder, args.notebooks)
        tags = []
        for nb in notebooks:  # build every image once: the timings are of reuse
            built = command([str(BIN / "nbdocker"), "build", str(nb), "-q", *common])()
            tags.append(built.stdout.strip().splitlines()[-1])  # type: ignore[attr-defined]
        one = notebooks[0]
        pairs: Dict[str, Callable[[], object]] = {
            "verify, 1 notebook": command([str(BIN / "nbdocker"), "verify", str(one), "-q",
                                         "--json", *common]),
            "pytest --nbdocker, 1 notebook": command([sys.executable, "-m", "pytest",
                                                    "--nbdocker", str(one), *pytest_common],
                                                   ok=(0,)),
            f"{args.notebooks} x verify": lambda: [
                command([str(BIN / "nbdocker"), "verify", str(nb), "-q", "--json", *common])()
                for nb in notebooks],
            f"pytest --nbdocker, {args.notebooks} notebooks": command(
                [sys.executable, "-m", "pytest", "--nbdocker", str(folder), *pytest_common]),
        }
        med, times = interleaved(pairs, args.repeat)
        print(f"{args.repeat} interleaved runs, medians (2-core shared machine; "
              "ranges show the noise):")
        for name, values in times.items():
            print(f"  {name:<34} {med[name]:7.2f} s   (min {min(values):.2f}, "
                  f"max {max(values):.2f})")
        names = list(pairs)
        print(f"plugin overhead per notebook: {med[names[1]] - med[names[0]]:+.2f} s "
              f"(ratio {med[names[1]] / med[names[0]]:.2f})")
        print(f"{args.notebooks}-notebook session vs {args.notebooks} verify calls: "
              f"{med[names[3]]:.2f} s vs {med[names[2]]:.2f} s "
              f"(ratio {med[names[3]] / med[names[2]]:.2f})")
        import docker

        client = docker.from_env()
        for tag in tags:
            client.images.remove(tag, force=True)


if __name__ == "__main__":
    main()
