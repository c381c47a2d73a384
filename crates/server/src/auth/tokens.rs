//! The tokens the server signs: HS256 with argocd-secret's `server.secretkey`, issuer `argocd`,
//! claims as Argo CD writes them, so tokens Argo CD issued keep working after a switch-over.
//! Subjects: `<account>:login` (a session from a password login), `<account>:apiKey` (an API
//! key, valid while its id is listed on the account), `proj:<project>:<role>` (a project role
//! token, valid while the role lists its id and issue time). Pure: the time is passed in.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "argocd";

/// What a verified token says; whether its subject still may use it is checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "iss")]
    pub issuer: String,
    #[serde(rename = "sub")]
    pub subject: String,
    #[serde(rename = "jti", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "iat", default)]
    pub issued_at: i64,
    #[serde(rename = "nbf", default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    #[serde(rename = "exp", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// Whom a subject names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSubject {
    /// A local account, logged in with its password.
    Session(String),
    /// A local account's API key.
    ApiKey(String),
    Project {
        project: String,
        role: String,
    },
}

impl Claims {
    pub fn subject(&self) -> TokenSubject {
        if let Some(rest) = self.subject.strip_prefix("proj:")
            && let Some((project, role)) = rest.split_once(':')
        {
            return TokenSubject::Project {
                project: project.to_string(),
                role: role.to_string(),
            };
        }
        match self.subject.split_once(':') {
            Some((account, "login")) => TokenSubject::Session(account.to_string()),
            Some((account, _)) => TokenSubject::ApiKey(account.to_string()),
            // Argo CD's older tokens carry the bare account name: an API key.
            None => TokenSubject::ApiKey(self.subject.clone()),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is not one this server signed")]
    NotOurs,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("failed to sign a token: {0}")]
    Sign(String),
}

/// The signing key; its bytes never show in debug output.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// A new token for `subject`; `lifetime` None: no expiry (API keys may have none).
pub fn issue(
    key: &SigningKey,
    subject: &str,
    id: &str,
    now: i64,
    lifetime: Option<i64>,
) -> Result<String, TokenError> {
    let claims = Claims {
        issuer: ISSUER.to_string(),
        subject: subject.to_string(),
        id: id.to_string(),
        issued_at: now,
        not_before: Some(now),
        expires_at: lifetime.map(|l| now + l),
    };
    let signing = EncodingKey::from_secret(&key.0).map_err(|e| TokenError::Sign(e.to_string()))?;
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &signing)
        .map_err(|e| TokenError::Sign(e.to_string()))
}

/// The claims of a token this server signed, checked against `now`. A token signed by anyone
/// else (an OIDC provider's, a Kubernetes ServiceAccount's) is [`TokenError::NotOurs`].
pub fn verify(key: &SigningKey, token: &str, now: i64) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    // Times are checked below against the given clock; API keys may carry no expiry.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[ISSUER]);
    let decoding = DecodingKey::from_secret(&key.0).map_err(|_| TokenError::NotOurs)?;
    let claims = jsonwebtoken::decode::<Claims>(token, &decoding, &validation)
        .map_err(|_| TokenError::NotOurs)?
        .claims;
    if claims.expires_at.is_some_and(|exp| now >= exp) {
        return Err(TokenError::Expired);
    }
    if claims.not_before.is_some_and(|nbf| now < nbf) {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

/// The issuer of sealed values: no session or API key ever carries it.
const SEALED_ISSUER: &str = "driftless:sealed";

#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    iss: String,
    exp: i64,
    value: T,
}

/// `value` signed with the key, valid until `expires_at`: state a browser carries between two
/// requests (the SSO login's) that it must not be able to forge.
pub fn seal<T: Serialize>(
    key: &SigningKey,
    value: T,
    expires_at: i64,
) -> Result<String, TokenError> {
    let sealed = Sealed {
        iss: SEALED_ISSUER.to_string(),
        exp: expires_at,
        value,
    };
    let signing = EncodingKey::from_secret(&key.0).map_err(|e| TokenError::Sign(e.to_string()))?;
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &sealed, &signing)
        .map_err(|e| TokenError::Sign(e.to_string()))
}

/// The value [`seal`] signed, if the signature holds and it has not expired at `now`.
pub fn open<T: serde::de::DeserializeOwned>(key: &SigningKey, text: &str, now: i64) -> Option<T> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[SEALED_ISSUER]);
    let decoding = DecodingKey::from_secret(&key.0).ok()?;
    let sealed = jsonwebtoken::decode::<Sealed<T>>(text, &decoding, &validation)
        .ok()?
        .claims;
    (now < sealed.exp).then_some(sealed.value)
}

/// A fresh random id for a token (`jti`).
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_token_verifies_with_its_key_until_it_expires() {
        let key = SigningKey::new(b"server-secret".to_vec());
        let token = issue(&key, "alice:login", "id-1", NOW, Some(3600)).unwrap();
        let claims = verify(&key, &token, NOW + 10).unwrap();
        assert_eq!(claims.subject(), TokenSubject::Session("alice".into()));
        assert_eq!((claims.id.as_str(), claims.issued_at), ("id-1", NOW));
        assert_eq!(verify(&key, &token, NOW + 3600), Err(TokenError::Expired));
        assert_eq!(verify(&key, &token, NOW - 5), Err(TokenError::NotYetValid));
        let other = SigningKey::new(b"another-secret".to_vec());
        assert_eq!(verify(&other, &token, NOW), Err(TokenError::NotOurs));
        assert_eq!(verify(&key, "not.a.jwt", NOW), Err(TokenError::NotOurs));
    }

    #[test]
    fn an_api_key_without_expiry_stays_valid() {
        let key = SigningKey::new(b"k".to_vec());
        let token = issue(&key, "ci:apiKey", "key-1", NOW, None).unwrap();
        let claims = verify(&key, &token, NOW + 10 * 365 * 86_400).unwrap();
        assert_eq!(claims.subject(), TokenSubject::ApiKey("ci".into()));
    }

    #[test]
    fn subjects_name_accounts_and_project_roles() {
        let claims = |subject: &str| Claims {
            issuer: ISSUER.into(),
            subject: subject.into(),
            id: String::new(),
            issued_at: 0,
            not_before: None,
            expires_at: None,
        };
        assert_eq!(
            claims("proj:payments:deployer").subject(),
            TokenSubject::Project {
                project: "payments".into(),
                role: "deployer".into()
            }
        );
        assert_eq!(claims("ci").subject(), TokenSubject::ApiKey("ci".into()));
    }

    #[test]
    fn a_token_signed_with_another_algorithm_is_refused() {
        // An unsigned token ("alg": "none") must never pass as ours.
        let header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
        let body = base64_url(br#"{"iss":"argocd","sub":"admin:login","iat":1}"#);
        let key = SigningKey::new(b"k".to_vec());
        assert_eq!(
            verify(&key, &format!("{header}.{body}."), NOW),
            Err(TokenError::NotOurs)
        );
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_until_it_expires_and_is_no_session() {
        let key = SigningKey::new(b"k".to_vec());
        let sealed = seal(&key, "state-1".to_string(), NOW + 10).unwrap();
        assert_eq!(
            open::<String>(&key, &sealed, NOW).as_deref(),
            Some("state-1")
        );
        assert_eq!(open::<String>(&key, &sealed, NOW + 10), None);
        assert_eq!(
            open::<String>(&SigningKey::new(b"other".to_vec()), &sealed, NOW),
            None
        );
        assert_eq!(verify(&key, &sealed, NOW), Err(TokenError::NotOurs));
    }

    fn base64_url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
