//! apps/DaemonSet: generation observed, pods updated and available on every scheduled node.

use crate::HealthStatus;
use crate::fields::{int, name, text};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    if int(obj, &["metadata", "generation"]) > int(obj, &["status", "observedGeneration"]) {
        return HealthStatus::progressing(
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        );
    }
    let desired = int(obj, &["status", "desiredNumberScheduled"]);
    let updated = int(obj, &["status", "updatedNumberScheduled"]);
    if text(obj, &["spec", "updateStrategy", "type"]) == "OnDelete" {
        // Pods are replaced only when someone deletes them: nothing to wait for.
        return HealthStatus::healthy(format!(
            "daemon set {updated} out of {desired} new pods have been updated"
        ));
    }
    if updated < desired {
        return HealthStatus::progressing(format!(
            "Waiting for daemon set {:?} rollout to finish: {updated} out of {desired} new pods have been updated...",
            name(obj)
        ));
    }
    let available = int(obj, &["status", "numberAvailable"]);
    if available < desired {
        return HealthStatus::progressing(format!(
            "Waiting for daemon set {:?} rollout to finish: {available} of {desired} updated pods are available...",
            name(obj)
        ));
    }
    HealthStatus::healthy("")
}
