//! cert-manager.io Certificate, CertificateRequest, Issuer and ClusterIssuer, from the
//! status conditions cert-manager documents (our own reading, not Argo CD's scripts).
//! No status (cert-manager not installed or not yet reconciled) gives no health.

use crate::HealthStatus;
use crate::fields::{Condition, condition, has_status};
use serde_json::Value;

/// Certificate: `Issuing=True` while a new certificate is being obtained, then `Ready`.
pub fn certificate(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    if let Some(issuing) = condition(obj, "Issuing").filter(Condition::is_true) {
        return Some(HealthStatus::progressing(issuing.message));
    }
    Some(match condition(obj, "Ready") {
        Some(ready) if ready.is_true() => HealthStatus::healthy(ready.message),
        Some(ready) if ready.status == "False" => HealthStatus::degraded(ready.message),
        _ => HealthStatus::progressing("Waiting for cert-manager to issue the certificate"),
    })
}

/// CertificateRequest: `Denied` / `InvalidRequest` are final failures; `Ready` reason
/// `Pending` is still in progress, `Failed` is final.
pub fn certificate_request(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    for final_failure in ["Denied", "InvalidRequest"] {
        if let Some(c) = condition(obj, final_failure).filter(Condition::is_true) {
            return Some(HealthStatus::degraded(c.message));
        }
    }
    Some(match condition(obj, "Ready") {
        Some(ready) if ready.is_true() => HealthStatus::healthy(ready.message),
        Some(ready) if ready.status == "False" && ready.reason == "Failed" => {
            HealthStatus::degraded(ready.message)
        }
        Some(ready) if !ready.message.is_empty() => HealthStatus::progressing(ready.message),
        _ => HealthStatus::progressing("Waiting for the certificate request to be signed"),
    })
}

/// Issuer and ClusterIssuer: `Ready=True` once registered with their CA / ACME server.
pub fn issuer(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    Some(match condition(obj, "Ready") {
        Some(ready) if ready.is_true() => HealthStatus::healthy(ready.message),
        Some(ready) if ready.status == "False" => HealthStatus::degraded(ready.message),
        _ => HealthStatus::progressing("Waiting for the issuer to become ready"),
    })
}
