//! apps/Deployment: paused, generation observed, replicas updated and available, progress deadline.

use crate::HealthStatus;
use crate::fields::{bool_at, condition, int, int_at, name};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    if bool_at(obj, &["spec", "paused"]) {
        return HealthStatus::suspended("Deployment is paused");
    }
    // Until the controller has seen the latest spec, the status describes an older one.
    if int(obj, &["metadata", "generation"]) > int(obj, &["status", "observedGeneration"]) {
        return HealthStatus::progressing(
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    if condition(obj, "Progressing").is_some_and(|c| c.reason == "ProgressDeadlineExceeded") {
        return HealthStatus::degraded(format!(
            "Deployment {:?} exceeded its progress deadline",
            name(obj)
        ));
    }
    let updated = int(obj, &["status", "updatedReplicas"]);
    if let Some(desired) = int_at(obj, &["spec", "replicas"])
        && updated < desired
    {
        return HealthStatus::progressing(format!(
            "Waiting for rollout to finish: {updated} out of {desired} new replicas have been updated..."
        ));
    }
    let current = int(obj, &["status", "replicas"]);
    if current > updated {
        return HealthStatus::progressing(format!(
            "Waiting for rollout to finish: {} old replicas are pending termination...",
            current - updated
        ));
    }
    let available = int(obj, &["status", "availableReplicas"]);
    if available < updated {
        return HealthStatus::progressing(format!(
            "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
        ));
    }
    HealthStatus::healthy("")
}
