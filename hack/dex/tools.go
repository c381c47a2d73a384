//go:build tools

// Pins Dex, the OpenID Connect provider the login tests sign in against (crates/testkit/src/dex.rs).
// Dex's own go.mod names its module github.com/dexidp/dex without a /v2 suffix, so its v2.x.y tags
// are not versions the module proxy serves: go.mod pins the pseudo-version of the release commit
// (v2.45.1 = 11d2eeb52b42). Its `replace github.com/dexidp/dex/api/v2 => ./api/v2` applies only
// inside Dex's own tree; here api/v2 comes from the proxy as its own published module.
package tools

import _ "github.com/dexidp/dex/cmd/dex"
