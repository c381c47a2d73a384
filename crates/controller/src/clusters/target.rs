//! One destination cluster as the app loop uses it: its client, live cache and namespace
//! inventories.

use crate::clusters::inventory::Inventories;
use crate::clusters::live_cache::LiveCache;
use crate::clusters::namespaces::NamespaceStore;
use driftless_apply::ClusterClient;
use driftless_decisions::cluster_lookup::ClusterScope;
use std::sync::Arc;

/// One cluster to deploy to.
pub struct Target {
    pub name: String,
    pub server: String,
    pub cluster: Arc<ClusterClient>,
    pub live: LiveCache,
    /// Which namespaces exist (`CreateNamespace=true` applies only a missing one).
    pub namespaces: NamespaceStore,
    /// Namespace listings for orphan detection.
    pub inventories: Inventories,
    /// What the connection was made from; another fingerprint for the same name reconnects.
    pub(crate) fingerprint: String,
    /// What the engine may manage there beyond the cluster Secret's own scope
    /// (`driftless serve --namespaces` on the in-cluster destination).
    pub engine_scope: ClusterScope,
    /// The client configuration, for impersonating clients; None: inferred when first needed.
    pub(crate) config: Option<kube::Config>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}
