#!/usr/bin/env bash
# Builds the pinned Caddy release (bench/caddy-tool/go.mod), a benchmark peer,
# into ~/.cache/gatehouse/caddy-<version>/ once; prints the binary's path last.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../deploy/build-go-tool.sh" "$here/caddy-tool" github.com/caddyserver/caddy/v2 github.com/caddyserver/caddy/v2/cmd/caddy caddy
