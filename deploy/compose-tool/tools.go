//go:build tools

// Package tools pins the Docker Compose v2 release that `npm run test:compose`
// drives. Only its go.mod/go.sum matter: deploy/build-compose.sh builds the
// binary from this module graph into a cache folder outside the repo and
// deploy/install-docker.sh installs it as a docker CLI plugin.
package tools

import _ "github.com/docker/compose/v2/cmd"
