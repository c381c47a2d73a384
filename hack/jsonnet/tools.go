//go:build tools

// Pins go-jsonnet, the reference Jsonnet implementation the Jsonnet tests compare against.
package tools

import _ "github.com/google/go-jsonnet/cmd/jsonnet"
