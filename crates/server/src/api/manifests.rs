//! `/api/v1/applications/{name}/manifests` and `…/diff`: the app rendered at its target or at
//! `?revision=`, and how the live cluster differs from that, Secret values masked in both;
//! `…/tree-diff`: the same for the whole App-of-Apps tree under it, children added and
//! removed, with the guard's findings (children the caller may not `get` show only their
//! name and change).
//! The controller of this process renders (see `driftless_controller::preview`); nothing is
//! written or synced.

use super::applications::app_for;
use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, Query, State};
use driftless_controller::preview::{Preview, PreviewError};
use driftless_model::Application;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Default, Deserialize)]
pub struct RevisionParams {
    /// A branch, tag or commit (or a chart version) instead of the app's targetRevision.
    #[serde(default)]
    pub revision: Option<String>,
}

pub async fn manifests(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Query(params): Query<RevisionParams>,
) -> Result<Json<Value>, ApiError> {
    let preview = preview(&state, &caller, &name, params.revision).await?;
    Ok(Json(json!({
        "revisions": preview.revisions,
        "manifests": preview.manifests,
    })))
}

pub async fn diff(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Query(params): Query<RevisionParams>,
) -> Result<Json<Value>, ApiError> {
    let preview = preview(&state, &caller, &name, params.revision).await?;
    Ok(Json(json!({
        "revisions": preview.revisions,
        "differs": preview.differs(),
        "items": preview.diffs,
    })))
}

pub async fn tree_diff(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Query(params): Query<RevisionParams>,
) -> Result<Json<Value>, ApiError> {
    let app = application(&state, &caller, &name).await?;
    let engine = engine(&state)?;
    let tree = engine
        .preview_tree(app, params.revision)
        .await
        .map_err(preview_error)?;
    let judge = crate::policy::Judge::new(&state, &caller).await?;
    let differs = tree.differs();
    let mut hidden = Vec::new();
    let apps: Vec<Value> = tree
        .apps
        .iter()
        .map(|app| {
            let object = format!("{}/{}", app.project, app.name);
            if app.parent.is_none() || judge.allows("applications", "get", &object) {
                serde_json::to_value(app).unwrap_or_default()
            } else {
                hidden.push(app.name.clone());
                json!({"name": app.name, "parent": app.parent, "change": app.change, "hidden": true})
            }
        })
        .collect();
    let findings: Vec<_> = tree
        .findings
        .iter()
        .filter(|f| !hidden.contains(&f.app))
        .collect();
    Ok(Json(json!({
        "root": tree.root,
        "revision": tree.revision,
        "differs": differs,
        "apps": apps,
        "findings": findings,
    })))
}

async fn application(state: &Shared, caller: &Caller, name: &str) -> Result<Application, ApiError> {
    let object = app_for(state, caller, name, "get").await?;
    serde_json::from_value(serde_json::to_value(object.as_ref()).unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("application {name} cannot be read: {e}")))
}

fn engine(state: &Shared) -> Result<&std::sync::Arc<dyn crate::state::Engine>, ApiError> {
    state.engine.as_ref().ok_or_else(|| {
        ApiError::unavailable("this server runs no controller to render applications")
    })
}

fn preview_error(error: PreviewError) -> ApiError {
    let status = match &error {
        PreviewError::Revision { .. } => axum::http::StatusCode::NOT_FOUND,
        PreviewError::Render { .. } => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        PreviewError::Diff { .. } => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, error.to_string())
}

async fn preview(
    state: &Shared,
    caller: &Caller,
    name: &str,
    revision: Option<String>,
) -> Result<Preview, ApiError> {
    let app = application(state, caller, name).await?;
    engine(state)?
        .preview(app, revision)
        .await
        .map_err(preview_error)
}
