//! argocd-cm's `oidc.config` (pure): the provider a user signs in with. The fields are Argo
//! CD's (`name`, `issuer`, `clientID`, `clientSecret`, `cliClientID`, `requestedScopes`,
//! `requestedIDTokenClaims`, `rootCA`, `enablePKCEAuthentication`, `allowedAudiences`,
//! `logoutURL`); a value `$key` is argocd-secret's `key`, and `$name:key` is key `key` of the
//! Secret `name` (which must carry the label `app.kubernetes.io/part-of: argocd`).

use serde::Deserialize;
use std::collections::BTreeMap;

/// The scopes asked for when `requestedScopes` is not set (Argo CD's default).
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "groups"];

/// The provider, with its secret resolved.
#[derive(Clone, PartialEq)]
pub struct OidcConfig {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The client the CLI signs in as (a public client); `client_id` when not set.
    pub cli_client_id: String,
    pub scopes: Vec<String>,
    /// `requestedIDTokenClaims`, sent as the `claims` request parameter when set.
    pub id_token_claims: Option<serde_json::Value>,
    /// PEM certificates the provider's TLS certificate is checked against, besides the system's.
    pub root_ca: Option<String>,
    pub pkce: bool,
    /// The `aud` values an ID token may carry; the two client ids when not set.
    pub audiences: Vec<String>,
    pub logout_url: Option<String>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("cli_client_id", &self.cli_client_id)
            .field("scopes", &self.scopes)
            .field("pkce", &self.pkce)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OidcConfigError {
    #[error("failed to read argocd-cm's oidc.config as YAML: {0}")]
    Yaml(String),
    #[error("argocd-cm's oidc.config has no {0}")]
    Missing(&'static str),
    #[error("argocd-cm's oidc.config {field} refers to {reference}, which does not exist")]
    UnknownSecret {
        field: &'static str,
        reference: String,
    },
    #[error("argocd-cm's oidc.config issuer {0:?} is not an http(s) URL")]
    Issuer(String),
}

/// Where a `$…` value points.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretRef {
    /// `$key`: argocd-secret's key.
    Own(String),
    /// `$name:key`: another Secret of the control namespace.
    Other { secret: String, key: String },
}

impl SecretRef {
    /// The reference a value makes, if it starts with `$`.
    pub fn of(value: &str) -> Option<SecretRef> {
        let rest = value.strip_prefix('$')?;
        Some(match rest.split_once(':') {
            Some((secret, key)) => SecretRef::Other {
                secret: secret.to_string(),
                key: key.to_string(),
            },
            None => SecretRef::Own(rest.to_string()),
        })
    }
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Own(key) => write!(f, "key {key} of argocd-secret"),
            SecretRef::Other { secret, key } => write!(f, "key {key} of Secret {secret}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default, rename = "clientID")]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default, rename = "cliClientID")]
    cli_client_id: String,
    #[serde(default)]
    requested_scopes: Vec<String>,
    #[serde(default, rename = "requestedIDTokenClaims")]
    requested_id_token_claims: Option<serde_json::Value>,
    #[serde(default, rename = "rootCA")]
    root_ca: String,
    #[serde(default, rename = "enablePKCEAuthentication")]
    enable_pkce: bool,
    #[serde(default)]
    allowed_audiences: Vec<String>,
    #[serde(default, rename = "logoutURL")]
    logout_url: String,
}

/// The Secrets (other than argocd-secret) the text refers to, for the caller to read first.
pub fn references(text: &str) -> Vec<SecretRef> {
    let Ok(raw) = serde_norway::from_str::<Raw>(text) else {
        return Vec::new();
    };
    [&raw.client_id, &raw.client_secret, &raw.issuer]
        .into_iter()
        .filter_map(|v| SecretRef::of(v.trim()))
        .collect()
}

/// Reads `oidc.config`; `lookup` answers a `$…` reference with the Secret's value.
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&SecretRef) -> Option<String>,
) -> Result<OidcConfig, OidcConfigError> {
    let raw: Raw =
        serde_norway::from_str(text).map_err(|e| OidcConfigError::Yaml(e.to_string()))?;
    let resolve = |field: &'static str, value: &str| -> Result<String, OidcConfigError> {
        let value = value.trim();
        match SecretRef::of(value) {
            None => Ok(value.to_string()),
            Some(reference) => lookup(&reference).map(|v| v.trim().to_string()).ok_or(
                OidcConfigError::UnknownSecret {
                    field,
                    reference: reference.to_string(),
                },
            ),
        }
    };
    let issuer = resolve("issuer", &raw.issuer)?;
    let client_id = resolve("clientID", &raw.client_id)?;
    let client_secret = resolve("clientSecret", &raw.client_secret)?;
    if issuer.is_empty() {
        return Err(OidcConfigError::Missing("issuer"));
    }
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
        return Err(OidcConfigError::Issuer(issuer));
    }
    if client_id.is_empty() {
        return Err(OidcConfigError::Missing("clientID"));
    }
    let cli_client_id = match raw.cli_client_id.trim() {
        "" => client_id.clone(),
        id => id.to_string(),
    };
    let mut scopes = if raw.requested_scopes.is_empty() {
        DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
    } else {
        raw.requested_scopes
    };
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".to_string());
    }
    let audiences = if raw.allowed_audiences.is_empty() {
        let mut both = vec![client_id.clone()];
        if cli_client_id != client_id {
            both.push(cli_client_id.clone());
        }
        both
    } else {
        raw.allowed_audiences
    };
    Ok(OidcConfig {
        name: raw.name,
        issuer: issuer.trim_end_matches('/').to_string(),
        client_id,
        client_secret,
        cli_client_id,
        scopes,
        id_token_claims: raw.requested_id_token_claims,
        root_ca: Some(raw.root_ca).filter(|c| !c.trim().is_empty()),
        pkce: raw.enable_pkce,
        audiences,
        logout_url: Some(raw.logout_url).filter(|u| !u.trim().is_empty()),
    })
}

/// Resolves references against argocd-secret's data and the other Secrets read for them.
pub fn lookup_in<'a>(
    own: &'a BTreeMap<String, Vec<u8>>,
    others: &'a BTreeMap<SecretRef, String>,
) -> impl Fn(&SecretRef) -> Option<String> + 'a {
    move |reference| match reference {
        SecretRef::Own(key) => own
            .get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned()),
        other => others.get(other).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const OKTA: &str = "name: Okta\nissuer: https://dev-123456.oktapreview.com/\nclientID: aaaabbbbccccddddeee\nclientSecret: $oidc.okta.clientSecret\nrequestedScopes: [\"openid\", \"profile\", \"email\", \"groups\"]\nrequestedIDTokenClaims: {\"groups\": {\"essential\": true}}\n";

    fn secrets() -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([("oidc.okta.clientSecret".to_string(), b"s3cret\n".to_vec())])
    }

    #[test]
    fn argo_cds_documented_okta_example_reads_with_its_secret() {
        let own = secrets();
        let others = BTreeMap::new();
        let config = parse(OKTA, &lookup_in(&own, &others)).unwrap();
        assert_eq!(config.issuer, "https://dev-123456.oktapreview.com");
        assert_eq!(config.client_secret, "s3cret");
        assert_eq!(config.cli_client_id, "aaaabbbbccccddddeee");
        assert_eq!(config.audiences, vec!["aaaabbbbccccddddeee".to_string()]);
        assert_eq!(
            config.id_token_claims,
            Some(serde_json::json!({"groups": {"essential": true}}))
        );
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn a_secret_of_another_secret_is_named_by_secret_and_key() {
        let text = "issuer: https://idp\nclientID: cd\nclientSecret: $sso-client:secret\ncliClientID: cd-cli\n";
        assert_eq!(
            references(text),
            vec![SecretRef::Other {
                secret: "sso-client".into(),
                key: "secret".into()
            }]
        );
        let own = BTreeMap::new();
        let others = BTreeMap::from([(references(text)[0].clone(), "x".to_string())]);
        let config = parse(text, &lookup_in(&own, &others)).unwrap();
        assert_eq!(config.client_secret, "x");
        assert_eq!(
            config.audiences,
            vec!["cd".to_string(), "cd-cli".to_string()]
        );
        assert_eq!(config.scopes, DEFAULT_SCOPES.map(String::from).to_vec());
    }

    #[test]
    fn a_missing_secret_or_field_is_an_error_naming_it() {
        let own = BTreeMap::new();
        let others = BTreeMap::new();
        let lookup = lookup_in(&own, &others);
        assert_eq!(
            parse(OKTA, &lookup).unwrap_err().to_string(),
            "argocd-cm's oidc.config clientSecret refers to key oidc.okta.clientSecret of argocd-secret, which does not exist"
        );
        assert_eq!(
            parse("clientID: a\n", &lookup),
            Err(OidcConfigError::Missing("issuer"))
        );
        assert!(matches!(
            parse("issuer: [\n", &lookup),
            Err(OidcConfigError::Yaml(_))
        ));
    }

    #[test]
    fn openid_is_always_requested() {
        let own = BTreeMap::new();
        let others = BTreeMap::new();
        let text = "issuer: http://idp\nclientID: a\nrequestedScopes: [email]\n";
        let config = parse(text, &lookup_in(&own, &others)).unwrap();
        assert_eq!(
            config.scopes,
            vec!["openid".to_string(), "email".to_string()]
        );
    }
}
