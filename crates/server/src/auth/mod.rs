//! Authentication (who is calling) and authorization (may they), for every endpoint but the
//! health checks and the signature-verified webhook.

pub mod accounts;
pub mod csrf;
pub mod identity;
pub mod login;
pub mod oidc;
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
    cookie(headers, COOKIE)
}

/// The value of the cookie `name`, if the request carries it.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        if csrf::forged(&parts.method, &parts.headers) {
            return Err(ApiError::forbidden(csrf::REFUSED));
        }
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
        Ok(None) if is_sso_token(&snapshot, token) => sso(state, &snapshot, token).await,
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

/// Whether the token claims to come from the configured OIDC provider.
fn is_sso_token(snapshot: &crate::settings::Snapshot, token: &str) -> bool {
    match (&snapshot.oidc, oidc::verify::unverified_issuer(token)) {
        (Some(Ok(config)), Some(issuer)) => issuer.trim_end_matches('/') == config.issuer,
        _ => false,
    }
}

/// The caller an ID token of the provider stands for, unless it was logged out.
async fn sso(
    state: &Shared,
    snapshot: &crate::settings::Snapshot,
    token: &str,
) -> Result<Caller, ApiError> {
    let Some(Ok(config)) = &snapshot.oidc else {
        return Err(ApiError::unauthorized(
            oidc::provider::OidcError::NotConfigured.to_string(),
        ));
    };
    if crate::state::lock(&state.revoked).contains_key(&sso_revocation_id(token)) {
        return Err(ApiError::unauthorized(AuthError::Revoked.to_string()));
    }
    let provider = state
        .oidc
        .get(config)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let claims = provider.verify(token, now()).await.map_err(|e| match e {
        oidc::provider::OidcError::IdToken(reason) => {
            ApiError::unauthorized(AuthError::Sso(reason).to_string())
        }
        other => ApiError::unavailable(other.to_string()),
    })?;
    Ok(oidc::verify::caller(&claims, &snapshot.policy))
}

/// ID tokens carry no id of their own: a logged-out one is remembered by its hash.
pub fn sso_revocation_id(token: &str) -> String {
    use sha2::Digest;
    format!(
        "sso:{}",
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    )
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
