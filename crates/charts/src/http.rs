//! HTTP(S) requests to chart repositories and registries: basic auth, client certificates,
//! extra CAs or no verification, conditional requests, size caps. Blocking: call it from a
//! blocking thread.

use crate::credentials::HelmCredentials;
use driftless_source::redact_url;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{ETAG, HeaderMap, IF_NONE_MATCH};
use std::io::Read;
use std::time::Duration;

/// No index or archive is allowed to be bigger (the largest public indexes are ~20 MB).
pub const MAX_BODY_BYTES: u64 = 128 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("failed to set up TLS for {url}: {message}")]
    Tls { url: String, message: String },
    #[error("failed to reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error(
        "failed to authenticate to {url}: the server answered {status} (check the repository credentials)"
    )]
    Unauthorized { url: String, status: u16 },
    #[error("failed to fetch {url}: the server answered {status}")]
    Status { url: String, status: u16 },
    #[error("failed to fetch {url}: the body is larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
}

impl HttpError {
    /// The HTTP status, when the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { status, .. } | Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What a GET returned.
#[derive(Debug)]
pub enum Fetched {
    /// `If-None-Match` held: the cached copy is current.
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        headers: HeaderMap,
    },
}

/// Builds a client for one set of credentials (certificates live in the client).
pub fn client(url: &str, credentials: &HelmCredentials) -> Result<Client, HttpError> {
    let tls = |message: String| HttpError::Tls {
        url: redact_url(url),
        message,
    };
    let mut builder = Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("driftless/", env!("CARGO_PKG_VERSION")));
    if credentials.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(ca) = credentials.ca_pem.as_deref() {
        for cert in reqwest::Certificate::from_pem_bundle(ca.as_bytes())
            .map_err(|e| tls(format!("the CA certificates do not parse: {e}")))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let (Some(cert), Some(key)) = (
        credentials.tls_client_cert.as_deref(),
        credentials.tls_client_key.as_deref(),
    ) {
        let identity = reqwest::Identity::from_pkcs8_pem(cert.as_bytes(), key.as_bytes())
            .map_err(|e| tls(format!("the client certificate or key does not parse: {e}")))?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|e| tls(format!("failed to build the HTTP client: {e}")))
}

/// Sends `request` (with basic auth when `auth` has it) and reads the body up to the cap.
pub fn send(
    request: RequestBuilder,
    url: &str,
    auth: Option<&HelmCredentials>,
    if_none_match: Option<&str>,
) -> Result<Fetched, HttpError> {
    let mut request = request;
    if let Some((user, password)) = auth.and_then(HelmCredentials::basic_auth) {
        request = request.basic_auth(user, Some(password));
    }
    if let Some(etag) = if_none_match {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let response = request.send().map_err(|e| unreachable(url, &e))?;
    read_response(response, url)
}

pub fn unreachable(url: &str, error: &reqwest::Error) -> HttpError {
    HttpError::Unreachable {
        url: redact_url(url),
        message: without_url(error),
    }
}

/// The body of a response (capped), or the error its status means.
pub fn read_response(
    response: reqwest::blocking::Response,
    url: &str,
) -> Result<Fetched, HttpError> {
    let shown = redact_url(url);
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(HttpError::Unauthorized {
            url: shown,
            status: status.as_u16(),
        });
    }
    if !status.is_success() {
        return Err(HttpError::Status {
            url: shown,
            status: status.as_u16(),
        });
    }
    let headers = response.headers().clone();
    let etag = headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut bytes = Vec::new();
    response
        .take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| HttpError::Unreachable {
            url: shown.clone(),
            message: format!("failed to read the body: {e}"),
        })?;
    if bytes.len() as u64 > MAX_BODY_BYTES {
        return Err(HttpError::TooLarge {
            url: shown,
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(Fetched::Body {
        bytes,
        etag,
        headers,
    })
}

/// reqwest's message and its causes, with its own copy of the URL (which may hold
/// credentials) taken out: the caller names the URL, redacted.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    match error.url() {
        Some(url) => text
            .replace(&format!(" for url ({url})"), "")
            .replace(url.as_str(), "<url>"),
        None => text,
    }
}
