//! Crossplane managed resources, composite resources and claims, from the documented system
//! conditions (our own reading, not Argo CD's scripts). Their API groups are the providers'
//! and the users' own, so they are recognised by a `Synced` condition with one of
//! Crossplane's reasons: ReconcileSuccess, ReconcileError (the last reconcile failed) or
//! ReconcilePaused (`crossplane.io/paused: "true"`). `Ready` is True with reason Available,
//! or False with Creating, Deleting or Unavailable ("expected to be available but known not
//! to be"). The convention reads only `Ready`, so it misses sync errors and pauses.
//! Packages (pkg.crossplane.io) have conditions of their own: see `crossplane_pkg`.

use super::convention::stale_condition;
use crate::HealthStatus;
use crate::fields::condition;
use serde_json::Value;

const SYNCED_REASONS: [&str; 3] = ["ReconcileSuccess", "ReconcileError", "ReconcilePaused"];

/// Whether the object's status is written by Crossplane's reconcilers.
pub fn is_crossplane_resource(obj: &Value) -> bool {
    condition(obj, "Synced").is_some_and(|synced| SYNCED_REASONS.contains(&synced.reason))
}

pub fn health(obj: &Value) -> Option<HealthStatus> {
    let synced = condition(obj, "Synced")?;
    if synced.reason == "ReconcilePaused" {
        return Some(HealthStatus::suspended(synced.describe()));
    }
    // A paused object is never observed again, so the generation check comes after.
    if let Some(stale) = stale_condition(obj, &synced) {
        return Some(stale);
    }
    if synced.is_false() {
        return Some(HealthStatus::degraded(synced.describe()));
    }
    match condition(obj, "Ready").filter(|c| c.is_true() || c.is_false()) {
        Some(ready) if ready.is_true() => Some(HealthStatus::healthy(ready.message)),
        Some(ready) if ready.reason == "Unavailable" => {
            Some(HealthStatus::degraded(ready.describe()))
        }
        Some(ready) => Some(HealthStatus::progressing(ready.describe())),
        // Synced without any readiness to report (a kind that has none): nothing is wrong.
        None => synced
            .is_true()
            .then(|| HealthStatus::healthy(synced.message)),
    }
}
