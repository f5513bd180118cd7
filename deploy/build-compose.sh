#!/usr/bin/env bash
# Builds the pinned Docker Compose v2 release (deploy/compose-tool/go.mod) into
# ~/.cache/gatehouse/docker-compose-<version>/ once; prints the binary's path
# last. deploy/install-docker.sh installs it as the docker CLI's compose plugin.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
module=github.com/docker/compose/v2
version="$(sed -n "s|^require ${module//./\\.} \(v[0-9.]*\)$|\1|p" "$here/compose-tool/go.mod")"
# Without the version stamped in, `docker compose version` says "dev".
exec bash "$here/build-go-tool.sh" "$here/compose-tool" "$module" "$module/cmd" docker-compose \
  "-X $module/internal.Version=$version"
