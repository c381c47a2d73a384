//! Whether a request is authentic: each provider's secret checked as go-playground/webhooks
//! (the library Argo CD's API server uses) checks it, but always in constant time.

use crate::secrets::BasicAuth;
use crate::{Delivery, Headers, Provider, Secret, Secrets, detect};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Why a request was not accepted. No message holds a secret or a signature value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "failed to tell which git server sent the webhook: none of X-GitHub-Event, X-Gitlab-Event, X-Gogs-Event, X-Event-Key or X-Vss-ActivityId is set"
    )]
    UnknownProvider,
    #[error(
        "failed to authenticate a webhook from {provider}: argocd-secret sets no {keys}, and unauthenticated webhooks are refused",
        keys = provider.secret_keys().join(" or ")
    )]
    NotConfigured { provider: Provider },
    #[error("failed to authenticate a webhook from {provider}: the request has no {header} header")]
    MissingSignature {
        provider: Provider,
        header: &'static str,
    },
    #[error(
        "failed to authenticate a webhook from {provider}: it is signed only with SHA-1 (X-Hub-Signature); X-Hub-Signature-256 is required"
    )]
    LegacySignature { provider: Provider },
    #[error(
        "failed to authenticate a webhook from {provider}: its {header} header does not match the configured secret"
    )]
    BadSignature {
        provider: Provider,
        header: &'static str,
    },
}

impl Refusal {
    /// The provider the request claimed to come from, if its headers named one.
    pub fn provider(&self) -> Option<Provider> {
        match self {
            Refusal::UnknownProvider => None,
            Refusal::NotConfigured { provider }
            | Refusal::MissingSignature { provider, .. }
            | Refusal::LegacySignature { provider }
            | Refusal::BadSignature { provider, .. } => Some(*provider),
        }
    }
}

/// The request's sender and event when `body` is authentic for its secret in `secrets`.
///
/// - GitHub: `X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the body (the
///   prefix may be left out, as the library allows). The SHA-1 `X-Hub-Signature` is not
///   read: GitHub sends both, and the library Argo CD uses checks only the SHA-256 one.
/// - GitLab: `X-Gitlab-Token` equals the secret.
/// - Bitbucket Cloud: `X-Hook-UUID` equals `webhook.bitbucket.uuid`.
/// - Bitbucket Server: `X-Hub-Signature` is `sha256=` and the hex HMAC-SHA256.
/// - Gogs and Gitea: `X-Gogs-Signature` is the hex HMAC-SHA256.
/// - Azure DevOps: HTTP basic auth with the configured user name and password.
///
/// Every request is checked, pings included (Argo CD lets Bitbucket Server's ping through).
pub fn verify(secrets: &Secrets, headers: &Headers, body: &[u8]) -> Result<Delivery, Refusal> {
    let delivery = detect(headers).ok_or(Refusal::UnknownProvider)?;
    let provider = delivery.provider;
    let not_configured = Refusal::NotConfigured { provider };
    match provider {
        Provider::GitHub => {
            let secret = secrets.github.as_ref().ok_or(not_configured)?;
            github(secret, headers, body)?;
        }
        Provider::GitLab => {
            let secret = secrets.gitlab.as_ref().ok_or(not_configured)?;
            token(provider, "X-Gitlab-Token", secret, headers)?;
        }
        Provider::Bitbucket => {
            let secret = secrets.bitbucket_uuid.as_ref().ok_or(not_configured)?;
            token(provider, "X-Hook-UUID", secret, headers)?;
        }
        Provider::BitbucketServer => {
            let secret = secrets.bitbucket_server.as_ref().ok_or(not_configured)?;
            let header = "X-Hub-Signature";
            let signature = signature(provider, header, headers)?;
            let hex = signature.strip_prefix("sha256=");
            check(
                provider,
                header,
                hex.is_some_and(|h| hmac_matches(secret, body, h)),
            )?;
        }
        Provider::Gogs => {
            let secret = secrets.gogs.as_ref().ok_or(not_configured)?;
            let header = "X-Gogs-Signature";
            let signature = signature(provider, header, headers)?;
            check(provider, header, hmac_matches(secret, body, signature))?;
        }
        Provider::AzureDevOps => {
            let auth = secrets.azure_devops.as_ref().ok_or(not_configured)?;
            basic_auth(auth, headers)?;
        }
    }
    Ok(delivery)
}

fn github(secret: &Secret, headers: &Headers, body: &[u8]) -> Result<(), Refusal> {
    let provider = Provider::GitHub;
    let header = "X-Hub-Signature-256";
    let Some(signature) = headers.non_empty(header) else {
        return Err(match headers.non_empty("X-Hub-Signature") {
            Some(_) => Refusal::LegacySignature { provider },
            None => Refusal::MissingSignature { provider, header },
        });
    };
    let hex = signature.strip_prefix("sha256=").unwrap_or(signature);
    check(provider, header, hmac_matches(secret, body, hex))
}

/// A header that must equal the secret. Both sides are hashed first so that the comparison
/// takes the same time whatever their lengths (GitLab's library does the same).
fn token(
    provider: Provider,
    header: &'static str,
    secret: &Secret,
    headers: &Headers,
) -> Result<(), Refusal> {
    let given = signature(provider, header, headers)?;
    check(provider, header, same(given.as_bytes(), secret.expose()))
}

fn basic_auth(auth: &BasicAuth, headers: &Headers) -> Result<(), Refusal> {
    let provider = Provider::AzureDevOps;
    let header = "Authorization";
    let given = signature(provider, header, headers)?;
    let Some((username, password)) = parse_basic(given) else {
        return Err(Refusal::BadSignature { provider, header });
    };
    // `&` rather than `&&`: both halves are always compared.
    let matches = same(&username, auth.username.expose()) & same(&password, auth.password.expose());
    check(provider, header, matches)
}

/// Go's `Request.BasicAuth`: a case-insensitive `Basic ` prefix, standard padded base64, and
/// the user name up to the first `:`.
fn parse_basic(value: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    const PREFIX: &str = "Basic ";
    let (scheme, encoded) = value.split_at_checked(PREFIX.len())?;
    if !scheme.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

fn signature<'h>(
    provider: Provider,
    header: &'static str,
    headers: &'h Headers,
) -> Result<&'h str, Refusal> {
    headers
        .non_empty(header)
        .ok_or(Refusal::MissingSignature { provider, header })
}

fn check(provider: Provider, header: &'static str, matches: bool) -> Result<(), Refusal> {
    match matches {
        true => Ok(()),
        false => Err(Refusal::BadSignature { provider, header }),
    }
}

/// Whether `hex` is the lower-case hex HMAC-SHA256 of `body` (the senders and the library
/// write lower case, and the library compares the hex text).
fn hmac_matches(secret: &Secret, body: &[u8], hex: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose()) else {
        return false;
    };
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    expected.as_bytes().ct_eq(hex.as_bytes()).into()
}

fn same(given: &[u8], secret: &[u8]) -> bool {
    Sha512::digest(given).ct_eq(&Sha512::digest(secret)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_missing_and_never_a_value() {
        let not_configured = Refusal::NotConfigured {
            provider: Provider::AzureDevOps,
        };
        assert_eq!(
            not_configured.to_string(),
            "failed to authenticate a webhook from Azure DevOps: argocd-secret sets no \
             webhook.azuredevops.username or webhook.azuredevops.password, and \
             unauthenticated webhooks are refused"
        );
        let bad = Refusal::BadSignature {
            provider: Provider::Gogs,
            header: "X-Gogs-Signature",
        };
        assert_eq!(
            bad.to_string(),
            "failed to authenticate a webhook from Gogs: its X-Gogs-Signature header does not \
             match the configured secret"
        );
    }

    #[test]
    fn basic_auth_is_read_as_go_reads_it() {
        assert_eq!(
            parse_basic("basic dXNlcjpwYTpzcw=="),
            Some((b"user".to_vec(), b"pa:ss".to_vec()))
        );
        assert_eq!(parse_basic("Bearer dXNlcjpwYXNz"), None);
        assert_eq!(parse_basic("Basic dXNlcjpwYXNz!"), None);
        assert_eq!(parse_basic("Basic dXNlcg=="), None);
        assert_eq!(parse_basic("Basic"), None);
    }

    #[test]
    fn an_hmac_matches_only_its_own_body_and_key() {
        let secret = Secret::new("k");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(b"body");
        let hex = hex::encode(mac.finalize().into_bytes());
        assert!(hmac_matches(&secret, b"body", &hex));
        assert!(!hmac_matches(&secret, b"body!", &hex));
        assert!(!hmac_matches(&Secret::new("K"), b"body", &hex));
        assert!(!hmac_matches(&secret, b"body", &hex.to_uppercase()));
        assert!(!hmac_matches(&secret, b"body", &hex[..10]));
    }
}
