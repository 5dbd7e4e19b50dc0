"""`nbdocker capture` front end over capture_notebook: JSON on stdout, exit codes."""
from __future__ import annotations

from pathlib import Path

import pytest

from nbdocker.frontends.cli import main
from nbdocker.spec import EnvironmentSpec

FIXTURES = Path(__file__).resolve().parents[1] / "notebooks" / "capture"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBDOCKER_CACHE_DIR", str(tmp_path / "cache"))


def test_capture_json_is_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "--json", str(FIXTURES / "local_modules" / "notebook.ipynb")]) == 0
    spec = EnvironmentSpec.from_json(capsys.readouterr().out)
    assert "helper.py" in {f.path for f in spec.files}


@pytest.mark.parametrize("name", ["v3.ipynb", "not_json.ipynb", "r_kernel.ipynb", "missing.ipynb"])
def test_bad_notebook_exits_2_with_one_line(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "--json", str(FIXTURES / "malformed" / name)]) == 2
    err = capsys.readouterr()
    assert err.out == "" and "Traceback" not in err.err


def test_bad_python_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["capture", "--python", str(tmp_path / "nope"),
                 str(FIXTURES / "aliases" / "notebook.ipynb")])
    assert code == 2
    assert "not found" in capsys.readouterr().err
