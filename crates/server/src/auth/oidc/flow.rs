//! The browser's single sign-on: `GET /auth/login` sends it to the provider with a state
//! sealed in a short-lived cookie; `GET /auth/callback` checks that state, exchanges the
//! code as the server's client, verifies the ID token and keeps it in the `argocd.token`
//! cookie, as Argo CD does, then returns to the page the login started from.

use super::provider::OidcError;
use crate::auth::tokens;
use crate::error::ApiError;
use crate::state::{Shared, now};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The cookie carrying the login's state between the two requests.
const STATE_COOKIE: &str = "driftless.sso";
/// How long a user may take at the provider.
const STATE_SECONDS: i64 = 300;
pub const CALLBACK_PATH: &str = "/auth/callback";

#[derive(Serialize, Deserialize)]
struct LoginState {
    nonce: String,
    verifier: Option<String>,
    return_to: String,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    return_url: Option<String>,
}

/// What a provider's redirect back carries (OAuth 2.0's authorization response), for the
/// server's callback and the CLI's.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

pub async fn login(
    State(state): State<Shared>,
    request_headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let (snapshot, provider) = provider(&state).await?;
    let nonce = tokens::new_id();
    let verifier = provider
        .config
        .pkce
        .then(|| tokens::new_id() + &tokens::new_id());
    let challenge = verifier.as_deref().map(s256);
    let redirect = callback_url(&state, snapshot.url.as_deref(), &request_headers)?;
    let location = provider
        .authorization_url(
            &provider.config.client_id,
            &redirect,
            &nonce,
            challenge.as_deref(),
        )
        .map_err(bad_gateway)?;
    let sealed = tokens::seal(
        &snapshot.signing_key,
        LoginState {
            nonce,
            verifier,
            return_to: safe_return(query.return_url.as_deref()),
        },
        now() + STATE_SECONDS,
    )
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let cookie = cookie(&state, STATE_COOKIE, &sealed, STATE_SECONDS, CALLBACK_PATH);
    Ok(redirect_with(&location, [cookie]))
}

pub async fn callback(
    State(state): State<Shared>,
    request_headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    if let Some(error) = query.error {
        let detail = query.error_description.unwrap_or_default();
        return Err(ApiError::unauthorized(format!(
            "the identity provider refused the login: {error} {detail}"
        )));
    }
    let (snapshot, provider) = provider(&state).await?;
    let carried = crate::auth::cookie(&request_headers, STATE_COOKIE)
        .and_then(|text| tokens::open::<LoginState>(&snapshot.signing_key, &text, now()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "the login expired or was started in another browser; start it again at /auth/login",
            )
        })?;
    let returned = query.state.unwrap_or_default();
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        returned.as_bytes(),
        carried.nonce.as_bytes(),
    )) {
        return Err(ApiError::bad_request(
            "the login's state does not match; start it again at /auth/login",
        ));
    }
    let code = query
        .code
        .ok_or_else(|| ApiError::bad_request("the identity provider sent no code"))?;
    let redirect = callback_url(&state, snapshot.url.as_deref(), &request_headers)?;
    let answer = provider
        .exchange(&code, &redirect, carried.verifier.as_deref())
        .await
        .map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let id_token = answer
        .id_token
        .ok_or_else(|| ApiError::unauthorized(OidcError::NoIdToken.to_string()))?;
    let claims = provider
        .verify(&id_token, now())
        .await
        .map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let caller = super::verify::caller(&claims, &snapshot.policy);
    tracing::info!(user = %caller.name, groups = ?caller.groups, "logged in through single sign-on");
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - now();
    let session = cookie(&state, crate::auth::COOKIE, &id_token, lifetime.max(0), "/");
    let cleared = cookie(&state, STATE_COOKIE, "", 0, CALLBACK_PATH);
    Ok(redirect_with(&carried.return_to, [session, cleared]))
}

/// The configuration and its provider, or why there is none.
async fn provider(
    state: &Shared,
) -> Result<
    (
        Arc<crate::settings::Snapshot>,
        Arc<super::provider::Provider>,
    ),
    ApiError,
> {
    let snapshot = state
        .settings
        .snapshot()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let config = match &snapshot.oidc {
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                OidcError::NotConfigured.to_string(),
            ));
        }
        Some(Err(error)) => return Err(ApiError::unavailable(error.to_string())),
        Some(Ok(config)) => config.clone(),
    };
    let provider = state.oidc.get(&config).await.map_err(bad_gateway)?;
    Ok((snapshot, provider))
}

fn bad_gateway(error: OidcError) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, error.to_string())
}

/// argocd-cm's `url` and the callback path; without `url`, the address the request came to.
fn callback_url(
    state: &Shared,
    configured: Option<&str>,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    if let Some(base) = configured {
        return Ok(format!("{}{CALLBACK_PATH}", base.trim_end_matches('/')));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .ok_or_else(|| ApiError::bad_request("no Host header, and argocd-cm has no url"))?;
    let scheme = if state.tls { "https" } else { "http" };
    Ok(format!("{scheme}://{host}{CALLBACK_PATH}"))
}

/// A path on this server to return to; anything else (another site) goes to `/`.
fn safe_return(requested: Option<&str>) -> String {
    match requested {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// `SameSite=Lax`: the provider's redirect back is a cross-site navigation, which a strict
/// cookie would not accompany.
fn cookie(state: &Shared, name: &str, value: &str, max_age: i64, path: &str) -> String {
    let secure = if state.tls { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; HttpOnly{secure}; SameSite=Lax; Max-Age={max_age}")
}

fn redirect_with<const N: usize>(location: &str, cookies: [String; N]) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    (StatusCode::SEE_OTHER, headers).into_response()
}

/// The PKCE S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_on_this_server_is_returned_to() {
        assert_eq!(safe_return(Some("/applications?x=1")), "/applications?x=1");
        assert_eq!(safe_return(Some("//evil.example/x")), "/");
        assert_eq!(safe_return(Some("https://evil.example")), "/");
        assert_eq!(safe_return(Some("/\\evil.example")), "/");
        assert_eq!(safe_return(None), "/");
    }

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
