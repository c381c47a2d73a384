//! gateway.networking.k8s.io (Gateway API), from the conditions the spec documents (our own
//! reading, not Argo CD's scripts):
//! - GatewayClass: `Accepted` (False: InvalidParameters, Unsupported; Pending/Waiting
//!   while no controller has answered), `SupportedVersion`;
//! - Gateway: `Accepted` (True with ListenersNotValid when some listeners are invalid),
//!   `Programmed` (False: Invalid, NoResources, AddressNotUsable; Pending and
//!   AddressNotAssigned while waiting), `ResolvedRefs`;
//! - routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute): the same per parent in
//!   `status.parents[].conditions`: `Accepted`, `ResolvedRefs`, `PartiallyInvalid`; policies
//!   such as BackendTLSPolicy report per ancestor in `status.ancestors`.
//!
//! Every condition carries the generation it was computed for. The CRDs default a new
//! object's conditions to Unknown "Waiting for controller": with no condition True or False
//! the status says nothing, and there is no health.

use super::convention::stale_condition;
use crate::HealthStatus;
use crate::fields::{Condition, conditions, conditions_in, has_status, list, text};
use serde_json::Value;

/// Conditions whose False is a problem.
const CHECKED: [&str; 4] = ["Accepted", "Programmed", "ResolvedRefs", "SupportedVersion"];

/// Reasons for a False condition that only waits (for a controller, an address).
const WAITING: [&str; 3] = ["Pending", "Waiting", "AddressNotAssigned"];

pub fn gateway_class(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    judge(obj, &conditions(obj).collect::<Vec<_>>(), "Accepted")
}

pub fn gateway(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    judge(obj, &conditions(obj).collect::<Vec<_>>(), "Programmed")
}

/// Routes and policies: the worst of what their parents (or ancestors) say, named.
pub fn route(obj: &Value) -> Option<HealthStatus> {
    let parents = list(obj, &["status", "parents"])
        .iter()
        .map(|p| (p, text(p, &["parentRef", "name"])));
    let ancestors = list(obj, &["status", "ancestors"])
        .iter()
        .map(|a| (a, text(a, &["ancestorRef", "name"])));
    parents
        .chain(ancestors)
        .filter_map(|(parent, name)| {
            let verdict = judge(
                obj,
                &conditions_in(parent, &["conditions"]).collect::<Vec<_>>(),
                "Accepted",
            )?;
            Some(HealthStatus::new(
                verdict.status,
                named(name, &verdict.message),
            ))
        })
        .reduce(worse)
}

fn named(parent: &str, message: &str) -> String {
    match (parent, message) {
        ("", message) => message.to_string(),
        (parent, "") => parent.to_string(),
        (parent, message) => format!("{parent}: {message}"),
    }
}

/// One set of conditions: the worst problem, else Healthy once `ready` is True.
fn judge(obj: &Value, all: &[Condition<'_>], ready: &str) -> Option<HealthStatus> {
    let known: Vec<&Condition<'_>> = all.iter().filter(|c| c.is_true() || c.is_false()).collect();
    if known.is_empty() {
        return None;
    }
    if let Some(stale) = known.iter().find_map(|c| stale_condition(obj, c)) {
        return Some(stale);
    }
    let problem = known
        .iter()
        .filter(|c| is_problem(c))
        .map(|c| {
            if c.is_false() && WAITING.contains(&c.reason) {
                HealthStatus::progressing(c.describe())
            } else {
                HealthStatus::degraded(c.describe())
            }
        })
        .reduce(worse);
    if problem.is_some() {
        return problem;
    }
    Some(
        match known.iter().find(|c| c.kind == ready && c.is_true()) {
            Some(c) => HealthStatus::healthy(c.message),
            None => HealthStatus::progressing(format!("Waiting for {ready}")),
        },
    )
}

fn is_problem(c: &Condition<'_>) -> bool {
    match (c.kind, c.is_true()) {
        (kind, false) => CHECKED.contains(&kind),
        ("PartiallyInvalid", true) => true,
        ("Accepted", true) => c.reason == "ListenersNotValid",
        _ => false,
    }
}

/// The worse of two, the first on a tie.
fn worse(first: HealthStatus, second: HealthStatus) -> HealthStatus {
    if second.status > first.status {
        second
    } else {
        first
    }
}
