"""Requirements named by ``%pip install …`` / ``!pip install …`` / ``%%bash`` pip lines."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement

from .shell import commands

__all__ = ["PipInstall", "parse_pip_command", "find_pip_installs"]

# pip install options that take a value (the value is not a requirement).
_VALUE_OPTIONS = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root",
    "--upgrade-strategy", "--platform", "--python-version", "--implementation", "--abi",
    "--src", "--trusted-host", "--proxy", "--cert", "--client-cert", "--global-option",
    "-C", "--config-settings", "--progress-bar", "--log", "--timeout", "--retries",
    "--exists-action", "--no-binary", "--only-binary", "--report", "--python", "--root-user-action",
})
_NOT_FORWARDED = {"-r": "requirements file", "--requirement": "requirements file",
                  "-e": "editable install", "--editable": "editable install",
                  "-i": "index URL", "--index-url": "index URL",
                  "--extra-index-url": "index URL", "-f": "find-links", "--find-links": "find-links"}


@dataclass(frozen=True)
class PipInstall:
    """One ``pip install`` command: the parsed requirements and what was not captured."""

    requirements: Tuple[str, ...]
    ignored: Tuple[str, ...] = ()


def parse_pip_command(words: List[str]) -> Optional[PipInstall]:
    """``words`` after ``pip``; a :class:`PipInstall` when it is ``install``, else None."""
    if not words or words[0] != "install":
        return None
    reqs: List[str] = []
    ignored: List[str] = []
    i = 1
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            opt = word.split("=", 1)[0]
            if opt in _NOT_FORWARDED:
                value = word.split("=", 1)[1] if "=" in word else (words[i + 1] if i + 1 < len(words) else "")
                ignored.append(f"{_NOT_FORWARDED[opt]} {value}".strip())
            if opt in _VALUE_OPTIONS and "=" not in word:
                i += 1
            i += 1
            continue
        if "{" in word or "$" in word:  # templated by IPython at run time: not literal
            ignored.append(word)
        else:
            try:
                reqs.append(str(Requirement(word)))
            except InvalidRequirement:
                ignored.append(word)  # a URL, path or wheel file
            else:
                if "@" in word or "/" in word:  # direct reference: cannot pin from metadata
                    reqs.pop()
                    ignored.append(word)
        i += 1
    return PipInstall(tuple(reqs), tuple(ignored))


def _is_pip(words: List[str], i: int) -> int:
    """Length of a pip launcher starting at ``words[i]`` (``pip``, ``python -m pip``), or 0."""
    word = words[i].rsplit("/", 1)[-1]
    if word in ("pip", "pip3") or (word.startswith("pip3.") and word[5:].isdigit()):
        return 1
    if (word.startswith("python") or "executable" in word) and words[i + 1:i + 3] == ["-m", "pip"]:
        return 3
    return 0


def find_pip_installs(command: str) -> List[PipInstall]:
    """Every ``pip install`` in a shell command line (``&&``, ``;`` and ``|`` split it)."""
    if "pip" not in command:
        return []
    found: List[PipInstall] = []
    for words in commands(command):
        n = _is_pip(list(words), 0)
        if n:
            parsed = parse_pip_command(list(words[n:]))
            if parsed is not None:
                found.append(parsed)
    return found
