#!/usr/bin/env bash
# Idempotent set-up for a fresh machine, shared by scripts/demo and scripts/test:
#   1. a virtualenv (.venv) with nbdocker and its test extras installed;
#   2. a Docker engine that answers (on Debian as root: install docker.io, start dockerd);
#   3. a Python base image. When setup.sh starts dockerd itself, the engine gets a
#      loopback registry as its Docker Hub mirror (scripts/mirror.py), serving
#      python:<X.Y.Z>-slim and python:<X.Y>-slim made locally (debootstrap + this
#      machine's own Python): builds then take nbdocker's default path, pull and digest
#      included, as on a user's engine. An engine that was already running is never
#      reconfigured: if it lists such a mirror, the mirror is served and filled; else
#      the base is NBDOCKER_BASE_IMAGE, a local or pulled python:X.Y-slim, or one made
#      locally with debootstrap when no registry is reachable.
#   4. Debian's chromium for the JupyterLab browser test (Playwright, installed in step 1
#      with jupyterlab, drives it: Playwright's own browser downloads are never used).
# Writes the chosen base image to .nbdocker-base (empty: nbdocker's default), which the
# other scripts export as NBDOCKER_BASE_IMAGE. Safe to run again: it reuses everything
# that already exists.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${NBDOCKER_VENV:-$ROOT/.venv}
LOCAL_BASE=${NBDOCKER_LOCAL_BASE:-nbdocker-local/python:3-bookworm}
MIRROR=127.0.0.1:${NBDOCKER_MIRROR_PORT:-5959}   # the Docker Hub mirror of a dockerd we start
log() { printf '[setup] %s\n' "$*" >&2; }

# --- 1. virtualenv -----------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.nbdocker-installed"
want=$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing nbdocker and test dependencies into $VENV"
  piplog="$VENV/pip-install.log"
  if ! "$VENV/bin/python" -m pip install -e "$ROOT[test]" >"$piplog" 2>&1; then
    tail -n 25 "$piplog" >&2; log "pip install failed (full log: $piplog)"; exit 2
  fi
  echo "$want" > "$stamp"
fi
PY="$VENV/bin/python"

# --- 2. Docker engine --------------------------------------------------------
engine_up() { "$PY" - <<'PY' >/dev/null 2>&1
import docker
docker.from_env(timeout=5).ping()
PY
}
if ! engine_up; then
  if [ -n "${DOCKER_HOST:-}" ] && [[ "${DOCKER_HOST}" != unix://* ]]; then
    log "DOCKER_HOST=$DOCKER_HOST does not answer; fix it or unset it"; exit 3
  fi
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
    if ! command -v dockerd >/dev/null 2>&1; then
      log "installing Debian's docker.io (engine)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq docker.io >/dev/null
    fi
    if ! pgrep -x dockerd >/dev/null 2>&1; then
      mirror_flag=()
      # A mirror set in daemon.json stays the owner's choice (a flag would clash with it).
      if ! grep -qs registry-mirrors /etc/docker/daemon.json; then
        mirror_flag=(--registry-mirror "http://$MIRROR")
      fi
      log "starting dockerd in the background (log: /var/log/nbdocker-dockerd.log)"
      # containerd is started by dockerd itself when no system one runs.
      nohup dockerd "${mirror_flag[@]}" >/var/log/nbdocker-dockerd.log 2>&1 </dev/null &
    fi
    for _ in $(seq 1 60); do engine_up && break; sleep 1; done
  fi
  engine_up || { log "no Docker engine answers; start one or set DOCKER_HOST"; exit 3; }
fi
log "Docker engine is up"

# --- 3. base image -----------------------------------------------------------
pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
image_exists() { "$PY" - "$1" <<'PY' >/dev/null 2>&1
import sys, docker
docker.from_env().images.get(sys.argv[1])
PY
}
try_pull() { timeout 60 "$PY" - "$1" <<'PY' >/dev/null 2>&1
import sys, docker
docker.from_env().images.pull(sys.argv[1])
PY
}
# The engine's loopback Docker Hub mirror (registry-mirrors), if it has one.
engine_mirror() { "$PY" - <<'PY' 2>/dev/null
import docker
mirrors = (docker.from_env(timeout=10).info().get("RegistryConfig") or {}).get("Mirrors") or ()
print(next((m.rstrip("/")[len("http://"):] for m in mirrors
            if m.startswith("http://127.0.0.1:")), ""))
PY
}
make_local_base() {
  log "no registry reachable: making $LOCAL_BASE with debootstrap (about a minute)"
  if ! command -v debootstrap >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true  # the install says what went wrong
    apt-get install -y -qq debootstrap >/dev/null
  fi
  rootfs=$(mktemp -d /var/tmp/nbdocker-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" >/var/log/nbdocker-debootstrap.log 2>&1 \
    || { log "debootstrap failed; see /var/log/nbdocker-debootstrap.log"; exit 3; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "$PY" -c '
import sys, docker
api = docker.from_env(timeout=600).api
api.import_image_from_stream(sys.stdin.buffer, repository=sys.argv[1].rsplit(":", 1)[0],
                             tag=sys.argv[1].rsplit(":", 1)[1],
                             changes=["CMD [\"python3\"]", "ENV LANG=C.UTF-8"])
' "$LOCAL_BASE"
  rm -rf "$rootfs"; trap - EXIT
}
base=""
mirror=""
[ -n "${NBDOCKER_BASE_IMAGE:-}" ] || mirror=$(engine_mirror)
if [ -n "${NBDOCKER_BASE_IMAGE:-}" ]; then
  if image_exists "$NBDOCKER_BASE_IMAGE" || try_pull "$NBDOCKER_BASE_IMAGE"; then
    base=$NBDOCKER_BASE_IMAGE
  else
    log "NBDOCKER_BASE_IMAGE=$NBDOCKER_BASE_IMAGE is neither local nor pullable"; exit 3
  fi
elif [ -n "$mirror" ]; then
  # nbdocker's own default (python:<X.Y.Z>-slim), through the engine's mirror.
  image_exists "$LOCAL_BASE" || make_local_base
  "$PY" "$ROOT/scripts/mirror.py" "$mirror" "$LOCAL_BASE" \
    || { log "could not fill the mirror registry $mirror"; exit 3; }
elif image_exists "python:$pyver-slim"; then
  base="python:$pyver-slim"
elif image_exists "$LOCAL_BASE"; then
  base=$LOCAL_BASE
elif try_pull "python:$pyver-slim"; then
  base="python:$pyver-slim"
else
  make_local_base
  base=$LOCAL_BASE
fi
echo "$base" > "$ROOT/.nbdocker-base"
if [ -n "$base" ]; then
  log "base image: $base"
else
  log "base image: nbdocker's default python:<X.Y.Z>-slim, through the mirror $mirror"
fi

# --- 4. browser for the JupyterLab test ----------------------------------------
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
    log "installing Debian's chromium (the JupyterLab browser test)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true  # the install says what went wrong
    apt-get install -y -qq chromium >/var/log/nbdocker-chromium.log 2>&1 \
      || log "apt-get install chromium failed (log: /var/log/nbdocker-chromium.log)"
  fi
  # Not fatal (the demo needs no browser): the browser test fails and says why.
  [ -x /usr/bin/chromium ] || log "no /usr/bin/chromium: the browser test will fail"
fi
