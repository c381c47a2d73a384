//! Sync windows in the controller (pure): whether the operation [`decide`](crate::decide)
//! chose may run now under the project's `syncWindows`, as Argo CD's controller asks it.
//! Automated syncs need [`can_sync`] to permit an automated sync; a requested one asks as a
//! manual sync (unless it says it was automated); a Running operation asks [`can_continue`]
//! with its start time, so `syncOverrun` lets it finish.

use crate::decide::Decision;
use driftless_model::project::SyncWindow;
use driftless_model::{Application, Operation};
use driftless_windows::jiff::Timestamp;
use driftless_windows::{AppRef, can_continue, can_sync};

/// The message Argo CD puts on an operation a window holds back.
pub const BLOCKED: &str = "Sync operation blocked by sync window";

/// Why `decision` may not run at `now` (seconds), if a window holds it back.
pub fn held_back(
    decision: &Decision,
    app: &Application,
    windows: &[SyncWindow],
    now: i64,
) -> Option<String> {
    if windows.is_empty() {
        return None;
    }
    let now = Timestamp::from_second(now).unwrap_or(Timestamp::UNIX_EPOCH);
    let target = AppRef::of(app);
    let verdict = match decision {
        Decision::Start {
            operation,
            requested,
        } => can_sync(windows, &target, now, *requested && is_manual(operation)),
        Decision::Resume => {
            let op = app.status.as_ref()?.operation_state.as_ref()?;
            can_continue(
                windows,
                &target,
                now,
                is_manual(&op.operation),
                op.started_at.0,
            )
        }
        _ => return None,
    };
    (!verdict.permitted).then(|| verdict.to_string())
}

fn is_manual(operation: &Operation) -> bool {
    operation.initiated_by.as_ref().and_then(|i| i.automated) != Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(operation_state: serde_json::Value) -> Application {
        serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"project": "team", "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"}},
            "status": {"operationState": operation_state},
        }))
        .unwrap()
    }

    fn windows(value: serde_json::Value) -> Vec<SyncWindow> {
        serde_json::from_value(value).unwrap()
    }

    fn start(requested: bool, automated: bool) -> Decision {
        Decision::Start {
            operation: Box::new(
                serde_json::from_value(
                    json!({"initiatedBy": {"automated": automated}, "sync": {}}),
                )
                .unwrap(),
            ),
            requested,
        }
    }

    // 2026-12-02 (a Wednesday) 23:00 UTC.
    const NIGHT: i64 = 1_796_252_400;

    #[test]
    fn a_deny_window_holds_automated_syncs_and_manual_ones_unless_it_allows_them() {
        let nightly = |manual: bool| {
            windows(
                json!([{"kind": "deny", "schedule": "0 22 * * *", "duration": "8h",
                            "applications": ["*"], "manualSync": manual}]),
            )
        };
        let a = app(json!(null));
        let held = held_back(&start(false, true), &a, &nightly(false), NIGHT);
        assert!(held.is_some_and(|m| m.contains("deny window 0")));
        assert!(held_back(&start(true, false), &a, &nightly(false), NIGHT).is_some());
        assert_eq!(
            held_back(&start(true, false), &a, &nightly(true), NIGHT),
            None
        );
        assert!(
            held_back(&start(true, true), &a, &nightly(true), NIGHT).is_some(),
            "a requested operation that says it is automated is not manual"
        );
        let noon = NIGHT - 11 * 3600;
        assert_eq!(
            held_back(&start(false, true), &a, &nightly(false), noon),
            None
        );
        assert_eq!(
            held_back(&Decision::Nothing, &a, &nightly(false), NIGHT),
            None
        );
        assert_eq!(held_back(&start(false, true), &a, &[], NIGHT), None);
    }

    #[test]
    fn a_running_sync_continues_past_a_closing_window_only_with_sync_overrun() {
        let allow = |overrun: bool| {
            windows(
                json!([{"kind": "allow", "schedule": "0 22 * * *", "duration": "30m",
                            "applications": ["web"], "syncOverrun": overrun}]),
            )
        };
        // Started at 22:10 inside the window, still running at 23:00 after it closed.
        let running = app(
            json!({"phase": "Running", "startedAt": "2026-12-02T22:10:00Z",
                                 "operation": {"initiatedBy": {"automated": true}, "sync": {}}}),
        );
        assert!(held_back(&Decision::Resume, &running, &allow(false), NIGHT).is_some());
        assert_eq!(
            held_back(&Decision::Resume, &running, &allow(true), NIGHT),
            None
        );
    }
}
