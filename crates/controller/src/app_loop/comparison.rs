//! The prepared comparison reconcile, sync and delete share: an app rendered at its revisions,
//! its live objects read from the destination's cache, the project's boundary applied, and the
//! two compared. One pairing of desired and live objects, made here, serves the status, the
//! sync plan and the preview alike.

use crate::clusters::destinations::DestinationError;
use crate::clusters::live_cache::LiveError;
use crate::clusters::target::Target;
use crate::runtime::context::Context;
use driftless_decisions::compare::{CompareError, Comparison, compare};
use driftless_decisions::project_resources::Boundary;
use driftless_decisions::project_scope::ProjectScope;
use driftless_decisions::service_account::{self, ImpersonationError, ServiceAccountRef};
use driftless_model::project::AppProjectSpec;
use driftless_model::{Application, ApplicationSource, GroupKind, ResourceKey};
use driftless_render::chart_of;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Why an app could not be compared. Each becomes the app's `ComparisonError` condition.
#[derive(Debug, thiserror::Error)]
pub enum ComparisonError {
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Render(#[from] crate::app_loop::render::RenderFailure),
    #[error("failed to list the AppProjects child applications use: {0}")]
    Projects(#[source] kube::Error),
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error(transparent)]
    Compare(#[from] CompareError),
}

/// A comparison ready to sync from.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The cluster it was compared against, and the sync applies to.
    pub target: Arc<crate::clusters::target::Target>,
    pub revisions: Vec<String>,
    pub desired: Vec<Value>,
    pub live: Vec<Value>,
    pub comparison: Comparison,
    /// Objects the app's boundary keeps out: while there are any, no sync runs.
    pub refused: Vec<driftless_decisions::project_resources::Refusal>,
    /// Fields that differ between two renders of the revision (see [`driftless_decisions::volatile`]).
    pub volatile: Arc<Vec<driftless_guard::Finding>>,
    /// Who the sync writes as: the project's destination ServiceAccount, or the engine (`None`);
    /// an error fails the sync before anything is written.
    pub sync_as: Result<Option<ServiceAccountRef>, ImpersonationError>,
}

/// One message naming every refused object, for the condition and the failed sync.
pub fn refusal_message(refused: &[driftless_decisions::project_resources::Refusal]) -> String {
    let lines: Vec<&str> = refused.iter().map(|r| r.message.as_str()).collect();
    format!("nothing synced: {}", lines.join("; "))
}

/// What `revision` of `source` is now: a commit of a git repository (checked once, or again
/// with `force`), or the chart version a version or constraint selects.
pub async fn resolve_revision(
    ctx: &Context,
    app: &Application,
    source: &ApplicationSource,
    revision: &str,
    force: bool,
) -> Result<String, RevisionError> {
    if let Some(chart) = chart_of(source) {
        let project = Some(app.spec.project.as_str()).filter(|p| !p.is_empty());
        return ctx
            .charts
            .resolve(&source.repo_url, chart, revision, project, force)
            .await
            .map_err(RevisionError::from);
    }
    ctx.git.ensure(&source.repo_url, force).await?;
    Ok(ctx.git.resolve(&source.repo_url, revision).await?)
}

/// Why a source's revision could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    #[error(transparent)]
    Git(#[from] crate::git::watcher::RepoError),
    #[error(transparent)]
    Chart(#[from] crate::git::chart_versions::ChartVersionError),
}

/// Renders `app` at `revisions` and compares it with the live cache of its destination.
pub async fn prepare(
    ctx: &Arc<Context>,
    app: &Application,
    revisions: Vec<String>,
    fresh: bool,
) -> Result<Prepared, ComparisonError> {
    let target = ctx.destinations.resolve(&app.spec.destination).await?;
    let project_name = driftless_decisions::validate::project_name(app);
    let project = ctx
        .stores
        .project(project_name)
        .await
        .map(|p| p.spec.clone());
    prepare_on(ctx, target, app, project.as_ref(), revisions, fresh).await
}

/// Renders and compares with the live objects; objects the app's boundary keeps out (project
/// kind lists and destinations, the cluster Secret's scope) are marked `Unknown` in the
/// comparison, listed in `refused` (no sync may start) and left out of the live set, so they
/// are never pruned.
pub async fn prepare_on(
    ctx: &Arc<Context>,
    target: Arc<Target>,
    app: &Application,
    project: Option<&AppProjectSpec>,
    revisions: Vec<String>,
    fresh: bool,
) -> Result<Prepared, ComparisonError> {
    let name = ctx.key_of(app);
    let mut desired = ctx
        .renderer
        .render(app, &revisions, target.cluster.catalog(), fresh)
        .await?;
    let volatile = detect_volatile(ctx, &target, app, &name, &revisions, &desired, fresh).await;
    let secrets = ctx.destinations.secrets().await?;
    let project_name = driftless_decisions::validate::project_name(app);
    let project_scope = ProjectScope::of(&secrets, project_name);
    let cluster_scope =
        driftless_decisions::cluster_lookup::scope_of(&app.spec.destination, &secrets);
    let boundary = Boundary {
        project,
        project_name,
        project_scope: &project_scope,
        cluster_name: &target.name,
        cluster_server: &target.server,
        cluster_scope: &cluster_scope,
        engine_scope: &target.engine_scope,
    };
    let mut refused = boundary.refused(&desired);
    refused.extend(refused_children(ctx, &desired, &secrets, &refused).await?);
    driftless_decisions::installation::stamp(&mut desired, ctx.config.installation_id.as_deref());
    let mut live = read_live(ctx, &target, app, &desired).await?;
    live.retain(|object| boundary.refusal(object).is_none());
    if driftless_decisions::volatile::keeps_live(app) {
        desired = driftless_decisions::volatile::keep_live(&desired, &live, &volatile);
    }
    let mut comparison: Comparison = compare(app, &desired, &live, &ctx.judging)?;
    driftless_decisions::compare::mark_unknown(&mut comparison, refused.iter().map(|r| &r.key));
    tracing::debug!(app = %name, sync = %comparison.sync, health = %comparison.health, "compared");
    let sync_as = service_account::choose(
        project_name,
        project,
        service_account::Destination::of(app, &target.server),
        ctx.config.sync_impersonation,
    );
    Ok(Prepared {
        target,
        revisions,
        desired,
        live,
        comparison,
        refused,
        volatile,
        sync_as,
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
    already: &[driftless_decisions::project_resources::Refusal],
) -> Result<Vec<driftless_decisions::project_resources::Refusal>, ComparisonError> {
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
        .map_err(ComparisonError::Projects)?;
    Ok(children
        .into_iter()
        .filter_map(|(key, child)| {
            let control = &ctx.config.app_namespace;
            let why =
                driftless_decisions::validate::child_refusal(child, &projects, secrets, control)?;
            let message = format!("resource argoproj.io:Application/{}: {why}", key.name);
            Some(driftless_decisions::project_resources::Refusal { key, message })
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
) -> Result<Vec<Value>, LiveError> {
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
    target.live.ensure(&target.cluster, &kinds).await?;
    Ok(target.live.tracked(&name))
}
