//! The clusters Applications deploy to. The local one is connected at start; another is
//! connected the first time an app names it (from its cluster Secret, see [`driftless_decisions::cluster_lookup`])
//! and shared by every app that names it, with its own discovery and live cache. A Secret
//! that changes (rotated token, new CA) replaces the connection; one that cannot connect is
//! tried again on the app's next reconcile.

use crate::clusters::live_cache::{LiveCache, Notify};
use crate::clusters::namespaces::NamespaceStore;
use crate::clusters::target::Target;
use crate::runtime::stores::ControlStores;
use driftless_apply::{ClusterClient, TrackingMethod};
use driftless_decisions::cluster_lookup::{self, ClusterLookupError, ClusterScope, Resolved};
use driftless_decisions::service_account::ServiceAccountRef;
use driftless_model::ApplicationDestination;
use driftless_model::annotations::{SECRET_TYPE_CLUSTER, SECRET_TYPE_REPOSITORY};
use k8s_openapi::api::core::v1::Secret;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long connecting to a cluster (discovery included) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a listing of cluster and repository Secrets serves: a changed Secret is seen
/// within this time.
const SECRETS_MAX_AGE: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The spec names a cluster that is not there: the app's spec is at fault.
    #[error(transparent)]
    Lookup(#[from] ClusterLookupError),
    #[error("failed to list cluster secrets in {namespace}: {source}")]
    List {
        namespace: String,
        source: kube::Error,
    },
    #[error("failed to connect to cluster {name} ({server}): {message}")]
    Connect {
        name: String,
        server: String,
        message: String,
    },
    #[error("failed to make a client for cluster {cluster} acting as {user}: {message}")]
    Impersonate {
        cluster: String,
        user: String,
        message: String,
    },
}

/// Impersonating clients by (server, connection fingerprint, user name).
type Writers = HashMap<(String, String, String), Arc<ClusterClient>>;

pub struct Destinations {
    namespace: String,
    tracking: TrackingMethod,
    installation: Option<String>,
    notify: Notify,
    local: Arc<Target>,
    /// By server address.
    remote: tokio::sync::Mutex<HashMap<String, Arc<Target>>>,
    /// Where the control namespace's Secrets are kept.
    stores: ControlStores,
    /// Cluster and repository Secrets, with when they were copied from the store.
    secrets: tokio::sync::Mutex<Option<(Instant, Arc<Vec<Secret>>)>>,
    /// One client per (cluster, ServiceAccount) that syncs impersonate.
    writers: tokio::sync::Mutex<Writers>,
}

/// Where the in-cluster destination is, and how far the engine may reach in it.
pub struct LocalCluster {
    /// Reaches the cluster driftless runs in, where Applications and Secrets live.
    pub control: Client,
    pub cluster: ClusterClient,
    /// What `control` was made from (None: inferred when an impersonating client is needed).
    pub config: Option<Config>,
    /// `driftless serve --namespaces` (empty: the whole cluster).
    pub namespaces: Vec<String>,
}

impl Destinations {
    pub fn new(
        local: LocalCluster,
        namespace: String,
        tracking: TrackingMethod,
        installation: Option<String>,
        notify: Notify,
        stores: ControlStores,
    ) -> Self {
        let (name, server) = cluster_lookup::name_and_server(&Resolved::Local);
        let engine_scope = if local.namespaces.is_empty() {
            ClusterScope::default()
        } else {
            ClusterScope::namespaced(&local.namespaces)
        };
        let local = Arc::new(Target {
            name,
            server,
            namespaces: NamespaceStore::new(local.control.clone(), &engine_scope),
            live: LiveCache::new(
                local.control.clone(),
                tracking,
                installation.clone(),
                notify.clone(),
                engine_scope.clone(),
            ),
            cluster: Arc::new(local.cluster),
            inventories: Default::default(),
            fingerprint: String::new(),
            engine_scope,
            config: local.config,
        });
        Self {
            namespace,
            tracking,
            installation,
            notify,
            local,
            remote: Default::default(),
            stores,
            secrets: Default::default(),
            writers: Default::default(),
        }
    }

    /// The client a sync on `target` writes through: the engine's own, or one impersonating
    /// `account` (made once per cluster and account; reads stay with the engine's identity).
    pub async fn writer(
        &self,
        target: &Target,
        account: Option<&ServiceAccountRef>,
    ) -> Result<Arc<ClusterClient>, DestinationError> {
        let Some(account) = account else {
            return Ok(target.cluster.clone());
        };
        let user = account.username();
        let key = (
            target.server.clone(),
            target.fingerprint.clone(),
            user.clone(),
        );
        let mut writers = self.writers.lock().await;
        if let Some(writer) = writers.get(&key) {
            return Ok(writer.clone());
        }
        let failed = |message: String| DestinationError::Impersonate {
            cluster: target.name.clone(),
            user: user.clone(),
            message,
        };
        let mut config = match &target.config {
            Some(config) => config.clone(),
            None => Config::infer().await.map_err(|e| failed(e.to_string()))?,
        };
        config.auth_info.impersonate = Some(user.clone());
        config.auth_info.impersonate_groups = None;
        let client = crate::runtime::kube_requests::counted_client(config)
            .map_err(|e| failed(e.to_string()))?;
        let writer = Arc::new(target.cluster.writing_through(client));
        // A rotated cluster Secret makes a new target: its old clients go.
        writers.retain(|(server, fingerprint, _), _| {
            *server != target.server || *fingerprint == target.fingerprint
        });
        writers.insert(key, writer.clone());
        tracing::info!(cluster = %target.name, %user, "syncs on this cluster impersonate a service account");
        Ok(writer)
    }

    pub fn local(&self) -> &Arc<Target> {
        &self.local
    }

    /// Objects held by each cluster's live cache: (server, name, count).
    pub fn live_objects_by_cluster(&self) -> Vec<(String, String, usize)> {
        let mut counts = vec![(
            self.local.server.clone(),
            self.local.name.clone(),
            self.local.live.len(),
        )];
        if let Ok(remote) = self.remote.try_lock() {
            counts.extend(
                remote
                    .values()
                    .map(|t| (t.server.clone(), t.name.clone(), t.live.len())),
            );
        }
        counts
    }

    /// Objects held by every live cache.
    pub fn live_objects(&self) -> usize {
        let remote = self
            .remote
            .try_lock()
            .map(|r| r.values().map(|t| t.live.len()).sum())
            .unwrap_or(0);
        self.local.live.len() + remote
    }

    /// The cluster `destination` names, connected.
    pub async fn resolve(
        &self,
        destination: &ApplicationDestination,
    ) -> Result<Arc<Target>, DestinationError> {
        let secrets = if names_local(destination) {
            Arc::default()
        } else {
            self.secrets().await?
        };
        let entry = match cluster_lookup::resolve(destination, &secrets)? {
            Resolved::Local => return Ok(self.local.clone()),
            Resolved::Remote(entry) => *entry,
        };
        // Held while connecting, so two apps never connect to one cluster at once.
        let mut remote = self.remote.lock().await;
        if let Some(target) = remote.get(&entry.server)
            && target.fingerprint == entry.fingerprint
        {
            return Ok(target.clone());
        }
        let connect_error = |message: String| DestinationError::Connect {
            name: entry.name.clone(),
            server: entry.server.clone(),
            message,
        };
        let config = tokio::time::timeout(CONNECT_TIMEOUT, client_config(&entry))
            .await
            .map_err(|_| connect_error(format!("no answer within {CONNECT_TIMEOUT:?}")))??;
        let client = crate::runtime::kube_requests::counted_client(config.clone())
            .map_err(|e| connect_error(e.to_string()))?;
        let cluster = tokio::time::timeout(CONNECT_TIMEOUT, ClusterClient::connect(client.clone()))
            .await
            .map_err(|_| connect_error(format!("no answer within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| connect_error(e.to_string()))?;
        tracing::info!(cluster = %entry.name, server = %entry.server, "connected to a destination cluster");
        let target = Arc::new(Target {
            name: entry.name.clone(),
            server: entry.server.clone(),
            namespaces: NamespaceStore::new(client.clone(), &entry.scope),
            live: LiveCache::new(
                client,
                self.tracking,
                self.installation.clone(),
                self.notify.clone(),
                entry.scope.clone(),
            ),
            cluster: Arc::new(cluster),
            inventories: Default::default(),
            fingerprint: entry.fingerprint.clone(),
            engine_scope: ClusterScope::default(),
            config: Some(config),
        });
        remote.insert(entry.server.clone(), target.clone());
        Ok(target)
    }

    /// The cluster and repository Secrets of the control namespace (what resolves destinations
    /// and scopes them and projects), from the Secret store ([`ControlStores`]); copied out
    /// of it at most once per [`SECRETS_MAX_AGE`], so reconciles share one list.
    pub async fn secrets(&self) -> Result<Arc<Vec<Secret>>, DestinationError> {
        let mut cached = self.secrets.lock().await;
        if let Some((listed, secrets)) = cached.as_ref()
            && listed.elapsed() < SECRETS_MAX_AGE
        {
            return Ok(secrets.clone());
        }
        let secrets = self
            .stores
            .secrets(&[SECRET_TYPE_CLUSTER, SECRET_TYPE_REPOSITORY])
            .await
            .map(|found| Arc::new(found.iter().map(|s| Secret::clone(s)).collect::<Vec<_>>()))
            .map_err(|source| DestinationError::List {
                namespace: self.namespace.clone(),
                source,
            })?;
        *cached = Some((Instant::now(), secrets.clone()));
        Ok(secrets)
    }
}

/// The common case needs no Secret lookup.
fn names_local(destination: &ApplicationDestination) -> bool {
    matches!(
        cluster_lookup::resolve(destination, &[]),
        Ok(Resolved::Local)
    )
}

async fn client_config(entry: &cluster_lookup::ClusterEntry) -> Result<Config, DestinationError> {
    let failed = |message: String| DestinationError::Connect {
        name: entry.name.clone(),
        server: entry.server.clone(),
        message,
    };
    let kubeconfig: Kubeconfig = serde_json::from_value(cluster_lookup::kubeconfig(entry)?)
        .map_err(|_| failed("the cluster secret makes no valid client config".into()))?;
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| failed(e.to_string()))
}
