//! Destination clusters as Argo CD stores them (pure): Secrets labelled
//! `argocd.argoproj.io/secret-type: cluster` with `name`, `server` and `config` (JSON:
//! `bearerToken`, `username`/`password`, `tlsClientConfig{insecure, serverName, caData,
//! certData, keyData}`, `execProviderConfig`). Finds the cluster an Application's destination
//! names and turns its Secret into a kubeconfig. Errors never carry credentials.

use crate::validate::{IN_CLUSTER_NAME, IN_CLUSTER_SERVER};
use driftless_model::ApplicationDestination;
use driftless_model::annotations::SECRET_TYPE_CLUSTER;
use driftless_model::{is_secret_type, secret_field as field};
use k8s_openapi::api::core::v1::Secret;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterLookupError {
    #[error("there are no clusters with this name: {0}")]
    NoSuchName(String),
    #[error("there are no clusters with this server: {0}")]
    NoSuchServer(String),
    #[error("failed to read cluster secret {secret}: {message}")]
    Unreadable { secret: String, message: String },
}

/// Where an Application deploys to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The cluster driftless runs in.
    Local,
    Remote(Box<ClusterEntry>),
}

/// One cluster Secret, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEntry {
    pub name: String,
    pub server: String,
    /// The Secret's name, for messages.
    pub secret: String,
    pub config: ClusterConfig,
    /// What driftless may manage there.
    pub scope: ClusterScope,
    /// Changes whenever anything in the Secret's data does: a cached connection is rebuilt.
    pub fingerprint: String,
}

/// What a cluster Secret limits driftless to on its cluster (Argo CD's `namespaces`, a
/// comma-separated list, and `clusterResources`), or `driftless serve --namespaces` on the
/// cluster it runs in: nothing when it lists no namespaces; otherwise objects in those
/// namespaces, and cluster-scoped ones only with `clusterResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterScope {
    pub namespaces: Vec<String>,
    pub cluster_resources: bool,
    pub origin: ScopeOrigin,
}

/// What set a [`ClusterScope`], for the message of a refusal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScopeOrigin {
    /// The cluster Secret's `namespaces` and `clusterResources`.
    #[default]
    Secret,
    /// `driftless serve --namespaces` (namespaced mode, the in-cluster destination).
    Flag,
}

/// Why a scope keeps an object out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeRefusal {
    #[error(
        "namespace {namespace} is not managed on cluster {cluster} (its Secret lists {listed})"
    )]
    SecretNamespace {
        namespace: String,
        cluster: String,
        listed: String,
    },
    #[error(
        "cluster-scoped resources are not managed on cluster {cluster} (its Secret sets namespaces without clusterResources)"
    )]
    SecretClusterScoped { cluster: String },
    #[error(
        "namespace {namespace} is outside the namespaces driftless may manage on cluster {cluster} (driftless serve --namespaces {listed})"
    )]
    FlagNamespace {
        namespace: String,
        cluster: String,
        listed: String,
    },
    #[error(
        "cluster-scoped resources are not managed on cluster {cluster}: driftless runs namespaced (driftless serve --namespaces {listed})"
    )]
    FlagClusterScoped { cluster: String, listed: String },
}

impl ClusterScope {
    /// `driftless serve --namespaces`: those namespaces only, no cluster-scoped objects.
    pub fn namespaced(namespaces: &[String]) -> Self {
        Self {
            namespaces: namespaces.to_vec(),
            cluster_resources: false,
            origin: ScopeOrigin::Flag,
        }
    }

    /// Whether it limits anything.
    pub fn is_limited(&self) -> bool {
        !self.namespaces.is_empty()
    }

    /// Why an object in `namespace` (`None`: cluster-scoped) may not be managed on the cluster
    /// `cluster`, if it may not.
    pub fn refusal(&self, cluster: &str, namespace: Option<&str>) -> Option<ScopeRefusal> {
        if self.namespaces.is_empty() {
            return None;
        }
        let listed = self.namespaces.join(", ");
        let cluster = cluster.to_string();
        match (namespace, self.origin) {
            (Some(ns), origin) if !self.namespaces.iter().any(|n| n == ns) => {
                let namespace = ns.to_string();
                Some(match origin {
                    ScopeOrigin::Secret => ScopeRefusal::SecretNamespace {
                        namespace,
                        cluster,
                        listed,
                    },
                    ScopeOrigin::Flag => ScopeRefusal::FlagNamespace {
                        namespace,
                        cluster,
                        listed: self.namespaces.join(","),
                    },
                })
            }
            (None, ScopeOrigin::Secret) if !self.cluster_resources => {
                Some(ScopeRefusal::SecretClusterScoped { cluster })
            }
            (None, ScopeOrigin::Flag) if !self.cluster_resources => {
                Some(ScopeRefusal::FlagClusterScoped {
                    cluster,
                    listed: self.namespaces.join(","),
                })
            }
            _ => None,
        }
    }
}

/// The scope the cluster Secret for `destination` sets, the local cluster's included (a Secret
/// for `https://kubernetes.default.svc` may limit it too); unlimited without a Secret.
pub fn scope_of(destination: &ApplicationDestination, secrets: &[Secret]) -> ClusterScope {
    find_secret(destination, secrets)
        .and_then(|s| read_entry(s).ok())
        .map(|e| e.scope)
        .unwrap_or_default()
}

#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfig {
    pub bearer_token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    #[serde(default)]
    pub tls_client_config: TlsClientConfig,
    pub exec_provider_config: Option<ExecProviderConfig>,
    /// Read so it can be refused by name rather than silently ignored.
    pub aws_auth_config: Option<Value>,
}

/// Says which credentials are set, never what they are.
impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tls = &self.tls_client_config;
        f.debug_struct("ClusterConfig")
            .field("bearer_token", &self.bearer_token.is_some())
            .field("username", &self.username)
            .field("insecure", &tls.insecure)
            .field("server_name", &tls.server_name)
            .field("client_certificate", &tls.cert_data.is_some())
            .field(
                "exec",
                &self.exec_provider_config.as_ref().map(|e| &e.command),
            )
            .finish_non_exhaustive()
    }
}

/// Certificates are base64 of PEM, as Argo CD writes them (Go's `[]byte` in JSON).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsClientConfig {
    #[serde(default)]
    pub insecure: bool,
    pub server_name: Option<String>,
    pub ca_data: Option<String>,
    pub cert_data: Option<String>,
    pub key_data: Option<String>,
}

#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecProviderConfig {
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub api_version: Option<String>,
}

fn normalized(server: &str) -> &str {
    server.trim_end_matches('/')
}

/// Finds the cluster `destination` names among `secrets` (others than cluster Secrets are
/// skipped). The local cluster needs no Secret, as in Argo CD.
pub fn resolve(
    destination: &ApplicationDestination,
    secrets: &[Secret],
) -> Result<Resolved, ClusterLookupError> {
    let server = destination.server.as_deref().filter(|s| !s.is_empty());
    let name = destination.name.as_deref().filter(|s| !s.is_empty());
    if server.is_some_and(|s| normalized(s) == IN_CLUSTER_SERVER) {
        return Ok(Resolved::Local);
    }
    let Some(secret) = find_secret(destination, secrets) else {
        return match (server, name) {
            (None, Some(IN_CLUSTER_NAME)) => Ok(Resolved::Local),
            (Some(server), _) => Err(ClusterLookupError::NoSuchServer(server.to_string())),
            (None, name) => Err(ClusterLookupError::NoSuchName(
                name.unwrap_or_default().to_string(),
            )),
        };
    };
    let entry = read_entry(secret)?;
    if normalized(&entry.server) == IN_CLUSTER_SERVER {
        return Ok(Resolved::Local);
    }
    Ok(Resolved::Remote(Box::new(entry)))
}

/// The cluster Secret `destination` names, by server or else by name (the last one wins).
fn find_secret<'a>(
    destination: &ApplicationDestination,
    secrets: &'a [Secret],
) -> Option<&'a Secret> {
    let server = destination.server.as_deref().filter(|s| !s.is_empty());
    let name = destination.name.as_deref().filter(|s| !s.is_empty());
    let mut clusters = secrets
        .iter()
        .filter(|s| is_secret_type(s, SECRET_TYPE_CLUSTER));
    match (server, name) {
        (Some(server), _) => {
            clusters.rfind(|s| normalized(&field(s, "server")) == normalized(server))
        }
        (None, Some(name)) => clusters.rfind(|s| field(s, "name") == name),
        (None, None) => None,
    }
}

/// The name and server of where `destination` points once resolved, for project checks.
pub fn name_and_server(resolved: &Resolved) -> (String, String) {
    match resolved {
        Resolved::Local => (IN_CLUSTER_NAME.into(), IN_CLUSTER_SERVER.into()),
        Resolved::Remote(entry) => (entry.name.clone(), entry.server.clone()),
    }
}

fn read_entry(secret: &Secret) -> Result<ClusterEntry, ClusterLookupError> {
    let secret_name = secret.metadata.name.clone().unwrap_or_default();
    let raw = field(secret, "config");
    let config: ClusterConfig = if raw.trim().is_empty() {
        ClusterConfig::default()
    } else {
        // serde_json's message names the position, never the value.
        serde_json::from_str(&raw).map_err(|e| ClusterLookupError::Unreadable {
            secret: secret_name.clone(),
            message: format!("config is not valid JSON: {e}"),
        })?
    };
    let server = field(secret, "server");
    if server.is_empty() {
        return Err(ClusterLookupError::Unreadable {
            secret: secret_name,
            message: "it has no server".into(),
        });
    }
    let name = Some(field(secret, "name"))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| server.clone());
    let mut hash = Sha256::new();
    for key in ["name", "server", "config", "namespaces", "clusterResources"] {
        hash.update(field(secret, key).as_bytes());
        hash.update([0]);
    }
    Ok(ClusterEntry {
        name,
        server,
        secret: secret_name,
        config,
        scope: ClusterScope {
            namespaces: crate::project_scope::list(&field(secret, "namespaces")),
            cluster_resources: field(secret, "clusterResources") == "true",
            origin: ScopeOrigin::Secret,
        },
        fingerprint: hex::encode(hash.finalize()),
    })
}

/// A kubeconfig (as JSON, for `kube::config::Kubeconfig`) that reaches `entry`.
pub fn kubeconfig(entry: &ClusterEntry) -> Result<Value, ClusterLookupError> {
    let config = &entry.config;
    if config.aws_auth_config.is_some() {
        return Err(ClusterLookupError::Unreadable {
            secret: entry.secret.clone(),
            message: "awsAuthConfig is not supported; use execProviderConfig with the aws CLI"
                .into(),
        });
    }
    let tls = &config.tls_client_config;
    let mut cluster = json!({ "server": entry.server });
    if tls.insecure {
        cluster["insecure-skip-tls-verify"] = json!(true);
    }
    if let Some(ca) = &tls.ca_data {
        cluster["certificate-authority-data"] = json!(ca);
    }
    if let Some(name) = &tls.server_name {
        cluster["tls-server-name"] = json!(name);
    }
    let mut user = json!({});
    if let Some(token) = &config.bearer_token {
        user["token"] = json!(token);
    }
    if let Some(username) = &config.username {
        user["username"] = json!(username);
        user["password"] = json!(config.password.clone().unwrap_or_default());
    }
    if let Some(cert) = &tls.cert_data {
        user["client-certificate-data"] = json!(cert);
    }
    if let Some(key) = &tls.key_data {
        user["client-key-data"] = json!(key);
    }
    if let Some(exec) = &config.exec_provider_config {
        let env: Vec<Value> = exec
            .env
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        user["exec"] = json!({
            "apiVersion": exec.api_version.clone()
                .unwrap_or_else(|| "client.authentication.k8s.io/v1beta1".into()),
            "command": exec.command,
            "args": exec.args,
            "env": env,
        });
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": entry.name, "cluster": cluster}],
        "users": [{"name": entry.name, "user": user}],
        "contexts": [{"name": entry.name, "context": {"cluster": entry.name, "user": entry.name}}],
        "current-context": entry.name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_model::annotations::SECRET_TYPE;
    use k8s_openapi::ByteString;

    fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
        let mut s = Secret::default();
        s.metadata.name = Some(name.into());
        s.metadata.labels = Some(BTreeMap::from([(
            SECRET_TYPE.to_string(),
            SECRET_TYPE_CLUSTER.to_string(),
        )]));
        s.data = Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        );
        s
    }

    fn by_server(server: &str) -> ApplicationDestination {
        ApplicationDestination {
            server: Some(server.into()),
            ..Default::default()
        }
    }

    fn by_name(name: &str) -> ApplicationDestination {
        ApplicationDestination {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    fn staging() -> Secret {
        secret(
            "cluster-staging",
            &[
                ("name", "staging"),
                ("server", "https://10.0.0.1:6443"),
                (
                    "config",
                    r#"{"bearerToken":"s3cr3t","tlsClientConfig":{"caData":"Q0E=","serverName":"api.staging"}}"#,
                ),
            ],
        )
    }

    #[test]
    fn the_local_cluster_needs_no_secret() {
        assert_eq!(
            resolve(&by_server("https://kubernetes.default.svc/"), &[]),
            Ok(Resolved::Local)
        );
        assert_eq!(resolve(&by_name("in-cluster"), &[]), Ok(Resolved::Local));
    }

    #[test]
    fn a_destination_is_found_by_name_or_by_server() {
        let secrets = [staging()];
        let Ok(Resolved::Remote(named)) = resolve(&by_name("staging"), &secrets) else {
            panic!("staging not found by name");
        };
        assert_eq!(named.server, "https://10.0.0.1:6443");
        assert_eq!(named.config.bearer_token.as_deref(), Some("s3cr3t"));
        let Ok(Resolved::Remote(served)) = resolve(&by_server("https://10.0.0.1:6443/"), &secrets)
        else {
            panic!("staging not found by server");
        };
        assert_eq!(*served, *named);
    }

    #[test]
    fn unknown_clusters_are_named_in_the_error() {
        let secrets = [staging()];
        assert_eq!(
            resolve(&by_name("prod"), &secrets),
            Err(ClusterLookupError::NoSuchName("prod".into()))
        );
        assert_eq!(
            resolve(&by_server("https://10.9.9.9"), &secrets),
            Err(ClusterLookupError::NoSuchServer("https://10.9.9.9".into()))
        );
    }

    #[test]
    fn secrets_of_other_types_are_not_clusters() {
        let mut repo = staging();
        repo.metadata.labels = Some(BTreeMap::from([(
            SECRET_TYPE.to_string(),
            "repository".to_string(),
        )]));
        assert!(resolve(&by_name("staging"), &[repo]).is_err());
    }

    #[test]
    fn a_secret_naming_the_local_server_is_the_local_cluster() {
        let local = secret(
            "local",
            &[
                ("name", "home"),
                ("server", "https://kubernetes.default.svc"),
            ],
        );
        assert_eq!(resolve(&by_name("home"), &[local]), Ok(Resolved::Local));
    }

    #[test]
    fn a_broken_config_is_reported_without_its_content() {
        let broken = secret(
            "cluster-broken",
            &[
                ("name", "broken"),
                ("server", "https://10.0.0.2"),
                ("config", r#"{"bearerToken": "s3cr3t""#),
            ],
        );
        let error = resolve(&by_name("broken"), &[broken])
            .unwrap_err()
            .to_string();
        assert!(error.contains("cluster-broken"), "{error}");
        assert!(!error.contains("s3cr3t"), "{error}");
    }

    #[test]
    fn the_kubeconfig_carries_token_ca_and_server_name() {
        let Ok(Resolved::Remote(entry)) = resolve(&by_name("staging"), &[staging()]) else {
            panic!("staging not found");
        };
        let config = kubeconfig(&entry).unwrap();
        let kc: kube::config::Kubeconfig = serde_json::from_value(config).unwrap();
        let cluster = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://10.0.0.1:6443"));
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some("Q0E="));
        assert_eq!(cluster.tls_server_name.as_deref(), Some("api.staging"));
        let user = kc.auth_infos[0].auth_info.as_ref().unwrap();
        assert!(user.token.is_some());
        assert_eq!(kc.current_context.as_deref(), Some("staging"));
    }

    #[test]
    fn debug_output_hides_credentials() {
        let entry = read_entry(&staging()).unwrap();
        let printed = format!("{entry:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("bearer_token: true"), "{printed}");
    }

    #[test]
    fn a_changed_secret_changes_the_fingerprint() {
        let a = read_entry(&staging()).unwrap();
        let mut other = staging();
        other.data.as_mut().unwrap().insert(
            "config".into(),
            ByteString(br#"{"bearerToken":"rotated"}"#.to_vec()),
        );
        let b = read_entry(&other).unwrap();
        assert_ne!(a.fingerprint, b.fingerprint);
    }
}
