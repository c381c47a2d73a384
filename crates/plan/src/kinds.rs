//! Order of kinds inside one wave: the install order Helm and Argo CD use, so that
//! namespaces, quotas, accounts, secrets, storage and CRDs exist before the workloads
//! that need them. Kinds not in the table (custom resources among them) come after.

/// Install order; the position is the rank.
const INSTALL_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Rank of a kind in the install order; every unknown kind shares the last rank.
/// Like Argo CD, only the kind's name counts, not its group.
pub fn install_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first_and_unknown_kinds_last() {
        assert!(install_rank("Namespace") < install_rank("ConfigMap"));
        assert!(install_rank("CustomResourceDefinition") < install_rank("ClusterRole"));
        assert!(install_rank("ServiceAccount") < install_rank("Secret"));
        assert!(install_rank("Service") < install_rank("Deployment"));
        assert!(install_rank("Deployment") < install_rank("Ingress"));
        assert_eq!(install_rank("Certificate"), install_rank("VirtualService"));
        assert!(install_rank("APIService") < install_rank("Certificate"));
    }
}
