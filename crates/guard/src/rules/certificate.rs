//! cert-manager: a Certificate's `issuerRef` names an Issuer or ClusterIssuer of the tree.

use crate::finding::{Finding, Rule, Severity};
use crate::tree::Context;
use serde_json::Value;

pub const ISSUER_MISSING: Rule = Rule {
    id: "certificate-issuer-missing",
    severity: Severity::Error,
    description: "a Certificate's issuerRef names an Issuer (same namespace) or ClusterIssuer in the tree",
};

const CERT_MANAGER: &str = "cert-manager.io";

pub(crate) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for cert in ctx.of_kind(CERT_MANAGER, "Certificate") {
        let text = |field: &str| {
            cert.at(&format!("/spec/issuerRef/{field}"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let Some(name) = text("name") else {
            out.push(ISSUER_MISSING.finding(
                cert.app,
                &cert.key,
                "/spec/issuerRef",
                "Certificate has no issuerRef.name; cert-manager cannot issue it",
            ));
            continue;
        };
        // cert-manager's defaults: kind Issuer, group cert-manager.io.
        let kind = text("kind").unwrap_or("Issuer");
        let group = text("group").unwrap_or(CERT_MANAGER);
        let found = match (group, kind) {
            (CERT_MANAGER, "ClusterIssuer") => ctx.find(group, kind, "", name).is_some(),
            (CERT_MANAGER, _) => ctx.find(group, kind, cert.ns(), name).is_some(),
            // An external issuer may be namespaced or cluster-scoped.
            _ => ctx
                .find(group, kind, cert.ns(), name)
                .or_else(|| ctx.find(group, kind, "", name))
                .is_some(),
        };
        if !found {
            let scope = if kind == "ClusterIssuer" {
                String::new()
            } else {
                format!(" in namespace \"{}\"", cert.ns())
            };
            out.push(ISSUER_MISSING.finding(cert.app, &cert.key, "/spec/issuerRef/name", format!(
                "issuerRef names {group}/{kind} \"{name}\"{scope}, which is not in the tree; the certificate would never be issued"
            )));
        }
    }
}
