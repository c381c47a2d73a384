//! apiregistration.k8s.io/APIService: healthy when the aggregated API reports Available.

use crate::HealthStatus;
use crate::fields::condition;
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    match condition(obj, "Available") {
        Some(available) => {
            let message = format!("{}: {}", available.reason, available.message);
            if available.is_true() {
                HealthStatus::healthy(message)
            } else {
                // e.g. the backing service has no endpoints yet: usually still starting.
                HealthStatus::progressing(message)
            }
        }
        None => HealthStatus::progressing("Waiting to be processed"),
    }
}
