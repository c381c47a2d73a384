//! Normalization applied to both sides before comparing: drop what the API server and
//! controllers write about an object (status, bookkeeping metadata) and fold a Secret's
//! `stringData` into `data` the way the API server does on write.

use crate::base64;
use serde_json::{Map, Value};

/// The annotation `kubectl apply` keeps a copy of the whole applied object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Metadata the server sets and that never says anything about desired state.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// A normalized copy of `object`: without `status`, without server bookkeeping in
/// `metadata` (managedFields, resourceVersion, uid, generation, creationTimestamp,
/// selfLink, deletion fields) and the last-applied annotation; a core Secret
/// gets its `stringData` base64-encoded into `data` (overriding the same keys).
pub fn normalize(object: &Value) -> Value {
    let Value::Object(map) = object else {
        return object.clone();
    };
    // Copy field by field, skipping what is dropped: managedFields and status are often
    // most of a live object, and cloning them only to remove them is wasted work.
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        match (key.as_str(), value) {
            ("status", _) => {}
            ("metadata", Value::Object(meta)) => {
                out.insert(key.clone(), Value::Object(normalize_metadata(meta)));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if is_core_secret(&out) {
        fold_string_data(&mut out);
    }
    Value::Object(out)
}

fn normalize_metadata(meta: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(meta.len());
    for (key, value) in meta {
        if SERVER_METADATA.contains(&key.as_str()) {
            continue;
        }
        if let ("annotations", Value::Object(annotations)) = (key.as_str(), value) {
            let kept: Map<String, Value> = annotations
                .iter()
                .filter(|(k, _)| *k != LAST_APPLIED)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !kept.is_empty() {
                out.insert(key.clone(), Value::Object(kept));
            }
            continue;
        }
        out.insert(key.clone(), value.clone());
    }
    out
}

/// Whether an object is a Secret of the core group (`apiVersion: v1`).
pub fn is_core_secret(object: &Map<String, Value>) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| !v.contains('/'))
}

fn fold_string_data(secret: &mut Map<String, Value>) {
    let Some(Value::Object(string_data)) = secret.shift_remove("stringData") else {
        return;
    };
    let data = secret
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Value::Object(data) = data {
        for (key, value) in string_data {
            let plain = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            data.insert(key, Value::String(base64::encode(plain.as_bytes())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_bookkeeping_and_status_are_dropped() {
        let live = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "uid": "u", "resourceVersion": "7",
                "generation": 2, "creationTimestamp": "2024-01-01T00:00:00Z",
                "managedFields": [{"manager": "m"}],
                "annotations": {LAST_APPLIED: "{}", "keep": "me"}},
            "data": {"a": "b"},
            "status": {"x": 1}
        });
        assert_eq!(
            normalize(&live),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "namespace": "n", "annotations": {"keep": "me"}},
                "data": {"a": "b"}})
        );
    }

    #[test]
    fn secret_string_data_becomes_base64_data() {
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "eA==", "b": "old"}, "stringData": {"b": "hunter2"}});
        assert_eq!(
            normalize(&desired),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                "data": {"a": "eA==", "b": "aHVudGVyMg=="}})
        );
        // A CRD that happens to be called Secret is left alone.
        let other =
            json!({"apiVersion": "example.com/v1", "kind": "Secret", "stringData": {"b": "x"}});
        assert_eq!(normalize(&other), other);
    }
}
