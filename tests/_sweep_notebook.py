"""The notebook the sweep tests (unit and integration) and benchmarks/sweep.py run.

Parameters ``a``, ``b`` and ``pause``; after a run ``value == a * 10 + b``, ``ratio`` is a
``Fraction`` (collected as its repr) and ``nested`` a JSON-able dict; ``(a, b) == (2, 1)``
raises in cell 2. Standard library only, so its image builds quickly.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

__all__ = ["write_notebook"]


def write_notebook(path: Path) -> Path:
    """Write the sweep notebook to ``path``."""
    nb = new_notebook(cells=[
        new_code_cell("a = 1\nb = 0\npause = 0.0", metadata={"tags": ["parameters"]}),
        new_code_cell("import fractions, time\ntime.sleep(pause)\nvalue = a * 10 + b\n"
                      "ratio = fractions.Fraction(a, b + 1)\nnested = {'v': [value, None]}"),
        new_code_cell("if (a, b) == (2, 1):\n    raise ValueError('bad pair')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    nbformat.write(nb, str(path))
    return path
