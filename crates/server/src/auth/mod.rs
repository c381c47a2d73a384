//! Authentication (who is calling) and authorization (may they), for every endpoint but the
//! health checks and the signature-verified webhook.

pub mod accounts;
pub mod identity;
pub mod login;
pub mod throttle;
pub mod tokens;

use crate::error::ApiError;
use crate::state::{Shared, now};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use identity::{AuthError, Caller, Via};

/// The cookie a browser session carries (Argo CD's name).
pub const COOKIE: &str = "argocd.token";

/// The bearer token of a request: the Authorization header, else the session cookie.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION)
        && let Ok(text) = value.to_str()
        && let Some(token) = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
    {
        return Some(token.trim().to_string());
    }
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized(AuthError::Missing.to_string()))?;
        authenticate(state, &token).await
    }
}

pub async fn authenticate(state: &Shared, token: &str) -> Result<Caller, ApiError> {
    let snapshot = state
        .settings
        .snapshot()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let project = |name: &str| state.stores.project(name);
    let revoked = |id: &str| crate::state::lock(&state.revoked).contains_key(id);
    let unauthorized = |e: AuthError| ApiError::unauthorized(e.to_string());
    match identity::check_own_token(&snapshot, &project, &revoked, token, now()) {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => state
            .reviews
            .review(&state.client, token)
            .await
            .map_err(|e| match e {
                AuthError::Review(_) => ApiError::unavailable(e.to_string()),
                other => unauthorized(other),
            }),
        Err(error) => Err(unauthorized(error)),
    }
}

/// Refuses with 403 naming the missing permission unless the policy (argocd-rbac-cm and the
/// projects' roles) lets `caller` take `action` on `resource` `object`.
pub async fn authorize(
    state: &Shared,
    caller: &Caller,
    resource: &str,
    action: &str,
    object: &str,
) -> Result<(), ApiError> {
    crate::policy::Judge::new(state, caller)
        .await?
        .check(resource, action, object)
}

/// Whether the caller is one whose session can be logged out (a password login).
pub fn is_session(caller: &Caller) -> bool {
    caller.via == Via::Session
}
