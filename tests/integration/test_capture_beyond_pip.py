"""Beyond pip, for real (issues 12 and 17): system packages by apt, dependencies loaded but
never imported, and a notebook inside a project with its own editable package.

Each test captures from a real interpreter (a venv made here: the suite's own packages
through a ``.pth`` file, plus what the test installs from the index), builds a real image
on the suite's engine and runs the notebook in it with a real kernel. Where this machine
can run the notebook too, its saved outputs come from a real kernel of that venv here, so
``verify`` compares the image against the author's machine. Needs an index for pip (the
suite's machine has one); under ``./scripts/test`` a failed install fails the test.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence

import nbformat
import pytest

from _venv import make_venv
from nbdocker import pipeline
from nbdocker.engine.docker import DockerEngine
from nbdocker.frontends.cli import main
from nbdocker.stages.image import requirements_txt

pytestmark = pytest.mark.engine

IDIOM = ("try:\n    from io import StringIO  # python3\nexcept ImportError:\n"
         "    from StringIO import StringIO  # python2\n")


def _version(python: Path, dist: str) -> str:
    return subprocess.run([str(python), "-c", f"import importlib.metadata as m; "
                           f"print(m.version({dist!r}))"],
                          capture_output=True, text=True, check=True).stdout.strip()


def _notebook(path: Path, *sources: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, str(path))
    return path


def _execute_here(path: Path, python: Path, monkeypatch: pytest.MonkeyPatch,
                  tmp_path: Path) -> None:
    """Run the notebook on this machine with a kernel of ``python``: its saved outputs."""
    from nbclient import NotebookClient

    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, str(path))


def _verify(notebook: Path, python: Path, base_image: str, capsys: Any,
            *extra: str) -> Dict[str, Any]:
    code = main(["verify", str(notebook), "--json", "--python", str(python),
                 "--base-image", base_image, *extra])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 0 and report["reproduced"] is True, f"exit {code}\n{out}\n{err[-3000:]}"
    return report


def _outputs(nb: Any, index: int) -> str:
    texts: List[str] = []
    for output in nb.cells[index].get("outputs", []):
        texts.append(output.get("text", "") or json.dumps(output.get("data", {})))
    return "".join(texts)


def _in_image(engine: DockerEngine, image: str, command: Sequence[str]) -> List[str]:
    result = engine.run(image, list(command))
    assert result.exit_code == 0, result.logs
    return list(result.logs)


@pytest.fixture(scope="module")
def science(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scipy, pyarrow and graphviz (the Python package) on top of the suite's pandas."""
    return make_venv(tmp_path_factory.mktemp("science") / "venv", "scipy", "pyarrow", "graphviz",
                     with_suite=True, timeout=1200)


@pytest.fixture()
def cleanup(engine: DockerEngine) -> Iterator[List[str]]:
    tags: List[str] = []
    yield tags
    for tag in tags:
        engine.remove_image(tag)


def test_graphviz_by_apt_with_apt_txt_and_the_apt_option(
        science: Path, engine: DockerEngine, base_image: str, tmp_path: Path, capsys: Any,
        cleanup: List[str]) -> None:
    folder = tmp_path / "graphs"
    folder.mkdir()
    (folder / ".here").write_text("")
    # units and sponge (moreutils) are programs nbdocker knows no package for: only
    # apt.txt and --apt can bring them
    (folder / "apt.txt").write_text("# repo2docker's format\nunits\n")
    notebook = _notebook(folder / "graphs.ipynb",
                         "!dot -V",
                         "import graphviz\ngraphviz.Source('digraph { a -> b }')",
                         "!units --version | head -1",
                         "!echo sponged | sponge /tmp/s && cat /tmp/s")
    spec = pipeline.capture(notebook, python=str(science), apt=("moreutils",))
    packages = {p.name: p.reasons for p in spec.apt_packages}
    assert set(packages) == {"graphviz", "units", "moreutils"}
    assert packages["graphviz"][0] == "!dot -V (cell 0)"
    assert "import graphviz (cell 1) needs Graphviz's dot" in packages["graphviz"]
    assert packages["units"] == ("apt.txt line 2",)
    assert packages["moreutils"] == ("--apt moreutils",)

    # This machine has no dot: the notebook's outputs come from the image itself, then
    # a second run in a fresh container must give the same ones.
    ran = folder / "ran.ipynb"
    args = ["--python", str(science), "--base-image", base_image, "--apt", "moreutils"]
    code = main(["run", str(notebook), "--output", str(ran), *args])
    out, err = capsys.readouterr()
    assert code == 0 and out.strip() == str(ran), err[-3000:]
    executed = nbformat.read(str(ran), as_version=4)
    assert "dot - graphviz version" in _outputs(executed, 0)
    assert "image/svg+xml" in _outputs(executed, 1)  # rendered by dot, not a text repr
    assert "GNU Units" in _outputs(executed, 2)
    assert _outputs(executed, 3).strip() == "sponged"  # `!` lines run in a pty: \r\n
    report = _verify(ran, science, base_image, capsys, "--apt", "moreutils")
    assert {c["status"] for c in report["cells"]} == {"same"}
    cleanup.append(report["image"])
    cleanup.append(pipeline.plan(notebook, python=str(science), apt=("moreutils",),
                                 base_image=base_image).tag)


def test_hidden_backends_are_pinned_from_the_interpreter_and_reproduce(
        science: Path, engine: DockerEngine, base_image: str, tmp_path: Path, capsys: Any,
        monkeypatch: pytest.MonkeyPatch, cleanup: List[str]) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / ".here").write_text("")
    notebook = _notebook(folder / "frames.ipynb",
                         "%matplotlib inline\nimport pandas as pd\n"
                         "df = pd.DataFrame({'x': [1.0, 2.0, 2.5, 4.0, 4.5]})\n"
                         "df.to_parquet('t.parquet')\nprint(pd.read_parquet('t.parquet').x.sum())",
                         "ax = df.plot.density()\nprint(type(ax).__name__, ax.get_ylabel())")
    _execute_here(notebook, science, monkeypatch, tmp_path)
    spec = pipeline.capture(notebook, python=str(science))
    pyarrow, scipy = spec.requirement("pyarrow"), spec.requirement("scipy")
    assert pyarrow is not None and scipy is not None
    assert pyarrow.version == _version(science, "pyarrow") and pyarrow.direct
    assert scipy.version == _version(science, "scipy") and scipy.direct
    assert any("cell 0" in r and "needs a parquet engine" in r for r in pyarrow.reasons)
    assert scipy.reasons == ("df.plot.density in cell 1 needs scipy",)
    report = _verify(notebook, science, base_image, capsys)
    assert [c["status"] for c in report["cells"]] == ["same", "same"]
    cleanup.append(report["image"])
    assert _in_image(engine, report["image"], [
        "python", "-c", "import importlib.metadata as m; print(m.version('pyarrow'), "
                        "m.version('scipy'))"]) == [f"{pyarrow.version} {scipy.version}"]


def test_a_project_with_its_own_editable_package_reproduces(
        engine: DockerEngine, base_image: str, tmp_path: Path, capsys: Any,
        monkeypatch: pytest.MonkeyPatch, cleanup: List[str]) -> None:
    canary = f"canary-{os.getpid()}-{tmp_path.name}"
    root = tmp_path / "proj"
    (root / "src" / "micrograd").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        "[build-system]\nrequires = ['setuptools>=61']\nbuild-backend = 'setuptools.build_meta'\n"
        "[project]\nname = 'micrograd'\nversion = '0.0.1.dev0'\nreadme = 'README.md'\n"
        "dependencies = ['attrs']\n[tool.setuptools.packages.find]\nwhere = ['src']\n")
    (root / "README.md").write_text("Not PyPI's micrograd: this project's own.\n")
    (root / "src" / "micrograd" / "__init__.py").write_text(
        "from .engine import Value, describe\nWHO = \"this project's own micrograd\"\n")
    body = "".join("    " + line + "\n" for line in IDIOM.splitlines())
    (root / "src" / "micrograd" / "engine.py").write_text(
        "import attr\n\n\n@attr.s\nclass Value:\n    data = attr.ib()\n\n\n"
        "def describe(v):\n" + body + "    return StringIO(repr(v)).read()\n")
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("a,b\n1,2\n")
    (root / "notebooks" / "helpers").mkdir(parents=True)
    (root / "notebooks" / "helpers" / "setup.ipy").write_text(
        "import csv\nGREETING = 'set up by a helper in a sibling folder'\n")
    (root / ".env").write_text(f"API_TOKEN={canary}\n")
    python = make_venv(tmp_path / "venv", "-e", str(root), with_suite=True, timeout=1200)
    notebook = _notebook(root / "notebooks" / "a" / "nb.ipynb",
                         "import micrograd\nfrom importlib.metadata import version\n"
                         "print(micrograd.WHO, version('micrograd'))",
                         "print(micrograd.describe(micrograd.Value(3)))",
                         "print(open('../../data/x.csv').read())",
                         "%run ../helpers/setup.ipy\nprint(GREETING)",
                         IDIOM + "print(StringIO('no python 2 needed').read())",
                         "secret_path = '../../.env'")
    _execute_here(notebook, python, monkeypatch, tmp_path)
    original = nbformat.read(str(notebook), as_version=4)
    assert "this project's own micrograd 0.0.1.dev0" in _outputs(original, 0)

    spec = pipeline.capture(notebook, python=str(python))
    assert spec.notebook == "notebooks/a/nb.ipynb"
    micrograd = spec.requirement("micrograd")
    assert micrograd is not None and (micrograd.version, micrograd.local) == ("0.0.1.dev0", ".")
    assert spec.requirement("attrs") is not None  # its dependency, pinned from the venv
    assert "micrograd" not in requirements_txt(spec)
    assert spec.unresolved == ()
    shipped = {f.path: f.kind for f in spec.files}
    assert shipped["data/x.csv"] == "data" and shipped["notebooks/helpers/setup.ipy"] == "module"
    assert shipped["src/micrograd/engine.py"] == "package"
    assert ".env" not in shipped and any(".env: looks like a secret" in w for w in spec.warnings)

    report = _verify(notebook, python, base_image, capsys)
    assert {c["status"] for c in report["cells"]} == {"same"}
    image = report["image"]
    cleanup.append(image)
    # the project's code, installed from its source (PyPI's micrograd is 0.1.0)
    [line] = _in_image(engine, image, [
        "python", "-c", "import micrograd, importlib.metadata as m; "
                        "print(m.version('micrograd'), micrograd.WHO, micrograd.__file__)"])
    assert line.startswith("0.0.1.dev0 this project's own micrograd /opt/venv/lib/")
    assert line.endswith("/site-packages/micrograd/__init__.py")
    listing = _in_image(engine, image, ["sh", "-c", "cd /home/nbdocker/work && find . | sort"])
    assert "./notebooks/a/nb.ipynb" in listing and "./data/x.csv" in listing
    assert not any(".env" in line or "above" in line for line in listing)
    found = _in_image(engine, image, ["sh", "-c", f"grep -rl --exclude-dir=proc --exclude-dir=sys "
                                                  f"--exclude-dir=dev {canary} / 2>/dev/null || true"])
    assert found == []
