//! The live objects below an app's own (pure): the ReplicaSets, Pods, Jobs … that name one of
//! the app's objects in their `ownerReferences`, or one of those in turn, as Argo CD's resource
//! tree shows them. Each child names its parents (`parentRefs`) and carries its health.

use driftless_health::{CustomChecks, health_of};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// How deep ownership is followed: Deployment → ReplicaSet → Pod, CronJob → Job → Pod, with
/// room for one more level; a cycle of owner references cannot loop.
const DEPTH: usize = 4;

fn uid(object: &Value) -> Option<&str> {
    object["metadata"]["uid"].as_str().filter(|u| !u.is_empty())
}

fn namespace(object: &Value) -> &str {
    object["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn group_version(object: &Value) -> (&str, &str) {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    api_version.split_once('/').unwrap_or(("", api_version))
}

fn reference(object: &Value) -> Value {
    json!({
        "group": group_version(object).0,
        "kind": object["kind"],
        "namespace": namespace(object),
        "name": object["metadata"]["name"],
        "uid": uid(object),
    })
}

/// The nodes below `roots` (the app's live objects) among `candidates` (objects listed in their
/// namespaces), parents before children, each once.
pub fn children(roots: &[Value], candidates: &[Value], checks: &CustomChecks) -> Vec<Value> {
    let mut known: Vec<&Value> = roots.iter().filter(|o| uid(o).is_some()).collect();
    let mut taken: BTreeSet<&str> = known.iter().filter_map(|o| uid(o)).collect();
    let mut nodes = Vec::new();
    for _ in 0..DEPTH {
        let mut found = Vec::new();
        for candidate in candidates {
            let Some(id) = uid(candidate).filter(|id| !taken.contains(id)) else {
                continue;
            };
            let owners: Vec<&Value> = candidate["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["uid"].as_str())
                .filter_map(|owner| {
                    known
                        .iter()
                        .copied()
                        .find(|k| uid(k) == Some(owner) && namespace(k) == namespace(candidate))
                })
                .collect();
            if owners.is_empty() {
                continue;
            }
            taken.insert(id);
            found.push(candidate);
            let (group, version) = group_version(candidate);
            let health = health_of(candidate, checks)
                .map(|h| json!({"status": h.status.as_str(), "message": h.message}));
            nodes.push(json!({
                "group": group,
                "version": version,
                "kind": candidate["kind"],
                "namespace": namespace(candidate),
                "name": candidate["metadata"]["name"],
                "uid": id,
                "parentRefs": owners.iter().map(|o| reference(o)).collect::<Vec<_>>(),
                "health": health,
            }));
        }
        if found.is_empty() {
            break;
        }
        known.extend(found);
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api_version: &str, kind: &str, name: &str, uid: &str, owner: Option<&str>) -> Value {
        let mut o = json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": "shop", "uid": uid}});
        if let Some(owner) = owner {
            o["metadata"]["ownerReferences"] = json!([{"uid": owner, "kind": "x", "name": "x"}]);
        }
        o
    }

    #[test]
    fn replica_sets_and_their_pods_hang_below_the_deployment_and_strangers_do_not() {
        let deployment = object("apps/v1", "Deployment", "web", "d1", None);
        let listed = [
            // A Pod listed before its ReplicaSet is still found, one level later.
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-abc-1", "namespace": "shop", "uid": "p1",
                    "ownerReferences": [{"uid": "r1"}]},
                "status": {"phase": "Succeeded"}}),
            object("apps/v1", "ReplicaSet", "web-abc", "r1", Some("d1")),
            object("v1", "Pod", "other", "p2", Some("someone-else")),
            object("v1", "Pod", "no-owner", "p3", None),
        ];
        let nodes = children(&[deployment], &listed, &CustomChecks::default());
        let names: Vec<&str> = nodes.iter().filter_map(|n| n["name"].as_str()).collect();
        assert_eq!(names, ["web-abc", "web-abc-1"]);
        assert_eq!(nodes[0]["group"], "apps");
        assert_eq!(nodes[0]["parentRefs"][0]["name"], "web");
        assert_eq!(nodes[0]["parentRefs"][0]["kind"], "Deployment");
        assert_eq!(nodes[1]["version"], "v1");
        assert_eq!(nodes[1]["parentRefs"][0]["uid"], "r1");
        assert_eq!(nodes[1]["health"]["status"], "Healthy");
    }

    #[test]
    fn an_owner_in_another_namespace_or_an_app_object_itself_is_no_parent() {
        let deployment = object("apps/v1", "Deployment", "web", "d1", None);
        let mut elsewhere = object("apps/v1", "ReplicaSet", "web-abc", "r1", Some("d1"));
        elsewhere["metadata"]["namespace"] = json!("other");
        let own = object("v1", "ConfigMap", "settings", "d1", Some("d1"));
        let nodes = children(&[deployment], &[elsewhere, own], &CustomChecks::default());
        assert!(nodes.is_empty(), "{nodes:?}");
    }
}
