//! keda.sh ScaledObject and ScaledJob, from the documented status conditions and pause
//! annotations (our own reading, not Argo CD's scripts). KEDA starts every object with
//! `Ready`, `Active` and `Fallback` Unknown and `Paused` False, then sets `Ready=False` only
//! on errors (ScaledObjectCheckFailed, TriggerError, ...), `Fallback=True` while a failing
//! trigger is replaced by the fallback replica count, and `Paused=True` once paused by
//! `autoscaling.keda.sh/paused: "true"` or `autoscaling.keda.sh/paused-replicas: "<n>"`.
//! `Active=False` (no trigger active, possibly scaled to zero) is normal, not a fault.
//! No status, or only the initial Unknown conditions, gives no health.
//!
//! eventing.keda.sh CloudEventSource and ClusterCloudEventSource have one condition, `Active`:
//! Unknown when created, True once events reach the destination, False (CloudEventSourceFailed)
//! when a destination fails. TriggerAuthentication and ClusterTriggerAuthentication have no
//! health: their status only lists the ScaledObjects and ScaledJobs that use them.

use crate::HealthStatus;
use crate::fields::{Condition, condition, has_status, str_at};
use serde_json::Value;

const PAUSED: &str = "autoscaling.keda.sh/paused";
const PAUSED_REPLICAS: &str = "autoscaling.keda.sh/paused-replicas";

pub fn health(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    if let Some(paused) = condition(obj, "Paused").filter(Condition::is_true) {
        return Some(HealthStatus::suspended(paused.message));
    }
    // The annotation takes effect before the next status update says so.
    if let Some(annotation) = paused_by(obj) {
        return Some(HealthStatus::suspended(format!("Paused by {annotation}")));
    }
    let ready = condition(obj, "Ready");
    if let Some(failed) = ready.filter(Condition::is_false) {
        return Some(HealthStatus::degraded(failed.describe()));
    }
    if let Some(fallback) = condition(obj, "Fallback").filter(Condition::is_true) {
        return Some(HealthStatus::degraded(fallback.describe()));
    }
    ready
        .filter(Condition::is_true)
        .map(|ready| HealthStatus::healthy(ready.message))
}

pub fn cloud_event_source(obj: &Value) -> Option<HealthStatus> {
    let active = condition(obj, "Active")?;
    if active.is_true() {
        return Some(HealthStatus::healthy(active.message));
    }
    active
        .is_false()
        .then(|| HealthStatus::degraded(active.describe()))
}

/// The annotation that pauses the object, if any: `paused-replicas` whatever its value
/// (ScaledObject only), `paused` unless it parses as false (as KEDA's `strconv.ParseBool`,
/// where a value that is not a boolean also pauses).
fn paused_by(obj: &Value) -> Option<&'static str> {
    let annotation = |name: &str| str_at(obj, &["metadata", "annotations", name]);
    if annotation(PAUSED_REPLICAS).is_some() && str_at(obj, &["kind"]) == Some("ScaledObject") {
        return Some(PAUSED_REPLICAS);
    }
    let off = ["0", "f", "F", "false", "FALSE", "False"];
    annotation(PAUSED)
        .filter(|value| !off.contains(value))
        .map(|_| PAUSED)
}
