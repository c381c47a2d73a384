//! `POST /api/webhook`: a git server announces a push. The request is checked against the
//! secret argocd-secret holds for its provider (a wrong or missing signature is 401 and
//! triggers nothing), limited in size and rate, and then the repositories it names are
//! checked at once instead of at the next poll.

use crate::error::ApiError;
use crate::state::{Shared, lock, now};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use driftless_webhook::{Event, Headers, Secrets};
use serde_json::{Value, json};

/// Largest payload read (GitHub caps its deliveries at 25 MB; pushes are far smaller).
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Webhook requests admitted per second, all senders together.
pub const PER_SECOND: u32 = 50;

pub async fn receive(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    admit(&state)?;
    let snapshot = state
        .settings
        .snapshot()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let secrets = Secrets::from_secret_data(&snapshot.secret);
    let mut request_headers = Headers::new();
    for (name, value) in &headers {
        if let Ok(value) = value.to_str() {
            request_headers.insert(name.as_str(), value);
        }
    }
    let delivery =
        driftless_webhook::verify(&secrets, &request_headers, &body).map_err(|refusal| {
            tracing::warn!(%refusal, "webhook refused");
            ApiError::unauthorized(refusal.to_string())
        })?;
    let event = driftless_webhook::read_body(&delivery, &body)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let push = match event {
        Event::Ping => return Ok(Json(json!({"refreshed": 0, "ping": true}))),
        Event::Push(push) => push,
    };
    let Some(engine) = state.engine.as_ref() else {
        return Err(ApiError::unavailable(
            "this server runs no controller to check repositories",
        ));
    };
    let refreshed = engine.check(push.repositories.clone()).await;
    tracing::info!(provider = %delivery.provider, repositories = ?push.repositories, apps = refreshed, "webhook received");
    Ok(Json(json!({"refreshed": refreshed})))
}

fn admit(state: &Shared) -> Result<(), ApiError> {
    let mut budget = lock(&state.webhook_budget);
    let second = now();
    if budget.0 != second {
        *budget = (second, 0);
    }
    if budget.1 >= PER_SECOND {
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too many webhook requests");
        error.retry_after = Some(1);
        return Err(error);
    }
    budget.1 += 1;
    Ok(())
}
