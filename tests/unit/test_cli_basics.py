"""CLI plumbing: usage errors exit 2 with one line, help teaches, no tracebacks."""
import subprocess
import sys

import pytest

from nbdocker.frontends.cli import main


def test_help_lists_commands_and_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for word in ("capture", "dockerfile", "build", "run", "verify", "exit codes"):
        assert word in out


def test_unknown_command_is_usage_error(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_run_needs_notebook_or_image(capsys):
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nbdocker: error: give a NOTEBOOK") and "Traceback" not in err


@pytest.mark.parametrize("command", ["capture", "dockerfile", "build", "verify"])
def test_missing_notebook_is_one_line_exit_2(tmp_path, command):
    missing = tmp_path / "nope.ipynb"
    proc = subprocess.run([sys.executable, "-m", "nbdocker", command, str(missing)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "nope.ipynb" in proc.stderr


def test_verify_passes_comparison_options_through(monkeypatch, tmp_path, capsys):
    from types import SimpleNamespace

    from nbdocker import pipeline

    seen = {}

    def fake_verify(notebook, options, **kwargs):
        seen.update(strict_images=options.strict_images,
                    ignore_warnings=options.ignore_warnings)
        report = SimpleNamespace(reproduced=False, to_json=lambda: '{"reproduced": false}\n')
        return SimpleNamespace(report=report, output=tmp_path / "out.ipynb")

    monkeypatch.setattr(pipeline, "verify", fake_verify)
    assert main(["verify", "nb.ipynb", "--strict-images", "--json"]) == 1
    assert seen["strict_images"] is True and seen["ignore_warnings"] is False
    assert main(["verify", "nb.ipynb", "--ignore-warnings", "--json"]) == 1
    assert seen["strict_images"] is False and seen["ignore_warnings"] is True
    assert capsys.readouterr().out == '{"reproduced": false}\n' * 2
