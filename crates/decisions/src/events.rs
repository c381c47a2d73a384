//! Kubernetes Events on Applications, as Argo CD's controller emits them: `OperationStarted`,
//! `OperationCompleted` (Warning when it failed), `SyncLoop` (Warning: the loop breaker took an
//! object out of automated sync) and `ResourceUpdated` for a sync or health
//! status that changed. Which events a status write means is decided from the status before
//! and after it ([`of_status_change`]); the controller's event sink creates them.
//!
//! Unlike Argo CD, one status write makes at most one Event besides `SyncLoop`: what Argo CD
//! says in several Events (an automated sync's start, its end, the sync and health status it
//! left) is one Event whose reason is the weightiest and whose message lists each in order.
//! Every Event is a request to the API server; at a thousand apps, four per sync slowed
//! everyone else's requests.

use driftless_model::{ApplicationStatus, OperationPhase, OperationState};

/// The component Events name as their source.
pub const COMPONENT: &str = "driftless-controller";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// One Event to write about an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEvent {
    pub kind: EventType,
    /// Argo CD's reasons: `OperationStarted`, `OperationCompleted`, `ResourceUpdated`.
    pub reason: &'static str,
    pub message: String,
    /// Who asked for the operation, for a requested one.
    pub user: Option<String>,
}

/// The Events a status write from `old` to `new` means.
pub fn of_status_change(old: &ApplicationStatus, new: &ApplicationStatus) -> Vec<AppEvent> {
    let mut loops: Vec<AppEvent> = sync_loops_tripped(old, new)
        .into_iter()
        .map(|message| AppEvent {
            kind: EventType::Warning,
            reason: "SyncLoop",
            message: message.to_string(),
            user: None,
        })
        .collect();
    loops.extend(merged(changes(old, new)));
    loops
}

/// Each change the write makes, as Argo CD would report it, in the order they happened.
fn changes(old: &ApplicationStatus, new: &ApplicationStatus) -> Vec<AppEvent> {
    let mut events = Vec::new();
    if let Some(op) = started_run(old, new) {
        events.push(started(op));
    }
    if let Some(op) = completed_run(old, new) {
        events.push(completed(op));
    }
    let sync_of = |s: &ApplicationStatus| s.sync.as_ref().map(|s| s.status.to_string());
    if let (Some(before), Some(after)) = (sync_of(old), sync_of(new))
        && before != after
    {
        events.push(updated(format!("Updated sync status: {before} -> {after}")));
    }
    let health_of = |s: &ApplicationStatus| {
        s.health
            .as_ref()
            .and_then(|h| h.status.as_ref())
            .map(ToString::to_string)
    };
    if let (Some(before), Some(after)) = (health_of(old), health_of(new))
        && before != after
    {
        let mut message = format!("Updated health status: {before} -> {after}");
        if let Some(why) = new
            .health
            .as_ref()
            .and_then(|h| h.message.as_deref())
            .filter(|m| !m.is_empty())
        {
            message.push_str(&format!(" ({why})"));
        }
        events.push(updated(message));
    }
    events
}

/// One Event for all of `events`: the type of the worst, the reason of the weightiest, the
/// messages joined in order, the user of any that names one.
fn merged(events: Vec<AppEvent>) -> Option<AppEvent> {
    let weight = |reason: &str| match reason {
        "OperationCompleted" => 2,
        "OperationStarted" => 1,
        _ => 0,
    };
    let reason = events.iter().map(|e| e.reason).max_by_key(|r| weight(r))?;
    let kind = if events.iter().any(|e| e.kind == EventType::Warning) {
        EventType::Warning
    } else {
        EventType::Normal
    };
    let user = events.iter().find_map(|e| e.user.clone());
    let message = events
        .into_iter()
        .map(|e| e.message)
        .collect::<Vec<_>>()
        .join("; ");
    Some(AppEvent {
        kind,
        reason,
        message,
        user,
    })
}

/// The operation this change started, if it started one: a run first seen Running, or first
/// seen already ended (a quick automated sync writes only its end).
pub fn started_run<'a>(
    old: &ApplicationStatus,
    new: &'a ApplicationStatus,
) -> Option<&'a OperationState> {
    let (op, same_run, was_done) = operation_change(old, new)?;
    let first_seen = !same_run || (was_done && op.phase == OperationPhase::Running);
    first_seen.then_some(op)
}

/// The operation this change ended, if it ended one.
pub fn completed_run<'a>(
    old: &ApplicationStatus,
    new: &'a ApplicationStatus,
) -> Option<&'a OperationState> {
    let (op, same_run, was_done) = operation_change(old, new)?;
    (op.phase.is_completed() && !(same_run && was_done)).then_some(op)
}

/// The operation `new` records, whether `old` recorded the same run, and whether it had ended.
fn operation_change<'a>(
    old: &ApplicationStatus,
    new: &'a ApplicationStatus,
) -> Option<(&'a OperationState, bool, bool)> {
    let op = new.operation_state.as_ref()?;
    let before = old.operation_state.as_ref();
    let same_run = before.is_some_and(|o| o.started_at == op.started_at);
    let was_done = before.is_some_and(|o| o.phase.is_completed());
    Some((op, same_run, was_done))
}

/// The messages of `SyncLoop` conditions this change brought (the loop breaker tripped).
pub fn sync_loops_tripped<'a>(old: &ApplicationStatus, new: &'a ApplicationStatus) -> Vec<&'a str> {
    conditions_raised(old, new, crate::conditions::SYNC_LOOP)
}

/// The messages of conditions of type `kind` that `new` has and `old` had not.
pub fn conditions_raised<'a>(
    old: &ApplicationStatus,
    new: &'a ApplicationStatus,
    kind: &str,
) -> Vec<&'a str> {
    let before: Vec<&str> = old
        .conditions
        .iter()
        .flatten()
        .filter(|c| c.condition_type == kind)
        .map(|c| c.message.as_str())
        .collect();
    new.conditions
        .iter()
        .flatten()
        .filter(|c| c.condition_type == kind && !before.contains(&c.message.as_str()))
        .map(|c| c.message.as_str())
        .collect()
}

fn updated(message: String) -> AppEvent {
    AppEvent {
        kind: EventType::Normal,
        reason: "ResourceUpdated",
        message,
        user: None,
    }
}

/// Who asked for the operation; none for an automated one.
pub fn user_of(op: &OperationState) -> Option<String> {
    op.operation
        .initiated_by
        .as_ref()
        .filter(|by| by.automated != Some(true))
        .and_then(|by| by.username.clone())
        .filter(|u| !u.is_empty())
}

/// The commit (or commits) the operation deploys.
pub fn revision_of(op: &OperationState) -> String {
    let sync = op.operation.sync.as_ref();
    let result = op.sync_result.as_ref();
    result
        .map(|r| r.revision.clone())
        .filter(|r| !r.is_empty())
        .or_else(|| sync.and_then(|s| s.revision.clone()))
        .or_else(|| sync.and_then(|s| s.revisions.as_ref().map(|r| r.join(", "))))
        .unwrap_or_default()
}

fn started(op: &OperationState) -> AppEvent {
    let revision = revision_of(op);
    let user = user_of(op);
    let message = match &user {
        Some(user) => format!("{user} initiated sync to {revision}"),
        None => format!("Initiated automated sync to '{revision}'"),
    };
    AppEvent {
        kind: EventType::Normal,
        reason: "OperationStarted",
        message,
        user,
    }
}

fn completed(op: &OperationState) -> AppEvent {
    let partial = op
        .operation
        .sync
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .is_some_and(|r| !r.is_empty());
    let mut words = vec![
        if partial {
            "Partial sync operation"
        } else {
            "Sync operation"
        }
        .to_string(),
    ];
    let revision = revision_of(op);
    if !revision.is_empty() {
        words.extend(["to".to_string(), revision]);
    }
    let succeeded = op.phase == OperationPhase::Succeeded;
    if succeeded {
        words.push("succeeded".into());
    } else {
        words.push("failed:".into());
        words.push(op.message.clone().unwrap_or_default());
    }
    AppEvent {
        kind: if succeeded {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason: "OperationCompleted",
        message: words.join(" "),
        user: user_of(op),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn status(value: serde_json::Value) -> ApplicationStatus {
        serde_json::from_value(value).expect("status")
    }

    fn reasons_and_messages(events: &[AppEvent]) -> Vec<(&str, &str)> {
        events
            .iter()
            .map(|e| (e.reason, e.message.as_str()))
            .collect()
    }

    const STARTED: &str = "2026-12-01T10:00:00Z";

    #[test]
    fn a_requested_sync_starts_and_completes_naming_its_user() {
        let idle = status(serde_json::json!({"sync": {"status": "OutOfSync"}}));
        let running = status(serde_json::json!({
            "sync": {"status": "OutOfSync"},
            "operationState": {"phase": "Running", "startedAt": STARTED,
                "operation": {"sync": {"revision": "abc"}, "initiatedBy": {"username": "alice"}}}}));
        let started = of_status_change(&idle, &running);
        assert_eq!(
            reasons_and_messages(&started),
            [("OperationStarted", "alice initiated sync to abc")]
        );
        assert_eq!(started[0].user.as_deref(), Some("alice"));
        // Saving progress is not an event.
        assert_eq!(of_status_change(&running, &running), []);
        let done = status(serde_json::json!({
            "sync": {"status": "Synced"},
            "operationState": {"phase": "Succeeded", "startedAt": STARTED, "message": "ok",
                "syncResult": {"revision": "abc"},
                "operation": {"sync": {"revision": "abc"}, "initiatedBy": {"username": "alice"}}}}));
        let ended = of_status_change(&running, &done);
        // One write, one Event: the end and the sync status it left.
        assert_eq!(
            reasons_and_messages(&ended),
            [(
                "OperationCompleted",
                "Sync operation to abc succeeded; Updated sync status: OutOfSync -> Synced"
            )]
        );
        assert_eq!(ended[0].user.as_deref(), Some("alice"));
        assert_eq!(ended[0].kind, EventType::Normal);
        assert_eq!(of_status_change(&done, &done), []);
    }

    #[test]
    fn a_tripped_loop_breaker_is_a_warning_once() {
        let calm =
            status(serde_json::json!({"conditions": [{"type": "SyncError", "message": "x"}]}));
        let looping = status(serde_json::json!({"conditions": [
            {"type": "SyncLoop", "message": "apps/Deployment shop/web: replicas undone 3 times by hpa"}]}));
        let events = of_status_change(&calm, &looping);
        assert_eq!(
            reasons_and_messages(&events),
            [(
                "SyncLoop",
                "apps/Deployment shop/web: replicas undone 3 times by hpa"
            )]
        );
        assert_eq!(events[0].kind, EventType::Warning);
        assert_eq!(of_status_change(&looping, &looping), []);
    }

    #[test]
    fn an_automated_sync_that_fails_is_a_warning_and_health_changes_say_why() {
        let done = status(serde_json::json!({
            "health": {"status": "Healthy"},
            "operationState": {"phase": "Succeeded", "startedAt": "2026-12-01T09:00:00Z",
                "operation": {"sync": {"revision": "old"}, "initiatedBy": {"automated": true}}}}));
        let failed = status(serde_json::json!({
            "health": {"status": "Degraded", "message": "Deployment web: 0/1 ready"},
            "operationState": {"phase": "Failed", "startedAt": STARTED, "message": "one or more objects failed to apply",
                "operation": {"sync": {"revision": "new", "resources": [{"kind": "Deployment", "name": "web"}]},
                              "initiatedBy": {"automated": true}}}}));
        let events = of_status_change(&done, &failed);
        // Its start was never written (a quick sync writes only its end): one Event tells both.
        assert_eq!(
            reasons_and_messages(&events),
            [(
                "OperationCompleted",
                "Initiated automated sync to 'new'; \
                 Partial sync operation to new failed: one or more objects failed to apply; \
                 Updated health status: Healthy -> Degraded (Deployment web: 0/1 ready)"
            )]
        );
        assert_eq!(events[0].kind, EventType::Warning);
        assert_eq!(events[0].user, None);
        let automated = status(serde_json::json!({
            "operationState": {"phase": "Running", "startedAt": STARTED,
                "operation": {"sync": {"revision": "new"}, "initiatedBy": {"automated": true}}}}));
        assert_eq!(
            reasons_and_messages(&of_status_change(&done, &automated)),
            [("OperationStarted", "Initiated automated sync to 'new'")]
        );
    }

    #[test]
    fn a_sync_loop_stays_its_own_warning_beside_the_merged_event() {
        let synced = status(serde_json::json!({"sync": {"status": "Synced"}}));
        let looping = status(serde_json::json!({"sync": {"status": "OutOfSync"},
            "conditions": [{"type": "SyncLoop", "message": "undone 3 times"}]}));
        let events = of_status_change(&synced, &looping);
        assert_eq!(
            reasons_and_messages(&events),
            [
                ("SyncLoop", "undone 3 times"),
                (
                    "ResourceUpdated",
                    "Updated sync status: Synced -> OutOfSync"
                ),
            ]
        );
        assert_eq!(events[1].kind, EventType::Normal);
    }
}
