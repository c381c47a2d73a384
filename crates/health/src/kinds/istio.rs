//! Istio, from its documented status fields (our own reading, not Argo CD's scripts).
//!
//! - install.istio.io/IstioOperator: `status.status` is the overall install state (HEALTHY,
//!   RECONCILING, UPDATING, ERROR, NONE) and `status.componentStatus.<component>` holds each
//!   component's `status` and `error`.
//! - The config kinds (networking, security, telemetry, extensions.istio.io) share
//!   `IstioStatus`: a `Reconciled` condition (False while the config is still being pushed
//!   to the proxies), `validationMessages` from istiod's analyzers (level ERROR, WARNING or
//!   INFO) and `observedGeneration`. istiod writes them only when status is enabled.
//!
//! No status, or a status that says nothing (NONE), gives no health.

use super::convention::unobserved_generation;
use crate::HealthStatus;
use crate::fields::{at, condition, has_status, list, text};
use serde_json::Value;

/// API groups whose kinds carry `IstioStatus`.
pub fn is_config_group(group: &str) -> bool {
    matches!(
        group,
        "networking.istio.io" | "security.istio.io" | "telemetry.istio.io" | "extensions.istio.io"
    )
}

/// install.istio.io/IstioOperator.
pub fn operator(obj: &Value) -> Option<HealthStatus> {
    let code: fn(String) -> HealthStatus = match text(obj, &["status", "status"]) {
        "HEALTHY" => HealthStatus::healthy,
        "RECONCILING" | "UPDATING" => HealthStatus::progressing,
        "ERROR" => HealthStatus::degraded,
        _ => return None,
    };
    Some(code(unhealthy_components(obj)))
}

/// "Pilot: <error>; IngressGateways: RECONCILING" for the components not HEALTHY.
fn unhealthy_components(obj: &Value) -> String {
    let Some(components) = at(obj, &["status", "componentStatus"]).and_then(Value::as_object)
    else {
        return String::new();
    };
    components
        .iter()
        .filter_map(|(name, component)| {
            let status = text(component, &["status"]);
            match text(component, &["error"]) {
                "" if status == "HEALTHY" || status.is_empty() => None,
                "" => Some(format!("{name}: {status}")),
                error => Some(format!("{name}: {error}")),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Config kinds: an analyzer ERROR is a configuration that does not work as written (a
/// route to a gateway that does not exist); WARNING and INFO do not change the health.
pub fn config(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    if let Some(waiting) = unobserved_generation(obj) {
        return Some(waiting);
    }
    let errors: Vec<&Value> = list(obj, &["status", "validationMessages"])
        .iter()
        .filter(|m| text(m, &["level"]) == "ERROR")
        .collect();
    if let Some(first) = errors.first() {
        let mut message = format!(
            "{} {}",
            text(first, &["type", "code"]),
            text(first, &["type", "name"])
        )
        .trim()
        .to_string();
        if errors.len() > 1 {
            message.push_str(&format!(" and {} more analyzer errors", errors.len() - 1));
        }
        return Some(HealthStatus::degraded(message));
    }
    let reconciled = condition(obj, "Reconciled")?;
    if reconciled.is_true() {
        Some(HealthStatus::healthy(reconciled.message))
    } else if reconciled.is_false() {
        Some(HealthStatus::progressing(reconciled.describe()))
    } else {
        None
    }
}
