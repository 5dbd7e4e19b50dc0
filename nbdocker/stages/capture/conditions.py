"""Version and platform tests (``if sys.version_info >= (3, 8):``) decided for the TARGET.

The AST walker records the test of every ``if`` around an import as Python source
(:func:`environment_test`); :func:`evaluate` decides it later for the interpreter whose
versions are pinned, from the facts its probe reported (version, ``sys.platform``,
``os.name``, ``platform.system()``, the implementation). A branch that cannot run there
holds alternatives, never requirements; a branch that does run holds real ones. A test
that is not understood stays undecided (its imports are optional, as before).

Only a small, side-effect-free subset is evaluated: comparisons (chained too), ``and``
/ ``or`` / ``not``, tuples, ``sys.version_info`` with ``[i]``, ``[:n]`` and
``.major``/``.minor``/``.micro``, ``str.startswith``, ``in``, and the names that six
and friends define (``PY2``, ``PY3``, ``six.PY2``…, ``typing.TYPE_CHECKING``).
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Callable, Dict, List, Mapping, Optional

__all__ = ["environment_test", "evaluate", "facts_for", "dotted", "Undecided"]

# Dotted names whose value depends on the interpreter (or, for TYPE_CHECKING, that are
# False whenever code runs).
_ENV_NAMES = frozenset({
    "sys.version_info", "sys.platform", "platform.system", "os.name", "sys.implementation",
    "sys.implementation.name", "platform.python_implementation", "sys.maxsize",
    "six.PY2", "six.PY3", "six.PY34", "PY2", "PY3", "TYPE_CHECKING", "typing.TYPE_CHECKING",
    "IS_PY2", "IS_PY3", "PY3K", "IS_WINDOWS", "WINDOWS", "ON_WINDOWS",
})


# The first names of _ENV_NAMES: a test naming none of them is not about the interpreter.
_ENV_ROOTS = frozenset(name.split(".", 1)[0] for name in _ENV_NAMES)


class Undecided(Exception):
    """The test uses something :func:`evaluate` does not model."""


def environment_test(test: ast.AST, aliases: Mapping[str, str]) -> Optional[str]:
    """The source of ``test`` when it depends on the interpreter, else None.

    ``aliases`` maps names assigned earlier in the same source to the source of the
    environment test they hold (``PY2 = sys.version_info[0] == 2``); they are
    substituted, so the text stands alone.
    """
    # cheap first: most tests (and assigned values) name nothing about the interpreter
    if not any((isinstance(n, ast.Name) and (n.id in _ENV_ROOTS or n.id in aliases))
               for n in ast.walk(test)):
        return None
    found = False

    class _Subst(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            nonlocal found
            if node.id in aliases:
                found = True
                return ast.parse(f"({aliases[node.id]})", mode="eval").body
            if node.id in _ENV_NAMES:
                found = True
            return node

        def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
            nonlocal found
            if dotted(node) in _ENV_NAMES:
                found = True
                return node
            self.generic_visit(node)
            return node

    try:
        tree = _Subst().visit(ast.parse(ast.unparse(test), mode="eval"))
    except (SyntaxError, ValueError, RecursionError):
        return None
    return ast.unparse(tree) if found else None


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain, else ``""``."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def facts_for(version: str, marker_env: Mapping[str, str]) -> Dict[str, Any]:
    """The values :func:`evaluate` substitutes, from an interpreter's probe."""
    numbers = tuple(int(p) if p.isdigit() else 0 for p in (version.split(".") + ["0", "0"])[:3])
    major = numbers[0]
    platform = marker_env.get("sys_platform", "linux")
    system = marker_env.get("platform_system", "Linux")
    impl = marker_env.get("implementation_name", "cpython")
    windows = platform.startswith("win")
    return {
        "sys.version_info": numbers + ("final", 0),
        "sys.platform": platform,
        "os.name": marker_env.get("os_name", "posix"),
        "platform.system": system,
        "platform.python_implementation": marker_env.get("platform_python_implementation",
                                                         "CPython"),
        "sys.implementation.name": impl,
        "sys.maxsize": 2 ** 63 - 1,
        "six.PY2": major == 2, "six.PY3": major == 3, "six.PY34": numbers[:2] >= (3, 4),
        "PY2": major == 2, "PY3": major == 3, "IS_PY2": major == 2, "IS_PY3": major == 3,
        "PY3K": major == 3,
        "IS_WINDOWS": windows, "WINDOWS": windows, "ON_WINDOWS": windows,
        "TYPE_CHECKING": False, "typing.TYPE_CHECKING": False,
    }


_COMPARE: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b, ast.Is: operator.eq, ast.IsNot: operator.ne,
}


def evaluate(test: str, facts: Mapping[str, Any]) -> Optional[bool]:
    """True/False when ``test`` (from :func:`environment_test`) is decided by ``facts``
    (from :func:`facts_for`), None when it is not understood."""
    try:
        return bool(_eval(ast.parse(test, mode="eval").body, facts))
    except (Undecided, SyntaxError, TypeError, ValueError, IndexError, RecursionError):
        return None


class _VersionInfo(tuple):
    """``sys.version_info``: a tuple with ``major``/``minor``/``micro``."""


def _eval(node: ast.AST, facts: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(_eval(e, facts) for e in node.elts)
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, facts) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _eval(node.operand, facts)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, facts)
        for op, comparator in zip(node.ops, node.comparators):
            right = _eval(comparator, facts)
            fn = _COMPARE.get(type(op))
            if fn is None or not fn(left, right):
                return False
            left = right
        return True
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = dotted(node)
        if name in facts:
            value = facts[name]
            return _VersionInfo(value) if name == "sys.version_info" else value
        if isinstance(node, ast.Attribute):
            base = _eval(node.value, facts)
            if isinstance(base, _VersionInfo) and node.attr in ("major", "minor", "micro"):
                return base[("major", "minor", "micro").index(node.attr)]
        raise Undecided(name)
    if isinstance(node, ast.Subscript):
        base = _eval(node.value, facts)
        if not isinstance(base, tuple):
            raise Undecided("subscript")
        index = node.slice
        if isinstance(index, ast.Slice):
            lower = _eval(index.lower, facts) if index.lower else None
            upper = _eval(index.upper, facts) if index.upper else None
            return tuple(base[lower:upper])
        return base[_eval(index, facts)]
    if isinstance(node, ast.Call) and not node.keywords:
        name = dotted(node.func)
        if name in ("platform.system", "platform.python_implementation") and not node.args:
            return facts[name]
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("startswith", "endswith"):
            base = _eval(node.func.value, facts)
            args = [_eval(a, facts) for a in node.args]
            if isinstance(base, str) and len(args) == 1:
                return getattr(base, node.func.attr)(args[0])
        if isinstance(node.func, ast.Attribute) and node.func.attr == "lower" and not node.args:
            base = _eval(node.func.value, facts)
            if isinstance(base, str):
                return base.lower()
    raise Undecided(type(node).__name__)
