#!/usr/bin/env bash
# Makes a Docker Engine and Docker Compose usable on this machine for npm run
# test:compose: installs Debian's docker.io (dockerd, containerd, runc) and
# debootstrap (deploy/images/build-base-images.sh) when absent, starts dockerd in
# the background when no daemon answers (log: ~/.cache/gatehouse/dockerd.log),
# and installs Compose v2, built once from its Go module (deploy/build-compose.sh),
# as the docker CLI's compose plugin, or Debian's docker-compose v1 when that
# build fails. Never stops or reconfigures a daemon that already answers.
# Prints the compose command to use last ("docker compose" or "docker-compose").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${GATEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse}"
export PATH="$PATH:/usr/sbin:/sbin"
mkdir -p "$cache"

log() { echo "install-docker: $*" >&2; }

apt_install() {
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # A package's postinst may not start services here (policy-rc.d, no systemd): dockerd is started below.
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then apt_install $(printf '%s\n' "${missing[@]}" | sort -u); fi
}

# A daemon that died with SIGKILL (as every process of a finished session does) leaves pid files that
# make the next dockerd refuse to start.
clear_stale_pid_files() {
  local file pid
  for file in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    [ -f "$file" ] || continue
    pid="$(cat "$file" 2>/dev/null || true)"
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$file"; fi
  done
}

# try_dockerd [OPTION...]: starts dockerd with these options; succeeds once `docker info` answers,
# fails if it exits or stays silent for 60 s.
try_dockerd() {
  local pid i
  clear_stale_pid_files
  echo "── $(date -u +%FT%TZ) dockerd $*" >>"$cache/dockerd.log"
  setsid dockerd "$@" >>"$cache/dockerd.log" 2>&1 </dev/null &
  pid=$!
  for i in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then log "dockerd started (pid $pid${*:+, $*}; log $cache/dockerd.log)"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  return 1
}

daemon() {
  if docker info >/dev/null 2>&1; then log "a Docker daemon answers already"; return; fi
  # overlay2 with iptables first (what Docker's defaults give); then without iptables (a kernel or
  # sandbox without netfilter: published ports still work through docker-proxy); then vfs storage
  # (no overlayfs, as inside some containers): slow and large, but it runs.
  try_dockerd && return
  log "dockerd with the defaults did not start; trying --iptables=false"
  try_dockerd --iptables=false && return
  log "trying --iptables=false --storage-driver=vfs"
  try_dockerd --iptables=false --storage-driver=vfs && return
  log "dockerd does not start; its last lines (all in $cache/dockerd.log):"
  tail -n 20 "$cache/dockerd.log" >&2
  exit 1
}

# Compose v2 as a CLI plugin of whichever docker CLI is first on PATH; v1 (Debian) if v2 cannot be built.
compose() {
  local bin plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  if bin="$(bash "$here/build-compose.sh" | tail -n 1)" && [ -x "$bin" ]; then
    mkdir -p "$plugins"
    ln -sfn "$bin" "$plugins/docker-compose"
    log "$(docker compose version)"
    echo "docker compose"
    return
  fi
  log "Compose v2 could not be built; falling back to Debian's docker-compose (v1)"
  command -v docker-compose >/dev/null || apt_install docker-compose
  log "$(docker-compose version --short)"
  echo "docker-compose"
}

packages
daemon
log "$(docker version --format 'client {{.Client.Version}}, daemon {{.Server.Version}} (API {{.Server.APIVersion}})')"
compose
