"""Compare a notebook's saved outputs with its re-runs: cells in, a report out.

Cells are aligned by position once ``injected-parameters`` cells are set aside; indices
are those of the ORIGINAL notebook, and each result also names the cell's ``In [n]`` and
id. Per code cell:

1. not compared: empty cells (nbclient does not run them), cells tagged ``parameters``,
   ``injected-parameters``, ``nbdocker-skip-compare`` or ``skip-execution``, cells marked
   ``NBVAL_SKIP`` / ``NBVAL_IGNORE_OUTPUT`` (see :mod:`.markers`), cells the original
   never ran (``skipped``, with the reason);
2. a run that raised where the original did not (and the cell is not marked
   ``raises-exception``) is ``error``;
3. the container's runs are compared with each other: a cell whose runs disagree is
   ``volatile`` (with a likely cause, see :mod:`.volatility`), never ``same``;
4. otherwise the first run is compared with the original: ``same`` after masking
   (:mod:`.normalise`), ``close`` within the numeric tolerance (:mod:`.numbers`) or the
   pixel tolerance (:mod:`.images`), else ``differs`` with a bounded diff (:mod:`.diff`).

Images compared by pixels count like text; images compared only by hash (no Pillow)
are reported apart and count only with ``strict_images``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, List, Mapping, Optional, Pattern, Sequence, Tuple

from ...contract import (INJECTED_TAG, PARAMETERS_TAG, SKIP_COMPARE_TAG, SKIP_EXECUTION_TAG,
                         WORKDIR)
from .authordirs import infer_author_dirs, output_texts, relative_tails
from .diff import bounded_diff
from .images import compare_pictures, have_pillow
from .install import is_install_cell
from .markers import Marker, markers_of
from .normalise import Normaliser
from .numbers import close
from .outputs import Comparable, comparable, first_error, text_of
from .report import (DEFAULT_ATOL, DEFAULT_IMAGE_TOLERANCE, DEFAULT_RTOL, CellResult,
                     CellSides, Deviation, Environment, ImageResult, ReproductionReport,
                     Settings, Status, is_reproduced)
from .volatility import History, explain

__all__ = ["compare_notebooks", "WARNINGS_NOTE", "KEEP"]

WARNINGS_NOTE = "only Python warnings on stderr differ (ignored)"
KEEP = 100_000   # characters of one output a view shows (diffs are cut far shorter)
_SKIP_TAGS = (PARAMETERS_TAG, INJECTED_TAG, SKIP_COMPARE_TAG, SKIP_EXECUTION_TAG)
# Errors that usually follow an earlier failed cell: the name, attribute or import it
# should have provided is missing (ModuleNotFoundError is a cause of its own).
_CASCADE_ERRORS = frozenset({"NameError", "AttributeError", "ImportError"})
_RANK = {Status.SAME: 0, Status.CLOSE: 1, Status.DIFFERS: 2}


@dataclass(frozen=True)
class _Match:
    """How two comparables relate."""

    status: Status
    deviation: Optional[Deviation] = None
    images: Tuple[ImageResult, ...] = ()
    images_differ: bool = False     # some image differs (counted or not)


@dataclass(frozen=True)
class _Rules:
    rtol: float
    atol: float
    image_tolerance: float
    strict_images: bool
    pixels: bool


def _tags(cell: Mapping[str, Any]) -> List[str]:
    return list((cell.get("metadata", {}) or {}).get("tags", []) or [])


def _head(source: str, lines: int = 3) -> str:
    return "\n".join(source.splitlines()[:lines])


def _ran(cell: Mapping[str, Any]) -> bool:
    return cell.get("execution_count") is not None or bool(cell.get("outputs"))


def _same_raw(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """The same outputs, byte for byte, but for the execution counts."""
    first, second = a.get("outputs", []) or [], b.get("outputs", []) or []
    return len(first) == len(second) and all(
        {k: v for k, v in x.items() if k != "execution_count"} ==
        {k: v for k, v in y.items() if k != "execution_count"} for x, y in zip(first, second))


def _worse(a: Status, b: Status) -> Status:
    return a if _RANK[a] >= _RANK[b] else b


def _match(a: Comparable, b: Comparable, rules: _Rules) -> _Match:
    """Compare ``b`` with ``a``: texts exactly, then within tolerance; images apart."""
    status, deviation = Status.SAME, None
    if a.parts != b.parts:
        status = Status.DIFFERS
        if [p.label for p in a.parts] == [p.label for p in b.parts]:
            worst: Optional[Deviation] = None
            for x, y in zip(a.parts, b.parts):
                if x.text == y.text:
                    continue
                found = close(x.text, y.text, rtol=rules.rtol, atol=rules.atol)
                if found is None:
                    worst = None
                    break
                if worst is None or found.absolute > worst.absolute:
                    worst = found
            if worst is not None:
                status, deviation = Status.CLOSE, worst
    images: List[ImageResult] = []
    if len(a.pictures) != len(b.pictures):
        images.append(ImageResult(0, "image", Status.DIFFERS, "count",
                                  note=f"{len(a.pictures)} image(s) vs {len(b.pictures)}"))
    else:
        images = [compare_pictures(i, x, y, tolerance=rules.image_tolerance,
                                   pixels=rules.pixels)
                  for i, (x, y) in enumerate(zip(a.pictures, b.pictures))]
    for image in images:
        if image.status == Status.SAME:
            continue
        counted = image.method != "hash" or rules.strict_images
        if counted:
            effect = Status.DIFFERS if rules.strict_images else image.status
            status = _worse(status, effect)
    return _Match(status, deviation, tuple(images),
                  any(i.status != Status.SAME for i in images))


def _stdin_hint(outputs: Sequence[Mapping[str, Any]]) -> str:
    # input(), getpass, %debug and pdb wait for a person; a headless run has none.
    if any(o.get("output_type") == "error" and o.get("ename") == "StdinNotImplementedError"
           for o in outputs):
        return ("the cell asks for input (input(), %debug, pdb), which a headless run "
                f"cannot give: tag it {SKIP_COMPARE_TAG} to leave it out")
    return ""


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _image_note(match: _Match, rules: _Rules) -> str:
    hashed = [i for i in match.images if i.status != Status.SAME and i.method == "hash"]
    if not hashed or rules.strict_images:
        return ""
    how = ("pip install 'nbdocker[images]' to compare pixels, or --strict-images"
           if not rules.pixels else "--strict-images counts them")
    return f"images differ by hash (not counted: {how})"


class _Comparer:
    """Compares the cells of one original with its runs (one per container run)."""

    def __init__(self, original: Any, runs: Sequence[Any], normaliser: Normaliser,
                 rules: _Rules, *, ignore_warnings: bool, lax: bool,
                 max_diff_lines: int) -> None:
        self.normaliser = normaliser
        self.rules = rules
        self.ignore_warnings = ignore_warnings
        self.lax = lax
        self.max_diff_lines = max_diff_lines
        self.old_cells = [(i, c) for i, c in enumerate(original.cells)
                          if INJECTED_TAG not in _tags(c)]
        self.runs = [[c for c in run.cells if INJECTED_TAG not in _tags(c)] for run in runs]
        self.history = History([(i, text_of(c.get("source", ""))) for i, c in self.old_cells
                                if c.get("cell_type") == "code"])
        self.labels = ("re-run",) if len(runs) == 1 else tuple(
            f"run {k}" for k in range(1, len(runs) + 1))

    def comparable(self, cell: Mapping[str, Any], installs: bool,
                   ignore_warnings: Optional[bool] = None) -> Comparable:
        return comparable(cell.get("outputs", []) or [], self.normaliser,
                          ignore_warnings=self.ignore_warnings if ignore_warnings is None
                          else ignore_warnings, installs=installs)

    def diff(self, a: Comparable, b: Comparable, labels: Tuple[str, str]) -> Tuple[str, bool]:
        return bounded_diff(a.lines(), b.lines(), labels=labels, max_lines=self.max_diff_lines)

    def results(self) -> List[CellResult]:
        results: List[CellResult] = []
        first_error_at: Optional[int] = None
        for position, (index, cell) in enumerate(self.old_cells):
            if cell.get("cell_type") != "code":
                continue
            source = text_of(cell.get("source", ""))
            if not source.strip():
                continue   # nbclient does not run empty cells; there is nothing to compare
            counterparts = [run[position] if position < len(run) else None for run in self.runs]
            counterparts = [c if c is not None and c.get("cell_type") == "code" else None
                            for c in counterparts]   # None: the notebooks do not line up here
            result = self.cell(index, cell, source, counterparts)
            if result.status == Status.ERROR and counterparts[0] is not None:
                if first_error_at is None:
                    first_error_at = index
                elif (first_error(counterparts[0].get("outputs", []) or []) or {}).get(
                        "ename") in _CASCADE_ERRORS:
                    # A name the failed cell should have defined: a consequence, not a cause.
                    result = replace(result, note=f"{result.note}; probably follows the error "
                                                  f"in cell {first_error_at}")
            sides = CellSides(source, cell.get("outputs", []) or [],
                              tuple((c.get("outputs", []) or []) if c is not None else []
                                    for c in counterparts))
            results.append(replace(result, execution_count=cell.get("execution_count"),
                                   cell_id=cell.get("id"), sides=sides))
        return results

    def cell(self, index: int, cell: Mapping[str, Any], source: str,
             counterparts: Sequence[Optional[Mapping[str, Any]]]) -> CellResult:
        head = _head(source)
        tags = _tags(cell)
        markers = markers_of(cell)
        if Marker.SKIP in markers:   # before the tags: verify adds skip-execution to it
            return CellResult(index, Status.SKIPPED, source_head=head,
                              note="marked NBVAL_SKIP (not run)")
        for tag in _SKIP_TAGS:
            if tag in tags:
                return CellResult(index, Status.SKIPPED, source_head=head, note=f"tagged {tag}")
        if not _ran(cell):
            return CellResult(index, Status.SKIPPED, source_head=head,
                              note="not run in the original")
        for k, counterpart in enumerate(counterparts):
            where = "" if len(counterparts) == 1 else f" ({self.labels[k]})"
            if counterpart is None:
                return CellResult(index, Status.DIFFERS, source_head=head,
                                  note=f"missing in the re-run{where}")
            if not _ran(counterpart):
                return CellResult(index, Status.DIFFERS, source_head=head,
                                  note=f"not run in the re-run{where} (the run stopped "
                                       "before it)")
        runs = [c for c in counterparts if c is not None]
        installs = is_install_cell(source)
        old_error = first_error(cell.get("outputs", []) or [])
        hint = _stdin_hint(runs[0].get("outputs", []) or [])
        if old_error is None and Marker.RAISES_EXCEPTION not in markers:
            for k, run in enumerate(runs):
                new_error = first_error(run.get("outputs", []) or [])
                if new_error is not None:
                    where = "" if len(runs) == 1 else f" in {self.labels[k]}"
                    diff, cut = self.diff(self.comparable(cell, installs),
                                          self.comparable(run, installs),
                                          ("original", self.labels[k]))
                    return CellResult(index, Status.ERROR, diff, source_head=head,
                                      note=_join(f"re-run raised{where} "
                                                 f"{new_error.get('ename')}: "
                                                 f"{new_error.get('evalue')}", hint),
                                      truncated=cut)
        if Marker.IGNORE_OUTPUT in markers:
            return CellResult(index, Status.SKIPPED, source_head=head,
                              note="marked NBVAL_IGNORE_OUTPUT (output not compared)")
        if self.lax and Marker.CHECK_OUTPUT not in markers:
            return CellResult(index, Status.SKIPPED, source_head=head,
                              note="output not checked (--nbval-lax: mark it "
                                   "NBVAL_CHECK_OUTPUT to compare it)")
        if all(_same_raw(cell, run) for run in runs):
            return CellResult(index, Status.SAME, source_head=head,   # nothing to normalise
                              empty=not cell.get("outputs"))
        old = self.comparable(cell, installs)
        news = [self.comparable(c, installs) for c in runs]
        for k in range(1, len(news)):
            between = _match(news[0], news[k], self.rules)
            if between.status == Status.DIFFERS:
                first, second = news[0].lines(), news[k].lines()
                diff, cut = self.diff(news[0], news[k], (self.labels[0], self.labels[k]))
                reason = explain(source, index, self.history, first, second)
                note = "differs between the container's own runs"
                if between.images_differ and news[0].parts == news[k].parts:
                    note = "its images differ between the container's own runs"
                return CellResult(index, Status.VOLATILE, diff, between.images_differ, head,
                                  note=note, reason=reason, images=between.images,
                                  truncated=cut)
        found = _match(old, news[0], self.rules)
        diff, cut = ("", False)
        if found.status != Status.SAME and old.parts != news[0].parts:
            diff, cut = self.diff(old, news[0], ("original", self.labels[0]))
        note = _join(hint, _image_note(found, self.rules))
        if found.status == Status.SAME and self.ignore_warnings and \
                self.comparable(cell, installs, False).parts != \
                self.comparable(runs[0], installs, False).parts:
            note = _join(note, WARNINGS_NOTE)
        return CellResult(index, found.status, diff, found.images_differ, head, note=note,
                          deviation=found.deviation, images=found.images, truncated=cut,
                          empty=not (old.parts or old.pictures)
                          and not any(n.parts or n.pictures for n in news))


def _default_dir(notebook: str) -> Optional[str]:
    path = Path(notebook) if notebook else None
    return str(path.resolve().parent) if path is not None and path.is_file() else None


def _has_outputs(nb: Any) -> bool:
    return any(c.get("outputs") for c in nb.cells if c.get("cell_type") == "code")


def compare_notebooks(original: Any, rerun: Any, *, controls: Sequence[Any] = (),
                      image: str = "", notebook: str = "", strict_images: bool = False,
                      original_dir: Optional[str] = None,
                      rerun_dirs: Sequence[str] = (WORKDIR,), shipped_files: Sequence[str] = (),
                      ignore_warnings: bool = False, max_diff_lines: int = 20,
                      rtol: Optional[float] = None, atol: Optional[float] = None,
                      image_tolerance: Optional[float] = None, lax: bool = False,
                      sanitize: Sequence[Tuple[Pattern[str], str]] = (),
                      sanitize_file: str = "", env_dirs: Sequence[str] = (),
                      environments: Optional[Tuple[Environment, Environment]] = None
                      ) -> ReproductionReport:
    """Compare the saved outputs of ``original`` with the executed ``rerun`` (and the
    ``controls``: further runs of the same notebook, from which volatility is learnt).

    ``original_dir`` (default: the directory of ``notebook`` when that is a file) and
    ``rerun_dirs`` (the container's work directory) are masked as ``<NOTEBOOK_DIR>``, and
    so is the author's notebook folder when saved outputs name it (see
    :func:`~nbdocker.stages.verify.authordirs.infer_author_dirs`; ``shipped_files`` are
    the notebook's files, relative). ``env_dirs`` are further interpreter environments.
    Numbers compare within ``rtol``/``atol`` and images within ``image_tolerance`` (the
    defaults of :mod:`.report` when None). ``sanitize`` are nbval sanitize rules (read
    from ``sanitize_file``, which the report names). With ``ignore_warnings``, Python
    warnings on stderr are left out; with ``lax``, only cells marked
    ``NBVAL_CHECK_OUTPUT`` have their outputs compared. A cell whose re-run raised
    ``NameError``, ``AttributeError`` or ``ImportError`` after an earlier cell already
    failed keeps its "error" status, with a note naming the first failed cell. Only code
    cells appear in the report.
    """
    notebook_dir = original_dir or _default_dir(notebook)
    dirs = [d for d in (notebook_dir, *rerun_dirs) if d]
    runs = [rerun, *controls]
    # The author's own folder, named in saved outputs (/Users/ann/nb/helpers.py), is
    # this notebook's folder too; files the re-run names in its work dir are evidence.
    known = list(shipped_files)
    rerun_texts = [t for c in rerun.cells for t in output_texts(c.get("outputs", []) or [])]
    for directory in rerun_dirs:
        known += relative_tails(rerun_texts, directory)
    dirs += [d for d in infer_author_dirs([c.get("outputs", []) or [] for c in original.cells],
                                          notebook_dir=notebook_dir, known=known)
             if d not in dirs]
    pixels = have_pillow()
    settings = Settings(runs=len(runs), rtol=DEFAULT_RTOL if rtol is None else rtol,
                        atol=DEFAULT_ATOL if atol is None else atol,
                        image_tolerance=DEFAULT_IMAGE_TOLERANCE if image_tolerance is None
                        else image_tolerance, strict_images=strict_images,
                        ignore_warnings=ignore_warnings, lax=lax, sanitize=sanitize_file,
                        pixels=pixels, max_kept=KEEP)
    rules = _Rules(settings.rtol, settings.atol, settings.image_tolerance, strict_images,
                   pixels)
    comparer = _Comparer(original, runs, Normaliser(dirs, env_dirs, sanitize), rules,
                         ignore_warnings=ignore_warnings, lax=lax,
                         max_diff_lines=max_diff_lines)
    results = comparer.results()
    notes = []
    if not _has_outputs(original) and any(c.status != Status.SKIPPED for c in results):
        notes.append("the original notebook holds no saved outputs (stripped?): every cell "
                     "that prints something now is reported as differs")
    if any(c.truncated for c in results):
        notes.append("some diffs were cut to stay readable (long lines around their first "
                     "difference, at most a few hundred lines); the comparison itself used "
                     "every character")
    original_env, rerun_env = environments or (Environment("original"), Environment("re-run"))
    return ReproductionReport(reproduced=is_reproduced(results), cells=tuple(results),
                              image=image, notebook=notebook, settings=settings,
                              original=original_env, rerun=rerun_env, notes=tuple(notes))
