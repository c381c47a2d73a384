//! The OIDC provider over HTTP (the edge): its discovery document, its signing keys (fetched
//! again when a token names a key not seen yet, at most once per [`KEYS_MIN_AGE`]), and the
//! code exchange at its token endpoint. One provider is kept per configuration; an edit of
//! `oidc.config` makes a new one on the next request.

use super::config::OidcConfig;
use super::verify::{self, IdTokenError};
use crate::error::chain;
use jsonwebtoken::jwk::JwkSet;
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A key set younger than this is not fetched again for an unknown key id.
const KEYS_MIN_AGE: Duration = Duration::from_secs(10);
/// The discovery document is read again after this.
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(3600);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("single sign-on is not configured (argocd-cm has no oidc.config)")]
    NotConfigured,
    #[error(transparent)]
    Config(#[from] super::config::OidcConfigError),
    #[error("failed to set up the HTTP client for the OIDC provider: {0}")]
    Client(String),
    #[error("failed to read the OIDC provider's {what} at {url}: {reason}")]
    Fetch {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("the OIDC provider's discovery document names issuer {found:?}, not {expected:?}")]
    IssuerMismatch { found: String, expected: String },
    #[error("the OIDC provider refused the authorization code: {0}")]
    Exchange(String),
    #[error("the OIDC provider answered without an id_token")]
    NoIdToken,
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// What the token endpoint answers (the tokens are never logged).
#[derive(Deserialize)]
pub struct TokenAnswer {
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

pub struct Provider {
    pub config: OidcConfig,
    pub discovery: Discovery,
    http: reqwest::Client,
    keys: tokio::sync::Mutex<(Instant, Arc<JwkSet>)>,
    made: Instant,
}

impl Provider {
    async fn discover(config: &OidcConfig) -> Result<Provider, OidcError> {
        let http = client(config)?;
        let url = format!("{}/.well-known/openid-configuration", config.issuer);
        let discovery: Discovery = get_json(&http, "discovery document", &url).await?;
        if discovery.issuer.trim_end_matches('/') != config.issuer {
            return Err(OidcError::IssuerMismatch {
                found: discovery.issuer,
                expected: config.issuer.clone(),
            });
        }
        let keys: JwkSet = get_json(&http, "signing keys", &discovery.jwks_uri).await?;
        Ok(Provider {
            config: config.clone(),
            discovery,
            http,
            keys: tokio::sync::Mutex::new((Instant::now(), Arc::new(keys))),
            made: Instant::now(),
        })
    }

    /// Checks an ID token; a key id not in the set fetches the set once more.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Value, OidcError> {
        let keys = self.keys.lock().await.1.clone();
        match verify::verify(token, &keys, &self.config, now) {
            Err(IdTokenError::UnknownKey(kid)) => {
                let keys = {
                    let mut held = self.keys.lock().await;
                    if held.0.elapsed() >= KEYS_MIN_AGE {
                        let fresh: JwkSet =
                            get_json(&self.http, "signing keys", &self.discovery.jwks_uri).await?;
                        *held = (Instant::now(), Arc::new(fresh));
                    }
                    held.1.clone()
                };
                if keys.find(&kid).is_none() {
                    return Err(IdTokenError::UnknownKey(kid).into());
                }
                Ok(verify::verify(token, &keys, &self.config, now)?)
            }
            other => Ok(other?),
        }
    }

    /// Where to send the browser: the code flow as `client_id`, with the S256 challenge when
    /// the verifier's challenge is given.
    pub fn authorization_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        state: &str,
        challenge: Option<&str>,
    ) -> Result<String, OidcError> {
        let scope = self.config.scopes.join(" ");
        let mut params = vec![
            ("response_type", "code".to_string()),
            ("client_id", client_id.to_string()),
            ("redirect_uri", redirect_uri.to_string()),
            ("scope", scope),
            ("state", state.to_string()),
        ];
        if let Some(challenge) = challenge {
            params.push(("code_challenge", challenge.to_string()));
            params.push(("code_challenge_method", "S256".to_string()));
        }
        if let Some(claims) = &self.config.id_token_claims {
            params.push((
                "claims",
                serde_json::json!({"id_token": claims}).to_string(),
            ));
        }
        Url::parse_with_params(&self.discovery.authorization_endpoint, &params)
            .map(String::from)
            .map_err(|e| OidcError::Fetch {
                what: "authorization endpoint",
                url: self.discovery.authorization_endpoint.clone(),
                reason: e.to_string(),
            })
    }

    /// Exchanges the code as the server's own (confidential) client.
    pub async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Result<TokenAnswer, OidcError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        let public = self.config.client_secret.is_empty();
        if public {
            form.push(("client_id", self.config.client_id.as_str()));
        }
        let mut request = self.http.post(&self.discovery.token_endpoint).form(&form);
        if !public {
            request = request.basic_auth(&self.config.client_id, Some(&self.config.client_secret));
        }
        let response = request
            .send()
            .await
            .map_err(|e| OidcError::Exchange(chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            // The provider's error object (error, error_description) carries no secret.
            let body: Value = response.json().await.unwrap_or_default();
            let reason = body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("no reason given");
            return Err(OidcError::Exchange(format!("{status}: {reason}")));
        }
        response
            .json()
            .await
            .map_err(|e| OidcError::Exchange(chain(&e)))
    }
}

/// The provider of the current configuration, made on first use.
#[derive(Default)]
pub struct Providers {
    current: Mutex<Option<Arc<Provider>>>,
    making: tokio::sync::Mutex<()>,
}

impl Providers {
    pub async fn get(&self, config: &OidcConfig) -> Result<Arc<Provider>, OidcError> {
        if let Some(provider) = self.cached(config) {
            return Ok(provider);
        }
        let _one = self.making.lock().await;
        if let Some(provider) = self.cached(config) {
            return Ok(provider);
        }
        let provider = Arc::new(Provider::discover(config).await?);
        *crate::state::lock(&self.current) = Some(provider.clone());
        Ok(provider)
    }

    fn cached(&self, config: &OidcConfig) -> Option<Arc<Provider>> {
        crate::state::lock(&self.current)
            .as_ref()
            .filter(|p| &p.config == config && p.made.elapsed() < DISCOVERY_MAX_AGE)
            .cloned()
    }
}

fn client(config: &OidcConfig) -> Result<reqwest::Client, OidcError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("driftless/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &config.root_ca {
        for certificate in reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| OidcError::Client(format!("rootCA: {}", chain(&e))))?
        {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| OidcError::Client(chain(&e)))
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    what: &'static str,
    url: &str,
) -> Result<T, OidcError> {
    let fail = |reason: String| OidcError::Fetch {
        what,
        url: url.to_string(),
        reason,
    };
    let response = http.get(url).send().await.map_err(|e| fail(chain(&e)))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    response.json().await.map_err(|e| fail(chain(&e)))
}
