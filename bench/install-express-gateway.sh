#!/usr/bin/env bash
# Installs the pinned Express Gateway (bench/express-gateway-tool/, its lock
# pinning the whole tree), a benchmark peer, into
# ~/.cache/gatehouse/express-gateway-<version>/ once, with npm; never among
# the project's dependencies. Prints the package's folder last. Run it before
# `npm test`: the benchmark's smoke test never installs anything itself.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tool="$here/express-gateway-tool"
version="$(sed -n 's|^[[:space:]]*"express-gateway": "\([0-9][0-9.]*\)".*|\1|p' "$tool/package.json" | head -n 1)"
[ -n "$version" ] || { echo "install-express-gateway: no pinned express-gateway version in $tool/package.json" >&2; exit 1; }
cache="${GATEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse}"
prefix="$cache/express-gateway-$version"
module="$prefix/node_modules/express-gateway"
if [ -f "$module/package.json" ]; then echo "$module"; exit 0; fi
command -v npm >/dev/null || { echo "install-express-gateway: npm is required (it comes with Node)" >&2; exit 1; }
echo "install-express-gateway: installing express-gateway $version into $prefix (about 20 s, once)" >&2
# Installed beside the final folder and moved into place whole: an interrupted
# install never looks complete. Its install scripts only print messages.
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/express-gateway-$version.tmp-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp "$tool/package.json" "$tool/package-lock.json" "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
# Another install may have finished meanwhile: keep the one in place.
if [ ! -f "$module/package.json" ]; then
  rm -rf "$prefix"
  mv "$tmp" "$prefix"
  trap - EXIT
fi
echo "$module"
