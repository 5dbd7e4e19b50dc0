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
from typing import AbstractSet, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement as PkgRequirement
from packaging.utils import canonicalize_name

from ...spec import Requirement, Unresolved
from .imports import ImportRecord
from .interpreter import InterpreterInfo

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
    """What :func:`resolve` found."""

    requirements: List[Requirement] = field(default_factory=list)
    unresolved: List[Unresolved] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


@dataclass
class _Direct:
    name: str  # canonical
    reasons: List[str] = field(default_factory=list)
    extras: Set[str] = field(default_factory=set)
    specifier: Optional[str] = None
    optional: bool = True  # becomes False as soon as one non-optional use is seen


def _add(direct: Dict[str, _Direct], name: str, reason: str, optional: bool,
         extras: Iterable[str] = (), specifier: Optional[str] = None) -> None:
    entry = direct.setdefault(name, _Direct(name))
    if reason not in entry.reasons:
        entry.reasons.append(reason)
    entry.extras.update(canonicalize_name(e) for e in extras)
    entry.optional = entry.optional and optional
    if specifier and not entry.specifier:
        entry.specifier = specifier


def _dists_for(module: str, info: InterpreterInfo) -> List[str]:
    top = module.split(".", 1)[0]
    names = info.packages.get(top) or ()
    found: List[str] = sorted({canonicalize_name(n) for n in names
                               if canonicalize_name(n) in info.distributions})
    if not found and canonicalize_name(top) in info.distributions:
        found = [canonicalize_name(top)]  # metadata without RECORD/top_level.txt
    return found


def resolve(records: Iterable[ImportRecord], info: InterpreterInfo, *,
            local_modules: AbstractSet[str] = frozenset()) -> Resolution:
    """Turn import/pip records into pinned requirements, the closure and unresolved ones.

    ``local_modules`` are top-level names that are local code (never requirements).
    """
    out = Resolution()
    direct: Dict[str, _Direct] = {}
    missing: Dict[str, Tuple[List[str], bool]] = {}
    for rec in records:
        if rec.kind == "pip":
            try:
                req = PkgRequirement(rec.module)
            except InvalidRequirement:
                continue
            if req.marker is not None and not _evaluate(str(req.marker), info.marker_env, ""):
                continue
            _add(direct, canonicalize_name(req.name), rec.reason, False, req.extras,
                 str(req.specifier) or None)
            continue
        if rec.kind not in ("import", "dynamic"):
            continue
        top = rec.top_level
        if not top or top in EXCLUDED_MODULES or top in info.stdlib or top in local_modules:
            continue
        dists = _dists_for(rec.module, info)
        for dist in dists:
            _add(direct, dist, rec.reason, rec.optional)
        if not dists:
            reasons, optional = missing.get(top, ([], True))
            if rec.reason not in reasons:
                reasons.append(rec.reason)
            missing[top] = (reasons, optional and rec.optional)

    for module in sorted(missing):
        reasons, optional = missing[module]
        if optional:
            out.warnings.append(f"optional import {module} is not installed in the target "
                                f"interpreter: left out ({reasons[0]})")
            continue
        pypi = pypi_name_for(module)
        canonical = canonicalize_name(pypi)
        if canonical in direct:  # e.g. `%pip install scikit-learn` + `import sklearn`
            direct[canonical].reasons.extend(r for r in reasons if r not in direct[canonical].reasons)
            continue
        out.unresolved.append(Unresolved(module=module, reasons=tuple(reasons), pypi_name=pypi))
        out.warnings.append(f"module {module} is not installed in the target interpreter: "
                            f"{pypi} will be installed unpinned ({reasons[0]})")

    closure = _closure(direct, info, out.warnings)
    for name in sorted(set(direct) | set(closure)):
        installed = info.distributions.get(name)
        version = str(installed["version"]) if installed else None
        if name in direct:
            entry = direct[name]
            spec = entry.specifier
            if version and spec and not _satisfies(spec, version):
                out.warnings.append(f"{name}: installed {version} does not satisfy {spec} "
                                    "from a pip line; pinned to the installed version")
            if version is None:
                out.warnings.append(f"{name} is not installed in the target interpreter: unpinned "
                                    f"({entry.reasons[0]})")
            out.requirements.append(Requirement(
                name=name, version=version, direct=True, reasons=tuple(entry.reasons),
                specifier=spec, optional=entry.optional))
        else:
            out.requirements.append(Requirement(
                name=name, version=version, direct=False,
                required_by=tuple(sorted(closure[name]))))
    return out


def _satisfies(specifier: str, version: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion

    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return True


def _evaluate(marker: str, env: Mapping[str, str], extra: str) -> bool:
    from packaging.markers import Marker

    try:
        return bool(Marker(marker).evaluate({**env, "extra": extra}))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
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
