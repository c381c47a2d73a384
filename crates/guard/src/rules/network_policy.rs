//! Every namespace that runs workloads has a default-deny NetworkPolicy, so that a new
//! workload is unreachable until a policy lets traffic in.

use crate::finding::{Finding, Rule, Severity};
use crate::pod::pod_spec;
use crate::tree::{Context, Obj};
use crate::waiver::waiver_of;
use driftless_model::ResourceKey;
use serde_json::Value;
use std::collections::BTreeMap;

pub const DEFAULT_DENY: Rule = Rule {
    id: "default-deny-network-policy",
    severity: Severity::Error,
    description: "every namespace that runs workloads has a NetworkPolicy selecting all pods that denies ingress by default",
};

pub(crate) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    // Namespace -> workloads in it, in tree order. A workload that waives the rule does not
    // count, so a namespace of waived workloads needs no policy.
    let mut workloads: BTreeMap<&str, Vec<&Obj>> = BTreeMap::new();
    for obj in &ctx.objects {
        if pod_spec(&obj.key.group, &obj.key.kind, obj.value).is_some() && !waives(obj) {
            workloads.entry(obj.ns()).or_default().push(obj);
        }
    }
    for (namespace, objs) in workloads {
        if ctx
            .of_kind("networking.k8s.io", "NetworkPolicy")
            .any(|p| p.ns() == namespace && denies_all_ingress(p.value))
        {
            continue;
        }
        let Some(first) = objs.first() else { continue };
        let names: Vec<String> = objs
            .iter()
            .take(3)
            .map(|o| format!("{}/{}", o.key.kind, o.name()))
            .collect();
        let more = if objs.len() > 3 {
            format!(" and {} more", objs.len() - 3)
        } else {
            String::new()
        };
        let message = format!(
            "namespace \"{namespace}\" runs {}{more} but has no default-deny NetworkPolicy (podSelector: {{}}, policyTypes: [Ingress], no ingress rules)",
            names.join(", ")
        );
        if namespace.is_empty() {
            // Unknown namespace (left to the Application's destination): name the workload.
            out.push(DEFAULT_DENY.finding(first.app, &first.key, "", message));
        } else {
            let ns_key = ResourceKey::new("", "Namespace", "", namespace);
            let app = ctx
                .find("", "Namespace", "", namespace)
                .map(|n| n.app)
                .unwrap_or(first.app);
            out.push(DEFAULT_DENY.finding(app, &ns_key, "", message));
        }
    }
}

fn waives(obj: &Obj) -> bool {
    waiver_of(obj.value).is_some_and(|(w, _)| w.rules.iter().any(|r| r == DEFAULT_DENY.id))
}

/// A policy that selects every pod and lets no ingress traffic in. `policyTypes` left out
/// means Ingress (plus Egress when egress rules are present); `ingress: [{}]` allows all.
fn denies_all_ingress(policy: &Value) -> bool {
    let spec = policy.get("spec");
    let selector = spec.and_then(|s| s.get("podSelector"));
    let selects_all = match selector {
        None | Some(Value::Null) => true,
        Some(Value::Object(map)) => map.values().all(|v| match v {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        }),
        Some(_) => false,
    };
    let types = spec
        .and_then(|s| s.get("policyTypes"))
        .and_then(Value::as_array);
    let covers_ingress = match types {
        None => true,
        Some(types) => types.iter().any(|t| t.as_str() == Some("Ingress")),
    };
    let no_ingress_rules = match spec.and_then(|s| s.get("ingress")) {
        None | Some(Value::Null) => true,
        Some(Value::Array(rules)) => rules.is_empty(),
        Some(_) => false,
    };
    selects_all && covers_ingress && no_ingress_rules
}

#[cfg(test)]
mod tests {
    use super::denies_all_ingress;
    use serde_json::json;

    #[test]
    fn only_select_all_without_ingress_rules_is_default_deny() {
        assert!(denies_all_ingress(&json!({"spec": {"podSelector": {}}})));
        assert!(denies_all_ingress(
            &json!({"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
        ));
        assert!(!denies_all_ingress(
            &json!({"spec": {"podSelector": {}, "ingress": [{}]}})
        ));
        assert!(!denies_all_ingress(
            &json!({"spec": {"podSelector": {"matchLabels": {"app": "x"}}}})
        ));
        assert!(!denies_all_ingress(
            &json!({"spec": {"podSelector": {}, "policyTypes": ["Egress"]}})
        ));
    }
}
