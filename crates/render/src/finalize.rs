//! The last, pure step of every render: the destination namespace set on namespaced
//! objects that have none (and cleared on cluster-scoped ones, as Argo CD does), two
//! objects with one identity refused, and the result sorted by (group, kind, namespace,
//! name).

use crate::manifest::{Manifest, Origin};
use crate::scope::{RenderScopes, Scope, ScopeLookup};
use driftless_model::{GroupKind, ResourceKey};
use serde_json::Value;
use std::collections::HashMap;

/// Two objects with one identity: where each was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub key: ResourceKey,
    pub first: Origin,
    pub second: Origin,
}

/// One desired object: its identity, the object, and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    pub key: ResourceKey,
    pub object: Value,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinalizeError {
    #[error("failed to accept {}: it appears twice, in {} and in {}", .0.key, .0.first, .0.second)]
    Duplicate(Box<Duplicate>),
    #[error(
        "failed to identify the object in {origin}: it has neither metadata.name nor metadata.generateName"
    )]
    NoName { origin: Origin },
}

pub fn finalize(
    manifests: Vec<Manifest>,
    destination_namespace: &str,
    discovery: Option<&dyn ScopeLookup>,
) -> Result<Vec<DesiredObject>, FinalizeError> {
    let scopes = RenderScopes::new(manifests.iter().map(|m| &m.object), discovery);
    let mut seen: HashMap<ResourceKey, Origin> = HashMap::new();
    let mut out = Vec::with_capacity(manifests.len());
    for Manifest { mut object, origin } in manifests {
        let text = |o: &Value, pointer: &str| {
            o.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let group = GroupKind::group_of_api_version(&text(&object, "/apiVersion")).to_string();
        let kind = text(&object, "/kind");
        match scopes.scope(&GroupKind::new(group.clone(), kind.clone())) {
            Scope::Cluster => {
                if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("namespace");
                }
            }
            Scope::Namespaced
                if text(&object, "/metadata/namespace").is_empty()
                    && !destination_namespace.is_empty() =>
            {
                set_namespace(&mut object, destination_namespace);
            }
            Scope::Namespaced => {}
        }
        let name = text(&object, "/metadata/name");
        let namespace = text(&object, "/metadata/namespace");
        let key = if name.is_empty() {
            // `generateName` objects (hooks) get a fresh name on every apply: never duplicates.
            let generate = text(&object, "/metadata/generateName");
            if generate.is_empty() {
                return Err(FinalizeError::NoName { origin });
            }
            ResourceKey::new(group, kind, namespace, generate)
        } else {
            let key = ResourceKey::new(group, kind, namespace, name);
            if let Some(first) = seen.get(&key) {
                return Err(FinalizeError::Duplicate(Box::new(Duplicate {
                    key,
                    first: first.clone(),
                    second: origin,
                })));
            }
            seen.insert(key.clone(), origin.clone());
            key
        };
        out.push(DesiredObject {
            key,
            object,
            origin,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

fn set_namespace(object: &mut Value, namespace: &str) {
    if let Some(map) = object.as_object_mut() {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if !meta.is_object() {
            *meta = Value::Object(Default::default());
        }
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn manifest(object: Value, file: &str) -> Manifest {
        Manifest {
            object,
            origin: Origin {
                file: file.into(),
                line: 1,
                template: None,
            },
        }
    }

    #[test]
    fn namespaces_defaulted_cleared_and_sorted() {
        let input = vec![
            manifest(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
                "a.yaml",
            ),
            manifest(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "namespace": "x"}}),
                "b.yaml",
            ),
            manifest(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}}),
                "c.yaml",
            ),
            manifest(
                json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
                "d.yaml",
            ),
            manifest(
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "migrate-"}}),
                "e.yaml",
            ),
        ];
        let out = finalize(input, "shop", None).expect("finalizes");
        let keys: Vec<String> = out.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "/ConfigMap/other/c",
                "/Namespace//shop",
                "apps/Deployment/shop/web",
                "batch/Job/shop/migrate-",
                "example.com/Widget/shop/w",
            ]
        );
        assert_eq!(
            out[1].object,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        );
        assert_eq!(out[2].object["metadata"]["namespace"], "shop");
    }

    #[test]
    fn duplicates_name_both_sources() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let with_ns = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}});
        let err = finalize(
            vec![manifest(cm, "one.yaml"), manifest(with_ns, "two.yaml")],
            "shop",
            None,
        )
        .expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "failed to accept /ConfigMap/shop/c: it appears twice, in one.yaml:1 and in two.yaml:1"
        );
    }

    #[test]
    fn object_without_any_name_is_an_error() {
        let err = finalize(
            vec![manifest(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
                "x.yaml",
            )],
            "",
            None,
        )
        .expect_err("no name");
        assert!(err.to_string().contains("x.yaml:1"), "{err}");
    }
}
