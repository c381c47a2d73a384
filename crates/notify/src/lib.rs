//! Notifications in Argo CD's model, configured as Argo CD configures them: the ConfigMap
//! `argocd-notifications-cm` and the Secret `argocd-notifications-secret` in the controller's
//! namespace, subscriptions in annotations of Applications and AppProjects, and the notified
//! state in the app's `notified.notifications.argoproj.io` annotation.
//!
//! - Configuration ([`config`]): `service.<type>[.<name>]` (string values may name a Secret
//!   key as `$key`), `template.<name>`, `trigger.<name>`, `defaultTriggers`,
//!   `defaultTriggers.<service>`, `subscriptions` and `context`.
//! - Subscriptions ([`subscriptions`]): `notifications.argoproj.io/subscribe.<trigger>.<service>`,
//!   `notifications.argoproj.io/subscriptions` and the older
//!   `recipients.argocd-notifications.argoproj.io`; global subscriptions with label selectors.
//! - Conditions ([`triggers`], [`expression`]): `when` and `oncePer` in expr-lang.
//! - Templates ([`template`]): Go templates over `.app`, `.appProject`, `.context`,
//!   `.serviceType`, `.recipient`.
//! - Services ([`services`]): `webhook`, `slack` (Web API or incoming webhook), `github`
//!   (commit statuses as a GitHub App) and `email` (SMTP).
//! - The pure core ([`engine`]: what to send, the state to keep), the I/O edge and retries
//!   ([`send`]), and the task `driftless serve` runs ([`notifier`]).
//!
//! # The `when` subset
//!
//! Conditions are expr-lang, evaluated by the `expr-lang` crate with Go-compatible
//! semantics: literals (strings in `'…'`, `"…"` or `` `…` ``, numbers, `true`, `false`,
//! `nil`, arrays `[…]`, maps `{k: v}`), member access `a.b`, `a["b"]`, optional chaining
//! `a?.b`, `??`, `a ? b : c`, `if … {…} else {…}`, `let x = …;`, the operators `==`, `!=`,
//! `<`, `<=`, `>`, `>=`, `+`, `-`, `*`, `/`, `%`, `**`, `and`, `or`, `not`, `&&`, `||`, `!`,
//! `in`, `not in`, `contains`, `startsWith`, `endsWith`, `matches`, `..`, predicates
//! (`all(list, {# > 0})`, `filter(list, .x == 1)`), and these builtins:
//! [`expression::FUNCTIONS`]; methods of times and durations: [`expression::METHODS`].
//! The only variable is `app`. Of Argo CD's Go helpers, `time.Now()`, `time.Parse(s)`
//! (RFC 3339), the duration constants `time.Nanosecond` … `time.Hour`, the layout constants
//! (`time.RFC3339` …), and `strings.ToUpper`, `strings.ToLower`, `strings.ReplaceAll` are
//! supported; `repo.*` and `sync.*` (which need Argo CD's repository server) and every other
//! helper are not.
//!
//! An expression outside the subset is refused before it runs, with an error naming what is
//! not supported; `driftless serve` logs it once, naming the trigger, and that condition never
//! fires (nor is its state forgotten). An expression that fails while running (`.phase` of a
//! missing `operationState`) counts as false, as in Argo CD.
//!
//! # Templates
//!
//! Rendered by the ApplicationSet controller's Go template engine: Go `text/template` with
//! Sprig's functions (see `driftless_appset::gotemplate` for what is there); a missing key
//! prints `<no value>`. Argo CD's `call .repo.…`, `call .time.…`, `call .strings.…` and
//! `.secrets` are not available.
//!
//! # Differences from Argo CD
//!
//! - A delivery that failed all its tries is tried again at the app's next evaluation (Argo
//!   CD drops it for a trigger with `oncePer`).
//! - One key that does not parse leaves out that key, not the whole configuration.
//! - A trigger may be written as one condition instead of a list.
//! - Only the four services above; the GitHub service sets commit statuses only (no
//!   deployments, pull request comments or check runs).
//! - No self-service configuration in the apps' namespaces; no `argocd-tls-certs-cm`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
mod config_watch;
pub mod engine;
pub mod expression;
pub mod notifier;
pub mod send;
pub mod sensitive;
pub mod services;
pub mod state;
pub mod subscriptions;
pub mod template;
pub mod triggers;
mod watched;

#[cfg(test)]
mod catalog_tests;

pub use config::{NotifyConfig, Parsed, parse};
pub use engine::{Delivery, Finding, Plan, plan};
pub use notifier::{AppFilter, Leader, Notifier, NotifierConfig, NotifyError};
pub use send::{NetTransport, Retry, SendError, Transport};
