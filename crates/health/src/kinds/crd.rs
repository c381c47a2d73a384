//! apiextensions.k8s.io/CustomResourceDefinition, as Argo CD 3.x's bundled check, messages
//! included. Terminating comes first (Progressing), then what the API server cannot get
//! past (Degraded): names not accepted, a non-structural schema, `Established=False` with
//! reason InvalidCABundle (a bad conversion webhook). Anything else short of `Established`
//! is Progressing: the API server establishes a CRD moments after accepting its names.
//! Argo CD takes the first matching condition in list order; we rank them as above, which
//! only differs when two problems show at once. A CRD being deleted never gets here:
//! `health_of` says "Pending deletion" first, as gitops-engine does.

use crate::HealthStatus;
use crate::fields::{Condition, conditions};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    let all: Vec<Condition<'_>> = conditions(obj).collect();
    if all.is_empty() {
        return HealthStatus::progressing("Status conditions not found");
    }
    let find = |kind: &str, status: &str| all.iter().find(|c| c.kind == kind && c.status == status);
    if let Some(terminating) = find("Terminating", "True") {
        return HealthStatus::progressing(format!("CRD is terminating: {}", terminating.message));
    }
    if let Some(names) = find("NamesAccepted", "False") {
        return HealthStatus::degraded(format!(
            "CRD names have not been accepted: {}",
            names.message
        ));
    }
    if let Some(violations) = find("NonStructuralSchema", "True") {
        return HealthStatus::degraded(format!("Schema violations found: {}", violations.message));
    }
    let established = all.iter().find(|c| c.kind == "Established");
    match established {
        Some(c) if c.is_true() => HealthStatus::healthy("CRD is healthy"),
        Some(c) if c.reason == "InvalidCABundle" => {
            HealthStatus::degraded(format!("CRD is not established: {}", c.message))
        }
        // Right after creation: reason Installing, whose message ("the initial names have
        // not been accepted") would mislead.
        Some(c) if c.reason == "Installing" => HealthStatus::progressing("CRD is being installed"),
        _ => HealthStatus::progressing("CRD is not established"),
    }
}
