"""IPython cell syntax → a Python AST, fast.

IPython's own :class:`~IPython.core.inputtransformer2.TransformerManager` is the
reference, but importing IPython is slow and most cells are plain Python. So:

1. plain Python parses as is (``ast.parse``), the common case;
2. otherwise a small transformer handles the common escape syntax - line magics
   (``%pip install x``), cell magics (``%%time``), shell lines (``!ls``, ``!!ls``),
   captures (``a = !ls``, ``b = %sx ls``) and help (``x?``, ``??x``) - producing
   exactly the calls IPython produces (``get_ipython().run_line_magic('pip', 'install
   x')``), so the AST walker handles both paths the same way;
3. anything that still fails goes through IPython's TransformerManager, when IPython is
   installed;
4. last, automagic: a cell of ONE line starting with a line magic's bare name (``ls
   data``, ``pip install x``, ``cd ..``) runs that magic, exactly as IPython's shell
   does (its prefilter applies automagic to single-line cells only); if that fails too,
   the cell really is not Python (``SyntaxError``).
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Any, List, Optional

__all__ = ["parse_cell", "fast_transform", "ipython_transform", "automagic_transform",
           "AUTOMAGIC_NAMES"]

_HELP_RE = re.compile(r"^(\?{1,2})?([A-Za-z_][\w.]*\*?|\*[\w.*]*)(\?{1,2})?$")
# ``lhs = !cmd`` / ``lhs = %magic args``: a plain target list, then = and an escape.
_ASSIGN_RE = re.compile(r"^([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*([!%])(.*)$", re.S)
# The line magics a Jupyter kernel knows without extensions (IPython 9's built-ins, the
# POSIX shell aliases and ipykernel's additions). Fixed rather than asked from IPython,
# so a capture gives the same answer whether or not IPython is installed.
AUTOMAGIC_NAMES = frozenset("""
    alias alias_magic autoawait autocall automagic autosave bookmark cat cd clear
    code_wrap colors conda config connect_info cp debug dhist dirs doctest_mode ed edit
    env gui hist history killbgscripts ldir less lf lk ll load load_ext loadpy logoff
    logon logstart logstate logstop ls lsmagic lx macro magic mamba man matplotlib
    micromamba mkdir more mv notebook page pastebin pdb pdef pdoc pfile pinfo pinfo2 pip
    popd pprint precision prun psearch psource pushd pwd pycat pylab qtconsole quickref
    recall rehashx reload_ext rep rerun reset reset_selective rm rmdir run save sc
    set_env sx system tb time timeit unalias unload_ext uv who who_ls whos xdel xmode
""".split())


def parse_cell(source: str) -> ast.Module:
    """Parse one cell's source (IPython syntax allowed) into a Python AST.

    Raises :class:`SyntaxError` (of the raw source) when neither the fast path nor
    IPython's transformer gives valid Python.
    """
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        first_error = exc
    except ValueError as exc:  # source with NUL bytes
        raise SyntaxError(str(exc)) from None
    for transform in (fast_transform, ipython_transform, automagic_transform):
        python = transform(source)
        if python is not None:
            try:
                return ast.parse(python)
            except SyntaxError:
                pass
    raise first_error


def _continued(lines: List[str], start: int) -> int:
    """Index of the last physical line of the backslash-continued line at ``start``."""
    end = start
    while end < len(lines) - 1 and lines[end].rstrip("\r\n").endswith("\\"):
        end += 1
    return end


def _assemble(lines: List[str], start: int, end: int, col: int) -> str:
    # Same joining rule as IPython's assemble_continued_line.
    parts = [lines[start][col:]] + lines[start + 1:end + 1]
    return " ".join([p.rstrip()[:-1] for p in parts[:-1]] + [parts[-1].rstrip()])


def _escape_call(line: str) -> Optional[str]:
    """The IPython call for an escaped line (no indent), or None if not escaped."""
    if line.startswith("%%"):
        return None  # a cell magic in the middle of a cell is not valid
    if line.startswith("!!"):
        return "get_ipython().getoutput(%r)" % (line[2:],)
    if line.startswith("!"):
        return "get_ipython().system(%r)" % (line[1:],)
    if line.startswith("%"):
        name, _, args = line[1:].partition(" ")
        return "get_ipython().run_line_magic(%r, %r)" % (name, args)
    match = _HELP_RE.match(line)
    if match and (match.group(1) or match.group(3)):
        marks = (match.group(1) or "") + (match.group(3) or "")
        if "*" in match.group(2):
            return "get_ipython().run_line_magic('psearch', %r)" % (match.group(2),)
        magic = "pinfo2" if len(marks) >= 2 else "pinfo"
        return "get_ipython().run_line_magic(%r, %r)" % (magic, match.group(2))
    return None


def fast_transform(source: str) -> Optional[str]:
    """Rewrite IPython escape syntax into the Python IPython would run.

    Returns None when the cell has nothing this transformer understands (then only
    IPython's own transformer can help).
    """
    lines = source.splitlines(keepends=True)
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    if lines[0].startswith("%%") and not re.match(r"%%\w+\?", lines[0]):
        name, _, first = lines[0][2:].rstrip().partition(" ")
        body = "".join(lines[1:])
        if body and not body.endswith("\n"):  # IPython ends every line with a newline
            body += "\n"
        return "get_ipython().run_cell_magic(%r, %r, %r)\n" % (name, first, body)
    out: List[str] = []
    changed = False
    i = 0
    while i < len(lines):
        raw = lines[i]
        stripped = raw.lstrip(" \t")
        indent = raw[: len(raw) - len(stripped)]
        if stripped[:1] in ("%", "!", "?") or stripped.rstrip().endswith("?") or "=" in stripped:
            end = _continued(lines, i)
            line = _assemble(lines, i, end, len(indent))
            call = _escape_call(line)
            if call is None:
                assign = _ASSIGN_RE.match(line)
                if assign:
                    target, escape, rest = assign.groups()
                    call = _escape_call(escape + rest)
                    if call is not None:
                        if call.startswith("get_ipython().system("):
                            call = "get_ipython().getoutput(" + call[len("get_ipython().system("):]
                        call = f"{target} = {call}"
            if call is not None:
                out.append(indent + call + "\n")
                changed = True
                i = end + 1
                continue
        out.append(raw if raw.endswith("\n") else raw + "\n")
        i += 1
    return "".join(out) if changed else None


@lru_cache(maxsize=1)
def _transformer() -> Any:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except Exception:  # IPython missing or broken: no fallback, cells stay unparsed
        return None
    return TransformerManager()


def ipython_transform(source: str) -> Optional[str]:
    """IPython's own transform of ``source``, or None when IPython is not available."""
    manager = _transformer()
    if manager is None:
        return None
    try:
        return str(manager.transform_cell(source))
    except Exception:  # IPython raises assorted errors on garbage input
        return None


def automagic_transform(source: str) -> Optional[str]:
    """The magic call for a one-line cell such as ``ls data`` or ``pip install x``.

    Returns None unless the cell has exactly one non-blank line whose first word is a
    known line magic (:data:`AUTOMAGIC_NAMES`); call it only once the cell failed to
    parse, since a variable of that name would win in IPython too.
    """
    lines = [line for line in source.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    name, _, args = lines[0].strip().partition(" ")
    if name not in AUTOMAGIC_NAMES:
        return None
    return "get_ipython().run_line_magic(%r, %r)\n" % (name, args.strip())
