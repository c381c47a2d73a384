//! v1/PersistentVolumeClaim: Bound is healthy, Pending waits for a volume, Lost is degraded.

use crate::HealthStatus;
use crate::fields::text;
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    match text(obj, &["status", "phase"]) {
        "Bound" => HealthStatus::healthy(""),
        // Includes WaitForFirstConsumer storage classes: bound when a pod uses the claim.
        "Pending" => HealthStatus::progressing("Waiting for the claim to be bound to a volume"),
        "Lost" => HealthStatus::degraded("The claim lost its bound volume"),
        other => HealthStatus::unknown(format!("Unexpected claim phase {other:?}")),
    }
}
