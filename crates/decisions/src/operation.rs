//! `status.operationState` and `status.history` (pure): starting an operation, recording the
//! sync state after every step (kept as `operationState.driftlessSyncState`, so a restarted
//! controller resumes the sync), finishing it, and the deploy history it leaves.

use crate::time::time_of;
use driftless_model::status::{
    HookType, OperationState, ResourceResult, RevisionHistory, SyncOperationResult,
};
use driftless_model::{Application, Operation, OperationPhase};
use driftless_plan::{Phase, Plan, SyncState};
use serde_json::Value;

/// Where the resumable sync state lives inside `operationState` (an extra field Argo CD ignores).
pub const SAVED_STATE_FIELD: &str = "driftlessSyncState";

/// Argo CD's default for `spec.revisionHistoryLimit`.
pub const DEFAULT_HISTORY_LIMIT: i64 = 10;

/// A new Running operation for `revisions` (what the sync will deploy, fixed from the start so
/// that a resumed sync deploys the same commits).
pub fn begin(
    app: &Application,
    operation: Operation,
    revisions: &[String],
    now: i64,
) -> OperationState {
    let multi = app.spec.has_multiple_sources();
    OperationState {
        operation,
        phase: OperationPhase::Running,
        message: None,
        sync_result: Some(SyncOperationResult {
            revision: revisions.first().cloned().unwrap_or_default(),
            revisions: multi.then(|| revisions.to_vec()),
            source: (!multi).then(|| app.spec.source.clone()).flatten(),
            sources: multi.then(|| app.spec.sources.clone()).flatten(),
            ..SyncOperationResult::default()
        }),
        started_at: time_of(now),
        finished_at: None,
        retry_count: None,
        extra: Default::default(),
    }
}

/// The revisions an operation deploys (empty when it never got that far).
pub fn revisions_of(op: &OperationState) -> Vec<String> {
    match &op.sync_result {
        Some(result) => match &result.revisions {
            Some(revisions) if !revisions.is_empty() => revisions.clone(),
            _ if !result.revision.is_empty() => vec![result.revision.clone()],
            _ => Vec::new(),
        },
        None => Vec::new(),
    }
}

/// The sync state saved by the last run of this operation, if any and readable.
pub fn saved_state(op: &OperationState) -> Option<SyncState> {
    op.extra
        .get(SAVED_STATE_FIELD)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Records progress: the step results as Argo CD's `syncResult.resources`, and the state.
pub fn record(op: &mut OperationState, plan: &Plan, state: &SyncState) {
    if !state.message.is_empty() {
        op.message = Some(state.message.clone());
    }
    if let Some(result) = op.sync_result.as_mut() {
        result.resources = Some(results(plan, state)).filter(|r| !r.is_empty());
    }
    match serde_json::to_value(state) {
        Ok(value) => op.extra.insert(SAVED_STATE_FIELD.into(), value),
        Err(_) => op.extra.remove(SAVED_STATE_FIELD),
    };
}

/// Forgets the saved state: the next run of the operation starts from the first wave.
pub fn forget_state(op: &mut OperationState) {
    op.extra.remove(SAVED_STATE_FIELD);
}

/// Ends the operation. The saved state goes: a finished operation is never resumed.
pub fn finish(
    op: &mut OperationState,
    phase: OperationPhase,
    message: impl Into<String>,
    now: i64,
) {
    op.phase = phase;
    op.message = Some(message.into()).filter(|m: &String| !m.is_empty());
    op.finished_at = Some(time_of(now));
    forget_state(op);
}

/// Argo CD's per-object sync results from the state's step results, in plan order.
pub fn results(plan: &Plan, state: &SyncState) -> Vec<ResourceResult> {
    plan.steps
        .iter()
        .filter_map(|step| {
            let result = state.result(step)?;
            let api_version = step
                .object
                .as_ref()
                .and_then(|o| o["apiVersion"].as_str())
                .unwrap_or_default();
            Some(ResourceResult {
                group: step.key.group.clone(),
                version: api_version
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                kind: step.key.kind.clone(),
                namespace: step.key.namespace.clone(),
                name: step.key.name.clone(),
                status: Some(result.status.clone()),
                message: Some(result.message.clone()).filter(|m| !m.is_empty()),
                hook_type: step
                    .action
                    .is_hook()
                    .then(|| hook_type(step.phase))
                    .flatten(),
                hook_phase: result.hook_phase.clone(),
                sync_phase: step.phase.to_model(),
                sync_wave: Some(step.wave.into()),
                ..ResourceResult::default()
            })
        })
        .collect()
}

fn hook_type(phase: Phase) -> Option<HookType> {
    Some(match phase {
        Phase::PreSync => HookType::PreSync,
        Phase::Sync => HookType::Sync,
        Phase::PostSync => HookType::PostSync,
        Phase::SyncFail => HookType::SyncFail,
        Phase::PreDelete => HookType::PreDelete,
        Phase::PostDelete => HookType::PostDelete,
        Phase::Delete => return None,
    })
}

/// `status.history` with a successful operation appended, the oldest entries dropped beyond
/// `spec.revisionHistoryLimit` (default 10).
pub fn push_history(app: &Application, op: &OperationState, now: i64) -> Vec<RevisionHistory> {
    let mut history = app
        .status
        .as_ref()
        .and_then(|s| s.history.clone())
        .unwrap_or_default();
    let id = history.iter().map(|h| h.id).max().map_or(0, |max| max + 1);
    let result = op.sync_result.clone().unwrap_or_default();
    history.push(RevisionHistory {
        id,
        deployed_at: time_of(now),
        deploy_started_at: Some(op.started_at.clone()),
        revision: Some(result.revision).filter(|r| !r.is_empty()),
        revisions: result.revisions,
        source: result.source,
        sources: result.sources,
        initiated_by: op.operation.initiated_by.clone(),
        extra: Default::default(),
    });
    let limit = app
        .spec
        .revision_history_limit
        .unwrap_or(DEFAULT_HISTORY_LIMIT)
        .max(1);
    let excess = history
        .len()
        .saturating_sub(usize::try_from(limit).unwrap_or(usize::MAX));
    history.drain(..excess);
    history
}

/// Whether `value` (a JSON operation) asks for a sync at all.
pub fn is_sync(operation: &Operation) -> bool {
    operation.sync.is_some()
}

/// The operation as plain JSON, for comparisons that must ignore field order.
pub fn as_value(operation: &Operation) -> Value {
    serde_json::to_value(operation).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_model::ResourceKey;
    use driftless_model::status::ResultCode;
    use driftless_plan::{Action, ApplyOptions, PlanKind, Step, StepResult};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn app(limit: Option<i64>, history: usize) -> Application {
        let entries: Vec<Value> = (0..history)
            .map(|i| json!({"id": i, "deployedAt": "2024-01-01T00:00:00Z", "revision": format!("r{i}")}))
            .collect();
        let mut spec = json!({"project": "default", "destination": {}, "source": {"repoURL": "u"}});
        if let Some(limit) = limit {
            spec["revisionHistoryLimit"] = json!(limit);
        }
        serde_json::from_value(
            json!({"metadata": {"name": "a"}, "spec": spec, "status": {"history": entries}}),
        )
        .unwrap()
    }

    fn plan() -> Plan {
        Plan {
            app_name: "a".into(),
            kind: PlanKind::Sync,
            dry_run: false,
            steps: vec![Step {
                phase: Phase::Sync,
                wave: 2,
                key: ResourceKey::new("apps", "Deployment", "ns", "web"),
                action: Action::Create,
                object: Some(json!({"apiVersion": "apps/v1", "kind": "Deployment"})),
                options: ApplyOptions::default(),
            }],
            ignored: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn saved_state_round_trips_through_the_operation_state() {
        let a = app(None, 0);
        let mut op = begin(&a, Operation::default(), &["abc".into()], 10);
        let mut state = SyncState::new();
        state.step_results.insert(
            plan().steps[0].id(),
            StepResult {
                phase: Phase::Sync,
                key: plan().steps[0].key.clone(),
                action: "create".into(),
                status: ResultCode::Synced,
                hook_phase: None,
                message: "created".into(),
                settled: false,
                hook_deleted: None,
            },
        );
        record(&mut op, &plan(), &state);
        let stored: OperationState =
            serde_json::from_value(serde_json::to_value(&op).unwrap()).unwrap();
        assert_eq!(saved_state(&stored), Some(state));
        let resources = stored.sync_result.clone().unwrap().resources.unwrap();
        assert_eq!(resources[0].name, "web");
        assert_eq!(resources[0].version, "v1");
        assert_eq!(resources[0].status, Some(ResultCode::Synced));
        assert_eq!(resources[0].sync_wave, Some(2));
        assert_eq!(revisions_of(&stored), vec!["abc".to_string()]);

        let mut done = stored;
        finish(&mut done, OperationPhase::Succeeded, "ok", 20);
        assert_eq!(saved_state(&done), None);
        assert_eq!(done.finished_at, Some(time_of(20)));
    }

    #[test]
    fn history_is_bounded_by_the_revision_history_limit() {
        let a = app(Some(3), 3);
        let op = begin(&a, Operation::default(), &["new".into()], 10);
        let history = push_history(&a, &op, 11);
        let revisions: Vec<_> = history
            .iter()
            .map(|h| h.revision.clone().unwrap())
            .collect();
        assert_eq!(revisions, vec!["r1", "r2", "new"]);
        assert_eq!(history.last().unwrap().id, 3);
        let default_limit = push_history(&app(None, 12), &op, 11);
        assert_eq!(default_limit.len(), 10);
    }
}
