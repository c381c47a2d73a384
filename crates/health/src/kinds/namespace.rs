//! v1/Namespace. Argo CD has no check for namespaces (they count as healthy); we add one so
//! that a namespace still being torn down holds back what depends on it.

use crate::HealthStatus;
use crate::fields::text;
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    match text(obj, &["status", "phase"]) {
        "Active" => HealthStatus::healthy(""),
        // Its content is still being deleted (possibly stuck on a finalizer).
        "Terminating" => HealthStatus::progressing("Namespace is terminating"),
        // The API server sets Active on creation; no phase means we have not seen it live.
        "" => HealthStatus::progressing("Waiting for the namespace to become active"),
        other => HealthStatus::unknown(format!("Unexpected namespace phase {other:?}")),
    }
}
