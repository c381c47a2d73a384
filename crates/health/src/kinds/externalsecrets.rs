//! external-secrets.io ExternalSecret, ClusterExternalSecret, SecretStore,
//! ClusterSecretStore, PushSecret and ClusterPushSecret, from the documented `Ready`
//! condition (our own reading, not Argo CD's scripts). The operator sets `Ready=False` only
//! on failure (reasons SecretSyncedError, InvalidProviderConfig, InvalidStoreConfiguration,
//! ValidationFailed, Errored, or none at all for the cluster-wide kinds), which the
//! convention would call Progressing for reasons not naming an error. The cluster-wide
//! kinds list the namespaces that failed in `status.failedNamespaces`.
//! No status, or no `Ready` that is True or False, gives no health.

use crate::HealthStatus;
use crate::fields::{condition, has_status, list, text};
use serde_json::Value;

pub fn health(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    let ready = condition(obj, "Ready")?;
    if ready.is_true() {
        return Some(HealthStatus::healthy(ready.message));
    }
    if !ready.is_false() {
        return None;
    }
    let failed: Vec<&str> = list(obj, &["status", "failedNamespaces"])
        .iter()
        .map(|failure| text(failure, &["namespace"]))
        .filter(|namespace| !namespace.is_empty())
        .collect();
    let message = match (ready.describe(), failed.is_empty()) {
        (message, true) => message,
        (message, false) => format!("{message}: {}", failed.join(", ")),
    };
    Some(HealthStatus::degraded(message))
}
