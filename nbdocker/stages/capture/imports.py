"""What a notebook's code imports: an AST walk over every cell (IPython syntax allowed).

:func:`extract_imports` is the small public entry (cell sources in, typed
:class:`ImportRecord` out); :func:`scan_cells` / :func:`scan_source` also return the
string literals that may name data files, the files ``%%writefile`` creates and the
cells that are not Python. Nothing here touches the file system or an interpreter.
"""
from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from . import hidden
from .conditions import dotted as _dotted, environment_test
from .ipython_syntax import parse_cell
from .pip_args import find_pip_installs
from .shell import executables
from .system import BASE_EXECUTABLES

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
_IPYTHON_EXTENSIONS = frozenset({"autoreload", "storemagic", "deduperreload", "IPython"})
# Cell magics that hand their body to a program.
_PROGRAM_CELL_MAGICS = {"perl": "perl", "ruby": "ruby", "R": "R", "octave": "octave",
                        "julia": "julia", "node": "node"}
_MAX_LITERAL = 1024


@dataclass(frozen=True)
class ImportRecord:
    """One thing the code needs.

    ``kind`` is ``"import"`` (an import statement or ``%load_ext``), ``"dynamic"``
    (``importlib.import_module("x")`` / ``__import__("x")``), ``"pip"`` (``module`` is
    then the requirement string, e.g. ``requests>=2``), ``"run"`` (``module`` is the
    path given to ``%run`` / ``%load``), ``"exec"`` (``module`` is a program the code
    runs: ``!dot -V``, ``subprocess.run(["dot", ...])``), ``"hidden"`` (``module`` is a
    key of :data:`~nbdocker.stages.capture.hidden.NEEDS`: a call that loads an optional
    backend, ``pd.read_parquet``) or ``"syspath"`` (``module`` is a folder the code puts
    on ``sys.path``). ``cell`` is the index in ``nb.cells`` (None for code from a file).

    ``optional`` is True inside ``try: … except ImportError`` (and its ``else``);
    ``alternative`` is True for the fallback itself (the ``except ImportError``
    handler): both are kept only when installed, and alternatives never guessed.
    ``conditions`` are the enclosing tests on the interpreter (``sys.version_info``,
    ``sys.platform``…) as ``(source, branch)`` pairs: resolution decides them for the
    target (:mod:`.conditions`), so the branch that runs there is required, the other
    one holds alternatives, and an undecided test makes its imports optional. ``receiver`` is the
    first name of a hidden call's receiver (``pd`` in ``pd.read_parquet``). ``scope``
    is the outermost function around the record (``""`` at module level): a program a
    helper module's function runs is needed only if something calls that function.
    ``text`` is what the code says, ``origin`` where (``cell 3``, ``helper.py``).
    """

    module: str
    cell: Optional[int]
    kind: str = "import"
    optional: bool = False
    text: str = ""
    origin: str = ""
    alternative: bool = False
    conditions: Tuple[Tuple[str, bool], ...] = ()
    receiver: str = ""
    scope: str = ""

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
    aliases: Dict[str, str] = field(default_factory=dict)  # bound name -> imported module

    def merge(self, other: "SourceScan") -> None:
        self.records.extend(other.records)
        self.literals |= other.literals
        self.dir_prefixes |= other.dir_prefixes
        self.written_files.update(other.written_files)
        self.warnings.extend(other.warnings)
        for name, module in other.aliases.items():
            self.aliases.setdefault(name, module)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able form (the per-cell cache stores it); :meth:`from_dict` inverts it."""
        return {"records": [_record_row(r) for r in self.records],
                "literals": sorted(self.literals), "dir_prefixes": sorted(self.dir_prefixes),
                "written_files": self.written_files, "warnings": self.warnings,
                "aliases": self.aliases}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SourceScan":
        records = [ImportRecord(module=r[0], cell=r[1], kind=r[2], optional=r[3], text=r[4],
                                origin=r[5], alternative=r[6],
                                conditions=tuple((str(c), bool(b)) for c, b in r[7]),
                                receiver=r[8], scope=r[9])
                   for r in data["records"]]
        return cls(records=records, literals=set(data["literals"]),
                   dir_prefixes=set(data["dir_prefixes"]),
                   written_files=dict(data["written_files"]), warnings=list(data["warnings"]),
                   aliases=dict(data["aliases"]))

    def relocated(self, cell: Optional[int], origin: str, old_origin: str) -> "SourceScan":
        """The same scan for a source at another place (a cached cell that moved)."""
        if old_origin == origin and all(r.cell == cell for r in self.records):
            return self
        prefix = old_origin + ":"
        return SourceScan(
            records=[ImportRecord(r.module, cell, r.kind, r.optional, r.text,
                                  origin if r.origin == old_origin else r.origin,
                                  r.alternative, r.conditions, r.receiver, r.scope)
                     for r in self.records],
            literals=set(self.literals), dir_prefixes=set(self.dir_prefixes),
            written_files=dict(self.written_files),
            warnings=[origin + w[len(old_origin):] if w.startswith(prefix) else w
                      for w in self.warnings],
            aliases=dict(self.aliases))


def _record_row(rec: ImportRecord) -> List[Any]:
    """A record as a list of its fields, in order (compact, fast to load back)."""
    return [getattr(rec, f.name) for f in fields(rec)]


def _const_str(node: Optional[ast.AST]) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_get_ipython(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _dotted(node.func) == "get_ipython"


def _handled(handler: ast.ExceptHandler) -> Set[str]:
    """The exception names an ``except`` clause catches (``{"*"}`` for a bare one)."""
    if handler.type is None:
        return {"*"}
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {_dotted(t).rsplit(".", 1)[-1] for t in types}


def _is_fallback(handler: ast.ExceptHandler, body: Sequence[ast.AST]) -> bool:
    """``except ImportError`` (or a broad handler around imports): the fallback of what
    the ``try`` body imports."""
    caught = _handled(handler)
    if caught & {"ImportError", "ModuleNotFoundError"}:
        return True
    return bool(caught & {"*", "Exception", "BaseException"}) and _imports_something(body)


def _imports_something(nodes: Sequence[ast.AST]) -> bool:
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) for node in nodes for n in ast.walk(node))


# Calls that run a program: the first argument is the command (a list or a string).
_RUN_CALLS = frozenset({"subprocess.run", "subprocess.call", "subprocess.check_call",
                        "subprocess.check_output", "subprocess.Popen", "subprocess.getoutput",
                        "subprocess.getstatusoutput", "os.system", "os.popen", "check_output",
                        "check_call", "Popen", "getoutput", "getstatusoutput", "sp.run",
                        "sp.call", "sp.check_call", "sp.check_output", "sp.Popen",
                        "os.execvp", "os.execlp", "os.spawnlp", "os.spawnvp"})
_WHICH_CALLS = frozenset({"shutil.which", "which", "find_executable",
                          "distutils.spawn.find_executable"})


# Nodes that never hold anything the walker records (expression contexts, operators).
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop, ast.Pass,
           ast.Break, ast.Continue, ast.Name, ast.Global, ast.Nonlocal)


class _Walker(ast.NodeVisitor):
    """The AST walk. ``visit`` dispatches through a per-class cache and never descends
    into leaves: on big notebooks the walk is most of capture's time."""

    _dispatch: Dict[type, Any] = {}

    def visit(self, node: ast.AST) -> Any:
        cls = node.__class__
        method = self._dispatch.get(cls)
        if method is None:
            method = (_Walker._skip if issubclass(cls, _LEAVES) else
                      getattr(_Walker, "visit_" + cls.__name__, _Walker.generic_visit))
            self._dispatch[cls] = method
        return method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def _skip(self, node: ast.AST) -> None:
        return None

    def __init__(self, scan: SourceScan, cell: Optional[int], origin: str) -> None:
        self.scan = scan
        self.cell = cell
        self.origin = origin
        self.optional = 0
        self.alternative = 0
        self.conditions: List[Tuple[str, bool]] = []
        self.env_names: Dict[str, str] = {}  # PY2 = sys.version_info[0] == 2
        self.scope = ""

    # -- records ---------------------------------------------------------------
    def add(self, module: str, kind: str, text: str, optional: bool = False,
            receiver: str = "") -> None:
        self.scan.records.append(ImportRecord(
            module=module, cell=self.cell, kind=kind,
            optional=bool(self.optional) or optional, text=text, origin=self.origin,
            alternative=bool(self.alternative), conditions=tuple(self.conditions),
            receiver=receiver, scope=self.scope))

    def visit_FunctionDef(self, node: Any) -> None:
        outer = self.scope
        self.scope = outer or node.name
        try:
            self.generic_visit(node)
        finally:
            self.scope = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.name, "import", f"import {alias.name}")
            bound = alias.asname or alias.name.split(".", 1)[0]
            self.scan.aliases.setdefault(bound, alias.name if alias.asname else bound)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:  # relative imports are local by definition
            self.add(node.module, "import", f"from {node.module} import "
                     + ", ".join(a.name for a in node.names[:3])
                     + (", ..." if len(node.names) > 3 else ""))
            for alias in node.names:
                if alias.name != "*":
                    self.scan.aliases.setdefault(alias.asname or alias.name,
                                                 f"{node.module}.{alias.name}")

    # -- optional contexts ---------------------------------------------------
    def _visit_optional(self, nodes: Iterable[ast.AST], alternative: bool = False) -> None:
        self.optional += 1
        self.alternative += alternative
        try:
            for child in nodes:
                self.visit(child)
        finally:
            self.optional -= 1
            self.alternative -= alternative

    def visit_Try(self, node: ast.Try) -> None:
        # try: import a / except ImportError: import b -- b is the fallback of a, and
        # runs only where a is missing: an alternative. A broad handler (except
        # Exception, bare except) counts when the body imports something.
        fallback = [h for h in node.handlers if _is_fallback(h, node.body)]
        if fallback:
            self._visit_optional(node.body)
        else:
            for child in node.body:
                self.visit(child)
        for handler in node.handlers:
            if handler in fallback:
                self._visit_optional([handler], alternative=True)
            else:
                self.visit(handler)
        if fallback:  # try/else runs only when the body's imports worked
            self._visit_optional(node.orelse)
        else:
            for child in node.orelse:
                self.visit(child)
        for child in node.finalbody:
            self.visit(child)

    visit_TryStar = visit_Try  # the same fields as Try

    def visit_If(self, node: ast.If) -> None:
        test = environment_test(node.test, self.env_names)
        if test is None:
            self.generic_visit(node)
            return
        self.visit(node.test)
        for branch, truth in ((node.body, True), (node.orelse, False)):
            self.conditions.append((test, truth))  # decided for the target at resolution
            try:
                for child in branch:
                    self.visit(child)
            finally:
                self.conditions.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        # PY2 = sys.version_info[0] == 2: later `if PY2:` tests the interpreter too.
        test = environment_test(node.value, self.env_names) if isinstance(
            node.value, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.Call, ast.Attribute)) else None
        for target in node.targets:
            if test is not None and isinstance(target, ast.Name):
                self.env_names[target.id] = test
            self._assigned(target, node.value)
        self.generic_visit(node)

    def _assigned(self, target: ast.AST, value: ast.AST) -> None:
        """Settings that load something: rcParams["text.usetex"] = True, the pandas
        plotting backend, IPython's extensions list."""
        if isinstance(target, ast.Subscript) and _dotted(target.value).endswith("rcParams"):
            for key in hidden.rc_setting(_const_str(target.slice), value):
                self.add(key, "hidden", f"{_dotted(target.value)}[{_const_str(target.slice)!r}]",
                         receiver=_dotted(target.value).split(".", 1)[0])
        name = _dotted(target)
        if name.endswith("options.plotting.backend") and _const_str(value):
            self.add(str(_const_str(value)), "dynamic", f"{name} = {_const_str(value)!r}")
        elif name.endswith("App.extensions") and isinstance(value, (ast.List, ast.Tuple)):
            for element in value.elts:
                self._extension(_const_str(element), f"{name} = [...]")

    def _extension(self, ext: Optional[str], shown: str) -> None:
        if ext and ext.split(".", 1)[0] not in _IPYTHON_EXTENSIONS and ext not in _IPYTHON_EXTENSIONS:
            self.add(ext, "import", shown)

    # -- calls: dynamic imports, programs, hidden dependencies, IPython's magics ----
    def visit_Call(self, node: ast.Call) -> None:
        func = _dotted(node.func)
        first = _const_str(node.args[0]) if node.args else None
        if func in ("importlib.import_module", "import_module", "__import__") and first:
            if not first.startswith("."):
                self.add(first, "dynamic", f"{func}({first!r})")
        elif func in ("os.path.join", "posixpath.join", "path.join") and node.args:
            parts = [_const_str(a) for a in node.args]
            if all(parts):
                self._literal("/".join(p for p in parts if p))
        elif func in _RUN_CALLS and node.args:
            self._run_call(func, node)
        elif func in _WHICH_CALLS and first:
            self.add(first, "exec", f"{func}({first!r})")
        elif func.endswith(("sys.path.append", "sys.path.insert")) and node.args:
            folder = _path_literal(node.args[-1])
            if folder is not None:
                self.add(folder, "syspath", f"{func}({folder!r})")
        elif func.endswith("extensions.append") and first:
            self._extension(first, f"{func}({first!r})")
        elif func.endswith("extensions.extend") and node.args and isinstance(
                node.args[0], (ast.List, ast.Tuple)):
            for element in node.args[0].elts:
                self._extension(_const_str(element), f"{func}([...])")
        elif first and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "load_extension", "reload_extension") and isinstance(node.func.value, ast.Attribute) \
                and node.func.value.attr == "extension_manager":
            self._extension(first, f"….extension_manager.{node.func.attr}({first!r})")
        elif isinstance(node.func, ast.Attribute) and _is_get_ipython(node.func.value):
            args = [_const_str(a) for a in node.args]
            method = node.func.attr
            if method == "run_line_magic" and len(args) >= 2 and args[0] and args[1] is not None:
                self.line_magic(args[0], args[1])
                return
            if method == "magic" and args and args[0]:  # IPython < 8's spelling
                name, _, rest = args[0].lstrip("%").partition(" ")
                self.line_magic(name, rest)
                return
            if method == "run_cell_magic" and len(args) >= 3 and args[0] and None not in args[1:3]:
                self.cell_magic(args[0], args[1] or "", args[2] or "")
                return
            if method in ("system", "getoutput") and args and args[0] is not None:
                self.shell(args[0], "!")
                return
        self._hidden(node, func)
        self.generic_visit(node)

    def _hidden(self, node: ast.Call, func: str) -> None:
        keys = hidden.match_call(node)
        if not keys:
            return
        root = func.split(".", 1)[0] if func else ""
        shown = func or ("…." + node.func.attr if isinstance(node.func, ast.Attribute) else "(…)")
        for key in keys:
            if key.startswith("module:"):
                self.add(key[len("module:"):], "dynamic", f"{shown}(backend=…)")
            else:
                self.add(key, "hidden", shown, receiver=root)

    def _run_call(self, func: str, node: ast.Call) -> None:
        arg = node.args[0]
        if isinstance(arg, (ast.List, ast.Tuple)) and arg.elts:
            program = _const_str(arg.elts[0])
            if program:
                words = [_const_str(e) or "…" for e in arg.elts[:4]]
                shown = f"{func}([{', '.join(repr(w) for w in words)}{', …' if len(arg.elts) > 4 else ''}])"
                for name in executables(program):
                    self.add(name, "exec", shown)
                for word in words[1:]:
                    if word != "…":
                        self._literal(word)
        elif func in ("os.execvp", "os.execlp", "os.spawnlp", "os.spawnvp"):
            program = _const_str(arg if not func.startswith("os.spawn") else
                                 (node.args[1] if len(node.args) > 1 else None))
            if program:
                self.add(program.rsplit("/", 1)[-1], "exec", f"{func}({program!r}, …)")
        else:
            command = _const_str(arg)
            if command:
                self.shell(command, f"{func}(", suffix=")")

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
            if "[pyarrow]" in node.value:  # dtype="string[pyarrow]"
                self.add("pyarrow-dtype", "hidden", repr(node.value))

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
            self._extension(args.strip().split(" ")[0] if args.strip() else "", shown)
        elif name in ("matplotlib", "pylab"):
            # Both import matplotlib (and %pylab numpy too); they fail without it.
            self.add("matplotlib", "import", shown)
            if name == "pylab":
                self.add("numpy", "import", shown)
            if args.split()[:1] in (["widget"], ["ipympl"]):
                self.add("ipympl", "dynamic", shown)
        elif name == "config" and "App.extensions" in args and "=" in args:
            try:
                value = ast.parse(args.split("=", 1)[1].strip(), mode="eval").body
            except SyntaxError:
                return
            if isinstance(value, (ast.List, ast.Tuple)):
                for element in value.elts:
                    self._extension(_const_str(element), shown)
        elif name == "sql":
            url = next((w for w in _split(args) if "://" in w), "")
            key = hidden.sql_need(url)
            if key:
                self.add(key, "hidden", f"%sql {url.split('://', 1)[0]}://…")
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
        elif name == "script" and line.split()[:1]:
            self.add(line.split()[0].rsplit("/", 1)[-1], "exec", f"%%script {line}".strip())
        elif name in _PROGRAM_CELL_MAGICS:
            self.add(_PROGRAM_CELL_MAGICS[name], "exec", f"%%{name}")
        elif name == "sql":
            url = next((w for w in _split(line) if "://" in w), "")
            key = hidden.sql_need(url)
            if key:
                self.add(key, "hidden", f"%%sql {url.split('://', 1)[0]}://…")

    def _shell_paths(self, command: str) -> None:
        # Words of a shell line that may be relative paths (``!head -4 data/x.csv``);
        # only those that exist under the project are shipped.
        for word in _split(command):
            if not word.startswith(("-", "$", "{", "|", ">", "<", "&", ";")):
                self._literal(word)

    def shell(self, command: str, prefix: str, suffix: str = "") -> None:
        self._shell_paths(command)
        shown = f"{prefix}{command.strip()}"
        shown = (shown[:60] + "…" if len(shown) > 61 else shown) + suffix
        for program in executables(command):
            if program not in BASE_EXECUTABLES:  # `!ls`, `!pip`: the base image has them
                self.add(program, "exec", shown)
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


# How a path expression names the file it is written in (``os.path.dirname(__file__)``).
THIS_FILE = "__file__"
_PATH_WRAPPERS = frozenset({"os.path.abspath", "os.path.realpath", "os.path.normpath", "str",
                            "os.path.expanduser", "os.fspath", "Path", "pathlib.Path",
                            "PurePath", "pathlib.PurePath"})
_CWD = frozenset({"os.getcwd", "Path.cwd", "pathlib.Path.cwd", "os.getcwdb"})


def _path_literal(node: ast.AST) -> Optional[str]:
    """The folder a ``sys.path.append(X)`` adds, when X is made of literals: ``"../src"``,
    ``os.path.abspath("..")``, ``os.path.join(os.getcwd(), "..", "src")``,
    ``Path.cwd().parent / "src"``, ``Path(__file__).resolve().parents[1] / "src"``.
    Relative to the working directory, or starting with :data:`THIS_FILE` (relative to
    the file the code is in); None when it is not literal."""
    text = _const_str(node)
    if text is not None:
        return text
    if isinstance(node, ast.Name) and node.id == "__file__":
        return THIS_FILE
    name = _dotted(node)
    if name in ("os.pardir", "os.path.pardir"):
        return ".."
    if name in ("os.curdir", "os.path.curdir"):
        return "."
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _joined([node.left, node.right])
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = _path_literal(node.value)
        return f"{inner}/.." if inner is not None else None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "parents":
        inner = _path_literal(node.value.value)
        index = node.slice.value if isinstance(node.slice, ast.Constant) else None
        if inner is not None and isinstance(index, int) and index >= 0:
            return inner + "/.." * (index + 1)
        return None
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    func = _dotted(node.func)
    if func in _CWD:
        return "."
    if func in _PATH_WRAPPERS and node.args:
        return _joined(node.args)
    if func in ("os.path.join", "posixpath.join") and node.args:
        return _joined(node.args)
    if func == "os.path.dirname" and len(node.args) == 1:
        inner = _path_literal(node.args[0])
        return f"{inner}/.." if inner is not None else None
    if isinstance(node.func, ast.Attribute) and node.func.attr in (
            "resolve", "absolute", "expanduser") and not node.args:
        return _path_literal(node.func.value)
    return None


def _joined(parts: Sequence[ast.AST]) -> Optional[str]:
    texts = [_path_literal(p) for p in parts]
    if not texts or any(t is None for t in texts):
        return None
    # an absolute working directory restarts the path: os.path.join(os.getcwd(), "..")
    return "/".join(t for t in texts if t and t != ".") or "."


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
