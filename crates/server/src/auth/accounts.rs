//! Local accounts as Argo CD keeps them: capabilities and `enabled` in argocd-cm
//! (`accounts.<name>: apiKey, login`, `accounts.<name>.enabled`, `admin.enabled`), password
//! hashes, their change times and API-key ids in argocd-secret (`admin.password`,
//! `accounts.<name>.password`, `….passwordMtime`, `….tokens`). Pure: maps in, accounts out.

use serde::Deserialize;
use std::collections::BTreeMap;

pub const ADMIN: &str = "admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    Login,
    ApiKey,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Login => "login",
            Capability::ApiKey => "apiKey",
        }
    }
}

/// An API key the account issued; removing it from the list revokes the key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IssuedToken {
    pub id: String,
    #[serde(rename = "iat", default)]
    pub issued_at: i64,
    #[serde(rename = "exp", default)]
    pub expires_at: Option<i64>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub enabled: bool,
    pub capabilities: Vec<Capability>,
    /// bcrypt hash; none: the account cannot log in with a password.
    pub password_hash: Option<String>,
    /// Seconds since the epoch; tokens issued before it are no longer valid.
    pub password_changed: Option<i64>,
    pub tokens: Vec<IssuedToken>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("capabilities", &self.capabilities)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl Account {
    pub fn can(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
}

/// Every account the two objects define; the admin account always exists (enabled unless
/// `admin.enabled` says otherwise, login only). Malformed entries are skipped with a warning,
/// as one bad key must not lock every user out.
pub fn read_accounts(
    config: &BTreeMap<String, String>,
    secret: &BTreeMap<String, Vec<u8>>,
) -> BTreeMap<String, Account> {
    let text = |key: &str| {
        secret
            .get(key)
            .and_then(|v| String::from_utf8(v.clone()).ok())
            .filter(|v| !v.is_empty())
    };
    let account = |name: &str, prefix: &str, enabled: bool, capabilities: Vec<Capability>| {
        Account {
            name: name.to_string(),
            enabled,
            capabilities,
            password_hash: text(&format!("{prefix}.password")),
            password_changed: text(&format!("{prefix}.passwordMtime")).and_then(|t| rfc3339(&t)),
            tokens: text(&format!("{prefix}.tokens"))
                .and_then(|t| match serde_json::from_str(&t) {
                    Ok(tokens) => Some(tokens),
                    Err(error) => {
                        tracing::warn!(account = name, %error, "failed to read the account's API keys");
                        None
                    }
                })
                .unwrap_or_default(),
        }
    };
    let admin_enabled = config
        .get("admin.enabled")
        .map(|v| v.trim() != "false")
        .unwrap_or(true);
    let mut accounts = BTreeMap::new();
    accounts.insert(
        ADMIN.to_string(),
        account(ADMIN, "admin", admin_enabled, vec![Capability::Login]),
    );
    for (key, value) in config {
        let Some(rest) = key.strip_prefix("accounts.") else {
            continue;
        };
        let (name, suffix) = match rest.split_once('.') {
            Some((name, suffix)) => (name, Some(suffix)),
            None => (rest, None),
        };
        if name.is_empty() || name == ADMIN {
            continue;
        }
        let prefix = format!("accounts.{name}");
        let entry = accounts
            .entry(name.to_string())
            .or_insert_with(|| account(name, &prefix, true, Vec::new()));
        match suffix {
            None => {
                entry.capabilities = value
                    .split(',')
                    .filter_map(|c| match c.trim() {
                        "login" => Some(Capability::Login),
                        "apiKey" => Some(Capability::ApiKey),
                        "" => None,
                        other => {
                            tracing::warn!(
                                account = name,
                                capability = other,
                                "unknown account capability ignored"
                            );
                            None
                        }
                    })
                    .collect();
            }
            Some("enabled") => entry.enabled = value.trim() != "false",
            Some(other) => {
                tracing::warn!(key = %key, suffix = other, "unknown account setting ignored");
            }
        }
    }
    accounts
}

/// RFC 3339 time (`2026-01-02T03:04:05Z`) as seconds since the epoch.
fn rfc3339(text: &str) -> Option<i64> {
    let time: k8s_openapi::jiff::Timestamp = text.trim().parse().ok()?;
    Some(time.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn maps(
        config: &[(&str, &str)],
        secret: &[(&str, &str)],
    ) -> (BTreeMap<String, String>, BTreeMap<String, Vec<u8>>) {
        (
            config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            secret
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn accounts_read_as_argo_cd_documents_them() {
        let (config, secret) = maps(
            &[
                ("accounts.alice", "apiKey, login"),
                ("accounts.ci", "apiKey"),
                ("accounts.bob", "login"),
                ("accounts.bob.enabled", "false"),
                ("admin.enabled", "false"),
                ("url", "https://cd.example"),
            ],
            &[
                ("admin.password", "$2a$10$hash"),
                ("accounts.alice.password", "$2a$10$alice"),
                ("accounts.alice.passwordMtime", "2026-01-02T03:04:05Z"),
                (
                    "accounts.ci.tokens",
                    r#"[{"id":"k1","iat":1700000000},{"id":"k2","iat":1700000001,"exp":1800000000}]"#,
                ),
            ],
        );
        let accounts = read_accounts(&config, &secret);
        assert_eq!(
            accounts.keys().collect::<Vec<_>>(),
            ["admin", "alice", "bob", "ci"]
        );
        let admin = &accounts["admin"];
        assert!(!admin.enabled);
        assert_eq!(admin.capabilities, [Capability::Login]);
        assert_eq!(admin.password_hash.as_deref(), Some("$2a$10$hash"));
        let alice = &accounts["alice"];
        assert!(alice.enabled && alice.can(Capability::Login) && alice.can(Capability::ApiKey));
        assert_eq!(alice.password_changed, Some(1_767_323_045));
        assert!(!accounts["bob"].enabled);
        let ci = &accounts["ci"];
        assert!(!ci.can(Capability::Login));
        assert_eq!(
            ci.tokens.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["k1", "k2"]
        );
        assert_eq!(ci.tokens[1].expires_at, Some(1_800_000_000));
    }

    #[test]
    fn a_password_hash_never_shows_in_debug_output() {
        let (config, secret) = maps(&[], &[("admin.password", "$2a$10$secret-hash")]);
        let shown = format!("{:?}", read_accounts(&config, &secret));
        assert!(!shown.contains("secret-hash"), "{shown}");
    }
}
