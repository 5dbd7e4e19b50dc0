"""Benchmark: `nbdocker capture` vs `pipreqs --scan-notebooks --use-local`.

Generates a 2,000-cell notebook (varied imports, aliases, magics, %pip lines, imports
inside functions) in a temporary folder, then times, in one run:

* nbdocker in-process (``capture_notebook``; cold = first call incl. the interpreter
  probe, warm = cached interpreter metadata, the usual case), plus the import cost;
* the CLI as a subprocess: ``python -m nbdocker capture --json``;
* pipreqs on the same folder, from a throwaway venv (pipreqs pins ipython==8.12.3, so it
  is never installed into the project's environment).

It also prints recall/precision of both tools on the fixture notebooks under
``tests/notebooks`` and ``notebooks/`` that have an ``expected.json``.

Usage: python benchmarks/capture.py [--cells N] [--pipreqs-venv DIR] [--repeat N]
"""
from __future__ import annotations

import argparse
import json
import os
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
]


def make_notebook(folder: Path, cells: int) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(CELL_TEMPLATES[i % len(CELL_TEMPLATES)].format(i=i))
                for i in range(cells)]
    path = folder / "big.ipynb"
    nbformat.write(nb, str(path))
    return path


def timed(fn: Callable[[], object], repeat: int) -> Tuple[float, List[float]]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
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
        cold, _ = timed(lambda: capture_notebook(notebook), 1)
        warm, _ = timed(lambda: capture_notebook(notebook), args.repeat)
        spec = capture_notebook(notebook)
        cli_cmd = [sys.executable, "-m", "nbdocker", "capture", "--json", str(notebook)]
        cli_ok = subprocess.run(cli_cmd, capture_output=True).returncode == 0
        cli, _ = timed(lambda: subprocess.run(cli_cmd, capture_output=True), args.repeat)

        print(f"notebook: {args.cells} code cells; nbdocker found {len(spec.direct_requirements)} "
              f"direct + {len(spec.requirements) - len(spec.direct_requirements)} transitive "
              f"requirements, {len(spec.unresolved)} unresolved")
        print(f"nbdocker import (nbdocker.stages.capture)        {import_cost:8.3f} s")
        print(f"nbdocker in-process, cold interpreter cache {cold:6.3f} s")
        print(f"nbdocker in-process, warm (median of {args.repeat})    {warm:6.3f} s")
        print(f"nbdocker CLI subprocess (median of {args.repeat})      {cli:6.3f} s"
              + ("" if cli_ok else "   [CLI exited non-zero]"))

        exe = ensure_pipreqs(args.pipreqs_venv)
        pipreqs_time: Optional[float] = None
        if exe is not None:
            share_site_packages(args.pipreqs_venv)
            shutil.rmtree(cache, ignore_errors=True)
            pipreqs_time, _ = timed(lambda: run_pipreqs(exe, notebook.parent), max(1, args.repeat // 2))
            print(f"pipreqs --scan-notebooks --use-local       {pipreqs_time:6.3f} s")
            print(f"ratio pipreqs / nbdocker in-process warm   {pipreqs_time / warm:6.1f}x")
            print(f"ratio pipreqs / nbdocker CLI subprocess    {pipreqs_time / cli:6.1f}x")
        print("target: >= 10x faster than pipreqs and < 0.5 s")

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
