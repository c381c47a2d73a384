//! Which namespaces exist on a destination cluster, from one watch of their metadata, so that a
//! sync with `CreateNamespace=true` applies its namespace only when there is something to do:
//! at a thousand apps sharing one namespace, re-applying it at every sync is a thousand
//! requests for nothing. Started by the first sync that asks; a cluster whose scope leaves
//! cluster-scoped kinds out is not watched (the answer is then "unknown" and the sync applies).

use driftless_decisions::cluster_lookup::ClusterScope;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use std::sync::OnceLock;
use std::time::Duration;

/// How long a sync waits for the first listing before it applies its namespace anyway.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

type Names = Store<PartialObjectMeta<Namespace>>;

/// The namespaces of one cluster, as far as a watch has seen them.
pub struct NamespaceStore {
    client: Client,
    watchable: bool,
    started: OnceLock<(Names, tokio::task::JoinHandle<()>)>,
}

impl NamespaceStore {
    pub fn new(client: Client, scope: &ClusterScope) -> Self {
        Self {
            client,
            watchable: !scope.is_limited() || scope.cluster_resources,
            started: OnceLock::new(),
        }
    }

    /// Whether the namespace `name` exists and is not being deleted; `None` when that is not
    /// known (not watched here, or not listed within [`READY_TIMEOUT`]).
    pub async fn exists(&self, name: &str) -> Option<bool> {
        if !self.watchable {
            return None;
        }
        let (names, _) = self.started.get_or_init(|| self.start());
        tokio::time::timeout(READY_TIMEOUT, names.wait_until_ready())
            .await
            .ok()?
            .ok()?;
        let namespace = names.get(&ObjectRef::new(name));
        Some(namespace.is_some_and(|n| n.metadata.deletion_timestamp.is_none()))
    }

    fn start(&self) -> (Names, tokio::task::JoinHandle<()>) {
        let (names, writer) = reflector::store();
        let api: Api<PartialObjectMeta<Namespace>> = Api::all(self.client.clone());
        let stream = watcher::watcher(api, watcher::Config::default())
            .backoff(crate::runtime::backoff::watch_backoff())
            // Only the name and the deletion mark are read; the rest would be memory for nothing.
            .modify(|namespace| {
                namespace.managed_fields_mut().clear();
                namespace.labels_mut().clear();
                namespace.annotations_mut().clear();
            })
            .reflect(writer);
        let task = tokio::spawn(async move {
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                if let Err(error) = event {
                    tracing::debug!(%error, "the Namespace watch failed; retrying");
                }
            }
        });
        (names, task)
    }
}

impl Drop for NamespaceStore {
    fn drop(&mut self) {
        if let Some((_, task)) = self.started.get() {
            task.abort();
        }
    }
}
