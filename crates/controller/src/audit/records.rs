//! The audit records of the controller's own changes (pure): a sync that started or ended
//! and the loop breakers and guard refusals a status write brings ([`of_status_change`]),
//! and each object a sync applied, pruned or ran as a hook ([`of_step`]).

use driftless_audit::{Kind, Record};
use driftless_decisions::events::{
    completed_run, conditions_raised, revision_of, started_run, sync_loops_tripped, user_of,
};
use driftless_model::{ApplicationStatus, OperationState};
use driftless_plan::{Action, Step};
use serde_json::Value;

/// The app a record is about.
#[derive(Debug, Clone, Copy)]
pub struct AppRef<'a> {
    /// `namespace/name`.
    pub key: &'a str,
    pub project: &'a str,
}

/// How the audit log names an app: `namespace/name`, wherever it lives.
pub fn app_name(app: &driftless_model::Application) -> String {
    format!(
        "{}/{}",
        app.metadata.namespace.as_deref().unwrap_or_default(),
        app.metadata.name.as_deref().unwrap_or_default()
    )
}

impl AppRef<'_> {
    fn record(&self, kind: Kind, time: &str) -> Record {
        Record {
            time: time.to_string(),
            kind: Some(kind),
            app: Some(self.key.to_string()),
            project: Some(self.project.to_string()),
            ..Record::default()
        }
    }
}

/// Who a record of `op` names: the user who asked, or the controller for an automated one.
fn actor(op: &OperationState) -> String {
    user_of(op).unwrap_or_else(|| driftless_decisions::events::COMPONENT.to_string())
}

fn about_operation(mut record: Record, op: &OperationState) -> Record {
    record.user = Some(actor(op));
    record.trigger = Some(super::trigger::of_operation(&op.operation));
    record.revision = Some(revision_of(op)).filter(|r| !r.is_empty());
    record
}

/// The records a status write from `old` to `new` means, at `time`.
pub fn of_status_change(
    app: AppRef<'_>,
    old: &ApplicationStatus,
    new: &ApplicationStatus,
    time: &str,
) -> Vec<Record> {
    let mut records = Vec::new();
    if let Some(op) = started_run(old, new) {
        let mut record = about_operation(app.record(Kind::SyncStarted, time), op);
        record.message = op.message.clone().filter(|m| !m.is_empty());
        records.push(record);
    }
    if let Some(op) = completed_run(old, new) {
        let mut record = about_operation(app.record(Kind::SyncCompleted, time), op);
        record.result = Some(op.phase.to_string());
        record.message = op.message.clone().filter(|m| !m.is_empty());
        record.duration_ms = op.finished_at.as_ref().map(|end| {
            let millis = end.0.duration_since(op.started_at.0).as_millis();
            u64::try_from(millis.max(0)).unwrap_or(0)
        });
        records.push(record);
    }
    for message in sync_loops_tripped(old, new) {
        let mut record = app.record(Kind::SyncLoopTripped, time);
        record.user = Some(driftless_decisions::events::COMPONENT.into());
        record.message = Some(message.to_string());
        records.push(record);
    }
    for message in conditions_raised(old, new, driftless_decisions::conditions::GUARD_ERROR) {
        let mut record = app.record(Kind::GuardRefused, time);
        record.user = Some(driftless_decisions::events::COMPONENT.into());
        record.result = Some("Refused".into());
        record.message = Some(message.to_string());
        records.push(record);
    }
    records
}

/// What a sync did to one object, for the record of its step.
#[derive(Debug)]
pub struct StepOutcome<'a> {
    pub step: &'a Step,
    pub ok: bool,
    pub message: &'a str,
    /// The object as it was live before the step, if it existed.
    pub before: Option<&'a Value>,
    /// The masked diff from `before` to what was applied.
    pub diff: Option<String>,
    pub revision: &'a str,
    pub user: &'a str,
    pub trigger: &'a str,
}

/// The record of one sync step, or none for a step that changes nothing (an object left
/// unchanged, a prune skipped).
pub fn of_step(app: AppRef<'_>, outcome: StepOutcome<'_>, time: &str) -> Option<Record> {
    let step = outcome.step;
    let kind = match &step.action {
        Action::CreateNamespace | Action::Create | Action::Update | Action::Reapply => {
            Kind::ObjectApplied
        }
        Action::Hook { .. } => Kind::HookRun,
        Action::Prune => Kind::ObjectPruned,
        _ => return None,
    };
    let mut record = app.record(kind, time);
    record.object = Some(step.key.to_string());
    record.user = Some(outcome.user.to_string());
    record.trigger = Some(outcome.trigger.to_string());
    record.revision = Some(outcome.revision.to_string()).filter(|r| !r.is_empty());
    record.before = outcome.before.map(content_of);
    record.after = match kind {
        Kind::ObjectPruned => None,
        _ => step.object.as_ref().map(content_of),
    };
    record.diff = outcome.diff;
    record.result = Some(if outcome.ok { "Succeeded" } else { "Failed" }.into());
    record.message = Some(outcome.message.to_string()).filter(|m| !m.is_empty());
    Some(record)
}

/// The hash of an object's content: its normalized form, without the fields the API server
/// keeps (resourceVersion, managedFields, status …), so the same manifest hashes alike.
pub fn content_of(object: &Value) -> String {
    driftless_audit::content_hash(&driftless_diff::normalize(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn status(value: serde_json::Value) -> ApplicationStatus {
        serde_json::from_value(value).expect("status")
    }

    const APP: AppRef<'static> = AppRef {
        key: "argocd/shop",
        project: "default",
    };
    const NOW: &str = "2026-12-04T18:00:00.000Z";

    #[test]
    fn a_sync_is_recorded_when_it_starts_and_when_it_ends_with_its_trigger_and_duration() {
        let idle = status(serde_json::json!({}));
        let running = status(serde_json::json!({
            "operationState": {"phase": "Running", "startedAt": "2026-12-04T17:59:00Z",
                "operation": {"sync": {"revision": "abc"}, "initiatedBy": {"automated": true},
                              "info": [{"name": "trigger", "value": "webhook"}]}}}));
        let started = of_status_change(APP, &idle, &running, NOW);
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].kind, Some(Kind::SyncStarted));
        assert_eq!(started[0].trigger.as_deref(), Some("webhook"));
        assert_eq!(started[0].user.as_deref(), Some("driftless-controller"));
        assert_eq!(started[0].revision.as_deref(), Some("abc"));
        assert_eq!(of_status_change(APP, &running, &running, NOW), []);
        let done = status(serde_json::json!({
            "operationState": {"phase": "Failed", "startedAt": "2026-12-04T17:59:00Z",
                "finishedAt": "2026-12-04T17:59:42Z", "message": "one or more objects failed to apply",
                "syncResult": {"revision": "abc"},
                "operation": {"sync": {"revision": "abc"}, "initiatedBy": {"automated": true},
                              "info": [{"name": "trigger", "value": "webhook"}]}}}));
        let ended = of_status_change(APP, &running, &done, NOW);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].kind, Some(Kind::SyncCompleted));
        assert_eq!(ended[0].result.as_deref(), Some("Failed"));
        assert_eq!(ended[0].duration_ms, Some(42_000));
        assert_eq!(ended[0].trigger.as_deref(), Some("webhook"));
    }

    #[test]
    fn a_manual_sync_names_its_user_and_loop_and_guard_refusals_are_recorded_once() {
        let idle = status(serde_json::json!({}));
        let running = status(serde_json::json!({
            "operationState": {"phase": "Running", "startedAt": "2026-12-04T17:59:00Z",
                "operation": {"sync": {"revision": "abc"}, "initiatedBy": {"username": "alice"}}}}));
        let started = of_status_change(APP, &idle, &running, NOW);
        assert_eq!(started[0].user.as_deref(), Some("alice"));
        assert_eq!(started[0].trigger.as_deref(), Some("manual"));
        let refused = status(serde_json::json!({"conditions": [
            {"type": "GuardError", "message": "sync blocked by the project's guard (enforce): root container"},
            {"type": "SyncLoop", "message": "apps/Deployment shop/web: replicas undone 3 times"}]}));
        let records = of_status_change(APP, &idle, &refused, NOW);
        let kinds: Vec<_> = records.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [Some(Kind::SyncLoopTripped), Some(Kind::GuardRefused)]
        );
        assert_eq!(records[1].result.as_deref(), Some("Refused"));
        assert_eq!(of_status_change(APP, &refused, &refused, NOW), []);
    }

    #[test]
    fn a_step_is_recorded_with_the_hashes_before_and_after() {
        let live = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "7"}, "data": {"a": "1"}});
        let desired = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "shop"}, "data": {"a": "2"}});
        let step = Step {
            phase: driftless_plan::Phase::Sync,
            wave: 0,
            key: driftless_model::ResourceKey::of(&desired).expect("key"),
            action: Action::Update,
            object: Some(desired.clone()),
            options: Default::default(),
        };
        let outcome = StepOutcome {
            step: &step,
            ok: true,
            message: "configured",
            before: Some(&live),
            diff: Some("-a: 1\n+a: 2".into()),
            revision: "abc",
            user: "alice",
            trigger: "manual",
        };
        let record = of_step(APP, outcome, NOW).expect("an update is recorded");
        assert_eq!(record.kind, Some(Kind::ObjectApplied));
        assert_eq!(record.object, Some(step.key.to_string()));
        assert_ne!(record.before, record.after);
        let same = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "9"}, "data": {"a": "2"}});
        assert_eq!(
            record.after,
            Some(content_of(&same)),
            "server-kept fields do not change the hash"
        );
    }
}
