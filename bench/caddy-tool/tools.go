//go:build tools

// Package tools pins the Caddy release the benchmark measures as a Go
// reverse-proxy peer. Only its go.mod/go.sum matter: bench/build-caddy.sh
// builds the binary from this module graph into a cache folder outside the repo.
package tools

import _ "github.com/caddyserver/caddy/v2/cmd/caddy"
