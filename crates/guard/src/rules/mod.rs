//! Every rule of `driftless check`, one module per concern. Rule ids are stable: waivers and
//! CI scripts refer to them.
//!
//! Severities: the security baseline and broken references are `error` (the workload is
//! exposed, or traffic/certificates silently fail), and so is an http route no request can ever
//! reach. Host collisions and partly shadowed routes are `warning`: Istio accepts them and
//! traffic still flows, but not as the author likely meant.
//! Malformed waivers are `warning`: they never block a sync, but should be fixed.

pub mod certificate;
pub mod gateway;
pub mod ingress;
pub mod network_policy;
pub mod pod_security;
pub mod rbac;
pub mod shadowed_match;
pub mod virtual_service;
pub mod waivers;

use crate::finding::{Finding, Rule};
use crate::options::Options;
use crate::tree::Context;

macro_rules! rule_table {
    ($($rule:path),* $(,)?) => {
        /// Every rule, in the order `--list-rules` prints them.
        pub const ALL_RULES: &[Rule] = &[$($rule),*];
        /// `(id, severity, description)` of every rule, for the README and `--list-rules`.
        pub const RULES: &[(&str, &str, &str)] = &[$($rule.row()),*];
    };
}

rule_table![
    pod_security::RUN_AS_NON_ROOT,
    pod_security::READ_ONLY_ROOT_FILESYSTEM,
    pod_security::DROP_ALL_CAPABILITIES,
    pod_security::SECCOMP_RUNTIME_DEFAULT,
    pod_security::NO_PRIVILEGED,
    pod_security::NO_HOST_NAMESPACES,
    pod_security::NO_HOST_PATH,
    rbac::CLUSTER_ADMIN_BINDING,
    rbac::WILDCARD,
    network_policy::DEFAULT_DENY,
    gateway::GATEWAY_TLS,
    gateway::CREDENTIAL_MISSING,
    virtual_service::GATEWAY_MISSING,
    virtual_service::HOST_COLLISION,
    shadowed_match::UNREACHABLE_ROUTE,
    shadowed_match::SHADOWED_MATCH,
    virtual_service::DESTINATION_MISSING,
    virtual_service::DESTINATION_PORT,
    certificate::ISSUER_MISSING,
    ingress::BACKEND_MISSING,
    crate::volatile::VOLATILE_FIELD,
    waivers::INVALID_WAIVER,
];

/// True when `id` is the id of a rule.
pub fn is_rule(id: &str) -> bool {
    ALL_RULES.iter().any(|r| r.id == id)
}

/// Runs every rule over the tree (volatile fields need two renders: see `volatile_fields`).
pub(crate) fn run_all(ctx: &Context, options: &Options) -> Vec<Finding> {
    let mut out = Vec::new();
    pod_security::check(ctx, options, &mut out);
    rbac::check(ctx, &mut out);
    network_policy::check(ctx, &mut out);
    gateway::check(ctx, &mut out);
    virtual_service::check(ctx, &mut out);
    shadowed_match::check(ctx, &mut out);
    certificate::check(ctx, &mut out);
    ingress::check(ctx, &mut out);
    waivers::check(ctx, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_kebab_case_and_described() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.0).collect();
        for (id, severity, description) in RULES {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id} is not kebab-case"
            );
            assert!(
                !id.starts_with('-') && !id.ends_with('-') && !id.contains("--"),
                "{id}"
            );
            assert!(["error", "warning"].contains(severity), "{id}: {severity}");
            assert!(
                !description.is_empty() && !description.contains('\n'),
                "{id}"
            );
        }
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "duplicate rule ids");
    }
}
