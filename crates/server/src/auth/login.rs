//! `POST /api/v1/session` (a password login for a local account, answered with a session
//! token, also set as the `argocd.token` cookie), `DELETE /api/v1/session` (log out: the
//! session's id is revoked) and `GET /api/v1/session/userinfo`.

use super::accounts::Capability;
use super::identity::{Caller, Via};
use super::tokens;
use crate::error::ApiError;
use crate::state::{Shared, lock, now};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::OnceLock;

/// How long a session lasts (Argo CD's default `users.session.duration`).
pub const SESSION_SECONDS: i64 = 24 * 3600;
const MAX_USERNAME: usize = 32;
const INVALID: &str = "Invalid username or password";

#[derive(Deserialize)]
pub struct LoginRequest {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

pub async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    if request.password.is_empty() {
        return Err(ApiError::unauthorized("a password is required"));
    }
    if request.username.len() > MAX_USERNAME {
        return Err(ApiError::bad_request(format!(
            "a username is at most {MAX_USERNAME} characters"
        )));
    }
    let address = peer.ip();
    if let Err(throttled) = lock(&state.throttle).admit(&request.username, address, now()) {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins; try again later",
        );
        error.retry_after = Some(throttled.retry_after_seconds);
        tracing::warn!(user = %request.username, %address, by_address = throttled.by_address, "login throttled");
        return Err(error);
    }
    let snapshot = state
        .settings
        .snapshot()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let account = snapshot.accounts.get(&request.username).cloned();
    // An unknown user costs the same bcrypt time as a known one: no user enumeration by timing.
    let hash = account
        .as_ref()
        .and_then(|a| a.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let password = request.password;
    let matches =
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false);
    let account = match account {
        Some(account) if matches && account.password_hash.is_some() => account,
        _ => {
            lock(&state.throttle).failed(&request.username, address, now());
            tracing::info!(user = %request.username, %address, "login failed");
            return Err(ApiError::unauthorized(INVALID));
        }
    };
    if !account.enabled {
        return Err(ApiError::unauthorized(format!(
            "account {} is disabled",
            account.name
        )));
    }
    if !account.can(Capability::Login) {
        return Err(ApiError::unauthorized(format!(
            "account {} does not have the login capability",
            account.name
        )));
    }
    lock(&state.throttle).succeeded(&account.name);
    let token = tokens::issue(
        &snapshot.signing_key,
        &format!("{}:login", account.name),
        &tokens::new_id(),
        now(),
        Some(SESSION_SECONDS),
    )
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    tracing::info!(user = %account.name, %address, "logged in");
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={SESSION_SECONDS}",
        super::COOKIE
    );
    let mut headers = HeaderMap::new();
    if let Ok(value) = cookie.parse() {
        headers.insert(header::SET_COOKIE, value);
    }
    Ok((headers, Json(serde_json::json!({"token": token}))).into_response())
}

/// Logs the session out: its id is refused from now on (until it would have expired).
pub async fn logout(
    State(state): State<Shared>,
    method: axum::http::Method,
    request_headers: HeaderMap,
) -> Result<Response, ApiError> {
    if super::csrf::forged(&method, &request_headers) {
        return Err(ApiError::forbidden(super::csrf::REFUSED));
    }
    let token =
        super::bearer(&request_headers).ok_or_else(|| ApiError::unauthorized("no session"))?;
    let caller = super::authenticate(&state, &token).await?;
    if caller.via == Via::Sso {
        // Refused from now on, until the provider's own expiry makes it worthless anyway.
        let expiry =
            super::oidc::verify::unverified_expiry(&token).unwrap_or(now() + SESSION_SECONDS);
        let mut revoked = lock(&state.revoked);
        let current = now();
        revoked.retain(|_, expiry| *expiry > current);
        revoked.insert(super::sso_revocation_id(&token), expiry);
    }
    if caller.via == Via::Session {
        let snapshot = state
            .settings
            .snapshot()
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        if let Ok(claims) = tokens::verify(&snapshot.signing_key, &token, now()) {
            let mut revoked = lock(&state.revoked);
            let current = now();
            revoked.retain(|_, expiry| *expiry > current);
            revoked.insert(
                claims.id,
                claims.expires_at.unwrap_or(current + SESSION_SECONDS),
            );
        }
    }
    let cookie = format!(
        "{}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        super::COOKIE
    );
    let mut headers = HeaderMap::new();
    if let Ok(value) = cookie.parse() {
        headers.insert(header::SET_COOKIE, value);
    }
    Ok((headers, Json(serde_json::json!({}))).into_response())
}

pub async fn userinfo(State(state): State<Shared>, caller: Caller) -> Json<serde_json::Value> {
    let issuer = match caller.via {
        Via::Kubernetes => "kubernetes".to_string(),
        Via::Sso => match state
            .settings
            .snapshot()
            .await
            .ok()
            .and_then(|s| s.oidc.clone())
        {
            Some(Ok(config)) => config.issuer,
            _ => String::new(),
        },
        _ => tokens::ISSUER.to_string(),
    };
    Json(serde_json::json!({
        "loggedIn": true,
        "username": caller.name,
        "groups": caller.groups,
        "iss": issuer,
    }))
}

/// A bcrypt hash of nothing anyone knows, checked for unknown users.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let secret: [u8; 16] = rand::random();
        bcrypt::hash(secret, bcrypt::DEFAULT_COST).unwrap_or_default()
    })
}
