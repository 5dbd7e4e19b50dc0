"""What the host's pip setup contributes to a build: a CA bundle and http(s) index URLs.

Corporate proxies (and this project's CI machine) intercept TLS, so pip inside the
install step needs the host's CA bundle; private indexes need their URLs. Both are
discovered here, the way pip itself would see them, and go to the *install step only*,
never into an image (see :mod:`nbdocker.stages.image.build`).

Never forwarded: ``file://`` and other non-http(s) indexes, ``find-links`` (local
directories the engine cannot see), ``constraint`` files, and everything else in pip's
configuration.
"""
from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ...exceptions import InputError

__all__ = ["BuildOptions", "discover_build_options", "pip_config_files", "read_pip_config",
           "INSTALLERS"]

INSTALLERS = ("pip", "uv")
# uv: with the same 16 pins, a plain `uv pip install -r` Dockerfile built in 0.40 of the
# time of a plain `pip install -r` one (benchmarks/build.py, 3 cold rounds). Every uv step
# falls back to pip when uv cannot be fetched or fails; NBDOCKER_INSTALLER=pip opts out.
DEFAULT_INSTALLER = "uv"


@dataclass(frozen=True)
class BuildOptions:
    """Host-derived inputs of a build that are not part of the notebook's spec.

    ``ca_bundle`` is a host path whose content goes to the install step;
    ``index_url``/``extra_index_urls`` are http(s) URLs written into the install step's
    pip.conf (and uv.toml); ``trusted_hosts`` pip's ``trusted-host`` values;
    ``installer`` is ``"uv"`` (default; pip is its fallback) or ``"pip"``.
    """

    ca_bundle: Optional[str] = None
    index_url: Optional[str] = None
    extra_index_urls: Tuple[str, ...] = ()
    trusted_hosts: Tuple[str, ...] = ()
    installer: str = DEFAULT_INSTALLER

    def __post_init__(self) -> None:
        if self.installer not in INSTALLERS:
            raise InputError(f"installer must be one of {INSTALLERS}, not {self.installer!r}")

    @property
    def has_index_config(self) -> bool:
        """True when a pip.conf / uv.toml goes to the install step."""
        return bool(self.index_url or self.extra_index_urls or self.trusted_hosts)


def pip_config_files(env: Mapping[str, str]) -> List[Path]:
    """pip's configuration files in increasing priority (global, user, site, env),
    following pip's own rules (``PIP_CONFIG_FILE`` set to ``os.devnull`` disables all;
    an existing ``PIP_CONFIG_FILE`` hides the user files)."""
    env_file = env.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    if not (env_file and Path(env_file).exists()):
        home = Path(env.get("HOME") or Path.home())
        files.append(home / ".pip" / "pip.conf")
        files.append(Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / "pip.conf")
    files.append(Path(sys.prefix) / "pip.conf")
    if env_file:
        files.append(Path(env_file))
    return files


def read_pip_config(files: Iterable[Path]) -> Dict[str, str]:
    """Merge pip's ``[global]`` then ``[install]`` sections of ``files`` (later wins);
    keys normalised to pip's dashed form (``index_url`` → ``index-url``)."""
    merged: Dict[str, str] = {}
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue  # pip would fail on it too; a bad file should not stop a build
        for section in ("global", "install"):
            if parser.has_section(section):
                for key, value in parser.items(section):
                    merged[key.replace("_", "-")] = value.strip()
    return merged


def _http_urls(value: Optional[str]) -> Tuple[str, ...]:
    # Only http(s) indexes can be reached from inside a build; file:// ones are host paths.
    urls = (value or "").split()
    return tuple(u for u in urls if u.lower().startswith(("http://", "https://")))


def discover_build_options(env: Optional[Mapping[str, str]] = None,
                           config_files: Optional[Sequence[Path]] = None,
                           installer: Optional[str] = None) -> BuildOptions:
    """Build options from the host's environment and pip configuration.

    CA bundle, first existing file of: ``PIP_CERT``, pip's ``cert`` setting,
    ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE`` (pip's own precedence, then what requests
    and OpenSSL read). Index URLs: ``PIP_INDEX_URL`` / ``PIP_EXTRA_INDEX_URL`` override
    pip's ``index-url`` / ``extra-index-url``; only http(s) URLs are kept.
    ``installer`` defaults to ``NBDOCKER_INSTALLER``, else uv.
    """
    env = os.environ if env is None else env
    files = pip_config_files(env) if config_files is None else list(config_files)
    config = read_pip_config(files)

    ca_bundle: Optional[str] = None
    for candidate in (env.get("PIP_CERT"), config.get("cert"), env.get("REQUESTS_CA_BUNDLE"),
                      env.get("SSL_CERT_FILE")):
        if candidate and Path(candidate).expanduser().is_file():
            ca_bundle = str(Path(candidate).expanduser())
            break

    index = _http_urls(env.get("PIP_INDEX_URL", config.get("index-url")))
    extras = _http_urls(env.get("PIP_EXTRA_INDEX_URL", config.get("extra-index-url")))
    trusted = tuple((env.get("PIP_TRUSTED_HOST", config.get("trusted-host")) or "").split())
    chosen = installer or env.get("NBDOCKER_INSTALLER") or DEFAULT_INSTALLER
    return BuildOptions(ca_bundle=ca_bundle, index_url=index[0] if index else None,
                        extra_index_urls=tuple(dict.fromkeys(extras)),
                        trusted_hosts=tuple(sorted(set(trusted))), installer=chosen)
