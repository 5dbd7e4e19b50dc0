"""compare.py: the author's notebook folder, read from absolute paths in saved outputs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List

from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbdocker.stages.verify import compare_notebooks
from nbdocker.stages.verify.authordirs import infer_author_dirs
from nbdocker.stages.verify.normalise import Normaliser

RERUN = "/home/nbdocker/work"


def out(text: str) -> Any:
    return new_output("stream", name="stdout", text=text)


def nb(*texts: str) -> Any:
    return new_notebook(cells=[new_code_cell("x", outputs=[out(t)], execution_count=i + 1)
                               for i, t in enumerate(texts)])


def statuses(original: Any, rerun: Any, **kwargs: Any) -> List[str]:
    report = compare_notebooks(original, rerun, **kwargs)
    return [c.status for c in report.cells]


def test_author_dir_named_by_a_file_under_the_notebook_dir(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("x = 1\n")
    original = nb("Filename: /Users/ann/Dropbox/book/nb/helper.py\n\nLine 1\n")
    rerun = nb(f"Filename: {RERUN}/helper.py\n\nLine 1\n")
    # with no evidence (no file, no re-run path) the author's folder stays a difference
    assert statuses(original, nb("Filename: /opt/helper.py\n\nLine 1\n"),
                    original_dir=str(tmp_path / "empty")) == ["differs"]
    assert statuses(original, rerun, original_dir=str(tmp_path)) == ["same"]


def test_author_dir_named_by_a_file_the_rerun_wrote(tmp_path: Path) -> None:
    # %%writefile demo.py in the notebook: the file exists only in the container
    original = nb("Filename: /Users/ann/nb/demo.py\n")
    rerun = nb(f"Filename: {RERUN}/demo.py\n")
    assert statuses(original, rerun, original_dir=str(tmp_path)) == ["same"]


def test_genuine_differences_stay_visible(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    original = nb("/Users/ann/nb/a.py: 3 lines\n")
    assert statuses(original, nb(f"{RERUN}/a.py: 4 lines\n"),
                    original_dir=str(tmp_path)) == ["differs"]
    # another file than the one the author's output named
    assert statuses(original, nb(f"{RERUN}/b.py: 3 lines\n"),
                    original_dir=str(tmp_path)) == ["differs"]


def test_shipped_files_and_their_folders_are_evidence() -> None:
    found = infer_author_dirs([[out("read /srv/ann/nb/data/x.csv\n")],
                               [out("ls /srv/ann/nb/data\n")]],
                              known=["data/x.csv"])
    assert found == ["/srv/ann/nb"]


def test_windows_author_dir_plain_and_in_a_repr() -> None:
    outputs = [[out("C:\\Users\\ann\\nb\\data\\x.csv\n")],
               [new_output("execute_result", execution_count=2,
                           data={"text/plain": "'C:\\\\Users\\\\ann\\\\nb\\\\data\\\\x.csv'"})]]
    found = infer_author_dirs(outputs, known=["data/x.csv"])
    assert sorted(found) == ["C:\\Users\\ann\\nb", "C:\\\\Users\\\\ann\\\\nb"]
    dirs = found + [RERUN]
    assert Normaliser(dirs).text("C:\\Users\\ann\\nb\\data\\x.csv") == \
        Normaliser(dirs).text(f"{RERUN}/data/x.csv")


def test_longest_known_tail_decides_and_frequent_prefix_comes_first() -> None:
    outputs = [[out("/a/nb/pkg/mod.py /a/nb/pkg/mod.py /b/x/mod.py\n")]]
    # pkg/mod.py is known, so /a/nb (not /a/nb/pkg) is the folder
    assert infer_author_dirs(outputs, known=["pkg/mod.py", "mod.py"]) == ["/a/nb", "/b/x"]


def test_python_and_package_folders_are_never_the_notebook_dir() -> None:
    outputs = [[new_output("error", ename="E", evalue="",
                           traceback=["File /usr/lib/python3.11/helper.py:3",
                                      "File /Users/ann/env/lib/python3.9/site-packages/"
                                      "helper.py:9",
                                      "File /tmp/ipykernel_77/helper.py:1"])]]
    assert infer_author_dirs(outputs, known=["helper.py"]) == []


def test_roots_and_relative_paths_are_never_the_notebook_dir(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    outputs = [[out("/data ../data 'C:\\data' ~/data x/data\n")]]
    assert infer_author_dirs(outputs, notebook_dir=str(tmp_path)) == []
    assert infer_author_dirs([[out("/srv/nb/data\n")]], notebook_dir=str(tmp_path)) == \
        ["/srv/nb"]
