//! apiextensions.k8s.io/CustomResourceDefinition, as Argo CD's bundled check: established,
//! names accepted, structural schema.

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
    if find("Established", "True").is_none() {
        // Right after creation the API server reports Established=False, reason Installing.
        if let Some(installing) = all
            .iter()
            .find(|c| c.kind == "Established" && c.reason == "Installing")
        {
            return HealthStatus::progressing(format!(
                "CRD is being installed: {}",
                installing.message
            ));
        }
        return HealthStatus::degraded("CRD is not established");
    }
    if let Some(violations) = find("NonStructuralSchema", "True") {
        return HealthStatus::degraded(format!("Schema violations found: {}", violations.message));
    }
    HealthStatus::healthy("CRD is healthy")
}
