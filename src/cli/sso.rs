//! `driftless login SERVER --sso`: single sign-on in the browser, as Argo CD's CLI does it.
//! The server names its OIDC provider (`GET /api/v1/settings`); the CLI runs the
//! authorization-code flow with PKCE as the provider's public client (`cliClientID`), with a
//! callback on `http://localhost:PORT/auth/callback` served here for the one redirect, and
//! keeps the ID token, which the server accepts as a bearer token.

use super::app_source::CommandError;
use super::client::HttpBackend;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use sha2::Digest;
use std::time::Duration;
use tokio::sync::mpsc;

/// Argo CD's default `--sso-port`.
pub const DEFAULT_PORT: u16 = 8085;
/// How long the user may take in the browser.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct SsoOptions {
    pub port: u16,
    pub open_browser: bool,
}

#[derive(Deserialize)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
}

use driftless_server::auth::oidc::flow::CallbackQuery as Callback;

/// Logs in through the server's provider; the ID token.
pub async fn login(server: &HttpBackend, options: &SsoOptions) -> Result<String, CommandError> {
    let settings = server.settings().await?;
    let oidc = &settings["oidcConfig"];
    let issuer = oidc["issuer"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('/');
    let client_id = oidc["cliClientID"]
        .as_str()
        .or(oidc["clientID"].as_str())
        .unwrap_or_default();
    if issuer.is_empty() || client_id.is_empty() {
        return Err(CommandError::Usage(format!(
            "{} has no single sign-on configured (argocd-cm oidc.config); log in with --username or --token",
            server.server()
        )));
    }
    let http = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| CommandError::Failed(format!("failed to set up the HTTP client: {e}")))?;
    let discovery: Discovery = fetch_discovery(&http, issuer).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
        .await
        .map_err(|e| {
            CommandError::Usage(format!(
                "failed to listen on localhost:{} for the login's callback: {e} (choose another with --sso-port)",
                options.port
            ))
        })?;
    let redirect_uri = format!("http://localhost:{}/auth/callback", options.port);
    let state = random_text();
    let verifier = random_text() + &random_text();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let scopes = oidc["scopes"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "openid profile email groups".to_string());
    let mut params = vec![
        ("response_type", "code".to_string()),
        ("client_id", client_id.to_string()),
        ("redirect_uri", redirect_uri.clone()),
        ("scope", scopes),
        ("state", state.clone()),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".to_string()),
    ];
    if let Some(claims) = oidc.get("idTokenClaims").filter(|c| !c.is_null()) {
        params.push((
            "claims",
            serde_json::json!({"id_token": claims}).to_string(),
        ));
    }
    let url = reqwest::Url::parse_with_params(&discovery.authorization_endpoint, &params).map_err(
        |e| CommandError::Failed(format!("failed to build the provider's login URL: {e}")),
    )?;
    println!("Open this URL in a browser to log in:\n{url}");
    if options.open_browser {
        open_browser(url.as_str());
    }
    let callback = wait_for_callback(listener).await?;
    if let Some(error) = callback.error {
        return Err(CommandError::Denied(format!(
            "the identity provider refused the login: {error} {}",
            callback.error_description.unwrap_or_default()
        )));
    }
    if callback.state.as_deref() != Some(state.as_str()) {
        return Err(CommandError::Denied(
            "the login's callback carried another state; log in again".into(),
        ));
    }
    let code = callback
        .code
        .ok_or_else(|| CommandError::Denied("the identity provider sent no code".into()))?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", client_id),
        ("code_verifier", verifier.as_str()),
    ];
    let response = http
        .post(&discovery.token_endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|e| {
            CommandError::Unreachable(format!("failed to reach the token endpoint: {e}"))
        })?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let reason = answer["error_description"]
            .as_str()
            .or(answer["error"].as_str())
            .unwrap_or("no reason given");
        return Err(CommandError::Denied(format!(
            "the identity provider refused the code: {status}: {reason}"
        )));
    }
    answer["id_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(String::from)
        .ok_or_else(|| CommandError::Failed("the identity provider answered no id_token".into()))
}

async fn fetch_discovery(http: &reqwest::Client, issuer: &str) -> Result<Discovery, CommandError> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let fail = |e: String| CommandError::Unreachable(format!("failed to read {url}: {e}"));
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    response.json().await.map_err(|e| fail(e.to_string()))
}

/// Serves `/auth/callback` until the provider's redirect arrives (or the time is up).
async fn wait_for_callback(listener: tokio::net::TcpListener) -> Result<Callback, CommandError> {
    use axum::extract::{Query, State};
    let (sender, mut received) = mpsc::channel::<Callback>(1);
    let handler = |State(sender): State<mpsc::Sender<Callback>>,
                   Query(callback): Query<Callback>| async move {
        let failed = callback.error.is_some();
        let _ = sender.send(callback).await;
        axum::response::Html(if failed {
            "<!doctype html><title>driftless</title><p>The login failed; see the terminal.</p>"
        } else {
            "<!doctype html><title>driftless</title><p>Logged in. You may close this window.</p>"
        })
    };
    let app = axum::Router::new()
        .route("/auth/callback", axum::routing::get(handler))
        .with_state(sender);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let outcome = tokio::time::timeout(LOGIN_TIMEOUT, received.recv()).await;
    let _ = stop.send(());
    // The browser's page is answered before the server stops.
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    match outcome {
        Ok(Some(callback)) => Ok(callback),
        Ok(None) => Err(CommandError::Failed(
            "the login's callback server stopped".into(),
        )),
        Err(_) => Err(CommandError::Timeout(format!(
            "no login within {} s; log in again",
            LOGIN_TIMEOUT.as_secs()
        ))),
    }
}

fn open_browser(url: &str) {
    let opened = std::process::Command::new("xdg-open")
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        eprintln!("(no browser could be opened here: open the URL above yourself)");
    }
}

fn random_text() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
