//! pkg.crossplane.io packages (Provider, Configuration, Function) and their revisions, from
//! Crossplane's documented package conditions (our own reading, not Argo CD's scripts).
//!
//! A package has `Installed`: True with ActivePackageRevision; False with UnpackingPackage
//! (carrying the error as its message when the package cannot be fetched) or with
//! InactivePackageRevision (`revisionActivationPolicy: Manual`, waiting for someone to
//! activate it). And `Healthy`, its current revision's health: True HealthyPackageRevision,
//! False UnhealthyPackageRevision, Unknown until the revision reports.
//!
//! A revision has `RevisionHealthy` plus, for providers and functions, `RuntimeHealthy`
//! (Crossplane 2); older releases write a single `Healthy`. An inactive revision is kept for
//! rollback: its runtime is scaled away and its `RuntimeHealthy` is no longer updated.
//!
//! `crossplane.io/paused` shows as Synced=False ReconcilePaused on both. No status, or none
//! of these conditions, gives no health.

use super::convention::stale_condition;
use crate::HealthStatus;
use crate::fields::{Condition, condition, int_at, text};
use serde_json::Value;

pub fn package(obj: &Value) -> Option<HealthStatus> {
    if let Some(paused) = paused(obj) {
        return Some(paused);
    }
    let installed = condition(obj, "Installed");
    let healthy = condition(obj, "Healthy");
    let present = present(&[installed, healthy]);
    if present.is_empty() {
        return None;
    }
    if let Some(waiting) = present.iter().find_map(|c| stale_condition(obj, c)) {
        return Some(waiting);
    }
    // A fetch failure is written as "still unpacking" with the error as message.
    let unpack_error = installed
        .filter(|c| c.is_false() && c.reason == "UnpackingPackage" && !c.message.is_empty());
    if let Some(failed) = unpack_error.or(healthy.filter(Condition::is_false)) {
        return Some(HealthStatus::degraded(failed.describe()));
    }
    Some(match (installed, healthy) {
        (Some(i), _) if i.is_false() && i.reason == "InactivePackageRevision" => {
            HealthStatus::suspended(i.describe())
        }
        (Some(i), Some(h)) if i.is_true() && h.is_true() => {
            HealthStatus::healthy(match text(obj, &["status", "currentRevision"]) {
                "" => "Package is installed and healthy".to_string(),
                revision => format!("Revision {revision} is installed and healthy"),
            })
        }
        (Some(i), _) if i.is_true() => {
            HealthStatus::progressing("Waiting for the package revision to report its health")
        }
        (Some(i), _) => HealthStatus::progressing(i.describe()),
        (None, _) => HealthStatus::progressing("Waiting for the package to be installed"),
    })
}

pub fn package_revision(obj: &Value) -> Option<HealthStatus> {
    if let Some(paused) = paused(obj) {
        return Some(paused);
    }
    let state = text(obj, &["spec", "desiredState"]);
    let revision = condition(obj, "RevisionHealthy").or_else(|| condition(obj, "Healthy"));
    let runtime = condition(obj, "RuntimeHealthy").filter(|_| state != "Inactive");
    let present = present(&[revision, runtime]);
    if present.is_empty() {
        return None;
    }
    if let Some(waiting) = present.iter().find_map(|c| stale_condition(obj, c)) {
        return Some(waiting);
    }
    for c in &present {
        // Older releases hold a revision back while its signature is being verified.
        if c.is_false() && c.reason != "AwaitingSignatureVerification" {
            return Some(HealthStatus::degraded(c.describe()));
        }
    }
    let all_true = revision.is_some_and(|c| c.is_true()) && runtime.is_none_or(|c| c.is_true());
    if !all_true {
        let waiting = present.iter().find(|c| !c.is_true());
        return Some(HealthStatus::progressing(
            waiting
                .map(|c| c.describe())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "Waiting for the revision to report its health".to_string()),
        ));
    }
    let number = int_at(obj, &["spec", "revision"]).map_or(String::new(), |n| format!(" {n}"));
    let state = if state.is_empty() { "Package" } else { state };
    Some(HealthStatus::healthy(format!(
        "{state} revision{number} is healthy"
    )))
}

fn paused(obj: &Value) -> Option<HealthStatus> {
    condition(obj, "Synced")
        .filter(|c| c.reason == "ReconcilePaused")
        .map(|c| HealthStatus::suspended(c.describe()))
}

/// The conditions that are there.
fn present<'a>(conditions: &[Option<Condition<'a>>]) -> Vec<Condition<'a>> {
    conditions.iter().flatten().copied().collect()
}
