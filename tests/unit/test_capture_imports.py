"""Import records from cell sources: every kind, optional flags, magics, pip lines."""
from __future__ import annotations

from typing import Dict, List

from nbdocker.stages.capture.imports import ImportRecord, extract_imports, scan_cells, scan_source
from nbdocker.stages.capture.pip_args import find_pip_installs


def by_module(records: List[ImportRecord]) -> Dict[str, ImportRecord]:
    return {r.module: r for r in records}


def test_imports_everywhere() -> None:
    recs = by_module(extract_imports([
        "import numpy as np, os.path\nfrom pandas import DataFrame",
        "def f():\n    import scipy.stats\nclass C:\n    def m(self):\n        from matplotlib import pyplot",
        "from . import sibling\nfrom .. import parent",
    ]))
    assert {"numpy", "os.path", "pandas", "scipy.stats", "matplotlib"} <= set(recs)
    assert recs["scipy.stats"].top_level == "scipy"
    assert recs["numpy"].cell == 0 and recs["scipy.stats"].cell == 1
    assert recs["pandas"].reason == "from pandas import DataFrame (cell 0)"
    assert "sibling" not in recs and "parent" not in recs


def test_optional_imports() -> None:
    recs = by_module(extract_imports([
        "try:\n    import ujson\nexcept ImportError:\n    import json",
        "try:\n    import lxml\nexcept (ModuleNotFoundError, OSError):\n    pass",
        "try:\n    import kept\nexcept ValueError:\n    pass",
        "import sys\nif sys.version_info < (3, 8):\n    import importlib_metadata",
        "if DEBUG:\n    import debugtool",
    ]))
    assert recs["ujson"].optional and recs["lxml"].optional
    # the fallback in the handler is an alternative: kept only when installed
    assert recs["json"].optional and recs["json"].alternative and not recs["ujson"].alternative
    # an interpreter test is decided at resolution, for the target
    assert recs["importlib_metadata"].conditions == (("sys.version_info < (3, 8)", True),)
    assert not recs["kept"].optional and not recs["debugtool"].optional
    assert recs["debugtool"].conditions == ()


def test_dynamic_imports() -> None:
    recs = extract_imports(["import importlib\nm = importlib.import_module('yaml')\n"
                            "t = __import__('toml')\nv = importlib.import_module(name)\n"
                            "r = importlib.import_module('.rel', 'pkg')"])
    dynamic = sorted(r.module for r in recs if r.kind == "dynamic")
    assert dynamic == ["toml", "yaml"]


def test_magics() -> None:
    scan = scan_cells(enumerate([
        "%pip install 'requests>=2' attrs[tests] -q --index-url https://x/simple",
        "!pip install six==1.16.0 && python -m pip install toolz",
        "%time import numpy\n%timeit -n 10 -r 2 import bisect",
        "%%time\nimport pandas",
        "%%writefile gen.py\nimport traitlets\n",
        "%%bash\npip install click\necho hi",
        "%%html\n<b>import nothing</b>",
        "%run helper.py arg\n%run -m http.server\n%load_ext sql\n%load_ext autoreload",
        "x = 1\nx?\n%matplotlib inline\nfiles = !ls",
    ]))
    pips = sorted(r.module for r in scan.records if r.kind == "pip")
    assert pips == ["attrs[tests]", "click", "requests>=2", "six==1.16.0", "toolz"]
    imports = {r.module for r in scan.records if r.kind == "import"}
    assert {"numpy", "bisect", "pandas", "http.server", "sql"} <= imports
    assert "nothing" not in imports and "autoreload" not in imports
    assert "traitlets" not in imports  # the written file is scanned by capture, not here
    assert scan.written_files == {"gen.py": "import traitlets\n"}
    assert [r.module for r in scan.records if r.kind == "run"] == ["helper.py"]
    assert any("index URL" in w for w in scan.warnings)
    reasons = {r.reason for r in scan.records}
    assert "%pip install requests>=2 (cell 0)" in reasons
    assert "!pip install six==1.16.0 (cell 1)" in reasons


def test_syntax_error_is_a_warning_with_the_cell() -> None:
    scan = scan_cells([(4, "print 'x'"), (5, "import os")])
    assert [r.module for r in scan.records] == ["os"]
    assert len(scan.warnings) == 1 and scan.warnings[0].startswith("cell 4: SyntaxError")


def test_literals_for_data_files() -> None:
    scan = scan_source("from pathlib import Path\nimport os\n"
                       "a = open('cfg.yaml')\nb = Path('data') / 'sub' / 'x.csv'\n"
                       "c = os.path.join('data', 'y.csv')\nd = f'tables/{n}.tsv'\n")
    assert {"cfg.yaml", "data/sub/x.csv", "data/y.csv"} <= scan.literals
    assert scan.dir_prefixes == {"tables"}


def test_pip_command_parsing() -> None:
    [one] = find_pip_installs("pip install -U 'pandas[excel]>=2' --no-deps -r reqs.txt ./local.whl")
    assert one.requirements == ("pandas[excel]>=2",)
    assert "requirements file reqs.txt" in one.ignored and "./local.whl" in one.ignored
    assert find_pip_installs("pip list") == []
    assert find_pip_installs("echo pip install nothing") == []  # echo is not pip
    [env] = find_pip_installs("cd x; PIP_NO_CACHE=1 sudo pip3 install ruff")
    assert env.requirements == ("ruff",)
    [two] = find_pip_installs("{sys.executable} -m pip install torch")
    assert two.requirements == ("torch",)
    [three] = find_pip_installs("pip install git+https://github.com/x/y.git pkg@https://x/p.whl")
    assert three.requirements == ()
