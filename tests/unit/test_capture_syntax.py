"""The fast IPython-syntax path agrees with IPython's own TransformerManager."""
from __future__ import annotations

import ast

import pytest

from nbdocker.stages.capture.ipython_syntax import fast_transform, ipython_transform, parse_cell

SAME_AS_IPYTHON = [
    "%pip install requests>=2 numpy\nimport os",
    "!pip install x",
    "!!ls -l",
    "a = !ls",
    "x = %timeit -o f()",
    "b = %sx echo hi",
    "np.sum?",
    "?np",
    "np.sum??",
    "%%writefile h.py\nimport foo\n",
    "%%time\nimport numpy\n",
    "%%timeit x=1\nimport q",
    "%time import numpy as np",
    "if 1:\n    %pip install z\n    !ls",
    "for i in range(3):\n    !echo {i}\n    x = 1",
    "%run -i helper.py a b",
    "%%bash\npip install q\n",
    "%load_ext sql",
    "%matplotlib inline",
    "%config X.y=1 \\\n  more",
    "%pip install a \\\n    b",
    "files = %ls",
    "import os\n%cd /tmp\nprint(os.getcwd())",
]


@pytest.mark.parametrize("source", SAME_AS_IPYTHON)
def test_fast_transform_matches_ipython(source: str) -> None:
    ours = fast_transform(source)
    theirs = ipython_transform(source)
    assert ours is not None and theirs is not None
    assert ast.dump(ast.parse(ours)) == ast.dump(ast.parse(theirs))


def test_plain_python_is_not_transformed() -> None:
    assert fast_transform("import os\nx = 1 == 2\n") is None
    tree = parse_cell("import os\nawait thing()\n")  # top-level await is fine in a kernel
    assert isinstance(tree.body[0], ast.Import)


def test_falls_back_to_ipython_for_what_the_fast_path_cannot_do() -> None:
    source = "d['k'] = !ls"  # a subscript target: only IPython handles it
    assert fast_transform(source) is None
    tree = parse_cell(source)
    assert "getoutput" in ast.dump(tree)


def test_real_syntax_errors_raise() -> None:
    with pytest.raises(SyntaxError):
        parse_cell("print 'python 2'")
    with pytest.raises(SyntaxError):
        parse_cell("def broken(:\n    pass")
