//go:build tools

// Package tools pins the Consul release the tests and the dev stack run.
// Only its go.mod/go.sum matter: deploy/build-consul.sh builds the binary
// from this module graph into a cache folder outside the repo.
package tools

import _ "github.com/hashicorp/consul"
