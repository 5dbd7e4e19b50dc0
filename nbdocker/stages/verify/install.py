"""What an install command printed, reduced to what it installed.

``%pip install pandas`` prints "Collecting ...", "Downloading ...", "Looking in links:
...", progress bars and the environment's paths on the author's machine, and "Requirement
already satisfied: pandas in /opt/venv/... (2.2.0)" in an image that already holds it.
Both mean the same thing: after the cell, pandas 2.2.0 is installed. So in a cell that
runs an installer, pip's (and uv's) chatter is dropped and one line names what is
installed, ``installed: numpy 1.26.4, pandas 2.2.0`` (canonical names, sorted); other
lines (``ERROR: ...``, what the cell itself prints) are kept.
"""
from __future__ import annotations

import re
from typing import Dict, List

from packaging.utils import canonicalize_name

__all__ = ["is_install_cell", "summarise_install"]

_INSTALL = re.compile(
    r"^[ \t]{0,40}(?:[!%][ \t]{0,8}(?:pip3?|uv[ \t]{1,8}pip)[ \t]{1,8}install\b"
    r"|![ \t]{0,8}(?:\{sys\.executable\}|\S{0,200}python[\d.]{0,5})[ \t]{1,8}-m[ \t]{1,8}pip"
    r"[ \t]{1,8}install\b)", re.M)
_SATISFIED = re.compile(r"^Requirement already satisfied: ([A-Za-z0-9][\w.-]{0,200})"
                        r"[^\n]{0,4096}\(([^()\s]{1,64})\)[ \t]*$", re.M)
_INSTALLED = re.compile(r"^Successfully installed ([^\n]{1,100000})$", re.M)
_UV_ADDED = re.compile(r"^ \+ ([A-Za-z0-9][\w.-]{0,200})==([^\s]{1,64})$", re.M)
# Lines pip and uv print about their own work (indented continuation lines too).
_CHATTER = ("Collecting ", "Downloading ", "Using cached ", "Requirement already satisfied",
            "Installing collected packages", "Successfully installed", "Successfully "
            "uninstalled", "Looking in indexes", "Looking in links", "Obtaining ", "Processing ",
            "Preparing metadata", "Building wheel", "Created wheel", "Stored in directory",
            "Attempting uninstall", "Found existing installation", "Uninstalling ",
            "Getting requirements to build", "Installing build dependencies",
            "Installing backend dependencies", "Note: you may need to restart the kernel",
            "[notice]", "WARNING: ", "DEPRECATION: ", "Defaulting to user installation",
            "Resolved ", "Prepared ", "Installed ", "Audited ", "Uninstalled ", " + ", " - ",
            "Ignoring ", "Requirement ", "  ", "\t")


def is_install_cell(source: str) -> bool:
    """Whether ``source`` runs pip (``%pip install``, ``!pip install``,
    ``!{sys.executable} -m pip install``, ``!python -m pip install``, ``%uv pip install``)."""
    return "install" in source and _INSTALL.search(source) is not None


def summarise_install(text: str) -> str:
    """``text`` without installer chatter, plus one ``installed: NAME VERSION, ...`` line
    (at the first chatter line) when it named what is installed."""
    found: Dict[str, str] = {}
    for match in _SATISFIED.finditer(text):
        found[canonicalize_name(match.group(1))] = match.group(2)
    for match in _INSTALLED.finditer(text):
        for item in match.group(1).split():
            name, _, version = item.rpartition("-")
            if name:
                found[canonicalize_name(name)] = version
    for match in _UV_ADDED.finditer(text):
        found[canonicalize_name(match.group(1))] = match.group(2)
    kept: List[str] = []
    summary_at = None
    for line in text.split("\n"):
        if line.startswith(_CHATTER) or "━" in line or "█" in line:  # progress bars
            if summary_at is None:
                summary_at = len(kept)
            continue
        if line.strip():
            kept.append(line)
    if found:
        summary = "installed: " + ", ".join(f"{n} {v}" for n, v in sorted(found.items()))
        kept.insert(summary_at if summary_at is not None else len(kept), summary)
    return "\n".join(kept) + ("\n" if kept else "")
