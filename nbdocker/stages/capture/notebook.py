"""Static capture of a notebook file: :func:`capture_notebook`."""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

from packaging.utils import canonicalize_name

from ...contract import WORKDIR
from ...events import Event, EventHandler, Phase, emit
from ...exceptions import NotebookError
from ...notebook_io import code_cells, kernel_name, load_notebook_json
from ...spec import EnvironmentSpec, SystemPackage
from .cellcache import scan_notebook_cells
from .distributions import _dists_for, resolve
from .files import FileCollector, file_entry
from .imports import THIS_FILE, ImportRecord, SourceScan, scan_source
from .interpreter import InterpreterInfo, kernelspec_interpreter, query_interpreter
from ..._fs import MAX_SHIPPED_FILE
from .kernel_stack import kernel_stack
from .platform import capture_env, platform_info, python_info
from .project import BUILD_FILES, LocalDists, find_root, local_distributions, notebook_path
from .system import APT_FILES, SystemNeeds, read_apt_file, resolve_programs

__all__ = ["capture_notebook", "saved_python_warning", "DEFAULT_MAX_FILE_SIZE"]

DEFAULT_MAX_FILE_SIZE = MAX_SHIPPED_FILE
_MAX_LOCAL_FILES = 2000  # bound on recursion through local modules and %run targets
_SCRIPTS = (".py", ".ipy")


@dataclass
class _Locals:
    """What the local-code walk found: top-level names that are local code, and the
    project folders that must be on ``sys.path`` in the image for them to import."""

    modules: Set[str] = field(default_factory=set)
    pythonpath: List[str] = field(default_factory=list)


def _installed(top: str, info: InterpreterInfo, local: LocalDists) -> bool:
    return bool(_dists_for(top, info, local))


def _local_scan(collector: FileCollector, scan: SourceScan, notebook_rel: str,
                info: InterpreterInfo, local: LocalDists) -> _Locals:
    """Follow local modules and ``%run`` targets (recursively); see :func:`capture_notebook`.

    Every file found is added to ``collector`` and its imports merged into ``scan``.
    """
    found = _Locals()
    scanned: Set[str] = {notebook_rel}
    cwd = collector.cwd
    added: List[str] = []  # folders the code itself puts on sys.path (sys.path.append("../src"))
    # inside the project, but only importable through this interpreter's path (a .pth,
    # PYTHONPATH) or from nowhere at all (a package at the root or under src/)
    fallback = [p for p in (_rel_to(Path(e), collector.root) for e in local.path_entries) if p]
    fallback += [p for p in ("", "src") if p not in fallback]
    for target, body in scan.written_files.items():
        # %%writefile helper.py: the notebook creates a module at run time.
        if target.endswith(".py"):
            found.modules.add(Path(target).stem)
            scan.merge(scan_source(body, origin=f"%%writefile {target}"))
    not_local: Set[str] = set()  # top-level names already looked up: one stat each
    folders_of: Dict[int, List[str]] = {}  # record index -> the %run target's own folder
    index = 0
    while index < len(scan.records) and len(scanned) < _MAX_LOCAL_FILES:
        rec = scan.records[index]
        extra = folders_of.get(index, [])
        index += 1
        files: List[str] = []
        if rec.kind == "syspath":
            folder = _syspath_folder(collector, rec)
            if folder is not None and folder not in added and folder != cwd:
                added.append(folder)
                not_local.clear()  # names looked up before may be found there now
                index = 0
            continue
        if rec.kind in ("import", "dynamic"):
            top = rec.top_level
            if top in found.modules or top in not_local or top in info.stdlib \
                    or rec.module in not_local:
                continue
            where = collector.local_module(rec.module, [*extra, cwd, *added])
            if where is None and not _installed(top, info, local):
                for folder in fallback:
                    where = collector.local_module(rec.module, [folder])
                    if where is not None:
                        if folder not in found.pythonpath and folder != cwd:
                            found.pythonpath.append(folder)
                            shown = folder or "the root"
                            scan.warnings.append(
                                f"{rec.reason}: {top} is not beside the notebook but in "
                                f"{shown}/ of the project: it ships, and that folder is put "
                                "on PYTHONPATH in the image")
                        break
            if where is None:
                # `import a.b` may still find a namespace dir a/ (asked once per name)
                not_local.add(top if "." not in rec.module else rec.module)
                continue
            found.modules.add(top)
            files = where
        elif rec.kind == "run":
            rel = collector.relative(rec.module)
            if rel is None:
                scan.warnings.append(f"{rec.origin}: {rec.text}: not below the project root "
                                     f"{collector.root}, not shipped")
                continue
            if not rel.endswith((*_SCRIPTS, ".ipynb")):
                rel = next((rel + s for s in _SCRIPTS if (collector.root / (rel + s)).is_file()), rel)
            if rel not in scan.written_files and not collector.add_file(rel, "module"):
                what = "notebook" if rel.endswith(".ipynb") else "file"
                scan.warnings.append(f"{rec.origin}: {rec.text}: {what} not found")
                continue
            if rel.endswith(".py"):
                found.modules.add(Path(rel).stem)
            files = [rel]
        for rel in files:
            if rel in scanned or rel not in collector.entries:
                continue
            scanned.add(rel)
            start = len(scan.records)
            scan.merge(_scan_file(collector.root / rel, rel))
            if rel.endswith(_SCRIPTS):  # %run puts the script's folder first on sys.path
                parent = PurePosixPath(rel).parent.as_posix()
                folder = "" if parent == "." else parent
                for i in range(start, len(scan.records)):
                    folders_of[i] = [folder]
    return found


def _syspath_folder(collector: FileCollector, rec: ImportRecord) -> Optional[str]:
    """The project folder a ``sys.path`` record adds (relative to the working
    directory, or to the file it is written in), or None."""
    if rec.module == THIS_FILE or rec.module.startswith(THIS_FILE + "/"):
        if rec.origin.startswith("cell ") or rec.origin.startswith("%%writefile"):
            return None  # a notebook cell has no __file__
        return collector.folder(rec.module[len(THIS_FILE) + 1:] or ".", base=rec.origin)
    return collector.folder(rec.module)


def _rel_to(path: Path, root: Path) -> Optional[str]:
    try:
        rel = Path(os.path.realpath(path)).relative_to(root).as_posix()
    except ValueError:
        return None
    return "" if rel == "." else rel


def _scan_file(path: Path, rel: str) -> SourceScan:
    if rel.endswith(".ipynb"):
        try:
            nb = load_notebook_json(path)
        except NotebookError as exc:
            scan = SourceScan()
            scan.warnings.append(f"%run {rel}: {exc}")
            return scan
        scan = SourceScan()
        for index, source in code_cells(nb):
            scan.merge(scan_source(source, cell=index, origin=f"{rel} cell {index}"))
        return scan
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        scan = SourceScan()
        scan.warnings.append(f"{rel}: cannot read ({exc}); its imports are not captured")
        return scan
    return scan_source(text, origin=rel)


def _ship_local_distributions(collector: FileCollector, used: Mapping[str, str],
                              local: LocalDists, info: InterpreterInfo) -> List[str]:
    """Ship the source of every local distribution in ``used`` (name -> folder): its
    build files and package folders (kind ``package``). Returns the ``.py`` files
    shipped, whose imports count too."""
    sources: List[str] = []
    modules_of: Dict[str, Set[str]] = {}
    for module, dists in info.packages.items():
        for dist in dists:
            modules_of.setdefault(str(canonicalize_name(dist)), set()).add(module)
    for name, folder in sorted(used.items()):
        if local.by_name[name].archive:
            collector.add_file(folder, "package")
            continue
        base = "" if folder == "." else f"{folder}/"
        for build_file in BUILD_FILES:
            collector.add_file(f"{base}{build_file}", "package")
        tops = {m for m in modules_of.get(name, ()) if m.isidentifier() and not m.startswith("_")}
        tops.add(name.replace("-", "_"))
        for top in sorted(tops):
            for sub in ("src/", ""):
                rel = f"{base}{sub}{top}"
                if (collector.root / rel).is_dir():
                    shipped = collector.add_tree(rel, "package")
                    sources += [f for f in shipped if f.endswith(".py")]
                    break
                if (collector.root / f"{rel}.py").is_file():
                    if collector.add_file(f"{rel}.py", "package"):
                        sources.append(f"{rel}.py")
                    break
    return sources


def _apt_files(collector: FileCollector) -> List[SystemPackage]:
    """``apt.txt`` beside the notebook and at the project root (repo2docker's places)."""
    found: List[SystemPackage] = []
    places = [f"{collector.cwd}/apt.txt"] if collector.cwd else []
    places += list(APT_FILES)
    for rel in places:
        path = collector.root / rel
        if path.is_file():
            found += read_apt_file(path, rel)
    return found


def _target_python(python: Optional[str], kernel: str, warnings: List[str]) -> str:
    if python:
        return python
    found = kernelspec_interpreter(kernel)
    if found:
        return found
    if kernel not in ("", "python", "python3"):
        warnings.append(f"kernel {kernel!r}: interpreter not found, using {sys.executable}")
    return sys.executable


def saved_python_warning(nb: Mapping[str, Any], captured_version: str) -> Optional[str]:
    """A warning when the notebook's outputs were saved by another Python ``major.minor``.

    ``metadata.language_info.version`` names the Python of the kernel that last ran the
    notebook. Versions are pinned from the capturing interpreter, so when that differs
    (a textbook notebook saved years ago) outputs may legitimately differ on re-run.
    """
    info = (nb.get("metadata") or {}).get("language_info") or {}
    saved = str(info.get("version") or "")
    if (info.get("name") or "python") != "python" or not saved:
        return None
    if saved.split(".")[:2] == captured_version.split(".")[:2]:
        return None
    return (f"the notebook's outputs were saved by Python {saved}, but versions are pinned "
            f"from Python {captured_version}: outputs may differ on re-run "
            "(--python selects the interpreter to pin from)")


def capture_notebook(
    path: Union[str, "os.PathLike[str]"],
    *,
    python: Optional[str] = None,
    env_names: Sequence[str] = (),
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    root: Optional[str] = None,
    use_cache: bool = True,
    on_event: Optional[EventHandler] = None,
) -> EnvironmentSpec:
    """Capture what the notebook at ``path`` needs, as an :class:`EnvironmentSpec`.

    Reads every code cell (IPython syntax included), finds imports, ``%pip`` lines,
    local modules, ``%run`` targets, data files, programs and dependencies loaded
    behind calls, and pins requirements (and their transitive closure) to what is
    installed in the target interpreter: ``python``, else the notebook kernelspec's
    interpreter when found, else the current one. Paths are relative to the project
    root (``root``, else found from the notebook, see :mod:`.project`). ``use_cache``
    reads and updates the per-cell cache (:mod:`.cellcache`).

    Local code is looked up as the kernel would: the notebook's folder, folders the
    code puts on ``sys.path``, installed distributions (the project's own, installed
    from its source, ship and are installed from it), then folders of the project the
    interpreter has on its path and the root and ``src/`` (those go on ``PYTHONPATH``).

    Raises :class:`~nbdocker.exceptions.NotebookError` for an unreadable notebook,
    :class:`~nbdocker.exceptions.InputError` for a bad root or ``apt.txt`` and
    :class:`~nbdocker.exceptions.CaptureError` when the interpreter can't be queried.
    """
    nb_path = Path(path)
    nb = load_notebook_json(nb_path)  # before any event: bad input gives just the error
    project = find_root(nb_path, root)
    real_nb = Path(os.path.realpath(nb_path))
    notebook_rel = notebook_path(nb_path, root)
    emit(on_event, Event(Phase.CAPTURE, "progress", f"read {nb_path.name}", step=0, total=4))
    warnings: List[str] = []
    kernel = kernel_name(nb)
    target = _target_python(python, kernel, warnings)

    emit(on_event, Event(Phase.CAPTURE, "progress", "scanning cells", step=1, total=4))
    scan = scan_notebook_cells(code_cells(nb), real_nb, use_cache=use_cache)

    emit(on_event, Event(Phase.CAPTURE, "progress", f"querying {target}", step=2, total=4))
    info = query_interpreter(target)
    local = local_distributions(info.distributions, info.sys_path, info.site_dirs, project)
    parent = PurePosixPath(notebook_rel).parent.as_posix()
    collector = FileCollector(project, max_file_size=max_file_size,
                              cwd="" if parent == "." else parent)
    collector.entries[notebook_rel] = file_entry(real_nb, notebook_rel, "notebook")
    found = _local_scan(collector, scan, notebook_rel, info, local)
    collector.add_literals(scan.literals, scan.dir_prefixes)

    emit(on_event, Event(Phase.CAPTURE, "progress", "resolving distributions", step=3, total=4))
    called = _calls(nb, collector)
    shipped: Set[str] = set()
    while True:
        resolution = resolve(scan.records, info, local_modules=found.modules, local=local,
                             aliases=scan.aliases, called=called)
        # The project's own packages: their source ships, and what it imports counts.
        todo = {k: v for k, v in resolution.local.items() if k not in shipped}
        if not todo:
            break
        shipped |= set(todo)
        for rel in _ship_local_distributions(collector, todo, local, info):
            scan.merge(_scan_file(collector.root / rel, rel))
    requirements, kernel_warnings = kernel_stack(resolution.requirements, info)
    system = resolve_programs(resolution.programs, explicit_packages=resolution.apt)
    packages = list(system.packages.values()) + _apt_files(collector)
    env_pairs, env_warnings = capture_env(env_names)
    if found.pythonpath and not any(k == "PYTHONPATH" for k, _ in env_pairs):
        env_pairs.append(("PYTHONPATH", ":".join(
            f"{WORKDIR}/{folder}".rstrip("/") for folder in found.pythonpath)))

    saved = saved_python_warning(nb, python_info(info).version)
    if saved:
        warnings.append(saved)
    all_warnings = _unique([*warnings, *scan.warnings, *collector.warnings,
                            *resolution.warnings, *kernel_warnings, *system.warnings,
                            *env_warnings])
    spec = EnvironmentSpec(
        notebook=notebook_rel,
        python=python_info(info),
        platform=platform_info(info, kernel),
        requirements=requirements,
        unresolved=tuple(resolution.unresolved),
        files=tuple(collector.entries.values()),
        apt_packages=_merge_packages(packages),
        env=tuple(env_pairs),
        warnings=tuple(all_warnings),
    )
    emit(on_event, Event(Phase.CAPTURE, "done", f"{len(spec.requirements)} requirements, "
                         f"{len(spec.files)} files", step=4, total=4))
    return spec


def _calls(nb: Mapping[str, Any], collector: FileCollector) -> Callable[[str], bool]:
    """``called(name)``: does any cell or shipped local module call ``name(…)`` (other
    than where it is defined)? Read lazily: only helper functions that run a program or
    load a backend are ever asked about."""
    texts: List[str] = []

    def load() -> List[str]:
        if not texts:
            texts.extend(source for _, source in code_cells(nb))
            for rel, entry in sorted(collector.entries.items()):
                if entry.kind in ("module", "package") and rel.endswith(_SCRIPTS):
                    try:
                        texts.append((collector.root / rel).read_text(encoding="utf-8"))
                    except (OSError, UnicodeDecodeError):
                        continue
        return texts

    @lru_cache(maxsize=None)
    def called(name: str) -> bool:
        word = re.compile(rf"\b{re.escape(name)}\s*\(")
        definition = re.compile(rf"\b(?:def|class)\s+{re.escape(name)}\b")
        return any(len(word.findall(t)) > len(definition.findall(t)) for t in load())

    return called


def _merge_packages(packages: Sequence[SystemPackage]) -> Tuple[SystemPackage, ...]:
    """One entry per package name: reasons joined, a pin kept."""
    merged = SystemNeeds()
    for package in packages:
        merged.add(package)
    return tuple(merged.packages.values())


def _unique(items: Sequence[str]) -> Tuple[str, ...]:
    seen: Dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return tuple(seen)
