//! Flux (*.toolkit.fluxcd.io: GitRepository, OCIRepository, HelmRepository, HelmChart,
//! Bucket, Kustomization, HelmRelease, ...), from the documented fields (our own reading,
//! not Argo CD's scripts). Flux follows kstatus: `Ready`, `Reconciling`, `Stalled` and
//! `status.observedGeneration`, which the convention already reads. What it misses:
//! `spec.suspend: true` stops reconciliation; and Flux documents every `Ready=False` as
//! failing (retried with backoff), including reasons that name no failure, such as a
//! HelmRelease's RollbackSucceeded or UninstallSucceeded after a failed upgrade.
//! DependencyNotReady only waits for another object. No status gives no health.

use super::convention;
use crate::HealthStatus;
use crate::fields::{bool_at, condition, has_status};
use serde_json::Value;

pub fn health(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    // Checked before the generation: a suspended object's new spec is never observed.
    if bool_at(obj, &["spec", "suspend"]) {
        return Some(HealthStatus::suspended("Reconciliation is suspended"));
    }
    if let Some(waiting) = convention::unobserved_generation(obj) {
        return Some(waiting);
    }
    if let Some(ready) = condition(obj, "Ready")
        && ready.is_false()
        && ready.reason != "DependencyNotReady"
    {
        return Some(HealthStatus::degraded(ready.describe()));
    }
    convention::health(obj)
}
