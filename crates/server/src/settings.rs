//! The server's configuration as Argo CD keeps it in the control namespace: argocd-cm
//! (accounts, `url`, `oidc.config`), argocd-rbac-cm (the policy), argocd-secret (passwords, API keys, the signing
//! key, webhook secrets). Read at most once per [`REFRESH`] while requests come, so an edit
//! (a revoked key, a new policy line) holds within seconds and an idle server reads nothing.

use crate::auth::accounts::{Account, read_accounts};
use crate::auth::oidc::config::{self as oidc, OidcConfig, OidcConfigError, SecretRef};
use crate::auth::tokens::SigningKey;
use driftless_rbac::Policy;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const CONFIG_MAP: &str = "argocd-cm";
pub const RBAC_CONFIG_MAP: &str = "argocd-rbac-cm";
pub const SECRET: &str = "argocd-secret";
const SIGNING_KEY: &str = "server.secretkey";
const OIDC_CONFIG: &str = "oidc.config";
/// The label a Secret needs before `oidc.config` may name it (Argo CD's).
const PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "argocd");
const REFRESH: Duration = Duration::from_secs(3);

/// One reading of the three objects.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub accounts: BTreeMap<String, Account>,
    pub policy: Arc<Policy>,
    pub signing_key: SigningKey,
    /// argocd-secret's data, for the webhook secrets.
    pub secret: BTreeMap<String, Vec<u8>>,
    /// argocd-cm's `oidc.config`, when set: the provider, or why it cannot be used.
    pub oidc: Option<Result<OidcConfig, OidcConfigError>>,
    /// argocd-cm's `url`: where users reach the server (the SSO callback is under it).
    pub url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("failed to read {kind} {namespace}/{name}: {source}")]
    Read {
        kind: &'static str,
        namespace: String,
        name: &'static str,
        #[source]
        source: kube::Error,
    },
    #[error("failed to store a new signing key in Secret {namespace}/{SECRET}: {source}")]
    WriteKey {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to read the built-in RBAC policy: {source}")]
    Policy {
        #[source]
        source: driftless_rbac::PolicyError,
    },
    #[error("Secret {namespace}/{SECRET} has no {SIGNING_KEY}")]
    NoSigningKey { namespace: String },
}

pub struct Settings {
    client: kube::Client,
    namespace: String,
    cached: Mutex<Option<(Instant, Arc<Snapshot>)>>,
    /// Serializes readings so a burst of requests makes one.
    reading: tokio::sync::Mutex<()>,
}

impl Settings {
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self {
            client,
            namespace: namespace.to_string(),
            cached: Mutex::new(None),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Gives argocd-secret a signing key if it has none (creating the Secret if missing), as
    /// Argo CD's server does at start; the key is 32 random bytes, written once.
    pub async fn ensure_signing_key(&self) -> Result<(), SettingsError> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let existing = secrets
            .get_opt(SECRET)
            .await
            .map_err(|source| self.read_error("Secret", SECRET, source))?;
        let write_error = |source| SettingsError::WriteKey {
            namespace: self.namespace.clone(),
            source,
        };
        let key = {
            use base64::Engine;
            let bytes: [u8; 32] = rand::random();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        match existing {
            Some(secret) if has_key(&secret) => Ok(()),
            Some(_) => {
                let patch = serde_json::json!({"stringData": {SIGNING_KEY: key}});
                secrets
                    .patch(SECRET, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(write_error)?;
                Ok(())
            }
            None => {
                let secret: Secret = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": SECRET, "labels": {"app.kubernetes.io/part-of": "argocd"}},
                    "stringData": {SIGNING_KEY: key},
                }))
                .map_err(|e| write_error(kube::Error::SerdeError(e)))?;
                match secrets.create(&PostParams::default(), &secret).await {
                    // Another replica created it first: its key is the one.
                    Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
                    other => other.map(|_| ()).map_err(write_error),
                }
            }
        }
    }

    /// The current configuration, read again when the last reading is older than [`REFRESH`].
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, SettingsError> {
        if let Some(fresh) = self.fresh() {
            return Ok(fresh);
        }
        let _one = self.reading.lock().await;
        if let Some(fresh) = self.fresh() {
            return Ok(fresh);
        }
        let previous = self.last();
        let snapshot = Arc::new(self.read(previous.as_deref()).await?);
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < REFRESH)
            .map(|(_, s)| s.clone())
    }

    fn last(&self) -> Option<Arc<Snapshot>> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached.as_ref().map(|(_, s)| s.clone())
    }

    async fn read(&self, previous: Option<&Snapshot>) -> Result<Snapshot, SettingsError> {
        let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let (config, rbac, secret) = futures::join!(
            maps.get_opt(CONFIG_MAP),
            maps.get_opt(RBAC_CONFIG_MAP),
            secrets.get_opt(SECRET)
        );
        let config = config.map_err(|s| self.read_error("ConfigMap", CONFIG_MAP, s))?;
        let rbac = rbac.map_err(|s| self.read_error("ConfigMap", RBAC_CONFIG_MAP, s))?;
        let secret = secret.map_err(|s| self.read_error("Secret", SECRET, s))?;
        let config = config.and_then(|c| c.data).unwrap_or_default();
        let rbac = rbac.and_then(|c| c.data).unwrap_or_default();
        let secret: BTreeMap<String, Vec<u8>> = secret
            .and_then(|s| s.data)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        let signing_key = secret
            .get(SIGNING_KEY)
            .filter(|k| !k.is_empty())
            .cloned()
            .map(SigningKey::new)
            .ok_or_else(|| SettingsError::NoSigningKey {
                namespace: self.namespace.clone(),
            })?;
        let policy = match Policy::from_config_map(&rbac) {
            Ok(policy) => Arc::new(policy),
            Err(error) => {
                // As Argo CD: a broken edit keeps the policy that was in force; with none yet,
                // only the built-in roles apply (and no default role).
                tracing::error!(%error, "failed to read argocd-rbac-cm; the previous policy stays in force");
                match previous {
                    Some(p) => p.policy.clone(),
                    None => Arc::new(
                        Policy::from_config_map(&BTreeMap::new())
                            .map_err(|source| SettingsError::Policy { source })?,
                    ),
                }
            }
        };
        let oidc = match config.get(OIDC_CONFIG).filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(text) => {
                let others = self.referenced_secrets(text).await;
                let parsed = oidc::parse(text, &oidc::lookup_in(&secret, &others));
                if let Err(error) = &parsed {
                    tracing::error!(%error, "single sign-on is not usable");
                }
                Some(parsed)
            }
        };
        Ok(Snapshot {
            accounts: read_accounts(&config, &secret),
            policy,
            signing_key,
            secret,
            oidc,
            url: config
                .get("url")
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty()),
        })
    }

    /// The values of `$name:key` references, from Secrets labelled as part of Argo CD; one
    /// that cannot be read is left out (and the configuration then names it as missing).
    async fn referenced_secrets(&self, text: &str) -> BTreeMap<SecretRef, String> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut values = BTreeMap::new();
        for reference in oidc::references(text) {
            let SecretRef::Other { secret, key } = &reference else {
                continue;
            };
            let found = match secrets.get_opt(secret).await {
                Ok(found) => found,
                Err(error) => {
                    tracing::warn!(%error, secret, "failed to read a Secret oidc.config names");
                    None
                }
            };
            let labelled = found.as_ref().is_some_and(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(PART_OF.0))
                    .is_some_and(|v| v == PART_OF.1)
            });
            if let Some(value) = found
                .filter(|_| labelled)
                .and_then(|s| s.data)
                .and_then(|d| d.get(key).cloned())
            {
                values.insert(reference, String::from_utf8_lossy(&value.0).into_owned());
            }
        }
        values
    }

    fn read_error(
        &self,
        kind: &'static str,
        name: &'static str,
        source: kube::Error,
    ) -> SettingsError {
        SettingsError::Read {
            kind,
            namespace: self.namespace.clone(),
            name,
            source,
        }
    }
}

fn has_key(secret: &Secret) -> bool {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(SIGNING_KEY))
        .is_some_and(|k| !k.0.is_empty())
}
