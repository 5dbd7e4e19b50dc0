"""Numbers inside text outputs, compared within a tolerance.

Two texts are *close* when they are the same text around their numbers and every pair
of numbers is within ``rtol``/``atol`` (``|a - b| <= max(rtol * max(|a|, |b|), atol)``,
as :func:`math.isclose`). Floating-point numbers only: an integer (``42``, ``2024``) is
exact, and a float never matches an integer. The padding next to a number may differ
(numpy and pandas pad columns to the widest value, so one value printed differently
moves its neighbours), nothing else; a version like ``1.2.3`` or a name like
``float64`` holds no number.

BLAS noise (``-1.30367773e-15`` vs ``-9.75918483e-16``) is close; a changed second digit
is not. The scan is one linear pass per text.
"""
from __future__ import annotations

import re
from typing import List, Optional

from .report import Deviation

__all__ = ["close", "NUMBER"]

# (digits first, the fraction optional: a long run of digits is read once, not re-tried)
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?!\w|\.\w)")
_BLANKS = re.compile(r"[ \t]+")


def _is_float(token: str) -> bool:
    return "." in token or "e" in token or "E" in token


def _frame(pieces: List[str]) -> List[str]:
    """The text around the numbers, padding next to numbers dropped, runs of blanks one."""
    last = len(pieces) - 1
    framed = []
    for i, piece in enumerate(pieces):
        if i > 0:
            piece = piece.lstrip(" \t")
        if i < last:
            piece = piece.rstrip(" \t")
        framed.append(_BLANKS.sub(" ", piece))
    return framed


def close(a: str, b: str, *, rtol: float, atol: float) -> Optional[Deviation]:
    """The largest deviation when ``a`` and ``b`` differ only by numbers within the
    tolerance (at least one pair of numbers spelled differently); None otherwise."""
    first, second = NUMBER.findall(a), NUMBER.findall(b)
    if len(first) != len(second) or first == second:
        return None
    if _frame(NUMBER.split(a)) != _frame(NUMBER.split(b)):
        return None
    worst: Optional[Deviation] = None
    for x, y in zip(first, second):
        if x == y:
            continue
        if not (_is_float(x) and _is_float(y)):
            return None
        fx, fy = float(x), float(y)
        difference = abs(fx - fy)
        scale = max(abs(fx), abs(fy))
        if not difference <= max(rtol * scale, atol):   # "not <=": nan and inf fail too
            return None
        if worst is None or difference > worst.absolute:
            worst = Deviation(difference, difference / scale if scale else 0.0, x, y)
    return worst
