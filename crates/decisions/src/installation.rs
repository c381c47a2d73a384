//! Argo CD's installation ID (pure): when several controllers share a cluster, each stamps
//! `argocd.argoproj.io/installation-id: <id>` on what it applies and ignores objects carrying
//! another id (or none), so two apps of the same name served by different controllers never
//! claim each other's objects. Set with `--installation-id` or `installationID` in `argocd-cm`.

use serde_json::{Map, Value};

// TODO(lead): move to driftless_model::annotations with the other annotation names.
pub const INSTALLATION_ID: &str = "argocd.argoproj.io/installation-id";

/// The installation id an object carries, if any.
pub fn installation_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")?
        .get(INSTALLATION_ID)?
        .as_str()
}

/// Whether an object belongs to the installation `ours` (None: objects without an id).
pub fn belongs(object: &Value, ours: Option<&str>) -> bool {
    installation_of(object) == ours
}

/// Stamps `id` on every object (a no-op without an id).
pub fn stamp(objects: &mut [Value], id: Option<&str>) {
    let Some(id) = id else { return };
    for object in objects.iter_mut() {
        let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if !annotations.is_object() {
            *annotations = Value::Object(Map::new());
        }
        if let Some(map) = annotations.as_object_mut() {
            map.insert(INSTALLATION_ID.into(), Value::String(id.to_string()));
        }
    }
}

/// The one installation id all of `objects` carry, if they agree on one: what a client
/// outside the controller (the CLI) stamps on what it renders, so that it compares as the
/// controller that applied the objects would.
pub fn common_id(objects: &[Value]) -> Option<&str> {
    let mut ids = objects.iter().map(installation_of);
    let first = ids.next()??;
    ids.all(|id| id == Some(first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_common_id_is_one_every_object_carries() {
        let with = |id: &str| json!({"metadata": {"annotations": {INSTALLATION_ID: id}}});
        assert_eq!(common_id(&[with("a"), with("a")]), Some("a"));
        assert_eq!(common_id(&[with("a"), with("b")]), None);
        assert_eq!(common_id(&[with("a"), json!({"metadata": {}})]), None);
        assert_eq!(common_id(&[]), None);
    }

    #[test]
    fn stamped_objects_belong_to_that_installation_only() {
        let mut objects = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "annotations": {"x": "y"}}}),
        ];
        stamp(&mut objects, Some("team-1"));
        assert!(objects.iter().all(|o| belongs(o, Some("team-1"))));
        assert!(!belongs(&objects[0], Some("team-2")));
        assert!(!belongs(&objects[0], None));
        assert_eq!(objects[1]["metadata"]["annotations"]["x"], "y");
        let mut plain = vec![json!({"metadata": {"name": "c"}})];
        stamp(&mut plain, None);
        assert!(belongs(&plain[0], None));
        assert!(!belongs(&plain[0], Some("team-1")));
    }
}
