//! `GET /api/v1/account/can-i/{resource}/{action}/{object}`: whether the caller may take an
//! action, answered `{"value": "yes"|"no"}` as Argo CD's; the UI asks before it offers one
//! (the endpoint that takes the action judges again).

use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::policy::Judge;
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

pub async fn can_i(
    State(state): State<Shared>,
    caller: Caller,
    Path((resource, action, object)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let judge = Judge::new(&state, &caller).await?;
    let allowed = judge.allows(&resource, &action, &object);
    Ok(Json(json!({"value": if allowed { "yes" } else { "no" }})))
}
