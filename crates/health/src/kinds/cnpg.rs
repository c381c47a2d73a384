//! postgresql.cnpg.io/Cluster (CloudNativePG), from the documented status (our own reading,
//! not Argo CD's scripts): `status.phase` is a sentence ("Cluster in healthy state",
//! "Setting up primary", "Cluster is unrecoverable and needs manual intervention", ...) with
//! details in `status.phaseReason`; condition `cnpg.io/hibernation` is True once hibernated
//! under `cnpg.io/hibernation: "on"`; `ContinuousArchiving=False` means WAL archiving fails.
//! The convention would read only `Ready`, which is False for every phase but the healthy
//! one, failures included. No status, or no phase, gives no health.

use crate::HealthStatus;
use crate::fields::{Condition, condition, has_status, text};
use serde_json::Value;

const HEALTHY: &str = "Cluster in healthy state";

/// Phases the operator cannot leave without a fix (a plugin, image catalog, definition or
/// unrecoverable instance).
const FAILED: [&str; 7] = [
    "Cluster cannot proceed to reconciliation due to an unknown plugin being required",
    "Cluster cannot proceed to reconciliation due to an error while interacting with plugins",
    "Cluster has incomplete or invalid image catalog",
    "Cluster is unrecoverable and needs manual intervention",
    "Cluster cannot execute instance online upgrade due to missing architecture binary",
    "Unable to create required cluster objects",
    "Invalid cluster definition",
];

/// Phases that wait for someone: a supervised switchover, or an upgrade the operator's
/// configuration holds back.
const WAITING: [&str; 2] = ["Waiting for user action", "Cluster upgrade delayed"];

pub fn cluster(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    if let Some(hibernation) = condition(obj, "cnpg.io/hibernation") {
        if hibernation.is_true() {
            return Some(HealthStatus::suspended(hibernation.message));
        }
        // Pods are being deleted to hibernate; "WaitingForHealthy" defers to the phase.
        if matches!(hibernation.reason, "DeletingPods" | "WaitingPodsDeletion") {
            return Some(HealthStatus::progressing(hibernation.message));
        }
    }
    let phase = text(obj, &["status", "phase"]);
    let message = match text(obj, &["status", "phaseReason"]) {
        "" => phase.to_string(),
        reason => format!("{phase}: {reason}"),
    };
    Some(match phase {
        "" => return None,
        HEALTHY => match condition(obj, "ContinuousArchiving").filter(Condition::is_false) {
            Some(archiving) => HealthStatus::degraded(archiving.describe()),
            None => HealthStatus::healthy(message),
        },
        _ if FAILED.contains(&phase) => HealthStatus::degraded(message),
        _ if WAITING.contains(&phase) => HealthStatus::suspended(message),
        // Every other phase is a step the operator is taking: switchover, failover,
        // creating replicas, upgrading, restarting, applying configuration.
        _ => HealthStatus::progressing(message),
    })
}
