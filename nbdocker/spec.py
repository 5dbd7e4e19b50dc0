"""EnvironmentSpec: the frozen, serialisable "lock" of a notebook's environment.

The JSON form (``to_json``) is deterministic: keys sorted, lists sorted, so the same
capture gives byte-identical output and :meth:`EnvironmentSpec.content_hash` can name
images. ``from_json(spec.to_json()) == spec`` always holds.

Every spec is checked against :mod:`nbdocker.grammar` when it is made or loaded
(:class:`~nbdocker.exceptions.InputError` naming the field), because its fields reach a
Dockerfile, ``requirements.txt`` and shell lines, and a bundle's spec comes from
someone else.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from .exceptions import InputError
from . import grammar as g

__all__ = [
    "SCHEMA_VERSION",
    "PythonInfo",
    "PlatformInfo",
    "Requirement",
    "Unresolved",
    "SystemPackage",
    "FileEntry",
    "EnvironmentSpec",
    "SpecError",
]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PythonInfo:
    """The captured interpreter: full version (``3.11.7``) and implementation."""

    version: str
    implementation: str = "CPython"

    @property
    def major_minor(self) -> str:
        """``"3.11"`` for ``"3.11.7"``."""
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class PlatformInfo:
    """Where the notebook ran: OS (``linux``), machine (``x86_64``) and kernel name."""

    system: str = ""
    machine: str = ""
    kernel_name: str = "python3"


@dataclass(frozen=True)
class Requirement:
    """One Python distribution to install.

    ``name`` is canonical (PEP 503). ``version`` is the exact installed version, or None
    when the distribution was not installed in the target interpreter (then unpinned).
    ``specifier`` keeps what a ``%pip install`` line asked for (e.g. ``>=1.2``).
    ``direct`` is True for what the notebook itself needs, False for the locked
    transitive closure. ``reasons`` say why the notebook needs it ("import numpy
    (cell 3)", "%pip install requests (cell 1)"); ``required_by`` names the requirements
    that need it (canonical names; how the closure was locked). ``kernel`` marks what
    the runner's kernel stack needs (ipykernel, nbclient and their closure), pinned from
    the notebook's interpreter like everything else. ``local`` is the POSIX path, in the
    build context's project folder, of a distribution installed from local source (the
    project's own editable package): installed from there with ``--no-deps``, never
    fetched from an index by its name.
    """

    name: str
    version: Optional[str] = None
    direct: bool = True
    reasons: Tuple[str, ...] = ()
    specifier: Optional[str] = None
    optional: bool = False
    required_by: Tuple[str, ...] = ()
    kernel: bool = False
    local: Optional[str] = None

    @property
    def why(self) -> Tuple[str, ...]:
        """Why it is here, for people: the reasons, then "required by X" for each parent."""
        return self.reasons + tuple(f"required by {p}" for p in self.required_by)

    @property
    def pin(self) -> str:
        """The requirement line for pip: ``name==version``, ``name>=x`` or ``name``."""
        if self.version:
            return f"{self.name}=={self.version}"
        return f"{self.name}{self.specifier or ''}"


@dataclass(frozen=True)
class Unresolved:
    """An imported module that is neither stdlib, local, nor installed in the target.

    ``pypi_name`` is the best guess (pipreqs' mapping, else the module name) and is what
    gets installed, unpinned.
    """

    module: str
    reasons: Tuple[str, ...] = ()
    pypi_name: Optional[str] = None


@dataclass(frozen=True)
class SystemPackage:
    """An OS package (Debian/Ubuntu apt) the notebook needs: ``name``, the ``version``
    to pin (None: unpinned) and ``reasons`` ("!dot -Tpng (cell 4)"). ``distribution``
    says which release the version is for (``debian:bookworm``, from the capturing
    machine's ``/etc/os-release``): a pin is only meaningful on a base of that release."""

    name: str
    version: Optional[str] = None
    reasons: Tuple[str, ...] = ()
    distribution: Optional[str] = None

    @property
    def pin(self) -> str:
        """apt's form: ``graphviz=2.42.2-7+b3`` or ``graphviz``."""
        return f"{self.name}={self.version}" if self.version else self.name


@dataclass(frozen=True)
class FileEntry:
    """A file shipped with the notebook, relative to the project root (POSIX): the
    nearest folder above the notebook holding ``.git``, ``pyproject.toml``, ``setup.py``,
    ``setup.cfg`` or ``.here`` (or ``--root``), else the notebook's own folder.

    ``kind`` is ``"notebook"`` (the notebook itself), ``"module"`` (local code: a
    ``.py`` file, a package file, a ``%run`` target), ``"package"`` (the source of a
    distribution installed from the project, see :attr:`Requirement.local`: its build
    files and package folders) or ``"data"``.
    """

    path: str
    kind: str
    size: int
    sha256: str


@dataclass(frozen=True)
class EnvironmentSpec:
    """Everything needed to rebuild a notebook's environment. Frozen; see module doc.

    ``notebook`` is the notebook's POSIX path relative to the project root (its
    :class:`FileEntry` path; ``notebooks/a/nb.ipynb``, or just ``nb.ipynb``): the
    files ship at their paths below the image's work directory, and the notebook runs
    in its own folder there. ``unresolved`` are honest guesses only (imports installed
    nowhere, with no better name than a guess); ``apt_packages`` are OS packages.
    ``base_image`` is set in a bundle's spec only: the base its image was built on,
    pinned by digest (``python:3.11.7-slim@sha256:…``), so that a rebuild elsewhere
    starts from the same bytes and the bundle digest covers the choice. A capture leaves
    it None (the base is chosen at build time), and then it is not part of the JSON.
    """

    notebook: str
    python: PythonInfo
    platform: PlatformInfo = field(default_factory=PlatformInfo)
    requirements: Tuple[Requirement, ...] = ()
    unresolved: Tuple[Unresolved, ...] = ()
    files: Tuple[FileEntry, ...] = ()
    apt_packages: Tuple[SystemPackage, ...] = ()
    env: Tuple[Tuple[str, str], ...] = ()
    warnings: Tuple[str, ...] = ()
    base_image: Optional[str] = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        # Normalise order here so every constructor gives the same JSON.
        object.__setattr__(self, "requirements", tuple(sorted(self.requirements, key=lambda r: r.name)))
        object.__setattr__(self, "unresolved", tuple(sorted(self.unresolved, key=lambda u: u.module)))
        object.__setattr__(self, "files", tuple(sorted(self.files, key=lambda f: f.path)))
        object.__setattr__(self, "apt_packages", tuple(sorted(
            {p.name: p for p in self.apt_packages}.values(), key=lambda p: p.name)))
        object.__setattr__(self, "env", tuple(sorted(tuple(pair) for pair in self.env)))
        _check_fields(self)

    # -- views ---------------------------------------------------------------
    @property
    def direct_requirements(self) -> Tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.direct)

    @property
    def notebook_stem(self) -> str:
        name = self.notebook.rsplit("/", 1)[-1]
        return name[:-6] if name.endswith(".ipynb") else name

    def requirement(self, name: str) -> Optional[Requirement]:
        """The requirement with canonical ``name``, or None."""
        for req in self.requirements:
            if req.name == name:
                return req
        return None

    def with_changes(self, **changes: Any) -> "EnvironmentSpec":
        """A copy with some fields replaced (the spec itself is frozen)."""
        return replace(self, **changes)

    # -- serialisation ---------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists); no ``base_image`` key when None."""
        plain: Dict[str, Any] = _to_plain(self)
        if plain["base_image"] is None:
            del plain["base_image"]
        return plain

    def to_json(self, indent: Optional[int] = 2) -> str:
        """Deterministic JSON: sorted keys, sorted lists, trailing newline."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EnvironmentSpec":
        """Inverse of :meth:`to_dict`. :class:`~nbdocker.exceptions.InputError` (a
        ``ValueError`` too, for older callers) on an unknown schema version, a missing
        or unknown field, a value of the wrong type or one that breaks its grammar."""
        if not isinstance(data, Mapping):
            raise SpecError("an EnvironmentSpec must be a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise SpecError(f"unsupported EnvironmentSpec schema_version {version!r} "
                            f"(this nbdocker reads {SCHEMA_VERSION})")
        _known(data, cls, "spec")
        if "notebook" not in data or "python" not in data:
            raise SpecError("spec: 'notebook' and 'python' are required")
        return cls(
            notebook=data["notebook"],
            python=_record(PythonInfo, data["python"], "python"),
            platform=_record(PlatformInfo, data.get("platform", {}), "platform"),
            requirements=tuple(_record(Requirement, r, f"requirements[{i}]")
                               for i, r in enumerate(_list(data, "requirements"))),
            unresolved=tuple(_record(Unresolved, u, f"unresolved[{i}]")
                             for i, u in enumerate(_list(data, "unresolved"))),
            files=tuple(_record(FileEntry, f, f"files[{i}]")
                        for i, f in enumerate(_list(data, "files"))),
            apt_packages=tuple(  # schema 1 started with bare names
                SystemPackage(p) if isinstance(p, str)
                else _record(SystemPackage, p, f"apt_packages[{i}]")
                for i, p in enumerate(_list(data, "apt_packages"))),
            env=tuple(_pair(p, f"env[{i}]") for i, p in enumerate(_list(data, "env"))),
            warnings=tuple(_list(data, "warnings")),
            base_image=data.get("base_image"),
        )

    @classmethod
    def from_json(cls, text: str) -> "EnvironmentSpec":
        """Parse a spec (depth-bounded JSON, see :mod:`nbdocker._json`)."""
        from ._json import loads

        return cls.from_dict(loads(text, "the spec", error=SpecError))

    def content_hash(self) -> str:
        """sha256 hex of the compact canonical JSON; names the image (first 12)."""
        compact = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(compact.encode("utf-8")).hexdigest()


class SpecError(InputError, ValueError):
    """A spec that cannot be loaded: bad JSON shape, unknown field, bad value."""


def _known(data: Mapping[str, Any], cls: type, where: str) -> None:
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise SpecError(f"spec field {where}: unknown key(s) {', '.join(map(repr, unknown))}")


def _list(data: Mapping[str, Any], name: str) -> Sequence[Any]:
    value = data.get(name, ())
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"spec field {name}: {type(value).__name__} is not a list")
    return value


def _record(cls: Any, value: Any, where: str) -> Any:
    """``cls(**value)`` for a JSON object, its list fields made tuples."""
    if not isinstance(value, Mapping):
        raise SpecError(f"spec field {where}: {type(value).__name__} is not an object")
    _known(value, cls, where)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
    try:
        return cls(**kwargs)
    except TypeError:  # a required key missing
        missing = [f.name for f in fields(cls) if f.name not in value]
        raise SpecError(f"spec field {where}: missing {', '.join(missing)}") from None


def _pair(value: Any, where: str) -> Tuple[Any, Any]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise SpecError(f"spec field {where}: not a [NAME, VALUE] pair")
    return value[0], value[1]


def _to_plain(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [_to_plain(x) for x in obj]
    return obj


def _check_fields(spec: "EnvironmentSpec") -> None:
    """Check every field of ``spec`` against :mod:`nbdocker.grammar`;
    :class:`~nbdocker.exceptions.InputError` names the first field that does not match."""
    g.check_relative_path(spec.notebook, "notebook")
    g.check_word(spec.python.version, "python", "python.version")
    g.check_word(spec.python.implementation, "implementation", "python.implementation")
    g.check_text(spec.platform.system, "platform.system", limit=64)
    g.check_text(spec.platform.machine, "platform.machine", limit=64)
    g.check_word(spec.platform.kernel_name, "kernel", "platform.kernel_name")
    for i, req in enumerate(g.check_list(spec.requirements, "requirements")):
        at = f"requirements[{i}]"
        g.check_word(req.name, "distribution", f"{at}.name")
        if req.version is not None:
            g.check_word(req.version, "version", f"{at}.version")
        if req.specifier is not None:
            g.check_specifier(req.specifier, f"{at}.specifier")
        g.check_texts(req.reasons, f"{at}.reasons")
        for j, parent in enumerate(g.check_list(req.required_by, f"{at}.required_by")):
            g.check_word(parent, "distribution", f"{at}.required_by[{j}]")
        if req.local is not None and req.local != ".":  # "." is the project root itself
            g.check_relative_path(req.local, f"{at}.local")
    for i, unresolved in enumerate(g.check_list(spec.unresolved, "unresolved")):
        at = f"unresolved[{i}]"
        g.check_word(unresolved.module, "module", f"{at}.module")
        if unresolved.pypi_name is not None:
            g.check_word(unresolved.pypi_name, "distribution", f"{at}.pypi_name")
        g.check_texts(unresolved.reasons, f"{at}.reasons")
    for i, entry in enumerate(g.check_list(spec.files, "files")):
        at = f"files[{i}]"
        g.check_relative_path(entry.path, f"{at}.path")
        if entry.kind not in g.FILE_KINDS:
            raise g.field_error(f"{at}.kind", entry.kind, f"one of {', '.join(g.FILE_KINDS)}")
        if isinstance(entry.size, bool) or not isinstance(entry.size, int) or entry.size < 0:
            raise g.field_error(f"{at}.size", entry.size, "a size in bytes")
        g.check_word(entry.sha256, "sha256", f"{at}.sha256")
    for i, package in enumerate(g.check_list(spec.apt_packages, "apt_packages")):
        at = f"apt_packages[{i}]"
        g.check_apt_package(package.name, package.version, at)
        if package.distribution is not None:
            g.check_word(package.distribution, "release", f"{at}.distribution")
        g.check_texts(package.reasons, f"{at}.reasons")
    for i, pair in enumerate(g.check_list(spec.env, "env")):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise g.field_error(f"env[{i}]", pair, "a [NAME, VALUE] pair")
        g.check_env_name(pair[0], f"env[{i}].name")
        g.check_text(pair[1], f"env[{i}].value", show=False)
    g.check_texts(spec.warnings, "warnings")
    if spec.base_image is not None:
        from .engine.refs import check_reference

        check_reference(g.check_text(spec.base_image, "base_image", limit=512), "base_image",
                        digest=True)
