//! The live objects below an app's own (ReplicaSets and Pods under a Deployment, Jobs under a
//! CronJob …) for the API's resource tree: listed in the namespaces of the app's workloads on
//! its destination, and hung below their owners by [`driftless_decisions::owner_tree`].

use crate::runtime::context::Context;
use driftless_model::Application;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The kinds that own other objects in a workload's chain.
const OWNERS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// What may be found below them: (group, version, kind).
const OWNED: &[(&str, &str, &str)] = &[
    ("apps", "v1", "ReplicaSet"),
    ("batch", "v1", "Job"),
    ("", "v1", "Pod"),
];

#[derive(Debug, thiserror::Error)]
pub enum ChildrenError {
    #[error("failed to reach the destination of application {app}: {source}")]
    Destination {
        app: String,
        source: crate::clusters::destinations::DestinationError,
    },
    #[error("failed to list {kind} in namespace {namespace}: {source}")]
    List {
        kind: &'static str,
        namespace: String,
        source: kube::Error,
    },
}

/// The nodes below the app's live objects (see [`driftless_decisions::owner_tree::children`]).
pub async fn children(ctx: &Arc<Context>, app: &Application) -> Result<Vec<Value>, ChildrenError> {
    let name = ctx.key_of(app);
    let target = ctx
        .destinations
        .resolve(&app.spec.destination)
        .await
        .map_err(|source| ChildrenError::Destination {
            app: name.clone(),
            source,
        })?;
    let roots = target.live.tracked(&name);
    let namespaces: BTreeSet<String> = roots
        .iter()
        .filter(|o| o["kind"].as_str().is_some_and(|k| OWNERS.contains(&k)))
        .filter_map(|o| o["metadata"]["namespace"].as_str().map(str::to_string))
        .collect();
    let mut listed = Vec::new();
    for namespace in &namespaces {
        for (group, version, kind) in OWNED {
            let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
            let api: Api<DynamicObject> =
                Api::namespaced_with(target.cluster.client().clone(), namespace, &resource);
            let items = api
                .list(&ListParams::default())
                .await
                .map_err(|source| ChildrenError::List {
                    kind,
                    namespace: namespace.clone(),
                    source,
                })?
                .items;
            listed.extend(items.into_iter().map(|mut item| {
                // A listing leaves out each item's kind; the tree names it.
                item.types = Some(kube::api::TypeMeta {
                    api_version: resource.api_version.clone(),
                    kind: resource.kind.clone(),
                });
                serde_json::to_value(item).unwrap_or_default()
            }));
        }
    }
    Ok(driftless_decisions::owner_tree::children(
        &roots,
        &listed,
        &ctx.judging.checks,
    ))
}
