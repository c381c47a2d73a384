//! Whether a kind is namespaced or cluster-scoped: a built-in table of the kinds
//! Kubernetes ships, CRDs found in the same render, and an extension point for API
//! discovery when a cluster is at hand. A kind nobody knows is treated as namespaced, as
//! Argo CD does (`IsNamespacedOrUnknown`).

use driftless_model::GroupKind;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// Answers the scope of a kind, or `None` when it does not know the kind.
pub trait ScopeLookup: Send + Sync {
    fn scope(&self, kind: &GroupKind) -> Option<Scope>;
}

/// Cluster-scoped kinds built into Kubernetes (and a few common add-ons).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("policy", "PodSecurityPolicy"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("authentication.k8s.io", "TokenReview"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("cert-manager.io", "ClusterIssuer"),
];

/// Groups whose every kind is namespaced unless listed above: the built-in API groups
/// and Argo CD's own (`Application`, `ApplicationSet`, `AppProject`).
const NAMESPACED_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "discovery.k8s.io",
    "coordination.k8s.io",
    "events.k8s.io",
    "storage.k8s.io",
    "resource.k8s.io",
    "argoproj.io",
];

/// The built-in table only.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinScopes;

impl ScopeLookup for BuiltinScopes {
    fn scope(&self, kind: &GroupKind) -> Option<Scope> {
        if CLUSTER_SCOPED
            .iter()
            .any(|(g, k)| *g == kind.group && *k == kind.kind)
        {
            Some(Scope::Cluster)
        } else if NAMESPACED_GROUPS.contains(&kind.group.as_str()) {
            Some(Scope::Namespaced)
        } else {
            None
        }
    }
}

/// Scopes for one render: the built-in table, then CRDs in the render, then `extra`
/// (e.g. API discovery); unknown kinds are namespaced.
pub struct RenderScopes<'a> {
    crds: HashMap<GroupKind, Scope>,
    extra: Option<&'a dyn ScopeLookup>,
}

impl<'a> RenderScopes<'a> {
    pub fn new<'o>(
        objects: impl IntoIterator<Item = &'o Value>,
        extra: Option<&'a dyn ScopeLookup>,
    ) -> Self {
        let crds = objects.into_iter().filter_map(crd_scope).collect();
        Self { crds, extra }
    }

    pub fn scope(&self, kind: &GroupKind) -> Scope {
        BuiltinScopes
            .scope(kind)
            .or_else(|| self.crds.get(kind).copied())
            .or_else(|| self.extra.and_then(|e| e.scope(kind)))
            .unwrap_or(Scope::Namespaced)
    }
}

/// The kind a CustomResourceDefinition declares, and its `spec.scope`.
fn crd_scope(object: &Value) -> Option<(GroupKind, Scope)> {
    let api_version = object.get("apiVersion")?.as_str()?;
    if GroupKind::group_of_api_version(api_version) != "apiextensions.k8s.io"
        || object.get("kind")?.as_str()? != "CustomResourceDefinition"
    {
        return None;
    }
    let spec = object.get("spec")?;
    let group = spec.get("group")?.as_str()?;
    let kind = spec.get("names")?.get("kind")?.as_str()?;
    let scope = match spec.get("scope").and_then(Value::as_str) {
        Some("Cluster") => Scope::Cluster,
        _ => Scope::Namespaced,
    };
    Some((GroupKind::new(group, kind), scope))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_crd_extra_and_unknown() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "clusterwidgets.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster", "names": {"kind": "ClusterWidget"}}});
        struct Discovery;
        impl ScopeLookup for Discovery {
            fn scope(&self, kind: &GroupKind) -> Option<Scope> {
                (kind.kind == "Gadget").then_some(Scope::Cluster)
            }
        }
        let scopes = RenderScopes::new([&crd], Some(&Discovery));
        let gk = GroupKind::new;
        assert_eq!(scopes.scope(&gk("", "Namespace")), Scope::Cluster);
        assert_eq!(
            scopes.scope(&gk("rbac.authorization.k8s.io", "ClusterRole")),
            Scope::Cluster
        );
        assert_eq!(
            scopes.scope(&gk("rbac.authorization.k8s.io", "Role")),
            Scope::Namespaced
        );
        assert_eq!(
            scopes.scope(&gk("argoproj.io", "Application")),
            Scope::Namespaced
        );
        assert_eq!(
            scopes.scope(&gk("example.com", "ClusterWidget")),
            Scope::Cluster
        );
        assert_eq!(scopes.scope(&gk("example.com", "Gadget")), Scope::Cluster);
        assert_eq!(
            scopes.scope(&gk("example.com", "Unknown")),
            Scope::Namespaced
        );
    }
}
