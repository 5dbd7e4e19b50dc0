"""Why a cell's output changes between the container's own runs, when that can be told.

The runs are the evidence; this only names a likely cause from the cell's source (and
the sources before it) and from what changed: an unseeded random generator, a clock,
random UUIDs, object ids, or an order that differs (sets and dicts of strings: string
hashing is randomised per process). An empty answer means "no idea": the cell is
volatile all the same.
"""
from __future__ import annotations

import bisect
import re
from typing import List, Optional, Sequence, Tuple

__all__ = ["History", "explain"]

_SEEDED_MAKER = r"(?:default_rng|RandomState|Random|Generator|PCG64|MT19937|SeedSequence)"
_UNSEEDED_GENERATOR = re.compile(rf"\b{_SEEDED_MAKER}\(\s*\)")
_RANDOM_USE = re.compile(r"\b(?:np|numpy|random|torch|tf|jax)\.(?:random\.)?\w{0,40}"
                         r"(?:rand|normal|uniform|choice|shuffle|permutation|sample|integers|"
                         r"random|randint|randn|gauss|binomial|poisson|exponential|beta|gamma)"
                         r"\w{0,20}\(|\brng\.\w{1,40}\(")
_SEED = re.compile(r"\bseed\s*\(|\b(?:default_rng|RandomState|Random|Generator|PCG64|"
                   r"MT19937|SeedSequence)\(\s*[^)\s]|random_state\s*=|manual_seed\(|set_seed\(")
_CLOCK = re.compile(r"\b(?:now|utcnow|today)\(|\btime\.(?:time|perf_counter|monotonic|"
                    r"process_time|time_ns|ctime|localtime|gmtime)\(|%%?time\b|%%?timeit\b|"
                    r"\btimeit\.")
_UUID = re.compile(r"\buuid[14]\(")
_IDS = re.compile(r"\bid\(|\bhash\(|\bgetpid\(|\bgethostname\(|\bnode\(\)|\btempfile\.")
_UNINITIALISED = re.compile(r"\b(?:np|numpy|torch)\.empty(?:_like)?\(")


def _line_of(source: str, match: "re.Match[str]") -> str:
    start = source.rfind("\n", 0, match.start()) + 1
    end = source.find("\n", match.end())
    return source[start:end if end != -1 else len(source)].strip()


def _permuted(a: Sequence[str], b: Sequence[str]) -> bool:
    """The same lines (or the same comma-separated items) in another order, strings
    among them (what hash randomisation reorders)."""
    if a == b or not any("'" in line or '"' in line for line in a):
        return False
    if sorted(a) == sorted(b):
        return True
    items_a = sorted(x.strip() for line in a for x in re.split(r"[,{}\[\]()]", line))
    items_b = sorted(x.strip() for line in b for x in re.split(r"[,{}\[\]()]", line))
    return items_a == items_b


def _before(found: List[Tuple[int, str]], index: int) -> Optional[Tuple[int, str]]:
    at = bisect.bisect_left(found, (index, ""))
    return found[at - 1] if at else None


class History:
    """Where a notebook makes unseeded generators and seeds them, read once."""

    def __init__(self, cells: Sequence[Tuple[int, str]]) -> None:
        self.makers: List[Tuple[int, str]] = []   # unseeded generators made
        self.draws: List[Tuple[int, str]] = []    # random numbers drawn before any seed
        self.seeds: List[int] = []
        for index, source in cells:
            seeded = _SEED.search(source)
            made = _UNSEEDED_GENERATOR.search(source)
            drawn = None if seeded or self.seeds else _RANDOM_USE.search(source)
            if made:
                self.makers.append((index, _line_of(source, made)))
            elif drawn:
                self.draws.append((index, _line_of(source, drawn)))
            if seeded:
                self.seeds.append(index)

    def generator_before(self, index: int) -> Optional[Tuple[int, str]]:
        """The nearest cell before ``index`` that makes an unseeded generator."""
        return _before(self.makers, index)

    def draw_before(self, index: int) -> Optional[Tuple[int, str]]:
        """The nearest cell before ``index`` that draws random numbers, none seeded yet."""
        return _before(self.draws, index)

    def seeded_before(self, index: int) -> bool:
        """Whether a cell before ``index`` seeds something."""
        return bisect.bisect_left(self.seeds, index) > 0


def explain(source: str, index: int, history: History, first: Sequence[str],
            second: Sequence[str]) -> str:
    """A likely cause of the difference between two runs' lines ``first`` and ``second``
    of cell ``index`` with ``source`` (``history``: the notebook's generators)."""
    clock = _CLOCK.search(source)
    if clock:
        return f"it reads a clock: {_line_of(source, clock)}"
    if _UUID.search(source):
        return "it makes random UUIDs"
    made = _UNSEEDED_GENERATOR.search(source)
    if made:
        return f"an unseeded random generator: {_line_of(source, made)}"
    drawn = _RANDOM_USE.search(source)
    if drawn and not _SEED.search(source):
        maker = history.generator_before(index)
        if maker is not None:
            return f"an unseeded random generator, made in cell {maker[0]}: {maker[1]}"
        if not history.seeded_before(index):
            return f"random numbers drawn without a seed: {_line_of(source, drawn)}"
        return f"random numbers: {_line_of(source, drawn)} (is every generator seeded?)"
    if _permuted(first, second):
        return ("the order differs between runs: probably a set or dict of strings, whose "
                "hashing is randomised per process (PYTHONHASHSEED)")
    empty = _UNINITIALISED.search(source)
    if empty:
        return f"uninitialised memory: {_line_of(source, empty)}"
    ids = _IDS.search(source)
    if ids:
        return f"it prints process-specific values: {_line_of(source, ids)}"
    maker = history.generator_before(index)
    if maker is not None:
        return (f"probably values from the unseeded random generator made in cell "
                f"{maker[0]}: {maker[1]}")
    draw = history.draw_before(index)
    if draw is not None:
        return f"probably values from random numbers drawn without a seed in cell " \
               f"{draw[0]}: {draw[1]}"
    return ""
