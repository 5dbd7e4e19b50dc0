"""Hostile-input figures (issue 14.5 and 14.3), side by side in one run.

1. Reading container output that never ends a line: nbdocker's line reader against the
   reader it replaced (kept below as the peer: join the partial line, split it again at
   every chunk), at growing sizes; time and peak memory.
2. The same on the real engine: a container writes 50/100 MB without a newline;
   ``DockerEngine.run`` without a timeout, and with ``--timeout 5`` (bounded?).
3. Secret scanning of shipped files by content: MB/s against sha256 (which capture
   computes for every file anyway), on text and on binary data.

    .venv/bin/python benchmarks/hostile.py [--quick] [--no-engine]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
import tracemalloc
from typing import Callable, Iterable, Iterator, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from nbdocker.engine.docker import _lines  # noqa: E402
from nbdocker.secrets import content_secret_reason  # noqa: E402
from _common import default_base_image  # noqa: E402

CHUNK = 32 * 1024   # what docker-py yields per frame, about


def _peer_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The reader nbdocker used before issue 14 (quadratic without newlines)."""
    partial = b""
    for chunk in chunks:
        partial += chunk
        *complete, partial = partial.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8", "replace").rstrip("\r")
    if partial:
        yield partial.decode("utf-8", "replace")


def _chunks(total: int) -> Iterator[bytes]:
    block = b"x" * CHUNK
    for _ in range(total // CHUNK):
        yield block


def _measure(reader: Callable[[Iterable[bytes]], Iterator[str]], total: int) -> Tuple[float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    for _ in reader(_chunks(total)):
        pass
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak


def bench_reader(quick: bool) -> None:
    print("1. output without a newline: nbdocker's reader vs the one it replaced")
    print(f"{'MB':>6} {'nbdocker s':>11} {'peak MB':>8} {'peer s':>9} {'peak MB':>8} {'peer/ours':>10}")
    sizes = [5, 10, 20] if quick else [5, 10, 20, 50, 100]
    peer_limit = 10 if quick else 20   # the peer is quadratic: beyond this it takes minutes
    for mb in sizes:
        ours, ours_peak = _measure(_lines, mb << 20)
        if mb <= peer_limit:
            peer, peer_peak = _measure(_peer_lines, mb << 20)
            print(f"{mb:>6} {ours:>11.3f} {ours_peak / 2**20:>8.1f} {peer:>9.2f} "
                  f"{peer_peak / 2**20:>8.1f} {peer / ours:>9.0f}x")
        else:
            print(f"{mb:>6} {ours:>11.3f} {ours_peak / 2**20:>8.1f} {'(skipped: quadratic)':>29}")


def bench_engine(quick: bool) -> None:
    from nbdocker.engine.base import ContainerLimits
    from nbdocker.engine.docker import DockerEngine

    base = default_base_image()
    engine = DockerEngine.from_env()
    print(f"\n2. a container writes N MB without a newline (real engine, {base})")
    print(f"{'MB':>6} {'timeout':>8} {'wall s':>8} {'lines':>6} {'kept bytes':>11} {'timed out':>10}")
    for mb in ([50] if quick else [50, 100]):
        script = (f"import sys; b = b'x' * 65536\n"
                  f"for _ in range({mb * 16}): sys.stdout.buffer.write(b)\n"
                  "sys.stdout.flush()\nimport time; time.sleep(30 if len(sys.argv) > 1 else 0)")
        for timeout in (None, 5.0):
            cmd = ["python3", "-c", script] + (["wait"] if timeout else [])
            started = time.perf_counter()
            result = engine.run(base, cmd, workdir="/tmp", limits=ContainerLimits(timeout=timeout))
            wall = time.perf_counter() - started
            kept = sum(len(line) for line in result.logs)
            print(f"{mb:>6} {timeout or '-':>8} {wall:>8.2f} {len(result.logs):>6} {kept:>11} "
                  f"{str(result.timed_out):>10}")


def bench_scan(quick: bool) -> None:
    mb = 10 if quick else 50
    rng = random.Random(14)
    words = [b"alpha", b"beta", b"12.5", b"2024-01-01", b"tokens", b"key", b"value", b"hello"]
    text = b"\n".join(b",".join(rng.choice(words) for _ in range(8))
                      for _ in range((mb << 20) // 60))
    binary = os.urandom(mb << 20)
    print(f"\n3. secret scan by content vs sha256 ({mb} MB each)")
    print(f"{'data':>8} {'scan MB/s':>10} {'sha256 MB/s':>12} {'scan/sha256':>12}")
    for name, data in (("text", text), ("binary", binary)):
        started = time.perf_counter()
        content_secret_reason(data)
        scan = time.perf_counter() - started
        started = time.perf_counter()
        hashlib.sha256(data).hexdigest()
        sha = time.perf_counter() - started
        size = len(data) / 2**20
        print(f"{name:>8} {size / scan:>10.0f} {size / sha:>12.0f} {scan / sha:>11.1f}x")
    print("   (binary files are not content-scanned when shipped: a NUL in the first "
          "8 KiB makes them name-only; the row shows what a scan would cost)")


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-engine", action="store_true")
    args = parser.parse_args(argv)
    bench_reader(args.quick)
    if not args.no_engine:
        bench_engine(args.quick)
    bench_scan(args.quick)


if __name__ == "__main__":
    main(sys.argv[1:])
