//! `/api/v1/projects` and `/api/v1/applicationsets`: read from the stores, each entry shown
//! only to callers who may `get` it.

use crate::auth::authorize;
use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::policy::Judge;
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use kube::api::DynamicObject;
use serde_json::{Value, json};

pub async fn list_projects(
    State(state): State<Shared>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let judge = Judge::new(&state, &caller).await?;
    let mut projects: Vec<_> = state
        .stores
        .projects
        .state()
        .into_iter()
        .filter(|p| judge.allows("projects", "get", p.metadata.name.as_deref().unwrap_or("")))
        .collect();
    projects.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(Json(
        json!({"items": projects.iter().map(|p| p.as_ref()).collect::<Vec<_>>()}),
    ))
}

pub async fn get_project(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // Authorized first: who may not see a project learns nothing of whether it exists.
    authorize(&state, &caller, "projects", "get", &name).await?;
    let project = state
        .stores
        .project(&name)
        .ok_or_else(|| ApiError::not_found(format!("project {name} not found")))?;
    Ok(Json(
        serde_json::to_value(project.as_ref()).unwrap_or_default(),
    ))
}

/// An ApplicationSet's RBAC object: `<project of its template>/<name>` (Argo CD's form).
fn appset_object(appset: &DynamicObject) -> String {
    appset_rbac_object(&appset.data, appset.metadata.name.as_deref().unwrap_or(""))
}

/// `<project of the template>/<name>` for an ApplicationSet's body.
pub fn appset_rbac_object(body: &Value, name: &str) -> String {
    let project = match body["spec"]["template"]["spec"]["project"].as_str() {
        Some(p) if !p.is_empty() => p,
        _ => "default",
    };
    format!("{project}/{name}")
}

pub async fn list_appsets(
    State(state): State<Shared>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let judge = Judge::new(&state, &caller).await?;
    let mut appsets: Vec<_> = state
        .stores
        .appsets
        .state()
        .into_iter()
        .filter(|a| judge.allows("applicationsets", "get", &appset_object(a)))
        .collect();
    appsets.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(Json(
        json!({"items": appsets.iter().map(|a| a.as_ref()).collect::<Vec<_>>()}),
    ))
}

pub async fn get_appset(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let appset = state
        .stores
        .appset(&name)
        .ok_or_else(|| ApiError::not_found(format!("applicationset {name} not found")))?;
    authorize(
        &state,
        &caller,
        "applicationsets",
        "get",
        &appset_object(&appset),
    )
    .await?;
    Ok(Json(
        serde_json::to_value(appset.as_ref()).unwrap_or_default(),
    ))
}
