"""A Jupytext text notebook (.py percent/light script, .md) is refused with a message
that says what it is and how to convert it, on both reading paths: read_notebook
(nbformat) and the capture path (load_notebook_json through capture_notebook)."""
from pathlib import Path

import pytest

from nbdocker.stages.capture.notebook import capture_notebook
from nbdocker.exceptions import NotebookError
from nbdocker.notebook_io import read_notebook

JUPYTEXT_PY = """\
# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %%
import numpy as np
"""
PERCENT_ONLY = "import os\n\n# %%\nprint(os.getcwd())\n\n# %% [markdown]\n# Notes\n"
JUPYTEXT_MD = """\
---
jupyter:
  jupytext:
    text_representation:
      extension: .md
      format_name: markdown
  kernelspec:
    name: python3
---

# Title

```python
import pandas as pd
```
"""

CASES = [("analysis.py", JUPYTEXT_PY), ("cells.py", PERCENT_ONLY), ("notes.md", JUPYTEXT_MD),
         ("My analysis.py", JUPYTEXT_PY)]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _expected(path: Path) -> str:
    quoted = f"'{path.name}'" if " " in path.name else path.name
    return (f"{path} looks like a Jupytext notebook (text, not .ipynb JSON): convert it "
            f"with `jupytext --to ipynb {quoted}` first")


@pytest.mark.parametrize("name,text", CASES)
def test_read_notebook_names_jupytext_and_the_conversion(tmp_path: Path, name: str,
                                                         text: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(NotebookError) as info:
        read_notebook(path)
    assert str(info.value) == _expected(path)
    assert path.read_text(encoding="utf-8") == text  # never modified


@pytest.mark.parametrize("name,text", CASES)
def test_capture_names_jupytext_and_the_conversion(tmp_path: Path, name: str,
                                                   text: str) -> None:
    path = _write(tmp_path, name, text)
    events = []
    with pytest.raises(NotebookError) as info:
        capture_notebook(path, on_event=events.append)
    assert str(info.value) == _expected(path)
    assert events == []  # refused before any work starts


@pytest.mark.parametrize("name,text", [
    ("broken.ipynb", '{"cells": [,]}'),
    ("script.py", "import os\nprint(os.getcwd())\n"),
    # Markdown with front matter that is not Jupytext's (a blog post)
    ("post.md", "---\ntitle: Hello\n---\n\n# %% not a cell in markdown\n"),
])
def test_other_non_json_files_keep_the_invalid_json_message(tmp_path: Path, name: str,
                                                            text: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(NotebookError, match=r"is not a notebook \(invalid JSON: ") as info:
        read_notebook(path)
    assert "Jupytext" not in str(info.value)
