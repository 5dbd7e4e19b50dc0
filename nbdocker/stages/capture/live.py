"""Capture from the live kernel: what this kernel really imported, pinned in-process.

Two live sources add to the static read of the notebook file:

* the **user namespace**: module objects (``np``), and the modules that classes,
  functions and other objects come from (``LinearRegression`` → ``sklearn``);
* **sys.modules**: every top-level module imported so far. Most of it is the kernel's
  own machinery (IPython, ipykernel, zmq, tornado…) or a dependency of something the
  user imported (pandas loads dateutil), so it is thinned: standard library, private
  names, modules that were already loaded when ``%load_ext nbdocker`` ran (the
  *baseline*), distributions in the dependency closure of the kernel machinery
  (ipykernel, IPython, jupyter-client, ipywidgets; run-time extras included, such as
  jsonschema's format checkers, which it imports whenever they are installed) and
  distributions that a direct requirement already pulls in are dropped. What the namespace names is always kept.

Versions come from this kernel's own interpreter (``sys.executable``): its
:mod:`importlib.metadata`, read by the same cached probe static capture uses (one
subprocess the first time, then a disk cache until ``pip install`` changes site-packages),
so live and static requirements are resolved and pinned by the same code.
"""
from __future__ import annotations

import re
import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import (Any, Collection, Dict, Iterable, Iterator, List, Mapping, MutableSet,
                    Optional, Sequence, Set, Tuple)

from ...events import Event, EventHandler, Phase, emit
from ...spec import EnvironmentSpec, PlatformInfo, PythonInfo, Requirement
from .distributions import resolve
from .imports import ImportRecord
from .interpreter import InterpreterInfo, query_interpreter
from .project import find_root, local_distributions
from .kernel_stack import kernel_stack

__all__ = ["LiveKernel", "LiveModule", "own_imports", "KERNEL_ROOTS", "user_modules", "kernel_distributions",
           "capture_live", "top_level_modules"]

# Names IPython itself puts in the user namespace.
_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})
_SELF = "nbdocker"


@dataclass(frozen=True)
class LiveModule:
    """A top-level module the live kernel uses; ``referenced`` when the namespace names it."""

    name: str
    reasons: Tuple[str, ...]
    referenced: bool


def _stdlib() -> frozenset:
    return frozenset(getattr(sys, "stdlib_module_names", ())) | frozenset(sys.builtin_module_names)


def top_level_modules(modules: Iterable[str]) -> Set[str]:
    """First dotted components of ``modules`` (``sys.modules`` keys, say)."""
    return {name.split(".", 1)[0] for name in modules}


def _object_module(obj: Any) -> Optional[Tuple[str, str]]:
    """(module, how) for a namespace value, or None when it says nothing."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__, "module"
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        module = getattr(obj, "__module__", None)
        return (module, "from") if isinstance(module, str) else None
    module = getattr(type(obj), "__module__", None)
    return (module, "instance of") if isinstance(module, str) else None


def user_modules(user_ns: Mapping[str, Any], *, modules: Optional[Iterable[str]] = None,
                 baseline: Collection[str] = (),
                 stdlib: Optional[Collection[str]] = None) -> List[LiveModule]:
    """Top-level modules the user's code uses, from the namespace and ``modules``.

    ``modules`` defaults to ``sys.modules``; names in ``baseline`` (top-level names
    loaded before the user's code, e.g. at ``%load_ext`` time) are left out of it (the
    namespace still counts them). Standard library, ``__main__``, private modules and
    nbdocker itself are never returned. Sorted by name.
    """
    skip = _stdlib() if stdlib is None else frozenset(stdlib)
    found: Dict[str, List[str]] = {}
    referenced: Set[str] = set()

    def keep(top: str) -> bool:
        return bool(top) and top.isidentifier() and not top.startswith("_") \
            and top not in skip and top != _SELF

    def note(var: str, obj: Any, via: str = "") -> Optional[str]:
        where = _object_module(obj)
        if where is None:
            return None
        module, how = where
        top = module.split(".", 1)[0]
        if not keep(top):
            return None
        referenced.add(top)
        reason = (f"{var} is module {module}" if how == "module"
                  else f"{var} {how} {module}" if how == "from"
                  else f"{var}: instance of {type(obj).__qualname__} ({module})")
        found.setdefault(top, []).append(f"{via}{reason}")
        return top

    seen: Set[str] = set()
    for var, obj in sorted(user_ns.items(), key=lambda kv: kv[0]):
        if var.startswith("_") or var in _IPYTHON_NAMES:
            continue
        top = note(var, obj)
        if top is not None and isinstance(obj, types.ModuleType):
            # A helper module next to the notebook (import nsfg) uses numpy & co.
            # itself; they were often imported before %load_ext (the baseline).
            for name, value, via in _local_module_globals(obj, seen):
                note(name, value, via=f"{via}: ")
    loaded = top_level_modules(sys.modules if modules is None else modules)
    base = set(baseline)
    for top in sorted(loaded):
        if keep(top) and top not in base and top not in referenced:
            found.setdefault(top, []).append(f"import {top} (loaded in this kernel)")
    return [LiveModule(name, tuple(reasons[:3]), name in referenced)
            for name, reasons in sorted(found.items())]


def _is_user_code(module: types.ModuleType) -> bool:
    """A module from a plain file (the notebook's helpers), not an installed package."""
    origin = getattr(module, "__file__", None)
    if not isinstance(origin, str) or module.__name__.split(".", 1)[0] == _SELF:
        return False
    return not {"site-packages", "dist-packages"} & set(Path(origin).parts)


def _local_module_globals(module: types.ModuleType, seen: Set[str], depth: int = 3
                          ) -> Iterable[Tuple[str, Any, str]]:
    """(name, value, "module.name") for the globals of a user-code ``module`` and of the
    user-code modules it imports, ``depth`` levels deep; each module is read once."""
    if depth <= 0 or module.__name__ in seen or not _is_user_code(module):
        return
    seen.add(module.__name__)
    for name, value in sorted(vars(module).items(), key=lambda kv: kv[0]):
        if name.startswith("__"):
            continue
        yield name, value, module.__name__
        if isinstance(value, types.ModuleType):
            yield from _local_module_globals(value, seen, depth - 1)


# The kernel machinery, and what nbdocker loads itself (its lazy imports land in
# sys.modules too): their dependency closure is not the user's code.
KERNEL_ROOTS: Tuple[str, ...] = ("ipykernel", "ipython", "jupyter-client", "ipywidgets",
                                 "nbclient", "nbformat", "packaging", "docker")


def _distributions_of(module: str, info: InterpreterInfo) -> List[str]:
    """Installed distributions providing top-level ``module`` (canonical names)."""
    from packaging.utils import canonicalize_name

    return sorted({str(canonicalize_name(n)) for n in info.packages.get(module, ())
                   if canonicalize_name(n) in info.distributions})


# Extras a running kernel never imports: tests, docs, tooling. Following them would hide
# the notebook's own libraries (IPython's test extra pulls in numpy and pandas).
_DEV_EXTRA = re.compile(r"(?:tests?|testing|test[-_].*|.*[-_]tests?|dev|devel|develop|"
                        r"docs?|documentation|qa|lint|typing|mypy|cov|coverage|all|full|"
                        r"benchmarks?|check|style|"
                        # Extras serving the user's own magics (%matplotlib, %gui qt):
                        # what they bring (matplotlib, numpy, PyQt) is the notebook's.
                        r"matplotlib|pyqt\d*|pyside\d*|qt\d*|gtk\d*|wx)")
_EXTRA_MARKER = re.compile(r"""\bextra\s*==\s*["']([^"']+)["']""")


def _runtime_extras(dist: Mapping[str, Any]) -> List[str]:
    """Extras ``dist`` declares (``Requires-Dist: x; extra == "format"``) that may be
    imported at run time, i.e. not :data:`_DEV_EXTRA` ones; canonical names, sorted."""
    from packaging.utils import canonicalize_name

    names = {str(canonicalize_name(m)) for line in dist.get("requires") or ()
             for m in _EXTRA_MARKER.findall(line.partition(";")[2])}
    return sorted(n for n in names if not _DEV_EXTRA.fullmatch(n))


def kernel_distributions(info: InterpreterInfo,
                         roots: Sequence[str] = KERNEL_ROOTS) -> Set[str]:
    """The distributions the kernel machinery brings: the closure of ``roots``, with
    the dependencies of their run-time extras (and of those dependencies' extras).

    Extras count because the machinery imports them whenever they are installed
    (jsonschema's format checkers: fqdn, rfc3987-syntax → lark…; urllib3's SOCKS
    support: PySocks), so their modules sit in ``sys.modules`` without the notebook
    asking. Test, docs and dev extras are not followed (see :data:`_DEV_EXTRA`).
    """
    extras_of: Dict[str, List[str]] = {}  # distribution -> its run-time extras, asked for
    while True:
        # "pip" records name distributions directly; resolve() locks their closure,
        # evaluating each Requires-Dist marker for the extras asked for.
        records = [ImportRecord(r, None, "pip") for r in roots]
        records += [ImportRecord(f"{name}[{','.join(extras)}]", None, "pip")
                    for name, extras in sorted(extras_of.items())]
        names = {r.name for r in resolve(records, info).requirements}
        todo = {name: _runtime_extras(info.distributions.get(name) or {})
                for name in sorted(names - set(extras_of))}
        todo = {name: extras for name, extras in todo.items() if extras}
        if not todo:
            return names
        extras_of.update(todo)


def _live_only_spec(info: InterpreterInfo) -> EnvironmentSpec:
    return EnvironmentSpec(
        notebook="(live kernel)",
        python=PythonInfo(info.version, info.implementation),
        platform=PlatformInfo(system=info.system, machine=info.machine))


@dataclass(frozen=True)
class LiveKernel:
    """What a running kernel knows: its user namespace, and the top-level modules that
    were loaded before the user's code ran (``baseline``: the kernel's own machinery
    and nbdocker's, see :mod:`nbdocker.frontends.magics`)."""

    user_ns: Mapping[str, Any]
    baseline: Collection[str] = frozenset()


def capture_live(notebook: Optional[Path], user_ns: Mapping[str, Any], *,
                 modules: Optional[Iterable[str]] = None, baseline: Collection[str] = (),
                 static: Optional[EnvironmentSpec] = None,
                 info: Optional[InterpreterInfo] = None, env_names: Sequence[str] = (),
                 root: Optional[str] = None,
                 on_event: Optional[EventHandler] = None) -> EnvironmentSpec:
    """Join the static read of ``notebook`` with what this kernel imported.

    ``static`` is the static capture of the notebook (done here, pinned from this
    interpreter, when None and ``notebook`` is given; without a notebook only the live
    sources count). Live requirements are resolved and pinned like static imports (the
    same :func:`~nbdocker.stages.capture.distributions.resolve`, on this interpreter's
    metadata) and their dependency closure is locked. nbdocker itself is never a
    requirement: it is the tool, not the notebook's code. ``root`` is the project root
    (default: found from the notebook, see :mod:`.project`); the project's own packages
    are never pinned from an index, and one the saved notebook does not use is left out
    with a warning (its source was not shipped).
    """
    info = info or query_interpreter(sys.executable)
    if static is None and notebook is not None:
        from .notebook import capture_notebook

        static = capture_notebook(notebook, python=info.executable, env_names=env_names,
                                  root=root, on_event=on_event)
    project = find_root(notebook, root) if notebook is not None else Path.cwd()
    local = local_distributions(info.distributions, info.sys_path, info.site_dirs, project)
    spec = static if static is not None else _live_only_spec(info)
    live = user_modules(user_ns, modules=modules, baseline=baseline, stdlib=info.stdlib)
    emit(on_event, Event(Phase.CAPTURE, "log", f"live kernel: {len(live)} candidate modules"))

    have: Dict[str, Requirement] = {r.name: r for r in spec.requirements if r.name != _SELF}
    machinery = kernel_distributions(info)
    warnings = list(spec.warnings)
    named: List[ImportRecord] = []
    loaded: List[Tuple[LiveModule, List[str]]] = []
    for mod in live:
        dists = [d for d in _distributions_of(mod.name, info) if d != _SELF]
        if not dists:
            if mod.referenced and not _is_local(mod.name, project):
                warnings.append(f"{mod.name} is used in this kernel but belongs to no "
                                "installed distribution; not captured")
        elif mod.referenced:
            named += [ImportRecord(mod.name, None, "import", text=r) for r in mod.reasons]
        else:
            loaded.append((mod, dists))
    # sys.modules alone is weak evidence: kernel machinery, or what the notebook's
    # requirements (static or named in the namespace) bring along, is not a direct need.
    covered = set(have) | machinery | {r.name for r in resolve(named, info, local=local).requirements}
    records = named + [ImportRecord(mod.name, None, "import", text=r)
                       for mod, dists in loaded if not all(d in covered for d in dists)
                       for r in mod.reasons]
    found = resolve(records, info, local=local)
    for req in found.requirements:
        current = have.get(req.name)
        if current is None and req.local is not None:
            warnings.append(f"{req.name} is installed from the project ({req.local}) and used "
                            "in this kernel, but the saved notebook's code does not import "
                            "it: left out (its source is not shipped); save the notebook "
                            "with its import")
        elif current is None:
            have[req.name] = req
        elif req.direct:
            reasons = current.reasons + tuple(r for r in req.reasons if r not in current.reasons)
            have[req.name] = replace(current, direct=True, reasons=reasons)
    warnings += found.warnings
    requirements, kernel_warnings = kernel_stack(tuple(have.values()), info, live=True)
    warnings += kernel_warnings
    unresolved = tuple(u for u in spec.unresolved if u.module != _SELF)
    return spec.with_changes(requirements=requirements, unresolved=unresolved,
                             warnings=tuple(dict.fromkeys(warnings)))


def _is_local(module: str, root: Path) -> bool:
    """True when ``module`` has no file to install or lives under the project root."""
    mod = sys.modules.get(module)
    origin = getattr(mod, "__file__", None) if mod is not None else None
    if not origin:
        return True
    try:
        Path(origin).resolve().relative_to(root)
        return True
    except ValueError:
        return False


@contextmanager
def own_imports(into: MutableSet[str]) -> Iterator[None]:
    """Add to ``into`` the top-level modules first loaded while the block runs.

    nbdocker's own work loads modules lazily (nbformat's validator pulls in jsonschema
    and its optional format plugins, the engine client requests/urllib3/socks): left in
    ``sys.modules`` they would read as "loaded in this kernel" to the next capture.
    """
    before = set(sys.modules)
    try:
        yield
    finally:
        into |= top_level_modules([m for m in list(sys.modules) if m not in before])
