//! The notification services: their options (`service.<type>[.<name>]` in the ConfigMap) and,
//! for each, pure functions from a rendered [`Notification`](crate::template::Notification) to
//! the request values that [`send`](crate::send) performs.

pub mod email;
pub mod github;
pub mod slack;
pub mod webhook;

use crate::sensitive::Sensitive;
use serde::Deserialize;
use std::fmt;

/// A configured service.
#[derive(Debug, Clone)]
pub enum Service {
    Webhook(webhook::WebhookOptions),
    Slack(slack::SlackOptions),
    GitHub(github::GitHubOptions),
    Email(email::EmailOptions),
}

/// The service types this crate sends to.
pub const SUPPORTED: &[&str] = &["webhook", "slack", "github", "email"];

impl Service {
    /// Reads the options of a service of type `kind`; None when the type is not supported.
    pub fn from_options(
        kind: &str,
        options: serde_json::Value,
    ) -> Option<Result<Service, serde_json::Error>> {
        Some(match kind {
            "webhook" => serde_json::from_value(options).map(Service::Webhook),
            "slack" => serde_json::from_value(options).map(Service::Slack),
            "github" => serde_json::from_value(options).map(Service::GitHub),
            "email" => serde_json::from_value(options).map(Service::Email),
            _ => return None,
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Service::Webhook(_) => "webhook",
            Service::Slack(_) => "slack",
            Service::GitHub(_) => "github",
            Service::Email(_) => "email",
        }
    }
}

/// One HTTP request to make. The URL and header values may carry credentials, so they are
/// [`Sensitive`] and `Debug` shows only the method and the header names.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: Sensitive,
    pub headers: Vec<(String, Sensitive)>,
    pub body: String,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl HttpRequest {
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        HttpRequest {
            method: method.to_string(),
            url: Sensitive::new(url),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), Sensitive::new(value)));
        self
    }

    pub fn json(self, body: &serde_json::Value) -> Self {
        let mut request = self.header("Content-Type", "application/json; charset=utf-8");
        request.body = body.to_string();
        request
    }

    /// The value of header `name` (case-insensitive), for tests and checks.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.expose())
    }
}

/// What a service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// A request could not be built from the notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to build the {service} request: {message}")]
pub struct BuildError {
    pub service: &'static str,
    pub message: String,
}

impl BuildError {
    pub fn new(service: &'static str, message: impl Into<String>) -> Self {
        BuildError {
            service,
            message: message.into(),
        }
    }
}

/// A number that YAML may give as a number or as a string (Argo CD's `appID: "123"`, or a
/// value substituted from the Secret, which is always a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lenient<T>(pub T);

impl<'de, T> Deserialize<'de> for Lenient<T>
where
    T: std::str::FromStr + TryFrom<u64>,
{
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        let invalid = || serde::de::Error::custom("expected a whole number");
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => T::try_from(n).map(Lenient).map_err(|_| invalid()),
            Raw::Text(s) => s.trim().parse().map(Lenient).map_err(|_| invalid()),
        }
    }
}

/// `base` and `path` joined with exactly one `/` (Argo CD's webhook path rule).
pub fn join_url(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_string();
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
