//! kafka.strimzi.io (Strimzi) Kafka, KafkaNodePool, KafkaTopic, KafkaUser, KafkaConnect,
//! KafkaConnector, KafkaMirrorMaker2, KafkaBridge and KafkaRebalance, from the documented
//! `status.conditions` and `status.observedGeneration` (our own reading, not Argo CD's
//! scripts). Strimzi reports state in the condition *type*, always with status "True":
//! `Ready`; `NotReady` with the exception's class as reason (`Creating` while a new Kafka
//! cluster is deployed); `ReconciliationPaused` under `strimzi.io/pause-reconciliation`;
//! `Unmanaged` for a KafkaTopic under `strimzi.io/managed: "false"`; `Warning` for
//! non-fatal notes; and KafkaRebalance's states New, PendingProposal, ProposalReady (waiting
//! for approval), Rebalancing and Stopped. The topic operator also writes `Ready=False` on
//! failure. The convention understands none of NotReady, paused or the rebalance states.
//! No status, or none of those conditions, gives no health.

use super::convention::unobserved_generation;
use crate::HealthStatus;
use crate::fields::{Condition, conditions, has_status};
use serde_json::Value;

pub fn health(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    let active: Vec<Condition<'_>> = conditions(obj).filter(Condition::is_true).collect();
    let find = |kind: &str| find(&active, kind);
    // The operator ignores the object, so its generation stays unobserved: paused first.
    for (kind, fallback) in [
        ("ReconciliationPaused", "Reconciliation is paused"),
        ("Unmanaged", "The topic is not managed by the operator"),
    ] {
        if let Some(c) = find(kind) {
            return Some(HealthStatus::suspended(or(c.describe(), fallback)));
        }
    }
    if let Some(waiting) = unobserved_generation(obj) {
        return Some(waiting);
    }
    if let Some(c) = find("NotReady") {
        return Some(if c.reason == "Creating" {
            HealthStatus::progressing(c.describe())
        } else {
            HealthStatus::degraded(c.describe())
        });
    }
    if let Some(c) = find("Ready") {
        return Some(HealthStatus::healthy(c.message));
    }
    if let Some(c) = conditions(obj).find(|c| c.kind == "Ready" && c.is_false()) {
        return Some(HealthStatus::degraded(c.describe()));
    }
    rebalance(&active)
}

fn find<'a>(active: &'a [Condition<'a>], kind: &str) -> Option<&'a Condition<'a>> {
    active.iter().find(|c| c.kind == kind)
}

/// KafkaRebalance: the state is the type of its (true) condition.
fn rebalance(active: &[Condition<'_>]) -> Option<HealthStatus> {
    let find = |kind: &str| find(active, kind);
    let waiting = [
        (
            "ProposalReady",
            "The rebalance proposal is waiting for approval",
        ),
        ("Stopped", "The rebalance was stopped"),
    ];
    for (kind, fallback) in waiting {
        if let Some(c) = find(kind) {
            return Some(HealthStatus::suspended(or(c.describe(), fallback)));
        }
    }
    ["New", "PendingProposal", "Rebalancing"]
        .into_iter()
        .find_map(find)
        .map(|c| HealthStatus::progressing(or(c.describe(), c.kind)))
}

/// `text`, or `fallback` when the condition carried neither reason nor message.
fn or(text: String, fallback: &str) -> String {
    if text.is_empty() {
        fallback.to_string()
    } else {
        text
    }
}
