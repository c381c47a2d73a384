//! Which Applications an ApplicationSet owns, and what is written to them (pure).

use driftless_appset::plan::is_resources_finalizer;
use driftless_model::GROUP;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The field manager of the ApplicationSet reconciler's writes.
pub const APPSET_MANAGER: &str = "driftless-appset";

/// The controlling owner of an object: (kind, name, uid).
pub fn controller_of(object: &Value) -> Option<(String, String, String)> {
    object["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find_map(|owner| {
            if owner["controller"].as_bool() != Some(true) {
                return None;
            }
            Some((
                owner["kind"].as_str()?.to_string(),
                owner["name"].as_str()?.to_string(),
                owner["uid"].as_str().unwrap_or_default().to_string(),
            ))
        })
}

/// The ApplicationSet controlling an Application, by name.
pub fn owner_appset(app: &Value) -> Option<String> {
    let controlled_by_appset =
        app["metadata"]["ownerReferences"]
            .as_array()?
            .iter()
            .find(|owner| {
                owner["controller"].as_bool() == Some(true)
                    && owner["kind"] == "ApplicationSet"
                    && owner["apiVersion"]
                        .as_str()
                        .is_some_and(|v| v.split('/').next() == Some(GROUP))
            })?;
    controlled_by_appset["name"].as_str().map(str::to_string)
}

/// The Applications of the namespace, seen from one ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Existing {
    /// Controlled by this ApplicationSet (its uid).
    pub owned: Vec<Value>,
    /// Controlled by something else: name → "Kind name". Never written by this ApplicationSet.
    pub foreign: BTreeMap<String, String>,
}

pub fn split(all: &[Value], appset_uid: &str) -> Existing {
    let mut existing = Existing::default();
    for app in all {
        let Some(name) = app["metadata"]["name"].as_str() else {
            continue;
        };
        match controller_of(app) {
            Some((_, _, uid)) if uid == appset_uid => existing.owned.push(app.clone()),
            Some((kind, owner, _)) => {
                existing
                    .foreign
                    .insert(name.to_string(), format!("{kind} {owner}"));
            }
            None => {}
        }
    }
    existing
}

/// The server-side apply body of a planned Application (generated, or merged over the live
/// one): only what the ApplicationSet decides. Never `status`, server fields, or `operation`
/// (re-applying a live operation could start a sync the Application controller just ended).
pub fn apply_body(app: &Value) -> Value {
    let mut metadata = Map::new();
    for key in [
        "name",
        "namespace",
        "labels",
        "annotations",
        "finalizers",
        "ownerReferences",
    ] {
        if let Some(value) = app["metadata"].get(key).filter(|v| !v.is_null()) {
            metadata.insert(key.to_string(), value.clone());
        }
    }
    json!({
        "apiVersion": driftless_model::API_VERSION,
        "kind": "Application",
        "metadata": metadata,
        "spec": without_nulls(app.get("spec").cloned().unwrap_or_else(|| json!({}))),
    })
}

/// Drops `null` members: an explicit null would read as "remove" to the API server and never
/// compare equal to the stored object.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// The finalizers of `app` without the resources finalizers, if it had any (deleting it then
/// leaves its resources in place).
pub fn without_resources_finalizers(app: &Value) -> Option<Vec<String>> {
    let finalizers: Vec<String> = app["metadata"]["finalizers"]
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    let kept: Vec<String> = finalizers
        .iter()
        .filter(|f| !is_resources_finalizer(f))
        .cloned()
        .collect();
    (kept.len() != finalizers.len()).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn app(name: &str, owners: Value) -> Value {
        json!({"metadata": {"name": name, "ownerReferences": owners}, "spec": {}})
    }

    fn appset_owner(name: &str, uid: &str) -> Value {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": name, "uid": uid, "controller": true})
    }

    #[test]
    fn apps_split_into_owned_and_controlled_by_someone_else() {
        let all = vec![
            app("mine", json!([appset_owner("set", "u1")])),
            app("other-set", json!([appset_owner("other", "u2")])),
            app("plain", Value::Null),
            app(
                "not-controller",
                json!([{"kind": "ApplicationSet", "name": "set", "uid": "u1"}]),
            ),
        ];
        let existing = split(&all, "u1");
        let owned: Vec<&str> = existing
            .owned
            .iter()
            .filter_map(|a| a["metadata"]["name"].as_str())
            .collect();
        assert_eq!(owned, vec!["mine"]);
        assert_eq!(
            existing.foreign,
            BTreeMap::from([("other-set".to_string(), "ApplicationSet other".to_string())])
        );
    }

    #[test]
    fn the_owner_appset_is_the_controlling_argo_owner_only() {
        assert_eq!(
            owner_appset(&app("a", json!([appset_owner("set", "u1")]))),
            Some("set".into())
        );
        let foreign_group = json!([{"apiVersion": "example.com/v1", "kind": "ApplicationSet", "name": "x", "controller": true}]);
        assert_eq!(owner_appset(&app("a", foreign_group)), None);
        assert_eq!(owner_appset(&app("a", Value::Null)), None);
    }

    #[test]
    fn the_apply_body_keeps_only_what_the_appset_decides() {
        let merged = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "a", "namespace": "argocd", "resourceVersion": "7", "uid": "x",
                         "labels": {"team": "a"}, "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                         "managedFields": [], "annotations": null},
            "spec": {"project": "default", "syncPolicy": null, "source": {"repoURL": "r", "helm": null}},
            "status": {"sync": {"status": "Synced"}},
            "operation": {"sync": {}},
        });
        assert_eq!(
            apply_body(&merged),
            json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": "a", "namespace": "argocd", "labels": {"team": "a"},
                             "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
                "spec": {"project": "default", "source": {"repoURL": "r"}},
            })
        );
    }

    #[test]
    fn orphaning_removes_every_resources_finalizer_and_keeps_the_others() {
        let with = json!({"metadata": {"finalizers": [
            "resources-finalizer.argocd.argoproj.io/background", "example.com/keep", "resources-finalizer.argocd.argoproj.io"]}});
        assert_eq!(
            without_resources_finalizers(&with),
            Some(vec!["example.com/keep".to_string()])
        );
        assert_eq!(
            without_resources_finalizers(
                &json!({"metadata": {"finalizers": ["example.com/keep"]}})
            ),
            None
        );
        assert_eq!(without_resources_finalizers(&json!({"metadata": {}})), None);
    }
}
