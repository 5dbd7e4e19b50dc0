"""Reading an install step's output: why it failed, and which guesses could not be
installed. Pure functions of the output lines (no engine needed), shared by the
classic-builder stream parser and the install container of
:mod:`nbdocker.stages.image.build`."""
from __future__ import annotations

import re
from typing import List, Optional, Sequence

from .. import contract
from ..events import Event, Phase
from ..secrets import redact_text

__all__ = ["parse_pip_error", "parse_apt_error", "failure_reason", "guess_failure_reason",
           "GuessLog", "short"]

# pip's two messages for an unknown requirement, and its generic error prefix.
_PIP_NO_VERSION_RE = re.compile(
    r"ERROR: Could not find a version that satisfies the requirement (\S+)(?: \((.*)\))?")
_PIP_NO_MATCH_RE = re.compile(r"ERROR: No matching distribution found for (\S+)")
_PIP_ERROR_RE = re.compile(r"^ERROR: (.+)$")
# apt's messages for a package (or version) the base's package lists do not have.
_APT_NO_PACKAGE_RE = re.compile(r"^E: Unable to locate package (\S+)")
_APT_NO_VERSION_RE = re.compile(r"^E: Version '([^']+)' for '([^']+)' was not found")
_APT_NO_CANDIDATE_RE = re.compile(r"^E: Package '([^']+)' has no installation candidate")
# uv and pip, for a name the index does not have at all.
_NOT_ON_INDEX = ("not found in the package registry", "No matching distribution found",
                 "from versions: none")


def short(text: str, limit: int = 100) -> str:
    """``text`` cut to ``limit`` characters, with "..." when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_pip_error(lines: Sequence[str]) -> Optional[str]:
    """pip's reason for a failed install, from its output, or None.

    For an unknown pin: ``"pip could not install nonexistent-pkg==0.0.1: no matching
    distribution found (from versions: none)"``; for other failures pip's last
    ``ERROR:`` line, prefixed with ``"pip: "``.
    """
    requirement: Optional[str] = None
    detail: Optional[str] = None
    last_error: Optional[str] = None
    for line in lines:
        line = line.strip()
        m = _PIP_NO_VERSION_RE.search(line)
        if m:
            requirement, detail = m.group(1), m.group(2)
            continue
        m = _PIP_NO_MATCH_RE.search(line)
        if m:
            requirement = requirement or m.group(1)
            continue
        m = _PIP_ERROR_RE.match(line)
        if m:
            last_error = m.group(1)
    if requirement:
        reason = f"pip could not install {requirement}: no matching distribution found"
        return f"{reason} ({detail})" if detail else reason
    return f"pip: {last_error}" if last_error else None


def parse_apt_error(lines: Sequence[str]) -> Optional[str]:
    """apt's reason for a failed install, from its output, or None: ``"apt could not
    install graphviz-nope: unable to locate package"`` (also for an unknown version and
    a package without an installation candidate)."""
    for line in lines:
        line = line.strip()
        if m := _APT_NO_PACKAGE_RE.match(line):
            return f"apt could not install {m.group(1)}: unable to locate package"
        if m := _APT_NO_VERSION_RE.match(line):
            return f"apt could not install {m.group(2)}={m.group(1)}: version {m.group(1)} not found"
        if m := _APT_NO_CANDIDATE_RE.match(line):
            return f"apt could not install {m.group(1)}: no installation candidate"
    return None


def failure_reason(lines: Sequence[str], status: str) -> str:
    """Why a step failed: pip's or apt's reason when they said one, else ``status``
    (e.g. "exited with code 7") and the step's last output line."""
    reason = parse_pip_error(lines) or parse_apt_error(lines)
    if reason is None:
        output = [line for line in lines if line.strip()]
        reason = f"{status}; last output: {output[-1].strip()}" if output else status
    return reason


def guess_failure_reason(lines: Sequence[str]) -> str:
    """Why an unresolved guess could not be installed, from uv's or pip's output (uv
    wraps its messages, so lines are joined first)."""
    text = " ".join(" ".join(lines).split())
    if any(phrase in text for phrase in _NOT_ON_INDEX):
        return "not on the index"
    errors = [line.strip(" ×╰─▶") for line in lines
              if line.strip().startswith(("ERROR:", "error:", "×", "╰─▶"))]
    return f"could not be installed ({short(errors[-1], 120)})" if errors else \
        "could not be installed"


class GuessLog:
    """Follows the install step's guess markers (:data:`~nbdocker.contract.GUESS_BEGIN`,
    :data:`~nbdocker.contract.GUESS_FAILED`) through its output lines."""

    def __init__(self) -> None:
        self.warnings: List[str] = []
        self._since: List[str] = []       # output since the last guess began

    @staticmethod
    def is_marker(line: str) -> bool:
        """True for the marker lines themselves (not output worth showing)."""
        return line.startswith((contract.GUESS_BEGIN, contract.GUESS_FAILED))

    def feed(self, line: str) -> Optional[Event]:
        """Take one output line; a BUILD warning event when it says a guess failed:
        "guessed `foo` for `import foo` in cell 4: not on the index; the cell will fail
        if it runs" (``data``: ``guess``, ``reason``)."""
        if line.startswith(contract.GUESS_BEGIN):
            self._since = []
            return None
        if not line.startswith(contract.GUESS_FAILED):
            self._since.append(line)
            return None
        name, _, why = line[len(contract.GUESS_FAILED):].partition("\t")
        reason = guess_failure_reason(self._since)
        message = redact_text(f"guessed `{name}` for {why or '`import ' + name + '`'}: "
                              f"{reason}; the cell will fail if it runs")
        self.warnings.append(message)
        return Event(Phase.BUILD, "warning", message, data={"guess": name, "reason": reason})
