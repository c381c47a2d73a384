//! batch/Job: Complete is healthy, Failed is degraded, suspended is suspended, else running.
//!
//! Unlike Argo CD we only count conditions whose status is "True": a `Suspended` condition
//! that is "False" means the job was resumed and is running again.

use crate::HealthStatus;
use crate::fields::{bool_at, conditions};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    let mut complete = None;
    let mut suspended = None;
    for condition in conditions(obj).filter(|c| c.is_true()) {
        match condition.kind {
            "Failed" => return HealthStatus::degraded(condition.message),
            "Complete" => complete = Some(condition.message),
            "Suspended" => suspended = Some(condition.message),
            // FailureTarget / SuccessCriteriaMet come before the final condition: still running.
            _ => {}
        }
    }
    if let Some(message) = complete {
        return HealthStatus::healthy(message);
    }
    if let Some(message) = suspended {
        return HealthStatus::suspended(message);
    }
    // The controller may not have written the Suspended condition yet.
    if bool_at(obj, &["spec", "suspend"]) {
        return HealthStatus::suspended("Job is suspended");
    }
    HealthStatus::progressing("")
}
