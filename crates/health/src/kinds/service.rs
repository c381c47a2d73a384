//! v1/Service: a LoadBalancer service is ready once the cloud has given it an address.

use crate::HealthStatus;
use crate::fields::{list, text};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    if text(obj, &["spec", "type"]) == "LoadBalancer"
        && list(obj, &["status", "loadBalancer", "ingress"]).is_empty()
    {
        return HealthStatus::progressing(
            "Waiting for the load balancer to be assigned an address",
        );
    }
    HealthStatus::healthy("")
}
