//! Runs a sync plan against the cluster by driving the pure state machine of `driftless-plan`:
//! ask it what to do, do it, tell it what was observed, repeat. The state is handed to the
//! caller after every step, so it can be saved (the controller keeps it in Application.status).

use crate::cluster::{ApplyRequest, ClusterClient, ClusterError};
use crate::tracking::{self, TrackingMethod};
use driftless_health::{CustomChecks, health_of};
use driftless_model::ResourceKey;
use driftless_model::status::{HealthStatusCode, OperationPhase};
use driftless_plan::{
    Action, Next, Observed, Plan, Report, RunPhase, Step, SyncState, WaveId, next,
};
use serde_json::Value;
use std::time::{Duration, Instant};

/// What a sync needs besides the plan.
pub struct SyncContext<'a> {
    pub app: &'a str,
    pub tracking: TrackingMethod,
    pub health: &'a CustomChecks,
    pub field_manager: &'a str,
    /// Time between two looks at objects being waited for.
    pub poll: Duration,
    /// Give up waiting (the state stays Running and can be resumed) after this long.
    pub wait_timeout: Duration,
    /// How many [`SyncEvent::State`]s the caller has saved so far, when it saves them (the
    /// controller does, in the background). Finished hooks are deleted only once the state
    /// that records their completion is saved: a controller killed right after the delete
    /// would otherwise find the hook neither recorded nor present, and run it again.
    pub saved: Option<tokio::sync::watch::Receiver<u64>>,
    /// Set to true when the run must stop at its next safe point (between two steps, never
    /// inside one): it returns [`RunPhase::Running`] with the state reported so far, to be
    /// resumed by whoever runs the app next.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// Told each object an apply wrote, as the API server answered it: the controller's live
    /// cache holds it at once, so the comparison right after the sync need not wait for the
    /// watch to bring it.
    pub written: Option<&'a (dyn Fn(&Value) + Send + Sync)>,
}

/// Whether the caller asked the run to stop.
fn stop_asked(ctx: &SyncContext<'_>) -> bool {
    ctx.stop.as_ref().is_some_and(|stop| *stop.borrow())
}

/// Sleeps `period`, or less when the caller asks the run to stop meanwhile.
async fn pause(ctx: &SyncContext<'_>, period: Duration) {
    match ctx.stop.clone() {
        Some(mut stop) => {
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                _ = stop.wait_for(|asked| *asked) => {}
            }
        }
        None => tokio::time::sleep(period).await,
    }
}

/// Progress of a sync, for a live display or a log.
#[derive(Debug, Clone)]
pub enum SyncEvent {
    Done {
        step: Step,
        ok: bool,
        message: String,
    },
    Waiting {
        pending: Vec<(ResourceKey, String)>,
    },
    State(SyncState),
}

/// Runs `plan` from `state` until the sync ends. Returns the final phase; on a wait that
/// times out it returns an error and `state` is left Running, to be resumed.
pub async fn run_sync(
    cluster: &ClusterClient,
    plan: &Plan,
    state: &mut SyncState,
    ctx: &SyncContext<'_>,
    on_event: &mut (dyn FnMut(SyncEvent) + Send),
) -> Result<RunPhase, ClusterError> {
    let mut observed = Observed::default();
    let mut waiting_since: Option<Instant> = None;
    let mut reported: u64 = 0;
    // One span per wave, open while the sync is in it (its duration is the wave's).
    let mut wave_span: Option<(WaveId, tracing::Span)> = None;
    loop {
        let step = next(plan, state, &observed);
        if let Some(wave) = state.current.and_then(|c| c.wave)
            && wave_span.as_ref().map(|(w, _)| w) != Some(&wave)
        {
            let span =
                tracing::info_span!("wave", app = %ctx.app, phase = %wave.phase, wave = wave.wave);
            wave_span = Some((wave, span));
        }
        on_event(SyncEvent::State(state.clone()));
        reported += 1;
        observed = Observed::default();
        if matches!(step, Next::DeleteHooks { .. })
            && let Some(saved) = &ctx.saved
        {
            // A caller that stopped saving (its receiver gone) cannot be waited for.
            let _ = saved.clone().wait_for(|n| *n >= reported).await;
        }
        if stop_asked(ctx) && !matches!(step, Next::Done(_)) {
            // The state just reported records every step done so far: a safe point.
            return Ok(RunPhase::Running);
        }
        match step {
            Next::Done(phase) => return Ok(phase),
            Next::Prune { steps } | Next::DeleteHooks { steps } => {
                for step in steps {
                    let result = cluster.delete(&step.key, step.options.propagation).await;
                    let report = report(&step, result.map(|()| "deleted".to_string()), on_event);
                    observed.results.push(report);
                }
                waiting_since = None;
            }
            Next::Apply { steps } => {
                let results = apply_all(cluster, &steps, ctx, false).await;
                for (step, result) in steps.iter().zip(results) {
                    observed.results.push(report(step, result, on_event));
                }
                waiting_since = None;
            }
            Next::RunHooks { steps } => {
                for step in steps {
                    let result = run_hook(cluster, &step, ctx).await;
                    observed.results.push(report(&step, result, on_event));
                }
                waiting_since = None;
            }
            Next::Wait {
                healthy,
                hooks,
                deleted,
            } => {
                match waiting_since {
                    None => waiting_since = Some(Instant::now()),
                    Some(since) if since.elapsed() > ctx.wait_timeout => {
                        let pending = healthy.iter().chain(&hooks).chain(&deleted).cloned();
                        return Err(ClusterError::WaitTimeout {
                            timeout: ctx.wait_timeout,
                            pending: pending.collect(),
                        });
                    }
                    Some(_) => pause(ctx, ctx.poll).await,
                }
                let mut pending = Vec::new();
                for key in &healthy {
                    let code = match cluster.get(key).await? {
                        Some(obj) => health_code(&obj, ctx.health),
                        None => HealthStatusCode::Missing,
                    };
                    if code != HealthStatusCode::Healthy {
                        pending.push((key.clone(), code.to_string()));
                    }
                    observed.health.push((key.clone(), code));
                }
                for key in &hooks {
                    let phase = match cluster.get(key).await? {
                        Some(obj) => hook_phase(&obj, ctx.health),
                        // A hook deleted by someone else while running cannot be judged: fail it.
                        None => OperationPhase::Failed,
                    };
                    if !phase.is_completed() {
                        pending.push((key.clone(), "hook running".into()));
                    }
                    observed.hooks.push((key.clone(), phase));
                }
                for key in &deleted {
                    if cluster.get(key).await?.is_none() {
                        observed.deleted.push(key.clone());
                    } else {
                        pending.push((key.clone(), "deleting".into()));
                    }
                }
                if !pending.is_empty() {
                    on_event(SyncEvent::Waiting { pending });
                }
            }
        }
    }
}

fn report(
    step: &Step,
    result: Result<String, ClusterError>,
    on_event: &mut (dyn FnMut(SyncEvent) + Send),
) -> Report {
    let (ok, message) = match result {
        Ok(message) => (true, message),
        Err(err) => (false, err.to_string()),
    };
    on_event(SyncEvent::Done {
        step: step.clone(),
        ok,
        message: message.clone(),
    });
    if ok {
        Report::ok(step, message)
    } else {
        Report::failed(step, message)
    }
}

/// How many objects of one wave are applied (or dry-run) at once.
const APPLY_CONCURRENCY: usize = 8;

/// Applies (or dry-runs) each step, the ones others may need first (Namespaces, CRDs) before
/// the rest, which run [`APPLY_CONCURRENCY`] at a time; results come back in the steps' order.
async fn apply_all(
    cluster: &ClusterClient,
    steps: &[Step],
    ctx: &SyncContext<'_>,
    dry_run: bool,
) -> Vec<Result<String, ClusterError>> {
    use futures::StreamExt;
    let first = |s: &Step| {
        (s.key.group.is_empty() && s.key.kind == "Namespace")
            || (s.key.group == "apiextensions.k8s.io" && s.key.kind == "CustomResourceDefinition")
    };
    let mut results: Vec<Option<Result<String, ClusterError>>> =
        steps.iter().map(|_| None).collect();
    for prerequisites in [true, false] {
        let batch: Vec<(usize, &Step)> = steps
            .iter()
            .enumerate()
            .filter(|(_, s)| first(s) == prerequisites)
            .collect();
        // Boxed one by one, not made by a closure in the stream: a closure's future would
        // not be `Send` for every lifetime the controller's task needs.
        let mut runs: Vec<futures::future::BoxFuture<'_, (usize, Result<String, ClusterError>)>> =
            Vec::with_capacity(batch.len());
        for (i, step) in batch {
            runs.push(Box::pin(async move {
                (i, apply_step(cluster, step, ctx, dry_run).await)
            }));
        }
        let done: Vec<(usize, Result<String, ClusterError>)> = futures::stream::iter(runs)
            .buffer_unordered(APPLY_CONCURRENCY)
            .collect()
            .await;
        for (i, result) in done {
            results[i] = Some(result);
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Ok("nothing to apply".into())))
        .collect()
}

async fn apply_step(
    cluster: &ClusterClient,
    step: &Step,
    ctx: &SyncContext<'_>,
    dry_run: bool,
) -> Result<String, ClusterError> {
    let Some(object) = &step.object else {
        return Ok("nothing to apply".into());
    };
    let mut object = object.clone();
    // A namespace made by CreateNamespace=true is not the app's: it is never pruned.
    if step.action != Action::CreateNamespace {
        tracking::stamp(&mut object, ctx.app, ctx.tracking);
    }
    let req = ApplyRequest {
        object: &object,
        options: &step.options,
        field_manager: ctx.field_manager,
        dry_run,
    };
    let written = cluster.apply(&req).await?;
    if let (false, Some(tell)) = (dry_run, ctx.written) {
        tell(&written);
    }
    Ok(match step.action {
        Action::Create | Action::CreateNamespace => "created",
        Action::Update => "configured",
        _ => "unchanged",
    }
    .into())
}

async fn run_hook(
    cluster: &ClusterClient,
    step: &Step,
    ctx: &SyncContext<'_>,
) -> Result<String, ClusterError> {
    let Some(object) = &step.object else {
        return Ok("nothing to run".into());
    };
    let mut object = object.clone();
    tracking::stamp(&mut object, ctx.app, ctx.tracking);
    let before_creation = matches!(&step.action, Action::Hook { delete_policies, .. }
        if delete_policies.iter().any(|p| p.as_str() == "BeforeHookCreation"));
    if let Some(live) = cluster.get(&step.key).await? {
        // Created earlier by this operation (a resumed sync): never run it twice. A live copy
        // from an earlier operation is replaced only when BeforeHookCreation says so.
        if !before_creation || driftless_plan::created_by_same_operation(&live, &object) {
            return Ok("hook already created".into());
        }
        cluster
            .delete(&step.key, driftless_plan::DeletePropagation::Foreground)
            .await?;
        let deadline = Instant::now() + ctx.wait_timeout;
        while cluster.get(&step.key).await?.is_some() && Instant::now() < deadline {
            tokio::time::sleep(ctx.poll).await;
        }
    }
    cluster.create(&object).await?;
    Ok("hook created".into())
}

/// Health as the wave wait sees it: an object with no health check counts as Healthy.
pub fn health_code(obj: &Value, custom: &CustomChecks) -> HealthStatusCode {
    match health_of(obj, custom) {
        None => HealthStatusCode::Healthy,
        Some(h) => serde_json::from_value(Value::String(h.status.to_string()))
            .unwrap_or(HealthStatusCode::Unknown),
    }
}

/// Where a hook is in its life: Jobs and Pods by their status, other kinds by health.
pub fn hook_phase(obj: &Value, custom: &CustomChecks) -> OperationPhase {
    let kind = obj["kind"].as_str().unwrap_or_default();
    if kind == "Pod" {
        return match obj["status"]["phase"].as_str() {
            Some("Succeeded") => OperationPhase::Succeeded,
            Some("Failed") => OperationPhase::Failed,
            _ => OperationPhase::Running,
        };
    }
    match health_code(obj, custom) {
        HealthStatusCode::Healthy => OperationPhase::Succeeded,
        HealthStatusCode::Degraded => OperationPhase::Failed,
        _ => OperationPhase::Running,
    }
}

/// Dry-runs every object the plan applies, before anything changes, as Argo CD does: one bad
/// object fails the sync up front instead of half-way. A kind the server does not serve yet is
/// let through when the plan says so (`SkipDryRunOnMissingResource=true`, or its CRD is part of
/// the same sync). Returns each object the server rejected, with its message. Callers ask for
/// it where it can keep something from happening (`Plan::dry_run_guards_anything`).
pub async fn dry_run_plan(
    cluster: &ClusterClient,
    plan: &Plan,
    ctx: &SyncContext<'_>,
) -> Vec<(ResourceKey, String)> {
    let steps: Vec<Step> = plan
        .steps
        .iter()
        .filter(|s| s.action.is_apply() && s.object.is_some())
        .cloned()
        .collect();
    let results = apply_all(cluster, &steps, ctx, true).await;
    let mut rejected = Vec::new();
    for (step, result) in steps.iter().zip(results) {
        match result {
            Ok(_) => {}
            Err(ClusterError::Catalog(_)) if step.options.skip_dry_run_on_missing_resource => {}
            // A namespace created by this very sync does not exist yet for the dry run.
            Err(ClusterError::Api { code: 404, .. }) if step.key.namespace_created_by(plan) => {}
            Err(err) => rejected.push((step.key.clone(), err.to_string())),
        }
    }
    rejected
}

trait CreatedBy {
    fn namespace_created_by(&self, plan: &Plan) -> bool;
}

impl CreatedBy for ResourceKey {
    fn namespace_created_by(&self, plan: &Plan) -> bool {
        plan.steps.iter().any(|s| {
            s.action.is_apply()
                && s.key.group.is_empty()
                && s.key.kind == "Namespace"
                && s.key.name == self.namespace
        })
    }
}

/// Objects the plan applies that are live but tracked by another app, with that app's name:
/// a warning, or with `FailOnSharedResource=true` a reason not to sync at all.
pub async fn shared_resources(
    cluster: &ClusterClient,
    plan: &Plan,
    tracked: &[Value],
    app: &str,
    method: TrackingMethod,
) -> Vec<(ResourceKey, String)> {
    let ours: std::collections::BTreeSet<ResourceKey> = tracked
        .iter()
        .filter_map(|o| ResourceKey::of(o).ok())
        .collect();
    let mut shared = Vec::new();
    for step in plan
        .steps
        .iter()
        .filter(|s| s.action.is_apply() && !ours.contains(&s.key))
    {
        let Ok(Some(live)) = cluster.get(&step.key).await else {
            continue;
        };
        if let Some(owner) = tracking::owner(&live, method).filter(|o| o != app) {
            shared.push((step.key.clone(), owner));
        }
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_hook_phase_follows_its_conditions() {
        let custom = CustomChecks::default();
        let running = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "status": {"active": 1}});
        let done = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}});
        let failed = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}});
        assert_eq!(hook_phase(&running, &custom), OperationPhase::Running);
        assert_eq!(hook_phase(&done, &custom), OperationPhase::Succeeded);
        assert_eq!(hook_phase(&failed, &custom), OperationPhase::Failed);
    }

    #[test]
    fn objects_without_health_checks_count_as_healthy() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert_eq!(
            health_code(&cm, &CustomChecks::default()),
            HealthStatusCode::Healthy
        );
    }
}
