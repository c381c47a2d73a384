//! `GET /api/v1/stream/applications`: server-sent events, one per change of an Application
//! the caller may see, as `{"result": {"type": "ADDED"|"MODIFIED"|"DELETED", "application": …}}`
//! (the shape of Argo CD's watch stream). Optional `name` and `projects` narrow it.

use super::index::rbac_object;
use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::policy::Judge;
use crate::state::Shared;
use crate::store::AppChange;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
pub struct StreamParams {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub projects: Option<String>,
}

pub async fn applications(
    State(state): State<Shared>,
    caller: Caller,
    Query(params): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // The caller's permissions are judged once, when the stream opens.
    let judge = Judge::new(&state, &caller).await?;
    let changes = state.stores.changes.subscribe();
    let namespace = state.namespace().to_string();
    let projects: Vec<String> = params
        .projects
        .iter()
        .flat_map(|p| p.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let filter = move |change: &AppChange| -> Option<Event> {
        let (kind, app) = match change {
            AppChange::Changed(app) => ("MODIFIED", app),
            AppChange::Deleted(app) => ("DELETED", app),
        };
        if params
            .name
            .as_ref()
            .is_some_and(|n| Some(n) != app.metadata.name.as_ref())
        {
            return None;
        }
        let project = app.data["spec"]["project"].as_str().unwrap_or("default");
        if !projects.is_empty() && !projects.iter().any(|p| p == project) {
            return None;
        }
        if !judge.allows("applications", "get", &rbac_object(app, &namespace)) {
            return None;
        }
        let data = json!({"result": {"type": kind, "application": app.as_ref()}});
        Some(Event::default().data(data.to_string()))
    };
    // Ends when the client goes (the response body is dropped) or the store's sender does.
    let stream = futures::stream::unfold((changes, filter), |(mut changes, filter)| async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    if let Some(event) = filter(&change) {
                        return Some((Ok(event), (changes, filter)));
                    }
                }
                // Too slow a reader misses changes; it is told, and reads the list again.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    let event = Event::default().event("lagged").data(missed.to_string());
                    return Some((Ok(event), (changes, filter)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
