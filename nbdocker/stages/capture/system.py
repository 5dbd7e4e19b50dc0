"""System (Debian/Ubuntu apt) packages: what the notebook runs, and what it asks for.

Sources, all recorded with why:

* **programs the code runs**: shell lines (``!dot -V``, ``%%bash``, ``%sx``), calls
  (``subprocess.run([...])``, ``os.system("…")``, ``shutil.which("x")``) and libraries
  known to drive one (:mod:`.hidden`: ``import graphviz`` → ``dot``, matplotlib's usetex
  → LaTeX). Skipped: what the base image has (:data:`BASE_EXECUTABLES`, a slim Debian
  with Python) and what a Python distribution installs (its console scripts: a
  requirement, pinned like any other, instead of a system package);
* **apt.txt** beside the notebook or at the project root (repo2docker's format: one
  package per line, ``#`` comments; also ``binder/apt.txt``, ``.binder/apt.txt``);
* ``--apt PKG`` (see :func:`apt_option_packages`).

Program → package: this machine's dpkg when it is Debian or Ubuntu and has the program
(``dpkg -S`` of its path; the version is pinned then, with the distribution it is for),
else :data:`PACKAGE_OF` (unpinned, and said so). Names and versions are checked against
Debian's grammar before they enter the spec.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..._fs import read_cache, write_cache
from ...exceptions import InputError
from ...grammar import check_apt_package
from ...spec import SystemPackage

__all__ = ["BASE_EXECUTABLES", "PACKAGE_OF", "APT_FILES", "check_package_name",
           "read_apt_file", "apt_option_packages", "SystemNeeds", "host_distribution",
           "resolve_programs"]

# Programs a slim Debian base with Python has (Essential/required packages: coreutils,
# bash, dash, findutils, grep, sed, gzip, tar, diffutils, util-linux, perl-base, mawk,
# debianutils, ncurses-bin, dpkg, apt, login, passwd; plus Python and pip).
BASE_EXECUTABLES = frozenset("""
    [ arch awk b2sum base32 base64 basename basenc bash cat chcon chgrp chmod chown
    chroot cksum clear cmp comm cp csplit cut dash date dd df diff diff3 dir dircolors
    dirname dpkg dpkg-query du echo egrep env expand expr factor false fgrep find fmt
    fold getent getopt grep groups gunzip gzip head hostid hostname iconv id infocmp
    install join ldd link ln locale logname ls lsblk mawk md5sum mkdir mkfifo mknod
    mktemp more mount mv nice nl nohup nproc numfmt od paste pathchk perl pinky pr
    printenv printf ptx pwd readlink realpath rm rmdir run-parts runcon sdiff sed seq
    setsid sh sha1sum sha224sum sha256sum sha384sum sha512sum shred shuf sleep sort
    split stat stdbuf stty su sum sync tac tail tar tee tempfile test tic timeout touch
    tput tr true truncate tset tsort tty umount uname unexpand uniq unlink users vdir
    wc which who whoami xargs yes zcat zcmp zdiff zegrep zfgrep zgrep zless zmore
    apt apt-get apt-cache useradd userdel usermod groupadd
    python python3 pip pip3 pydoc pydoc3
""".split())

# Program -> Debian package (bookworm names), for when this machine cannot tell.
PACKAGE_OF: Mapping[str, str] = {
    **{p: "graphviz" for p in ("dot", "neato", "circo", "fdp", "twopi", "sfdp", "osage",
                               "patchwork", "gvpr", "gvgen", "unflatten", "acyclic")},
    "ffmpeg": "ffmpeg", "ffprobe": "ffmpeg", "ffplay": "ffmpeg",
    "latex": "texlive-latex-base", "pdflatex": "texlive-latex-base",
    "tex": "texlive-binaries", "bibtex": "texlive-binaries", "dvisvgm": "texlive-binaries",
    "xelatex": "texlive-xetex", "lualatex": "texlive-luatex", "latexmk": "latexmk",
    "dvipng": "dvipng", "gs": "ghostscript", "ps2pdf": "ghostscript",
    **{p: "imagemagick" for p in ("convert", "identify", "mogrify", "montage", "composite",
                                  "magick", "compare", "animate")},
    "tesseract": "tesseract-ocr",
    **{p: "poppler-utils" for p in ("pdftoppm", "pdftotext", "pdfinfo", "pdfimages",
                                    "pdftocairo", "pdfunite", "pdfseparate")},
    "pandoc": "pandoc", "wkhtmltopdf": "wkhtmltopdf", "wkhtmltoimage": "wkhtmltopdf",
    "git": "git", "curl": "curl", "wget": "wget", "unzip": "unzip", "zip": "zip",
    "bzip2": "bzip2", "bunzip2": "bzip2", "xz": "xz-utils", "unxz": "xz-utils",
    "7z": "p7zip-full", "7za": "p7zip-full", "unrar": "unrar-free", "zstd": "zstd",
    "make": "make", "gcc": "gcc", "cc": "gcc", "g++": "g++", "c++": "g++",
    "gfortran": "gfortran", "cmake": "cmake", "swig": "swig", "pkg-config": "pkg-config",
    "R": "r-base-core", "Rscript": "r-base-core", "octave": "octave", "julia": "julia",
    "java": "default-jre-headless", "javac": "default-jdk-headless",
    "node": "nodejs", "nodejs": "nodejs", "npm": "npm", "ruby": "ruby",
    "gnuplot": "gnuplot-nox", "sqlite3": "sqlite3", "psql": "postgresql-client",
    "mysql": "default-mysql-client", "redis-cli": "redis-tools",
    "ssh": "openssh-client", "scp": "openssh-client", "rsync": "rsync", "jq": "jq",
    "tree": "tree", "file": "file", "less": "less", "ps": "procps", "top": "procps",
    "free": "procps", "kill": "procps", "pkill": "procps", "pgrep": "procps",
    "watch": "procps", "lsof": "lsof", "htop": "htop", "vim": "vim", "nano": "nano",
    "nc": "netcat-openbsd", "ping": "iputils-ping", "dig": "dnsutils", "host": "bind9-host",
    "ip": "iproute2", "ifconfig": "net-tools", "netstat": "net-tools",
    "sox": "sox", "lame": "lame", "espeak": "espeak", "espeak-ng": "espeak-ng",
    "inkscape": "inkscape", "optipng": "optipng", "pngquant": "pngquant",
    "mpirun": "openmpi-bin", "mpiexec": "openmpi-bin", "h5dump": "hdf5-tools",
    "h5ls": "hdf5-tools", "ncdump": "netcdf-bin", "gdalinfo": "gdal-bin",
    "ogr2ogr": "gdal-bin", "gdal_translate": "gdal-bin", "xvfb-run": "xvfb",
    "column": "bsdextrautils", "hexdump": "bsdextrautils", "bc": "bc", "dc": "dc",
    "time": "time", "parallel": "parallel", "cowsay": "cowsay", "figlet": "figlet",
    "fortune": "fortune-mod", "lsb_release": "lsb-release", "tmux": "tmux",
    "screen": "screen", "svn": "subversion", "hg": "mercurial", "gpg": "gnupg",
    "openssl": "openssl", "aria2c": "aria2", "exiftool": "libimage-exiftool-perl",
    "mediainfo": "mediainfo", "bedtools": "bedtools", "samtools": "samtools",
    "blastn": "ncbi-blast+", "muscle": "muscle", "clustalo": "clustalo",
    "mafft": "mafft", "bowtie2": "bowtie2", "bwa": "bwa", "gmsh": "gmsh",
    "glpsol": "glpk-utils", "cbc": "coinor-cbc", "lp_solve": "lp-solve",
    "povray": "povray", "blender": "blender", "youtube-dl": "youtube-dl",
    "yt-dlp": "yt-dlp", "chromium": "chromium", "chromedriver": "chromium-driver",
    "firefox": "firefox-esr", "geckodriver": "firefox-esr",
}
APT_FILES: Tuple[str, ...] = ("apt.txt", "binder/apt.txt", ".binder/apt.txt")
_OS_RELEASE = "/etc/os-release"
_DPKG_STATUS = "/var/lib/dpkg/status"
_DPKG_CACHE = "dpkg-programs.json"


def check_package_name(text: str, where: str) -> SystemPackage:
    """``name`` or ``name=version`` as a :class:`SystemPackage`, checked against Debian's
    grammar (:func:`nbdocker.grammar.check_apt_package`); :class:`InputError` (naming
    ``where``) otherwise."""
    name, _, version = text.strip().partition("=")
    try:
        check_apt_package(name, version or None, "package")
    except InputError:
        raise InputError(f"{where}: {text.strip()!r} is not a Debian package name "
                         "(lowercase letters, digits and + - .; optionally =VERSION)") from None
    return SystemPackage(name, version or None, (where,))


def _valid(name: str, version: str = "") -> bool:
    try:
        check_apt_package(name, version or None, "package")
    except InputError:
        return False
    return True


def read_apt_file(path: Path, shown: str) -> List[SystemPackage]:
    """The packages of an ``apt.txt`` (one per line, ``#`` comments, blank lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {shown}: {exc}") from None
    found: List[SystemPackage] = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        for word in words:
            found.append(check_package_name(word, f"{shown} line {number}"))
    return found


def apt_option_packages(names: Iterable[str]) -> List[SystemPackage]:
    """The packages of ``--apt PKG`` options (checked; :class:`InputError` else)."""
    return [check_package_name(n, f"--apt {n}") for n in names]


@lru_cache(maxsize=1)
def host_distribution() -> Optional[str]:
    """``debian:bookworm`` / ``ubuntu:jammy`` for a Debian-like host with dpkg, else None."""
    try:
        text = Path(_OS_RELEASE).read_text(encoding="utf-8")
    except OSError:
        return None
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    values = {k: v.strip().strip('"') for k, v in fields.items()}
    family = {values.get("ID", "")} | set(values.get("ID_LIKE", "").split())
    if not family & {"debian", "ubuntu"} or shutil.which("dpkg-query") is None:
        return None
    release = values.get("VERSION_CODENAME") or values.get("VERSION_ID") or ""
    return f"{values.get('ID', 'debian')}:{release}" if release else values.get("ID")


def _run(argv: Sequence[str]) -> str:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout


def _dpkg_cached(paths: Sequence[str]) -> Dict[str, Tuple[str, str]]:
    """path -> (package, version) from this machine's dpkg, through nbdocker's cache
    (``dpkg -S`` reads every package's file list: ~0.2 s); the cache is dropped when
    dpkg's database changes (a package installed or removed)."""
    try:
        stamp = os.stat(_DPKG_STATUS).st_mtime_ns
    except OSError:
        stamp = 0
    doc = read_cache(_DPKG_CACHE)
    known: Dict[str, Tuple[str, str]] = {}
    if isinstance(doc, dict) and doc.get("stamp") == stamp and isinstance(doc.get("paths"), dict):
        known = {k: (str(v[0]), str(v[1])) for k, v in doc["paths"].items()
                 if isinstance(v, list) and len(v) == 2}
    todo = [p for p in paths if p not in known]
    if todo:
        owners = _dpkg_owner(todo)
        versions = _dpkg_versions(set(owners.values()))
        for path in todo:  # "" for a path dpkg does not know: asked once too
            package = owners.get(path, "")
            known[path] = (package, versions.get(package, "")) if package else ("", "")
        write_cache(_DPKG_CACHE, {"stamp": stamp, "paths": {k: list(v) for k, v in known.items()}})
    return {p: known[p] for p in paths if known.get(p, ("", ""))[0]}


def _dpkg_owner(paths: Sequence[str]) -> Dict[str, str]:
    """path -> owning package, by one ``dpkg -S`` over every path (and its /usr twin)."""
    queries: List[str] = []
    for path in paths:
        queries.append(path)
        if path.startswith("/usr/"):
            queries.append(path[4:])     # merged /usr: dpkg may know /bin/x
        else:
            queries.append("/usr" + path)
    owners: Dict[str, str] = {}
    for line in _run(["dpkg", "-S", *queries]).splitlines():
        if ": " not in line or line.startswith("diversion "):
            continue
        package, _, path = line.partition(": ")
        package = package.split(",", 1)[0].split(":", 1)[0].strip()
        path = path.strip()
        for asked in paths:
            if path in (asked, asked[4:] if asked.startswith("/usr/") else "/usr" + asked):
                owners.setdefault(asked, package)
    return owners


def _dpkg_versions(packages: Iterable[str]) -> Dict[str, str]:
    names = sorted(set(packages))
    if not names:
        return {}
    out = _run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n", *names])
    versions = {}
    for line in out.splitlines():
        name, _, version = line.partition("\t")
        if name and _valid(name.split(":", 1)[0], version.strip()):
            versions[name.split(":", 1)[0]] = version.strip()
    return versions


@dataclass
class SystemNeeds:
    """What :func:`resolve_programs` found: packages (with why), notes and warnings."""

    packages: Dict[str, SystemPackage] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    def add(self, package: SystemPackage) -> None:
        current = self.packages.get(package.name)
        if current is None:
            self.packages[package.name] = package
            return
        reasons = current.reasons + tuple(r for r in package.reasons if r not in current.reasons)
        # a version the user wrote (apt.txt, --apt: no distribution) wins over a detected one
        chosen = package if package.version and not package.distribution else \
            current if current.version else package
        self.packages[package.name] = SystemPackage(package.name, chosen.version, reasons,
                                                    distribution=chosen.distribution)


def _on_host(program: str) -> Optional[str]:
    """Where this machine has ``program`` among the system's own folders (dpkg's; not
    /usr/local, a venv or a conda environment)."""
    found = shutil.which(program)
    if not found:
        return None
    return found if found.startswith(("/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/",
                                      "/usr/games/", "/usr/lib/")) else None


def resolve_programs(programs: Mapping[str, List[str]], *,
                     explicit_packages: Mapping[str, List[str]] = {},
                     use_host: bool = True) -> SystemNeeds:
    """Debian packages for ``programs`` (name -> reasons) and ``explicit_packages``
    (Debian package -> reasons, e.g. LaTeX's styles); see the module docstring.
    Programs of the base image must already be left out. ``use_host=False`` never
    asks this machine's dpkg (the built-in table only).
    """
    needs = SystemNeeds()
    distribution = host_distribution() if use_host else None
    host_paths: Dict[str, str] = {}
    if distribution:
        for program in programs:
            path = _on_host(program)
            if path:
                host_paths[program] = os.path.realpath(path)
    owners = _dpkg_cached(sorted(set(host_paths.values()))) if host_paths else {}
    chosen: Dict[str, Tuple[str, Optional[str]]] = {}  # program -> (package, host version)
    for program in sorted(programs):
        owner, host_version = owners.get(host_paths.get(program, ""), ("", ""))
        if owner and _valid(owner):
            chosen[program] = (owner, host_version if _valid(owner, host_version) else None)
        elif program in PACKAGE_OF:
            chosen[program] = (PACKAGE_OF[program], None)
        else:
            needs.warnings.append(
                f"{programs[program][0]} runs {program}, which is not in the base image and "
                "no Debian package is known for it: add one with --apt PKG or apt.txt")
    for program, (package, version) in sorted(chosen.items()):
        needs.add(SystemPackage(package, version, tuple(programs[program]),
                                distribution=distribution if version else None))
    for package, said in sorted(explicit_packages.items()):
        needs.add(SystemPackage(package, None, tuple(said)))
    unpinned = sorted(p.name for p in needs.packages.values() if not p.version)
    if unpinned:
        why = ("not installed on this machine, named from nbdocker's table" if distribution
               else "this machine has no dpkg to ask")
        needs.warnings.append(f"system packages {', '.join(unpinned)}: unpinned ({why}; "
                              "apt installs what the base image's distribution has)")
    return needs
