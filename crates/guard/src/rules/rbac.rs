//! RBAC: no binding to `cluster-admin`, no wildcard in verbs, resources or apiGroups.

use crate::finding::{Finding, Rule, Severity};
use crate::pointer;
use crate::tree::{Context, Obj};
use serde_json::Value;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

pub const CLUSTER_ADMIN_BINDING: Rule = Rule {
    id: "rbac-cluster-admin-binding",
    severity: Severity::Error,
    description: "no RoleBinding or ClusterRoleBinding grants the cluster-admin ClusterRole",
};
pub const WILDCARD: Rule = Rule {
    id: "rbac-wildcard",
    severity: Severity::Error,
    description: "no Role or ClusterRole rule uses * in verbs, resources or apiGroups",
};

pub(crate) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for kind in ["ClusterRoleBinding", "RoleBinding"] {
        for obj in ctx.of_kind(RBAC_GROUP, kind) {
            let role_kind = obj.at("/roleRef/kind").and_then(Value::as_str);
            let role_name = obj.at("/roleRef/name").and_then(Value::as_str);
            if role_kind == Some("ClusterRole") && role_name == Some("cluster-admin") {
                out.push(CLUSTER_ADMIN_BINDING.finding(obj.app, &obj.key, "/roleRef/name", format!("{kind} grants cluster-admin: its subjects can do anything in the cluster; bind a role with only the permissions needed")));
            }
        }
    }
    for kind in ["ClusterRole", "Role"] {
        for obj in ctx.of_kind(RBAC_GROUP, kind) {
            check_rules(obj, out);
        }
    }
}

/// One finding per role naming every wildcard, at the first.
fn check_rules(obj: &Obj, out: &mut Vec<Finding>) {
    let rules = obj
        .at("/rules")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut places: Vec<(String, String)> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        for field in ["apiGroups", "resources", "verbs"] {
            let entries = rule
                .get(field)
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            for (j, entry) in entries.iter().enumerate() {
                let Some(text) = entry.as_str() else { continue };
                if is_wildcard(field, text) {
                    let path =
                        pointer::index(&pointer::key(&pointer::index("/rules", i), field), j);
                    places.push((path, format!("rules[{i}].{field} has \"{text}\"")));
                }
            }
        }
    }
    let Some((path, _)) = places.first() else {
        return;
    };
    let named: Vec<&str> = places.iter().map(|(_, what)| what.as_str()).collect();
    out.push(WILDCARD.finding(
        obj.app,
        &obj.key,
        path.clone(),
        format!(
            "{}, which also grants everything added to the cluster later; list what is needed",
            named.join(", ")
        ),
    ));
}

/// `*` everywhere; in resources also `*/<subresource>`, which RBAC matches against every
/// resource. `pods/*` is not a wildcard to RBAC (it names a literal subresource `*`).
fn is_wildcard(field: &str, entry: &str) -> bool {
    entry == "*" || (field == "resources" && entry.starts_with("*/"))
}

#[cfg(test)]
mod tests {
    use super::is_wildcard;

    #[test]
    fn wildcards_are_those_rbac_expands() {
        assert!(is_wildcard("verbs", "*"));
        assert!(is_wildcard("resources", "*/scale"));
        assert!(!is_wildcard("resources", "pods/*"));
        assert!(!is_wildcard("apiGroups", ""));
    }
}
