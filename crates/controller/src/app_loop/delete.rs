//! Deleting an Application. With the finalizer `resources-finalizer.argocd.argoproj.io` its
//! objects are deleted first (foreground; `…/background` for background propagation), child
//! Applications included, which cascades down an App-of-Apps tree; then the finalizer is
//! removed. Without it the Application goes and its objects stay (orphaned).
//!
//! The revision last deployed is rendered again for its `PreDelete` hooks (run, and waited
//! for, before anything is deleted) and `PostDelete` hooks (after). If that render fails,
//! nothing is deleted: a `DeletionError` condition says why and the deletion is tried again.

use crate::app_loop::comparison::read_live;
use crate::clusters::target::Target;
use crate::runtime::clock::now_secs;
use crate::runtime::context::Context;
use driftless_apply::run_sync;
use driftless_decisions::conditions;
use driftless_model::ResourceKey;
use driftless_model::annotations::{DELETION_HOOKS, RESOURCES_FINALIZER};
use driftless_model::{Application, ApplicationStatus};
use driftless_plan::{DeletePropagation, DeletionInput, RunPhase, SyncState, plan_deletion};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Wait before trying a failed deletion again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("failed to delete the objects of application {app}: {message}")]
    Objects { app: String, message: String },
    #[error("failed to remove the finalizer of application {app}: {source}")]
    Finalizer { app: String, source: kube::Error },
}

/// Whether `finalizer` is one of the resources finalizers, and if so with which propagation.
pub fn resources_finalizer(finalizer: &str) -> Option<DeletePropagation> {
    match finalizer.strip_prefix(RESOURCES_FINALIZER) {
        Some("") | Some("/foreground") => Some(DeletePropagation::Foreground),
        Some("/background") => Some(DeletePropagation::Background),
        _ => None,
    }
}

/// Deletes `app`'s objects (when its finalizer asks) and lets it go; a failure is reported
/// on the app as a `DeletionError` and tried again later.
pub async fn delete_app(
    ctx: &Arc<Context>,
    app: &Application,
) -> Result<Option<Duration>, DeleteError> {
    match delete_objects(ctx, app).await {
        Ok(()) => Ok(None),
        Err(error @ DeleteError::Objects { .. }) => {
            let name = ctx.key_of(app);
            tracing::warn!(app = %name, %error, "deletion failed; trying again");
            let condition =
                json!([{"type": conditions::DELETION_ERROR, "message": error.to_string()}]);
            if let Err(write) = ctx.app_object(&name).write_conditions(condition).await {
                tracing::debug!(app = %name, error = %write, "cannot report the deletion error");
            }
            Ok(Some(RETRY_AFTER))
        }
        Err(error) => Err(error),
    }
}

async fn delete_objects(ctx: &Arc<Context>, app: &Application) -> Result<(), DeleteError> {
    let name = ctx.key_of(app);
    let finalizers = app.metadata.finalizers.clone().unwrap_or_default();
    let Some(propagation) = finalizers.iter().find_map(|f| resources_finalizer(f)) else {
        ctx.forget(&name);
        return Ok(());
    };
    let failed = |message: String| DeleteError::Objects {
        app: name.clone(),
        message,
    };
    let target = ctx
        .destinations
        .resolve(&app.spec.destination)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let hooks_from = match deployed_objects(ctx, &target, app).await {
        Ok(objects) => objects,
        // Recorded at its last sync: no deletion hooks, so what is tracked is all there is.
        Err(error) if recorded_hooks(app) == Some(Vec::new()) => {
            tracing::info!(app = %name, %error, "cannot render the deployed revision; it has no deletion hooks, deleting what is tracked");
            Vec::new()
        }
        Err(error) => {
            return Err(failed(format!(
                "failed to render the deployed revision for its deletion hooks: {error}"
            )));
        }
    };
    let live = read_live(ctx, &target, app, &hooks_from)
        .await
        .map_err(|error| failed(error.to_string()))?;
    tracing::info!(app = %name, objects = live.len(), "deleting the application's objects");
    let deleting = resource_keys(&live);
    let policy = app.spec.sync_policy.clone().unwrap_or_default();
    let input = DeletionInput {
        app_name: name.clone(),
        desired: hooks_from,
        live,
        sync_options: policy.sync_options.clone().unwrap_or_default(),
        delete_confirmed: false,
        destination_namespace: app.spec.destination.namespace.clone().unwrap_or_default(),
        dry_run: false,
        revision: String::new(),
        started_at: now_secs(),
    };
    let mut plan = plan_deletion(&input).map_err(|e| failed(e.to_string()))?;
    for step in &mut plan.steps {
        step.options.propagation = propagation;
    }
    let cluster = deleting_client(ctx, &target, app).await.map_err(failed)?;
    let sync_ctx = crate::app_loop::sync::sync_context(ctx, &name);
    let mut state = SyncState::new();
    let phase = run_sync(&cluster, &plan, &mut state, &sync_ctx, &mut |_| {})
        .await
        .map_err(|e| failed(e.to_string()))?;
    if phase != RunPhase::Succeeded {
        return Err(failed(state.message));
    }
    // A deleted object may linger (a foreground deletion waits for its dependents, such as a
    // Service's EndpointSlices): the finalizer goes only once the objects are gone.
    let lingering = wait_gone(ctx, &target, &name, &deleting).await;
    if !lingering.is_empty() {
        return Err(failed(format!(
            "objects still being deleted after {:?}: {}",
            ctx.config.sync_timeout,
            lingering.join(", ")
        )));
    }
    let keep: Vec<String> = finalizers
        .iter()
        .filter(|f| resources_finalizer(f).is_none())
        .cloned()
        .collect();
    ctx.app_object(&name)
        .set_finalizers(&keep, app.metadata.resource_version.as_deref())
        .await
        .map_err(|source| DeleteError::Finalizer {
            app: name.clone(),
            source,
        })?;
    ctx.forget(&name);
    Ok(())
}

/// The keys of the objects among `live` that are the app's resources (not its hooks, which
/// their own delete policies keep or remove).
fn resource_keys(live: &[Value]) -> BTreeSet<ResourceKey> {
    live.iter()
        .filter(|o| driftless_plan::hooks::role(o) == driftless_plan::hooks::Role::Resource)
        .filter_map(|o| ResourceKey::of(o).ok())
        .collect()
}

/// Waits (at most the sync timeout) until the live cache holds none of `deleting` for the
/// app; returns those still there.
async fn wait_gone(
    ctx: &Context,
    target: &Target,
    app: &str,
    deleting: &BTreeSet<ResourceKey>,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + ctx.config.sync_timeout;
    loop {
        let present = resource_keys(&target.live.tracked(app));
        let lingering: Vec<String> = deleting
            .intersection(&present)
            .map(ToString::to_string)
            .collect();
        if lingering.is_empty() || tokio::time::Instant::now() >= deadline {
            return lingering;
        }
        tokio::time::sleep(ctx.config.sync_poll).await;
    }
}

/// The deletion hook phases the app's last deploy recorded (`None`: nothing recorded): on its
/// last history entry, or in the annotation earlier versions wrote.
fn recorded_hooks(app: &Application) -> Option<Vec<String>> {
    let last_deploy = app.status.as_ref().and_then(|s| {
        s.history
            .iter()
            .flatten()
            .max_by_key(|h| h.id)
            .and_then(|h| h.deletion_hooks())
    });
    if last_deploy.is_some() {
        return last_deploy;
    }
    let value = app.metadata.annotations.as_ref()?.get(DELETION_HOOKS)?;
    Some(
        value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "none")
            .map(String::from)
            .collect(),
    )
}

/// The deletion hook phases among the objects a revision renders, sorted.
pub fn deletion_hooks_of(desired: &[Value]) -> Vec<String> {
    use driftless_plan::Phase;
    use driftless_plan::hooks::{Role, role};
    let mut phases: Vec<String> = Vec::new();
    for object in desired {
        if let Role::Hook { phases: of, .. } = role(object) {
            for (phase, name) in [
                (Phase::PreDelete, "PreDelete"),
                (Phase::PostDelete, "PostDelete"),
            ] {
                if of.contains(&phase) && !phases.iter().any(|p| p == name) {
                    phases.push(name.to_string());
                }
            }
        }
    }
    phases.sort();
    phases
}

/// What the app last deployed, rendered again (empty for an app never deployed).
async fn deployed_objects(
    ctx: &Arc<Context>,
    target: &Target,
    app: &Application,
) -> Result<Vec<Value>, String> {
    let revisions = deployed_revisions(app.status.as_ref());
    if revisions.is_empty() {
        return Ok(Vec::new());
    }
    for source in app.sources() {
        if driftless_render::chart_of(source).is_none() {
            ctx.git
                .ensure(&source.repo_url, false)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let mut desired = ctx
        .renderer
        .render(app, &revisions, target.cluster.catalog(), false)
        .await
        .map_err(|e| e.to_string())?;
    driftless_decisions::installation::stamp(&mut desired, ctx.config.installation_id.as_deref());
    Ok(desired)
}

/// The commits of the last deploy in the history, else of the last comparison.
fn deployed_revisions(status: Option<&ApplicationStatus>) -> Vec<String> {
    let Some(status) = status else {
        return Vec::new();
    };
    let from = |revisions: &Option<Vec<String>>, revision: &Option<String>| {
        revisions
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| revision.clone().filter(|r| !r.is_empty()).map(|r| vec![r]))
    };
    let last_deploy = status
        .history
        .iter()
        .flatten()
        .max_by_key(|h| h.id)
        .and_then(|h| from(&h.revisions, &h.revision));
    last_deploy
        .or_else(|| {
            status
                .sync
                .as_ref()
                .and_then(|s| from(&s.revisions, &s.revision))
        })
        .unwrap_or_default()
}

/// The client the deletion writes through: as a sync of the app would (its project's
/// destination ServiceAccount, or the engine).
async fn deleting_client(
    ctx: &Context,
    target: &Target,
    app: &Application,
) -> Result<Arc<driftless_apply::ClusterClient>, String> {
    use driftless_decisions::service_account;
    let project_name = driftless_decisions::validate::project_name(app);
    let project = ctx.stores.project(project_name).await;
    let account = service_account::choose(
        project_name,
        project.as_ref().map(|p| &p.spec),
        service_account::Destination::of(app, &target.server),
        ctx.config.sync_impersonation,
    )
    .map_err(|e| e.to_string())?;
    ctx.destinations
        .writer(target, account.as_ref())
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_come_from_the_last_deploy_else_the_last_comparison() {
        let status = |value: Value| -> ApplicationStatus { serde_json::from_value(value).unwrap() };
        let deployed = status(json!({
            "sync": {"status": "OutOfSync", "revision": "c3"},
            "history": [
                {"id": 1, "deployedAt": "2026-01-01T00:00:00Z", "revision": "c1"},
                {"id": 2, "deployedAt": "2026-01-02T00:00:00Z", "revisions": ["c2", "d2"]}
            ]
        }));
        assert_eq!(deployed_revisions(Some(&deployed)), ["c2", "d2"]);
        let compared = status(json!({"sync": {"status": "OutOfSync", "revision": "c3"}}));
        assert_eq!(deployed_revisions(Some(&compared)), ["c3"]);
        assert!(deployed_revisions(None).is_empty());
    }

    #[test]
    fn deletion_hooks_are_recorded_by_phase() {
        let hook = |kind: &str| {
            json!({"kind": "Job", "metadata": {"name": "j",
                   "annotations": {"argocd.argoproj.io/hook": kind}}})
        };
        let plain = json!({"kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(deletion_hooks_of(std::slice::from_ref(&plain)).is_empty());
        assert_eq!(
            deletion_hooks_of(&[
                hook("PostDelete"),
                plain,
                hook("PreDelete"),
                hook("PreSync")
            ]),
            ["PostDelete", "PreDelete"]
        );
        let mut app: Application = serde_json::from_value(json!({"metadata": {"name": "a"},
            "spec": {"project": "default", "destination": {}}}))
        .unwrap();
        assert_eq!(recorded_hooks(&app), None);
        // As earlier versions recorded it.
        app.metadata.annotations = Some([(DELETION_HOOKS.to_string(), "none".to_string())].into());
        assert_eq!(recorded_hooks(&app), Some(vec![]));
        // On the last deploy, which wins.
        app.status = Some(
            serde_json::from_value(json!({"history": [
                {"id": 1, "deployedAt": "2026-01-01T00:00:00Z", "deletionHooks": []},
                {"id": 2, "deployedAt": "2026-01-02T00:00:00Z", "deletionHooks": ["PreDelete"]}
            ]}))
            .unwrap(),
        );
        assert_eq!(recorded_hooks(&app), Some(vec!["PreDelete".to_string()]));
    }

    #[test]
    fn finalizer_names_choose_the_propagation() {
        assert_eq!(
            resources_finalizer("resources-finalizer.argocd.argoproj.io"),
            Some(DeletePropagation::Foreground)
        );
        assert_eq!(
            resources_finalizer("resources-finalizer.argocd.argoproj.io/background"),
            Some(DeletePropagation::Background)
        );
        assert_eq!(
            resources_finalizer("resources-finalizer.argocd.argoproj.io/foreground"),
            Some(DeletePropagation::Foreground)
        );
        assert_eq!(resources_finalizer("other.example/finalizer"), None);
    }
}
