//! v1/Pod: phase, readiness, and containers stuck in a crash or image-pull back-off.

use crate::HealthStatus;
use crate::fields::{at, condition, int, list, text};
use serde_json::Value;

pub fn health(obj: &Value) -> HealthStatus {
    let restart_policy = text(obj, &["spec", "restartPolicy"]);
    let message = text(obj, &["status", "message"]);
    if restart_policy == "Always" {
        // A container that keeps failing to start (CrashLoopBackOff, ImagePullBackOff,
        // ErrImagePull, CreateContainerConfigError, ...) will not fix itself.
        let stuck: Vec<&str> = list(obj, &["status", "containerStatuses"])
            .iter()
            .filter_map(|c| at(c, &["state", "waiting"]))
            .filter(|waiting| is_stuck(text(waiting, &["reason"])))
            .map(|waiting| text(waiting, &["message"]))
            .collect();
        if !stuck.is_empty() {
            return HealthStatus::degraded(stuck.join(", "));
        }
    }
    match text(obj, &["status", "phase"]) {
        "Pending" => HealthStatus::progressing(message),
        "Succeeded" => HealthStatus::healthy(message),
        "Failed" => HealthStatus::degraded(failure_message(obj)),
        "Running" => match restart_policy {
            "Always" => running_service_pod(obj, message),
            // A run-to-completion pod that is still running is not done yet.
            "OnFailure" | "Never" => HealthStatus::progressing(message),
            _ => HealthStatus::unknown(message),
        },
        _ => HealthStatus::unknown(message),
    }
}

fn is_stuck(reason: &str) -> bool {
    reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff")
}

fn running_service_pod(obj: &Value, message: &str) -> HealthStatus {
    if condition(obj, "Ready").is_some_and(|c| c.is_true()) {
        return HealthStatus::healthy(message);
    }
    // Not ready and a container has already died once: it is crashing, not starting.
    let has_crashed = list(obj, &["status", "containerStatuses"])
        .iter()
        .any(|c| at(c, &["lastState", "terminated"]).is_some_and(Value::is_object));
    if has_crashed {
        HealthStatus::degraded(message)
    } else {
        HealthStatus::progressing(message)
    }
}

/// The pod's own message, else the first container (init containers first) that says why it failed.
fn failure_message(obj: &Value) -> String {
    let message = text(obj, &["status", "message"]);
    if !message.is_empty() {
        return message.to_string();
    }
    let containers = list(obj, &["status", "initContainerStatuses"])
        .iter()
        .chain(list(obj, &["status", "containerStatuses"]));
    containers
        .filter_map(container_failure)
        .next()
        .unwrap_or_default()
}

fn container_failure(container: &Value) -> Option<String> {
    let terminated = at(container, &["state", "terminated"])?;
    let message = text(terminated, &["message"]);
    if !message.is_empty() {
        return Some(message.to_string());
    }
    if text(terminated, &["reason"]) == "OOMKilled" {
        return Some("OOMKilled".to_string());
    }
    let exit_code = int(terminated, &["exitCode"]);
    (exit_code != 0).then(|| {
        format!(
            "container {:?} failed with exit code {exit_code}",
            text(container, &["name"])
        )
    })
}
