//! The kinds the API server serves, from discovery: how to reach each kind and whether it is
//! namespaced. Refreshed when a kind is not found, so CRDs that appear later are picked up.

use driftless_model::GroupKind;
use kube::discovery::{verbs, ApiCapabilities, ApiResource, Discovery, Scope};
use kube::Client;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("failed to discover the API server's resources: {0}")]
    Discovery(#[source] kube::Error),
    #[error("failed to find kind {0} on the API server (is its CRD installed?)")]
    UnknownKind(GroupKind),
}

/// How to reach one kind.
#[derive(Debug, Clone)]
pub struct KindInfo {
    pub resource: ApiResource,
    pub namespaced: bool,
    pub listable: bool,
}

/// Every kind the server serves, by group and kind (the preferred version of each).
#[derive(Debug, Clone, Default)]
pub struct ApiCatalog {
    kinds: BTreeMap<GroupKind, KindInfo>,
}

impl ApiCatalog {
    pub async fn discover(client: &Client) -> Result<Self, CatalogError> {
        let discovery = Discovery::new(client.clone()).run().await.map_err(CatalogError::Discovery)?;
        let mut kinds = BTreeMap::new();
        for group in discovery.groups() {
            for (resource, caps) in group.recommended_resources() {
                kinds.insert(GroupKind::new(resource.group.clone(), resource.kind.clone()), info(resource, &caps));
            }
        }
        Ok(Self { kinds })
    }

    pub fn get(&self, gk: &GroupKind) -> Result<&KindInfo, CatalogError> {
        self.kinds.get(gk).ok_or_else(|| CatalogError::UnknownKind(gk.clone()))
    }

    pub fn is_namespaced(&self, gk: &GroupKind) -> Option<bool> {
        self.kinds.get(gk).map(|k| k.namespaced)
    }

    /// Kinds that can be listed and may hold objects an app tracks. Events and leases are
    /// left out: nobody deploys them from git, and they are the busiest kinds in a cluster.
    pub fn trackable(&self) -> impl Iterator<Item = (&GroupKind, &KindInfo)> {
        self.kinds.iter().filter(|(gk, info)| {
            info.listable
                && !matches!(
                    (gk.group.as_str(), gk.kind.as_str()),
                    ("", "Event") | ("events.k8s.io", "Event") | ("coordination.k8s.io", "Lease")
                        | ("", "Endpoints") | ("discovery.k8s.io", "EndpointSlice")
                        | ("", "ComponentStatus") | ("", "Binding")
                )
        })
    }
}

fn info(resource: ApiResource, caps: &ApiCapabilities) -> KindInfo {
    KindInfo {
        namespaced: caps.scope == Scope::Namespaced,
        listable: caps.supports_operation(verbs::LIST),
        resource,
    }
}
