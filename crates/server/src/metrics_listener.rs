//! The metrics listener (`serve --metrics-listen`): plain HTTP `/metrics` for Prometheus, apart
//! from the API, so that a scrape needs neither the API's login nor its stores. Secured as
//! Kubernetes' own components secure theirs: the bearer token is checked with a TokenReview,
//! and its holder must be allowed `get` on the non-resource URL `/metrics` (a
//! SubjectAccessReview), which a ClusterRole grants.

use crate::ServerError;
use crate::auth::identity::{AuthError, Caller, ReviewCache};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use std::net::SocketAddr;
use std::sync::Arc;

/// The metrics, in Prometheus's text format, as of the scrape.
pub type MetricsText = Arc<dyn Fn() -> String + Send + Sync>;

/// The path scraped, and the non-resource URL a caller must be allowed to `get`.
pub const PATH: &str = "/metrics";

pub struct MetricsListener {
    listener: tokio::net::TcpListener,
    scrape: Arc<Scrape>,
}

struct Scrape {
    client: kube::Client,
    metrics: MetricsText,
    reviews: ReviewCache,
}

impl MetricsListener {
    /// `client` asks the API server about tokens (TokenReview, SubjectAccessReview).
    pub async fn bind(
        address: SocketAddr,
        client: kube::Client,
        metrics: MetricsText,
    ) -> Result<Self, ServerError> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Listen { address, source })?;
        let scrape = Arc::new(Scrape {
            client,
            metrics,
            reviews: ReviewCache::default(),
        });
        Ok(Self { listener, scrape })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until the listener fails.
    pub async fn run(self) -> Result<(), ServerError> {
        let router = Router::new()
            .route(PATH, get(scrape))
            .with_state(self.scrape);
        axum::serve(self.listener, router)
            .await
            .map_err(|e| ServerError::Stopped(e.to_string()))
    }
}

async fn scrape(State(scrape): State<Arc<Scrape>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return refused(StatusCode::UNAUTHORIZED, &AuthError::Missing.to_string());
    };
    let caller = match scrape.reviews.review(&scrape.client, token).await {
        Ok(caller) => caller,
        Err(AuthError::Review(message)) => {
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("failed to review the token: {message}"),
            );
        }
        Err(error) => return refused(StatusCode::UNAUTHORIZED, &error.to_string()),
    };
    match may_scrape(&scrape.client, &caller).await {
        Ok(true) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            (scrape.metrics)(),
        )
            .into_response(),
        Ok(false) => refused(
            StatusCode::FORBIDDEN,
            &format!("{} may not get {PATH}", caller.name),
        ),
        Err(error) => refused(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "failed to ask whether {} may get {PATH}: {error}",
                caller.name
            ),
        ),
    }
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// Whether the API server's authorizer lets `caller` get the non-resource URL `/metrics`.
async fn may_scrape(client: &kube::Client, caller: &Caller) -> Result<bool, kube::Error> {
    let reviews: kube::Api<SubjectAccessReview> = kube::Api::all(client.clone());
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(caller.name.clone()),
            groups: Some(caller.groups.clone()),
            non_resource_attributes: Some(NonResourceAttributes {
                path: Some(PATH.to_string()),
                verb: Some("get".to_string()),
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = reviews
        .create(&kube::api::PostParams::default(), &review)
        .await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}
