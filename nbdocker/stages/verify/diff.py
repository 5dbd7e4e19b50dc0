"""A bounded unified diff, in time linear in the size of what is compared.

The common head and tail of the two line lists are skipped first (one pass); only the
first :data:`WINDOW` lines of what remains on each side go through
:class:`difflib.SequenceMatcher` (quadratic in the worst case, so bounded), and every
shown line is cut to ``width`` characters around its first difference, so a changed
1 MB line shows where it changed. The diff says when it was cut.
"""
from __future__ import annotations

import difflib
from typing import List, Sequence, Tuple

__all__ = ["bounded_diff", "first_difference", "WINDOW"]

WINDOW = 400   # differing lines per side that are matched against each other
_CHUNK = 65536


def first_difference(a: str, b: str) -> int:
    """The index of the first character where ``a`` and ``b`` differ: chunk by chunk,
    then a binary search inside the first differing chunk (C-speed comparisons, no
    per-character Python loop, linear in the common prefix)."""
    end = min(len(a), len(b))
    lo = 0
    while lo + _CHUNK <= end and a[lo:lo + _CHUNK] == b[lo:lo + _CHUNK]:
        lo += _CHUNK
    hi = min(lo + _CHUNK, end)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _clip(line: str, width: int, at: int = 0) -> Tuple[str, bool]:
    if len(line) <= width:
        return line, False
    start = max(0, min(at - width // 4, len(line) - width))
    head = f"…[{start} chars] " if start else ""
    rest = len(line) - start - width
    tail = f" …[{rest} more chars]" if rest > 0 else ""
    return head + line[start:start + width] + tail, True


def bounded_diff(a: Sequence[str], b: Sequence[str], *, labels: Tuple[str, str] = (
        "original", "re-run"), max_lines: int = 20, width: int = 200) -> Tuple[str, bool]:
    """(unified diff of ``a`` → ``b``, whether anything was cut)."""
    n = min(len(a), len(b))
    head = 0
    while head < n and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    old, new = list(a[head:len(a) - tail]), list(b[head:len(b) - tail])
    windowed = len(old) > WINDOW or len(new) > WINDOW
    cut = windowed
    old, new = old[:WINDOW], new[:WINDOW]
    # one line of context on each side, as `diff -U1`
    before = list(a[head - 1:head]) if head else []
    after_old = list(a[len(a) - tail:len(a) - tail + 1]) if tail and not windowed else []
    after_new = list(b[len(b) - tail:len(b) - tail + 1]) if tail and not windowed else []
    old, new = before + old + after_old, before + new + after_new
    offset = head - len(before)
    lines: List[str] = [f"--- {labels[0]}", f"+++ {labels[1]}"]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for group in matcher.get_grouped_opcodes(1):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        lines.append(f"@@ -{offset + i1 + 1},{i2 - i1} +{offset + j1 + 1},{j2 - j1} @@")
        for tag, x1, x2, y1, y2 in group:
            if tag == "equal":
                for line in old[x1:x2]:
                    text, clipped = _clip(line, width)
                    cut |= clipped
                    lines.append(" " + text)
                continue
            removed, added = old[x1:x2], new[y1:y2]
            for k, line in enumerate(removed):
                at = first_difference(line, added[k]) if k < len(added) else 0
                text, clipped = _clip(line, width, at)
                cut |= clipped
                lines.append("-" + text)
            for k, line in enumerate(added):
                at = first_difference(removed[k], line) if k < len(removed) else 0
                text, clipped = _clip(line, width, at)
                cut |= clipped
                lines.append("+" + text)
    if windowed:
        lines.append(f"... (only the first {WINDOW} differing lines were compared for "
                     "this diff)")
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more diff lines)"]
        cut = True
    return "\n".join(lines), cut
