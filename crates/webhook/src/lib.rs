//! Git push webhooks, decided the way Argo CD's API server decides them (`util/webhook` and the
//! go-playground/webhooks parsers it calls), with the secrets it reads from `argocd-secret`.
//!
//! Three steps, all pure (no I/O, no clock):
//!
//! 1. [`detect`]: the event headers name the sender ([`Provider`]), in Argo CD's order.
//! 2. [`verify`]: the request is authentic for that provider's secret, compared in constant time.
//! 3. [`read_push`]: the authentic payload names repositories, a ref and maybe changed paths.
//!
//! One rule differs from Argo CD on purpose: a provider whose secret is not configured is
//! refused ([`Refusal::NotConfigured`]); Argo CD accepts unsigned requests then. Everything
//! else that is refused here is refused by Argo CD too.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod headers;
mod matching;
mod payload;
mod provider;
mod secrets;
mod verify;

pub use headers::Headers;
pub use matching::web_url_matches;
pub use payload::{Event, PayloadError, Push, read_body, read_push, repository_urls, revision};
pub use provider::{Delivery, Provider, detect};
pub use secrets::{Secret, Secrets};
pub use verify::{Refusal, verify};
