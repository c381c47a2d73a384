//! Why a sync ran, in the audit log's words (pure): `manual` (with the user), `rollback`,
//! `self-heal`, and for an automated sync the cause of the reconcile that started it:
//! `commit` (a git poll saw the revision move), `webhook` (a verified webhook did),
//! `chart-version` (a Helm repository offered a newer chart) or `drift` (the same revision
//! again, objects changed in the cluster).
//!
//! An automated operation carries its trigger in `operation.info` (`trigger`), so the audit
//! record written when it ends says the same as the one written when it started, across a
//! controller restart.

use driftless_model::{Info, Operation, OperationState};

/// The `operation.info` name the trigger is kept under.
pub const INFO_NAME: &str = "trigger";

/// What announced a change to an app before its reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A git poll saw a ref move.
    Poll,
    /// A verified webhook announced the move.
    Webhook,
    /// A Helm repository's index offered a newer version in the app's range.
    ChartVersion,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Poll => "commit",
            Cause::Webhook => "webhook",
            Cause::ChartVersion => "chart-version",
        }
    }
}

/// The trigger of an automated operation about to start: self-heal when it heals, `drift`
/// when it deploys the revision the last sync deployed (a cause announced for a move that
/// did not touch this app is stale), else the announced cause, else `commit`.
pub fn of_automated(
    operation: &Operation,
    last: Option<&OperationState>,
    cause: Option<Cause>,
) -> &'static str {
    let sync = operation.sync.as_ref();
    if sync.and_then(|s| s.self_heal_attempts_count).unwrap_or(0) > 0 {
        return "self-heal";
    }
    let revisions = |op: &Operation| {
        let sync = op.sync.as_ref();
        (
            sync.and_then(|s| s.revision.clone()),
            sync.and_then(|s| s.revisions.clone()),
        )
    };
    if last.is_some_and(|last| revisions(&last.operation) == revisions(operation)) {
        return "drift";
    }
    cause.map_or("commit", Cause::as_str)
}

/// `operation` with its trigger noted in `info` (an earlier note is replaced).
pub fn noted(mut operation: Operation, trigger: &str) -> Operation {
    let mut info: Vec<Info> = operation
        .info
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.name != INFO_NAME)
        .collect();
    info.push(Info {
        name: INFO_NAME.into(),
        value: trigger.into(),
        extra: Default::default(),
    });
    operation.info = Some(info);
    operation
}

/// The trigger of an operation that runs or ran: its note, else `rollback` for a requested
/// sync to a source from history, `manual` for another requested one, `automated` otherwise.
pub fn of_operation(operation: &Operation) -> String {
    if let Some(noted) = operation
        .info
        .iter()
        .flatten()
        .find(|i| i.name == INFO_NAME)
    {
        return noted.value.clone();
    }
    if operation
        .initiated_by
        .as_ref()
        .is_some_and(|by| by.automated == Some(true))
    {
        return "automated".into();
    }
    let sync = operation.sync.as_ref();
    let from_history = sync.is_some_and(|s| {
        s.source.is_some() || s.sources.as_ref().is_some_and(|list| !list.is_empty())
    });
    if from_history { "rollback" } else { "manual" }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(value: serde_json::Value) -> Operation {
        serde_json::from_value(value).expect("operation")
    }

    fn state(value: serde_json::Value) -> OperationState {
        serde_json::from_value(serde_json::json!({
            "operation": value, "phase": "Succeeded", "startedAt": "2026-12-01T10:00:00Z"
        }))
        .expect("operation state")
    }

    #[test]
    fn an_automated_sync_says_what_announced_it() {
        let new = operation(
            serde_json::json!({"sync": {"revision": "b"}, "initiatedBy": {"automated": true}}),
        );
        let last = state(serde_json::json!({"sync": {"revision": "a"}}));
        assert_eq!(
            of_automated(&new, Some(&last), Some(Cause::Webhook)),
            "webhook"
        );
        assert_eq!(
            of_automated(&new, Some(&last), Some(Cause::ChartVersion)),
            "chart-version"
        );
        assert_eq!(of_automated(&new, Some(&last), None), "commit");
        assert_eq!(of_automated(&new, None, None), "commit");
        let again = state(serde_json::json!({"sync": {"revision": "b"}}));
        assert_eq!(of_automated(&new, Some(&again), None), "drift");
        assert_eq!(
            of_automated(&new, Some(&again), Some(Cause::Webhook)),
            "drift",
            "a cause announced for a move elsewhere does not make a drift a commit"
        );
        let heal =
            operation(serde_json::json!({"sync": {"revision": "b", "autoHealAttemptsCount": 2}}));
        assert_eq!(
            of_automated(&heal, Some(&again), Some(Cause::Poll)),
            "self-heal"
        );
    }

    #[test]
    fn the_note_survives_in_the_operation_and_requested_syncs_are_told_apart() {
        let new = operation(
            serde_json::json!({"sync": {"revision": "b"}, "initiatedBy": {"automated": true},
            "info": [{"name": "trigger", "value": "commit"}, {"name": "Reason", "value": "x"}]}),
        );
        let noted = noted(new, "webhook");
        assert_eq!(of_operation(&noted), "webhook");
        assert_eq!(noted.info.as_ref().map(Vec::len), Some(2));
        let manual = operation(
            serde_json::json!({"sync": {"revision": "b"}, "initiatedBy": {"username": "alice"}}),
        );
        assert_eq!(of_operation(&manual), "manual");
        let rollback = operation(
            serde_json::json!({"sync": {"revision": "a", "source": {"repoURL": "r"}},
            "initiatedBy": {"username": "alice"}}),
        );
        assert_eq!(of_operation(&rollback), "rollback");
        let automated = operation(serde_json::json!({"initiatedBy": {"automated": true}}));
        assert_eq!(of_operation(&automated), "automated");
    }
}
