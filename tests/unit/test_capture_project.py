"""The project around the notebook (issue 12.2): root, relative paths, local packages,
what ships and what never does, the image layout and the notebook-only-edit property."""
from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path
from typing import Any, Dict

import nbformat
import pytest

from nbdocker.exceptions import InputError
from nbdocker.notebook_io import write_notebook_atomic
from nbdocker.stages.capture import capture_notebook, notebook as notebook_module
from nbdocker.stages.capture.interpreter import InterpreterInfo, query_interpreter
from nbdocker.stages.capture.project import find_root, project_dir
from nbdocker.stages.image import build_context, render, requirements_txt

BASE = "python:3.11-slim"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))


def _notebook(path: Path, *sources: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    write_notebook_atomic(nb, path)
    return path


def _project(root: Path) -> Path:
    """A project: pyproject.toml + src/ package, notebooks/a/nb.ipynb, data/, utils/."""
    (root / "src" / "mypkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'mypkg'\nversion = '0.3.0'\n")
    (root / "README.md").write_text("# mypkg\n")
    (root / "src" / "mypkg" / "__init__.py").write_text("import attr\nVERSION = '0.3.0'\n")
    (root / "src" / "mypkg" / "data.json").write_text("{}")
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("a,b\n1,2\n")
    (root / "utils").mkdir()
    (root / "utils" / "helper.ipy").write_text("import yaml\n!echo hi\n")
    (root / ".env").write_text("SECRET=canary\n")
    (root.parent / "outside.csv").write_text("not yours\n")
    return _notebook(root / "notebooks" / "a" / "nb.ipynb",
                     "import mypkg\nimport pandas as pd\ndf = pd.read_csv('../../data/x.csv')",
                     "%run ../../utils/helper.ipy",
                     "open('../../.env')\nopen('../../../outside.csv')")


def _with_local_dist(monkeypatch: pytest.MonkeyPatch, source: Path, name: str = "mypkg",
                     editable: bool = True) -> None:
    """The real interpreter's metadata, plus ``name`` installed from ``source``."""
    real = query_interpreter(sys.executable)
    dist: Dict[str, Any] = {"name": name, "version": "0.3.0", "requires": ["attrs"],
                            "direct_url": {"url": source.as_uri(), "editable": editable,
                                           "archive": False}}
    fake = InterpreterInfo(
        executable=real.executable, version=real.version, implementation=real.implementation,
        system=real.system, machine=real.machine, stdlib=real.stdlib,
        packages={**real.packages, name: (name,)},
        distributions={**real.distributions, name: dist}, marker_env=real.marker_env,
        sys_path=real.sys_path, site_dirs=real.site_dirs)
    monkeypatch.setattr(notebook_module, "query_interpreter", lambda python=None: fake)


def test_the_root_is_found_from_markers_or_given(tmp_path: Path) -> None:
    (tmp_path / "p" / "n" / "deep").mkdir(parents=True)
    nb = tmp_path / "p" / "n" / "deep" / "x.ipynb"
    assert find_root(nb) == (tmp_path / "p" / "n" / "deep").resolve()  # no marker: its folder
    for marker in (".git", "pyproject.toml", "setup.py", "setup.cfg", ".here"):
        (tmp_path / "p" / marker).write_text("")
        assert find_root(nb) == (tmp_path / "p").resolve()
        (tmp_path / "p" / marker).unlink()
    assert find_root(nb, str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(InputError, match="not a folder"):
        find_root(nb, str(tmp_path / "missing"))
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(InputError, match="does not contain the notebook"):
        find_root(nb, str(tmp_path / "elsewhere"))
    assert project_dir(Path("/b/notebook/notebooks/a/nb.ipynb"), "notebooks/a/nb.ipynb") == \
        Path("/b/notebook")
    assert project_dir(Path("/x/y/nb.ipynb"), "other/nb.ipynb") == Path("/x/y")


def test_a_project_ships_at_its_own_paths_and_never_above_the_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    nb = _project(root)
    _with_local_dist(monkeypatch, root)
    spec = capture_notebook(nb)
    assert spec.notebook == "notebooks/a/nb.ipynb"
    kinds = {f.path: f.kind for f in spec.files}
    assert kinds == {"notebooks/a/nb.ipynb": "notebook", "data/x.csv": "data",
                     "utils/helper.ipy": "module", "pyproject.toml": "package",
                     "README.md": "package", "src/mypkg/__init__.py": "package",
                     "src/mypkg/data.json": "package"}
    mypkg = spec.requirement("mypkg")
    assert mypkg is not None and (mypkg.version, mypkg.local) == ("0.3.0", ".")
    assert "installed from the project (., an editable install)" in mypkg.reasons
    # its dependencies are pinned like any other; what the %run script imports counts
    yaml = spec.requirement("pyyaml")
    assert spec.requirement("attrs") is not None and yaml is not None
    assert yaml.reasons == ("import yaml (utils/helper.ipy)",)
    assert any(".env: looks like a secret" in w for w in spec.warnings)
    assert any("../../../outside.csv: above the project root" in w and "--root DIR" in w
               for w in spec.warnings)
    assert not any("outside.csv" in f.path for f in spec.files)

    # the image: requirements.txt never names it; its source goes to the install step
    assert "mypkg" not in requirements_txt(spec)
    dockerfile = render(spec, base_image=BASE)
    assert "--no-deps /tmp/nbdocker-build/local" in dockerfile
    assert '"/opt/nbdocker/nbdocker_runner.py", "--", "notebooks/a/nb.ipynb"' in dockerfile
    names = _tar_names(build_context(spec, project_dir(nb, spec.notebook), base_image=BASE))
    assert {"notebook/notebooks/a/nb.ipynb", "notebook/data/x.csv", "notebook/utils/helper.ipy",
            "nbdocker-build/local/pyproject.toml",
            "nbdocker-build/local/src/mypkg/__init__.py"} <= names
    assert not any(".env" in n or "outside" in n for n in names)


def test_a_notebook_only_edit_changes_only_the_last_layers_input(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    nb = _project(root)
    _with_local_dist(monkeypatch, root)
    before = _tar_members(build_context(capture_notebook(nb), root, base_image=BASE))
    doc = nbformat.read(str(nb), as_version=4)
    doc.cells.append(nbformat.v4.new_code_cell("print('edited')"))
    write_notebook_atomic(doc, nb)
    after = _tar_members(build_context(capture_notebook(nb), root, base_image=BASE))
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    # the Dockerfile changes only in its LABEL/comment lines (spec hash), which come after
    # the notebook layer or add none
    assert changed == {"notebook/notebooks/a/nb.ipynb", "Dockerfile"}
    steps = [(a, b) for a, b in zip(before["Dockerfile"].decode().splitlines(),
                                    after["Dockerfile"].decode().splitlines()) if a != b]
    assert all(a.startswith(("# Spec", "LABEL", "      ")) for a, _ in steps), steps


def test_a_local_package_outside_the_root_is_never_fetched_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    nb = _project(root)
    (tmp_path / "elsewhere").mkdir()
    _with_local_dist(monkeypatch, tmp_path / "elsewhere")
    spec = capture_notebook(nb)
    assert spec.requirement("mypkg") is None
    assert any("mypkg is installed from an editable install outside the project root" in w
               and "never fetched from an index" in w for w in spec.warnings)


def test_packages_at_the_root_or_under_src_go_on_pythonpath(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "src" / "tools").mkdir(parents=True)
    (root / "setup.cfg").write_text("")
    (root / "src" / "tools" / "__init__.py").write_text("import attr\n")
    (root / "added" / "deep").mkdir(parents=True)
    (root / "added" / "deep" / "extra.py").write_text("")
    nb = _notebook(root / "nb" / "x.ipynb", "import tools",
                   "import sys\nsys.path.insert(0, '../added/deep')\nimport extra")
    spec = capture_notebook(nb, python=sys.executable)
    assert {"src/tools/__init__.py", "added/deep/extra.py"} <= {f.path for f in spec.files}
    assert dict(spec.env)["PYTHONPATH"] == "/home/nbdocker/work/src"
    assert spec.unresolved == ()
    assert spec.requirement("attrs") is not None
    assert any("tools is not beside the notebook but in src/" in w for w in spec.warnings)


def _tar_names(data: bytes) -> set:
    return set(_tar_members(data))


def _tar_members(data: bytes) -> Dict[str, bytes]:
    found: Dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                found[member.name] = extracted.read()
    return found


def test_capture_json_names_paths_from_the_root(tmp_path: Path, capsys: Any) -> None:
    from nbdocker.frontends.cli import main
    from nbdocker.spec import EnvironmentSpec

    (tmp_path / ".here").write_text("")
    nb = _notebook(tmp_path / "sub" / "nb.ipynb", "open('../top.txt')")
    (tmp_path / "top.txt").write_text("x")
    assert main(["capture", "--json", "--python", sys.executable, str(nb)]) == 0
    spec = EnvironmentSpec.from_json(capsys.readouterr().out)
    assert [f.path for f in spec.files] == ["sub/nb.ipynb", "top.txt"]
    assert main(["capture", "--json", "--root", str(tmp_path / "sub"), str(nb)]) == 0
    spec = EnvironmentSpec.from_json(capsys.readouterr().out)
    assert [f.path for f in spec.files] == ["nb.ipynb"]
    assert main(["capture", "--root", str(tmp_path / "nope"), str(nb)]) == 2
    assert "--root" in capsys.readouterr().err


@pytest.mark.parametrize("expression", [
    "'../src'", "os.path.abspath('../src')", "os.path.join(os.getcwd(), '..', 'src')",
    "str(Path.cwd().parent / 'src')", "Path(os.getcwd()).resolve().parent / 'src'",
])
def test_folders_the_notebook_puts_on_sys_path(tmp_path: Path, expression: str) -> None:
    root = tmp_path / "proj"
    (root / "src" / "features").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "src" / "features" / "__init__.py").write_text("import yaml\n")
    nb = _notebook(root / "notebooks" / "x.ipynb",
                   f"import os, sys\nfrom pathlib import Path\nsys.path.append({expression})",
                   "from features import build")
    spec = capture_notebook(nb, python=sys.executable)
    assert "src/features/__init__.py" in {f.path for f in spec.files}
    assert spec.requirement("pyyaml") is not None and spec.unresolved == ()
    assert "PYTHONPATH" not in dict(spec.env)  # the notebook puts it there itself


def test_a_setup_module_that_puts_the_root_on_sys_path(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "src" / "data").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "src" / "__init__.py").write_text("")
    (root / "src" / "data" / "__init__.py").write_text("import yaml\n")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "setup_path.py").write_text(
        "import sys, pathlib\n"
        "sys.path.append(str(pathlib.Path(__file__).resolve().parent.parent))\n")
    nb = _notebook(root / "notebooks" / "x.ipynb", "import setup_path",
                   "from src.data import load")
    spec = capture_notebook(nb, python=sys.executable)
    assert {"notebooks/setup_path.py", "src/__init__.py", "src/data/__init__.py"} <= \
        {f.path for f in spec.files}
    assert spec.unresolved == () and spec.requirement("pyyaml") is not None


def test_a_projects_bundle_rebuilds_from_its_own_layout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbdocker import pipeline
    from nbdocker.stages.share.bundle import load_bundle

    root = tmp_path / "proj"
    nb = _project(root)
    _with_local_dist(monkeypatch, root)
    out = pipeline.export(nb, tmp_path / "share", base_image=BASE)
    bundle = load_bundle(out)
    assert bundle.notebook == out / "notebook" / "notebooks" / "a" / "nb.ipynb"
    assert project_dir(bundle.notebook, bundle.spec.notebook) == out / "notebook"
    assert (out / "nbdocker-build" / "local" / "src" / "mypkg" / "__init__.py").is_file()
    # the bundle's own build context is the same as the project's
    assert build_context(bundle.spec, out / "notebook", base_image=BASE) == \
        build_context(bundle.spec, root, base_image=BASE)
