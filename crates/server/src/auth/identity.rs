//! Who a request comes from. A bearer token (header `Authorization: Bearer …` or the
//! `argocd.token` cookie) is first tried as one of our own tokens (session, API key, project
//! role); any other token goes to the Kubernetes API server's TokenReview, which knows
//! ServiceAccounts and whatever OIDC issuers the cluster trusts.

use super::accounts::{Account, Capability};
use super::tokens::{self, Claims, TokenError, TokenSubject};
use crate::settings::Snapshot;
use driftless_model::project::AppProject;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An authenticated caller: the subject and groups RBAC is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub groups: Vec<String>,
    pub via: Via,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    ApiKey,
    ProjectToken,
    Kubernetes,
    /// An ID token of the OIDC provider of `oidc.config`.
    Sso,
}

impl Caller {
    /// The subjects a policy line may name for this caller: its name and its groups.
    pub fn subjects(&self) -> Vec<String> {
        std::iter::once(self.name.clone())
            .chain(self.groups.iter().cloned())
            .collect()
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no token: log in, or send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the token is not valid: {0}")]
    Token(#[from] TokenError),
    #[error("account {0} does not exist")]
    NoAccount(String),
    #[error("account {0} is disabled")]
    Disabled(String),
    #[error("account {account} does not have the {capability} capability")]
    Capability {
        account: String,
        capability: &'static str,
    },
    #[error("account {account} has no API key with id {id} (revoked?)")]
    UnknownKey { account: String, id: String },
    #[error("the token was revoked; log in again")]
    Revoked,
    #[error("the account's password changed after the token was issued; log in again")]
    PasswordChanged,
    #[error("project {project} has no role {role} with this token (revoked?)")]
    UnknownProjectToken { project: String, role: String },
    #[error("the Kubernetes API server does not accept the token{0}")]
    NotAuthenticated(String),
    #[error("the single sign-on token is not valid: {0}")]
    Sso(#[from] super::oidc::verify::IdTokenError),
    #[error("failed to ask the Kubernetes API server about the token: {0}")]
    Review(String),
}

/// Checks one of our tokens against the accounts and projects (pure): `Ok(None)` when the token
/// is not ours (for TokenReview), the caller when it is ours and still valid.
pub fn check_own_token(
    snapshot: &Snapshot,
    project: &dyn Fn(&str) -> Option<std::sync::Arc<AppProject>>,
    revoked: &dyn Fn(&str) -> bool,
    token: &str,
    now: i64,
) -> Result<Option<Caller>, AuthError> {
    let claims = match tokens::verify(&snapshot.signing_key, token, now) {
        Ok(claims) => claims,
        Err(TokenError::NotOurs) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    match claims.subject() {
        TokenSubject::Project {
            project: name,
            role,
        } => {
            let valid = project(&name).is_some_and(|p| project_lists(&p, &role, &claims));
            if !valid {
                return Err(AuthError::UnknownProjectToken {
                    project: name,
                    role,
                });
            }
            Ok(Some(Caller {
                name: claims.subject.clone(),
                groups: Vec::new(),
                via: Via::ProjectToken,
            }))
        }
        TokenSubject::Session(account) => {
            let account = usable(snapshot, &account, Capability::Login)?;
            if claims.id.is_empty() || revoked(&claims.id) {
                return Err(AuthError::Revoked);
            }
            if account
                .password_changed
                .is_some_and(|t| claims.issued_at < t)
            {
                return Err(AuthError::PasswordChanged);
            }
            Ok(Some(local(account, Via::Session)))
        }
        TokenSubject::ApiKey(account) => {
            let account = usable(snapshot, &account, Capability::ApiKey)?;
            if !account.tokens.iter().any(|t| t.id == claims.id) || claims.id.is_empty() {
                return Err(AuthError::UnknownKey {
                    account: account.name.clone(),
                    id: claims.id,
                });
            }
            Ok(Some(local(account, Via::ApiKey)))
        }
    }
}

fn usable<'a>(
    snapshot: &'a Snapshot,
    name: &str,
    capability: Capability,
) -> Result<&'a Account, AuthError> {
    let account = snapshot
        .accounts
        .get(name)
        .ok_or_else(|| AuthError::NoAccount(name.to_string()))?;
    if !account.enabled {
        return Err(AuthError::Disabled(name.to_string()));
    }
    if !account.can(capability) {
        return Err(AuthError::Capability {
            account: name.to_string(),
            capability: capability.as_str(),
        });
    }
    Ok(account)
}

fn local(account: &Account, via: Via) -> Caller {
    Caller {
        name: account.name.clone(),
        groups: Vec::new(),
        via,
    }
}

/// Whether the project's role still lists the token (in `status.jwtTokensByRole` or the legacy
/// `spec.roles[].jwtTokens`), by id or else by issue time, as Argo CD checks it.
fn project_lists(project: &AppProject, role: &str, claims: &Claims) -> bool {
    crate::policy::project_roles(project)
        .is_some_and(|roles| roles.lists_token(role, claims.issued_at, Some(&claims.id)))
}

/// TokenReview answers, remembered briefly so that a client sending the same token on every
/// request costs one review per [`REVIEW_TTL`], not one per request.
pub const REVIEW_TTL: Duration = Duration::from_secs(10);

/// Answers by the token's SHA-256, with when they were given.
type Answers = HashMap<[u8; 32], (Instant, Result<Caller, AuthError>)>;

#[derive(Default)]
pub struct ReviewCache {
    answers: Mutex<Answers>,
}

impl ReviewCache {
    pub async fn review(&self, client: &kube::Client, token: &str) -> Result<Caller, AuthError> {
        use sha2::Digest;
        let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Some((at, answer)) = self.lock().get(&key)
            && at.elapsed() < REVIEW_TTL
        {
            return answer.clone();
        }
        let answer = token_review(client, token).await;
        // A failed request to the API server is not remembered: the next request asks again.
        if !matches!(answer, Err(AuthError::Review(_))) {
            let mut answers = self.lock();
            answers.retain(|_, (at, _)| at.elapsed() < REVIEW_TTL);
            answers.insert(key, (Instant::now(), answer.clone()));
        }
        answer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Answers> {
        self.answers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn token_review(client: &kube::Client, token: &str) -> Result<Caller, AuthError> {
    use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
    let reviews: kube::Api<TokenReview> = kube::Api::all(client.clone());
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: token.to_string(),
            audiences: None,
        },
        ..Default::default()
    };
    let answer = reviews
        .create(&kube::api::PostParams::default(), &review)
        .await
        .map_err(|e| AuthError::Review(e.to_string()))?;
    let status = answer.status.unwrap_or_default();
    if status.authenticated != Some(true) {
        let reason = status
            .error
            .filter(|e| !e.is_empty())
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(AuthError::NotAuthenticated(reason));
    }
    let user = status.user.unwrap_or_default();
    Ok(Caller {
        name: user.username.unwrap_or_default(),
        groups: user.groups.unwrap_or_default(),
        via: Via::Kubernetes,
    })
}
