//! batch/CronJob, as Argo CD 3.x's bundled check, messages included: degraded when the last
//! scheduled run did not succeed. A suspended CronJob is Healthy ("CronJob is Suspended"),
//! whatever its last run did: Argo CD reports it so until a suspended child stops making the
//! whole app Suspended (argo-cd #24428, #19126). While a job runs, or before the first success,
//! the status cannot tell a failure from a run still going (argo-cd #24429), so that is
//! Healthy too. Without a clock we cannot tell a missed schedule: that stays healthy.

use crate::HealthStatus;
use crate::fields::{at, bool_at, list, str_at};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    if bool_at(obj, &["spec", "suspend"]) {
        return HealthStatus::healthy("CronJob is Suspended");
    }
    if at(obj, &["status"]).is_none_or(|status| !status.is_object()) {
        return HealthStatus::progressing("Waiting for CronJob");
    }
    let Some(scheduled) = str_at(obj, &["status", "lastScheduleTime"]) else {
        return HealthStatus::healthy("CronJob has not been scheduled yet");
    };
    let Some(succeeded) = str_at(obj, &["status", "lastSuccessfulTime"]) else {
        // Either the first run is still going or it never succeeded: we cannot tell which.
        return HealthStatus::healthy(
            "The CronJob never completed successfully. It may not be healthy",
        );
    };
    if !list(obj, &["status", "active"]).is_empty() {
        return HealthStatus::healthy(
            "The job is running. Its last execution may not have been successful",
        );
    }
    // Both are RFC 3339 UTC timestamps written by the API server, so they sort as text.
    if succeeded < scheduled {
        return HealthStatus::degraded("CronJob has not completed its last execution successfully");
    }
    HealthStatus::healthy("CronJob has completed its last execution successfully")
}
