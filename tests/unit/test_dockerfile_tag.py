"""default_tag: every notebook name gives a valid Docker reference."""
from __future__ import annotations

import re

import pytest

from nbdocker.stages.image import default_tag
from nbdocker.spec import EnvironmentSpec, PythonInfo

# Docker's reference grammar for one path component (distribution/reference).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"


@pytest.mark.parametrize("name, stem", [
    ("5. KNN.ipynb", "5-knn"),                     # ". " → ".-" would be invalid
    ("Lecture-1 .. intro.ipynb", "lecture-1-intro"),
    ("a__b.ipynb", "a__b"),
    ("a___b.ipynb", "a-b"),
    ("a_-_b.ipynb", "a-b"),
    ("v1.2_final--draft.ipynb", "v1.2_final--draft"),
    ("x" * 99 + ". y.ipynb", "x" * 99),            # truncation leaves no trailing separator
])
def test_default_tag_is_a_valid_reference(name: str, stem: str) -> None:
    spec = EnvironmentSpec(notebook=name, python=PythonInfo("3.11.7"))
    tag = default_tag(spec)
    assert tag == f"nbdocker/{stem}:{spec.content_hash()[:12]}"
    assert re.fullmatch(rf"nbdocker/{_COMPONENT}:[0-9a-f]{{12}}", tag)
