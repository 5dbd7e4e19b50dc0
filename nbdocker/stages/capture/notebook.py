"""Static capture of a notebook file: :func:`capture_notebook`."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

from ...events import Event, EventHandler, Phase, emit
from ...exceptions import NotebookError
from ...notebook_io import code_cells, kernel_name, load_notebook_json
from ...spec import EnvironmentSpec
from .distributions import resolve
from .files import FileCollector, file_entry
from .imports import SourceScan, scan_cells, scan_source
from .interpreter import kernelspec_interpreter, query_interpreter
from ..._fs import MAX_SHIPPED_FILE
from .kernel_stack import kernel_stack
from .platform import capture_env, platform_info, python_info

__all__ = ["capture_notebook", "saved_python_warning", "DEFAULT_MAX_FILE_SIZE"]

DEFAULT_MAX_FILE_SIZE = MAX_SHIPPED_FILE
_MAX_LOCAL_FILES = 2000  # bound on recursion through local modules and %run targets


def _local_scan(collector: FileCollector, scan: SourceScan, notebook_rel: str) -> Set[str]:
    """Follow local modules and ``%run`` targets (recursively); return local top-level names.

    Every file found is added to ``collector`` and its imports merged into ``scan``.
    """
    local: Set[str] = set()
    scanned: Set[str] = {notebook_rel}
    for target, body in scan.written_files.items():
        # %%writefile helper.py: the notebook creates a module at run time.
        if target.endswith(".py"):
            local.add(Path(target).stem)
            scan.merge(scan_source(body, origin=f"%%writefile {target}"))
    not_local: Set[str] = set()  # top-level names already looked up: one stat each
    index = 0
    while index < len(scan.records) and len(scanned) < _MAX_LOCAL_FILES:
        rec = scan.records[index]
        index += 1
        files: List[str] = []
        if rec.kind in ("import", "dynamic"):
            top = rec.top_level
            if top in local or top in not_local:
                continue
            found = collector.local_module(rec.module)
            if found is None:
                if "." not in rec.module:  # `import a.b` may still find a namespace dir a/
                    not_local.add(top)
                continue
            local.add(top)
            files = found
        elif rec.kind == "run":
            rel = collector.relative(rec.module)
            if rel is None:
                scan.warnings.append(f"{rec.origin}: {rec.text}: not under the notebook's directory")
                continue
            if not rel.endswith((".py", ".ipynb")) and (collector.root / (rel + ".py")).is_file():
                rel += ".py"
            if rel.endswith(".py") and rel not in scan.written_files and not collector.add_file(rel, "module"):
                scan.warnings.append(f"{rec.origin}: {rec.text}: file not found")
                continue
            if rel.endswith(".ipynb") and not collector.add_file(rel, "module"):
                scan.warnings.append(f"{rec.origin}: {rec.text}: notebook not found")
                continue
            if rel.endswith(".py"):
                local.add(Path(rel).stem)
            files = [rel]
        for rel in files:
            if rel in scanned or rel not in collector.entries:
                continue
            scanned.add(rel)
            scan.merge(_scan_file(collector.root / rel, rel))
    return local


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
    on_event: Optional[EventHandler] = None,
) -> EnvironmentSpec:
    """Capture what the notebook at ``path`` needs, as an :class:`EnvironmentSpec`.

    Reads every code cell (IPython syntax included), finds imports, ``%pip`` lines,
    local modules, ``%run`` targets and data files, and pins requirements (and their
    transitive closure) to what is installed in the target interpreter: ``python``, else
    the notebook kernelspec's interpreter when found, else the current one.

    Raises :class:`~nbdocker.exceptions.NotebookError` for an unreadable notebook and
    :class:`~nbdocker.exceptions.CaptureError` when the interpreter can't be queried.
    """
    nb_path = Path(path)
    nb = load_notebook_json(nb_path)  # before any event: bad input gives just the error
    emit(on_event, Event(Phase.CAPTURE, "progress", f"read {nb_path.name}", step=0, total=4))
    warnings: List[str] = []
    kernel = kernel_name(nb)
    target = _target_python(python, kernel, warnings)

    emit(on_event, Event(Phase.CAPTURE, "progress", "scanning cells", step=1, total=4))
    cells = code_cells(nb)
    scan = scan_cells(cells)
    collector = FileCollector(nb_path.resolve().parent, max_file_size=max_file_size)
    notebook_rel = nb_path.name
    collector.entries[notebook_rel] = file_entry(nb_path, notebook_rel, "notebook")
    local = _local_scan(collector, scan, notebook_rel)
    collector.add_literals(scan.literals, scan.dir_prefixes)

    emit(on_event, Event(Phase.CAPTURE, "progress", f"querying {target}", step=2, total=4))
    info = query_interpreter(target)

    emit(on_event, Event(Phase.CAPTURE, "progress", "resolving distributions", step=3, total=4))
    resolution = resolve(scan.records, info, local_modules=local)
    requirements, kernel_warnings = kernel_stack(resolution.requirements, info)
    env_pairs, env_warnings = capture_env(env_names)

    saved = saved_python_warning(nb, python_info(info).version)
    if saved:
        warnings.append(saved)
    all_warnings = _unique([*warnings, *scan.warnings, *collector.warnings,
                            *resolution.warnings, *kernel_warnings, *env_warnings])
    spec = EnvironmentSpec(
        notebook=nb_path.name,
        python=python_info(info),
        platform=platform_info(info, kernel),
        requirements=requirements,
        unresolved=tuple(resolution.unresolved),
        files=tuple(collector.entries.values()),
        env=tuple(env_pairs),
        warnings=tuple(all_warnings),
    )
    emit(on_event, Event(Phase.CAPTURE, "done", f"{len(spec.requirements)} requirements, "
                         f"{len(spec.files)} files", step=4, total=4))
    return spec


def _unique(items: Sequence[str]) -> Tuple[str, ...]:
    seen: Dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return tuple(seen)
