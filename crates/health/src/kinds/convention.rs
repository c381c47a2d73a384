//! Health by convention for custom resources that have no specific check.
//!
//! Applies only to kinds outside Kubernetes' own API groups (see [`is_kubernetes_group`])
//! and only when no built-in check exists; a custom Lua check still wins. Rules, first
//! match wins:
//!
//! 1. `metadata.generation` and `status.observedGeneration` both present and
//!    observedGeneration < generation → Progressing
//!    ("waiting for the controller to observe generation N").
//! 2. `status.conditions` (only conditions whose status is "True"/"False" count):
//!    - `Stalled=True` → Degraded (reason: message);
//!    - `Failed=True` → Degraded;
//!    - `Ready=False` whose reason contains "Fail" or "Error" → Degraded;
//!    - `Ready=True` → Healthy;
//!    - `Ready=False` or `Reconciling=True` → Progressing;
//!    - `Available=True` → Healthy, `Available=False` → Progressing;
//!    - `Succeeded=True` → Healthy.
//! 3. `status.phase` (case-insensitive):
//!    - Running, Active, Ready, Bound, Succeeded, Healthy, Available, Established → Healthy;
//!    - Pending, Progressing, Provisioning, Creating, Initializing, Updating, Deploying,
//!      Reconciling → Progressing;
//!    - Failed, Error, Degraded, Unhealthy, CrashLoopBackOff → Degraded;
//!    - Suspended, Paused → Suspended.
//! 4. Otherwise `None`: no health, as before. An object whose status says nothing (no
//!    status, empty status, unknown phase) must stay without health, so that CRs whose
//!    operator is not installed never hold an app in Progressing forever.

use crate::HealthStatus;
use crate::fields::{Condition, conditions, generation_at, int_at, str_at, text};
use serde_json::Value;

/// Kubernetes' own API groups: their kinds are either checked by name or have no health.
const KUBERNETES_GROUPS: [&str; 25] = [
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "extensions",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
    "metrics.k8s.io",
];

pub fn is_kubernetes_group(group: &str) -> bool {
    KUBERNETES_GROUPS.contains(&group)
}

/// The conventional health of a custom resource, or `None` when its status says nothing.
pub fn health(obj: &Value) -> Option<HealthStatus> {
    if let Some(waiting) = unobserved_generation(obj) {
        return Some(waiting);
    }
    from_conditions(obj).or_else(|| from_phase(obj))
}

/// Rule 1: `status.observedGeneration` behind `metadata.generation`.
pub(crate) fn unobserved_generation(obj: &Value) -> Option<HealthStatus> {
    let generation = int_at(obj, &["metadata", "generation"])?;
    let observed = generation_at(obj, &["status", "observedGeneration"])?;
    waiting_for_generation(generation, observed)
}

/// The same wait, for controllers that stamp the generation on each condition instead
/// (Gateway API, prometheus-operator, Crossplane): the condition speaks of an older spec.
pub(crate) fn stale_condition(obj: &Value, c: &Condition<'_>) -> Option<HealthStatus> {
    let generation = int_at(obj, &["metadata", "generation"])?;
    waiting_for_generation(generation, c.observed_generation?)
}

/// Progressing while the object's controller has not yet seen its latest spec.
pub(crate) fn waiting_for_generation(generation: i64, observed: i64) -> Option<HealthStatus> {
    (observed < generation).then(|| {
        HealthStatus::progressing(format!(
            "waiting for the controller to observe generation {generation}"
        ))
    })
}

fn from_conditions(obj: &Value) -> Option<HealthStatus> {
    let all: Vec<Condition<'_>> = conditions(obj).collect();
    let find = |kind: &str, status: &str| all.iter().find(|c| c.kind == kind && c.status == status);
    if let Some(c) = find("Stalled", "True") {
        return Some(HealthStatus::degraded(c.describe()));
    }
    if let Some(c) = find("Failed", "True") {
        return Some(HealthStatus::degraded(c.describe()));
    }
    let not_ready = find("Ready", "False");
    if let Some(c) = not_ready.filter(|c| c.reason.contains("Fail") || c.reason.contains("Error")) {
        return Some(HealthStatus::degraded(c.describe()));
    }
    if let Some(c) = find("Ready", "True") {
        return Some(HealthStatus::healthy(c.message));
    }
    if let Some(c) = not_ready.or_else(|| find("Reconciling", "True")) {
        return Some(HealthStatus::progressing(c.describe()));
    }
    if let Some(c) = find("Available", "True") {
        return Some(HealthStatus::healthy(c.message));
    }
    if let Some(c) = find("Available", "False") {
        return Some(HealthStatus::progressing(c.describe()));
    }
    find("Succeeded", "True").map(|c| HealthStatus::healthy(c.message))
}

fn from_phase(obj: &Value) -> Option<HealthStatus> {
    let phase = str_at(obj, &["status", "phase"])?;
    let message = match text(obj, &["status", "message"]) {
        "" => format!("phase {phase}"),
        message => message.to_string(),
    };
    let code: fn(String) -> HealthStatus = match phase.to_ascii_lowercase().as_str() {
        "running" | "active" | "ready" | "bound" | "succeeded" | "healthy" | "available"
        | "established" => HealthStatus::healthy,
        "pending" | "progressing" | "provisioning" | "creating" | "initializing" | "updating"
        | "deploying" | "reconciling" => HealthStatus::progressing,
        "failed" | "error" | "degraded" | "unhealthy" | "crashloopbackoff" => {
            HealthStatus::degraded
        }
        "suspended" | "paused" => HealthStatus::suspended,
        _ => return None,
    };
    Some(code(message))
}
