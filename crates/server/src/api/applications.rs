//! `/api/v1/applications`: list, get, sync, rollback, refresh, delete, events and the resource
//! list of Applications. Reads come from the watch stores; a change is a patch of the
//! Application (an `operation`, the refresh annotation) that the controller acts on, as
//! Argo CD's API server does.

use super::index::rbac_object;
use super::query::{Filter, ListParams};
use crate::auth::authorize;
use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::state::Shared;
use crate::store::argo_resource;
use axum::Json;
use axum::extract::{Path, Query, State};
use driftless_model::annotations::REFRESH;
use driftless_model::requests::{self, SyncRequest};
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::{
    DeleteParams, DynamicObject, ListParams as KubeListParams, Patch, PatchParams,
    PropagationPolicy,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let filter = Filter::new(&params).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let judge = crate::policy::Judge::new(&state, &caller).await?;
    let listed = state.stores.index().page(
        &filter,
        |app| judge.allows("applications", "get", &app.rbac_object),
        params.limit,
        params.continue_after.as_deref(),
    );
    Ok(Json(json!({
        "metadata": {
            "continue": listed.continue_after,
            "remainingItemCount": listed.remaining,
            "totalItemCount": listed.total,
        },
        "items": listed.items.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Default, Deserialize)]
pub struct GetParams {
    /// `normal` or `hard`: ask the controller to compare again (hard: render again too).
    #[serde(default)]
    pub refresh: Option<String>,
}

/// The app, or 404; and 403 unless the caller may take `action` on it.
pub(super) async fn app_for(
    state: &Shared,
    caller: &Caller,
    name: &str,
    action: &str,
) -> Result<Arc<DynamicObject>, ApiError> {
    let app = state
        .stores
        .app(name)
        .ok_or_else(|| ApiError::not_found(format!("application {name} not found")))?;
    authorize(
        state,
        caller,
        "applications",
        action,
        &rbac_object(&app, state.namespace()),
    )
    .await?;
    Ok(app)
}

fn apps_api(state: &Shared) -> Api<DynamicObject> {
    Api::namespaced_with(
        state.client.clone(),
        state.namespace(),
        &argo_resource("Application"),
    )
}

pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Query(params): Query<GetParams>,
) -> Result<Json<Value>, ApiError> {
    let app = app_for(&state, &caller, &name, "get").await?;
    if let Some(kind) = params.refresh.as_deref() {
        return refresh_app(&state, &name, kind).await.map(Json);
    }
    Ok(Json(serde_json::to_value(app.as_ref()).unwrap_or_default()))
}

async fn refresh_app(state: &Shared, name: &str, kind: &str) -> Result<Value, ApiError> {
    if !matches!(kind, "normal" | "hard") {
        return Err(ApiError::bad_request(format!(
            "refresh is normal or hard, not {kind:?}"
        )));
    }
    let patch = json!({"metadata": {"annotations": {REFRESH: kind}}});
    let patched = apps_api(state)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| ApiError::kube(&format!("refresh application {name}"), e))?;
    Ok(serde_json::to_value(patched).unwrap_or_default())
}

pub async fn sync(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    body: Option<Json<SyncRequest>>,
) -> Result<Json<Value>, ApiError> {
    let app = app_for(&state, &caller, &name, "sync").await?;
    let request = body.map(|b| b.0).unwrap_or_default();
    start_operation(&state, &caller, &app, request.operation()).await
}

/// The body of `POST /api/v1/applications/{name}/rollback`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackRequest {
    pub id: i64,
    #[serde(default)]
    pub prune: Option<bool>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// Syncs the app to what a history entry recorded: its revision and source. Refused while
/// automated sync is on (it would undo the rollback at once), as in Argo CD.
pub async fn rollback(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<RollbackRequest>,
) -> Result<Json<Value>, ApiError> {
    let app = app_for(&state, &caller, &name, "sync").await?;
    let sync = requests::rollback_operation(
        &object_value(&app),
        request.id,
        request.prune.unwrap_or(false),
        request.dry_run.unwrap_or(false),
    )?;
    start_operation(&state, &caller, &app, sync).await
}

fn object_value(app: &DynamicObject) -> Value {
    serde_json::to_value(app).unwrap_or_default()
}

/// Writes the operation for the controller to run; refused while another one runs.
async fn start_operation(
    state: &Shared,
    caller: &Caller,
    app: &DynamicObject,
    sync: Value,
) -> Result<Json<Value>, ApiError> {
    let name = app.metadata.name.clone().unwrap_or_default();
    let patch = requests::operation_patch(
        &object_value(app),
        sync,
        &caller.name,
        "requested through the driftless API",
    )?;
    let patched = apps_api(state)
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| match &e {
            kube::Error::Api(s) if s.code == 409 => ApiError::conflict(format!(
                "{name} changed while the sync was being requested; try again"
            )),
            _ => ApiError::kube(&format!("start an operation on {name}"), e),
        })?;
    tracing::info!(app = %name, user = %caller.name, "sync requested");
    Ok(Json(serde_json::to_value(patched).unwrap_or_default()))
}

/// Stops the running operation: its phase becomes Terminating, and the controller ends it
/// (Failed, "Operation terminated") at the sync's next step, as Argo CD's `terminate-op`.
pub async fn terminate(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = app_for(&state, &caller, &name, "sync").await?;
    let patch = requests::terminate_patch(&object_value(&app))?;
    apps_api(&state)
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| ApiError::kube(&format!("terminate the operation of {name}"), e))?;
    tracing::info!(app = %name, user = %caller.name, "operation termination requested");
    Ok(Json(json!({})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRequest {
    /// Delete the app's objects too (default true).
    #[serde(default)]
    pub cascade: Option<bool>,
    /// `foreground` (default) or `background`, for a cascading delete.
    #[serde(default)]
    pub propagation_policy: Option<String>,
}

pub async fn delete(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    Query(request): Query<DeleteRequest>,
) -> Result<Json<Value>, ApiError> {
    let app = app_for(&state, &caller, &name, "delete").await?;
    let api = apps_api(&state);
    let cascade = request.cascade.unwrap_or(true);
    let finalizers: Vec<String> = app.metadata.finalizers.clone().unwrap_or_default();
    let wanted = requests::finalizers_for_delete(
        &finalizers,
        cascade,
        request.propagation_policy.as_deref(),
    )?;
    if wanted != finalizers {
        let patch = json!({"metadata": {"finalizers": wanted}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| ApiError::kube(&format!("set the finalizers of {name}"), e))?;
    }
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        ..Default::default()
    };
    api.delete(&name, &params)
        .await
        .map_err(|e| ApiError::kube(&format!("delete application {name}"), e))?;
    tracing::info!(app = %name, user = %caller.name, cascade, "application deleted");
    Ok(Json(json!({})))
}

/// The Kubernetes Events about the app (newest last).
pub async fn events(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = app_for(&state, &caller, &name, "get").await?;
    let namespace = app
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| state.namespace().to_string());
    let events: Api<Event> = Api::namespaced(state.client.clone(), &namespace);
    let selector = format!("involvedObject.name={name},involvedObject.kind=Application");
    let mut listed = events
        .list(&KubeListParams::default().fields(&selector))
        .await
        .map_err(|e| ApiError::kube(&format!("list the events of {name}"), e))?
        .items;
    // Within a second, the controller's eventTime (microseconds) gives the order.
    listed.sort_by_key(|e| {
        (
            e.last_timestamp.as_ref().map(|t| t.0),
            e.event_time.as_ref().map(|t| t.0),
        )
    });
    Ok(Json(json!({"items": listed})))
}

/// The deployments the app recorded (`status.history`: id, revision, source, when, who), oldest
/// first: the ids `rollback` takes.
pub async fn history(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = app_for(&state, &caller, &name, "get").await?;
    let items = app.data["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(Json(json!({"items": items})))
}

/// The app's objects with their sync and health status, as the controller last recorded them
/// (`nodes`), and the live objects below them (`children`: ReplicaSets, Pods … each with its
/// `parentRefs`), read from the destination now. Without them the answer still comes, saying
/// why in `childrenError`.
pub async fn resources(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = app_for(&state, &caller, &name, "get").await?;
    let nodes = app.data["status"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut answer = json!({"nodes": nodes, "children": []});
    let typed: Result<driftless_model::Application, _> = serde_json::from_value(object_value(&app));
    match (state.engine.as_ref(), typed) {
        (Some(engine), Ok(typed)) => match engine.children(typed).await {
            Ok(children) => answer["children"] = json!(children),
            Err(error) => answer["childrenError"] = json!(error.to_string()),
        },
        (None, _) => answer["childrenError"] = json!("this server runs no controller"),
        (_, Err(error)) => {
            answer["childrenError"] = json!(format!("application {name} cannot be read: {error}"))
        }
    }
    Ok(Json(answer))
}
