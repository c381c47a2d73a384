//! networking.k8s.io/Ingress (and the old extensions group): ready once the ingress
//! controller has published an address in `status.loadBalancer.ingress`.

use crate::HealthStatus;
use crate::fields::list;
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    if list(obj, &["status", "loadBalancer", "ingress"]).is_empty() {
        return HealthStatus::progressing(
            "Waiting for the ingress controller to publish an address",
        );
    }
    HealthStatus::healthy("")
}
