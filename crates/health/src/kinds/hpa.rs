//! autoscaling/HorizontalPodAutoscaler: degraded when it cannot read metrics or scale,
//! healthy when able to scale, else waiting. autoscaling/v1 objects carry their conditions
//! as JSON in an annotation instead of `status.conditions`.

use crate::HealthStatus;
use crate::fields::{Condition, list, str_at};
use serde_json::Value;

const V1_CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";

/// (condition type, reason) pairs that mean the autoscaler cannot do its job.
const DEGRADED: [(&str, &str); 4] = [
    ("AbleToScale", "FailedGetScale"),
    ("AbleToScale", "FailedUpdateScale"),
    ("ScalingActive", "FailedGetResourceMetric"),
    ("ScalingActive", "InvalidSelector"),
];

const WAITING: &str = "Waiting to Autoscale";

pub fn health(obj: &Value) -> HealthStatus {
    let status_conditions = list(obj, &["status", "conditions"]);
    if !status_conditions.is_empty() {
        return from_conditions(status_conditions.iter().map(Condition::read));
    }
    let Some(annotation) = str_at(obj, &["metadata", "annotations", V1_CONDITIONS_ANNOTATION])
    else {
        return HealthStatus::progressing(WAITING);
    };
    match serde_json::from_str::<Value>(annotation) {
        Ok(parsed) => {
            let items = parsed.as_array().map(Vec::as_slice).unwrap_or(&[]);
            from_conditions(items.iter().map(Condition::read))
        }
        Err(error) => HealthStatus::unknown(format!(
            "failed to read the {V1_CONDITIONS_ANNOTATION} annotation: {error}"
        )),
    }
}

/// The first condition that decides, in the order the autoscaler lists them.
fn from_conditions<'a>(conditions: impl Iterator<Item = Condition<'a>>) -> HealthStatus {
    for condition in conditions {
        if DEGRADED.contains(&(condition.kind, condition.reason)) {
            return HealthStatus::degraded(condition.message);
        }
        if matches!(condition.kind, "AbleToScale" | "ScalingLimited") && condition.is_true() {
            return HealthStatus::healthy(condition.message);
        }
    }
    HealthStatus::progressing(WAITING)
}
