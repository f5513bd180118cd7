#!/usr/bin/env bash
# Builds the pinned Consul release (deploy/consul-tool/go.mod) into a cache
# folder outside the repo and skips the build when that binary exists.
# Consul is in neither Debian nor npm; the Go module proxy is the one source.
# Prints the binary's path on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's/^[[:space:]]*\(require[[:space:]]\+\)\?github\.com\/hashicorp\/consul \(v[0-9.]*\).*/\2/p' "$here/consul-tool/go.mod" | head -n 1)"
[ -n "$version" ] || { echo "build-consul: no github.com/hashicorp/consul version in consul-tool/go.mod" >&2; exit 1; }
cache="${GATEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse}"
bin="$cache/consul-$version/consul"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "build-consul: Go is required to build Consul (https://go.dev/dl or apt-get install golang)" >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
echo "build-consul: building Consul $version (takes a few minutes, once)" >&2
cd "$here/consul-tool"
# The checksum database lacks some of Consul's submodule versions; go.sum pins them instead.
GOTOOLCHAIN=local GONOSUMDB=github.com/hashicorp/consul GOFLAGS=-mod=readonly \
  go build -trimpath -ldflags="-s -w" -o "$bin.tmp" github.com/hashicorp/consul
mv "$bin.tmp" "$bin"
echo "$bin"
