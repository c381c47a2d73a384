//! argoproj.io/Rollout (Argo Rollouts), from its documented status: `status.phase` is
//! Healthy, Progressing, Degraded or Paused; `spec.paused` pauses it by hand. Our own
//! reading, not Argo CD's script. No status (controller absent) gives no health.

use super::convention::waiting_for_generation;
use crate::HealthStatus;
use crate::fields::{at, bool_at, has_status, int_at, text};
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
    let generation = int_at(obj, &["metadata", "generation"]);
    if let (Some(generation), Some(observed)) = (generation, observed_generation(obj))
        && let Some(waiting) = waiting_for_generation(generation, observed)
    {
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

/// Argo Rollouts writes `observedGeneration` as a string ("3"); older versions wrote a
/// hash, which is not comparable and is ignored.
fn observed_generation(obj: &Value) -> Option<i64> {
    let value = at(obj, &["status", "observedGeneration"])?;
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}
