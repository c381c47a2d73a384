//! postgresql.cnpg.io/Pooler (CloudNativePG's PgBouncer), from the documented status (our own
//! reading, not Argo CD's scripts). Since CloudNativePG 1.30 `status.phase` is active, paused
//! (`spec.pgbouncer.paused: true`: PgBouncer holds new clients), inactive (a prerequisite
//! such as the cluster or a secret is missing; the operator retries) or failed (a
//! configuration error), with `status.phaseReason`; `status.error` is an admission error.
//! Older releases write no phase, only `status.instances` (the pods of its Deployment), so the
//! spec's pause and that count decide. No status gives no health.

use crate::HealthStatus;
use crate::fields::{bool_at, has_status, int_at, text};
use serde_json::Value;

const PAUSED: &str = "Pooler is paused: new client connections wait";

pub fn health(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    let error = text(obj, &["status", "error"]);
    if !error.is_empty() {
        return Some(HealthStatus::degraded(error));
    }
    let reason = text(obj, &["status", "phaseReason"]);
    let because = |fallback: &str| {
        if reason.is_empty() {
            fallback.to_string()
        } else {
            format!("{fallback}: {reason}")
        }
    };
    let paused = bool_at(obj, &["spec", "pgbouncer", "paused"]);
    Some(match text(obj, &["status", "phase"]) {
        "failed" => HealthStatus::degraded(because("Pooler failed")),
        "inactive" => HealthStatus::progressing(because("Pooler is inactive")),
        // The reason only repeats it ("pgbouncer is paused").
        "paused" => HealthStatus::suspended(PAUSED),
        "" if paused => HealthStatus::suspended(PAUSED),
        // "active", or a release without phases.
        _ => instances(obj),
    })
}

/// Healthy once the Deployment has as many pods as the spec asks (1 by default).
fn instances(obj: &Value) -> HealthStatus {
    let wanted = int_at(obj, &["spec", "instances"]).unwrap_or(1);
    let have = int_at(obj, &["status", "instances"]).unwrap_or(0);
    if have < wanted {
        return HealthStatus::progressing(format!(
            "{have} of {wanted} PgBouncer instances created"
        ));
    }
    let plural = if have == 1 { "" } else { "s" };
    HealthStatus::healthy(format!(
        "Pooler is active with {have} PgBouncer instance{plural}"
    ))
}
