//! Deleting an Application. With the finalizer `resources-finalizer.argocd.argoproj.io` its
//! objects are deleted first (foreground; `…/background` for background propagation), child
//! Applications included, which cascades down an App-of-Apps tree; then the finalizer is
//! removed. Without it the Application goes and its objects stay (orphaned).

use crate::context::Context;
use crate::reconcile::read_live;
use crate::time::now_secs;
use crate::writer;
use driftless_apply::{SyncContext, run_sync};
use driftless_model::Application;
use driftless_model::annotations::{FIELD_MANAGER, RESOURCES_FINALIZER};
use driftless_plan::{DeletePropagation, DeletionInput, RunPhase, SyncState, plan_deletion};
use std::sync::Arc;
use std::time::Duration;

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

pub async fn delete_app(
    ctx: &Arc<Context>,
    app: &Application,
) -> Result<Option<Duration>, DeleteError> {
    let name = app.metadata.name.clone().unwrap_or_default();
    let finalizers = app.metadata.finalizers.clone().unwrap_or_default();
    let Some(propagation) = finalizers.iter().find_map(|f| resources_finalizer(f)) else {
        ctx.forget(&name);
        return Ok(None);
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
    let live = read_live(&target, app, &[]).await.map_err(failed)?;
    tracing::info!(app = %name, objects = live.len(), "deleting the application's objects");
    let policy = app.spec.sync_policy.clone().unwrap_or_default();
    let input = DeletionInput {
        app_name: name.clone(),
        // Deletion hooks would need a render; without one, none run.
        desired: Vec::new(),
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
    let sync_ctx = SyncContext {
        app: &name,
        tracking: ctx.config.tracking,
        health: &ctx.judging.checks,
        field_manager: FIELD_MANAGER,
        poll: ctx.config.sync_poll,
        wait_timeout: ctx.config.sync_timeout,
    };
    let mut state = SyncState::new();
    let phase = run_sync(&target.cluster, &plan, &mut state, &sync_ctx, &mut |_| {})
        .await
        .map_err(|e| failed(e.to_string()))?;
    if phase != RunPhase::Succeeded {
        return Err(failed(state.message));
    }
    let keep: Vec<String> = finalizers
        .iter()
        .filter(|f| resources_finalizer(f).is_none())
        .cloned()
        .collect();
    writer::set_finalizers(
        &ctx.apps(),
        &name,
        &keep,
        app.metadata.resource_version.as_deref(),
    )
    .await
    .map_err(|source| DeleteError::Finalizer {
        app: name.clone(),
        source,
    })?;
    ctx.forget(&name);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

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
