//! The kinds the API server serves, from discovery: how to reach each kind and whether it is
//! namespaced. Refreshed when a kind is not found, so CRDs that appear later are picked up.

use driftless_model::GroupKind;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::Client;
use kube::discovery::ApiResource;
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
    /// Reads the preferred version of every group. A group that fails to answer (an
    /// aggregated API that is down, a CRD deleted a moment ago) is left out rather than
    /// failing discovery: its kinds are simply unknown until the next refresh.
    pub async fn discover(client: &Client) -> Result<Self, CatalogError> {
        let mut kinds = BTreeMap::new();
        let core = client
            .list_core_api_resources("v1")
            .await
            .map_err(CatalogError::Discovery)?;
        add_list(&mut kinds, "", "v1", &core);
        let groups = client
            .list_api_groups()
            .await
            .map_err(CatalogError::Discovery)?;
        let lists = groups.groups.iter().filter_map(|group| {
            let version = group
                .preferred_version
                .as_ref()
                .or(group.versions.first())?;
            let (name, gv, v) = (
                group.name.clone(),
                version.group_version.clone(),
                version.version.clone(),
            );
            Some(async move { (name, v, client.list_api_group_resources(&gv).await) })
        });
        for (group, version, list) in futures::future::join_all(lists).await {
            match list {
                Ok(list) => add_list(&mut kinds, &group, &version, &list),
                Err(err) => {
                    tracing::debug!(%group, error = %err, "group did not answer discovery; skipped")
                }
            }
        }
        Ok(Self { kinds })
    }

    pub fn get(&self, gk: &GroupKind) -> Result<&KindInfo, CatalogError> {
        self.kinds
            .get(gk)
            .ok_or_else(|| CatalogError::UnknownKind(gk.clone()))
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
                    ("", "Event")
                        | ("events.k8s.io", "Event")
                        | ("coordination.k8s.io", "Lease")
                        | ("", "Endpoints")
                        | ("discovery.k8s.io", "EndpointSlice")
                        | ("", "ComponentStatus")
                        | ("", "Binding")
                )
        })
    }
}

fn add_list(
    kinds: &mut BTreeMap<GroupKind, KindInfo>,
    group: &str,
    version: &str,
    list: &APIResourceList,
) {
    // Subresources (`deployments/scale`) share their parent's kind; skip them.
    for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
        let api_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        let resource = ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version,
            kind: r.kind.clone(),
            plural: r.name.clone(),
        };
        let info = KindInfo {
            namespaced: r.namespaced,
            listable: r.verbs.iter().any(|v| v == "list"),
            resource,
        };
        kinds.insert(GroupKind::new(group, r.kind.clone()), info);
    }
}
