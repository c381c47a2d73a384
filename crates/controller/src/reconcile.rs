//! One reconcile of one Application: read it, compare it with git (resolve revisions, render,
//! read the live cache, diff), write the status if it changed, then run whatever operation is
//! due. A failure to compare is a condition on the app, never a reason to touch its objects.

use crate::compare::{Comparison, compare};
use crate::conditions::{self, Found};
use crate::context::Context;
use crate::decide::{Decision, Facts, decide};
use crate::depends;
use crate::destinations::{DestinationError, Target};
use crate::project_resources::Boundary;
use crate::project_scope::ProjectScope;
use crate::status::{Outcome, digest, next_status};
use crate::sync_loop::Drift;
use crate::sync_run::{self, Prepared, Start};
use crate::time::now_secs;
use crate::validate::{destination_permitted, validate};
use crate::writer::{self, StatusWriter};
use driftless_apply::tracking;
use driftless_model::annotations::REFRESH;
use driftless_model::project::AppProjectSpec;
use driftless_model::{AppProject, Application, ApplicationSource, GroupKind, ResourceKey};
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
    Sync(#[from] sync_run::SyncRunError),
    #[error(transparent)]
    Delete(#[from] crate::delete::DeleteError),
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

/// Reconciles the app `name` (its key, see [`crate::app_key`]); returns when to look again,
/// if a time is due.
pub async fn reconcile(ctx: &Arc<Context>, name: &str) -> Result<Option<Duration>, ReconcileError> {
    let (api, bare_name) = ctx.app_api(name);
    let Some(object) = api
        .get_opt(bare_name)
        .await
        .map_err(|source| ReconcileError::Read {
            app: name.into(),
            source,
        })?
    else {
        ctx.forget(name);
        return Ok(None);
    };
    let raw = serde_json::to_value(&object).unwrap_or(Value::Null);
    let app: Application = match serde_json::from_value(raw) {
        Ok(app) => app,
        Err(error) => {
            let message = format!("failed to read the application: {error}");
            let conditions = json!([{"type": conditions::INVALID_SPEC_ERROR, "message": message}]);
            writer::write_conditions(&api, bare_name, conditions)
                .await
                .map_err(|source| ReconcileError::Write {
                    app: name.into(),
                    source,
                })?;
            return Ok(None);
        }
    };
    let _timer = crate::metrics::ReconcileTimer::start(&ctx.metrics, &app);
    if app.metadata.deletion_timestamp.is_some() {
        return Ok(crate::delete::delete_app(ctx, &app).await?);
    }
    let refresh = refresh_of(&app);
    let project = read_project(ctx, &app).await;

    let permit = ctx.compare_slots.acquire().await.ok();
    let compared = compare_app(ctx, &app, project.as_ref().map(|p| p.spec.clone()), refresh).await;
    drop(permit);

    if let Compared::Done(prepared, _) = &compared {
        tracing::Span::current().record("revision", prepared.revisions.join(",").as_str());
    }
    let waiting = depends::waiting_for(name, &depends::dependencies(&app), |dep| {
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
        .map(|p| crate::guard::judge(name, crate::guard::mode_of(project.as_deref()), &p.desired))
        .unwrap_or_default();
    if prepared.is_some() {
        let namespace = app.metadata.namespace.as_deref().unwrap_or_default();
        let bare = app.metadata.name.as_deref().unwrap_or_default();
        ctx.metrics
            .guard_findings(bare, namespace, verdict.errors, verdict.warnings);
    }
    found.extend(verdict.found.iter().cloned());
    if let Some(p) = prepared {
        found.extend(crate::volatile::conditions(&p.volatile));
    }
    if let Some(p) = prepared.filter(|p| !p.refused.is_empty()) {
        let message = crate::sync_run::refusal_message(&p.refused);
        found.push(Found::new(conditions::INVALID_SPEC_ERROR, message.clone()));
        verdict.blocked = Some(message);
    }
    let facts = Facts {
        app: &app,
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
    let held = crate::sync_windows::held_back(&decision, &app, &windows, now);
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
        && let Err(error) = writer::clear_annotation(&api, bare_name, REFRESH).await
    {
        tracing::warn!(app = name, %error, "cannot remove the refresh annotation");
    }
    let mut status = next_status(&app, outcome, found, now);
    let mut writer = StatusWriter::new(
        api.clone(),
        bare_name,
        app.status.clone(),
        ctx.status_writes.clone(),
    )
    .with_events(crate::events::EventSink::new(ctx.client.clone(), &app))
    .with_metrics(ctx.metrics.clone(), name, &app)
    .with_audit(ctx.audit.clone(), &app);
    let fingerprint = digest(&status);
    let already_written = crate::context::lock(&ctx.written).get(name) == Some(&fingerprint);
    if !already_written
        && crate::status::comparable(&status) != crate::status::comparable(writer.current())
    {
        status.reconciled_at = Some(crate::time::time_of(now));
        writer
            .write(&status)
            .await
            .map_err(|source| ReconcileError::Write {
                app: name.into(),
                source,
            })?;
    }
    crate::context::lock(&ctx.written).insert(name.to_string(), fingerprint);

    if let Some(why) = held.filter(|_| !matches!(decision, Decision::Nothing | Decision::Terminate))
    {
        let operation = match decision {
            Decision::Start { operation, .. } => Some(*operation),
            _ => None,
        };
        sync_run::hold(ctx, &app, &mut writer, prepared, operation, &why).await?;
        return Ok(Some(WINDOW_RECHECK));
    }
    match decision {
        Decision::Nothing => Ok(None),
        Decision::HealAt(due) => Ok(Some(Duration::from_secs(
            u64::try_from(due - now).unwrap_or(0).max(1),
        ))),
        Decision::Resume => {
            sync_run::run(ctx, &app, &mut writer, prepared, Start::Resume).await?;
            Ok(Some(Duration::ZERO))
        }
        Decision::Terminate => {
            sync_run::terminate(ctx, &app, &mut writer).await?;
            Ok(None)
        }
        Decision::Start {
            operation,
            requested,
        } => {
            if let Some(message) = verdict.blocked {
                // Enforced guard errors: a requested sync ends in Error; automation waits.
                if requested {
                    sync_run::refuse(ctx, &app, &mut writer, *operation, true, message).await?;
                }
                return Ok(None);
            }
            let operation = if requested {
                operation
            } else {
                ctx.sync_applies
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let last = writer.current().operation_state.as_ref();
                let trigger =
                    crate::audit::trigger::of_automated(&operation, last, ctx.take_cause(name));
                Box::new(crate::audit::trigger::noted(*operation, trigger))
            };
            let kept = prepared.map(|p| without(p, &excluded));
            sync_run::run(
                ctx,
                &app,
                &mut writer,
                kept.as_ref(),
                Start::Fresh {
                    operation,
                    requested,
                },
            )
            .await?;
            Ok(Some(Duration::ZERO))
        }
    }
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
    let mut loops = crate::context::lock(&ctx.loops);
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

async fn read_project(ctx: &Context, app: &Application) -> Option<Arc<AppProject>> {
    ctx.stores.project(crate::validate::project_name(app)).await
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
    let scope = ProjectScope::of(&secrets, crate::validate::project_name(app));
    if let Err(message) = validate(app, project.as_ref(), &scope).and_then(|()| {
        crate::validate::namespace_permitted(app, project.as_ref(), &ctx.config.app_namespace)
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
    ctx.git.register(&name, &urls(&git_sources));
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
            Err(error) => return Compared::Failed(Found::new(conditions::COMPARISON_ERROR, error)),
        }
    }
    let fresh = refresh == Some(Refresh::Hard);
    match prepare_on(ctx, target, app, project.as_ref(), revisions, fresh).await {
        Ok(prepared) => {
            let mut warnings = shared_resource_warnings(ctx, &name, &prepared).await;
            warnings.extend(orphan_warning(ctx, app, project.as_ref(), &prepared, refresh).await);
            Compared::Done(Box::new(prepared), warnings)
        }
        Err(message) => Compared::Failed(Found::new(conditions::COMPARISON_ERROR, message)),
    }
}

/// What `revision` of `source` is now: a commit of a git repository (checked once, or again
/// with `force`), or the chart version a version or constraint selects.
pub(crate) async fn resolve_revision(
    ctx: &Context,
    app: &Application,
    source: &ApplicationSource,
    revision: &str,
    force: bool,
) -> Result<String, String> {
    if let Some(chart) = chart_of(source) {
        let project = Some(app.spec.project.as_str()).filter(|p| !p.is_empty());
        return ctx
            .charts
            .resolve(&source.repo_url, chart, revision, project, force)
            .await;
    }
    ctx.git.ensure(&source.repo_url, force).await?;
    ctx.git.resolve(&source.repo_url, revision).await
}

/// Renders `app` at `revisions` and compares it with the live cache of its destination.
pub async fn prepare(
    ctx: &Arc<Context>,
    app: &Application,
    revisions: Vec<String>,
    fresh: bool,
) -> Result<Prepared, String> {
    let target = ctx
        .destinations
        .resolve(&app.spec.destination)
        .await
        .map_err(|e| e.to_string())?;
    let project = read_project(ctx, app).await.map(|p| p.spec.clone());
    prepare_on(ctx, target, app, project.as_ref(), revisions, fresh).await
}

/// Renders and compares with the live objects; objects the app's boundary keeps out (project
/// kind lists and destinations, the cluster Secret's scope) are marked `Unknown` in the
/// comparison, listed in `refused` (no sync may start) and left out of the live set, so they
/// are never pruned.
async fn prepare_on(
    ctx: &Arc<Context>,
    target: Arc<Target>,
    app: &Application,
    project: Option<&AppProjectSpec>,
    revisions: Vec<String>,
    fresh: bool,
) -> Result<Prepared, String> {
    let name = ctx.key_of(app);
    let mut desired = ctx
        .renderer
        .render(app, &revisions, target.cluster.catalog(), fresh)
        .await?;
    let volatile = detect_volatile(ctx, &target, app, &name, &revisions, &desired, fresh).await;
    let secrets = ctx
        .destinations
        .secrets()
        .await
        .map_err(|e| e.to_string())?;
    let project_name = crate::validate::project_name(app);
    let project_scope = ProjectScope::of(&secrets, project_name);
    let cluster_scope = crate::clusters::scope_of(&app.spec.destination, &secrets);
    let boundary = Boundary {
        project,
        project_name,
        project_scope: &project_scope,
        cluster_name: &target.name,
        cluster_server: &target.server,
        cluster_scope: &cluster_scope,
    };
    let mut refused = boundary.refused(&desired);
    refused.extend(refused_children(ctx, &desired, &secrets, &refused).await?);
    crate::installation::stamp(&mut desired, ctx.config.installation_id.as_deref());
    let mut live = read_live(ctx, &target, app, &desired).await?;
    live.retain(|object| boundary.refusal(object).is_none());
    if crate::volatile::keeps_live(app) {
        desired = crate::volatile::keep_live(&desired, &live, &volatile);
    }
    let mut comparison: Comparison =
        compare(app, &desired, &live, &ctx.judging).map_err(|e| e.to_string())?;
    crate::compare::mark_unknown(&mut comparison, refused.iter().map(|r| &r.key));
    tracing::debug!(app = %name, sync = %comparison.sync, health = %comparison.health, "compared");
    Ok(Prepared {
        target,
        revisions,
        desired,
        live,
        comparison,
        refused,
        volatile,
    })
}

/// The volatile fields of `app` at `revisions`: found once by rendering a second time,
/// bypassing the render cache (again on a hard refresh). A second render that fails finds
/// nothing and is tried on the next comparison.
async fn detect_volatile(
    ctx: &Context,
    target: &Target,
    app: &Application,
    name: &str,
    revisions: &[String],
    first: &[Value],
    fresh: bool,
) -> Arc<Vec<driftless_guard::Finding>> {
    if !fresh && let Some(found) = ctx.volatile.get(name, revisions) {
        return found;
    }
    match ctx
        .renderer
        .render(app, revisions, target.cluster.catalog(), true)
        .await
    {
        Ok(second) => {
            let found = driftless_guard::volatile_fields(name, first, &second);
            if !found.is_empty() {
                tracing::warn!(
                    app = name,
                    fields = found.len(),
                    "volatile fields: two renders of one revision differ"
                );
            }
            ctx.volatile.insert(name, revisions, found)
        }
        Err(error) => {
            tracing::debug!(app = name, %error, "second render for volatile fields failed");
            Arc::default()
        }
    }
}

/// Child Applications among `desired` (not refused already) whose own project refuses them.
async fn refused_children(
    ctx: &Context,
    desired: &[Value],
    secrets: &[k8s_openapi::api::core::v1::Secret],
    already: &[crate::project_resources::Refusal],
) -> Result<Vec<crate::project_resources::Refusal>, String> {
    let children: Vec<(ResourceKey, &Value)> = desired
        .iter()
        .filter_map(|o| Some((ResourceKey::of(o).ok()?, o)))
        .filter(|(k, _)| k.group == driftless_model::GROUP && k.kind == Application::KIND)
        .filter(|(k, _)| already.iter().all(|r| &r.key != k))
        .collect();
    if children.is_empty() {
        return Ok(Vec::new());
    }
    let projects = ctx
        .stores
        .project_specs()
        .await
        .map_err(|e| format!("failed to list the AppProjects child applications use: {e}"))?;
    Ok(children
        .into_iter()
        .filter_map(|(key, child)| {
            let control = &ctx.config.app_namespace;
            let why = crate::validate::child_refusal(child, &projects, secrets, control)?;
            let message = format!("resource argoproj.io:Application/{}: {why}", key.name);
            Some(crate::project_resources::Refusal { key, message })
        })
        .collect())
}

/// The live objects `app` tracks, from the cache, watching the kinds it needs first: those of
/// its desired objects and those its status last listed (so objects gone from git are seen).
pub async fn read_live(
    ctx: &Context,
    target: &Target,
    app: &Application,
    desired: &[Value],
) -> Result<Vec<Value>, String> {
    let name = ctx.key_of(app);
    let mut kinds: BTreeSet<GroupKind> = desired
        .iter()
        .filter_map(|o| ResourceKey::of(o).ok())
        .map(|k| k.group_kind())
        .collect();
    for resource in app.status.iter().flat_map(|s| s.resources.iter().flatten()) {
        if let Some(kind) = &resource.kind {
            kinds.insert(GroupKind::new(
                resource.group.clone().unwrap_or_default(),
                kind.clone(),
            ));
        }
    }
    target
        .live
        .ensure(&target.cluster, &kinds)
        .await
        .map_err(|e| e.to_string())?;
    Ok(target.live.tracked(&name))
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
    let objects = match crate::inventory::namespace_objects(
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
    let orphans = crate::orphans::find(&objects, settings, project, ctx.config.tracking);
    crate::orphans::warning(settings, &orphans)
}

/// Desired objects that exist in the cluster but belong to another app.
async fn shared_resource_warnings(ctx: &Context, app: &str, prepared: &Prepared) -> Vec<Found> {
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
        let Ok(Some(live)) = prepared.target.cluster.get(&key).await else {
            continue;
        };
        if let Some(owner) = tracking::owner(&live, ctx.config.tracking).filter(|o| o != app) {
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
