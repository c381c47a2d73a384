//! One reconcile of one Application: read it, compare it with git (resolve revisions, render,
//! read the live cache, diff), write the status if it changed, then run whatever operation is
//! due. A failure to compare is a condition on the app, never a reason to touch its objects.

use crate::app_loop::comparison::{Prepared, prepare_on, resolve_revision};
use crate::app_loop::status_writer::{AppObject, StatusWriter};
use crate::app_loop::sync::{self, Start};
use crate::clusters::destinations::DestinationError;
use crate::runtime::clock::now_secs;
use crate::runtime::context::Context;
use driftless_decisions::app_key::Key;
use driftless_decisions::conditions::{self, Found};
use driftless_decisions::decide::{Decision, Facts, decide};
use driftless_decisions::depends;
use driftless_decisions::project_scope::ProjectScope;
use driftless_decisions::status::{Outcome, digest, next_status};
use driftless_decisions::sync_loop::Drift;
use driftless_decisions::validate::{destination_permitted, validate};
use driftless_model::annotations::REFRESH;
use driftless_model::project::AppProjectSpec;
use driftless_model::{AppProject, Application, ApplicationSource, ResourceKey};
use driftless_render::{chart_of, revision_of};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// How soon an operation a sync window holds back is looked at again.
const WINDOW_RECHECK: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("failed to read application {app}: {source}")]
    Read { app: String, source: kube::Error },
    #[error("failed to write the status of application {app}: {source}")]
    Write { app: String, source: kube::Error },
    #[error(transparent)]
    Sync(#[from] sync::SyncRunError),
    #[error(transparent)]
    Delete(#[from] crate::app_loop::delete::DeleteError),
}

/// A refresh asked for with `argocd.argoproj.io/refresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Check git again now.
    Normal,
    /// Also render again, bypassing the render cache.
    Hard,
}

pub fn refresh_of(app: &Application) -> Option<Refresh> {
    match app.metadata.annotations.as_ref()?.get(REFRESH)?.as_str() {
        "hard" => Some(Refresh::Hard),
        _ => Some(Refresh::Normal),
    }
}

/// Reconciles the app `name` (its key, see [`driftless_decisions::app_key`]); returns when to look again,
/// if a time is due.
pub async fn reconcile(ctx: &Arc<Context>, name: &str) -> Result<Option<Duration>, ReconcileError> {
    let object = ctx.app_object(name);
    // Reads from the API server are boxed, like the rest after the slot: a thousand apps a
    // commit wakes wait for a slot here, and each waits holding only this function's locals.
    let (app, from_api): (Arc<Application>, bool) = match ctx.apps.fresh(name) {
        Some(app) => (app, false),
        None => match Box::pin(read_from_api(ctx, &object, name)).await? {
            Some(app) => (app, true),
            None => return Ok(None),
        },
    };
    if app.metadata.deletion_timestamp.is_some() {
        // The store may still hold the app as it was before this controller removed its
        // finalizer: the deletion (and its hooks) must never run again for an app already
        // let go, so it works on the API server's copy (read once).
        let current = if from_api {
            app
        } else {
            match Box::pin(read_from_api(ctx, &object, name)).await? {
                Some(current) => current,
                None => return Ok(None),
            }
        };
        let _timer = crate::runtime::metrics::ReconcileTimer::start(&ctx.metrics, &current);
        return Ok(Box::pin(crate::app_loop::delete::delete_app(ctx, &current)).await?);
    }
    // A quick sync's outcome not written yet: this comparison decides and writes on top of it.
    let pending = crate::runtime::mutex::lock(&ctx.unwritten).remove(name);
    let stored = app;
    let viewed: Box<Application>;
    let (app, written) = match pending {
        Some(status) => {
            let mut with_outcome = Box::new(stored.as_ref().clone());
            with_outcome.status = Some(status);
            viewed = with_outcome;
            (viewed.as_ref(), stored.status.as_ref())
        }
        None => (stored.as_ref(), stored.status.as_ref()),
    };
    let _timer = crate::runtime::metrics::ReconcileTimer::start(&ctx.metrics, app);
    let refresh = refresh_of(app);
    let project = Box::pin(read_project(ctx, app)).await;

    let first = crate::runtime::mutex::lock(&ctx.first_in_line).remove(name);
    let slots = if first {
        &ctx.priority_slots
    } else {
        &ctx.compare_slots
    };
    let slot = slots.acquire().await.ok();
    Box::pin(reconcile_compared(
        ctx, name, app, written, project, refresh, slot,
    ))
    .await
}

/// The rest of a reconcile, once it holds a comparison slot. Boxed where it starts, so the
/// many reconciles a shared repository's commit wakes hold small futures while they wait.
async fn reconcile_compared<'a>(
    ctx: &'a Arc<Context>,
    name: &str,
    app: &'a Application,
    written: Option<&driftless_model::ApplicationStatus>,
    project: Option<Arc<AppProject>>,
    refresh: Option<Refresh>,
    slot: Option<tokio::sync::SemaphorePermit<'a>>,
) -> Result<Option<Duration>, ReconcileError> {
    let object = ctx.app_object(name);
    let compared = compare_app(ctx, app, project.as_ref().map(|p| p.spec.clone()), refresh).await;

    if let Compared::Done(prepared, _) = &compared {
        tracing::Span::current().record("revision", prepared.revisions.join(",").as_str());
    }
    let waiting = depends::waiting_for(name, &depends::dependencies(app), |dep| {
        ctx.dependency_state(dep)
    });
    let now = now_secs();
    let (outcome, mut found) = match &compared {
        Compared::Done(prepared, warnings) => (
            Outcome::Compared {
                comparison: &prepared.comparison,
                revisions: &prepared.revisions,
            },
            warnings.clone(),
        ),
        Compared::Failed(found) => (Outcome::NotCompared, vec![found.clone()]),
    };
    if !waiting.is_empty() {
        found.push(Found::new(
            conditions::DEPENDENCY_WARNING,
            format!("waiting for {}", waiting.join(", ")),
        ));
    }
    let prepared = match &compared {
        Compared::Done(prepared, _) => Some(prepared.as_ref()),
        Compared::Failed(_) => None,
    };
    let mut verdict = prepared
        .map(|p| {
            driftless_decisions::guard::judge(
                name,
                driftless_decisions::guard::mode_of(project.as_deref()),
                &p.desired,
            )
        })
        .unwrap_or_default();
    if prepared.is_some() {
        let namespace = app.metadata.namespace.as_deref().unwrap_or_default();
        let bare = app.metadata.name.as_deref().unwrap_or_default();
        ctx.metrics
            .guard_findings(bare, namespace, verdict.errors, verdict.warnings);
    }
    found.extend(verdict.found.iter().cloned());
    if let Some(p) = prepared {
        found.extend(driftless_decisions::volatile::conditions(&p.volatile));
    }
    if let Some(p) = prepared.filter(|p| !p.refused.is_empty()) {
        let message = crate::app_loop::comparison::refusal_message(&p.refused);
        found.push(Found::new(conditions::INVALID_SPEC_ERROR, message.clone()));
        verdict.blocked = Some(message);
    }
    let facts = Facts {
        app,
        compared: prepared.map(|p| (&p.comparison.sync, p.revisions.as_slice())),
        waiting_for: &waiting,
        now,
    };
    let mut decision = decide(facts);
    let excluded = break_loops(ctx, name, now, &mut decision, prepared, &mut found);
    let windows = project
        .as_ref()
        .and_then(|p| p.spec.sync_windows.clone())
        .unwrap_or_default();
    let held = driftless_decisions::sync_windows::held_back(&decision, app, &windows, now);
    if let (
        Some(why),
        Decision::Start {
            requested: false, ..
        },
    ) = (&held, &decision)
    {
        // As in Argo CD an automated sync just does not start; the condition says why.
        found.push(Found::new(
            conditions::SYNC_WINDOW_BLOCKED,
            format!("automated sync held back: {why}"),
        ));
        decision = Decision::Nothing;
    }
    // Before the status write: the watch sees the refresh done before it sees the new status,
    // so neither event asks for another reconcile.
    if refresh.is_some()
        && let Err(error) = object.clear_annotation(REFRESH).await
    {
        tracing::warn!(app = name, %error, "cannot remove the refresh annotation");
    }
    let mut status = next_status(app, outcome, found, now);
    let mut writer = StatusWriter::for_app(ctx, name, app, written.cloned());
    let fingerprint = digest(&status);
    let already_written = crate::runtime::mutex::lock(&ctx.written).get(name) == Some(&fingerprint);
    // A sync that starts now writes its first state at once: that write carries this status.
    let sync_follows =
        held.is_none() && verdict.blocked.is_none() && matches!(decision, Decision::Start { .. });
    if !already_written
        && driftless_decisions::status::comparable(&status)
            != driftless_decisions::status::comparable(writer.current())
    {
        status.reconciled_at = Some(driftless_decisions::time::time_of(now));
        if sync_follows {
            writer.stage(status);
        } else {
            writer
                .write(&status)
                .await
                .map_err(|source| ReconcileError::Write {
                    app: name.into(),
                    source,
                })?;
        }
    }
    if sync_follows {
        // Written by the sync, or not at all if it never writes: the next reconcile must not
        // take it for written.
        crate::runtime::mutex::lock(&ctx.written).remove(name);
    } else {
        crate::runtime::mutex::lock(&ctx.written).insert(name.to_string(), fingerprint);
    }

    if ctx.stopping(name) && matches!(decision, Decision::Start { .. } | Decision::Resume) {
        // Stopping (or giving the app's shard up): no sync starts; a Running one is resumed
        // by whoever runs the app next.
        return Ok(None);
    }
    if let Some(why) = held.filter(|_| !matches!(decision, Decision::Nothing | Decision::Terminate))
    {
        let operation = match decision {
            Decision::Start { operation, .. } => Some(*operation),
            _ => None,
        };
        sync::hold(ctx, app, &mut writer, prepared, operation, &why).await?;
        return Ok(Some(WINDOW_RECHECK));
    }
    match decision {
        Decision::Nothing => Ok(None),
        Decision::HealAt(due) => Ok(Some(Duration::from_secs(
            u64::try_from(due - now).unwrap_or(0).max(1),
        ))),
        Decision::Resume => {
            sync::run(ctx, app, &mut writer, prepared, Start::Resume, slot).await?;
            Ok(Some(follow_up(ctx, name)))
        }
        Decision::Terminate => {
            sync::terminate(ctx, app, &mut writer).await?;
            Ok(None)
        }
        Decision::Start {
            operation,
            requested,
        } => {
            if let Some(message) = verdict.blocked {
                // Enforced guard errors: a requested sync ends in Error; automation waits.
                if requested {
                    sync::refuse(ctx, app, &mut writer, *operation, true, message).await?;
                }
                return Ok(None);
            }
            let operation = if requested {
                operation
            } else {
                ctx.sync_applies
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let last = writer.current().operation_state.as_deref();
                let trigger =
                    crate::audit::trigger::of_automated(&operation, last, ctx.take_cause(name));
                Box::new(crate::audit::trigger::noted(*operation, trigger))
            };
            let kept = prepared.map(|p| without(p, &excluded));
            sync::run(
                ctx,
                app,
                &mut writer,
                kept.as_ref(),
                Start::Fresh {
                    operation,
                    requested,
                },
                slot,
            )
            .await?;
            Ok(Some(follow_up(ctx, name)))
        }
    }
}

/// After a sync: compare again at once, ahead of the apps waiting for a comparison slot.
fn follow_up(ctx: &Context, name: &str) -> Duration {
    ctx.put_first(name);
    Duration::ZERO
}

/// The sync-loop breaker for one reconcile: a manual sync resets it; an automated sync counts
/// its re-applies, leaves out the objects that loop (nothing starts if only they are out of
/// sync) and their `SyncLoop` conditions join `found`. Returns the objects left out.
fn break_loops(
    ctx: &Context,
    name: &str,
    now: i64,
    decision: &mut Decision,
    prepared: Option<&Prepared>,
    found: &mut Vec<Found>,
) -> BTreeSet<ResourceKey> {
    let mut loops = crate::runtime::mutex::lock(&ctx.loops);
    let state = loops.entry(name.to_string()).or_default();
    if let Some(p) = prepared {
        state.follow(&p.revisions);
    }
    match (&*decision, prepared) {
        (
            Decision::Start {
                requested: true, ..
            },
            _,
        ) => state.clear(),
        (
            Decision::Start {
                requested: false, ..
            },
            Some(p),
        ) => {
            let live: BTreeMap<ResourceKey, &Value> = p
                .live
                .iter()
                .filter_map(|o| ResourceKey::of(o).ok().map(|k| (k, o)))
                .collect();
            let drifted = p
                .comparison
                .changed_paths
                .iter()
                .filter_map(|(key, paths)| {
                    live.get(key)
                        .map(|o| Drift::of(key.clone(), o, paths.clone()))
                })
                .collect();
            let excluded = state.record(drifted, ctx.config.loop_threshold, now);
            if p.comparison
                .out_of_sync
                .iter()
                .all(|k| excluded.contains(k))
            {
                *decision = Decision::Nothing;
            }
        }
        _ => {}
    }
    found.extend(state.conditions());
    state.excluded()
}

/// `prepared` without the objects in `excluded`: the sync neither applies nor prunes them.
fn without(prepared: &Prepared, excluded: &BTreeSet<ResourceKey>) -> Prepared {
    let mut kept = prepared.clone();
    if excluded.is_empty() {
        return kept;
    }
    let keep = |o: &Value| ResourceKey::of(o).map_or(true, |k| !excluded.contains(&k));
    kept.desired.retain(keep);
    kept.live.retain(keep);
    kept.comparison
        .out_of_sync
        .retain(|k| !excluded.contains(k));
    kept.comparison
        .changed_paths
        .retain(|k, _| !excluded.contains(k));
    kept
}

enum Compared {
    Done(Box<Prepared>, Vec<Found>),
    Failed(Found),
}

/// The app as the API server has it now (`None`: it is gone, and forgotten; or it cannot be
/// read as an Application, which its conditions then say).
async fn read_from_api(
    ctx: &Context,
    object: &AppObject,
    name: &str,
) -> Result<Option<Arc<Application>>, ReconcileError> {
    let Some(read) = object.get().await.map_err(|source| ReconcileError::Read {
        app: name.into(),
        source,
    })?
    else {
        ctx.forget(name);
        return Ok(None);
    };
    let raw = serde_json::to_value(&read).unwrap_or(Value::Null);
    match serde_json::from_value(raw) {
        Ok(app) => Ok(Some(Arc::new(app))),
        Err(error) => {
            let message = format!("failed to read the application: {error}");
            let conditions = json!([{"type": conditions::INVALID_SPEC_ERROR, "message": message}]);
            object
                .write_conditions(conditions)
                .await
                .map_err(|source| ReconcileError::Write {
                    app: name.into(),
                    source,
                })?;
            Ok(None)
        }
    }
}

async fn read_project(ctx: &Context, app: &Application) -> Option<Arc<AppProject>> {
    ctx.stores
        .project(driftless_decisions::validate::project_name(app))
        .await
}

async fn compare_app(
    ctx: &Arc<Context>,
    app: &Application,
    project: Option<AppProjectSpec>,
    refresh: Option<Refresh>,
) -> Compared {
    let name = ctx.key_of(app);
    let secrets = match ctx.destinations.secrets().await {
        Ok(secrets) => secrets,
        Err(error) => {
            return Compared::Failed(Found::new(conditions::COMPARISON_ERROR, error.to_string()));
        }
    };
    let scope = ProjectScope::of(&secrets, driftless_decisions::validate::project_name(app));
    if let Err(message) = validate(app, project.as_ref(), &scope).and_then(|()| {
        driftless_decisions::validate::namespace_permitted(
            app,
            project.as_ref(),
            &ctx.config.app_namespace,
        )
    }) {
        return Compared::Failed(Found::new(conditions::INVALID_SPEC_ERROR, message));
    }
    let target = match ctx.destinations.resolve(&app.spec.destination).await {
        Ok(target) => target,
        Err(DestinationError::Lookup(error)) => {
            return Compared::Failed(Found::new(
                conditions::INVALID_SPEC_ERROR,
                error.to_string(),
            ));
        }
        Err(error) => {
            return Compared::Failed(Found::new(conditions::COMPARISON_ERROR, error.to_string()));
        }
    };
    if let Err(message) =
        destination_permitted(app, project.as_ref(), &scope, &target.name, &target.server)
    {
        return Compared::Failed(Found::new(conditions::INVALID_SPEC_ERROR, message));
    }
    let (chart_sources, git_sources): (Vec<_>, Vec<_>) =
        app.sources().iter().partition(|s| chart_of(s).is_some());
    let urls = |sources: &[&ApplicationSource]| -> Vec<String> {
        sources.iter().map(|s| s.repo_url.clone()).collect()
    };
    ctx.git
        .register(&Key::App(name.clone()), &urls(&git_sources));
    let project_name = Some(app.spec.project.as_str()).filter(|p| !p.is_empty());
    let charts: Vec<(String, String)> = chart_sources
        .iter()
        .filter_map(|s| Some((s.repo_url.clone(), chart_of(s)?.to_string())))
        .collect();
    ctx.charts.register(&name, project_name, &charts);
    let mut revisions = Vec::new();
    for source in app.sources() {
        match resolve_revision(ctx, app, source, revision_of(source), refresh.is_some()).await {
            Ok(resolved) => revisions.push(resolved),
            Err(error) => {
                let message = error.to_string();
                return Compared::Failed(Found::new(conditions::COMPARISON_ERROR, message));
            }
        }
    }
    let fresh = refresh == Some(Refresh::Hard);
    match prepare_on(ctx, target, app, project.as_ref(), revisions, fresh).await {
        Ok(prepared) => {
            let mut warnings = shared_resource_warnings(ctx, &name, &prepared);
            warnings.extend(orphan_warning(ctx, app, project.as_ref(), &prepared, refresh).await);
            Compared::Done(Box::new(prepared), warnings)
        }
        Err(error) => Compared::Failed(Found::new(conditions::COMPARISON_ERROR, error.to_string())),
    }
}

/// `OrphanedResourceWarning` when the project monitors orphans and the app's namespace has some.
async fn orphan_warning(
    ctx: &Context,
    app: &Application,
    project: Option<&AppProjectSpec>,
    prepared: &Prepared,
    refresh: Option<Refresh>,
) -> Option<Found> {
    let project = project?;
    let settings = project.orphaned_resources.as_ref()?;
    let namespace = app
        .spec
        .destination
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())?;
    let objects = match crate::clusters::inventory::namespace_objects(
        &prepared.target,
        namespace,
        refresh.is_some(),
    )
    .await
    {
        Ok(objects) => objects,
        Err(error) => {
            tracing::warn!(app = ?app.metadata.name, %error, "cannot look for orphaned resources");
            return None;
        }
    };
    let orphans =
        driftless_decisions::orphans::find(&objects, settings, project, ctx.config.tracking);
    driftless_decisions::orphans::warning(settings, &orphans)
}

/// Desired objects that exist in the cluster but belong to another app, from the live cache
/// (which holds every owned object of the kinds the app renders).
fn shared_resource_warnings(ctx: &Context, app: &str, prepared: &Prepared) -> Vec<Found> {
    let tracked: BTreeSet<ResourceKey> = prepared
        .live
        .iter()
        .filter_map(|o| ResourceKey::of(o).ok())
        .collect();
    let mut found = Vec::new();
    for object in &prepared.desired {
        let Ok(key) = ResourceKey::of(object) else {
            continue;
        };
        if tracked.contains(&key)
            || !matches!(
                driftless_plan::hooks::role(object),
                driftless_plan::hooks::Role::Resource
            )
        {
            continue;
        }
        if let Some(owner) = prepared.target.live.owner_of(&key).filter(|o| o != app) {
            let namespace = &ctx.config.app_namespace;
            found.push(Found::new(
                conditions::SHARED_RESOURCE_WARNING,
                format!(
                    "{}/{} is part of applications {namespace}/{app} and {owner}",
                    key.kind, key.name
                ),
            ));
        }
    }
    found
}
