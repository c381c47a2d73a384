//! apps/ReplicaSet: generation observed, no ReplicaFailure, replicas available.

use crate::HealthStatus;
use crate::fields::{condition, int, int_at};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    if int(obj, &["metadata", "generation"]) > int(obj, &["status", "observedGeneration"]) {
        return HealthStatus::progressing(
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        );
    }
    // ReplicaFailure is set when pods cannot be created at all (quota, admission, ...).
    if let Some(failure) = condition(obj, "ReplicaFailure").filter(|c| c.is_true()) {
        return HealthStatus::degraded(failure.message);
    }
    let available = int(obj, &["status", "availableReplicas"]);
    if let Some(desired) = int_at(obj, &["spec", "replicas"])
        && available < desired
    {
        return HealthStatus::progressing(format!(
            "Waiting for rollout to finish: {available} out of {desired} new replicas are available..."
        ));
    }
    HealthStatus::healthy("")
}
