//! Running a sync operation: plan it from the comparison, drive the plan with
//! `driftless_apply::run_sync`, and save the sync state into `status.operationState` after
//! every step, so that a controller killed mid-sync resumes where it stopped. Failed syncs
//! are retried with the operation's backoff; the outcome lands in `operationState`, the
//! deploy history and, for a requested operation, the removal of `Application.operation`.

use crate::app_loop::comparison::{Prepared, refusal_message};
use crate::app_loop::status_writer::StatusWriter;
use crate::runtime::clock::now_secs;
use crate::runtime::context::Context;
use driftless_apply::{ClusterClient, ClusterError, SyncContext, SyncEvent, run_sync};
use driftless_decisions::compare::Judging;
use driftless_decisions::operation;
use driftless_decisions::time::secs_of;
use driftless_model::annotations::FIELD_MANAGER;
use driftless_model::{Application, ApplicationStatus, Operation, OperationPhase, OperationState};
use driftless_plan::{Plan, PlanInput, ResourceSelector, RunPhase, SyncState, plan_sync};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::SemaphorePermit;

pub enum Start {
    Fresh {
        operation: Box<Operation>,
        requested: bool,
    },
    /// Continue the Running operation saved in the status.
    Resume,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncRunError {
    #[error("failed to record the operation of application {app}: {source}")]
    Write { app: String, source: kube::Error },
    #[error("failed to remove the finished operation request of application {app}: {source}")]
    ClearRequest { app: String, source: kube::Error },
    #[error(
        "sync of application {app} was interrupted ({message}); it resumes from the saved state"
    )]
    Interrupted { app: String, message: String },
}

struct Run<'a> {
    ctx: &'a Arc<Context>,
    app: &'a Application,
    name: String,
    writer: &'a mut StatusWriter,
    status: ApplicationStatus,
    op: OperationState,
    /// Whether the operation came from `Application.operation`, which ending it removes.
    requested: bool,
    /// An automated operation not written yet: its start is written only if its plan waits on
    /// something (see [`Plan::progress_worth_saving`]); a few applies write only their end.
    start_unsaved: bool,
    /// The deletion hooks of what a successful run deployed, for its history entry.
    deletion_hooks: Option<Vec<String>>,
    /// The comparison slot the reconcile held, kept while the sync cannot wait on anything
    /// (one wave of plain objects: a few applies) so that no more syncs are under way at once
    /// than comparisons; given back before anything that waits.
    slot: Option<SemaphorePermit<'a>>,
}

impl Run<'_> {
    async fn save(&mut self) -> Result<(), SyncRunError> {
        self.start_unsaved = false;
        self.status.operation_state = Some(Box::new(self.op.clone()));
        self.writer
            .write(&self.status)
            .await
            .map(|_| ())
            .map_err(|source| SyncRunError::Write {
                app: self.name.clone(),
                source,
            })
    }

    async fn finish(&mut self, phase: OperationPhase, message: String) -> Result<(), SyncRunError> {
        let now = now_secs();
        tracing::info!(app = %self.name, %phase, %message, "operation finished");
        operation::finish(&mut self.op, phase.clone(), message, now);
        if phase == OperationPhase::Succeeded
            && self.op.operation.sync.as_ref().and_then(|s| s.dry_run) != Some(true)
        {
            let mut history = operation::push_history(self.app, &self.op, now);
            if let (Some(deployed), Some(hooks)) = (history.last_mut(), self.deletion_hooks.take())
            {
                deployed.set_deletion_hooks(hooks);
            }
            self.status.history = Some(history);
        }
        if self.requested {
            clear(self.ctx, &self.name).await?;
        }
        if self.start_unsaved && !self.ctx.stopping(&self.name) {
            // A quick automated sync: its outcome goes out with the comparison that follows
            // at once (see `reconcile`), one write for both. A controller stopped meanwhile
            // loses it; the next one syncs again, a few applies that change nothing.
            self.status.operation_state = Some(Box::new(self.op.clone()));
            crate::runtime::mutex::lock(&self.ctx.unwritten)
                .insert(self.name.clone(), self.status.clone());
            return Ok(());
        }
        self.save().await
    }
}

/// Runs (or resumes) an operation to its end. `prepared`: the comparison just made.
pub async fn run<'a>(
    ctx: &'a Arc<Context>,
    app: &'a Application,
    writer: &'a mut StatusWriter,
    prepared: Option<&Prepared>,
    start: Start,
    slot: Option<SemaphorePermit<'a>>,
) -> Result<(), SyncRunError> {
    use tracing::Instrument;
    let span = crate::runtime::telemetry::sync_span(&ctx.key_of(app));
    run_traced(ctx, app, writer, prepared, start, slot)
        .instrument(span)
        .await
}

async fn run_traced<'a>(
    ctx: &'a Arc<Context>,
    app: &'a Application,
    writer: &'a mut StatusWriter,
    prepared: Option<&Prepared>,
    start: Start,
    slot: Option<SemaphorePermit<'a>>,
) -> Result<(), SyncRunError> {
    let name = ctx.key_of(app);
    let status = writer.base().clone();
    let (op, requested, fresh) = match start {
        Start::Fresh {
            operation,
            requested,
        } => {
            let operation = *operation;
            let revisions = match operation_revisions(ctx, app, &operation, prepared).await {
                Ok(revisions) => revisions,
                Err(message) => {
                    return refuse(ctx, app, writer, operation, requested, message).await;
                }
            };
            (
                operation::begin(app, operation, &revisions, now_secs()),
                requested,
                true,
            )
        }
        Start::Resume => {
            let Some(op) = status.operation_state.clone().map(|op| *op) else {
                return Ok(());
            };
            let requested = app.operation.as_deref() == Some(&op.operation);
            (op, requested, false)
        }
    };
    let revisions = operation::revisions_of(&op);
    tracing::Span::current().record("revision", revisions.join(",").as_str());
    tracing::info!(app = %name, resumed = !fresh, ?revisions, "operation started");
    let mut run = Run {
        ctx,
        app,
        name: name.clone(),
        writer,
        status,
        op,
        requested,
        start_unsaved: fresh && !requested,
        deletion_hooks: None,
        slot,
    };
    if !run.start_unsaved {
        run.save().await?;
    }
    drive(&mut run, prepared).await
}

/// What an operation ended by `terminate-op` says (Argo CD's words).
pub const TERMINATED: &str = "Operation terminated";

/// Ends the operation in `status.operationState` as Failed, [`TERMINATED`], when no sync of
/// this controller runs it (one that runs stops itself at its next step: [`drive`]).
pub async fn terminate(
    ctx: &Arc<Context>,
    app: &Application,
    writer: &mut StatusWriter,
) -> Result<(), SyncRunError> {
    let name = ctx.key_of(app);
    let status = writer.base().clone();
    let Some(op) = status.operation_state.clone().map(|op| *op) else {
        return Ok(());
    };
    let mut run = Run {
        ctx,
        app,
        name,
        writer,
        status,
        op,
        requested: app.operation.is_some(),
        start_unsaved: false,
        deletion_hooks: None,
        slot: None,
    };
    run.finish(OperationPhase::Failed, TERMINATED.into()).await
}

/// Records `operation` as ended in Error with `message`, without touching any object (and
/// removes it from `Application.operation` when it was requested there).
pub async fn refuse(
    ctx: &Arc<Context>,
    app: &Application,
    writer: &mut StatusWriter,
    operation: Operation,
    requested: bool,
    message: String,
) -> Result<(), SyncRunError> {
    let name = ctx.key_of(app);
    let mut op = operation::begin(app, operation, &[], now_secs());
    operation::finish(&mut op, OperationPhase::Error, message, now_secs());
    let mut status = writer.base().clone();
    status.operation_state = Some(Box::new(op));
    if requested {
        clear(ctx, &name).await?;
    }
    writer
        .write(&status)
        .await
        .map(|_| ())
        .map_err(|source| SyncRunError::Write { app: name, source })
}

/// Records `operation` as Running but held back by a sync window (Argo CD's "Sync operation
/// blocked by sync window"): nothing is touched; it is resumed once the window permits it.
/// A Running operation held again only gets its message updated.
pub async fn hold(
    ctx: &Arc<Context>,
    app: &Application,
    writer: &mut StatusWriter,
    prepared: Option<&Prepared>,
    operation: Option<Operation>,
    why: &str,
) -> Result<(), SyncRunError> {
    let name = ctx.key_of(app);
    let message = format!("{}: {why}", driftless_decisions::sync_windows::BLOCKED);
    let mut status = writer.base().clone();
    let op = match (operation, status.operation_state.take()) {
        (Some(operation), _) => {
            let revisions = match operation_revisions(ctx, app, &operation, prepared).await {
                Ok(revisions) => revisions,
                Err(error) => return refuse(ctx, app, writer, operation, true, error).await,
            };
            operation::begin(app, operation, &revisions, now_secs())
        }
        (None, Some(running)) => *running,
        (None, None) => return Ok(()),
    };
    if op.message.as_deref() == Some(message.as_str())
        && writer.current().operation_state.as_deref() == Some(&op)
    {
        return Ok(());
    }
    let mut op = op;
    op.message = Some(message);
    status.operation_state = Some(Box::new(op));
    writer
        .write(&status)
        .await
        .map_err(|source| SyncRunError::Write { app: name, source })?;
    Ok(())
}

/// Removes the requested operation before its end is written: a request that is still there
/// once an operation ended is a new one (see [`driftless_decisions::decide`]). When the removal fails the end
/// is not written either, and the run is resumed and ended again.
async fn clear(ctx: &Context, name: &str) -> Result<(), SyncRunError> {
    ctx.app_object(name)
        .clear_operation()
        .await
        .map_err(|source| SyncRunError::ClearRequest {
            app: name.to_string(),
            source,
        })
}

/// The commits a new operation deploys: what it names (resolved), else what was compared.
async fn operation_revisions(
    ctx: &Context,
    app: &Application,
    operation: &Operation,
    prepared: Option<&Prepared>,
) -> Result<Vec<String>, String> {
    let target = effective_app(app, operation);
    let sync = operation.sync.clone().unwrap_or_default();
    let named: Vec<String> = match (&sync.revisions, &sync.revision) {
        (Some(list), _) if !list.is_empty() => list.clone(),
        (_, Some(one)) if !one.is_empty() => vec![one.clone()],
        _ => Vec::new(),
    };
    if named.is_empty()
        && let Some(prepared) = prepared.filter(|_| target.spec == app.spec)
    {
        return Ok(prepared.revisions.clone());
    }
    let mut revisions = Vec::new();
    for (index, source) in target.sources().iter().enumerate() {
        let revision = named
            .get(index)
            .cloned()
            .unwrap_or_else(|| driftless_render::revision_of(source).to_string());
        revisions.push(
            crate::app_loop::comparison::resolve_revision(ctx, &target, source, &revision, false)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(revisions)
}

/// The app as the operation syncs it: with the operation's source override, if any (rollback).
fn effective_app(app: &Application, operation: &Operation) -> Application {
    let mut target = app.clone();
    if let Some(sync) = &operation.sync {
        if let Some(source) = &sync.source {
            target.spec.source = Some(source.clone());
            target.spec.sources = None;
        } else if let Some(sources) = sync.sources.as_ref().filter(|s| !s.is_empty()) {
            target.spec.sources = Some(sources.clone());
        }
    }
    target
}

async fn drive(run: &mut Run<'_>, prepared: Option<&Prepared>) -> Result<(), SyncRunError> {
    let mut resume_from = operation::saved_state(&run.op);
    // The reconcile's comparison serves the first attempt; later ones look at the cluster again.
    let mut first_attempt = true;
    loop {
        let revisions = operation::revisions_of(&run.op);
        let target = effective_app(run.app, &run.op.operation);
        let fresh_prepared;
        let reusable = prepared
            .filter(|p| first_attempt && p.revisions == revisions && target.spec == run.app.spec);
        first_attempt = false;
        let prepared = match reusable {
            Some(p) => p,
            None => {
                match crate::app_loop::comparison::prepare(
                    run.ctx,
                    &target,
                    revisions.clone(),
                    false,
                )
                .await
                {
                    Ok(p) => {
                        fresh_prepared = p;
                        &fresh_prepared
                    }
                    Err(error) => {
                        return run.finish(OperationPhase::Error, error.to_string()).await;
                    }
                }
            }
        };
        if !prepared.refused.is_empty() {
            let message = refusal_message(&prepared.refused);
            return run.finish(OperationPhase::Failed, message).await;
        }
        let cluster = match &prepared.sync_as {
            Ok(account) => run
                .ctx
                .destinations
                .writer(&prepared.target, account.as_ref())
                .await
                .map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        let cluster = match cluster {
            Ok(cluster) => cluster,
            Err(message) => return run.finish(OperationPhase::Failed, message).await,
        };
        let mut input = match plan_input(&target, &run.op, prepared, &run.ctx.judging) {
            Ok(input) => input,
            Err(message) => return run.finish(OperationPhase::Failed, message).await,
        };
        input.destination_namespace_exists = destination_namespace_exists(prepared, &input).await;
        let plan = match plan_sync(&input) {
            Ok(plan) => plan,
            Err(error) => return run.finish(OperationPhase::Failed, error.to_string()).await,
        };
        if plan.progress_worth_saving() {
            // Waves wait for health and hooks for their end: no comparison slot held meanwhile
            // (a parent's sync may wait for the children's comparisons).
            run.slot = None;
            if run.start_unsaved {
                run.save().await?;
            }
        }
        if plan.dry_run {
            return run
                .finish(OperationPhase::Succeeded, "dry run: nothing changed".into())
                .await;
        }
        let resumed = resume_from.is_some();
        let mut state = resume_from.take().unwrap_or_default();
        let refusal = if resumed {
            None
        } else {
            refused(run, &cluster, &plan, &input).await
        };
        if let Some(message) = refusal {
            state.message = message;
        } else {
            // Asked to terminate: the run stops between two of its requests, with what it did
            // recorded, as a killed controller would.
            let ctx = run.ctx;
            let terminated = ctx.terminations.register(&run.name);
            let outcome = tokio::select! {
                outcome = persisted_run(run, &cluster, &plan, &mut state, prepared) => Some(outcome),
                () = terminated.notified() => None,
            };
            let Some(outcome) = outcome else {
                operation::record(&mut run.op, &plan, &state);
                return run.finish(OperationPhase::Failed, TERMINATED.into()).await;
            };
            match outcome {
                Ok(RunPhase::Succeeded) => {
                    run.deletion_hooks = Some(crate::app_loop::delete::deletion_hooks_of(
                        &prepared.desired,
                    ));
                    return run
                        .finish(OperationPhase::Succeeded, state.message.clone())
                        .await;
                }
                Ok(RunPhase::Running) => {
                    // The controller is stopping: the operation stays Running with its progress
                    // saved, for whoever reconciles the app next to resume.
                    tracing::info!(app = %run.name, "sync stopped at a safe point; it resumes from the saved state");
                    return run.save().await;
                }
                Ok(RunPhase::Failed) if resumed && state.stale_resume => {
                    // The plan changed under the saved state (objects already pruned, say): start over.
                    tracing::info!(app = %run.name, "saved sync state does not fit the plan any more; syncing from the start");
                    operation::forget_state(&mut run.op);
                    continue;
                }
                Ok(_) => {}
                Err(timeout @ ClusterError::WaitTimeout { .. }) => {
                    state.message = timeout.to_string();
                }
                Err(error) => {
                    run.save().await?;
                    return Err(SyncRunError::Interrupted {
                        app: run.name.clone(),
                        message: error.to_string(),
                    });
                }
            }
        }
        // Failed: retry with backoff while the operation's retry strategy allows.
        let retries = run.op.retry_count.unwrap_or(0);
        let retry = run
            .op
            .operation
            .retry
            .clone()
            .filter(|r| r.allows_retry(retries));
        let Some(retry) = retry else {
            return run
                .finish(OperationPhase::Failed, state.message.clone())
                .await;
        };
        let delay = retry
            .delay(u32::try_from(retries).unwrap_or(u32::MAX))
            .unwrap_or(Duration::from_secs(5));
        run.op.retry_count = Some(retries + 1);
        run.op.message = Some(format!(
            "Retrying attempt #{} in {delay:?}: {}",
            retries + 1,
            state.message
        ));
        operation::forget_state(&mut run.op);
        run.save().await?;
        run.slot = None;
        if !crate::runtime::shutdown::pause_unless(run.ctx.stop_signal(&run.name), delay).await {
            // Stopping: the retry is resumed (after its backoff) by whoever runs the app next.
            return Ok(());
        }
    }
}

/// Why a sync must not start at all: objects owned by another app with
/// `FailOnSharedResource=true`, or objects the API server rejects in a dry run (so that one bad
/// object fails the sync before a hook ran, an object was pruned or an earlier wave applied,
/// as Argo CD does). A plan with none of those is not dry-run: its applies are the test.
async fn refused(
    run: &Run<'_>,
    cluster: &ClusterClient,
    plan: &Plan,
    input: &PlanInput,
) -> Option<String> {
    let ctx = run.ctx;
    let options =
        driftless_model::SyncOptions::parse(input.sync_options.iter().map(String::as_str));
    if options.fail_on_shared_resource == Some(true) {
        let shared = driftless_apply::shared_resources(
            cluster,
            plan,
            &input.live,
            &run.name,
            ctx.config.tracking,
        )
        .await;
        if let Some((key, owner)) = shared.first() {
            return Some(format!(
                "{key} is part of applications {} and {owner} (FailOnSharedResource=true)",
                run.name
            ));
        }
    }
    if !plan.dry_run_guards_anything() {
        return None;
    }
    let sync_ctx = sync_context(ctx, &run.name);
    let rejected = driftless_apply::dry_run_plan(cluster, plan, &sync_ctx).await;
    if rejected.is_empty() {
        return None;
    }
    let list: Vec<String> = rejected
        .iter()
        .map(|(key, message)| format!("{key}: {message}"))
        .collect();
    Some(format!(
        "the API server rejected {} object(s) in a dry run; nothing was changed: {}",
        rejected.len(),
        list.join("; ")
    ))
}

/// How the app's syncs (and deletions) run against the cluster.
pub(crate) fn sync_context<'a>(ctx: &'a Context, app: &'a str) -> SyncContext<'a> {
    SyncContext {
        app,
        tracking: ctx.config.tracking,
        health: &ctx.judging.checks,
        field_manager: FIELD_MANAGER,
        poll: ctx.config.sync_poll,
        wait_timeout: ctx.config.sync_timeout,
        saved: None,
        stop: Some(ctx.stop_signal(app)),
        written: None,
    }
}

/// With `RespectIgnoreDifferences=true`, ignored fields of objects that exist keep their live values.
fn respect_ignored(
    app: &Application,
    desired: &[Value],
    live: &[Value],
    options: &[String],
    judging: &Judging,
) -> Result<Vec<Value>, String> {
    let parsed = driftless_model::SyncOptions::parse(options.iter().map(String::as_str));
    if parsed.respect_ignore_differences != Some(true) {
        return Ok(desired.to_vec());
    }
    let mut rules = driftless_decisions::compare::ignore_rules(app);
    rules.extend(judging.ignore.iter().cloned());
    let rules = driftless_diff::IgnoreRules::new(&rules).map_err(|e| e.to_string())?;
    Ok(driftless_diff::respect_ignored_all(&rules, desired, live))
}

fn plan_input(
    app: &Application,
    op: &OperationState,
    prepared: &Prepared,
    judging: &Judging,
) -> Result<PlanInput, String> {
    let policy = app.spec.sync_policy.clone().unwrap_or_default();
    let sync = op.operation.sync.clone().unwrap_or_default();
    let mut sync_options = policy.sync_options.clone().unwrap_or_default();
    for option in sync.sync_options.iter().flatten() {
        if !sync_options.contains(option) {
            sync_options.push(option.clone());
        }
    }
    let strategy = sync.sync_strategy.clone().unwrap_or_default();
    let force = [&strategy.apply, &strategy.hook]
        .iter()
        .any(|s| s.as_ref().and_then(|a| a.force) == Some(true));
    if force && !sync_options.iter().any(|o| o == "Force=true") {
        sync_options.push("Force=true".into());
    }
    let desired = respect_ignored(
        app,
        &prepared.desired,
        &prepared.live,
        &sync_options,
        judging,
    )?;
    Ok(PlanInput {
        app_name: app.metadata.name.clone().unwrap_or_default(),
        desired,
        live: prepared.live.clone(),
        out_of_sync: prepared.comparison.out_of_sync.clone(),
        sync_options,
        prune: sync.prune.unwrap_or(false),
        prune_confirmed: false,
        allow_empty: policy
            .automated
            .as_ref()
            .and_then(|a| a.allow_empty)
            .unwrap_or(false),
        dry_run: sync.dry_run.unwrap_or(false),
        skip_hooks: strategy.apply.is_some(),
        resources: sync
            .resources
            .iter()
            .flatten()
            .map(ResourceSelector::from)
            .collect(),
        destination_namespace: app.spec.destination.namespace.clone().unwrap_or_default(),
        destination_namespace_exists: false,
        managed_namespace_metadata: policy.managed_namespace_metadata.clone(),
        revision: prepared.revisions.first().cloned().unwrap_or_default(),
        started_at: secs_of(&op.started_at),
    })
}

/// Whether the plan may take the destination namespace as existing (asked of the namespace
/// watch only when `CreateNamespace=true` needs to know).
async fn destination_namespace_exists(prepared: &Prepared, input: &PlanInput) -> bool {
    let options =
        driftless_model::SyncOptions::parse(input.sync_options.iter().map(String::as_str));
    if options.create_namespace != Some(true) || input.destination_namespace.is_empty() {
        return false;
    }
    let namespaces = &prepared.target.namespaces;
    namespaces.exists(&input.destination_namespace).await == Some(true)
}

/// Runs the plan from `state`, writing the state to the status whenever it changes.
async fn persisted_run(
    run: &mut Run<'_>,
    cluster: &ClusterClient,
    plan: &Plan,
    state: &mut SyncState,
    prepared: &Prepared,
) -> Result<RunPhase, ClusterError> {
    // The n-th state reported goes out as (n, state); `saved` says up to which n is written.
    let (tx, mut rx) = tokio::sync::watch::channel((0u64, state.clone()));
    let (saved_tx, saved_rx) = tokio::sync::watch::channel(0u64);
    let ctx = run.ctx;
    let mut sync_ctx = sync_context(ctx, &run.name);
    sync_ctx.saved = Some(saved_rx);
    let live_cache = &prepared.target.live;
    let hold_written = |object: &Value| live_cache.written(object);
    sync_ctx.written = Some(&hold_written);
    let live = &prepared.live;
    let app_name = run.name.clone();
    let audit =
        crate::audit::steps::StepAudit::new(&ctx.audit, run.app, &ctx.judging, &run.op, live);
    let drive = async {
        let mut sent = 0u64;
        let mut on_event = move |event: SyncEvent| match event {
            SyncEvent::State(s) => {
                sent += 1;
                let _ = tx.send((sent, s));
            }
            SyncEvent::Done { step, ok, message } => {
                tracing::info!(app = %app_name, step = %step.key, action = step.action.name(), ok, %message, "sync step");
                if let Some(audit) = &audit {
                    audit.step_done(&step, ok, &message);
                }
            }
            SyncEvent::Waiting { pending } => tracing::debug!(app = %app_name, ?pending, "waiting"),
        };
        run_sync(cluster, plan, state, &sync_ctx, &mut on_event).await
    };
    let op = &mut run.op;
    let status = &mut run.status;
    let writer = &mut *run.writer;
    let save_progress = plan.progress_worth_saving();
    let persist = async {
        while rx.changed().await.is_ok() {
            let (n, latest) = rx.borrow_and_update().clone();
            if !save_progress {
                // The operation's start and end are saved by the run; nothing between matters.
                let _ = saved_tx.send(n);
                continue;
            }
            operation::record(op, plan, &latest);
            status.operation_state = Some(Box::new(op.clone()));
            // The run waits for this before deleting finished hooks: retried for a minute
            // while nothing newer is reported (an API server restarting), then given up on.
            let mut tries = 0;
            while let Err(error) = writer.write(status).await {
                tracing::warn!(%error, "cannot save the sync state");
                tries += 1;
                if tries >= 60 || rx.has_changed().unwrap_or(true) {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let _ = saved_tx.send(n);
        }
    };
    let (outcome, ()) = tokio::join!(drive, persist);
    operation::record(&mut run.op, plan, state);
    outcome
}
