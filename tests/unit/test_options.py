"""One option table for every front end: the CLI, %dockerize and the panel agree."""
from __future__ import annotations

import math
from dataclasses import fields
from typing import Dict, Set

import pytest

from nbdocker.exceptions import InputError
from nbdocker.frontends.cli import build_parser
from nbdocker.options import COMMANDS, Options

# CLI-only by nature: where output goes on a terminal, and what names the input (the
# magic's notebook is the running one, or --notebook PATH, which takes bundles too).
CLI_ONLY = {"json", "quiet", "verbose", "all", "help", "bundle", "to", "version"}


def _cli_options(command: str) -> Dict[str, str]:
    """dest -> first flag of every optional argument of `nbdocker COMMAND`."""
    sub = next(a for a in build_parser()._subparsers._group_actions)  # type: ignore[union-attr]
    parser = sub.choices[command]
    return {a.dest: a.option_strings[0] for a in parser._actions if a.option_strings}


def _magic_options() -> Dict[str, str]:
    pytest.importorskip("IPython")
    from nbdocker.frontends.magics import dockerize_parser

    return {a.dest: a.option_strings[0] for a in dockerize_parser()._actions if a.option_strings}


@pytest.mark.parametrize("command", ["build", "run", "verify"])
def test_the_magic_accepts_every_option_of_build_run_and_verify(command: str) -> None:
    cli = {d: f for d, f in _cli_options(command).items() if d not in CLI_ONLY}
    magic = _magic_options()
    missing = {f for d, f in cli.items() if d not in magic}
    assert not missing, f"%dockerize lacks {sorted(missing)} of `nbdocker {command}`"
    # same names (the first flag) and the same defaults, from the same table
    assert {d: magic[d] for d in cli} == cli
    defaults = Options()
    for dest in cli:
        assert getattr(defaults, dest) in (None, False, (), {}), dest


def test_every_option_field_reaches_some_command() -> None:
    reached: Set[str] = set()
    for command in COMMANDS:
        reached |= set(_cli_options(command))
    assert {f.name for f in fields(Options)} <= reached


@pytest.mark.parametrize("changes, message", [
    ({"timeout": float("inf")}, "--timeout must be a positive, finite"),
    ({"timeout": -5}, "--timeout must be a positive, finite"),
    ({"cell_timeout": math.nan}, "--cell-timeout must be a positive, finite"),
    ({"cell_timeout": "soon"}, "--cell-timeout must be a number of seconds"),
    ({"cpus": 0}, "--cpus must be a positive, finite number of CPUs"),
    ({"cpus": -1}, "--cpus must be a positive, finite number of CPUs"),
    ({"memory": "abc"}, "--memory must be a size"),
    ({"memory": "0m"}, "--memory must be a size"),
    ({"network": "wifi"}, "--network must be one of"),
    ({"tag": "Bad Tag"}, "--tag: not a valid image reference"),
    ({"tag": "x\nFROM evil"}, "--tag: not a valid image reference"),
    ({"push": "host/repo:bad tag"}, "--push: not a valid image reference"),
    ({"output": "out.txt"}, "--output must end in .ipynb"),
    ({"parameters": {"not a name": 1}}, "not a valid Python identifier"),
])
def test_bad_values_are_usage_errors(changes: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        Options(**changes)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("argv, message", [
    (["run", "nb.ipynb", "--timeout", "inf"], "--timeout must be a positive, finite"),
    (["run", "nb.ipynb", "--cell-timeout", "nan"], "--cell-timeout must be a positive, finite"),
    (["run", "nb.ipynb", "--cpus", "0"], "--cpus must be a positive, finite number of CPUs"),
    (["verify", "nb.ipynb", "--memory", "abc"], "--memory must be a size"),
    (["build", "nb.ipynb", "--tag", "UPPER:1"], "--tag: not a valid image reference"),
])
def test_cli_rejects_bad_values_before_any_work(argv: list, message: str,
                                                capsys: pytest.CaptureFixture) -> None:
    from nbdocker.frontends.cli import main

    assert main(argv) == 2  # nb.ipynb does not even exist: the option is checked first
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_values_are_normalised() -> None:
    options = Options(timeout="30", cpus="1.5", memory="512M", env=["A"],
                      parameters_yaml="alpha: 0.5\nn: 3", parameters={"n": 4})
    assert options.timeout == 30.0 and options.cpus == 1.5 and options.memory == "512m"
    assert options.env == ("A",)
    assert options.parameters == {"alpha": 0.5, "n": 4}  # -p wins over -y
    assert options.replace(tag="me/nb:1").tag == "me/nb:1"


def test_magic_option_errors_are_one_line(capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbdocker")
    try:
        assert ip.run_line_magic("dockerize", "--dry-run --cpus 0 --notebook x.ipynb") is None
        assert ip.run_line_magic("dockerize", "--frobnicate") is None
    finally:
        ip.run_line_magic("unload_ext", "nbdocker")
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "nbdocker: error: --cpus must be a positive, finite number of CPUs (e.g. 1.5), not '0'"
    assert err[1].startswith("nbdocker: error: %dockerize: unrecognized arguments: --frobnicate")
