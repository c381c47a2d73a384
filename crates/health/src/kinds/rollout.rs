//! argoproj.io/Rollout (Argo Rollouts), from its documented status: `status.phase` is
//! Healthy, Progressing, Degraded or Paused; `spec.paused` pauses it by hand. Our own
//! reading, not Argo CD's script. No status (controller absent) gives no health.

use super::convention::unobserved_generation;
use crate::HealthStatus;
use crate::fields::{bool_at, has_status, text};
use serde_json::Value;

pub fn health(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    let message = text(obj, &["status", "message"]);
    if bool_at(obj, &["spec", "paused"]) {
        return Some(HealthStatus::suspended(if message.is_empty() {
            "Rollout is paused"
        } else {
            message
        }));
    }
    // Argo Rollouts writes `observedGeneration` as a string ("3"), which the reader takes.
    if let Some(waiting) = unobserved_generation(obj) {
        return Some(waiting);
    }
    Some(match text(obj, &["status", "phase"]) {
        "Healthy" => HealthStatus::healthy(message),
        "Degraded" => HealthStatus::degraded(message),
        "Paused" => HealthStatus::suspended(message),
        "Progressing" => HealthStatus::progressing(message),
        _ => HealthStatus::progressing("Waiting for the rollout controller"),
    })
}
