//! What a namespace holds, for orphan detection: the metadata of every object of every listable
//! namespaced kind (the live cache keeps tracked objects only, and orphans are by definition
//! untracked). Listed only for namespaces whose project monitors orphans, at most once per
//! [`FRESH_FOR`] per namespace unless a refresh asks, and slimmed to what the check reads.

use crate::clusters::target::Target;
use driftless_model::annotations::{INSTANCE_LABEL, TRACKING_ID};
use futures::{StreamExt, TryStreamExt};
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a namespace's listing is reused.
pub const FRESH_FOR: Duration = Duration::from_secs(15);
/// Kinds listed at once.
const PARALLEL_LISTS: usize = 6;

/// A namespace's objects, and when they were listed.
type Listing = (Instant, Arc<Vec<Value>>);

/// Listings per namespace.
#[derive(Default)]
pub struct Inventories {
    listed: Mutex<HashMap<String, Listing>>,
}

impl Inventories {
    fn cached(&self, namespace: &str) -> Option<Arc<Vec<Value>>> {
        let listed = self.listed.lock().unwrap_or_else(|p| p.into_inner());
        listed
            .get(namespace)
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, objects)| objects.clone())
    }

    fn store(&self, namespace: &str, objects: Arc<Vec<Value>>) {
        let mut listed = self.listed.lock().unwrap_or_else(|p| p.into_inner());
        listed.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
        listed.insert(namespace.to_string(), (Instant::now(), objects));
    }
}

/// The objects of `namespace` in `target`'s cluster (`fresh`: do not reuse a recent listing).
pub async fn namespace_objects(
    target: &Target,
    namespace: &str,
    fresh: bool,
) -> Result<Arc<Vec<Value>>, String> {
    if !fresh && let Some(objects) = target.inventories.cached(namespace) {
        return Ok(objects);
    }
    let catalog = target.cluster.catalog();
    let kinds: Vec<_> = catalog
        .trackable()
        .filter(|(_, info)| info.namespaced)
        .map(|(_, info)| info.resource.clone())
        .collect();
    let client = target.cluster.client().clone();
    let lists = futures::stream::iter(kinds.into_iter().map(|resource| {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        async move {
            let listed = api
                .list_metadata(&ListParams::default())
                .await
                .map_err(|e| format!("failed to list {} in {namespace}: {e}", resource.kind))?;
            Ok::<_, String>(
                listed
                    .items
                    .into_iter()
                    .map(|item| slim(&resource.api_version, &resource.kind, &item.metadata))
                    .collect::<Vec<_>>(),
            )
        }
    }))
    .buffer_unordered(PARALLEL_LISTS);
    let objects: Vec<Vec<Value>> = lists.try_collect().await?;
    let objects = Arc::new(objects.into_iter().flatten().collect::<Vec<_>>());
    target.inventories.store(namespace, objects.clone());
    Ok(objects)
}

/// Identity, owner references and tracking marks; nothing else is kept.
fn slim(api_version: &str, kind: &str, meta: &kube::api::ObjectMeta) -> Value {
    let pick = |map: &Option<std::collections::BTreeMap<String, String>>, key: &str| {
        let mut out = Map::new();
        if let Some(value) = map.as_ref().and_then(|m| m.get(key)) {
            out.insert(key.to_string(), json!(value));
        }
        out
    };
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": meta.name,
            "namespace": meta.namespace,
            "annotations": pick(&meta.annotations, TRACKING_ID),
            "labels": pick(&meta.labels, INSTANCE_LABEL),
            "ownerReferences": meta.owner_references.iter().flatten()
                .map(|o| json!({"kind": o.kind, "name": o.name}))
                .collect::<Vec<_>>(),
        }
    })
}
