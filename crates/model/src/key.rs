//! The identity of a Kubernetes object: group, kind, namespace and name.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A group and kind, e.g. `apps/Deployment`; the core group is the empty string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupKind {
    pub group: String,
    pub kind: String,
}

impl GroupKind {
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
        }
    }

    /// The group of an `apiVersion` such as `apps/v1` (`apps`) or `v1` (core, empty).
    pub fn group_of_api_version(api_version: &str) -> &str {
        api_version
            .rsplit_once('/')
            .map(|(group, _)| group)
            .unwrap_or("")
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.group, self.kind)
    }
}

/// Identifies one object: `group/Kind/namespace/name`, with empty group for core and
/// empty namespace for cluster-scoped objects. Sorting follows (group, kind, namespace, name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceKey {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// Why a JSON value is not a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("failed to identify object: it is not a mapping")]
    NotAnObject,
    #[error("failed to identify object: missing {0}")]
    Missing(&'static str),
}

impl ResourceKey {
    pub fn new(
        group: impl Into<String>,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Reads `apiVersion`, `kind`, `metadata.namespace` and `metadata.name` of an object.
    pub fn of(object: &Value) -> Result<Self, KeyError> {
        let map = object.as_object().ok_or(KeyError::NotAnObject)?;
        fn text(v: Option<&Value>) -> Option<&str> {
            v.and_then(Value::as_str).filter(|s| !s.is_empty())
        }
        let api_version = text(map.get("apiVersion")).ok_or(KeyError::Missing("apiVersion"))?;
        let kind = text(map.get("kind")).ok_or(KeyError::Missing("kind"))?;
        let meta = map.get("metadata");
        let name =
            text(meta.and_then(|m| m.get("name"))).ok_or(KeyError::Missing("metadata.name"))?;
        let namespace = text(meta.and_then(|m| m.get("namespace"))).unwrap_or("");
        Ok(Self::new(
            GroupKind::group_of_api_version(api_version),
            kind,
            namespace,
            name,
        ))
    }

    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.group.clone(), self.kind.clone())
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.group, self.kind, self.namespace, self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_of_namespaced_and_core_objects() {
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}});
        assert_eq!(
            ResourceKey::of(&deploy).unwrap().to_string(),
            "apps/Deployment/shop/web"
        );
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
        assert_eq!(
            ResourceKey::of(&ns).unwrap().to_string(),
            "/Namespace//shop"
        );
    }

    #[test]
    fn key_of_object_without_name_is_an_error() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
        assert_eq!(
            ResourceKey::of(&obj),
            Err(KeyError::Missing("metadata.name"))
        );
        assert_eq!(ResourceKey::of(&json!([1])), Err(KeyError::NotAnObject));
    }
}
