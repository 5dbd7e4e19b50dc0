"""SIGTERM and SIGHUP handled like Ctrl-C: a cancelled CI job or a closed terminal
unwinds nbdocker the way an interrupt does, so every ``finally`` runs — the container
is stopped and removed, temporary files and folders are removed — and the process
exits ``128 + signal`` (143 for SIGTERM, 129 for SIGHUP; 130 for Ctrl-C).

:func:`handled` installs the handlers (the CLI wraps each command in it); the signal
arrives as :class:`Terminated`, a :class:`KeyboardInterrupt`, so code that already
cleans up on Ctrl-C cleans up on these too. Handlers can only be installed from the
main thread; elsewhere :func:`handled` does nothing.

:func:`deferred` closes the one window a handler cannot: between creating a resource
(a temp file, a container) and entering the ``try`` that cleans it up. A signal that
arrives inside the block is raised when the block ends, so the resource already has
its clean-up.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Any, Dict, Iterator, Optional

__all__ = ["Terminated", "handled", "deferred", "exit_code", "describe"]

_HANDLED = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                 if s is not None)
# Depth of nested deferred() blocks and the interrupt they hold back (main thread only).
_DEFER: Dict[str, Any] = {"depth": 0, "pending": None}


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM or SIGHUP (``signum``); unwinds like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def exit_code(exc: BaseException) -> int:
    """The exit code for an interrupt: ``128 + signum`` (130 for a plain Ctrl-C)."""
    return 128 + getattr(exc, "signum", signal.SIGINT)


def describe(exc: BaseException) -> str:
    """``"Ctrl-C"``, ``"SIGTERM"`` or ``"SIGHUP"``."""
    signum = getattr(exc, "signum", None)
    return signal.Signals(signum).name if signum is not None else "Ctrl-C"


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main
    thread; a second signal while the first one unwinds is ignored, so the clean-up
    it triggered is not cut short. The previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = {"fired": False}

    def _raise(signum: int, frame: Optional[FrameType]) -> Any:
        if signum == signal.SIGINT:
            _interrupt(KeyboardInterrupt())  # Ctrl-C keeps its meaning, only deferred
            return
        if state["fired"]:
            return  # already unwinding: let the clean-up finish
        state["fired"] = True
        _interrupt(Terminated(signum))

    previous: Dict[int, Any] = {}
    for signum in (*_HANDLED, signal.SIGINT):
        previous[signum] = signal.signal(signum, _raise)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupt(exc: BaseException) -> None:
    if _DEFER["depth"]:
        if _DEFER["pending"] is None:
            _DEFER["pending"] = exc
        return
    raise exc


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP (as handled by :func:`handled`) until the
    block ends, then raise the first one. Keep the block to creating a resource and
    recording it where the enclosing ``try`` will clean it up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _DEFER["depth"] += 1
    try:
        yield
    finally:
        _DEFER["depth"] -= 1
        pending = None if _DEFER["depth"] else _DEFER["pending"]
        if pending is not None:
            # Also when the block raised: the interrupt was asked for and wins (the
            # block's error stays attached as its context), and none is kept for later.
            _DEFER["pending"] = None
            raise pending
