//! Fields owned by a field manager, read from `metadata.managedFields[].fieldsV1`, and their
//! removal (for `managedFieldsManagers` in ignoreDifferences).
//!
//! fieldsV1 is a tree whose keys are `f:<field>` (a map field), `k:<json object>` (a list
//! item picked by its key fields), `v:<json value>` (an item of a list of scalars),
//! `i:<index>` (an item by position) and `.` (the node itself is owned). A node with no
//! children is a leaf: the whole value is owned.
//!
//! Removal takes away every owned leaf, and every owned list item whole (`.` on an item:
//! the manager created it, e.g. an injected container, whose server-defaulted fields no
//! manager lists). Unlike structured-merge-diff, `.` on a map field does not remove the
//! whole map: a controller that created `metadata.annotations` would otherwise hide every
//! desired annotation.

use serde_json::{Map, Value};

/// Why a managedFields entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagedFieldsError {
    #[error(
        "failed to read fieldsV1 of manager {manager:?}: key {key:?} is not f:, k:, v:, i: or ."
    )]
    UnknownKey { manager: String, key: String },
    #[error("failed to read fieldsV1 of manager {manager:?}: {key:?} does not hold valid JSON")]
    BadJson { manager: String, key: String },
    #[error("failed to read fieldsV1 of manager {manager:?}: {key:?} does not hold a mapping")]
    NotAMapping { manager: String, key: String },
}

/// One node of a fieldsV1 tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnedFields {
    /// `.` was present: the node itself (its existence) is owned.
    pub owns_self: bool,
    pub children: Vec<(Element, OwnedFields)>,
}

/// How a fieldsV1 key picks a child.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    Field(String),
    Key(Map<String, Value>),
    Value(Value),
    Index(usize),
}

impl OwnedFields {
    fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// Parses a fieldsV1 tree; `manager` only names the entry in errors.
    pub fn parse(fields_v1: &Value, manager: &str) -> Result<Self, ManagedFieldsError> {
        let Value::Object(map) = fields_v1 else {
            return Err(ManagedFieldsError::NotAMapping {
                manager: manager.to_owned(),
                key: String::new(),
            });
        };
        let mut node = OwnedFields::default();
        for (key, child) in map {
            if key == "." {
                node.owns_self = true;
                continue;
            }
            let bad_json = || ManagedFieldsError::BadJson {
                manager: manager.to_owned(),
                key: key.clone(),
            };
            let element = match key.split_at_checked(2) {
                Some(("f:", name)) => Element::Field(name.to_owned()),
                Some(("k:", json)) => match serde_json::from_str(json) {
                    Ok(Value::Object(fields)) => Element::Key(fields),
                    _ => return Err(bad_json()),
                },
                Some(("v:", json)) => {
                    Element::Value(serde_json::from_str(json).map_err(|_| bad_json())?)
                }
                Some(("i:", index)) => Element::Index(index.parse().map_err(|_| bad_json())?),
                _ => {
                    return Err(ManagedFieldsError::UnknownKey {
                        manager: manager.to_owned(),
                        key: key.clone(),
                    });
                }
            };
            if !child.is_object() {
                return Err(ManagedFieldsError::NotAMapping {
                    manager: manager.to_owned(),
                    key: key.clone(),
                });
            }
            node.children
                .push((element, OwnedFields::parse(child, manager)?));
        }
        Ok(node)
    }
}

/// The field trees of the `metadata.managedFields` entries of `object` whose manager is
/// one of `managers` (any operation, any subresource).
pub fn owned_by(object: &Value, managers: &[&str]) -> Result<Vec<OwnedFields>, ManagedFieldsError> {
    let entries = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    let mut out = Vec::new();
    for entry in entries.into_iter().flatten() {
        let Some(manager) = entry.get("manager").and_then(Value::as_str) else {
            continue;
        };
        if !managers.contains(&manager) {
            continue;
        }
        if let Some(fields) = entry.get("fieldsV1") {
            out.push(OwnedFields::parse(fields, manager)?);
        }
    }
    Ok(out)
}

/// Removes what `owned` names from `value`; see the module docs.
pub fn remove_owned(value: &mut Value, owned: &OwnedFields) {
    match value {
        Value::Object(map) => {
            for (element, child) in &owned.children {
                let Element::Field(name) = element else {
                    continue;
                };
                if child.is_leaf() {
                    map.shift_remove(name.as_str());
                } else if let Some(field) = map.get_mut(name.as_str()) {
                    remove_owned(field, child);
                }
            }
        }
        Value::Array(items) => {
            let mut drop = vec![false; items.len()];
            for (element, child) in &owned.children {
                for (i, item) in items.iter_mut().enumerate() {
                    if !element.matches_item(i, item) {
                        continue;
                    }
                    if child.owns_self || child.is_leaf() {
                        drop[i] = true;
                    } else {
                        remove_owned(item, child);
                    }
                }
            }
            let mut flags = drop.into_iter();
            items.retain(|_| !flags.next().unwrap_or(false));
        }
        _ => {}
    }
}

impl Element {
    /// Whether the list item at `index` is the one this element picks.
    pub fn matches_item(&self, index: usize, item: &Value) -> bool {
        match self {
            Element::Index(i) => *i == index,
            Element::Value(v) => v == item,
            Element::Key(key) => {
                let Value::Object(fields) = item else {
                    return false;
                };
                key.iter().all(|(name, wanted)| match fields.get(name) {
                    Some(have) => crate::compare::scalars_equal(&[], have, wanted),
                    // Desired manifests often leave out a defaulted key field.
                    None => key_default(name) == Some(wanted),
                })
            }
            Element::Field(_) => false,
        }
    }
}

/// Server defaults of fields used as list keys (ports are keyed by port and protocol).
fn key_default(field: &str) -> Option<&'static Value> {
    static TCP: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    (field == "protocol").then(|| TCP.get_or_init(|| Value::String("TCP".to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> OwnedFields {
        OwnedFields::parse(&v, "test").unwrap()
    }

    #[test]
    fn leaves_keyed_items_and_values_are_removed() {
        let owned = fields(json!({
            "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"sidecar\"}": {".": {}, "f:name": {}, "f:image": {}},
                "k:{\"name\":\"app\"}": {"f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}}}}
            }}}},
            "f:metadata": {"f:finalizers": {"v:\"x\"": {}}, "f:annotations": {".": {}, "f:rev": {}}}
        }));
        let mut doc = json!({
            "metadata": {"finalizers": ["x", "y"], "annotations": {"rev": "1", "mine": "a"}},
            "spec": {"replicas": 3, "paused": false, "template": {"spec": {"containers": [
                {"name": "app", "image": "a", "ports": [{"containerPort": 80}, {"containerPort": 81}]},
                {"name": "sidecar", "image": "s", "terminationMessagePath": "/dev/termination-log"}
            ]}}}
        });
        remove_owned(&mut doc, &owned);
        assert_eq!(
            doc,
            json!({
                "metadata": {"finalizers": ["y"], "annotations": {"mine": "a"}},
                "spec": {"paused": false, "template": {"spec": {"containers": [
                    {"name": "app", "image": "a", "ports": [{"containerPort": 81}]}
                ]}}}
            })
        );
    }

    #[test]
    fn only_the_named_managers_are_read() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "driftless", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "hpa", "operation": "Update", "fieldsV1": {"f:spec": {"f:paused": {}}}}
        ]}});
        let owned = owned_by(&live, &["hpa"]).unwrap();
        assert_eq!(owned.len(), 1);
        assert_eq!(
            owned[0].children[0].1.children[0].0,
            Element::Field("paused".to_owned())
        );
    }

    #[test]
    fn malformed_fields_v1_is_an_error() {
        assert!(OwnedFields::parse(&json!({"x:y": {}}), "m").is_err());
        assert!(OwnedFields::parse(&json!({"k:{oops": {}}), "m").is_err());
        assert!(OwnedFields::parse(&json!({"f:a": 1}), "m").is_err());
    }
}
