"""What a notebook's code imports: an AST walk over every cell (IPython syntax allowed).

:func:`extract_imports` is the small public entry (cell sources in, typed
:class:`ImportRecord` out); :func:`scan_cells` / :func:`scan_source` also return the
string literals that may name data files, the files ``%%writefile`` creates and the
cells that are not Python. Nothing here touches the file system or an interpreter.
"""
from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .ipython_syntax import parse_cell
from .pip_args import find_pip_installs

__all__ = ["ImportRecord", "SourceScan", "extract_imports", "scan_cells", "scan_source"]

# Cell magics whose body (and first line) is Python run in the kernel.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "python", "python3",
                                 "debug", "pypy"})
# Line magics whose argument is a Python statement.
_PYTHON_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug"})
# Options of %timeit/%prun/%time that take a value.
_MAGIC_VALUE_OPTS = frozenset({"-n", "-r", "-p", "-l", "-s", "-T", "-D"})
# Cell magics whose body is a shell script (scanned for pip installs).
_SHELL_CELL_MAGICS = frozenset({"bash", "sh", "script", "system", "sx"})
# IPython's shell aliases and file magics: their arguments name files (``%cat data.csv``,
# ``ls data``, ``%pycat helper.py``), shipped like paths in ``!`` lines.
_FILE_LINE_MAGICS = frozenset({"cat", "cp", "ldir", "less", "lf", "lk", "ll", "ls", "lx",
                               "more", "mv", "pfile", "pycat", "rm", "rmdir"})
# Extensions that ship inside IPython (``%load_ext autoreload`` is not a requirement).
_IPYTHON_EXTENSIONS = frozenset({"autoreload", "storemagic", "deduperreload"})
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_MAX_LITERAL = 1024


@dataclass(frozen=True)
class ImportRecord:
    """One thing the code needs.

    ``kind`` is ``"import"`` (an import statement or ``%load_ext``), ``"dynamic"``
    (``importlib.import_module("x")`` / ``__import__("x")``), ``"pip"`` (``module`` is
    then the requirement string, e.g. ``requests>=2``) or ``"run"`` (``module`` is the
    path given to ``%run`` / ``%load``). ``cell`` is the index in ``nb.cells`` (None
    for code from a file). ``optional`` is True inside ``try: … except ImportError``
    or under a ``sys.version_info`` / ``sys.platform`` test. ``text`` is what the code
    says, ``origin`` where (``cell 3``, ``helper.py``).
    """

    module: str
    cell: Optional[int]
    kind: str = "import"
    optional: bool = False
    text: str = ""
    origin: str = ""

    @property
    def top_level(self) -> str:
        """The first dotted component (``numpy`` for ``numpy.linalg``)."""
        return self.module.split(".", 1)[0]

    @property
    def reason(self) -> str:
        """``"import numpy (cell 3)"``: why the module is needed."""
        return f"{self.text} ({self.origin})" if self.origin else self.text


@dataclass
class SourceScan:
    """Everything one or more sources tell: imports, literals, written files, problems."""

    records: List[ImportRecord] = field(default_factory=list)
    literals: Set[str] = field(default_factory=set)
    dir_prefixes: Set[str] = field(default_factory=set)
    written_files: Dict[str, str] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    def merge(self, other: "SourceScan") -> None:
        self.records.extend(other.records)
        self.literals |= other.literals
        self.dir_prefixes |= other.dir_prefixes
        self.written_files.update(other.written_files)
        self.warnings.extend(other.warnings)


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain, else ``""``."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _const_str(node: Optional[ast.AST]) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_get_ipython(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _dotted(node.func) == "get_ipython"


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_dotted(t).rsplit(".", 1)[-1] in _IMPORT_ERRORS for t in types)


def _is_environment_test(test: ast.AST) -> bool:
    """``if sys.version_info >= …`` / ``if sys.platform == …``: either branch may be dead."""
    for node in ast.walk(test):
        name = _dotted(node)
        if name in ("sys.version_info", "sys.platform", "platform.system", "os.name",
                    "sys.implementation", "platform.python_implementation"):
            return True
    return False


class _Walker(ast.NodeVisitor):
    def __init__(self, scan: SourceScan, cell: Optional[int], origin: str) -> None:
        self.scan = scan
        self.cell = cell
        self.origin = origin
        self.optional = 0

    # -- records ---------------------------------------------------------------
    def add(self, module: str, kind: str, text: str, optional: bool = False) -> None:
        self.scan.records.append(ImportRecord(
            module=module, cell=self.cell, kind=kind,
            optional=bool(self.optional) or optional, text=text, origin=self.origin))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.name, "import", f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:  # relative imports are local by definition
            self.add(node.module, "import", f"from {node.module} import "
                     + ", ".join(a.name for a in node.names[:3])
                     + (", ..." if len(node.names) > 3 else ""))

    # -- optional contexts ---------------------------------------------------
    def _visit_optional(self, nodes: Iterable[ast.AST]) -> None:
        self.optional += 1
        try:
            for child in nodes:
                self.visit(child)
        finally:
            self.optional -= 1

    def visit_Try(self, node: ast.Try) -> None:
        if any(_catches_import_error(h) for h in node.handlers):
            self._visit_optional(node.body)
        else:
            for child in node.body:
                self.visit(child)
        for part in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(part)

    visit_TryStar = visit_Try  # the same fields as Try

    def visit_If(self, node: ast.If) -> None:
        if _is_environment_test(node.test):
            self.visit(node.test)
            self._visit_optional([*node.body, *node.orelse])
        else:
            self.generic_visit(node)

    # -- IPython extensions: %load_ext, extension_manager, c.*App.extensions ----
    def extension(self, name: str, shown: str) -> None:
        """An extension loaded by module name needs its distribution, unless IPython
        ships it."""
        if name and name not in _IPYTHON_EXTENSIONS and not name.startswith("IPython."):
            self.add(name, "import", shown)

    def _extension_list(self, source: str, shown: str) -> None:
        try:
            names = ast.literal_eval(source)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return
        if isinstance(names, str):
            names = [names]
        if isinstance(names, (list, tuple)):
            for name in names:
                if isinstance(name, str):
                    self.extension(name, shown)

    def visit_Assign(self, node: ast.Assign) -> None:
        # c.InteractiveShellApp.extensions = ["version_information"] (a config file
        # or a cell setting one up)
        for target in node.targets:
            if _dotted(target).endswith("App.extensions"):
                self._extension_list(ast.unparse(node.value), f"{_dotted(target)} = ...")
        self.generic_visit(node)

    # -- calls: dynamic imports and IPython's magics --------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = _dotted(node.func)
        first = _const_str(node.args[0]) if node.args else None
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        owner = node.func.value if isinstance(node.func, ast.Attribute) else None
        if method in ("load_extension", "reload_extension") and first and \
                isinstance(owner, ast.Attribute) and owner.attr == "extension_manager":
            self.extension(first, f"extension_manager.{method}({first!r})")
        elif func.endswith("App.extensions.append") and first:
            self.extension(first, f"{func}({first!r})")
        elif func.endswith("App.extensions.extend") and node.args:
            self._extension_list(ast.unparse(node.args[0]), f"{func}(...)")
        if func in ("importlib.import_module", "import_module", "__import__") and first:
            if not first.startswith("."):
                self.add(first, "dynamic", f"{func}({first!r})")
        elif func in ("os.path.join", "posixpath.join", "path.join") and node.args:
            parts = [_const_str(a) for a in node.args]
            if all(parts):
                self._literal("/".join(p for p in parts if p))
        elif isinstance(node.func, ast.Attribute) and _is_get_ipython(node.func.value):
            args = [_const_str(a) for a in node.args]
            method = node.func.attr
            if method == "run_line_magic" and len(args) >= 2 and args[0] and args[1] is not None:
                self.line_magic(args[0], args[1])
                return
            if method == "run_cell_magic" and len(args) >= 3 and args[0] and None not in args[1:3]:
                self.cell_magic(args[0], args[1] or "", args[2] or "")
                return
            if method in ("system", "getoutput") and args and args[0] is not None:
                self.shell(args[0], "!")
                return
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        # Path("data") / "x.csv": join literal parts so the data file is found.
        if isinstance(node.op, ast.Div):
            joined = self._path_expr(node)
            if joined:
                self._literal(joined)
        self.generic_visit(node)

    def _path_expr(self, node: ast.AST) -> Optional[str]:
        text = _const_str(node)
        if text is not None:
            return text
        if isinstance(node, ast.Call) and _dotted(node.func).rsplit(".", 1)[-1] in ("Path", "PurePath", "PosixPath") \
                and len(node.args) == 1:
            return _const_str(node.args[0])
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self._path_expr(node.left), self._path_expr(node.right)
            if left is not None and right is not None:
                return f"{left.rstrip('/')}/{right}"
        return None

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self._literal(node.value)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        # f"data/{name}.csv": the literal directory prefix may hold what is read.
        head = _const_str(node.values[0]) if node.values else None
        if head and "/" in head and len(node.values) > 1:
            self.scan.dir_prefixes.add(head.rsplit("/", 1)[0])
        self.generic_visit(node)

    def _literal(self, text: str) -> None:
        if 0 < len(text) <= _MAX_LITERAL and "\n" not in text and "\x00" not in text:
            self.scan.literals.add(text)

    # -- magics ----------------------------------------------------------------
    def line_magic(self, name: str, args: str) -> None:
        shown = f"%{name} {args}".strip()
        if name in ("pip", "conda", "mamba"):
            self._pip(f"{'pip' if name == 'pip' else name} {args}", "%", is_conda=name != "pip")
        elif name in ("sx", "system"):
            self.shell(args, "%" + name + " ")
        elif name in _FILE_LINE_MAGICS:
            self._shell_paths(args)
        elif name in ("run", "load"):
            self._run(name, args)
        elif name in ("load_ext", "reload_ext"):
            self.extension(args.strip().split(" ")[0] if args.strip() else "", shown)
        elif name == "config" and ".extensions" in args:
            # %config InteractiveShellApp.extensions = ['version_information']
            target, eq, value = args.partition("=")
            if eq and target.strip().endswith("App.extensions"):
                self._extension_list(value.strip(), shown)
        elif name in ("matplotlib", "pylab"):
            # Both import matplotlib (and %pylab numpy too); they fail without it.
            self.add("matplotlib", "import", shown)
            if name == "pylab":
                self.add("numpy", "import", shown)
        elif name in _PYTHON_LINE_MAGICS:
            self._python(_strip_magic_options(args), shown)

    def cell_magic(self, name: str, line: str, body: str) -> None:
        if name in _PYTHON_CELL_MAGICS:
            if name == "timeit":
                self._python(_strip_magic_options(line), f"%%{name} {line}".strip())
            self._python(body, f"%%{name}")
        elif name in ("writefile", "file"):
            words = [w for w in _split(line) if not w.startswith("-")]
            if words:
                self.scan.written_files[words[0]] = body
        elif name in _SHELL_CELL_MAGICS and (name != "script" or line.split()[:1] in (["bash"], ["sh"])):
            for command in body.splitlines():
                self.shell(command, f"%%{name}: ")
        elif name == "script" and line.split()[:1] and line.split()[0].startswith("python"):
            self._python(body, f"%%script {line}")

    def _shell_paths(self, command: str) -> None:
        # Words of a shell line that may be relative paths (``!head -4 data/x.csv``);
        # only those that exist under the notebook's directory are shipped.
        for word in _split(command):
            if not word.startswith(("-", "$", "{", "|", ">", "<", "&", ";")):
                self._literal(word)

    def shell(self, command: str, prefix: str) -> None:
        self._shell_paths(command)
        for install in find_pip_installs(command):
            for req in install.requirements:
                self.add(req, "pip", f"{prefix}pip install {req}")
            for what in install.ignored:
                self.scan.warnings.append(f"{self.origin}: {prefix}pip install {what}: not captured "
                                          "(only plain requirements are)")

    def _pip(self, command: str, prefix: str, is_conda: bool = False) -> None:
        if is_conda:
            self.scan.warnings.append(f"{self.origin}: %{command.strip()}: conda installs are not captured")
            return
        self.shell(command, prefix)

    def _run(self, name: str, args: str) -> None:
        words = _split(args)
        i = 0
        while i < len(words):
            word = words[i]
            if word == "-m" and i + 1 < len(words):
                self.add(words[i + 1], "import", f"%run -m {words[i + 1]}")
                return
            if word.startswith("-"):
                i += 2 if word in ("-n", "-r", "-s", "-y") and name == "load" else 1
                continue
            self.add(word, "run", f"%{name} {word}")
            return

    def _python(self, source: str, shown: str) -> None:
        """Scan Python embedded in a magic (``%time import x``, ``%%time`` bodies)."""
        if not source.strip():
            return
        try:
            tree = parse_cell(source)
        except SyntaxError:
            self.scan.warnings.append(f"{self.origin}: {shown}: body is not Python, skipped")
            return
        self.visit(tree)


def _split(args: str) -> List[str]:
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def _strip_magic_options(args: str) -> str:
    """Drop ``-n 10 -r 3 -o``-style options before the Python statement of %timeit."""
    rest = args.lstrip()
    while rest.startswith("-"):
        opt, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        if opt in _MAGIC_VALUE_OPTS:
            _, _, rest = rest.partition(" ")
            rest = rest.lstrip()
    return rest


def scan_source(source: str, *, cell: Optional[int] = None, origin: str = "") -> SourceScan:
    """Scan one source (a cell or a ``.py`` file). A syntax error becomes a warning."""
    scan = SourceScan()
    where = origin or (f"cell {cell}" if cell is not None else "<source>")
    try:
        tree = parse_cell(source)
    except SyntaxError as exc:
        detail = f"{exc.msg} (line {exc.lineno})" if exc.lineno else exc.msg
        scan.warnings.append(f"{where}: SyntaxError: {detail}; skipped")
        return scan
    _Walker(scan, cell, where).visit(tree)
    return scan


def scan_cells(cells: Iterable[Tuple[int, str]]) -> SourceScan:
    """Scan ``(index, source)`` pairs, e.g. :func:`nbdocker.notebook_io.code_cells`."""
    total = SourceScan()
    for index, source in cells:
        total.merge(scan_source(source, cell=index))
    return total


def extract_imports(sources: Sequence[str], *, indices: Optional[Sequence[int]] = None) -> List[ImportRecord]:
    """Imports, dynamic imports, ``%pip`` requirements and ``%run`` targets of cell sources.

    ``indices`` gives each source's cell index (default: 0, 1, 2, …). Cells that are
    not Python are skipped (use :func:`scan_cells` to see the warnings).
    """
    numbers = list(indices) if indices is not None else list(range(len(sources)))
    return scan_cells(zip(numbers, sources)).records
