"""The suite's Docker Hub mirror: a loopback registry serving python:<X.Y.Z>-slim.

Called by scripts/setup.sh as ``python scripts/mirror.py ADDR LOCAL_BASE`` when the
engine lists ``http://ADDR`` (``127.0.0.1:PORT``) among its ``registry-mirrors``. Then
``docker pull python:3.11.7-slim`` (and nbdocker's default base) resolves through that
registry exactly as through Docker Hub on a user's machine, with a registry digest.

* The registry is Debian's ``docker-registry`` with its storage under
  ``$NBDOCKER_MIRROR_DIR/<port>`` (default /var/lib/nbdocker-mirror); started here when
  nothing answers at ADDR. A registry that answers but was not started here is only
  read, never written.
* ``python:<X.Y.Z>-slim`` (the venv's Python) and ``python:<X.Y>-slim`` are pushed when
  missing. The exact-patch image is LOCAL_BASE (the debootstrap base) plus this
  machine's own CPython copied to /usr/local — possible when that interpreter is a
  relocatable build (pyenv, python.org) on the debootstrap base's Debian release;
  otherwise LOCAL_BASE serves the tags its own Python matches (then the suite takes the
  documented X.Y fallback).

Idempotent: what exists is reused. Prints nothing on stdout; log lines on stderr.
"""
from __future__ import annotations

import io
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, List, Optional

import docker

_ACCEPT = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
                     "application/vnd.docker.distribution.manifest.list.v2+json",
                     "application/vnd.oci.image.manifest.v1+json",
                     "application/vnd.oci.image.index.v1+json"])
_SKIP_DIRS = {"site-packages", "test", "tests", "idle_test", "idlelib", "tkinter",
              "turtledemo", "lib2to3"}


def log(message: str) -> None:
    print(f"[setup] {message}", file=sys.stderr, flush=True)


def answers(addr: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{addr}/v2/", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def has_tag(addr: str, repo: str, tag: str) -> bool:
    request = urllib.request.Request(f"http://{addr}/v2/{repo}/manifests/{tag}",
                                     method="HEAD", headers={"Accept": _ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_registry(addr: str) -> bool:
    """Start docker-registry on ``addr`` with storage of our own; True when it answers
    and is ours (we may push to it)."""
    port = addr.rsplit(":", 1)[1]
    root = Path(os.environ.get("NBDOCKER_MIRROR_DIR", "/var/lib/nbdocker-mirror")) / port
    pidfile = root / "registry.pid"
    ours = pidfile.is_file() and Path(f"/proc/{pidfile.read_text().strip()}").exists()
    if answers(addr):
        return ours
    binary = shutil.which("docker-registry")
    if binary is None:
        log("installing Debian's docker-registry (the suite's Docker Hub mirror)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "docker-registry"], env=env,
                       capture_output=True)
        binary = shutil.which("docker-registry")
        if binary is None:
            log("docker-registry could not be installed: no mirror")
            return False
    (root / "storage").mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
                      f"http:\n  addr: {addr}\n", encoding="utf-8")
    log(f"starting the Docker Hub mirror registry on {addr} (storage {root})")
    with open(root / "registry.log", "ab") as out:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    pidfile.write_text(str(proc.pid))
    for _ in range(100):
        if answers(addr):
            return True
        time.sleep(0.2)
    log(f"the mirror registry did not start; see {root / 'registry.log'}")
    return False


def _python_tree() -> Optional[Path]:
    """This interpreter's installation prefix, when it can be copied to /usr/local of a
    Debian image: a shared or static CPython build outside /usr on the same release."""
    prefix = Path(sys.base_prefix)
    release = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                release = line.split("=", 1)[1].strip('"')
    except OSError:
        return None
    if release != "bookworm" or str(prefix).startswith("/usr") \
            or platform.python_implementation() != "CPython":
        return None
    if not (prefix / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}").is_file():
        return None
    return prefix


def _tree_members(prefix: Path) -> Iterator[Path]:
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for name in (minor, f"python{sys.version_info.major}", "python"):
        if (prefix / "bin" / name).exists():
            yield prefix / "bin" / name
    yield from sorted((prefix / "lib").glob("libpython*.so*"))
    stdlib = prefix / "lib" / minor
    for path in sorted(stdlib.rglob("*")):
        parts = path.relative_to(stdlib).parts
        if set(parts) & _SKIP_DIRS or path.name.endswith(".a"):
            continue
        yield path
    headers = Path(sysconfig.get_paths()["include"])
    if headers.is_dir():
        yield from sorted(headers.rglob("*"))


def build_exact_base(client: docker.DockerClient, local_base: str, tag: str) -> Optional[str]:
    """LOCAL_BASE + this machine's CPython under /usr/local, tagged ``tag``; None when
    this interpreter cannot be copied."""
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    prefix = _python_tree()
    if prefix is None:
        return None
    version = platform.python_version()
    log(f"making {tag}: {local_base} + this machine's Python {version} in /usr/local")
    dockerfile = (
        f"FROM {local_base}\n"
        "COPY usr-local/ /usr/local/\n"
        "RUN ldconfig && python3 -m ensurepip --default-pip >/dev/null"
        " && python3 -c \"import platform, ssl, sqlite3, ctypes, lzma, bz2, zlib, venv;"
        f" assert platform.python_version() == '{version}'\"\n"
        "ENV LANG=C.UTF-8\nCMD [\"python3\"]\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))

        def world_readable(member: tarfile.TarInfo) -> tarfile.TarInfo:
            member.uid = member.gid = 0
            member.uname = member.gname = "root"
            member.mode |= 0o555 if member.isdir() or member.mode & 0o100 else 0o444
            return member

        for path in _tree_members(prefix):
            tar.add(str(path), arcname="usr-local/" + str(path.relative_to(prefix)),
                    recursive=False, filter=world_readable)
    buf.seek(0)
    try:
        client.images.build(fileobj=buf, custom_context=True, tag=tag, rm=True, forcerm=True)
    except docker.errors.BuildError as exc:
        log(f"could not make {tag}: {exc}")
        return None
    return tag


def _python_of(client: docker.DockerClient, image: str) -> str:
    out = client.containers.run(image, ["python3", "-c",
                                        "import platform; print(platform.python_version())"],
                                remove=True, network_mode="none")
    return out.decode().strip()


def push(client: docker.DockerClient, image: str, addr: str, tag: str) -> None:
    target = f"{addr}/library/python"
    client.images.get(image).tag(target, tag)
    try:
        for chunk in client.api.push(target, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                raise RuntimeError(chunk["error"])
    finally:
        client.images.remove(f"{target}:{tag}", noprune=True)
    log(f"mirror {addr} serves python:{tag} ({image})")


def main(argv: List[str]) -> int:
    addr, local_base = argv[1], argv[2]
    client = docker.from_env(timeout=600)
    exact = platform.python_version()
    minor = ".".join(exact.split(".")[:2])
    tags = [f"{exact}-slim", f"{minor}-slim"]
    ours = start_registry(addr)
    missing = [t for t in tags if not has_tag(addr, "library/python", t)]
    if not missing:
        return 0
    if not ours:
        log(f"the mirror at {addr} lacks python:{', python:'.join(missing)} and is not "
            "nbdocker's: left as it is")
        return 0
    exact_image = build_exact_base(client, local_base, f"nbdocker-local/python:{exact}-slim")
    local_python = _python_of(client, local_base)
    for tag in missing:
        wanted = tag[:-len("-slim")]
        if exact_image is not None:
            push(client, exact_image, addr, tag)   # 3.11.7 serves 3.11 too, as on Hub
        elif local_python == wanted or (wanted == minor and
                                        local_python.startswith(minor + ".")):
            push(client, local_base, addr, tag)
        else:
            log(f"no image for python:{tag} (this Python cannot be copied into an image, "
                f"{local_base} has {local_python}): builds will fall back")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
