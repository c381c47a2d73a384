//! One pass of a rollout, in Argo CD's three stages:
//!
//! 1. *observe* each live Application: a new one, or one whose revisions or spec changed, is
//!    `Waiting` (or straight `Healthy`/`Progressing` if it is already Synced); a `Pending` one
//!    whose sync has started is `Progressing`; a `Progressing` one that is Synced and Healthy
//!    is `Healthy`;
//! 2. the steps up to the first one not wholly `Healthy` may sync; in them, `Waiting` apps
//!    become `Pending` while fewer than `maxUpdate` of their step are Pending or Progressing;
//! 3. every `Pending` app of those steps gets a sync operation.
//!
//! As in Argo CD, a stage's result replaces the list only when some app's status, step or
//! message changed (or apps came or went); otherwise the list stays as it was, transition
//! times and revisions included. The list is sorted by application name.

use super::steps::{self, Steps, name_of};
use super::{ROLLOUT_PROGRESSING, Rollout, sync};
use crate::plan::{Policy, spec_differs};
use driftless_model::appset::{ApplicationSetApplicationStatus, ApplicationSetCondition};
use driftless_model::{ApplicationSetSpec, Operation};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeSet;

pub const WAITING: &str = "Waiting";
pub const PENDING: &str = "Pending";
pub const PROGRESSING: &str = "Progressing";
pub const HEALTHY: &str = "Healthy";

// Argo CD's messages, word for word: users and tools read them.
const NO_STATUS: &str = "No Application status found, defaulting status to Waiting";
const REVISION_AND_SPEC_CHANGED: &str =
    "Application has pending changes (revision and spec differ), setting status to Waiting";
const REVISION_CHANGED: &str = "Application has pending changes, setting status to Waiting";
const SPEC_CHANGED: &str =
    "Application has pending changes (spec differs), setting status to Waiting";
const SYNCED_HEALTHY: &str = "Application resource has synced, updating status to Healthy";
const SYNCED_PROGRESSING: &str = "Application resource has synced, updating status to Progressing";
const SYNC_SUCCEEDED: &str = "Application resource completed a sync successfully, updating status from Pending to Progressing";
const SYNC_COMPLETED: &str =
    "Application resource completed a sync, updating status from Pending to Progressing";
const SYNC_RUNNING: &str =
    "Application resource became Progressing, updating status from Pending to Progressing";
const APP_ERROR: &str =
    "Application resource has error and cannot sync, updating status to Progressing";
const BECAME_HEALTHY: &str =
    "Application resource became Healthy, updating status from Progressing to Healthy";
const MOVED_TO_PENDING: &str = "Application moved to Pending status, watching for the Application resource to start Progressing";

/// What one pass reads.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub spec: &'a ApplicationSetSpec,
    /// For `ignoreApplicationDifferences`: a spec change the ApplicationSet would not write
    /// does not restart the app's rollout.
    pub policy: &'a Policy,
    /// The generated Applications, as generated (their automated policy as templated).
    pub generated: &'a [Value],
    /// The Applications the ApplicationSet owns, as they are now.
    pub live: &'a [Value],
    /// `status.applicationStatus` as last written.
    pub previous: &'a [ApplicationSetApplicationStatus],
    pub now: &'a Time,
}

/// What one pass decides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The next `status.applicationStatus` (empty: none).
    pub application_status: Vec<ApplicationSetApplicationStatus>,
    /// `RolloutProgressing`, for a `RollingSync` strategy; None otherwise (then the
    /// condition is dropped).
    pub condition: Option<ApplicationSetCondition>,
    /// The Applications to start a sync on, by name order.
    pub sync: Vec<SyncRequest>,
}

/// A sync to start: write `operation` on Application `application`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRequest {
    pub application: String,
    pub operation: Operation,
}

type Status = ApplicationSetApplicationStatus;

pub fn progress(input: &Input<'_>) -> Outcome {
    let rollout = Rollout::of(input.spec);
    if !rollout.is_rolling() {
        return Outcome::default();
    }
    let steps = rollout.steps();
    let grouped = steps::group(steps, input.generated);
    let observed = settle(input.previous, observe(input, &grouped));
    let may_sync = may_sync(&grouped, input.live, &observed);
    let promoted = if steps.is_empty() {
        Vec::new()
    } else {
        promote(steps, &grouped, &may_sync, &observed, input.now)
    };
    let application_status = settle(&observed, promoted);
    let sync = application_status
        .iter()
        .filter(|s| s.status == PENDING && may_sync.contains(&s.application))
        .filter_map(|s| {
            let app = input
                .generated
                .iter()
                .find(|a| name_of(a) == s.application)?;
            Some(SyncRequest {
                application: s.application.clone(),
                operation: sync::operation(app, s.last_transition_time.as_ref()),
            })
        })
        .collect();
    Outcome {
        condition: Some(progressing_condition(steps.len(), &application_status)),
        application_status,
        sync,
    }
}

/// Stage 1, over the live Applications.
fn observe(input: &Input<'_>, grouped: &Steps) -> Vec<Status> {
    input
        .live
        .iter()
        .map(|app| {
            let name = name_of(app);
            let previous = input.previous.iter().find(|s| s.application == name);
            let desired = input.generated.iter().find(|a| name_of(a) == name);
            observe_one(input, grouped, app, previous, desired)
        })
        .collect()
}

fn observe_one(
    input: &Input<'_>,
    grouped: &Steps,
    app: &Value,
    previous: Option<&Status>,
    desired: Option<&Value>,
) -> Status {
    let name = name_of(app);
    let now = input.now;
    let revisions = revisions_of(app);
    let mut next = previous.cloned().unwrap_or_else(|| Status {
        application: name.to_string(),
        message: NO_STATUS.into(),
        status: WAITING.into(),
        step: grouped.label(name),
        target_revisions: revisions.clone(),
        last_transition_time: Some(now.clone()),
        extra: Default::default(),
    });
    let (was, since) = (
        next.status.clone(),
        instant(next.last_transition_time.as_ref()),
    );
    next.step = grouped.label(name);
    let set = |next: &mut Status, status: &str, message: &str| {
        next.status = status.into();
        next.message = message.into();
        next.last_transition_time = Some(now.clone());
    };

    let revisions_changed = next.target_revisions != revisions;
    // Compared as it would be written: automated off, ignored differences kept.
    let spec_changed = desired.is_some_and(|desired| {
        let mut desired = desired.clone();
        sync::disable_automated(&mut desired);
        spec_differs(input.policy, &desired, app)
    });
    if revisions_changed || spec_changed {
        next.target_revisions = revisions;
        let message = match (revisions_changed, spec_changed) {
            (true, true) => REVISION_AND_SPEC_CHANGED,
            (true, false) => REVISION_CHANGED,
            _ => SPEC_CHANGED,
        };
        set(&mut next, WAITING, message);
    }

    let (sync_status, health) = (
        text(app, "/status/sync/status"),
        text(app, "/status/health/status"),
    );
    if next.status == WAITING {
        // Nothing to sync: the change is already there.
        if sync_status == "Synced" {
            match health {
                "Healthy" => set(&mut next, HEALTHY, SYNCED_HEALTHY),
                _ => set(&mut next, PROGRESSING, SYNCED_PROGRESSING),
            }
        }
    } else if was == PENDING {
        if let Some(message) = started_since(app, since) {
            set(&mut next, PROGRESSING, message);
        }
    } else if was == PROGRESSING && health == "Healthy" && sync_status == "Synced" {
        set(&mut next, HEALTHY, BECAME_HEALTHY);
    }
    next
}

/// Why a Pending app is now Progressing, if it is: its sync started at or after `since`, or
/// it has an error that keeps it from syncing.
///
/// Argo CD also waits for a `reconciledAt` later than `since` and needs a start strictly
/// after it. driftless writes `reconciledAt` only when an app's status changes, and both
/// times have whole seconds, so a sync started in the second the app became Pending counts
/// and `reconciledAt` is only asked of an app in error.
fn started_since(app: &Value, since: Timestamp) -> Option<&'static str> {
    let started = app
        .pointer("/status/operationState/startedAt")
        .and_then(timestamp);
    if started.is_some_and(|started| started >= since) {
        return Some(match text(app, "/status/operationState/phase") {
            "Succeeded" => SYNC_SUCCEEDED,
            "Failed" | "Error" => SYNC_COMPLETED,
            _ => SYNC_RUNNING,
        });
    }
    let reconciled = app.pointer("/status/reconciledAt").and_then(timestamp);
    let fresh = reconciled.is_none_or(|reconciled| reconciled >= since);
    (fresh && has_error(app)).then_some(APP_ERROR)
}

fn has_error(app: &Value) -> bool {
    app.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "InvalidSpecError" || c["type"] == "UnknownError")
}

/// Stage 2's gate: the apps of every step up to and including the first one that is not
/// wholly created and Healthy.
fn may_sync(grouped: &Steps, live: &[Value], statuses: &[Status]) -> BTreeSet<String> {
    let existing: BTreeSet<&str> = live.iter().map(name_of).collect();
    let mut allowed = BTreeSet::new();
    for members in &grouped.members {
        allowed.extend(members.iter().cloned());
        let done = members.iter().all(|member| {
            existing.contains(member.as_str())
                && statuses
                    .iter()
                    .find(|s| &s.application == member)
                    .is_some_and(|s| s.status == HEALTHY)
        });
        if !done {
            break;
        }
    }
    allowed
}

/// Stage 2: `Waiting` apps the gate lets through become `Pending`, within `maxUpdate`.
fn promote(
    steps: &[driftless_model::appset::RollingSyncStep],
    grouped: &Steps,
    may_sync: &BTreeSet<String>,
    statuses: &[Status],
    now: &Time,
) -> Vec<Status> {
    let mut total = vec![0usize; steps.len()];
    let mut updating = vec![0i64; steps.len()];
    for s in statuses {
        let step = grouped.counted_in(&s.application);
        total[step] += 1;
        if s.status == PENDING || s.status == PROGRESSING {
            updating[step] += 1;
        }
    }
    let mut out = Vec::with_capacity(statuses.len());
    for s in statuses {
        let mut s = s.clone();
        let step = grouped.counted_in(&s.application);
        let limit = steps::max_update(steps[step].max_update.as_ref(), total[step]);
        let room = limit.is_none_or(|limit| updating[step] < limit);
        if s.status == WAITING && may_sync.contains(&s.application) && room {
            s.status = PENDING.into();
            s.message = MOVED_TO_PENDING.into();
            s.last_transition_time = Some(now.clone());
            updating[step] += 1;
        }
        out.push(s);
    }
    out
}

/// `before` unless `after` changed some app's status, step or message (or which apps are
/// listed); then `after`, sorted by name.
fn settle(before: &[Status], mut after: Vec<Status>) -> Vec<Status> {
    let same = before.len() == after.len()
        && after.iter().all(|a| {
            before.iter().any(|b| {
                b.application == a.application
                    && b.status == a.status
                    && b.step == a.step
                    && b.message == a.message
            })
        });
    if same {
        return before.to_vec();
    }
    after.sort_by(|a, b| a.application.cmp(&b.application));
    after
}

/// `RolloutProgressing`: True naming the first step with an app not yet Healthy, else False.
fn progressing_condition(steps: usize, statuses: &[Status]) -> ApplicationSetCondition {
    let unfinished = (1..=steps).map(|n| n.to_string()).find(|step| {
        let mut members = statuses.iter().filter(|s| &s.step == step).peekable();
        members.peek().is_some() && !members.all(|s| s.status == HEALTHY)
    });
    let (status, reason, message) = match unfinished {
        Some(step) => (
            "True",
            "ApplicationSetModified",
            format!("ApplicationSet is performing rollout of step {step}"),
        ),
        None => (
            "False",
            "ApplicationSetRolloutComplete",
            "ApplicationSet Rollout has completed".to_string(),
        ),
    };
    ApplicationSetCondition {
        condition_type: ROLLOUT_PROGRESSING.into(),
        status: status.into(),
        reason: reason.into(),
        message,
        ..Default::default()
    }
}

/// `status.sync.revisions`, else `[status.sync.revision]`, else none.
fn revisions_of(app: &Value) -> Vec<String> {
    let many: Vec<String> = app
        .pointer("/status/sync/revisions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    if !many.is_empty() {
        return many;
    }
    let one = text(app, "/status/sync/revision");
    if one.is_empty() {
        Vec::new()
    } else {
        vec![one.to_string()]
    }
}

fn text<'a>(app: &'a Value, pointer: &str) -> &'a str {
    app.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn timestamp(value: &Value) -> Option<Timestamp> {
    serde_json::from_value::<Time>(value.clone())
        .ok()
        .map(|t| t.0)
}

/// A missing transition time reads as the epoch: anything since counts.
fn instant(time: Option<&Time>) -> Timestamp {
    time.map(|t| t.0).unwrap_or(Timestamp::UNIX_EPOCH)
}
