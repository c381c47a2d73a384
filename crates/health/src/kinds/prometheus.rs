//! monitoring.coreos.com (prometheus-operator) Prometheus, PrometheusAgent, Alertmanager
//! and ThanosRuler, from the documented status (our own reading, not Argo CD's scripts):
//! `status.paused`; condition `Reconciled` (True, or False when the operator failed to
//! reconcile) and `Available` (True, `Degraded` when some pods are not ready, False when
//! none is), each stamped with the generation it was computed for.
//! No status, or no condition that says True/False/Degraded, gives no health.

use super::convention::stale_condition;
use crate::HealthStatus;
use crate::fields::{bool_at, condition, has_status};
use serde_json::Value;

pub fn health(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    if bool_at(obj, &["status", "paused"]) {
        return Some(HealthStatus::suspended(
            "Paused: the operator makes no changes to the workload",
        ));
    }
    let reconciled = condition(obj, "Reconciled");
    let available = condition(obj, "Available");
    if let Some(stale) = [reconciled, available]
        .iter()
        .flatten()
        .find_map(|c| stale_condition(obj, c))
    {
        return Some(stale);
    }
    if let Some(failed) = reconciled.filter(|c| c.is_false()) {
        return Some(HealthStatus::degraded(failed.describe()));
    }
    let available = available?;
    match available.status {
        "True" => Some(HealthStatus::healthy(available.message)),
        // Pods not (yet) ready, as for the StatefulSet underneath: progress, not failure.
        "Degraded" | "False" => Some(HealthStatus::progressing(available.describe())),
        _ => None,
    }
}
