"""The report as HTML: a short fragment for the notebook front ends, and one
self-contained page for ``--html FILE``.

The page needs nothing from the network: CSS is inline, images are ``data:`` URIs, and
a Content-Security-Policy forbids every fetch and every script (rich HTML outputs are
embedded as they are, so a plotly cell cannot call home or run). It shows the verdict,
the settings, both environments, a table of every compared cell and, per cell, its
source, its outputs side by side (original | run 1, plus the disagreeing run of a
volatile cell), images side by side with the differing pixels marked, and the diff.
Each output is shown up to :data:`~nbdocker.stages.verify.compare.KEEP` characters
(the page says where it cut).
"""
from __future__ import annotations

import html
from typing import Any, List, Mapping, Optional, Sequence

from .compare import KEEP
from .images import IMAGE_MIMES, data_uri, highlight, picture
from .normalise import Normaliser, collapse_carriage_returns, strip_ansi
from .outputs import text_of
from .report import CellResult, Environment, ReproductionReport, Status

__all__ = ["report_html", "html_page"]

_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
        "base-uri 'none'; form-action 'none'")
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:.2em 0} h2{font-size:1.1em;margin:1.2em 0 .4em}
.verdict{font-size:1.3em;font-weight:600;padding:.6em .9em;border-radius:6px;margin:.6em 0}
.verdict.ok{background:#e6f4ea;color:#0d652d} .verdict.fail{background:#fce8e6;color:#a50e0e}
.verdict.unproven{background:#fef7e0;color:#8a5a00}
table{border-collapse:collapse} td,th{padding:2px 10px;text-align:left;vertical-align:top}
table.cells td,table.cells th{border-bottom:1px solid #eee}
.status{font-weight:600} .s-same{color:#0d652d} .s-close{color:#1a5fb4}
.s-volatile{color:#8a5a00} .s-differs,.s-error{color:#a50e0e} .s-skipped{color:#777}
section.cell{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.4em .8em}
section.cell>summary{cursor:pointer;font-weight:600}
pre{background:#f7f7f7;padding:.4em .6em;overflow:auto;max-height:30em;margin:.3em 0;
white-space:pre-wrap;word-break:break-all}
pre.stderr{background:#fff0f0} pre.error{background:#fce8e6}
.sides{display:grid;grid-auto-flow:column;grid-auto-columns:1fr;gap:1em}
.side h3{font-size:.95em;margin:.3em 0;color:#555} .side img{max-width:100%;border:1px solid #eee}
.pixels img{max-width:32%;border:1px solid #eee;margin-right:1%}
pre.diff .add{color:#0d652d;background:#e6f4ea} pre.diff .del{color:#a50e0e;background:#fce8e6}
.note{color:#555} .cut{color:#8a5a00;font-style:italic}
"""


def _h(value: Any) -> str:
    return html.escape(str(value))


def _counts(report: ReproductionReport) -> str:
    counts = report.summary
    return ", ".join(f"{counts[s.value]} {s.value}" for s in Status)


def report_html(report: ReproductionReport) -> str:
    """A fragment: the verdict line and the cells that are not ``same`` (with their
    diffs), for ``%dockerize`` and the panel."""
    colour = "green" if report.reproduced else "#b00"
    out = [f"<p><b style='color:{colour}'>{_h(report.verdict)}</b></p>"]
    for cell in report.cells:
        if cell.status in (Status.SAME, Status.SKIPPED):
            continue
        explanation = cell.explanation()
        note = f" ({_h(explanation)})" if explanation and cell.diff else ""
        first = cell.source_head.splitlines()[0] if cell.source_head else ""
        out.append(f"<details open><summary>{_h(cell.name)} {_h(cell.status.value)}: "
                   f"<code>{_h(first)}</code>{note}</summary>"
                   f"<pre>{_h(cell.diff or explanation)}</pre></details>")
    return "".join(out)


def _environments(report: ReproductionReport) -> str:
    sides: Sequence[Environment] = (report.original, report.rerun)
    names: List[str] = []
    for env in sides:
        names += [n for n, _ in env.rows() if n not in names]
    rows = ["<tr><th></th>" + "".join(f"<th>{_h(e.label)}</th>" for e in sides) + "</tr>"]
    for name in names:
        values = [dict(e.rows()).get(name, "") for e in sides]
        rows.append(f"<tr><th>{_h(name)}</th>" + "".join(f"<td><code>{_h(v)}</code></td>"
                                                           for v in values) + "</tr>")
    return "<table class='env'>" + "".join(rows) + "</table>"


def _capped(text: str) -> str:
    if len(text) <= KEEP:
        return _h(text)
    return (_h(text[:KEEP]) + f"</pre><p class='cut'>… shown up to {KEEP:,} of "
            f"{len(text):,} characters</p><pre>")


def _output(output: Mapping[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        name = str(output.get("name", "stdout"))
        text = strip_ansi(collapse_carriage_returns(text_of(output.get("text", ""))))
        return f"<pre class='{_h(name)}'>{_capped(text)}</pre>"
    if kind == "error":
        lines = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        lines += [strip_ansi(str(t)) for t in output.get("traceback", []) or []][-12:]
        return f"<pre class='error'>{_capped(chr(10).join(lines))}</pre>"
    data = output.get("data", {}) or {}
    for mime in IMAGE_MIMES:
        if mime in data and mime != "application/pdf":
            image = picture(mime, data[mime], Normaliser())
            if mime == "image/svg+xml":   # the SVG as drawn, not as compared
                raw = text_of(data[mime]).encode("utf-8")
                return f"<img alt='{_h(mime)}' src='{data_uri(mime, raw)}'>"
            return f"<img alt='{_h(mime)}' src='{data_uri(mime, image.data)}'>"
    if "text/html" in data:
        value = text_of(data["text/html"])
        if len(value) <= KEEP:
            return f"<div class='html-output'>{value}</div>"
        return f"<pre>{_capped(value)}</pre>"
    for mime in ("text/markdown", "text/latex", "text/plain"):
        if mime in data:
            return f"<pre>{_capped(text_of(data[mime]))}</pre>"
    textual = sorted(m for m in data if m not in IMAGE_MIMES)
    if textual:
        return f"<pre>{_capped(text_of(data[textual[0]]))}</pre>"
    return f"<pre class='note'>[{_h(kind)}]</pre>"


def _side(title: str, outputs: Sequence[Mapping[str, Any]]) -> str:
    body = "".join(_output(o) for o in outputs) or "<p class='note'>(no output)</p>"
    return f"<div class='side'><h3>{_h(title)}</h3>{body}</div>"


def _images(outputs: Sequence[Mapping[str, Any]]) -> List[Any]:
    found = []
    for output in outputs:
        data = output.get("data", {}) or {}
        found += [picture(m, data[m], Normaliser()) for m in IMAGE_MIMES
                  if m in data and m != "image/svg+xml"]
    return found


def _pixel_marks(original: Sequence[Mapping[str, Any]], rerun: Sequence[Mapping[str, Any]]
                 ) -> str:
    marks = []
    for a, b in zip(_images(original), _images(rerun)):
        if a.digest == b.digest:
            continue
        marked: Optional[bytes] = highlight(a, b)
        if marked is not None:
            marks.append(f"<img alt='differing pixels' src='{data_uri('image/png', marked)}'>")
    if not marks:
        return ""
    return ("<div class='pixels'><h3>differing pixels (red) over the re-run</h3>"
            + "".join(marks) + "</div>")


def _diff(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        cls = "add" if line.startswith("+") and not line.startswith("+++") else \
            "del" if line.startswith("-") and not line.startswith("---") else ""
        lines.append(f"<span class='{cls}'>{_h(line)}</span>" if cls else _h(line))
    return "<pre class='diff'>" + "\n".join(lines) + "</pre>"


def _cell(cell: CellResult, labels: Sequence[str]) -> str:
    explanation = cell.explanation()
    summary = (f"<summary>{_h(cell.name)} · <span class='status s-{cell.status.value}'>"
               f"{_h(cell.status.value)}</span>"
               + (f" <span class='note'>— {_h(explanation)}</span>" if explanation else "")
               + "</summary>")
    parts = [summary]
    sides = cell.sides
    if sides is not None:
        parts.append(f"<pre class='source'>{_capped(sides.source)}</pre>")
        if cell.status != Status.SKIPPED and sides.runs:
            columns = [_side("original", sides.original), _side(labels[0], sides.runs[0])]
            if cell.status == Status.VOLATILE:
                columns += [_side(labels[k], sides.runs[k]) for k in range(1, len(sides.runs))]
            parts.append("<div class='sides'>" + "".join(columns) + "</div>")
            if cell.images_differ:
                parts.append(_pixel_marks(sides.original, sides.runs[0]))
    if cell.diff:
        parts.append(_diff(cell.diff))
    opened = " open" if cell.status not in (Status.SAME, Status.SKIPPED) else ""
    return (f"<section class='cell' id='cell-{cell.index}'><details{opened}>"
            + "".join(parts) + "</details></section>")


def html_page(report: ReproductionReport) -> str:
    """One self-contained HTML page of the report (see the module docstring)."""
    runs = report.settings.runs
    labels = ["re-run"] if runs == 1 else [f"run {k}" for k in range(1, runs + 1)]
    state = "ok" if report.reproduced else ("fail" if report.failures else "unproven")
    rows = "".join(
        f"<tr><td><a href='#cell-{c.index}'>{c.index}</a></td>"
        f"<td>{_h(c.execution_count if c.execution_count is not None else '')}</td>"
        f"<td><code>{_h(c.cell_id or '')}</code></td>"
        f"<td class='status s-{c.status.value}'>{_h(c.status.value)}</td>"
        f"<td><code>{_h(c.source_head.splitlines()[0] if c.source_head else '')}</code></td>"
        f"<td class='note'>{_h(c.explanation())}</td></tr>" for c in report.cells)
    notes = "".join(f"<p class='note'>{_h(n)}</p>" for n in report.notes)
    title = f"nbdocker: {report.notebook or 'notebook'}"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
        f"<title>{_h(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Reproduction report: {_h(report.notebook or 'notebook')}</h1>"
        f"<div class='verdict {state}' id='verdict'>{_h(report.verdict)}</div>"
        f"<p>{_h(_counts(report))} · compared with {_h(report.settings.describe())}</p>"
        f"{notes}<h2>Environments</h2>{_environments(report)}"
        + (f"<p class='python'>{_h(report.python_line)}</p>" if report.python_line else "")
        + "<h2>Cells</h2><table class='cells'><tr><th>cell</th><th>In [n]</th><th>id</th>"
        f"<th>status</th><th>source</th><th>why</th></tr>{rows}</table>"
        + "".join(_cell(c, labels) for c in report.cells)
        + "</body></html>\n")
