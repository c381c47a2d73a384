//! Sending: the I/O edge ([`Transport`]: HTTP and SMTP) behind the pure request builders,
//! and the retries. A failed try is tried again after 1 s, then 2 s (3 tries in all by
//! default) when it may pass later: no answer, a 5xx or 429 answer, a mail server that could
//! not be reached or answered with a transient error. Errors never carry a URL, a header
//! value, a token or a password.

use crate::sensitive::Sensitive;
use crate::services::{
    BuildError, HttpRequest, HttpResponse, Service, email, github, slack, webhook,
};
use crate::template::Notification;
use futures::future::BoxFuture;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The reqwest error has its URL removed.
    #[error("failed to reach the {service} service: {source}")]
    Unreachable {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("the {service} service answered HTTP {status}")]
    Status { service: &'static str, status: u16 },
    #[error("slack refused the message: {0}")]
    SlackRefused(String),
    #[error("github keeps no more statuses for this commit and context (HTTP 422)")]
    TooManyStatuses,
    #[error("failed to send mail: {0}")]
    Mail(#[source] lettre::transport::smtp::Error),
}

impl SendError {
    /// Whether another try may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            SendError::Unreachable { .. } => true,
            SendError::Status { status, .. } => *status >= 500 || *status == 429,
            SendError::Mail(error) => !error.is_permanent() && !error.is_client(),
            SendError::Build(_) | SendError::SlackRefused(_) | SendError::TooManyStatuses => false,
        }
    }
}

/// The I/O edge: one HTTP request, or one mail.
pub trait Transport: Send + Sync {
    fn http(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, SendError>>;
    fn mail(
        &self,
        options: &email::EmailOptions,
        mail: email::Mail,
    ) -> BoxFuture<'_, Result<(), SendError>>;
}

/// Requests over reqwest (rustls with the ring provider), mail over lettre.
#[derive(Debug, Clone)]
pub struct NetTransport {
    client: reqwest::Client,
}

impl NetTransport {
    pub fn new() -> Result<Self, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("driftless/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(NetTransport { client })
    }
}

impl Transport for NetTransport {
    fn http(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
        Box::pin(async move {
            let service = "http";
            let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
                BuildError::new(service, format!("{:?} is not a method", request.method))
            })?;
            let mut builder = self.client.request(method, request.url.expose());
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.expose());
            }
            let response =
                builder
                    .body(request.body)
                    .send()
                    .await
                    .map_err(|e| SendError::Unreachable {
                        service,
                        source: e.without_url(),
                    })?;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            Ok(HttpResponse { status, body })
        })
    }

    fn mail(
        &self,
        options: &email::EmailOptions,
        mail: email::Mail,
    ) -> BoxFuture<'_, Result<(), SendError>> {
        let options = options.clone();
        Box::pin(async move {
            use lettre::AsyncTransport;
            let message = email::message(&mail)?;
            let transport = email::transport(&options)?;
            transport.send(message).await.map_err(SendError::Mail)?;
            Ok(())
        })
    }
}

/// How often, and how far apart, a delivery is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub tries: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub first_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            tries: 3,
            first_wait: Duration::from_secs(1),
        }
    }
}

fn check(service: &'static str, response: HttpResponse) -> Result<HttpResponse, SendError> {
    if (200..300).contains(&response.status) {
        Ok(response)
    } else {
        Err(SendError::Status {
            service,
            status: response.status,
        })
    }
}

/// Sends `notification` to `recipient` through `service` (named `name`) once.
pub async fn send_once(
    transport: &dyn Transport,
    name: &str,
    service: &Service,
    notification: &Notification,
    recipient: &str,
    now_unix: i64,
) -> Result<(), SendError> {
    match service {
        Service::Webhook(options) => {
            let request = webhook::request(options, name, notification);
            check("webhook", transport.http(request).await?)?;
        }
        Service::Slack(options) => {
            let request = slack::request(options, notification, recipient)?;
            let response = check("slack", transport.http(request).await?)?;
            if let Some(error) = slack::refusal(options, &response) {
                return Err(SendError::SlackRefused(error));
            }
        }
        Service::GitHub(options) => {
            if notification
                .github
                .as_ref()
                .and_then(|g| g.status.as_ref())
                .is_none()
            {
                // Deployments, comments and check runs are not sent (yet): nothing to do.
                return Ok(());
            }
            let jwt = github::app_jwt(options, now_unix)?;
            let issued = check(
                "github",
                transport.http(github::token_request(options, &jwt)).await?,
            )?;
            let token: Sensitive = github::read_token(&issued)?;
            if let Some(request) = github::status_request(options, &token, notification)? {
                match transport.http(request).await? {
                    r if r.status == 422 => return Err(SendError::TooManyStatuses),
                    r => {
                        check("github", r)?;
                    }
                }
            }
        }
        Service::Email(options) => {
            let mail = email::mail(options, notification, recipient)?;
            email::message(&mail)?;
            transport.mail(options, mail).await?;
        }
    }
    Ok(())
}

/// [`send_once`] with retries; the last error when every try failed.
pub async fn send(
    transport: &dyn Transport,
    retry: Retry,
    name: &str,
    service: &Service,
    notification: &Notification,
    recipient: &str,
    now_unix: i64,
) -> Result<(), SendError> {
    let mut wait = retry.first_wait;
    let mut tried = 0;
    loop {
        tried += 1;
        match send_once(transport, name, service, notification, recipient, now_unix).await {
            Ok(()) => return Ok(()),
            Err(error) if error.retryable() && tried < retry.tries.max(1) => {
                tracing::debug!(service = name, try_number = tried, %error, "sending failed; trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::webhook::WebhookOptions;
    use std::sync::Mutex;

    /// Answers with the statuses given, in order, and keeps the requests.
    struct Scripted {
        statuses: Mutex<Vec<u16>>,
        seen: Mutex<Vec<HttpRequest>>,
    }

    impl Transport for Scripted {
        fn http(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, SendError>> {
            self.seen.lock().unwrap().push(request);
            let status = self.statuses.lock().unwrap().remove(0);
            Box::pin(async move {
                Ok(HttpResponse {
                    status,
                    body: String::new(),
                })
            })
        }
        fn mail(
            &self,
            _: &email::EmailOptions,
            _: email::Mail,
        ) -> BoxFuture<'_, Result<(), SendError>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn hook() -> Service {
        Service::Webhook(WebhookOptions {
            url: Sensitive::new("http://127.0.0.1:9/hook?token=s3cret"),
            ..Default::default()
        })
    }

    fn quick(tries: u32) -> Retry {
        Retry {
            tries,
            first_wait: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn a_server_error_is_tried_again_until_it_passes() {
        let transport = Scripted {
            statuses: Mutex::new(vec![500, 503, 200]),
            seen: Mutex::default(),
        };
        let note = Notification {
            message: "hi".into(),
            ..Default::default()
        };
        send(&transport, quick(3), "hook", &hook(), &note, "", 0)
            .await
            .unwrap();
        assert_eq!(transport.seen.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn after_the_last_try_the_error_names_the_service_but_not_the_url() {
        let transport = Scripted {
            statuses: Mutex::new(vec![500, 500]),
            seen: Mutex::default(),
        };
        let note = Notification::default();
        let error = send(&transport, quick(2), "hook", &hook(), &note, "", 0)
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "the webhook service answered HTTP 500");
        assert!(!format!("{error:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn a_client_error_is_not_tried_again() {
        let transport = Scripted {
            statuses: Mutex::new(vec![404, 200]),
            seen: Mutex::default(),
        };
        let note = Notification::default();
        assert!(
            send(&transport, quick(3), "hook", &hook(), &note, "", 0)
                .await
                .is_err()
        );
        assert_eq!(transport.seen.lock().unwrap().len(), 1);
    }
}
