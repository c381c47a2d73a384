//! Single sign-on through an OpenID Connect provider, configured as Argo CD's `oidc.config`:
//! the browser's code flow ([`flow`]), ID tokens checked against the provider's keys
//! ([`verify`], pure), the provider over HTTP ([`provider`]), and the configuration
//! ([`config`], pure). An ID token is accepted as a bearer token or the `argocd.token`
//! cookie, so the CLI (which runs the flow itself, as a public client) and the browser use the
//! same check.

pub mod config;
pub mod flow;
pub mod provider;
pub mod verify;
