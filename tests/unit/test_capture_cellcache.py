"""The per-cell scan cache and the skip of cells that cannot matter (issue 16.4)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

import pytest

from nbdocker.stages.capture import cellcache
from nbdocker.stages.capture.cellcache import may_matter, scan_notebook_cells
from nbdocker.stages.capture.imports import scan_cells

CELLS = ["import numpy as np", "x = np.arange(3).sum()", "%pip install attrs",
         "df = pd.read_csv('data/x.csv')", "!dot -V", "def f(a):\n    return a * 2",
         "frame.plot.density()", "print 'python 2'", "ls data"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))


def _counting(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    parsed: List[str] = []
    real = cellcache.scan_source

    def scan_source(source: str, **kw: object) -> object:
        parsed.append(source)
        return real(source, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cellcache, "scan_source", scan_source)
    return parsed


def test_cells_that_cannot_matter_are_not_parsed() -> None:
    assert [may_matter(c) for c in CELLS] == [True, False, True, True, True, False, True,
                                              True, True]


def test_the_cache_gives_the_same_scan_and_reads_only_changed_cells(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = tmp_path / "nb.ipynb"
    reference = scan_cells(enumerate(CELLS))
    parsed = _counting(monkeypatch)
    first = scan_notebook_cells(enumerate(CELLS), notebook)
    assert len(parsed) == 7  # two cells skipped
    assert first.records == [r for r in reference.records] and first.warnings == reference.warnings
    assert first.literals == reference.literals
    parsed.clear()
    again = scan_notebook_cells(enumerate(CELLS), notebook)
    assert parsed == [] and again.records == first.records and again.warnings == first.warnings
    # one cell edited, one inserted at the top: only those two are read; the others
    # keep their entries and are re-numbered
    edited = ["import attr"] + CELLS[:3] + ["import yaml"] + CELLS[4:]
    result = scan_notebook_cells(enumerate(edited), notebook)
    assert sorted(parsed) == ["import attr", "import yaml"]
    assert result.records == scan_cells(enumerate(edited)).records
    assert [r.cell for r in result.records if r.module == "numpy"] == [1]
    assert any(w.startswith("cell 8: SyntaxError") for w in result.warnings)


def test_a_corrupt_or_old_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = tmp_path / "nb.ipynb"
    scan_notebook_cells(enumerate(CELLS), notebook)
    [entry] = list((tmp_path / "cache").glob("cells-*.json"))
    doc = json.loads(entry.read_text())
    doc["cells"][next(iter(doc["cells"]))] = {"records": "garbage"}
    entry.write_text(json.dumps(doc))
    parsed = _counting(monkeypatch)
    assert scan_notebook_cells(enumerate(CELLS), notebook).records == \
        scan_cells(enumerate(CELLS)).records
    assert len(parsed) == 7
    entry.write_text(json.dumps({**doc, "version": -1}))
    parsed.clear()
    scan_notebook_cells(enumerate(CELLS), notebook)
    assert len(parsed) == 7
