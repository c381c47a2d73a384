//! Checking an ID token (pure): signed by one of the provider's keys (asymmetric algorithms
//! only: a JWKS cannot turn a shared secret into a signing key), issued by the configured
//! issuer, for one of the allowed audiences, and not expired at `now`. The caller it stands
//! for is read as Argo CD reads it: `federated_claims.user_id` or `sub`, and the groups from
//! the claims named in argocd-rbac-cm's `scopes`.

use super::config::OidcConfig;
use crate::auth::identity::{Caller, Via};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Clock skew allowed between the provider and this server, in seconds.
const LEEWAY: i64 = 60;

/// The algorithms an ID token may be signed with.
const ALLOWED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("the ID token is not a JWT")]
    Malformed,
    #[error("the ID token is signed with {0:?}, which is not accepted")]
    Algorithm(Algorithm),
    #[error("the provider has no key {0:?} (the ID token names it)")]
    UnknownKey(String),
    #[error("the ID token's signature does not verify with the provider's keys")]
    Signature,
    #[error("the ID token was issued by {found:?}, not by {expected:?}")]
    Issuer { found: String, expected: String },
    #[error("the ID token is for {found}, not for this server's client")]
    Audience { found: String },
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token has no exp")]
    NoExpiry,
}

/// The issuer a JWT claims, read without checking anything: to route it to its verifier.
pub fn unverified_issuer(token: &str) -> Option<String> {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    claims
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// When a JWT says it expires, read without checking anything.
pub fn unverified_expiry(token: &str) -> Option<i64> {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    claims.get("exp").and_then(Value::as_i64)
}

/// The key id an ID token names, if any (to know whether the key set must be fetched again).
pub fn key_id(token: &str) -> Result<Option<String>, IdTokenError> {
    jsonwebtoken::decode_header(token)
        .map(|h| h.kid)
        .map_err(|_| IdTokenError::Malformed)
}

/// The ID token's claims, once everything about it has been checked.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    config: &OidcConfig,
    now: i64,
) -> Result<Value, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !ALLOWED.contains(&header.alg) {
        return Err(IdTokenError::Algorithm(header.alg));
    }
    let candidates: Vec<&Jwk> = match &header.kid {
        Some(kid) => vec![
            keys.find(kid)
                .ok_or_else(|| IdTokenError::UnknownKey(kid.clone()))?,
        ],
        None => keys.keys.iter().collect(),
    };
    let mut validation = Validation::new(header.alg);
    // Time is checked below against `now`, not the system clock.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    let claims = candidates
        .into_iter()
        .filter(|jwk| {
            !matches!(
                jwk.algorithm,
                jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)
            )
        })
        .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
        .find_map(|key| jsonwebtoken::decode::<Value>(token, &key, &validation).ok())
        .ok_or(IdTokenError::Signature)?
        .claims;
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if issuer.trim_end_matches('/') != config.issuer {
        return Err(IdTokenError::Issuer {
            found: issuer.to_string(),
            expected: config.issuer.clone(),
        });
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences
        .iter()
        .any(|aud| config.audiences.iter().any(|allowed| allowed == aud))
    {
        return Err(IdTokenError::Audience {
            found: format!("{audiences:?}"),
        });
    }
    let expiry = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(IdTokenError::NoExpiry)?;
    if expiry + LEEWAY < now {
        return Err(IdTokenError::Expired);
    }
    Ok(claims)
}

/// Who the claims stand for, under argocd-rbac-cm's `scopes`.
pub fn caller(claims: &Value, policy: &driftless_rbac::Policy) -> Caller {
    let subjects = policy.subjects_from_claims(claims);
    Caller {
        name: subjects.user().to_string(),
        groups: subjects.groups().to_vec(),
        via: Via::Sso,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    struct Provider {
        key: jsonwebtoken::EncodingKey,
        keys: JwkSet,
    }

    /// A P-256 key (made by rcgen) and its JWK.
    fn provider(kid: &str) -> Provider {
        let pair = rcgen::KeyPair::generate().unwrap();
        let key = jsonwebtoken::EncodingKey::from_ec_der(&pair.serialize_der());
        let point = pair.public_key_raw();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": b64(&point[1..33]), "y": b64(&point[33..65])});
        Provider {
            key,
            keys: serde_json::from_value(json!({"keys": [jwk]})).unwrap(),
        }
    }

    fn config() -> OidcConfig {
        let text =
            "issuer: https://idp.example/dex\nclientID: driftless\ncliClientID: driftless-cli\n";
        super::super::config::parse(text, &|_| None).unwrap()
    }

    fn token(provider: &Provider, kid: &str, claims: Value) -> String {
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, &claims, &provider.key).unwrap()
    }

    fn claims() -> Value {
        json!({"iss": "https://idp.example/dex", "aud": "driftless", "sub": "CiQwOGE4",
            "exp": NOW + 600, "iat": NOW, "email": "alice@example.com",
            "groups": ["platform"], "federated_claims": {"connector_id": "local", "user_id": "alice"}})
    }

    #[test]
    fn a_token_of_the_provider_verifies_and_names_the_user_and_groups() {
        let idp = provider("k1");
        let claims = verify(&token(&idp, "k1", claims()), &idp.keys, &config(), NOW).unwrap();
        let policy = driftless_rbac::Policy::from_config_map(&Default::default()).unwrap();
        let caller = caller(&claims, &policy);
        assert_eq!(caller.name, "alice");
        assert_eq!(caller.groups, vec!["platform".to_string()]);
        let scoped = driftless_rbac::Policy::from_config_map(
            &[("scopes".to_string(), "[groups, email]".to_string())].into(),
        )
        .unwrap();
        assert_eq!(
            super::caller(&claims, &scoped).groups,
            vec!["platform".to_string(), "alice@example.com".to_string()]
        );
    }

    #[test]
    fn the_cli_client_is_an_allowed_audience() {
        let idp = provider("k1");
        let mut c = claims();
        c["aud"] = json!(["driftless-cli"]);
        assert!(verify(&token(&idp, "k1", c), &idp.keys, &config(), NOW).is_ok());
    }

    #[test]
    fn wrong_key_issuer_audience_or_time_is_refused() {
        let idp = provider("k1");
        let other = provider("k1");
        let signed_elsewhere = token(&other, "k1", claims());
        assert_eq!(
            verify(&signed_elsewhere, &idp.keys, &config(), NOW),
            Err(IdTokenError::Signature)
        );
        assert_eq!(
            verify(&token(&idp, "k2", claims()), &idp.keys, &config(), NOW),
            Err(IdTokenError::UnknownKey("k2".into()))
        );
        let mut c = claims();
        c["iss"] = json!("https://evil.example");
        assert!(matches!(
            verify(&token(&idp, "k1", c), &idp.keys, &config(), NOW),
            Err(IdTokenError::Issuer { .. })
        ));
        let mut c = claims();
        c["aud"] = json!("another-app");
        assert!(matches!(
            verify(&token(&idp, "k1", c), &idp.keys, &config(), NOW),
            Err(IdTokenError::Audience { .. })
        ));
        assert_eq!(
            verify(
                &token(&idp, "k1", claims()),
                &idp.keys,
                &config(),
                NOW + 3600
            ),
            Err(IdTokenError::Expired)
        );
        let mut c = claims();
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            verify(&token(&idp, "k1", c), &idp.keys, &config(), NOW),
            Err(IdTokenError::NoExpiry)
        );
    }

    #[test]
    fn a_shared_secret_token_is_refused_even_if_the_key_set_has_one() {
        let keys: JwkSet = serde_json::from_value(json!({"keys": [
            {"kty": "oct", "kid": "k1", "k": "c2VjcmV0"}]}))
        .unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let token = jsonwebtoken::encode(
            &header,
            &claims(),
            &jsonwebtoken::EncodingKey::from_secret(b"secret").unwrap(),
        )
        .unwrap();
        assert_eq!(
            verify(&token, &keys, &config(), NOW),
            Err(IdTokenError::Algorithm(Algorithm::HS256))
        );
    }

    #[test]
    fn the_issuer_is_read_before_anything_is_checked() {
        let idp = provider("k1");
        assert_eq!(
            unverified_issuer(&token(&idp, "k1", claims())).as_deref(),
            Some("https://idp.example/dex")
        );
        assert_eq!(unverified_issuer("not-a-jwt"), None);
    }
}
