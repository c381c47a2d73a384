//! What to do after a comparison (pure), the way Argo CD's controller decides:
//!
//! 1. an operation left Running (the controller stopped mid-sync) is resumed;
//! 2. an operation requested in `Application.operation` (`argocd app sync`) is started (a run
//!    removes the request before it writes its end, so a request present beside an ended
//!    operation is a new one, even when it asks for exactly the same);
//! 3. with `syncPolicy.automated`, an OutOfSync app is synced to the compared revision, unless
//!    the last sync already went to that revision: then it is left alone (OutOfSync shown)
//!    if that sync failed or `selfHeal` is off, and otherwise re-synced after a backoff that
//!    grows with each heal (2 s, 6 s, 18 s … at most 5 min; reset after 5.5 min of quiet).
//!
//! Nothing starts while `driftless.dev/depends-on` names apps that are not Synced and Healthy,
//! and nothing automated starts after a failed comparison.

use crate::operation::revisions_of;
use driftless_model::operation::SyncOperation;
use driftless_model::{Application, Operation, OperationInitiator, OperationPhase, SyncStatusCode};

/// First self-heal delay, growth factor, longest delay and quiet time that resets the count.
pub const HEAL_BASE_SECS: i64 = 2;
pub const HEAL_FACTOR: i64 = 3;
pub const HEAL_MAX_SECS: i64 = 300;
pub const HEAL_COOLDOWN_SECS: i64 = 330;

/// What the reconcile knows when deciding.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub app: &'a Application,
    /// The comparison just made: sync status and the revisions compared; None if it failed.
    pub compared: Option<(&'a SyncStatusCode, &'a [String])>,
    /// Dependencies that are not Synced and Healthy yet.
    pub waiting_for: &'a [String],
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Nothing,
    /// Continue the Running operation in `status.operationState`.
    Resume,
    /// End the operation someone asked to terminate (phase `Terminating`, as Argo CD's
    /// `terminate-op` writes it) without running it further.
    Terminate,
    /// Start this operation; `requested` when it came from `Application.operation`.
    Start {
        operation: Box<Operation>,
        requested: bool,
    },
    /// Self-heal is due at this time (seconds): look again then.
    HealAt(i64),
}

pub fn decide(facts: Facts<'_>) -> Decision {
    let app = facts.app;
    let last = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
    if last.is_some_and(|op| op.phase == OperationPhase::Terminating) {
        return Decision::Terminate;
    }
    if last.is_some_and(|op| op.phase == OperationPhase::Running) {
        return Decision::Resume;
    }
    if let Some(requested) = &app.operation {
        if !facts.waiting_for.is_empty() {
            return Decision::Nothing;
        }
        return Decision::Start {
            operation: requested.clone(),
            requested: true,
        };
    }
    let Some(policy) = app.spec.sync_policy.as_ref().filter(|p| p.is_automated()) else {
        return Decision::Nothing;
    };
    let Some((sync, revisions)) = facts.compared else {
        return Decision::Nothing;
    };
    if *sync != SyncStatusCode::OutOfSync || !facts.waiting_for.is_empty() {
        return Decision::Nothing;
    }
    let automated = policy.automated.clone().unwrap_or_default();
    let mut heal_attempts = 0;
    if let Some(op) = last.filter(|op| revisions_of(op) == revisions && same_source(app, op)) {
        if op.phase != OperationPhase::Succeeded || automated.self_heal != Some(true) {
            return Decision::Nothing;
        }
        let finished = op
            .finished_at
            .as_ref()
            .map(crate::time::secs_of)
            .unwrap_or(0);
        let previous = op
            .operation
            .sync
            .as_ref()
            .and_then(|s| s.self_heal_attempts_count)
            .unwrap_or(0);
        let attempts = if facts.now - finished >= HEAL_COOLDOWN_SECS {
            0
        } else {
            previous
        };
        let due = finished + heal_delay(attempts);
        if facts.now < due {
            return Decision::HealAt(due);
        }
        heal_attempts = attempts + 1;
    }
    let multi = app.spec.has_multiple_sources();
    let operation = Operation {
        sync: Some(SyncOperation {
            revision: if multi {
                None
            } else {
                revisions.first().cloned()
            },
            revisions: multi.then(|| revisions.to_vec()),
            prune: automated.prune,
            sync_options: policy.sync_options.clone(),
            self_heal_attempts_count: (heal_attempts > 0).then_some(heal_attempts),
            ..SyncOperation::default()
        }),
        initiated_by: Some(OperationInitiator {
            automated: Some(true),
            ..OperationInitiator::default()
        }),
        retry: policy.retry.clone(),
        ..Operation::default()
    };
    Decision::Start {
        operation: Box::new(operation),
        requested: false,
    }
}

/// The wait before self-heal number `attempts + 1`.
pub fn heal_delay(attempts: i64) -> i64 {
    let mut delay = HEAL_BASE_SECS;
    for _ in 0..attempts.clamp(0, 10) {
        delay = (delay * HEAL_FACTOR).min(HEAL_MAX_SECS);
    }
    delay
}

fn same_source(app: &Application, op: &driftless_model::OperationState) -> bool {
    let Some(result) = &op.sync_result else {
        return true;
    };
    if app.spec.has_multiple_sources() {
        result.sources.is_none() || result.sources == app.spec.sources
    } else {
        result.source.is_none() || result.source == app.spec.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    fn app(policy: Value, status: Value, operation: Option<Value>) -> Application {
        let mut v = json!({"metadata": {"name": "a"},
            "spec": {"project": "default", "destination": {}, "source": {"repoURL": "u"}, "syncPolicy": policy},
            "status": status});
        if let Some(op) = operation {
            v["operation"] = op;
        }
        serde_json::from_value(v).unwrap()
    }

    fn last_op(phase: &str, revision: &str, finished: &str, heals: Option<i64>) -> Value {
        json!({"operationState": {
            "operation": {"sync": {"revision": revision, "autoHealAttemptsCount": heals}},
            "phase": phase, "startedAt": "1970-01-01T00:00:00Z", "finishedAt": finished,
            "syncResult": {"revision": revision, "source": {"repoURL": "u"}}}})
    }

    fn decide_at(app: &Application, sync: SyncStatusCode, revision: &str, now: i64) -> Decision {
        let revisions = [revision.to_string()];
        decide(Facts {
            app,
            compared: Some((&sync, &revisions)),
            waiting_for: &[],
            now,
        })
    }

    fn started_automatically(d: &Decision) -> Option<Option<i64>> {
        match d {
            Decision::Start {
                operation,
                requested: false,
            } => Some(
                operation
                    .sync
                    .as_ref()
                    .and_then(|s| s.self_heal_attempts_count),
            ),
            _ => None,
        }
    }

    #[test]
    fn automated_app_syncs_a_new_revision() {
        let a = app(
            json!({"automated": {"prune": true}}),
            last_op("Succeeded", "old", "1970-01-01T00:00:10Z", None),
            None,
        );
        let d = decide_at(&a, SyncStatusCode::OutOfSync, "new", 100);
        let Decision::Start {
            operation,
            requested: false,
        } = d
        else {
            panic!("expected an automated sync, got {d:?}")
        };
        let sync = operation.sync.unwrap();
        assert_eq!(sync.revision.as_deref(), Some("new"));
        assert_eq!(sync.prune, Some(true));
        assert_eq!(operation.initiated_by.unwrap().automated, Some(true));
    }

    #[test]
    fn without_self_heal_drift_is_only_shown() {
        let a = app(
            json!({"automated": {}}),
            last_op("Succeeded", "rev", "1970-01-01T00:00:10Z", None),
            None,
        );
        assert_eq!(
            decide_at(&a, SyncStatusCode::OutOfSync, "rev", 1000),
            Decision::Nothing
        );
    }

    #[test]
    fn manual_apps_and_synced_apps_are_left_alone() {
        let manual = app(json!({}), json!({}), None);
        assert_eq!(
            decide_at(&manual, SyncStatusCode::OutOfSync, "rev", 0),
            Decision::Nothing
        );
        let synced = app(json!({"automated": {}}), json!({}), None);
        assert_eq!(
            decide_at(&synced, SyncStatusCode::Synced, "rev", 0),
            Decision::Nothing
        );
    }

    #[test]
    fn self_heal_waits_with_growing_backoff() {
        let healed_once = app(
            json!({"automated": {"selfHeal": true}}),
            last_op("Succeeded", "rev", "1970-01-01T00:01:40Z", Some(1)),
            None,
        );
        // finished at 100 s; one heal so far: the next waits 6 s.
        assert_eq!(
            decide_at(&healed_once, SyncStatusCode::OutOfSync, "rev", 101),
            Decision::HealAt(106)
        );
        assert_eq!(
            started_automatically(&decide_at(
                &healed_once,
                SyncStatusCode::OutOfSync,
                "rev",
                106
            )),
            Some(Some(2))
        );
        // After a long quiet time the count starts again.
        assert_eq!(
            started_automatically(&decide_at(
                &healed_once,
                SyncStatusCode::OutOfSync,
                "rev",
                1000
            )),
            Some(Some(1))
        );
        assert_eq!(
            (0..7).map(heal_delay).collect::<Vec<_>>(),
            vec![2, 6, 18, 54, 162, 300, 300]
        );
    }

    #[test]
    fn a_failed_sync_to_the_same_revision_is_not_repeated() {
        let a = app(
            json!({"automated": {"selfHeal": true}}),
            last_op("Failed", "rev", "1970-01-01T00:00:10Z", None),
            None,
        );
        assert_eq!(
            decide_at(&a, SyncStatusCode::OutOfSync, "rev", 1000),
            Decision::Nothing
        );
        assert!(
            started_automatically(&decide_at(&a, SyncStatusCode::OutOfSync, "fixed", 1000))
                .is_some()
        );
    }

    #[test]
    fn an_operation_asked_to_terminate_ends_instead_of_resuming_or_restarting() {
        let request = json!({"sync": {"prune": true}, "initiatedBy": {"username": "alice"}});
        let terminating = app(
            json!({"automated": {"selfHeal": true}}),
            json!({"operationState": {"operation": request.clone(), "phase": "Terminating",
            "startedAt": "1970-01-01T00:00:00Z"}}),
            Some(request),
        );
        assert_eq!(
            decide_at(&terminating, SyncStatusCode::OutOfSync, "rev", 0),
            Decision::Terminate
        );
    }

    #[test]
    fn running_operations_resume_and_requested_ones_start_once() {
        let running = app(
            json!({}),
            json!({"operationState": {"operation": {"sync": {}}, "phase": "Running",
            "startedAt": "1970-01-01T00:00:00Z"}}),
            None,
        );
        assert_eq!(
            decide_at(&running, SyncStatusCode::OutOfSync, "rev", 0),
            Decision::Resume
        );

        let request = json!({"sync": {"prune": true}, "initiatedBy": {"username": "alice"}});
        let requested = app(json!({}), json!({}), Some(request.clone()));
        assert!(matches!(
            decide_at(&requested, SyncStatusCode::Synced, "rev", 0),
            Decision::Start {
                requested: true,
                ..
            }
        ));

        // The same request again after the first one ended: a new sync.
        let again = app(
            json!({}),
            json!({"operationState": {"operation": request.clone(), "phase": "Succeeded",
            "startedAt": "1970-01-01T00:00:00Z"}}),
            Some(request),
        );
        assert!(matches!(
            decide_at(&again, SyncStatusCode::Synced, "rev", 0),
            Decision::Start {
                requested: true,
                ..
            }
        ));
    }

    #[test]
    fn dependencies_hold_back_syncs_and_failed_comparisons_hold_back_automation() {
        let a = app(json!({"automated": {}}), json!({}), None);
        let revisions = ["rev".to_string()];
        let waiting = ["app-a".to_string()];
        let sync = SyncStatusCode::OutOfSync;
        let d = decide(Facts {
            app: &a,
            compared: Some((&sync, &revisions)),
            waiting_for: &waiting,
            now: 0,
        });
        assert_eq!(d, Decision::Nothing);
        assert_eq!(
            decide(Facts {
                app: &a,
                compared: None,
                waiting_for: &[],
                now: 0
            }),
            Decision::Nothing
        );
    }
}
