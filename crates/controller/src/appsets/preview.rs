//! What an ApplicationSet would generate, without writing anything (the API's generate
//! preview): its generators run against fresh repository checks, each Application checked
//! against its project as a write would check it, and the plan against the Applications an
//! ApplicationSet of the same name owns now (what would be created, changed, deleted).

use super::keys;
use super::owned;
use super::reconcile::{AppSetReconcileError, check_repositories, generate, list_apps};
use crate::runtime::context::Context;
use driftless_appset::{AppSetError, Reconciled};
use driftless_model::ApplicationSet;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// The generated Applications and what writing them would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GeneratePreview {
    /// As the ApplicationSet would write them, in generator order.
    pub applications: Vec<Value>,
    /// Names that do not exist yet.
    pub create: Vec<String>,
    /// Names that exist and would change.
    pub update: Vec<String>,
    /// Names owned now and no longer generated (removed unless the policy keeps them).
    pub delete: Vec<String>,
    /// Generated Applications that would be refused, with why (project, destination).
    pub refused: Vec<RefusedApp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefusedApp {
    pub name: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GeneratePreviewError {
    /// The generators or the template failed (a user error: the answer says which).
    #[error(transparent)]
    Generate(#[from] AppSetError),
    /// The cluster could not be read.
    #[error(transparent)]
    Cluster(#[from] AppSetReconcileError),
}

pub async fn preview(
    ctx: &Arc<Context>,
    appset: &ApplicationSet,
) -> Result<GeneratePreview, GeneratePreviewError> {
    let generators = serde_json::to_value(&appset.spec.generators).unwrap_or(Value::Null);
    let sources = keys::git_sources(&generators);
    let urls = keys::repo_urls(&sources);
    // Checked now: a preview shows what the repositories hold at this moment.
    check_repositories(ctx, &sources, true).await?;
    let all_apps = list_apps(ctx).await?;
    let uid = owner_uid(ctx, appset).await?;
    let existing = owned::split(&all_apps, uid.as_deref().unwrap_or_default());
    let owned = if uid.is_some() {
        existing.owned
    } else {
        Vec::new()
    };
    // Generated as owned by the ApplicationSet in the cluster, as its reconcile would be.
    let mut appset = appset.clone();
    appset.metadata.uid = uid;
    let Reconciled {
        generated,
        plan,
        refused,
    } = generate(ctx, &appset, &generators, &urls, &owned).await??;
    let name_of = |app: &Value| {
        app["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    Ok(GeneratePreview {
        create: plan.create.iter().map(name_of).collect(),
        update: plan.update.iter().map(name_of).collect(),
        delete: plan.delete.iter().map(|d| d.name.clone()).collect(),
        refused: refused
            .into_iter()
            .map(|r| RefusedApp {
                name: r.name,
                message: r.message,
            })
            .collect(),
        applications: generated,
    })
}

/// The uid of the ApplicationSet of this name in the cluster, whose apps the plan is against.
async fn owner_uid(
    ctx: &Context,
    appset: &ApplicationSet,
) -> Result<Option<String>, AppSetReconcileError> {
    if let Some(uid) = &appset.metadata.uid {
        return Ok(Some(uid.clone()));
    }
    let Some(name) = appset.metadata.name.as_deref().filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        ctx.client.clone(),
        &ctx.config.app_namespace,
        &super::appset_resource(),
    );
    let live = api
        .get_opt(name)
        .await
        .map_err(|source| AppSetReconcileError::Read {
            name: name.to_string(),
            source,
        })?;
    Ok(live.and_then(|o| o.metadata.uid))
}
