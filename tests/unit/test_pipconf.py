"""discover_build_options(): CA bundle and http(s) indexes, the way pip sees them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbdocker.stages.image import BuildOptions, discover_build_options
from nbdocker.stages.image.hostpip import pip_config_files, read_pip_config
from nbdocker.exceptions import InputError


@pytest.fixture()
def ca(tmp_path: Path) -> Path:
    path = tmp_path / "corp-ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    return path


def _conf(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_pip_cert_env_wins_and_missing_files_are_skipped(tmp_path: Path, ca: Path) -> None:
    other = _conf(tmp_path, "other.pem", "x")
    env = {"PIP_CERT": str(tmp_path / "missing.pem"), "REQUESTS_CA_BUNDLE": str(ca),
           "SSL_CERT_FILE": str(other)}
    assert discover_build_options(env, []).ca_bundle == str(ca)
    env["PIP_CERT"] = str(other)
    assert discover_build_options(env, []).ca_bundle == str(other)


def test_pip_config_cert_is_used_before_requests_and_openssl_vars(tmp_path: Path, ca: Path) -> None:
    conf = _conf(tmp_path, "pip.conf", f"[global]\ncert = {ca}\n")
    other = _conf(tmp_path, "other.pem", "x")
    options = discover_build_options({"SSL_CERT_FILE": str(other)}, [conf])
    assert options.ca_bundle == str(ca)


def test_no_ca_anywhere_gives_none() -> None:
    assert discover_build_options({}, []).ca_bundle is None


def test_file_indexes_and_find_links_are_never_forwarded(tmp_path: Path) -> None:
    conf = _conf(tmp_path, "pip.conf", (
        "[global]\nfind-links = /opt/wheels\n"
        "extra-index-url = file:///opt/pypi/simple https://mirror.example/simple\n"
        "constraint = /etc/xdg/pip/constraints.txt\n"))
    options = discover_build_options({"PIP_FIND_LINKS": "/opt/wheels"}, [conf])
    assert options.extra_index_urls == ("https://mirror.example/simple",)
    assert options.index_url is None
    assert not options.trusted_hosts


def test_env_index_urls_override_config(tmp_path: Path) -> None:
    conf = _conf(tmp_path, "pip.conf", "[global]\nindex-url = https://conf.example/simple\n"
                                       "extra-index-url = https://conf-extra.example/simple\n")
    env = {"PIP_INDEX_URL": "https://user:pw@env.example/simple",
           "PIP_EXTRA_INDEX_URL": "file:///local https://a.example/s https://a.example/s"}
    options = discover_build_options(env, [conf])
    assert options.index_url == "https://user:pw@env.example/simple"
    assert options.extra_index_urls == ("https://a.example/s",)
    assert options.has_index_config


def test_install_section_overrides_global_and_later_files_win(tmp_path: Path) -> None:
    first = _conf(tmp_path, "a.conf", "[global]\nindex_url = https://one.example/simple\n")
    second = _conf(tmp_path, "b.conf", "[global]\nindex-url = https://two.example/simple\n"
                                       "[install]\nindex-url = https://three.example/simple\n"
                                       "trusted-host = b.example a.example\n")
    merged = read_pip_config([first, second])
    assert merged["index-url"] == "https://three.example/simple"
    options = discover_build_options({}, [first, second])
    assert options.trusted_hosts == ("a.example", "b.example")


def test_unreadable_config_is_ignored(tmp_path: Path) -> None:
    bad = _conf(tmp_path, "bad.conf", "this is [ not ini\n=")
    assert discover_build_options({}, [bad, tmp_path / "absent.conf"]) == BuildOptions(
        installer=BuildOptions().installer)


def test_config_file_locations_follow_pip(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": "/etc/xdg"}
    files = pip_config_files(env)
    assert files[0] == Path("/etc/xdg/pip/pip.conf") and Path("/etc/pip.conf") in files
    assert tmp_path / ".config" / "pip" / "pip.conf" in files
    assert pip_config_files({"PIP_CONFIG_FILE": os.devnull}) == []
    own = _conf(tmp_path, "own.conf", "[global]\n")
    with_env = pip_config_files({**env, "PIP_CONFIG_FILE": str(own)})
    assert with_env[-1] == own                              # highest priority
    assert tmp_path / ".config" / "pip" / "pip.conf" not in with_env   # pip skips user files


def test_installer_choice_and_validation() -> None:
    assert discover_build_options({"NBDOCKER_INSTALLER": "pip"}, []).installer == "pip"
    assert discover_build_options({}, [], installer="uv").installer == "uv"
    with pytest.raises(InputError):
        discover_build_options({"NBDOCKER_INSTALLER": "conda"}, [])
