//! argoproj.io/Application: the health its own controller reports in `status.health`.
//!
//! Argo CD dropped this check in 1.8 and asks App-of-Apps users to add it back as a Lua
//! customization; we have it built in so that sync waves of child apps wait with no extra
//! configuration. A child app with no health yet (just created, not reconciled) counts as
//! Progressing, never Healthy, so that the next wave waits for it (as the Lua script
//! Argo CD documents does).

use crate::fields::{str_at, text};
use crate::{HealthCode, HealthStatus};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    let reported = str_at(obj, &["status", "health", "status"]).filter(|s| !s.is_empty());
    let Some(reported) = reported else {
        return HealthStatus::progressing("Waiting for application to be reconciled");
    };
    let message = text(obj, &["status", "health", "message"]);
    match reported.parse::<HealthCode>() {
        Ok(code) => HealthStatus::new(code, message),
        Err(error) => HealthStatus::unknown(error.to_string()),
    }
}
