#!/usr/bin/env bash
# Builds the pinned vegeta release (bench/vegeta-tool/go.mod), the open-loop
# load generator, into ~/.cache/gatehouse/vegeta-<version>/ once; prints the binary's path last.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../deploy/build-go-tool.sh" "$here/vegeta-tool" github.com/tsenart/vegeta/v12 github.com/tsenart/vegeta/v12 vegeta
