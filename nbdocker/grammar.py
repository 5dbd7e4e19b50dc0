"""What may appear in a spec, and how it is quoted where it is rendered.

A spec may come from someone else (a bundle's ``nbdocker-spec.json``), and its fields
end up in a Dockerfile, in ``requirements.txt``, on a shell line and on the runner's
command line. Two defences, both here so that there is one rule for each:

* **grammar** (:func:`check_word`, :func:`check_text`, :func:`check_relative_path`, ...,
  applied to every field whenever an :class:`~nbdocker.spec.EnvironmentSpec` is made or
  loaded; the spec walks its own fields): every field must match
  what it claims to be — a distribution name is a PEP 508 name, a version a version, a
  specifier a PEP 440 specifier set, an apt package a Debian package name, an
  environment variable a POSIX name, a file path a relative path inside the project
  root, a digest 64 hex digits — and no text field holds a control character (no
  newline can start a new Dockerfile instruction or requirements line). A violation is
  an :class:`~nbdocker.exceptions.InputError` naming the field (``requirements[2].name``).
* **quoting by construction** (:func:`dockerfile_string`, :func:`dockerfile_comment`,
  :func:`shell_words`): what the renderer interpolates is quoted for the place it goes,
  so a ``"``, ``$``, ``\\``, ``#`` or ``$(...)`` that the grammar allows stays literal.
"""
from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Any, Iterable, Sequence

from .exceptions import InputError

__all__ = ["check_word", "check_text", "check_texts", "check_list", "check_relative_path",
           "check_env_name", "check_apt_package", "check_specifier", "field_error",
           "dockerfile_string", "dockerfile_comment", "shell_words", "WORDS", "FILE_KINDS"]

FILE_KINDS = ("notebook", "module", "package", "data")
# C0 and C1 controls, DEL and the Unicode line/paragraph separators: anything that a
# parser, a terminal or str.splitlines() could take as the end of a line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MAX_TEXT = 4096
# PEP 508 names (case-insensitive), and the canonical form is a subset of them.
_DIST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?$")
# Exact versions as installed distributions report them: PEP 440 and legacy forms,
# but nothing a requirements line or a shell would treat specially.
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,127}$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Debian policy 5.6.1 (name, optionally :arch) and 5.6.12 (epoch:upstream-revision).
_APT_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?$")
_APT_VERSION = re.compile(r"^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*(?::[A-Za-z0-9.+~-]+)*$")
_DISTRIBUTION = re.compile(r"^[a-z0-9][a-z0-9._-]*(?::[a-z0-9._-]+)?$")  # debian:bookworm
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KERNEL_NAME = re.compile(r"^[A-Za-z0-9._-]+$")   # jupyter_client's kernelspec names
_PY_VERSION = re.compile(r"^[0-9]+(?:\.[0-9]+){0,2}[A-Za-z0-9.+]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def field_error(field: str, value: Any, what: str, *, show: bool = True) -> InputError:
    """The error for a spec field: ``spec field FIELD: VALUE is not WHAT``."""
    shown = repr(value) if show else "its value"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InputError(f"spec field {field}: {shown} is not {what}")


def check_text(value: Any, field: str, *, limit: int = _MAX_TEXT, show: bool = True) -> str:
    """``value`` when it is a string without control characters (at most ``limit``
    characters); :class:`InputError` naming ``field`` otherwise (``show=False`` keeps
    the value itself out of the message: it may be a secret)."""
    if not isinstance(value, str):
        raise field_error(field, value, "a string", show=show)
    if _CONTROL.search(value):
        raise field_error(field, value, "text without control characters (newlines, escapes)",
                    show=show)
    if len(value) > limit:
        raise field_error(field, value, f"at most {limit} characters long", show=show)
    return value


# The named word grammars of check_word: the pattern and what a match is.
_WORDS = {
    "distribution": (_DIST_NAME, "a distribution name (PEP 508)"),
    "version": (_VERSION, "a version (1.26.4)"),
    "module": (_MODULE, "a module name"),
    "python": (_PY_VERSION, "a Python version (3.11.7)"),
    "implementation": (_KERNEL_NAME, "an implementation name (CPython)"),
    "kernel": (_KERNEL_NAME, "a kernel name ([A-Za-z0-9._-]+)"),
    "release": (_DISTRIBUTION, "a release such as debian:bookworm"),
    "sha256": (_SHA256, "a sha256 (64 hex digits)"),
}
WORDS = tuple(_WORDS)


def check_word(value: Any, kind: str, field: str) -> str:
    """``value`` when it matches the grammar ``kind`` (one of :data:`WORDS`)."""
    pattern, what = _WORDS[kind]
    return _match(value, pattern, field, what)


def _match(value: Any, pattern: "re.Pattern[str]", field: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise field_error(field, value, what)
    return value


def check_relative_path(value: Any, field: str) -> str:
    """A relative POSIX path that stays inside its folder: no ``..``, no absolute path,
    no empty or ``.`` component, no backslash, no control character."""
    text = check_text(value, field, limit=1024)
    if "\\" in text:
        raise field_error(field, value, "a POSIX path (it holds a backslash; use / between folders)")
    parts = text.split("/")
    if not text or text.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InputError(f"spec field {field}: {value!r} is outside the project root "
                         "(or outside the bundle): only relative paths inside it are allowed")
    return str(PurePosixPath(text))


def check_apt_package(name: Any, version: Any, field: str) -> None:
    """A Debian package name (policy 5.6.1) and, unless None, a Debian version
    (5.6.12); :class:`InputError` naming ``field`` otherwise."""
    _match(name, _APT_NAME, f"{field}.name", "a Debian package name")
    if version is not None:
        _match(version, _APT_VERSION, f"{field}.version", "a Debian version")


def check_env_name(value: Any, field: str) -> str:
    """A POSIX environment variable name (``[A-Za-z_][A-Za-z0-9_]*``)."""
    return _match(value, _ENV_NAME, field, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")


def check_specifier(value: Any, field: str) -> str:
    """A PEP 440 version specifier set (``>=1.2,<2``)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = check_text(value, field, limit=512)
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        raise field_error(field, value, "a version specifier (PEP 440, e.g. >=1.2,<2)") from None
    return text


def check_list(values: Any, field: str) -> Sequence[Any]:
    """``values`` when it is a list (or tuple)."""
    if not isinstance(values, (tuple, list)):
        raise field_error(field, values, "a list")
    return values


def check_texts(values: Any, field: str) -> None:
    """A list of strings, each as :func:`check_text` wants it."""
    for i, text in enumerate(check_list(values, field)):
        check_text(text, f"{field}[{i}]")


# -- quoting ---------------------------------------------------------------------------

def dockerfile_string(value: str) -> str:
    """``value`` as one double-quoted Dockerfile word (ENV, LABEL): ``\\``, ``"`` and
    ``$`` escaped, so the builder neither ends the word nor expands a variable. A
    control character is refused: the builder has no escape that would restore it."""
    check_text(value, "Dockerfile value", limit=1 << 16, show=False)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def dockerfile_comment(text: str) -> str:
    """A ``# ...`` comment line that stays one line whatever ``text`` holds."""
    return "# " + _CONTROL.sub("?", text)


def shell_words(words: Iterable[str]) -> str:
    """``words`` joined for a POSIX shell line, each quoted (``shlex.quote``) so that
    none can end the command or substitute another."""
    return " ".join(shlex.quote(word) for word in words)

