"""Masks only where the noise lives: a table of real differences of every kind that used
to be masked (each must be reported as differs) and a table of environment noise of
every kind (each must compare same). Both directions, at the level of the text and of
the reported cell status."""
from __future__ import annotations

from typing import Any, List, Optional

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbdocker.stages.verify import compare_notebooks
from nbdocker.stages.verify.normalise import Normaliser

_FRAME = """         date  price
0  {d1}   10.5
1  {d2}   11.0"""

_PRUN = """         {calls} function calls in {secs} seconds

   Ordered by: internal time

   ncalls  tottime  percall  cumtime  percall filename:lineno(function)
{rows}"""
_LPRUN = """Timer unit: {unit} s

Total time: {total} s
File: {file}
Function: f at line 1

Line #      Hits         Time  Per Hit   % Time  Line Contents
==============================================================
     1                                           def f(n):
     2         5 {t:>12} {p:>8} {pct:>8}      return [i for i in range(n)]"""

# Real differences: data, whatever it looks like.
DATA = [
    ("dates in a DataFrame", _FRAME.format(d1="2024-03-01", d2="2024-03-02"),
     _FRAME.format(d1="2024-03-01", d2="2024-04-02")),
    ("timestamps in a DataFrame", _FRAME.format(d1="2024-03-01 09:30:00", d2="2024-03-02"),
     _FRAME.format(d1="2024-03-01 17:45:00", d2="2024-03-02")),
    ("md5 digests", "md5 d41d8cd98f00b204e9800998ecf8427e",
     "md5 9e107d9d372bb6826bd81d3542a419d6"),
    ("sha256 digests", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"),
    ("times of day", "opens at 09:30:00", "opens at 17:45:00"),
    ("hex values", "mask 0x1234abcd", "mask 0xdeadbeef"),
    ("a hex address outside a repr", "pointer 0x7f3a2b1c4d50", "pointer 0x7ff00dd1e2a0"),
    ("epoch seconds", "t=1712345678.5", "t=1612345678.5"),
    ("UUIDs", "id 123e4567-e89b-12d3-a456-426614174000",
     "id 00000000-1111-2222-3333-444444444444"),
    ("ISO timestamps", "now: 2024-03-01T12:34:56+01:00", "now: 2026-01-01T00:00:00Z"),
    ("ctime strings", "Fri Mar  1 12:00:00 2024", "Sun Dec 21 23:59:59 2025"),
    ("datetime reprs", "datetime.datetime(2024, 3, 1, 12, 0)",
     "datetime.datetime(2025, 1, 1, 0, 0)"),
    ("a time in brackets", "[12:30] meeting", "[13:30] meeting"),
    ("a changed float", "value 0.5", "value 0.6"),
    ("a changed second digit", "loss 1.2345678", "loss 1.3345678"),
    ("a changed integer", "count: 12", "count: 13"),
    ("an integer within any tolerance", "id 1712345678", "id 1712345679"),
    ("a float for an integer", "n = 1", "n = 1.0"),
    ("a duration that is no timer's", "total 12 ms", "total 13 ms"),
    ("short hex literals", "0xff", "0xfe"),
    ("data paths", "/data/run1/x.csv", "/data/run2/x.csv"),
    ("named temp files", "wrote /tmp/out1.csv", "wrote /tmp/out2.csv"),
    ("a table of floats that is no profile",
     "0    1.000    2.000    3.000    4.000 a:1(b)", "0    1.000    2.000    3.000    5.000 a:1(b)"),
    ("profile call counts", _PRUN.format(calls=14, secs="1", rows=""),
     _PRUN.format(calls=15, secs="1", rows="")),
    ("line_profiler hits",
     _LPRUN.format(unit="1", total="1", file="x", t="1.0", p="1.0", pct="1.0"),
     _LPRUN.format(unit="1", total="1", file="x", t="1.0", p="1.0", pct="1.0").replace(
         "     2         5", "     2         6")),
    ("a pdb line number", "> /tmp/ipykernel_1/1.py(2)func1()", "> /tmp/ipykernel_1/1.py(3)func1()"),
    ("'Overwriting' in a sentence", "Overwriting is the mode", "Writing is the mode"),
    ("a rule outside a memory profile", "=" * 60, "=" * 61),
    ("a figure's axes count", "<Figure size 640x480 with 1 Axes>",
     "<Figure size 640x480 with 2 Axes>"),
    ("a figure's size", "<Figure size 640x480 with 1 Axes>", "<Figure size 432x288 with 1 Axes>"),
    ("an elapsed time in a sentence", "took 00:01<00:02 maybe", "took 00:03<00:04 maybe"),
    ("a tqdm postfix", "100%|█| 10/10 [00:01<00:00,  9.52it/s, loss=0.5]",
     "100%|█| 10/10 [00:03<00:00,  3.01it/s, loss=0.7]"),
]

# Environment noise: what two runs of the same notebook print differently.
NOISE = [
    ("an address in a repr", "<object object at 0x7f3a2b1c4d50>",
     "<object object at 0x7ff00dd1e2a0>"),
    ("an address in IPython's repr", "[<matplotlib.lines.Line2D at 0x7f1a2b3c>]",
     "[<matplotlib.lines.Line2D at 0x10a2b3c4d>]"),
    ("addresses in a weakref", "<weakref at 0x7f01; to 'A' at 0x7f02>",
     "<weakref at 0x1a01; to 'A' at 0x1a02>"),
    ("%time", "CPU times: user 1.2 ms, sys: 3 µs, total: 1.21 ms\nWall time: 1.2 ms\nx = 3",
     "CPU times: user 10 s, sys: 0 ns, total: 10 s\nWall time: 3.45 s\nx = 3"),
    ("%time's compile line", "Compiler : 120 ms\nWall time: 1 s", "Wall time: 2 s"),
    ("%timeit", "1.23 µs ± 45.6 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)",
     "2.5 ms ± 1 ms per loop (mean ± std. dev. of 7 runs, 100 loops each)"),
    ("old %timeit", "1000 loops, best of 3: 1.2 ms per loop",
     "The slowest run took 5.21 times longer than the fastest. This could mean that an "
     "intermediate result is being cached.\n100 loops, best of 3: 12 ms per loop"),
    ("tqdm", "100%|██████████| 10/10 [00:01<00:00,  9.52it/s]",
     "100%|██████████| 10/10 [00:03<00:00,  3.01it/s]"),
    ("tqdm with a postfix", "100%|█| 10/10 [00:01<00:00,  9.52it/s, loss=0.5]",
     "100%|█| 10/10 [00:03<00:00,  3.01it/s, loss=0.5]"),
    ("tqdm without a total", "20it [00:01, 19.52it/s]", "20it [00:02,  9.01it/s]"),
    ("keras", "1875/1875 [==============================] - 3s 2ms/step - loss: 0.29",
     "1875/1875 [==============================] - 5s 3ms/step - loss: 0.29"),
    ("keras 3", "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.87",
     "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 4s 2ms/step - accuracy: 0.87"),
    ("%prun", _PRUN.format(calls=14, secs="0.932", rows=(
        "        5    0.808    0.162    0.808    0.162 <ipython-input-7-f1057>:4(<listcomp>)\n"
        "        1    0.000    0.000    0.000    0.000 {built-in method builtins.exec}")),
     _PRUN.format(calls=14, secs="0.101", rows=(
         "        1    0.000    0.000    0.000    0.000 {built-in method builtins.exec}\n"
         "      3/1    0.090    0.018    0.090    0.018 1234.py:4(<listcomp>)\n"
         "        1    0.011    0.011    0.101    0.101 <string>:1(<module>)"))),
    ("%lprun", _LPRUN.format(unit="1e-06", total="0.014803", file="<ipython-input-7-f105717832a2>",
                             t="14242.0", p="2848.4", pct="96.2"),
     _LPRUN.format(unit="1e-09", total="0.00316", file="/tmp/ipykernel_1/2966738455.py",
                   t="3160000.0", p="632000.0", pct="100.0")),
    ("%memit", "peak memory: 141.70 MiB, increment: 75.65 MiB",
     "peak memory: 121.00 MiB, increment: -4.54 MiB"),
    ("%mprun", "Line #    Mem usage    Increment  Occurences   Line Contents\n" + "=" * 60 + "\n"
     "     4    105.9 MiB     30.8 MiB     5000015           L = [j for j in range(N)]",
     "Line #    Mem usage    Increment  Occurrences   Line Contents\n" + "=" * 61 + "\n"
     "     4     99.1 MiB     -2.0 MiB     5000015           L = [j for j in range(N)]"),
    ("%%writefile", "Overwriting mprun_demo.py", "Writing mprun_demo.py"),
    ("IPython's cell files", "> <ipython-input-1-d849e34d61fb>(2)func1()",
     "> /tmp/ipykernel_77/3071331547.py(2)func1()"),
    ("a warning from a cell on macOS", "<ipython-input-3-ab12cd>:2: UserWarning: x",
     "/var/folders/x1/T/ipykernel_9/123.py:2: UserWarning: x"),
    ("tempfile names", "wrote /tmp/tmpab12cd_x/out.csv", "wrote /tmp/tmpzz99yy00/out.csv"),
    ("the macOS temp folder", "cache in /var/folders/x1/abc123/T/cache.db", "cache in /tmp/cache.db"),
    ("the Windows temp folder", "C:\\Users\\ann\\AppData\\Local\\Temp\\data.bin", "/tmp/data.bin"),
    ("site-packages", "/home/alice/.venv/lib/python3.11/site-packages/pandas/core/frame.py:12: "
     "FutureWarning", "/opt/venv/lib/python3.11/site-packages/pandas/core/frame.py:12: "
     "FutureWarning"),
    ("Windows site-packages", "C:\\Anaconda\\Lib\\site-packages\\sklearn\\x.py",
     "/opt/venv/lib/python3.11/site-packages\\sklearn\\x.py"),
    ("the standard library", "/usr/lib/python3.11/json/__init__.py",
     "/home/ann/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py"),
    ("the interpreter", "'/home/ann/.venv/bin/python3'", "'/opt/venv/bin/python'"),
    ("the image's environment", "prefix /opt/venv", "prefix /opt/venv"),
    ("home folders", "config at /home/alice/.config/app", "config at /root/.config/app"),
    ("macOS home folders", "config at /Users/bob/.config/app", "config at /home/nbdocker/.config/app"),
    ("ANSI colours", "\x1b[0;31mred\x1b[0m", "red"),
    ("progress redrawn with \\r", "10%\r50%\r100%\n", "100%\n"),
    ("Windows line ends", "a\r\nb", "a\nb"),
]


def _out(text: str) -> Any:
    return new_output("stream", name="stdout", text=text)


def _status(a: str, b: str, **kwargs: Any) -> str:
    report = compare_notebooks(
        new_notebook(cells=[new_code_cell("x", outputs=[_out(a)], execution_count=1)]),
        new_notebook(cells=[new_code_cell("x", outputs=[_out(b)], execution_count=1)]), **kwargs)
    return report.cells[0].status.value


@pytest.mark.parametrize("kind, a, b", DATA, ids=[d[0] for d in DATA])
def test_real_differences_are_reported(kind: str, a: str, b: str) -> None:
    normalise = Normaliser().text
    assert normalise(a) != normalise(b), kind
    assert _status(a, b) == "differs", kind


@pytest.mark.parametrize("kind, a, b", NOISE, ids=[n[0] for n in NOISE])
def test_environment_noise_is_not(kind: str, a: str, b: str) -> None:
    normalise = Normaliser().text
    assert normalise(a) == normalise(b), kind
    assert _status(a, b) == "same", kind


def test_the_notebook_folder_is_the_same_folder_on_both_sides() -> None:
    a = Normaliser(["/srv/projects/demo"]).text("/srv/projects/demo/data.csv")
    b = Normaliser(["/home/nbdocker/work"]).text("/home/nbdocker/work/data.csv")
    assert a == b == "<NOTEBOOK_DIR>/data.csv"
    # a longer folder of the same prefix is another folder
    assert Normaliser(["/srv/nb"]).text("/srv/nb2/x") == "/srv/nb2/x"


def test_widget_model_ids_are_masked() -> None:
    def widget(model_id: str) -> Any:
        return new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json":
                {"model_id": model_id, "version_major": 2, "version_minor": 0}})

    def report(model_id: str, other: str, major: int = 2) -> str:
        old = widget(model_id)
        new = widget(other)
        new["data"]["application/vnd.jupyter.widget-view+json"]["version_major"] = major
        return compare_notebooks(
            new_notebook(cells=[new_code_cell("w", outputs=[old], execution_count=1)]),
            new_notebook(cells=[new_code_cell("w", outputs=[new], execution_count=1)])
        ).cells[0].status.value

    assert report("5f1c0e2a9b8d4c7e8f6a5b4c3d2e1f0a", "0a1b2c3d4e5f60718293a4b5c6d7e8f9") == "same"
    assert report("5f1c0e2a9b8d4c7e8f6a5b4c3d2e1f0a", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", 3) \
        == "differs"


def test_sanitize_rules_apply_to_both_sides_after_the_masks() -> None:
    import re

    rules = ((re.compile(r"\d{2}:\d{2}:\d{2}"), "HH:MM:SS"),)
    assert _status("opens at 09:30:00", "opens at 17:45:00", sanitize=rules) == "same"
    assert _status("opens at 09:30:00", "closes at 17:45:00", sanitize=rules) == "differs"


def _cell(source: str, outputs: List[Any], count: Optional[int] = 1) -> Any:
    return new_code_cell(source, outputs=outputs, execution_count=count)


def test_empty_cells_are_not_compared() -> None:
    # pydata-book's chapters end in an empty cell the author's run numbered; nbclient
    # skips empty cells, so the re-run leaves it unnumbered.
    original = new_notebook(cells=[_cell("print(1)", [_out("1\n")]), _cell("", [], 65),
                                   _cell("  \n", [], 66)])
    rerun = new_notebook(cells=[_cell("print(1)", [_out("1\n")]), _cell("", [], None),
                                _cell("  \n", [], None)])
    report = compare_notebooks(original, rerun)
    assert [c.index for c in report.cells] == [0] and report.reproduced


PIP_AUTHOR = """Looking in links: /home/ann/wheels
Collecting requests==2.31.0
  Downloading requests-2.31.0-py3-none-any.whl (62 kB)
     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 62.6/62.6 kB 2.1 MB/s eta 0:00:00
Requirement already satisfied: idna<4,>=2.5 in /home/ann/.venv/lib/python3.11/site-packages (from requests==2.31.0) (3.6)
Installing collected packages: requests
Successfully installed requests-2.31.0
Note: you may need to restart the kernel to use updated packages.
"""
PIP_IMAGE = """Requirement already satisfied: requests==2.31.0 in /opt/venv/lib/python3.11/site-packages (2.31.0)
Requirement already satisfied: idna<4,>=2.5 in /opt/venv/lib/python3.11/site-packages (from requests==2.31.0) (3.6)

[notice] A new release of pip is available: 23.3 -> 24.0
"""


@pytest.mark.parametrize("source", ["%pip install requests==2.31.0",
                                    "!pip install requests==2.31.0",
                                    "!{sys.executable} -m pip install requests==2.31.0"])
def test_install_cells_compare_what_they_installed(source: str) -> None:
    def run(text: str) -> Any:
        return new_notebook(cells=[_cell(source, [_out(text)])])

    assert compare_notebooks(run(PIP_AUTHOR), run(PIP_IMAGE)).cells[0].status == "same"
    other = PIP_IMAGE.replace("(2.31.0)", "(2.32.0)")
    report = compare_notebooks(run(PIP_AUTHOR), run(other))
    assert report.cells[0].status == "differs"
    assert "installed: idna 3.6, requests 2.31.0" in report.cells[0].diff
    assert "installed: idna 3.6, requests 2.32.0" in report.cells[0].diff
    failed = PIP_IMAGE + "ERROR: Could not find a version that satisfies the requirement\n"
    assert compare_notebooks(run(PIP_AUTHOR), run(failed)).cells[0].status == "differs"


def test_pip_chatter_outside_an_install_cell_is_output_like_any() -> None:
    def run(text: str) -> Any:
        return new_notebook(cells=[_cell("print(log)", [_out(text)])])

    assert compare_notebooks(run(PIP_AUTHOR), run(PIP_IMAGE)).cells[0].status == "differs"
