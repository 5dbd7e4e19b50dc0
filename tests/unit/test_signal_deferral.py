"""nbdocker.signals: SIGTERM/SIGHUP/SIGINT unwind as interrupts, and a signal that
arrives while a resource is being created waits until its clean-up is recorded."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from nbdocker import _fs
from nbdocker.signals import Terminated, deferred, exit_code, handled


def _send(signum: int) -> None:
    os.kill(os.getpid(), signum)


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                         (signal.SIGINT, 130)])
def test_signal_inside_deferred_is_raised_when_the_block_ends(signum: int, code: int) -> None:
    reached = []
    with handled():
        with pytest.raises(KeyboardInterrupt) as caught:
            with deferred():
                _send(signum)
                for _ in range(1000):   # the handler has run by now: it must not raise here
                    pass
                reached.append("end of block")
    assert reached == ["end of block"]
    assert exit_code(caught.value) == code
    assert isinstance(caught.value, Terminated) == (signum != signal.SIGINT)


def test_nested_deferral_raises_once_at_the_outermost_end() -> None:
    order = []
    with handled():
        with pytest.raises(Terminated):
            with deferred():
                with deferred():
                    _send(signal.SIGTERM)
                order.append("inner ended")
            order.append("never")
    assert order == ["inner ended"]


def test_without_a_signal_deferred_is_transparent() -> None:
    with handled():
        with deferred():
            value = 1
    assert value == 1


def test_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with handled():
        pass
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_atomic_writer_leaves_nothing_when_a_signal_comes_as_the_temp_file_appears(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The exact window the SIGTERM-during---save test hit: the temp file exists, the
    # clean-up does not know it yet.
    real = _fs.tempfile.mkstemp

    def mkstemp_then_signal(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        made = real(*args, **kwargs)  # type: ignore[call-overload]
        _send(signal.SIGTERM)
        return made

    monkeypatch.setattr(_fs.tempfile, "mkstemp", mkstemp_then_signal)
    with handled():
        with pytest.raises(Terminated):
            with _fs.atomic_writer(tmp_path / "image.tar") as out:
                out.write(b"never")
    assert list(tmp_path.iterdir()) == []


def test_a_signal_held_while_the_block_fails_is_raised_then_and_not_kept() -> None:
    with handled():
        with pytest.raises(Terminated) as caught:
            with deferred():
                _send(signal.SIGTERM)
                raise OSError("disk full")
        assert isinstance(caught.value.__context__, OSError)
        with deferred():      # nothing left over for the next block
            value = 2
    assert value == 2
