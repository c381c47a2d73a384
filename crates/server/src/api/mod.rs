//! The JSON API under `/api/v1`, and the routes of the whole server.

pub mod account;
pub mod applications;
pub mod audit;
pub mod generate;
pub mod index;
pub mod manifests;
pub mod projects;
pub mod query;
pub mod selector;
pub mod settings;
pub mod stream;

use crate::auth::identity::Caller;
use crate::state::Shared;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::time::Duration;

/// The OpenAPI description of this API, served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Largest request body outside the webhook.
const MAX_BODY: usize = 1024 * 1024;
/// A request (headers and body) must arrive and be answered within this; the live stream is
/// exempt (it is meant to stay open).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn router(state: Shared) -> Router {
    use applications as apps;
    let api = Router::new()
        .route(
            "/api/v1/session",
            post(crate::auth::login::login).delete(crate::auth::login::logout),
        )
        .route(
            "/api/v1/session/userinfo",
            get(crate::auth::login::userinfo),
        )
        .route(
            "/api/v1/account/can-i/{resource}/{action}/{*object}",
            get(account::can_i),
        )
        .route("/api/v1/applications", get(apps::list))
        .route(
            "/api/v1/applications/{name}",
            get(apps::get).delete(apps::delete),
        )
        .route("/api/v1/applications/{name}/sync", post(apps::sync))
        .route("/api/v1/applications/{name}/rollback", post(apps::rollback))
        .route(
            "/api/v1/applications/{name}/operation",
            axum::routing::delete(apps::terminate),
        )
        .route("/api/v1/applications/{name}/events", get(apps::events))
        .route("/api/v1/applications/{name}/history", get(apps::history))
        .route(
            "/api/v1/applications/{name}/manifests",
            get(manifests::manifests),
        )
        .route("/api/v1/applications/{name}/diff", get(manifests::diff))
        .route(
            "/api/v1/applications/{name}/tree-diff",
            get(manifests::tree_diff),
        )
        .route(
            "/api/v1/applications/{name}/resource-tree",
            get(apps::resources),
        )
        .route("/api/v1/projects", get(projects::list_projects))
        .route("/api/v1/projects/{name}", get(projects::get_project))
        .route("/api/v1/applicationsets", get(projects::list_appsets))
        .route("/api/v1/applicationsets/generate", post(generate::generate))
        .route("/api/v1/applicationsets/{name}", get(projects::get_appset))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/audit/{seq}", get(audit::get))
        .route("/api/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    let webhook = Router::new()
        .route("/api/webhook", post(crate::webhook::receive))
        .layer(DefaultBodyLimit::max(crate::webhook::MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    Router::new()
        .merge(api)
        .merge(webhook)
        .route("/api/v1/stream/applications", get(stream::applications))
        .route("/api/v1/settings", get(settings::settings))
        .route("/auth/login", get(crate::auth::oidc::flow::login))
        .route(
            crate::auth::oidc::flow::CALLBACK_PATH,
            get(crate::auth::oidc::flow::callback),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .merge(crate::ui::router())
        .with_state(state)
}

/// `GET /metrics`: the controller's metrics (Prometheus's text format), for a caller who may
/// `get` every application (`applications, get, */*`): they name every app.
async fn metrics(
    axum::extract::State(state): axum::extract::State<Shared>,
    caller: Caller,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), crate::error::ApiError> {
    crate::auth::authorize(&state, &caller, "applications", "get", "*/*").await?;
    let engine = state.engine.as_ref().ok_or_else(|| {
        crate::error::ApiError::unavailable("this server runs no controller to report on")
    })?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        engine.metrics(),
    ))
}

async fn openapi(_caller: Caller) -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// Ready once the stores have their first listing.
async fn ready(
    axum::extract::State(state): axum::extract::State<Shared>,
) -> (StatusCode, &'static str) {
    use futures::FutureExt;
    let ready = state.stores.ready().now_or_never().is_some();
    if ready {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the watches have not listed yet",
        )
    }
}
