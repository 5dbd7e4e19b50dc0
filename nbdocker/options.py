"""Every option of every action, in one place: :class:`Options`.

Each field of :class:`Options` carries its command-line spelling, help text and the
commands it belongs to (:class:`Flag`, in the field's metadata). The CLI builds its
argparse parsers from these with :func:`add_arguments`, the ``%dockerize`` magic builds
its parser from the same table, and the panel edits an :class:`Options`; every
:mod:`nbdocker.pipeline` entry takes one. So an option added here reaches the CLI, the
magic and the panel at once, with the same name and default everywhere.

Values are checked when an :class:`Options` is made (:class:`InputError`, exit 2, one
line naming the option), so bad input is found before any long work starts.
"""
from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, Mapping, Optional, Sequence, Tuple

from .exceptions import InputError
from .stages.image.base import PLATFORMS, PULL_POLICIES
from .stages.run.backends import BACKENDS

__all__ = ["Options", "Flag", "COMMANDS", "add_arguments", "from_namespace", "flags_of",
           "NETWORKS", "BACKENDS", "PULL_POLICIES", "PLATFORMS", "parse_seconds",
           "parse_cpus", "parse_memory", "parse_count", "parse_tolerance", "MAX_RUNS"]

# The commands whose options live here (capture-only commands have no run options...).
COMMANDS: Tuple[str, ...] = ("capture", "dockerfile", "build", "run", "verify", "sweep",
                             "export", "push", "compare")
_CAPTURING = frozenset({"capture", "dockerfile", "build", "run", "verify", "sweep", "export",
                        "push"})
_IMAGING = frozenset({"dockerfile", "build", "run", "verify", "sweep", "export", "push"})
_BUILDING = frozenset({"build", "run", "verify", "sweep", "push"})
_RUNNING = frozenset({"run", "verify"})
_LIMITED = _RUNNING | {"sweep"}      # the run options every container of a sweep gets too
_VERIFYING = frozenset({"verify"})
_SWEEPING = frozenset({"sweep"})
_COMPARING = frozenset({"verify", "compare"})   # compare options: verify's and compare's
_PULLING = _BUILDING | {"export"}   # export pins the base by digest, pulling when missing
NETWORKS = ("none", "bridge", "host")
_MEMORY = re.compile(r"^[0-9]+(?:\.[0-9]+)?[bkmgBKMG]?$")
_MIN_MEMORY = 6 * 1024 * 1024
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_RUNS = 20   # each run is a whole execution of the notebook


def _bytes(size: str) -> float:
    """Bytes of a size in Docker's grammar (``512m``)."""
    unit = size[-1].lower() if size[-1].isalpha() else "b"
    number = float(size[:-1] if size[-1].isalpha() else size)
    return number * {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


@dataclass(frozen=True)
class Flag:
    """How one :class:`Options` field is spelled on a command line.

    ``action`` is argparse's (``store``, ``store_true``, ``append``); ``parse`` turns one
    command-line value into the field's type (and raises :class:`InputError`);
    ``commands`` are the CLI commands that take it (the magic takes those of build, run
    and verify); ``panel`` puts it in the panel's options form too."""

    flags: Tuple[str, ...]
    help: str
    commands: FrozenSet[str]
    metavar: Optional[str] = None
    action: str = "store"
    parse: Optional[Callable[[str], Any]] = None
    choices: Optional[Tuple[str, ...]] = None
    panel: bool = False   # also a field of the %dockerize --panel form


def _opt(default: Any, *flags: str, help: str, commands: FrozenSet[str], **kw: Any) -> Any:
    """A dataclass field with its :class:`Flag` in the metadata."""
    flag = Flag(tuple(flags), help, commands, **kw)
    return field(default=default, metadata={"flag": flag})


# -- value parsers (shared by the CLI, the magic and Options' own checks) ---------------

def _positive(text: Any, option: str, what: str, example: str) -> float:
    """A positive, finite number; :class:`InputError` naming ``option`` otherwise."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{option} must be a {what}, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{option} must be a positive, finite {what} (e.g. {example}), "
                         f"not {text!r}")
    return value


def parse_seconds(text: Any, option: str = "a duration") -> float:
    """A positive, finite number of seconds (``30``, ``1.5``); :class:`InputError` else."""
    return _positive(text, option, "number of seconds", "30")


def parse_cpus(text: Any, option: str = "--cpus") -> float:
    """A positive, finite CPU count (``0.5``, ``2``); 0 would mean "unlimited" to Docker."""
    return _positive(text, option, "number of CPUs", "1.5")


def parse_memory(text: Any, option: str = "--memory") -> str:
    """Docker's memory size grammar: a number and an optional unit b, k, m or g."""
    value = str(text).strip()
    if not _MEMORY.match(value) or float(re.sub(r"[a-zA-Z]$", "", value)) <= 0:
        raise InputError(f"{option} must be a size such as 512m or 2g, not {text!r}")
    return value.lower()


def parse_count(text: Any, option: str, upper: Optional[int] = None) -> int:
    """A whole number from 1 (to ``upper``): ``-j 4``, ``--seeds 10``, ``--runs 2``."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{option} must be a whole number, not {text!r}") from None
    if isinstance(text, bool) or not value.is_integer() or value < 1 \
            or (upper is not None and value > upper):
        limit = f"from 1 to {upper}" if upper is not None else "of at least 1"
        raise InputError(f"{option} must be a whole number {limit}, not {text!r}")
    return int(value)


def parse_tolerance(text: Any, option: str, upper: float = math.inf) -> float:
    """A finite number from 0 to ``upper`` (a tolerance)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{option} must be a number, not {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= upper:
        bound = f"from 0 to {upper:g}" if math.isfinite(upper) else "of 0 or more"
        raise InputError(f"{option} must be a finite number {bound}, not {text!r}")
    return value


def _parse_parameter_pair(pair: Sequence[str]) -> Tuple[str, Any]:
    from .stages.run.parameters import parse_parameter_pairs

    ((name, value),) = parse_parameter_pairs([pair]).items()
    return name, value


def _parse_values_pair(pair: Sequence[str]) -> Tuple[str, Tuple[Any, ...]]:
    from .stages.run.sweep_grid import parse_values_pair

    return parse_values_pair(pair)


@dataclass(frozen=True)
class Options:
    """What to do and how; see the module docstring. Frozen: :meth:`replace` for a copy.

    ``parameters`` is a mapping of papermill-style parameters (``-p NAME VALUE``,
    ``-y YAML``); the other fields are the CLI options of the same name.
    """

    # -- capture -------------------------------------------------------------------
    python: Optional[str] = _opt(
        None, "--python", metavar="PATH", commands=_CAPTURING,
        help="interpreter whose installed versions are pinned (default: the notebook's "
             "kernel, else this Python)")
    env: Tuple[str, ...] = _opt(
        (), "--env", metavar="NAME", action="append", commands=_CAPTURING,
        help="copy environment variable NAME into the image (opt-in; secret-looking names "
             "are refused); repeatable")
    exclude: Tuple[str, ...] = _opt(
        (), "--exclude", metavar="DIST", action="append", commands=_CAPTURING,
        help="leave this distribution (or unresolved module) out of the image, with what "
             "only it needed; repeatable")
    add: Tuple[str, ...] = _opt(
        (), "--add", metavar="REQ", action="append", commands=_CAPTURING,
        help="add a requirement (requests, or requests==2.31; without a version, the one "
             "installed here); repeatable")
    apt: Tuple[str, ...] = _opt(
        (), "--apt", metavar="PKG", action="append", commands=_CAPTURING,
        help="install this Debian package in the image (apt; PKG or PKG=VERSION); "
             "repeatable; apt.txt beside the notebook or at the project root works too")
    root: Optional[str] = _opt(
        None, "--root", metavar="DIR", commands=_CAPTURING,
        help="the project root: files and local code below it may ship, nothing above it "
             "does (default: the nearest folder above the notebook holding .git, "
             "pyproject.toml, setup.py, setup.cfg or .here, else the notebook's folder)")
    # -- image ---------------------------------------------------------------------
    base_image: Optional[str] = _opt(
        None, "--base-image", metavar="IMG", commands=_IMAGING, panel=True,
        help="base image (default: $NBDOCKER_BASE_IMAGE, else python:X.Y.Z-slim of the captured "
             "Python, python:X.Y-slim when that tag cannot be had; pinned by digest)")
    pull: Optional[str] = _opt(
        None, "--pull", choices=PULL_POLICIES, commands=_PULLING, panel=True,
        help="when to pull the base image: missing (default: when it is not on the "
             "engine), always, or never (local images only)")
    platform: Optional[str] = _opt(
        None, "--platform", choices=PLATFORMS, commands=_BUILDING, panel=True,
        help="build and run for this platform (default: the engine's own; another one is "
             "emulated)")
    tag: Optional[str] = _opt(
        None, "--tag", "-t", metavar="T", commands=_BUILDING, panel=True,
        help="image tag (default nbdocker/<notebook>:<spec hash>)")
    save: Optional[str] = _opt(
        None, "--save", metavar="FILE.tar", commands=frozenset({"build"}),
        help="also write the image as a `docker save` tarball (atomically)")
    push: Optional[str] = _opt(
        None, "--push", metavar="REGISTRY/REPO[:TAG]", commands=frozenset({"build"}),
        help="also push the image (tag defaults to the image's own); prints "
             "REGISTRY/REPO@sha256:... before the tag")
    # -- run -----------------------------------------------------------------------
    image: Optional[str] = _opt(
        None, "--image", metavar="IMG", commands=frozenset({"run", "sweep"}),
        help="run in this image instead of building one (without a notebook: the "
             "notebook baked into it)")
    image_tar: Optional[str] = _opt(
        None, "--image-tar", metavar="FILE.tar", commands=frozenset({"run"}),
        help="`docker load` this tarball first and run its image (the notebook baked into "
             "it, unless a notebook is given)")
    parameters: Mapping[str, Any] = field(default_factory=dict, metadata={"flag": Flag(
        ("-p", "--parameter"), "papermill-style parameter; VALUE is read as int, float, "
        "bool, None or else a string; repeatable", _RUNNING, metavar="NAME VALUE",
        action="append", parse=_parse_parameter_pair)})
    parameters_yaml: Optional[str] = _opt(
        None, "-y", "--parameters-yaml", metavar="YAML", commands=_RUNNING,
        help="parameters as a YAML (or JSON) mapping; -p wins on clashes")
    output: Optional[str] = _opt(
        None, "--output", "-o", metavar="OUT.ipynb", commands=_RUNNING,
        help="where the executed notebook goes (default: <notebook>.nbdocker.ipynb beside "
             "it; never the original)")
    timeout: Optional[float] = _opt(
        None, "--timeout", metavar="S", commands=_LIMITED, panel=True,
        parse=lambda text: parse_seconds(text, "--timeout"),
        help="stop the whole run after S seconds")
    cell_timeout: Optional[float] = _opt(
        None, "--cell-timeout", metavar="S", commands=_LIMITED, panel=True,
        parse=lambda text: parse_seconds(text, "--cell-timeout"),
        help="stop when one cell runs longer than S seconds")
    network: Optional[str] = _opt(
        None, "--network", choices=NETWORKS, commands=_LIMITED, panel=True,
        help="container network; 'none' cuts it off")
    memory: Optional[str] = _opt(
        None, "--memory", metavar="M", commands=_LIMITED, panel=True, parse=parse_memory,
        help="memory limit, e.g. 512m or 2g")
    cpus: Optional[float] = _opt(
        None, "--cpus", metavar="N", commands=_LIMITED, panel=True, parse=parse_cpus,
        help="CPU limit, e.g. 1.5")
    disk: Optional[str] = _opt(
        None, "--disk", metavar="SIZE", commands=_RUNNING, parse=lambda t: parse_memory(t, "--disk"),
        help="limit what the container may write, e.g. 2g (needs a storage driver with "
             "per-container quotas: overlay2 on xfs with pquota, btrfs, zfs; refused "
             "elsewhere before anything runs)")
    allow_errors: bool = _opt(
        False, "--allow-errors", action="store_true", commands=frozenset({"run"}), panel=True,
        help="keep going after a failing cell (exit 0 unless the run dies)")
    # -- share ---------------------------------------------------------------------
    force: bool = _opt(
        False, "--force", action="store_true", commands=frozenset({"export"}),
        help="export into a folder that holds other files too, replacing only nbdocker's "
             "own files there (never one of yours)")
    expect_digest: Optional[str] = _opt(
        None, "--expect-digest", metavar="sha256:HEX", commands=_CAPTURING,
        help="with a bundle: refuse it unless its digest (printed by `nbdocker export`) is "
             "this one")
    # -- sweep ---------------------------------------------------------------------
    sweep_parameters: Mapping[str, Tuple[Any, ...]] = field(
        default_factory=dict, metadata={"flag": Flag(
            ("-p", "--parameter"), "a parameter and the values to try, comma-separated "
            "(\\, is a literal comma), each typed like -p of run; repeatable: the sweep "
            "runs every combination", _SWEEPING, metavar="NAME V1,V2,...",
            action="append", parse=_parse_values_pair)})
    grid: Any = _opt(
        None, "--grid", metavar="FILE", commands=_SWEEPING,
        help="parameter sets from a .yaml or .json file: a list of NAME: VALUE mappings "
             "(run as given) or a mapping of NAME: [values] (every combination)")
    seeds: Optional[int] = _opt(
        None, "--seeds", metavar="N", commands=_SWEEPING,
        parse=lambda text: parse_count(text, "--seeds"),
        help="shorthand for a parameter `seed` taking 0, 1, ..., N-1")
    jobs: Optional[int] = _opt(
        None, "--jobs", "-j", metavar="N", commands=_SWEEPING,
        parse=lambda text: parse_count(text, "--jobs"),
        help="runs at once (default: the engine's CPU count; Swarm: the nodes' CPUs; "
             "Kubernetes: all, as the cluster schedules them)")
    out: Optional[str] = _opt(
        None, "--out", metavar="DIR", commands=_SWEEPING,
        help="results folder: executed notebooks, results.csv, results.json (default: "
             "<notebook>.sweep beside the notebook)")
    collect: Tuple[str, ...] = _opt(
        (), "--collect", metavar="NAME", action="append", commands=_SWEEPING,
        help="record this variable's value after each run (JSON where it can be, else "
             "its repr); repeatable")
    resume: bool = _opt(
        False, "--resume", action="store_true", commands=_SWEEPING,
        help="run only what is not yet complete in --out")
    backend: str = _opt(
        "local", "--backend", choices=BACKENDS, commands=_SWEEPING,
        help="where the runs go: this engine (default), a Docker Swarm replicated job, a "
             "Kubernetes Indexed Job")
    registry: Optional[str] = _opt(
        None, "--registry", metavar="HOST/REPO", commands=_SWEEPING,
        help="swarm, kubernetes: push the image here for the nodes to pull")
    emit: Optional[str] = _opt(
        None, "--emit", metavar="DIR", commands=_SWEEPING,
        help="write the Kubernetes manifests and a Slurm array script to DIR instead of "
             "running")
    # -- compare -------------------------------------------------------------------
    runs: Optional[int] = _opt(
        None, "--runs", metavar="N", commands=_VERIFYING, panel=True, parse=lambda text: parse_count(text, "--runs", MAX_RUNS),
        help="run the notebook N times, each in a fresh container; what differs between "
             "these runs is 'volatile', never 'same' (default 2; 1 skips the control run)")
    rtol: Optional[float] = _opt(
        None, "--rtol", metavar="R", commands=_COMPARING, panel=True,
        parse=lambda text: parse_tolerance(text, "--rtol"),
        help="relative tolerance for numbers in text outputs; within it a cell is 'close' "
             "(default 1e-06)")
    atol: Optional[float] = _opt(
        None, "--atol", metavar="A", commands=_COMPARING, panel=True,
        parse=lambda text: parse_tolerance(text, "--atol"),
        help="absolute tolerance for numbers in text outputs (default 1e-12)")
    image_tolerance: Optional[float] = _opt(
        None, "--image-tolerance", metavar="FRACTION", commands=_COMPARING, panel=True,
        parse=lambda text: parse_tolerance(text, "--image-tolerance", 1.0),
        help="share of an image's pixels that may differ for 'close', e.g. 0.001 "
             "(default 0: exact; pixel comparison needs nbdocker[images])")
    strict_images: bool = _opt(
        False, "--strict-images", action="store_true", commands=_COMPARING, panel=True,
        help="any image difference fails: 'close' images and images compared only by hash "
             "(without Pillow) count as differences")
    ignore_warnings: bool = _opt(
        False, "--ignore-warnings", action="store_true", commands=_COMPARING, panel=True,
        help="leave Python warnings on stderr (deprecations, platform notices) out of the "
             "comparison")
    sanitize: Optional[str] = _opt(
        None, "--sanitize", metavar="FILE", commands=_COMPARING,
        help="nbval sanitize file ([section] regex: ... replace: ...), applied to the "
             "outputs of both sides")
    nbval_lax: bool = _opt(
        False, "--nbval-lax", action="store_true", commands=_COMPARING,
        help="as nbval --nbval-lax: compare outputs only of cells marked NBVAL_CHECK_OUTPUT "
             "(the others must still not raise)")
    html: Optional[str] = _opt(
        None, "--html", metavar="FILE", commands=_COMPARING,
        help="also write the report as one self-contained HTML page (side-by-side outputs)")
    junit_xml: Optional[str] = _opt(
        None, "--junit-xml", metavar="FILE", commands=_COMPARING,
        help="also write the report as JUnit XML (one test case per cell) for CI")

    def __post_init__(self) -> None:
        # Checked here, once, for every front end (and for Options made in code).
        check = object.__setattr__
        for name in ("env", "exclude", "add", "apt"):
            check(self, name, tuple(getattr(self, name)))
        if self.apt:
            from .stages.capture.system import apt_option_packages

            apt_option_packages(self.apt)  # InputError for a name apt would not take
        if self.root is not None:
            import os

            if not os.path.isdir(os.path.expanduser(self.root)):
                raise InputError(f"--root {self.root}: not a folder")
        if self.timeout is not None:
            check(self, "timeout", parse_seconds(self.timeout, "--timeout"))
        if self.cell_timeout is not None:
            check(self, "cell_timeout", parse_seconds(self.cell_timeout, "--cell-timeout"))
        if self.cpus is not None:
            check(self, "cpus", parse_cpus(self.cpus))
        if self.memory is not None:
            check(self, "memory", parse_memory(self.memory))
            if _bytes(self.memory) < _MIN_MEMORY:
                raise InputError(f"--memory must be at least 6m (Docker's minimum), "
                                 f"not {self.memory!r}")
        if self.disk is not None:
            check(self, "disk", parse_memory(self.disk, "--disk"))
        if self.expect_digest is not None and not _DIGEST.match(str(self.expect_digest)):
            raise InputError("--expect-digest must be sha256: and 64 hex digits (as "
                             f"`nbdocker export` prints it), not {self.expect_digest!r}")
        for name in self.env:
            if not _ENV_NAME.match(name):
                raise InputError(f"--env takes a variable name ([A-Za-z_][A-Za-z0-9_]*), "
                                 f"not {name!r}")
        for name, allowed in (("network", NETWORKS), ("pull", PULL_POLICIES),
                              ("platform", PLATFORMS)):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise InputError(f"--{name} must be one of {', '.join(allowed)}, not {value!r}")
        if self.runs is not None:
            check(self, "runs", parse_count(self.runs, "--runs", MAX_RUNS))
        for name, upper in (("rtol", math.inf), ("atol", math.inf), ("image_tolerance", 1.0)):
            if getattr(self, name) is not None:
                flag = "--" + name.replace("_", "-")
                check(self, name, parse_tolerance(getattr(self, name), flag, upper))
        if self.sanitize is not None:
            from .stages.verify.markers import load_sanitize

            load_sanitize(self.sanitize)   # a bad file is a usage error, before any work
        if self.output is not None and not str(self.output).endswith(".ipynb"):
            raise InputError(f"--output must end in .ipynb: {self.output}")
        if self.tag is not None:
            from .engine.refs import check_reference

            check_reference(self.tag, "--tag")
        if self.push is not None:
            from .engine.refs import check_reference

            check_reference(self.push, "--push")
        from .stages.run.parameters import check_parameters, parse_yaml_parameters

        merged = parse_yaml_parameters(self.parameters_yaml) if self.parameters_yaml else {}
        merged.update(check_parameters(self.parameters))
        check(self, "parameters", merged)
        self._check_sweep()

    def _check_sweep(self) -> None:
        from .stages.run.parameters import check_parameters

        check = object.__setattr__
        values = {name: tuple(v) if isinstance(v, (list, tuple)) else (v,)
                  for name, v in dict(self.sweep_parameters).items()}
        for name, choices in values.items():
            check_parameters({name: list(choices)})
        check(self, "sweep_parameters", values)
        for name in ("seeds", "jobs"):
            if getattr(self, name) is not None:
                check(self, name, parse_count(getattr(self, name), f"--{name}"))
        check(self, "collect", tuple(self.collect))
        for name in self.collect:
            check_parameters({name: None})   # a variable name: an identifier
        if self.backend not in BACKENDS:
            raise InputError(f"--backend must be one of {', '.join(BACKENDS)}, "
                             f"not {self.backend!r}")
        if self.registry is not None:
            from .engine.refs import check_reference

            check_reference(self.registry, "--registry")
        if self.backend == "swarm" and not self.registry:
            raise InputError(
                "--backend swarm needs --registry HOST/REPO, a registry every swarm node "
                "can pull from (on one machine, a registry on 127.0.0.1 will do: "
                "`docker-registry serve CONFIG` or `docker run -d -p 127.0.0.1:5000:5000 "
                "registry:2`, then --registry 127.0.0.1:5000/NAME)")
        if (self.backend == "kubernetes" or self.emit is not None) and not (
                self.registry or self.image):
            raise InputError(f"{'--emit' if self.emit else '--backend kubernetes'} needs "
                             "--registry HOST/REPO (the image is pushed there for the "
                             "cluster's nodes) or --image REF they can pull")
        if self.emit is not None and self.backend == "swarm":
            raise InputError("--emit writes Kubernetes and Slurm files; it does not go with "
                             "--backend swarm")
        if self.emit is not None and self.resume:
            raise InputError("--emit runs nothing, so --resume has nothing to skip")

    def replace(self, **changes: Any) -> "Options":
        """A copy with some fields changed (checked like a new one)."""
        return replace(self, **changes)


# -- command lines --------------------------------------------------------------------

def flags_of(command: str) -> Iterator[Tuple[str, Flag]]:
    """``(field name, Flag)`` of every option ``command`` takes, in declaration order."""
    for f in fields(Options):
        flag = f.metadata.get("flag")
        if flag is not None and command in flag.commands:
            yield f.name, flag


def add_arguments(parser: argparse.ArgumentParser, commands: Iterable[str]) -> None:
    """Add to ``parser`` every option any of ``commands`` takes (once each)."""
    wanted = set(commands)
    taken: set = set()
    for f in fields(Options):
        flag = f.metadata.get("flag")
        if flag is None or not wanted & flag.commands:
            continue
        if taken & set(flag.flags):
            # Two commands spell different options alike (-p of run and of sweep): the
            # first field keeps the spelling; the caller maps it (see the magic).
            continue
        taken |= set(flag.flags)
        kwargs: Dict[str, Any] = {"dest": f.name, "help": flag.help, "action": flag.action}
        if flag.action == "store_true":
            kwargs["default"] = False
        else:
            kwargs["default"] = [] if flag.action == "append" else None
            if flag.choices:
                kwargs["choices"] = flag.choices
            elif flag.metavar and " " in flag.metavar:
                kwargs["nargs"] = len(flag.metavar.split())
                kwargs["metavar"] = tuple(flag.metavar.split())
            else:
                kwargs["metavar"] = flag.metavar
        parser.add_argument(*flag.flags, **kwargs)


def from_namespace(namespace: argparse.Namespace, **extra: Any) -> Options:
    """The :class:`Options` that parsed arguments hold (fields the parser did not have
    keep their defaults); ``extra`` sets more fields. Raises :class:`InputError`."""
    values: Dict[str, Any] = {}
    for f in fields(Options):
        flag = f.metadata.get("flag")
        if flag is None or not hasattr(namespace, f.name):
            continue
        raw = getattr(namespace, f.name)
        if raw is None or raw == [] or raw is False:
            continue
        if flag.parse is not None:
            raw = ([flag.parse(v) for v in raw] if isinstance(raw, list) else flag.parse(raw))
        if f.name in ("parameters", "sweep_parameters"):
            values[f.name] = dict(raw)   # later -p wins, as in papermill
        elif isinstance(raw, list):
            values[f.name] = tuple(raw)
        else:
            values[f.name] = raw
    values.update(extra)
    return Options(**values)
