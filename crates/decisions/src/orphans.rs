//! Orphaned resources (pure): with `orphanedResources` in the app's AppProject, top-level
//! objects in the app's destination namespace that no Application tracks. With `warn` (the
//! default once the setting is there) the app gets an `OrphanedResourceWarning`, as in Argo CD.
//!
//! Never orphaned: objects with an owner reference (a ReplicaSet's Pods), objects tracked by
//! any app, kinds the project denies, the `ignore` list (group and kind exact, name a glob),
//! and what Kubernetes makes in every namespace (`default` ServiceAccount, `kube-root-ca.crt`
//! ConfigMap, the `kubernetes` Service in `default`).

use crate::conditions::{self, Found};
use driftless_apply::{TrackingMethod, tracking};
use driftless_model::ResourceKey;
use driftless_model::glob::matches as glob;
use driftless_model::project::{AppProjectSpec, OrphanedResourcesMonitorSettings};
use serde_json::Value;

/// How many orphans a warning names before it only counts.
const NAMED_IN_WARNING: usize = 5;

/// The orphans among `objects` (the namespace's inventory), in key order.
pub fn find(
    objects: &[Value],
    settings: &OrphanedResourcesMonitorSettings,
    project: &AppProjectSpec,
    method: TrackingMethod,
) -> Vec<ResourceKey> {
    let mut orphans: Vec<ResourceKey> = objects
        .iter()
        .filter(|o| !has_owner_reference(o) && tracking::owner(o, method).is_none())
        .filter_map(|o| ResourceKey::of(o).ok())
        .filter(|k| !made_by_kubernetes(k))
        .filter(|k| permitted(project, k))
        .filter(|k| !ignored(settings, k))
        .collect();
    orphans.sort();
    orphans
}

/// The warning for `orphans`, when the project asks for warnings.
pub fn warning(
    settings: &OrphanedResourcesMonitorSettings,
    orphans: &[ResourceKey],
) -> Option<Found> {
    if settings.warn == Some(false) || orphans.is_empty() {
        return None;
    }
    let mut named: Vec<String> = orphans
        .iter()
        .take(NAMED_IN_WARNING)
        .map(|k| format!("{}/{}", k.kind, k.name))
        .collect();
    if orphans.len() > NAMED_IN_WARNING {
        named.push("…".into());
    }
    Some(Found::new(
        conditions::ORPHANED_RESOURCE_WARNING,
        format!(
            "Application has {} orphaned resources: {}",
            orphans.len(),
            named.join(", ")
        ),
    ))
}

fn has_owner_reference(object: &Value) -> bool {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| !refs.is_empty())
}

fn made_by_kubernetes(key: &ResourceKey) -> bool {
    let ns = key.namespace.as_str();
    matches!(
        (key.group.as_str(), key.kind.as_str(), key.name.as_str()),
        ("", "ServiceAccount", "default") | ("", "ConfigMap", "kube-root-ca.crt")
    ) || (key.group.is_empty()
        && key.kind == "Service"
        && key.name == "kubernetes"
        && ns == "default")
}

/// Namespaced kinds the project denies are the cluster admins', not the app's.
fn permitted(project: &AppProjectSpec, key: &ResourceKey) -> bool {
    let resource = crate::project_resources::Resource {
        group: &key.group,
        kind: &key.kind,
        name: &key.name,
        namespaced: true,
    };
    crate::project_resources::permitted(project, &resource)
}

fn ignored(settings: &OrphanedResourcesMonitorSettings, key: &ResourceKey) -> bool {
    settings.ignore.iter().flatten().any(|rule| {
        rule.group.as_deref().unwrap_or_default() == key.group
            && rule.kind.as_deref().is_none_or(|k| k == key.kind)
            && rule.name.as_deref().is_none_or(|n| glob(n, &key.name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(api_version: &str, kind: &str, name: &str) -> Value {
        json!({"apiVersion": api_version, "kind": kind,
               "metadata": {"name": name, "namespace": "shop"}})
    }

    fn settings(value: Value) -> OrphanedResourcesMonitorSettings {
        serde_json::from_value(value).unwrap()
    }

    fn names(keys: &[ResourceKey]) -> Vec<String> {
        keys.iter()
            .map(|k| format!("{}/{}", k.kind, k.name))
            .collect()
    }

    fn inventory() -> Vec<Value> {
        let mut tracked = object("v1", "ConfigMap", "app-config");
        tracked["metadata"]["annotations"] = json!({
            "argocd.argoproj.io/tracking-id": "shop:/ConfigMap:shop/app-config"});
        let mut pod = object("v1", "Pod", "web-abc12");
        pod["metadata"]["ownerReferences"] = json!([{"kind": "ReplicaSet", "name": "web-abc"}]);
        vec![
            tracked,
            pod,
            object("v1", "ConfigMap", "debug"),
            object("v1", "Secret", "old-credentials"),
            object("v1", "ServiceAccount", "default"),
            object("v1", "ConfigMap", "kube-root-ca.crt"),
            object("apps/v1", "Deployment", "hand-made"),
        ]
    }

    #[test]
    fn untracked_top_level_objects_are_orphans() {
        let found = find(
            &inventory(),
            &settings(json!({})),
            &AppProjectSpec::default(),
            TrackingMethod::Annotation,
        );
        assert_eq!(
            names(&found),
            [
                "ConfigMap/debug",
                "Secret/old-credentials",
                "Deployment/hand-made"
            ]
        );
    }

    #[test]
    fn the_ignore_list_and_denied_kinds_are_not_orphans() {
        let ignore = settings(json!({"ignore": [
            {"kind": "ConfigMap", "name": "deb*"},
            {"group": "apps", "kind": "Deployment"}
        ]}));
        let project: AppProjectSpec = serde_json::from_value(json!({
            "namespaceResourceBlacklist": [{"group": "", "kind": "Secret"}]
        }))
        .unwrap();
        let found = find(&inventory(), &ignore, &project, TrackingMethod::Annotation);
        assert!(found.is_empty(), "{:?}", names(&found));
    }

    #[test]
    fn warnings_count_and_name_the_orphans_unless_turned_off() {
        let found = find(
            &inventory(),
            &settings(json!({})),
            &AppProjectSpec::default(),
            TrackingMethod::Annotation,
        );
        let warning = warning(&settings(json!({})), &found).unwrap();
        assert_eq!(warning.kind, conditions::ORPHANED_RESOURCE_WARNING);
        assert_eq!(
            warning.message,
            "Application has 3 orphaned resources: ConfigMap/debug, Secret/old-credentials, Deployment/hand-made"
        );
        assert!(super::warning(&settings(json!({"warn": false})), &found).is_none());
        assert!(super::warning(&settings(json!({})), &[]).is_none());
    }
}
