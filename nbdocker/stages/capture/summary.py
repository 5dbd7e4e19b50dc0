"""Views of an EnvironmentSpec: the requirements table as text (CLI ``capture``,
``%dockerize --dry-run``) and as HTML (the magic's cell output), and the watermark-style
``%nbdocker_env`` lines. One table, so every front end shows the same thing."""
from __future__ import annotations

import html
import platform
import re
import sys
from typing import List, Sequence, Tuple

from ...spec import EnvironmentSpec, Requirement

__all__ = ["NO_REQUIREMENTS", "GUESS_NOTE", "format_spec", "format_table",
           "requirements_html", "environment_summary"]

# What every front end says instead of an empty requirements table.
NO_REQUIREMENTS = "no third-party requirements"
# What every front end says about an unresolved module's guessed PyPI name.
GUESS_NOTE = ("not installed in the capturing interpreter; installed best-effort, "
              "unpinned; the cell will fail if it is wrong")


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
    rows = [(r.name, (r.version or (r.specifier or "(unpinned)"))
             + (f" (project: {r.local})" if r.local else ""),
             "; ".join(r.why[:3]) + (" …" if len(r.why) > 3 else ""))
            for r in reqs]
    out.append(format_table(("package", "version", "why"), rows) if rows else NO_REQUIREMENTS)
    hidden = len(spec.requirements) - len(reqs)
    if hidden:
        out.append(f"(+ {hidden} transitive requirements locked; --json shows them all)")
    if spec.unresolved:
        out += ["", f"guesses ({GUESS_NOTE}):"]
        out += [f"  {u.module} -> {u.pypi_name or u.module}  ({'; '.join(u.reasons[:2])})"
                for u in spec.unresolved]
    if spec.apt_packages:
        out += ["", "system packages (apt):"]
        rows = [(p.name, p.version or "(unpinned)", "; ".join(p.reasons[:3])
                 + (" …" if len(p.reasons) > 3 else "")) for p in spec.apt_packages]
        out += ["  " + line for line in format_table(("package", "version", "why"),
                                                     rows).splitlines()]
    files = [f for f in spec.files if f.kind != "notebook"]
    if files:
        out += ["", "files shipped with the notebook:"]
        out += [f"  {f.path}  ({f.kind}, {f.size} bytes)" for f in files]
    if spec.warnings:
        out += ["", "warnings:"] + [f"  {w}" for w in spec.warnings]
    return "\n".join(out)


def _h(text: object) -> str:
    return html.escape(str(text))


def requirements_html(spec: EnvironmentSpec) -> str:
    """An HTML table of the direct requirements (package, version, why)."""
    # JupyterLab right-aligns table cells (numbers); this table is text: align it left.
    td = "<td style='text-align:left'>"
    rows = "".join(
        f"<tr>{td}<code>{_h(r.name)}</code></td>{td}{_h(r.version or r.specifier or 'unpinned')}"
        f"</td>{td}{_h('; '.join(r.why[:3]))}</td></tr>" for r in spec.direct_requirements)
    rows += "".join(
        f"<tr>{td}<code>{_h(u.pypi_name or u.module)}</code></td>{td}guess, best-effort"
        f"</td>{td}{_h('; '.join(u.reasons[:3]))} ({_h(GUESS_NOTE)})</td></tr>"
        for u in spec.unresolved)
    rows += "".join(
        f"<tr>{td}<code>{_h(p.name)}</code> (apt)</td>{td}{_h(p.version or 'unpinned')}"
        f"</td>{td}{_h('; '.join(p.reasons[:3]))}</td></tr>" for p in spec.apt_packages)
    locked = len(spec.requirements) - len(spec.direct_requirements)
    foot = f"<p>+ {locked} transitive requirements locked</p>" if locked else ""
    warn = "".join(f"<li>{_h(w)}</li>" for w in spec.warnings)
    table = ("<table><thead><tr><th style='text-align:left'>package</th>"
             "<th style='text-align:left'>version</th><th style='text-align:left'>why</th></tr>"
             f"</thead><tbody>{rows}</tbody></table>" if rows else f"<p>{_h(NO_REQUIREMENTS)}</p>")
    return (f"<p>Python {_h(spec.python.version)} ({_h(spec.python.implementation)})</p>"
            f"{table}{foot}"
            + (f"<details><summary>warnings</summary><ul>{warn}</ul></details>" if warn else ""))


def environment_summary(spec: EnvironmentSpec, *, transitive: bool = False) -> str:
    """watermark-style lines: Python, platform, then ``distribution version (import
    module)`` per requirement — distribution names, not module names."""
    lines = [f"Python {spec.python.version} ({spec.python.implementation})",
             f"Platform {spec.platform.system or sys.platform} "
             f"{spec.platform.machine or platform.machine()}", ""]
    reqs = spec.requirements if transitive else spec.direct_requirements
    rows: List[Tuple[str, str, str]] = [
        (r.name, r.version or r.specifier or "unpinned", _imports_of(r)) for r in reqs]
    lines.append(format_table(("distribution", "version", "imported as"), rows) if rows
                 else "no third-party distributions")
    return "\n".join(lines)


def _imports_of(req: Requirement) -> str:
    """``import sklearn`` for scikit-learn: the top-level modules it provides here."""
    if not req.direct:
        return "; ".join(req.why[:1])
    from packaging.utils import canonicalize_name

    from .interpreter import query_interpreter

    packages = query_interpreter(sys.executable).packages
    modules = sorted(m for m, dists in packages.items() if not m.startswith("_")
                     and any(canonicalize_name(d) == req.name for d in dists))
    # Of what the distribution provides (matplotlib: matplotlib, mpl_toolkits, pylab),
    # name what the notebook's reasons mention, else what this kernel has loaded.
    mentioned = [m for m in modules
                 if any(re.search(rf"(?<![\w.]){re.escape(m)}\b", r) for r in req.reasons)]
    loaded = {name.split(".", 1)[0] for name in list(sys.modules)}
    modules = mentioned or [m for m in modules if m in loaded] or modules
    return ", ".join(f"import {m}" for m in modules[:3]) or "; ".join(req.reasons[:1])
