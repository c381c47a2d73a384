//! `--resource GROUP:KIND:NAME` (or `GROUP:KIND:NAMESPACE/NAME`): a partial sync of the
//! chosen objects only. A field given as `*` matches anything; the core group is empty.

use driftless_model::{ResourceKey, SyncOperationResource};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("failed to read resource {0:?}: expected GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME")]
    Malformed(String),
}

/// One chosen object (or a pattern of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceSelector {
    pub group: String,
    pub kind: String,
    /// `None`: any namespace, as Argo CD matches a resource given without one.
    pub namespace: Option<String>,
    pub name: String,
}

impl ResourceSelector {
    pub fn matches(&self, key: &ResourceKey) -> bool {
        fn field(pattern: &str, value: &str) -> bool {
            pattern == "*" || pattern == value
        }
        field(&self.group, &key.group)
            && field(&self.kind, &key.kind)
            && field(&self.name, &key.name)
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| field(ns, &key.namespace))
    }
}

impl FromStr for ResourceSelector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || SelectorError::Malformed(text.to_string());
        let fields: Vec<&str> = text.split(':').collect();
        let [group, kind, last] = fields.as_slice() else {
            return Err(malformed());
        };
        let (namespace, name) = match last.split_once('/') {
            Some((namespace, name)) => (Some(namespace.to_string()), name),
            None => (None, *last),
        };
        if kind.is_empty() || name.is_empty() || name.contains('/') {
            return Err(malformed());
        }
        Ok(Self {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace,
            name: name.to_string(),
        })
    }
}

impl From<&SyncOperationResource> for ResourceSelector {
    fn from(resource: &SyncOperationResource) -> Self {
        Self {
            group: resource.group.clone().unwrap_or_default(),
            kind: resource.kind.clone(),
            namespace: resource.namespace.clone().filter(|ns| !ns.is_empty()),
            name: resource.name.clone(),
        }
    }
}

impl fmt::Display for ResourceSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}:{}:{}/{}", self.group, self.kind, ns, self.name),
            None => write!(f, "{}:{}:{}", self.group, self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str, ns: &str, name: &str) -> ResourceKey {
        ResourceKey::new(group, kind, ns, name)
    }

    #[test]
    fn parses_with_and_without_namespace() {
        let s: ResourceSelector = "apps:Deployment:web".parse().unwrap();
        assert!(s.matches(&key("apps", "Deployment", "shop", "web")));
        assert!(!s.matches(&key("apps", "Deployment", "shop", "api")));
        let s: ResourceSelector = ":ConfigMap:shop/cfg".parse().unwrap();
        assert!(s.matches(&key("", "ConfigMap", "shop", "cfg")));
        assert!(!s.matches(&key("", "ConfigMap", "other", "cfg")));
        assert_eq!(s.to_string(), ":ConfigMap:shop/cfg");
    }

    #[test]
    fn star_matches_any_value() {
        let s: ResourceSelector = "*:Service:*".parse().unwrap();
        assert!(s.matches(&key("", "Service", "a", "x")));
        assert!(!s.matches(&key("", "ConfigMap", "a", "x")));
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for text in [
            "Deployment:web",
            "apps:Deployment:",
            "a:b:c:d",
            "apps::web",
            "apps:Deployment:a/b/c",
        ] {
            assert!(text.parse::<ResourceSelector>().is_err(), "{text}");
        }
    }
}
