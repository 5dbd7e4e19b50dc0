"""Programs the notebook runs -> Debian packages (issue 12.1): detection, the host's dpkg or
the built-in table, apt.txt and --apt, names checked against Debian's grammar."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Sequence

import nbformat
import pytest

from nbdocker.exceptions import InputError
from nbdocker.notebook_io import write_notebook_atomic
from nbdocker.options import Options
from nbdocker.spec import EnvironmentSpec, PythonInfo, SystemPackage
from nbdocker.stages.capture import capture_notebook, system
from nbdocker.stages.capture.distributions import resolve
from nbdocker.stages.capture.edit import apply_changes
from nbdocker.stages.capture.imports import extract_imports
from nbdocker.stages.capture.interpreter import InterpreterInfo
from nbdocker.stages.capture.shell import executables
from nbdocker.stages.capture.summary import format_spec


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))


def _programs(*sources: str) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for rec in extract_imports(list(sources)):
        if rec.kind == "exec":
            found.setdefault(rec.module, []).append(rec.reason)
    return found


def test_shell_lines_name_their_programs() -> None:
    assert executables("FOO=1 sudo dot -Tpng g.dot > g.png && ffmpeg -i a.mp4 | tee log") == \
        ["dot", "ffmpeg", "tee"]
    assert executables("cd data; ./run.sh; echo $(pwd); {cmd} --x; $TOOL") == []
    assert executables("timeout 5 /usr/bin/convert a.png b.jpg") == ["convert"]
    assert executables("jupyter nbconvert --to html x.ipynb") == ["jupyter-nbconvert"]
    assert executables("unbalanced 'quote") == []


def test_every_way_a_notebook_runs_a_program() -> None:
    found = _programs(
        "!dot -V",
        "%%bash\nffmpeg -version\nls -l\n",
        "%sx pdftoppm -v\nfiles = !tesseract --list-langs",
        "%system gs --version",
        "import subprocess, os, shutil\nsubprocess.run(['pandoc', '--version'])\n"
        "subprocess.check_output('convert -version', shell=True)\nos.system('latex --version')\n"
        "os.popen('git status').read()\nshutil.which('R')",
        "%%script perl\nprint 1;\n",
        "!ls -la && pip install x",  # the base image has these
    )
    assert set(found) == {"dot", "ffmpeg", "pdftoppm", "tesseract", "gs", "pandoc", "convert",
                          "latex", "git", "R", "perl"}
    assert found["dot"] == ["!dot -V (cell 0)"]
    assert found["pandoc"] == ["subprocess.run(['pandoc', '--version']) (cell 4)"]
    assert found["R"] == ["shutil.which('R') (cell 4)"]


def _fake_host(monkeypatch: pytest.MonkeyPatch, which: Dict[str, str],
               owners: Dict[str, str], versions: Dict[str, str]) -> List[Sequence[str]]:
    calls: List[Sequence[str]] = []

    def run(argv: Sequence[str]) -> str:
        calls.append(argv)
        if argv[0] == "dpkg":
            return "".join(f"{owners[p]}: {p}\n" for p in argv[2:] if p in owners)
        return "".join(f"{n}\t{versions[n]}\n" for n in argv[4:] if n in versions)

    monkeypatch.setattr(system, "host_distribution", lambda: "debian:bookworm")
    monkeypatch.setattr(system, "_run", run)
    monkeypatch.setattr(system.shutil, "which", lambda name: which.get(name))
    return calls


def test_the_hosts_dpkg_names_and_pins_else_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_host(monkeypatch, {"dot": "/usr/bin/dot", "convert": "/usr/local/bin/convert"},
                       {"/usr/bin/dot": "graphviz"}, {"graphviz": "2.42.2-7+b3"})
    needs = system.resolve_programs({"dot": ["!dot -V (cell 1)"], "convert": ["!convert (cell 2)"],
                                     "mystery-tool": ["!mystery-tool (cell 3)"]})
    dot = needs.packages["graphviz"]
    assert (dot.version, dot.distribution, dot.reasons) == (
        "2.42.2-7+b3", "debian:bookworm", ("!dot -V (cell 1)",))
    # /usr/local is not dpkg's: the table names it, unpinned, and says so
    assert needs.packages["imagemagick"].version is None
    assert any("imagemagick" in w and "unpinned" in w for w in needs.warnings)
    assert any("mystery-tool" in w and "--apt PKG" in w for w in needs.warnings)
    # asked once: the answer is cached until dpkg's database changes
    before = len(calls)
    system.resolve_programs({"dot": ["!dot -V (cell 1)"]})
    assert len(calls) == before


def test_without_dpkg_the_table_names_packages_unpinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "host_distribution", lambda: None)
    needs = system.resolve_programs({"dot": ["!dot (cell 0)"], "tesseract": ["x (cell 1)"]},
                                    explicit_packages={"cm-super": ["usetex (cell 2)"]})
    assert sorted(needs.packages) == ["cm-super", "graphviz", "tesseract-ocr"]
    assert all(p.version is None for p in needs.packages.values())
    assert needs.packages["tesseract-ocr"].reasons == ("x (cell 1)",)


def test_libraries_that_drive_a_program(monkeypatch: pytest.MonkeyPatch) -> None:
    info = InterpreterInfo.from_probe({
        "executable": "/x/python", "version": "3.11.7", "implementation": "CPython",
        "system": "linux", "machine": "x86_64", "stdlib": ["os"],
        "packages": {"graphviz": ["graphviz"], "pytesseract": ["pytesseract"],
                     "matplotlib": ["matplotlib"], "cv2": ["opencv-python"],
                     "pypandoc": ["pypandoc-binary"]},
        "distributions": [{"name": n, "version": "1.0", "requires": []} for n in
                          ("graphviz", "pytesseract", "matplotlib", "opencv-python",
                           "pypandoc-binary")],
        "marker_env": {"python_full_version": "3.11.7", "sys_platform": "linux"}})
    out = resolve(extract_imports([
        "import graphviz\ngraphviz.Source('digraph{a->b}')",
        "import pytesseract, cv2, pypandoc",
        "import matplotlib.pyplot as plt\nplt.rc('text', usetex=True)\n"
        "anim.save('movie.mp4')\nanim.to_html5_video()",
    ]), info)
    assert sorted(out.programs) == ["dot", "dvipng", "ffmpeg", "latex", "tesseract"]
    assert out.programs["dot"] == ["import graphviz (cell 0) needs Graphviz's dot"]
    assert "cm-super" in out.apt and "libgl1" in out.apt  # usetex's fonts, opencv's libGL
    # pypandoc-binary ships pandoc itself: no system package for it
    assert "pandoc" not in out.programs


def test_console_scripts_are_python_requirements_not_apt() -> None:
    info = InterpreterInfo.from_probe({
        "executable": "/x/python", "version": "3.11.7", "implementation": "CPython",
        "system": "linux", "machine": "x86_64", "stdlib": ["os"], "packages": {},
        "distributions": [{"name": "kaggle", "version": "1.6.17", "requires": [],
                           "scripts": ["kaggle"]},
                          {"name": "nbconvert", "version": "7.16.0", "requires": [],
                           "scripts": ["jupyter-nbconvert"]}],
        "marker_env": {"python_full_version": "3.11.7"}})
    out = resolve(extract_imports(["!kaggle datasets download -d x/y",
                                   "!jupyter nbconvert --to html a.ipynb"]), info)
    assert {r.name: r.version for r in out.requirements} == {"kaggle": "1.6.17",
                                                             "nbconvert": "7.16.0"}
    assert out.programs == {}
    assert out.requirements[0].reasons == (
        "!kaggle datasets download -d x/y (cell 0) runs kaggle, a program of kaggle",)


def test_apt_txt_beside_the_notebook_and_at_the_root(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "host_distribution", lambda: None)
    (tmp_path / ".git").mkdir()
    (tmp_path / "apt.txt").write_text("# repo2docker's format\njq\n\ntree  # a comment\n")
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "apt.txt").write_text("figlet=2.2.5-3+b1\n")
    nb = tmp_path / "nb" / "x.ipynb"
    write_notebook_atomic(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("!dot -V")]), nb)
    spec = capture_notebook(nb, python=sys.executable)
    got = {p.name: (p.version, p.reasons) for p in spec.apt_packages}
    assert got == {"graphviz": (None, ("!dot -V (cell 0)",)), "jq": (None, ("apt.txt line 2",)),
                   "tree": (None, ("apt.txt line 4",)),
                   "figlet": ("2.2.5-3+b1", ("nb/apt.txt line 1",))}
    text = format_spec(spec)
    assert "system packages (apt):" in text and "!dot -V (cell 0)" in text
    (tmp_path / "apt.txt").write_text("jq; rm -rf /\n")
    with pytest.raises(InputError, match="not a Debian package name"):
        capture_notebook(nb, python=sys.executable)


def test_apt_option_is_checked_and_applied_idempotently() -> None:
    with pytest.raises(InputError, match="--apt Graphviz"):
        Options(apt=("Graphviz",))
    with pytest.raises(InputError, match="not a Debian package name"):
        Options(apt=("jq && curl evil",))
    spec = EnvironmentSpec("nb.ipynb", PythonInfo("3.11.7"),
                           apt_packages=(SystemPackage("graphviz", "2.42", ("!dot (cell 1)",),
                                                       "debian:bookworm"),))
    once = apply_changes(spec, apt=["jq", "graphviz"])
    assert apply_changes(once, apt=["jq", "graphviz"]) == once
    got = {p.name: (p.version, p.reasons) for p in once.apt_packages}
    assert got == {"graphviz": ("2.42", ("!dot (cell 1)", "--apt graphviz")),
                   "jq": (None, ("--apt jq",))}
    # a version the user writes wins over the detected one
    assert {p.name: p.version for p in apply_changes(spec, apt=["graphviz=2.43"]).apt_packages} \
        == {"graphviz": "2.43"}
    assert EnvironmentSpec.from_json(once.to_json()) == once


def test_a_helper_functions_program_counts_only_when_something_calls_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "host_distribution", lambda: None)
    (tmp_path / "helpers.py").write_text(
        "import matplotlib.pyplot as plt\nimport subprocess\n\n"
        "def fancy_plot():\n    plt.rc('text', usetex=True)\n\n"
        "def render(path):\n    subprocess.run(['dot', '-Tpng', path])\n\n"
        "__all__ = ['fancy_plot', 'render']\n")
    nb = tmp_path / "nb.ipynb"
    write_notebook_atomic(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import helpers\nhelpers.render('g.dot')")]), nb)
    spec = capture_notebook(nb, python=sys.executable)
    assert [p.name for p in spec.apt_packages] == ["graphviz"]
    assert any(w.startswith("helpers.py: fancy_plot() needs LaTeX and dvipng (plt.rc), but "
                            "nothing in the notebook calls it") for w in spec.warnings)
