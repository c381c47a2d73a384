//! `POST /api/v1/applicationsets/generate` (Argo CD's body: `{"applicationSet": {...}}`): the
//! Applications an ApplicationSet would generate, and what writing them would create, change
//! or delete, rendered by the controller of this process; nothing is written. Needs
//! `applicationsets, create` on `<project>/<name>`, as Argo CD asks.

use super::projects::appset_rbac_object;
use crate::auth::authorize;
use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use driftless_controller::appsets::preview::GeneratePreviewError;
use driftless_model::ApplicationSet;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateRequest {
    application_set: Option<Value>,
}

pub async fn generate(
    State(state): State<Shared>,
    caller: Caller,
    Json(request): Json<GenerateRequest>,
) -> Result<Json<Value>, ApiError> {
    let body = request
        .application_set
        .ok_or_else(|| ApiError::bad_request("the request has no applicationSet"))?;
    let name = body["metadata"]["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::bad_request(
            "the ApplicationSet has no metadata.name",
        ));
    }
    authorize(
        &state,
        &caller,
        "applicationsets",
        "create",
        &appset_rbac_object(&body, name),
    )
    .await?;
    let mut appset: ApplicationSet = serde_json::from_value(body.clone()).map_err(|e| {
        ApiError::bad_request(format!("failed to read the ApplicationSet {name}: {e}"))
    })?;
    // Generated in the control namespace, whatever the body says (as Argo CD does).
    appset.metadata.namespace = Some(state.namespace().to_string());
    let engine = state.engine.as_ref().ok_or_else(|| {
        ApiError::unavailable("this server runs no controller to generate applications")
    })?;
    let preview = engine.generate(appset).await.map_err(|error| {
        let status = match &error {
            GeneratePreviewError::Generate(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GeneratePreviewError::Cluster(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, error.to_string())
    })?;
    Ok(Json(serde_json::to_value(preview).unwrap_or_default()))
}
