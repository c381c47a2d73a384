//! batch/CronJob, as Argo CD's bundled check: degraded when the last scheduled run did not
//! succeed. A suspended CronJob is Healthy, as in Argo CD (argo-cd #24428): pausing the
//! schedule is intended, not a problem to flag. Without a clock we cannot tell a missed
//! schedule: that stays healthy.

use crate::HealthStatus;
use crate::fields::{at, bool_at, list, str_at};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    if bool_at(obj, &["spec", "suspend"]) {
        return HealthStatus::healthy("CronJob is suspended");
    }
    if at(obj, &["status"]).is_none_or(|status| !status.is_object()) {
        return HealthStatus::progressing("Waiting for the CronJob controller");
    }
    let Some(scheduled) = str_at(obj, &["status", "lastScheduleTime"]) else {
        return HealthStatus::healthy("CronJob has not been scheduled yet");
    };
    let Some(succeeded) = str_at(obj, &["status", "lastSuccessfulTime"]) else {
        // Either the first run is still going or it never succeeded: we cannot tell which.
        return HealthStatus::healthy("CronJob has not completed a run successfully yet");
    };
    if !list(obj, &["status", "active"]).is_empty() {
        return HealthStatus::healthy(
            "CronJob is running a job; its previous run may not have succeeded",
        );
    }
    // Both are RFC 3339 UTC timestamps written by the API server, so they sort as text.
    if succeeded < scheduled {
        return HealthStatus::degraded("CronJob did not complete its last run successfully");
    }
    HealthStatus::healthy("CronJob completed its last run successfully")
}
