//go:build tools

// Package tools pins the vegeta release the benchmark uses for open-loop
// load (a fixed request rate, so p99 compares at equal load and a slow
// server cannot slow its own load down). bench/build-vegeta.sh builds it
// into a cache folder outside the repo.
package tools

import _ "github.com/tsenart/vegeta/v12"
