//! apps/StatefulSet: generation observed, pods ready, partitioned or full rolling update done.

use crate::HealthStatus;
use crate::fields::{at, int, int_at, text};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    let observed = int(obj, &["status", "observedGeneration"]);
    if observed == 0 || int(obj, &["metadata", "generation"]) > observed {
        return HealthStatus::progressing("Waiting for statefulset spec update to be observed...");
    }
    let desired = int_at(obj, &["spec", "replicas"]);
    let ready = int(obj, &["status", "readyReplicas"]);
    if let Some(desired) = desired
        && ready < desired
    {
        return HealthStatus::progressing(format!(
            "Waiting for {} pods to be ready...",
            desired - ready
        ));
    }
    let updated = int(obj, &["status", "updatedReplicas"]);
    let strategy = text(obj, &["spec", "updateStrategy", "type"]);
    let rolling = at(obj, &["spec", "updateStrategy", "rollingUpdate"]).filter(|v| v.is_object());
    if strategy == "RollingUpdate"
        && let Some(rolling) = rolling
    {
        // The API server defaults `partition: 0`, so this is the usual path for live objects:
        // pods at ordinal >= partition must be updated.
        if let (Some(desired), Some(partition)) = (desired, int_at(rolling, &["partition"])) {
            let target = desired - partition;
            if updated < target {
                return HealthStatus::progressing(format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {target} new pods have been updated..."
                ));
            }
        }
        return HealthStatus::healthy(format!(
            "partitioned roll out complete: {updated} new pods have been updated..."
        ));
    }
    if strategy == "OnDelete" {
        // Pods are replaced only when someone deletes them: nothing to wait for.
        return HealthStatus::healthy(format!("statefulset has {ready} ready pods"));
    }
    let update_revision = text(obj, &["status", "updateRevision"]);
    if update_revision != text(obj, &["status", "currentRevision"]) {
        return HealthStatus::progressing(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
        ));
    }
    HealthStatus::healthy(format!(
        "statefulset rolling update complete {} pods at revision {}...",
        int(obj, &["status", "currentReplicas"]),
        text(obj, &["status", "currentRevision"])
    ))
}
