"""Plain-text summaries of an EnvironmentSpec (CLI ``capture``, ``%dockerize --dry-run``,
``%nbdocker_env``): one table, so every front end shows the same thing."""
from __future__ import annotations

from typing import List, Sequence

from ...spec import EnvironmentSpec

__all__ = ["NO_REQUIREMENTS", "format_spec", "format_table"]

# What every front end says instead of an empty requirements table.
NO_REQUIREMENTS = "no third-party requirements"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, with a dashed rule under the header."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def format_spec(spec: EnvironmentSpec, *, transitive: bool = False) -> str:
    """Human summary: interpreter, the requirements table (package, version, why),
    unresolved modules, shipped files and warnings."""
    out: List[str] = [
        f"notebook: {spec.notebook}",
        f"python:   {spec.python.implementation} {spec.python.version}"
        f" ({spec.platform.system}/{spec.platform.machine}, kernel {spec.platform.kernel_name})",
        "",
    ]
    reqs = spec.requirements if transitive else spec.direct_requirements
    rows = [(r.name, r.version or (r.specifier or "(unpinned)"),
             "; ".join(r.reasons[:3]) + (" …" if len(r.reasons) > 3 else ""))
            for r in reqs]
    out.append(format_table(("package", "version", "why"), rows) if rows else NO_REQUIREMENTS)
    hidden = len(spec.requirements) - len(reqs)
    if hidden:
        out.append(f"(+ {hidden} transitive requirements locked; --json shows them all)")
    if spec.unresolved:
        out += ["", "not installed in the capturing interpreter (installed unpinned):"]
        out += [f"  {u.module} -> {u.pypi_name or u.module}  ({'; '.join(u.reasons[:2])})"
                for u in spec.unresolved]
    files = [f for f in spec.files if f.kind != "notebook"]
    if files:
        out += ["", "files shipped with the notebook:"]
        out += [f"  {f.path}  ({f.kind}, {f.size} bytes)" for f in files]
    if spec.warnings:
        out += ["", "warnings:"] + [f"  {w}" for w in spec.warnings]
    return "\n".join(out)
