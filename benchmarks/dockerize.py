"""Time from ``%dockerize --dry-run`` to its output on notebooks/demo.ipynb (target < 1 s).

Runs in a real ipykernel (jupyter_client, the kernel of this interpreter), where the
demo's imports (numpy, pandas, matplotlib) were already executed like a user would:

* cold — the first ``%dockerize`` in the kernel with an empty nbdocker cache
  (interpreter probe, lazy imports of nbformat/packaging/dockerfile code);
* warm — the next calls (median of 5).

Side by side: the CLI peer ``nbdocker dockerfile notebooks/demo.ipynb`` (a fresh
process, warm cache), which renders the same Dockerfile without a kernel.

    .venv/bin/python benchmarks/dockerize.py
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "notebooks" / "demo.ipynb"
MAGIC = f"%dockerize --dry-run --no-widget --notebook {DEMO.name}"


def _run(kc, code: str) -> float:
    """Execute ``code``; seconds until the kernel is idle again (output delivered)."""
    outputs = []
    started = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=120, output_hook=outputs.append)
    seconds = time.perf_counter() - started
    if reply["content"]["status"] != "ok":
        raise SystemExit(f"cell failed: {code!r}: {reply['content']}")
    if code.startswith("%dockerize") and not any(
            "FROM " in str(m["content"].get("data", {}).get("text/plain", "")) for m in outputs):
        raise SystemExit(f"no Dockerfile in the output of {code!r}")
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        env.pop("JPY_SESSION_NAME", None)
        km, kc = start_new_kernel(kernel_name="python3", cwd=str(DEMO.parent), env=env)
        try:
            _run(kc, "%load_ext nbdocker")
            _run(kc, "import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"
                     "from helpers import summarize")
            cold = _run(kc, MAGIC)
            warm = statistics.median(_run(kc, MAGIC) for _ in range(5))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        cli = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nbdocker", "dockerfile", str(DEMO)], env=env,
                           check=True, capture_output=True)
            cli.append(time.perf_counter() - started)
    cli_s = statistics.median(cli)
    print(f"%dockerize --dry-run on {DEMO.relative_to(ROOT)} in a real kernel")
    print(f"  cold (first call, empty cache): {cold:6.3f} s")
    print(f"  warm (median of 5):             {warm:6.3f} s   target < 1 s: "
          f"{'met' if max(cold, warm) < 1 else 'MISSED'}")
    print(f"  peer: nbdocker dockerfile (CLI, new process, warm cache): {cli_s:6.3f} s")
    print(f"  ratio CLI / warm magic: {cli_s / warm:5.1f}x")


if __name__ == "__main__":
    main()
