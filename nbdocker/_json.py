"""JSON from untrusted files with a bounded depth: one reader for notebooks, specs and
parameters, so a document nested 100,000 levels deep is one clear error, not a
``RecursionError`` from the decoder or from whatever walks the document later
(nbformat's validation, deep copies, the comparison)."""
from __future__ import annotations

import json
from typing import Any, List, Tuple, Type

from .exceptions import InputError

__all__ = ["MAX_DEPTH", "loads", "check_depth"]

# Far above any real notebook (outputs included) and far below the interpreter's
# recursion limit, which the code that walks a document recursively also needs.
MAX_DEPTH = 100


def check_depth(value: Any, what: str, *, error: Type[InputError] = InputError,
                max_depth: int = MAX_DEPTH) -> Any:
    """``value`` when its containers nest at most ``max_depth`` levels (checked without
    recursion); ``error`` naming ``what`` otherwise."""
    stack: List[Tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > max_depth:
            raise error(f"{what} is nested more than {max_depth} levels deep")
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list, tuple)))
    return value


def loads(text: str, what: str, *, error: Type[InputError] = InputError) -> Any:
    """``json.loads(text)`` with the depth bounded (see :func:`check_depth`); ``error``
    naming ``what`` for nesting too deep. Other decoding errors propagate unchanged
    (``json.JSONDecodeError``), so callers keep their own messages for them."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise error(f"{what} is nested more than {MAX_DEPTH} levels deep") from None
    return check_depth(value, what, error=error)
