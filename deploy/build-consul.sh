#!/usr/bin/env bash
# Builds the pinned Consul release (deploy/consul-tool/go.mod) into
# ~/.cache/gatehouse/consul-<version>/ once; prints the binary's path last.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/build-go-tool.sh" "$here/consul-tool" github.com/hashicorp/consul github.com/hashicorp/consul consul
