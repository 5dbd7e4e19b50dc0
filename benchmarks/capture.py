"""Benchmark: `nbdocker capture` vs `pipreqs --scan-notebooks --use-local`.

Generates a 2,000-cell notebook (varied imports, aliases, magics, %pip lines, imports
inside functions, shell commands, pandas calls that load optional backends, plain
computation) in a temporary folder, then times, in one run, with pipreqs on the same
folder (from a throwaway venv: pipreqs pins ipython==8.12.3, so it is never installed
into the project's environment):

* **cold**: no nbdocker cache at all (interpreter probe + every cell parsed);
* **cold cells**: the interpreter's metadata cached, no per-cell cache (a notebook seen
  for the first time, the usual first capture);
* **warm**: both cached (a re-capture);
* **one cell edited**: the warm cache, one cell's source changed;

each in-process (``capture_notebook``) and as the CLI (``python -m nbdocker capture
--json``, a fresh process: import costs included), wall time and CPU time (the machine
is shared: CPU time is the steadier figure; ratios use the same measure on both sides).
It also prints what the new detection (programs, hidden dependencies) costs on the cold
scan, and recall/precision of both tools on the fixture notebooks under
``tests/notebooks`` and ``notebooks/`` that have an ``expected.json``.

Usage: python benchmarks/capture.py [--cells N] [--pipreqs-venv DIR] [--repeat N]
       [--python PATH]   (the interpreter whose versions are pinned; default: this one)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set, Tuple

import nbformat
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
CELL_TEMPLATES = [
    "import numpy as np\nx{i} = np.arange({i})",
    "import pandas as pd\ndf{i} = pd.DataFrame({{'a': [{i}]}})",
    "from matplotlib import pyplot as plt\n%matplotlib inline\nplt.plot([{i}])",
    "import os, sys, json, re, collections\nprint(len(sys.argv), {i})",
    "try:\n    import yaml\nexcept ImportError:\n    yaml = None",
    "%pip install requests>=2\nimport requests",
    "!pip install attrs\nimport attr",
    "def f{i}():\n    import docker\n    return docker.__name__",
    "%%time\nimport nbformat\ns = sum(range({i}))",
    "files{i} = !ls\n%timeit -n 1 -r 1 x = {i}",
    "from PIL import Image\nimport sklearn.linear_model as lm",
    "import importlib\nm = importlib.import_module('packaging.version')",
    "class C{i}:\n    def m(self):\n        from dateutil import parser\n        return parser",
    "np.sum?\nvalue = {i} * 2",
    "%%bash\necho {i}\n",
    "result = [i ** 2 for i in range({i})]\nprint(result[-1:])",
    "total{i} = df{i}.groupby(key).mean()\nmodel.fit(X, y)",
    "df{i}.plot.density()\nsummary = pd.read_parquet(path{i})",
    "!wget -q https://example.org/{i}.csv && head -3 {i}.csv",
    "import subprocess\nsubprocess.run(['git', 'status'], check=False)\nz{i} = {i}",
]


def make_notebook(folder: Path, cells: int) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(CELL_TEMPLATES[i % len(CELL_TEMPLATES)].format(i=i))
                for i in range(cells)]
    path = folder / "big.ipynb"
    nbformat.write(nb, str(path))
    return path


def timed(fn: Callable[[], object], repeat: int,
          setup: Callable[[], object] = lambda: None) -> Tuple[float, float]:
    """Median wall and median CPU seconds of ``fn`` (CPU: this process and its children),
    ``setup`` run untimed before each call."""
    walls, cpus = [], []
    for _ in range(repeat):
        setup()
        start, cpu = time.perf_counter(), _cpu()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def ensure_pipreqs(venv_dir: Path) -> Optional[Path]:
    exe = venv_dir / "bin" / "pipreqs"
    if exe.exists():
        return exe
    print(f"installing pipreqs into a throwaway venv at {venv_dir} ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
        subprocess.run([str(venv_dir / "bin" / "pip"), "install", "-q", "pipreqs"], check=True,
                       timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"pipreqs unavailable: {exc}", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def share_site_packages(venv_dir: Path) -> None:
    """Let pipreqs' --use-local see the packages nbdocker sees (a fair comparison).

    A .pth file appends this interpreter's site-packages to the END of pipreqs' sys.path,
    so pipreqs' own pinned IPython still wins for its imports.
    """
    python = venv_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    import sysconfig

    ours = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "nbdocker-bench-shared.pth").write_text(ours + "\n")


def run_pipreqs(exe: Path, folder: Path) -> Tuple[Set[str], bool]:
    proc = subprocess.run([str(exe), "--scan-notebooks", "--use-local", "--print", str(folder)],
                          capture_output=True, text=True, timeout=600)
    names = set()
    for line in proc.stdout.splitlines():
        name = line.split("==")[0].split(">=")[0].strip()
        if name and not line.startswith(("INFO", "WARNING")):
            names.add(canonicalize_name(name))
    return names, proc.returncode == 0


def nbdocker_names(notebook: Path) -> Set[str]:
    from nbdocker.stages.capture import capture_notebook

    spec = capture_notebook(notebook)
    names = {r.name for r in spec.requirements if r.direct}
    return names | {canonicalize_name(u.pypi_name or u.module) for u in spec.unresolved}


def fixture_folders() -> List[Path]:
    roots = [REPO / "tests" / "notebooks", REPO / "notebooks"]
    return sorted({p.parent for root in roots if root.is_dir() for p in root.rglob("expected.json")})


def score(found: Set[str], expected: Set[str]) -> Tuple[int, int, int]:
    return len(found & expected), len(found), len(expected)


def _clear(cache: Path, pattern: str) -> None:
    for path in cache.glob(pattern):
        path.unlink()


def _edit_one_cell(notebook: Path, round_: int) -> None:
    nb = nbformat.read(str(notebook), as_version=4)
    nb.cells[len(nb.cells) // 2].source = f"import numpy as np\nedited = {round_}"
    nbformat.write(nb, str(notebook))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--pipreqs-venv", type=Path,
                        default=Path(tempfile.gettempdir()) / "nbdocker-bench-pipreqs")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from nbdocker.stages.capture import capture_notebook
    import_cost = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="nbdocker-bench-") as tmp:
        folder = Path(tmp)
        cache = folder / ".cache-nbdocker"
        os.environ["NBDOCKER_CACHE_DIR"] = str(cache)
        (folder / "nb").mkdir()
        notebook = make_notebook(folder / "nb", args.cells)

        def capture() -> object:
            return capture_notebook(notebook, python=args.python)

        def no_cache() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        def no_cell_cache() -> None:
            _clear(cache, "cells-*.json")

        rounds = iter(range(10 ** 6))
        rows: Dict[str, Tuple[float, float]] = {}
        rows["cold (no cache)"] = timed(capture, args.repeat, no_cache)
        rows["cold cells (interpreter cached)"] = timed(capture, args.repeat, no_cell_cache)
        capture()
        rows["warm (both cached)"] = timed(capture, args.repeat)
        rows["one cell edited"] = timed(capture, args.repeat,
                                        lambda: _edit_one_cell(notebook, next(rounds)))
        spec = capture_notebook(notebook, python=args.python)

        cli_cmd = [sys.executable, "-m", "nbdocker", "capture", "--json", "--python",
                   args.python, str(notebook)]
        cli_ok = subprocess.run(cli_cmd, capture_output=True).returncode == 0
        def cli_run() -> object:
            return subprocess.run(cli_cmd, capture_output=True)

        cli = {"cold (no cache)": timed(cli_run, args.repeat, no_cache),
               "cold cells (interpreter cached)": timed(cli_run, args.repeat, no_cell_cache),
               "warm (both cached)": timed(cli_run, args.repeat)}

        # What the new detection (programs, hidden dependencies) costs on a cold scan.
        from nbdocker.notebook_io import code_cells
        from nbdocker.stages.capture import cellcache, hidden, imports

        cells = code_cells(json.loads(notebook.read_text(encoding="utf-8")))

        def scan() -> object:
            return cellcache.scan_notebook_cells(cells, None)

        with_detection = timed(scan, args.repeat)
        saved = (hidden.match_call, imports.executables)
        hidden.match_call, imports.executables = (lambda call: []), (lambda line: [])
        try:
            without_detection = timed(scan, args.repeat)
        finally:
            hidden.match_call, imports.executables = saved

        print(f"notebook: {args.cells} code cells; nbdocker found {len(spec.direct_requirements)} "
              f"direct + {len(spec.requirements) - len(spec.direct_requirements)} transitive "
              f"requirements, {len(spec.unresolved)} unresolved, {len(spec.apt_packages)} "
              f"system packages; pinned from {args.python}")
        print(f"nbdocker import (nbdocker.stages.capture)     {import_cost:7.3f} s")
        print(f"{'':34s} {'in-process':>18s} {'CLI subprocess':>18s}")
        print(f"{'':34s} {'wall':>8s} {'cpu':>9s} {'wall':>8s} {'cpu':>9s}   (medians of {args.repeat})")
        for label, (wall, cpu) in rows.items():
            c = cli.get(label)
            tail = f" {c[0]:8.3f} {c[1]:9.3f}" if c else ""
            print(f"  {label:32s} {wall:8.3f} {cpu:9.3f}{tail}" +
                  ("" if cli_ok or not c else "   [CLI exited non-zero]"))
        print(f"  detection cost on the cold scan: {with_detection[1]:.3f} s cpu with programs and "
              f"hidden dependencies, {without_detection[1]:.3f} s without "
              f"({(with_detection[1] / max(without_detection[1], 1e-9) - 1) * 100:+.0f}%)")

        exe = ensure_pipreqs(args.pipreqs_venv)
        if exe is not None:
            share_site_packages(args.pipreqs_venv)
            pipreqs_wall, pipreqs_cpu = timed(lambda: run_pipreqs(exe, notebook.parent),
                                              max(1, args.repeat // 2))
            print(f"pipreqs --scan-notebooks --use-local   wall {pipreqs_wall:7.3f} s   "
                  f"cpu {pipreqs_cpu:7.3f} s")
            print("ratio pipreqs / nbdocker (wall, cpu):")
            for label in rows:
                wall, cpu = rows[label]
                line = f"  {label:32s} in-process {pipreqs_wall / wall:6.1f}x {pipreqs_cpu / cpu:6.1f}x"
                if label in cli:
                    cw, cc = cli[label]
                    line += f"   CLI {pipreqs_wall / cw:6.1f}x {pipreqs_cpu / cc:6.1f}x"
                print(line)
        print("target: >= 10x faster than pipreqs and < 0.2 s")

        print("\nrecall / precision on fixture notebooks (direct requirements, PyPI names):")
        totals: Dict[str, List[int]] = {"nbdocker": [0, 0, 0], "pipreqs": [0, 0, 0]}
        for case in fixture_folders():
            expected = {canonicalize_name(n) for n in json.loads((case / "expected.json").read_text())
                        .get("requirements", [])}
            notebooks = sorted(case.glob("*.ipynb"))
            main_nb = case / "notebook.ipynb" if (case / "notebook.ipynb").exists() else notebooks[0]
            results = {"nbdocker": nbdocker_names(main_nb)}
            if exe is not None:
                results["pipreqs"], _ = run_pipreqs(exe, case)
            row = []
            for tool, found in results.items():
                hit, n_found, n_exp = score(found, expected)
                totals[tool] = [a + b for a, b in zip(totals[tool], (hit, n_found, n_exp))]
                row.append(f"{tool} R={hit}/{n_exp} P={hit}/{n_found}")
            print(f"  {case.relative_to(REPO)}: " + "   ".join(row))
        for tool, (hit, n_found, n_exp) in totals.items():
            if n_exp and (tool == "nbdocker" or exe is not None):
                print(f"{tool:9s} recall {hit / n_exp:6.1%}  precision {hit / max(n_found, 1):6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
