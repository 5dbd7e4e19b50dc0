"""Module → distribution → pinned version, in the TARGET interpreter, plus the closure.

Direct requirements are what the notebook imports (and its ``%pip install`` lines),
pinned to the version installed in the target. The transitive closure walks
``Requires-Dist`` with markers evaluated for the target's marker environment (extras
only when asked for). Modules not installed there become :class:`Unresolved`, named by
pipreqs' mapping file when pipreqs is installed, else by a small alias table.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import AbstractSet, Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement as PkgRequirement
from packaging.utils import canonicalize_name

from ...spec import Requirement, Unresolved
from .conditions import evaluate, facts_for
from .hidden import DIST_NEEDS, IMPORT_ROOTS, NEEDS, import_need, need_for
from .imports import ImportRecord
from .interpreter import InterpreterInfo
from .project import LocalDists
from .stdlib import other_stdlib
from .system import BASE_EXECUTABLES

__all__ = ["ALIASES", "EXCLUDED_MODULES", "pypi_name_for", "resolve", "Resolution"]

# The most common import-name != PyPI-name cases, used when pipreqs is not installed.
ALIASES: Mapping[str, str] = {
    "sklearn": "scikit-learn", "PIL": "Pillow", "yaml": "PyYAML", "bs4": "beautifulsoup4",
    "cv2": "opencv-python", "dateutil": "python-dateutil", "mpl_toolkits": "matplotlib",
    "skimage": "scikit-image", "attr": "attrs", "dotenv": "python-dotenv",
    "Crypto": "pycryptodome", "google.protobuf": "protobuf", "jwt": "PyJWT",
    "serial": "pyserial", "usb": "pyusb", "magic": "python-magic", "docx": "python-docx",
    "pptx": "python-pptx", "fitz": "PyMuPDF", "OpenSSL": "pyOpenSSL", "jose": "python-jose",
    "Bio": "biopython", "MySQLdb": "mysqlclient", "psycopg2": "psycopg2-binary",
    "zmq": "pyzmq", "gi": "PyGObject", "wx": "wxPython", "tensorflow_hub": "tensorflow-hub",
    "IPython": "ipython", "jupyter_client": "jupyter-client", "git": "GitPython",
    "lxml": "lxml", "slugify": "python-slugify", "telegram": "python-telegram-bot",
    "Levenshtein": "python-Levenshtein", "sql": "ipython-sql", "sentencepiece": "sentencepiece", "torch": "torch",
}

# Never requirements: nbdocker itself (its magic may be loaded in the notebook).
EXCLUDED_MODULES = frozenset({"nbdocker", "__main__", "__future__"})


@lru_cache(maxsize=1)
def _pipreqs_mapping() -> Mapping[str, str]:
    """pipreqs' ``mapping`` file (import name → PyPI name), read without importing pipreqs."""
    try:
        spec = importlib.util.find_spec("pipreqs")  # a top-level find_spec imports nothing
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.submodule_search_locations:
        return {}
    mapping: Dict[str, str] = {}
    for location in spec.submodule_search_locations:
        path = Path(location) / "mapping"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            module, sep, dist = line.strip().partition(":")
            if sep and module and dist:
                mapping.setdefault(module, dist)
    return mapping


def pypi_name_for(module: str) -> str:
    """Best PyPI name for an import name: pipreqs' mapping, the alias table, else itself."""
    top = module.split(".", 1)[0]
    mapping = _pipreqs_mapping()
    for name in (module, top):
        if name in mapping:
            return mapping[name]
    return ALIASES.get(module) or ALIASES.get(top) or top


@dataclass
class Resolution:
    """What :func:`resolve` found.

    ``programs`` are the programs the code runs that no distribution installs (name ->
    reasons; the base image's are left out), ``apt`` Debian packages a need names
    directly: both for :mod:`.system`. ``local`` are the local distributions pinned
    (canonical name -> source folder relative to the root).
    """

    requirements: List[Requirement] = field(default_factory=list)
    unresolved: List[Unresolved] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    programs: Dict[str, List[str]] = field(default_factory=dict)
    apt: Dict[str, List[str]] = field(default_factory=dict)
    local: Dict[str, str] = field(default_factory=dict)


@dataclass
class _Direct:
    name: str  # canonical
    why: Dict[str, None] = field(default_factory=dict)  # reasons, in order, once each
    extras: Set[str] = field(default_factory=set)
    specifier: Optional[str] = None
    optional: bool = True  # becomes False as soon as one non-optional use is seen

    @property
    def reasons(self) -> List[str]:
        return list(self.why)


def _add(direct: Dict[str, _Direct], name: str, reasons: Iterable[str], optional: bool,
         extras: Iterable[str] = (), specifier: Optional[str] = None) -> None:
    entry = direct.setdefault(name, _Direct(name))
    entry.why.update(dict.fromkeys(reasons))
    entry.extras.update(canonicalize_name(e) for e in extras)
    entry.optional = entry.optional and optional
    if specifier and not entry.specifier:
        entry.specifier = specifier


def _grouped(records: Iterable[ImportRecord]) -> List[Tuple[ImportRecord, List[str]]]:
    """Records that differ only by where they are, once each with all their reasons
    (``import numpy`` in 100 cells is one decision with 100 reasons)."""
    groups: Dict[Tuple[Any, ...], Tuple[ImportRecord, Dict[str, None]]] = {}
    for rec in records:
        key = (rec.kind, rec.module, rec.text, rec.optional, rec.alternative, rec.conditions,
               rec.receiver, rec.scope)
        group = groups.get(key)
        if group is None:
            groups[key] = (rec, {rec.reason: None})
        else:
            group[1][rec.reason] = None
    return [(rec, list(reasons)) for rec, reasons in groups.values()]


def _dists_for(module: str, info: InterpreterInfo,
               local: Optional[LocalDists] = None) -> List[str]:
    top = module.split(".", 1)[0]
    names = info.packages.get(top) or ()
    found: List[str] = sorted({canonicalize_name(n) for n in names
                               if canonicalize_name(n) in info.distributions})
    if not found and canonicalize_name(top) in info.distributions:
        found = [canonicalize_name(top)]  # metadata without RECORD/top_level.txt
    if not found and local is not None:
        # An editable install through a .pth or an import hook (hatchling, PDM) lists
        # no top-level module: find the module in the local projects' sources.
        found = [d.name for d in local.by_name.values() if not d.archive and any(
            (Path(d.source) / sub / top).is_dir() or (Path(d.source) / sub / f"{top}.py").is_file()
            for sub in ("", "src"))][:1]
    return found


@dataclass(frozen=True)
class _Use:
    """How a record is used on the target: ``dead`` (a branch that cannot run there),
    ``optional`` (kept only when installed), ``alternative`` (a fallback)."""

    dead: bool
    optional: bool
    alternative: bool


_PLAIN = _Use(False, False, False)


def _use(rec: ImportRecord, facts: Mapping[str, Any]) -> _Use:
    if not (rec.conditions or rec.optional or rec.alternative):
        return _PLAIN
    decided = [(evaluate(test, facts), truth) for test, truth in rec.conditions]
    dead = any(value is not None and value != truth for value, truth in decided)
    undecided = any(value is None for value, _ in decided)
    return _Use(dead, rec.optional or dead or undecided, rec.alternative or dead)


def _note(rec: ImportRecord, use: _Use) -> str:
    """``fallback `import StringIO` (cell 3, in an `except ImportError` handler)`` and
    the like, for messages."""
    where = f"{rec.origin}, " if rec.origin else ""
    if use.dead:
        return f"`{rec.text}` ({where}in a branch that does not run on the target interpreter)"
    if use.alternative:
        return f"fallback `{rec.text}` ({where}in an `except ImportError` handler)"
    return f"optional `{rec.text}` ({where}inside `try: … except ImportError`)"


def resolve(records: Iterable[ImportRecord], info: InterpreterInfo, *,
            local_modules: AbstractSet[str] = frozenset(),
            local: Optional[LocalDists] = None,
            aliases: Mapping[str, str] = {},
            called: Optional[Callable[[str], bool]] = None) -> Resolution:
    """Turn import/pip records into pinned requirements, the closure and unresolved ones.

    ``local_modules`` are top-level names that are local code (never requirements);
    ``local`` the interpreter's local distributions seen from the project root (never
    fetched from an index); ``aliases`` the names the code binds to modules
    (``pd`` -> ``pandas``), which decide whose method a hidden-dependency call is;
    ``called(name)`` says whether anything calls a helper module's function: a program
    or backend needed only inside a function nothing calls is left out (a textbook's
    helper package needs LaTeX in one plot function).
    """
    out = Resolution()
    groups = _grouped(records)
    facts = facts_for(info.version, info.marker_env)
    direct: Dict[str, _Direct] = {}
    missing: Dict[str, Tuple[Dict[str, None], bool, str]] = {}
    used_modules: Set[str] = set()
    found_for: Dict[str, List[str]] = {}  # top-level module -> its distributions
    for rec, reasons in groups:
        use = _use(rec, facts)
        if rec.kind == "pip":
            req = _parse_requires(rec.module)
            if req is None or use.dead:
                continue
            if req.marker is not None and not _evaluate(str(req.marker), info.marker_env, ""):
                continue
            _add(direct, canonicalize_name(req.name), reasons, False, req.extras,
                 str(req.specifier) or None)
            continue
        if rec.kind not in ("import", "dynamic"):
            continue
        top = rec.top_level
        if not top or top in EXCLUDED_MODULES or top in info.stdlib or top in local_modules:
            if top in local_modules or top in info.stdlib:
                used_modules.add(top)
            continue
        dists = found_for.get(top)
        if dists is None:
            dists = found_for[top] = _dists_for(top, info, local)
        for dist in dists:
            _add(direct, dist, reasons, use.optional)
        if dists and not use.dead:
            used_modules.add(top)
        if not dists:
            seen, optional, note = missing.get(top, ({}, True, ""))
            seen.update(dict.fromkeys(reasons))
            missing[top] = (seen, optional and use.optional,
                            note or (_note(rec, use) if use.optional else ""))

    for module in sorted(missing):
        seen, optional, note = missing[module]
        reasons = list(seen)
        other = other_stdlib(module)
        if optional:
            why = f" ({module} is {other})" if other else ""
            out.warnings.append(f"{note}: {module} is not installed in the target interpreter, "
                                f"so it is left out, never guessed{why}")
            continue
        if other:
            out.warnings.append(f"{reasons[0]}: {module} is {other}, not a PyPI project: "
                                f"nothing is installed for it (the code fails on Python "
                                f"{info.version} unless it is never run)")
            continue
        pypi = pypi_name_for(module)
        canonical = canonicalize_name(pypi)
        if canonical in direct:  # e.g. `%pip install scikit-learn` + `import sklearn`
            direct[canonical].why.update(dict.fromkeys(reasons))
            continue
        out.unresolved.append(Unresolved(module=module, reasons=tuple(reasons), pypi_name=pypi))
        out.warnings.append(f"module {module} is not installed in the target interpreter: "
                            f"guessed PyPI name {pypi}, installed best-effort and unpinned; "
                            f"the code fails if the guess is wrong ({reasons[0]})")

    groups = _reachable(groups, called, out)
    _programs(groups, info, facts, direct, out)
    _hidden(groups, info, facts, direct, used_modules, aliases, out)

    closure = _closure(direct, info, out.warnings)
    for name in sorted(set(direct) | set(closure)):
        installed = info.distributions.get(name)
        version = str(installed["version"]) if installed else None
        origin = local.by_name.get(name) if local is not None else None
        if origin is not None and origin.folder is None:
            what = "required by " + ", ".join(sorted(closure[name])) if name in closure \
                else direct[name].reasons[0]
            out.warnings.append(
                f"{name} is installed from {origin.how} outside the project root "
                f"({origin.source}; {what}): its source cannot ship and it is never "
                "fetched from an index under its name, so the image lacks it "
                "(--root DIR can widen the project)")
            continue
        folder = origin.folder if origin is not None else None
        if folder is not None:
            out.local[name] = folder
        if name in direct:
            entry = direct[name]
            spec = entry.specifier
            if version and spec and not _satisfies(spec, version):
                out.warnings.append(f"{name}: installed {version} does not satisfy {spec} "
                                    "from a pip line; pinned to the installed version")
            if version is None:
                out.warnings.append(f"{name} is not installed in the target interpreter: unpinned "
                                    f"({entry.reasons[0]})")
            said = tuple(entry.reasons)
            if origin is not None:
                said += (f"installed from the project ({folder}, {origin.how})",)
            out.requirements.append(Requirement(
                name=name, version=version, direct=True, reasons=said,
                specifier=spec, optional=entry.optional, local=folder))
        else:
            out.requirements.append(Requirement(
                name=name, version=version, direct=False,
                required_by=tuple(sorted(closure[name])), local=folder))
    for pinned in out.requirements:  # opencv-python loads libGL: whatever the code calls
        key = DIST_NEEDS.get(pinned.name)
        if key:
            for package in NEEDS[key].apt:
                out.apt.setdefault(package, []).append(f"{pinned.name} loads {NEEDS[key].what}")
    return out


def _unreachable(rec: ImportRecord, called: Optional[Callable[[str], bool]]) -> bool:
    """True for code inside a helper module's function that nothing calls."""
    return bool(called is not None and rec.scope and not rec.origin.startswith("cell ")
                and not called(rec.scope))


def _reachable(groups: List[Tuple[ImportRecord, List[str]]],
               called: Optional[Callable[[str], bool]],
               out: Resolution) -> List[Tuple[ImportRecord, List[str]]]:
    """``groups`` without the programs and system packages that only helper-module
    functions nothing calls need (one note per such function). Python backends count
    wherever they are: cheap, and pinned only when installed."""
    kept: List[Tuple[ImportRecord, List[str]]] = []
    noted: Set[Tuple[str, str]] = set()
    for rec, reasons in groups:
        key = rec.module if rec.kind == "hidden" else \
            import_need(rec.module) if rec.kind in ("import", "dynamic") else None
        need = need_for(key) if key else None
        system = rec.kind == "exec" or (need is not None and bool(need.executables or need.apt))
        if system and _unreachable(rec, called):
            what = rec.module if rec.kind == "exec" else need.what if need else rec.module
            if (rec.origin, rec.scope) not in noted:
                noted.add((rec.origin, rec.scope))
                out.warnings.append(f"{rec.origin}: {rec.scope}() needs {what} ({rec.text}), "
                                    "but nothing in the notebook calls it: not installed")
            continue
        kept.append((rec, reasons))
    return kept


def _programs(groups: Sequence[Tuple[ImportRecord, List[str]]], info: InterpreterInfo,
              facts: Mapping[str, Any], direct: Dict[str, _Direct], out: Resolution) -> None:
    """Programs the code runs: a distribution's script is a requirement (``!kaggle …``
    → kaggle), the base image's are nothing, the rest are for the system packages."""
    scripts: Dict[str, str] = {}
    for name, dist in info.distributions.items():
        for script in dist.get("scripts") or ():
            scripts.setdefault(str(script), name)
    for rec, reasons in groups:
        if rec.kind != "exec":
            continue
        use = _use(rec, facts)
        if use.dead or use.alternative or rec.module in BASE_EXECUTABLES:
            continue
        owner = scripts.get(rec.module)
        if owner is not None:
            _add(direct, owner, [f"{r} runs {rec.module}, a program of {owner}" for r in reasons],
                 False)
        else:
            known = out.programs.setdefault(rec.module, [])
            known += [r for r in reasons if r not in known]


def _hidden(groups: Sequence[Tuple[ImportRecord, List[str]]], info: InterpreterInfo,
            facts: Mapping[str, Any], direct: Dict[str, _Direct], used: AbstractSet[str],
            aliases: Mapping[str, str], out: Resolution) -> None:
    """Dependencies loaded, never imported (:mod:`.hidden`): pinned when installed,
    a warning when not (the notebook fails there too). One decision per need, naming
    its first use ("pd.read_parquet in cell 4 (and 9 more uses) needs a parquet
    engine")."""
    uses: Dict[str, Tuple[str, int, bool]] = {}  # need key -> (first use, count, optional)
    for rec, reasons in groups:
        if rec.kind == "hidden":
            key: Optional[str] = rec.module
            shown = f"{rec.text} in {rec.origin}" if rec.origin else rec.text
        elif rec.kind in ("import", "dynamic") and rec.top_level in IMPORT_ROOTS \
                and rec.top_level in used:
            key = import_need(rec.module)
            shown = rec.reason
        else:
            continue
        need = need_for(key) if key else None
        use = _use(rec, facts)
        if key is None or need is None or use.dead or use.alternative:
            continue
        if need.library and need.library not in used:
            continue
        owner = aliases.get(rec.receiver, "").split(".", 1)[0]
        if rec.kind == "hidden" and need.library and owner and owner != need.library:
            continue  # plt.hist is matplotlib's, not a pandas plot
        first, count, optional = uses.get(key, (shown, 0, True))
        uses[key] = (first, count + len(reasons), optional and use.optional)
    for key, (first, count, optional) in uses.items():
        need = need_for(key)
        assert need is not None
        more = count - 1
        why = f"{first}{f' (and {more} more use' + ('s' if more > 1 else '') + ')' if more else ''}" \
              f" needs {need.what}"
        for group in need.python:
            chosen = next((d for d in group if canonicalize_name(d) in info.distributions), None)
            if chosen is None:
                if not need.quiet and not optional:
                    names = " or ".join(group)
                    listed = f" ({names})" if names != need.what else ""
                    out.warnings.append(f"{why}{listed}, and none is installed in the target "
                                        "interpreter: the notebook fails there too, and in the "
                                        "image")
                continue
            _add(direct, canonicalize_name(chosen), [why], optional)
        if any(canonicalize_name(d) in info.distributions for d in need.unless):
            continue  # pypandoc-binary ships pandoc itself
        for program in need.executables:
            if program not in BASE_EXECUTABLES:
                known = out.programs.setdefault(program, [])
                if why not in known:
                    known.append(why)
        for package in need.apt:
            known = out.apt.setdefault(package, [])
            if why not in known:
                known.append(why)


def _satisfies(specifier: str, version: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion

    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return True


@lru_cache(maxsize=4096)
def _marker(text: str) -> Optional[Any]:
    from packaging.markers import Marker

    try:
        return Marker(text)
    except InvalidMarker:
        return None


def _evaluate(marker: str, env: Mapping[str, str], extra: str) -> bool:
    parsed = _marker(marker)
    try:
        return bool(parsed is not None and parsed.evaluate({**env, "extra": extra}))
    except (UndefinedComparison, UndefinedEnvironmentName):
        return False


@lru_cache(maxsize=4096)
def _parse_requires(line: str) -> Optional[PkgRequirement]:
    try:
        return PkgRequirement(line)
    except InvalidRequirement:
        return None


def _closure(direct: Mapping[str, _Direct], info: InterpreterInfo,
             warnings: List[str]) -> Dict[str, Set[str]]:
    """Installed dependencies of the direct requirements: name → names that require it."""
    required_by: Dict[str, Set[str]] = {}
    # (distribution, extra) pairs still to expand; "" = no extra.
    todo: List[Tuple[str, str]] = []
    for entry in direct.values():
        todo.append((entry.name, ""))
        todo.extend((entry.name, e) for e in sorted(entry.extras))
    seen: Set[Tuple[str, str]] = set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        dist = info.distributions.get(name)
        if dist is None:
            continue
        for line in dist.get("requires") or ():
            req = _parse_requires(line)
            if req is None:
                continue
            if req.marker is not None and not _evaluate(str(req.marker), info.marker_env, extra):
                continue
            if req.marker is None and extra:
                continue  # an unconditional requirement was already taken with extra ""
            dep = canonicalize_name(req.name)
            if dep not in info.distributions:
                warnings.append(f"{dist['name']} requires {req.name}, which is not installed in "
                                "the target interpreter")
                continue
            if dep != name:
                required_by.setdefault(dep, set()).add(name)
            todo.append((dep, ""))
            todo.extend((dep, canonicalize_name(e)) for e in sorted(req.extras))
    return {k: v for k, v in required_by.items() if k not in direct}
