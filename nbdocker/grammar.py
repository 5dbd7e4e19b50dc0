"""What may appear in a spec, and how it is quoted where it is rendered.

A spec may come from someone else (a bundle's ``nbdocker-spec.json``), and its fields
end up in a Dockerfile, in ``requirements.txt``, on a shell line and on the runner's
command line. Two defences, both here so that there is one rule for each:

* **grammar** (:func:`check_spec`, called whenever an
  :class:`~nbdocker.spec.EnvironmentSpec` is made or loaded): every field must match
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
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .exceptions import InputError

if TYPE_CHECKING:
    from .spec import EnvironmentSpec

__all__ = ["check_spec", "check_text", "check_relative_path", "check_env_name",
           "check_apt_package", "dockerfile_string", "dockerfile_comment", "shell_words",
           "FILE_KINDS"]

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


def _fail(field: str, value: Any, what: str, *, show: bool = True) -> InputError:
    shown = repr(value) if show else "its value"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InputError(f"spec field {field}: {shown} is not {what}")


def check_text(value: Any, field: str, *, limit: int = _MAX_TEXT, show: bool = True) -> str:
    """``value`` when it is a string without control characters (at most ``limit``
    characters); :class:`InputError` naming ``field`` otherwise (``show=False`` keeps
    the value itself out of the message: it may be a secret)."""
    if not isinstance(value, str):
        raise _fail(field, value, "a string", show=show)
    if _CONTROL.search(value):
        raise _fail(field, value, "text without control characters (newlines, escapes)",
                    show=show)
    if len(value) > limit:
        raise _fail(field, value, f"at most {limit} characters long", show=show)
    return value


def _match(value: Any, pattern: "re.Pattern[str]", field: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise _fail(field, value, what)
    return value


def check_relative_path(value: Any, field: str) -> str:
    """A relative POSIX path that stays inside its folder: no ``..``, no absolute path,
    no empty or ``.`` component, no backslash, no control character."""
    text = check_text(value, field, limit=1024)
    if "\\" in text:
        raise _fail(field, value, "a POSIX path (it holds a backslash; use / between folders)")
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


def _check_specifier(value: Any, field: str) -> str:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = check_text(value, field, limit=512)
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        raise _fail(field, value, "a version specifier (PEP 440, e.g. >=1.2,<2)") from None
    return text


def _strings(values: Any, field: str) -> Sequence[Any]:
    if not isinstance(values, (tuple, list)):
        raise _fail(field, values, "a list")
    return values


def check_spec(spec: "EnvironmentSpec") -> None:
    """Check every field of ``spec`` against its grammar (see the module docstring);
    :class:`InputError` names the first field that does not match."""
    check_relative_path(spec.notebook, "notebook")
    _match(spec.python.version, _PY_VERSION, "python.version", "a Python version (3.11.7)")
    _match(spec.python.implementation, _KERNEL_NAME, "python.implementation",
           "an implementation name (CPython)")
    check_text(spec.platform.system, "platform.system", limit=64)
    check_text(spec.platform.machine, "platform.machine", limit=64)
    _match(spec.platform.kernel_name, _KERNEL_NAME, "platform.kernel_name",
           "a kernel name ([A-Za-z0-9._-]+)")
    for i, req in enumerate(_strings(spec.requirements, "requirements")):
        at = f"requirements[{i}]"
        _match(req.name, _DIST_NAME, f"{at}.name", "a distribution name (PEP 508)")
        if req.version is not None:
            _match(req.version, _VERSION, f"{at}.version", "a version (1.26.4)")
        if req.specifier is not None:
            _check_specifier(req.specifier, f"{at}.specifier")
        _texts(req.reasons, f"{at}.reasons")
        for j, parent in enumerate(_strings(req.required_by, f"{at}.required_by")):
            _match(parent, _DIST_NAME, f"{at}.required_by[{j}]", "a distribution name")
        if req.local is not None and req.local != ".":  # "." is the project root itself
            check_relative_path(req.local, f"{at}.local")
    for i, unresolved in enumerate(_strings(spec.unresolved, "unresolved")):
        at = f"unresolved[{i}]"
        _match(unresolved.module, _MODULE, f"{at}.module", "a module name")
        if unresolved.pypi_name is not None:
            _match(unresolved.pypi_name, _DIST_NAME, f"{at}.pypi_name",
                   "a distribution name (PEP 508)")
        _texts(unresolved.reasons, f"{at}.reasons")
    for i, entry in enumerate(_strings(spec.files, "files")):
        at = f"files[{i}]"
        check_relative_path(entry.path, f"{at}.path")
        if entry.kind not in FILE_KINDS:
            raise _fail(f"{at}.kind", entry.kind, f"one of {', '.join(FILE_KINDS)}")
        if isinstance(entry.size, bool) or not isinstance(entry.size, int) or entry.size < 0:
            raise _fail(f"{at}.size", entry.size, "a size in bytes")
        _match(entry.sha256, _SHA256, f"{at}.sha256", "a sha256 (64 hex digits)")
    for i, package in enumerate(_strings(spec.apt_packages, "apt_packages")):
        at = f"apt_packages[{i}]"
        check_apt_package(package.name, package.version, at)
        if package.distribution is not None:
            _match(package.distribution, _DISTRIBUTION, f"{at}.distribution",
                   "a release such as debian:bookworm")
        _texts(package.reasons, f"{at}.reasons")
    for i, pair in enumerate(_strings(spec.env, "env")):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise _fail(f"env[{i}]", pair, "a [NAME, VALUE] pair")
        check_env_name(pair[0], f"env[{i}].name")
        check_text(pair[1], f"env[{i}].value", show=False)
    _texts(spec.warnings, "warnings")
    if spec.base_image is not None:
        from .engine.refs import check_reference

        check_reference(check_text(spec.base_image, "base_image", limit=512), "base_image",
                        digest=True)


def _texts(values: Any, field: str) -> None:
    for i, text in enumerate(_strings(values, field)):
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

