#!/usr/bin/env bash
# Builds a Go program pinned by a tool module (a folder holding go.mod/go.sum
# that requires it) into a cache folder outside the repo, once: a binary
# already built for that version is reused. Used for Consul (tests, dev stack)
# Caddy (a benchmark peer) and Docker Compose v2 (npm run test:compose), which
# Debian and npm do not carry.
# Usage: build-go-tool.sh TOOL_DIR MODULE PACKAGE NAME [LDFLAGS]; prints the binary's path last.
# LDFLAGS are added to the linker's (for a tool that reads its version from -X).
# Refuses, built or not, a tool whose modules are not open source (check-tool-licences.sh).
set -euo pipefail
dir="$1" module="$2" package="$3" name="$4" ldflags="${5:-}"
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n "s|^[[:space:]]*\(require[[:space:]]\+\)\?${module//./\\.} \(v[0-9.]*\).*|\2|p" "$dir/go.mod" | head -n 1)"
[ -n "$version" ] || { echo "build-go-tool: no $module version in $dir/go.mod" >&2; exit 1; }
cache="${GATEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse}"
bin="$cache/$name-$version/$name"
export PATH="$PATH:/usr/local/go/bin:/usr/lib/go/bin"
command -v go >/dev/null || { echo "build-go-tool: Go is required to build $name (apt-get install golang, or https://go.dev/dl)" >&2; exit 1; }
bash "$here/check-tool-licences.sh" "$dir" "$module" "$package"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$(dirname "$bin")"
echo "build-go-tool: building $name $version (takes a few minutes, once)" >&2
cd "$dir"
# The checksum database lacks some of Consul's submodule versions; go.sum pins them instead.
GOTOOLCHAIN=local GONOSUMDB="$module" GOFLAGS=-mod=readonly \
  go build -trimpath -ldflags="-s -w $ldflags" -o "$bin.tmp" "$package"
mv "$bin.tmp" "$bin"
echo "$bin"
