//go:build tools

// Pins the OCI registry (CNCF distribution) the chart tests push to and pull from.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
