"""Benchmark: `nbdocker compare` vs nbdime's `nbdiff`, the cost of `verify --runs 2`, and
compare on huge outputs (the linear-time promise).

1. **compare vs nbdiff** — the same pair of 2,000-cell notebooks with plots (every 10th
   cell draws a matplotlib PNG; the re-run has other addresses and PNG metadata, float
   noise in 1% of the cells, a changed value in 1% and a changed plot in 0.5%). Both CLIs
   as subprocesses, interleaved, ``--repeat`` times; medians and the ratio. (nbdiff shows
   every textual difference, noise included; nbdocker masks, tolerates and decodes
   images — they do different work, the figure says what nbdocker's costs.)
2. **verify --runs 2** — ``nbdocker verify notebooks/demo.ipynb --runs 1`` and
   ``--runs 2`` (image built first, not timed), interleaved; what the control run adds.
3. **huge outputs** — in-process ``compare_notebooks`` on: one 1 MB line (differing at
   its end); one 100 MB stream without a newline; 100 cells of 1 MB lines (100 MB in
   all), one or all of them differing; the 120 KB line of path characters that took the
   old masks 181 s. Peak memory of the process is printed at the end.

nbdime is not a dependency: ``pip install nbdime`` into this virtualenv first (the
section is skipped, with that line, when it is missing).

Usage: python benchmarks/compare.py [--repeat N] [--base-image IMG] [--skip-verify]
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from _common import command, interleaved  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CELLS = 2000


def _plots() -> List[str]:
    """Three PNG plots drawn by matplotlib (Agg), base64 as notebooks hold them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = []
    for slope in (1.0, 2.0, 3.0):
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot([0, 1, 2, 3], [0, slope, 2 * slope, 3 * slope], marker="o")
        out = io.BytesIO()
        fig.savefig(out, format="png", metadata={"Software": f"matplotlib {slope}"})
        plt.close(fig)
        found.append(base64.b64encode(out.getvalue()).decode())
    return found


def _resave(png: str, software: str) -> str:
    """The same pixels with other PNG metadata (what another matplotlib writes)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", software)
    out = io.BytesIO()
    Image.open(io.BytesIO(base64.b64decode(png))).save(out, format="PNG", pnginfo=info)
    return base64.b64encode(out.getvalue()).decode()


def _pair(folder: Path) -> List[Path]:
    plots = _plots()
    rerun_plots = [_resave(p, "matplotlib 9.9") for p in plots]
    sides: Dict[str, List[Any]] = {"original": [], "rerun": []}
    for i in range(CELLS):
        for side in sides:
            rerun = side == "rerun"
            address = f"0x7f{(i * 7919 + (13 if rerun else 0)) % 0xFFFFFF:06x}"
            value = 1.0 / (i + 1) + (1e-15 if rerun and i % 100 == 5 else 0.0)
            changed = "CHANGED " if rerun and i % 100 == 50 else ""
            outputs = [new_output("stream", name="stdout",
                                  text=f"{changed}cell {i}: <object at {address}>\n"),
                       new_output("execute_result", execution_count=i + 1, data={
                           "text/plain": f"array([{value!r}, {i}.5, {i * 2}.25])"})]
            if i % 10 == 0:
                pick = (i // 10) % 3
                if rerun and i % 200 == 0:
                    pick = (pick + 1) % 3   # another plot
                png = rerun_plots[pick] if rerun else plots[pick]
                outputs.append(new_output("display_data", data={
                    "image/png": png, "text/plain": "<Figure size 500x300 with 1 Axes>"}))
            cell = new_code_cell(f"x{i} = compute({i})\nx{i}", outputs=outputs,
                                 execution_count=i + 1)
            cell["id"] = f"c{i:05d}"
            sides[side].append(cell)
    paths = []
    for side, cells in sides.items():
        path = folder / f"{side}.ipynb"
        nbformat.write(new_notebook(cells=cells), str(path))
        paths.append(path)
    return paths


def bench_nbdiff(folder: Path, repeat: int) -> None:
    print(f"== nbdocker compare vs nbdiff: {CELLS} cells, a plot in every 10th "
          f"(median of {repeat})")
    nbdiff = BIN / "nbdiff"
    if not nbdiff.exists():
        print("   skipped: nbdime is not installed here (pip install nbdime)")
        return
    original, rerun = _pair(folder)
    size = (original.stat().st_size + rerun.stat().st_size) / 1e6
    print(f"   notebooks: {size:.1f} MB together")
    medians, _ = interleaved({
        "nbdocker compare": command([str(BIN / "nbdocker"), "compare", str(original),
                                     str(rerun), "--json", "-q"], ok=(0, 1)),
        "nbdiff": command([str(nbdiff), "--no-color", str(original), str(rerun)], ok=(0, 1)),
    }, repeat)
    for name, seconds in medians.items():
        print(f"   {name:<18} {seconds:7.2f} s")
    print(f"   ratio nbdocker/nbdiff: {medians['nbdocker compare'] / medians['nbdiff']:.2f}")
    from nbdocker.stages.verify import compare_notebooks

    report = compare_notebooks(nbformat.read(str(original), as_version=4),
                               nbformat.read(str(rerun), as_version=4))
    print(f"   nbdocker's verdict: {report.verdict}")


def bench_runs(folder: Path, repeat: int, base_image: Optional[str]) -> None:
    print(f"== verify --runs 1 vs --runs 2 on notebooks/demo.ipynb (median of {repeat})")
    shutil.copytree(REPO / "notebooks", folder / "demo")
    demo = folder / "demo" / "demo.ipynb"
    env = dict(os.environ)
    if base_image:
        env["NBDOCKER_BASE_IMAGE"] = base_image
    argv = [str(BIN / "nbdocker"), "verify", str(demo), "--python", sys.executable, "-q"]
    first = subprocess.run(argv + ["--runs", "1"], env=env, capture_output=True, text=True)
    if first.returncode != 0:
        print(f"   skipped: verify failed ({first.returncode}): {first.stderr[-500:]}")
        return

    def verify(runs: int) -> Callable[[], object]:
        def call() -> object:
            return subprocess.run(argv + ["--runs", str(runs)], env=env, check=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return call

    medians, _ = interleaved({"--runs 1": verify(1), "--runs 2": verify(2)}, repeat)
    for name, seconds in medians.items():
        print(f"   verify {name:<9} {seconds:7.2f} s")
    added = medians["--runs 2"] - medians["--runs 1"]
    print(f"   the control run adds {added:.2f} s "
          f"({added / medians['--runs 1']:.0%} of a --runs 1 verify)")


def bench_huge() -> None:
    from nbdocker.stages.verify import compare_notebooks

    print("== huge outputs, compare_notebooks in-process (one run each)")

    def nb(*texts: str) -> Any:
        return new_notebook(cells=[new_code_cell("print(blob)", execution_count=i + 1,
                                                 outputs=[new_output("stream", name="stdout",
                                                                     text=text)])
                                   for i, text in enumerate(texts)])

    mb = 1_000_000
    cases = {
        "one 1 MB line, differing at its end": (nb("x" * mb + "A\n"), nb("x" * mb + "B\n")),
        "100 MB on one stream, no newline": (nb("7" * (100 * mb)), nb("7" * (100 * mb) + "8")),
        "100 cells of a 1 MB line, one differing": (
            nb(*[f"{i} " + "y" * mb for i in range(100)]),
            nb(*[f"{i} " + "y" * mb for i in range(99)], "99 " + "z" * mb)),
        "100 cells of a 1 MB line, all differing": (
            nb(*[f"{i} " + "y" * mb for i in range(100)]),
            nb(*[f"{i} " + "y" * mb + "!" for i in range(100)])),
        "the 120 KB path-like line (old: 181 s)": (nb("a/" * 60_000), nb("a/" * 60_000 + "b")),
    }
    for name, (a, b) in cases.items():
        start = time.perf_counter()
        report = compare_notebooks(a, b)
        seconds = time.perf_counter() - start
        cut = sum(c.truncated for c in report.cells)
        print(f"   {name:<42} {seconds:6.2f} s  ({report.summary['differs']} differs, "
              f"{cut} diff(s) cut, report {len(report.to_json()) / 1e3:.1f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base-image", default=os.environ.get("NBDOCKER_BASE_IMAGE"))
    parser.add_argument("--skip-verify", action="store_true",
                        help="leave out the verify --runs figure (needs a Docker engine)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbdocker-bench-compare-") as tmp:
        folder = Path(tmp)
        bench_nbdiff(folder, args.repeat)
        if not args.skip_verify:
            bench_runs(folder, args.repeat, args.base_image)
        bench_huge()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (huge outputs): {peak:.0f} MB")


if __name__ == "__main__":
    main()
