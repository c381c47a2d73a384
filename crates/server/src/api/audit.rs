//! `/api/v1/audit`: the audit log, read from its database. A caller sees the entries of the
//! apps they may `get` (and of the projects they may `get`); `verify` checks the whole chain
//! against the checkpoint published in the cluster and needs `applications, get, */*`.

use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::state::Shared;
use axum::Json;
use axum::extract::{Path, Query, State};
use driftless_audit::{AuditError, Entry, Filter, Store};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Entries answered at most per request (page on with `afterSeq`, or `beforeSeq` newest first).
const PAGE: usize = 500;

/// The audit database, opened once; calls run off the async threads (the stores block).
#[derive(Clone)]
pub struct AuditReader {
    store: Arc<Mutex<Box<dyn Store>>>,
}

impl AuditReader {
    pub fn open(url: &str) -> Result<Self, AuditError> {
        Ok(Self {
            store: Arc::new(Mutex::new(driftless_audit::open(url)?)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        call: impl FnOnce(&mut dyn Store) -> Result<T, AuditError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            call(store.as_mut())
        })
        .await
        .map_err(|_| ApiError::unavailable("failed to read the audit log: the reader stopped"))?
        .map_err(|e| ApiError::unavailable(format!("failed to read the audit log: {e}")))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// `name` (in the control namespace) or `namespace/name`.
    pub app: Option<String>,
    pub user: Option<String>,
    pub object: Option<String>,
    pub kind: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub after_seq: Option<u64>,
    pub before_seq: Option<u64>,
    /// `newestFirst=true`: from the head back (page on with `beforeSeq`).
    #[serde(default)]
    pub newest_first: bool,
    pub limit: Option<usize>,
}

fn reader(state: &Shared) -> Result<&AuditReader, ApiError> {
    state
        .audit
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("this server keeps no audit log (serve --no-audit)"))
}

/// The RBAC check an entry needs: its app's, or its project's for a project edit.
fn visible(judge: &crate::policy::Judge, entry: &Entry, control: &str) -> bool {
    let project = entry.record.project.as_deref().unwrap_or("default");
    match entry.record.app.as_deref().and_then(|a| a.split_once('/')) {
        Some((namespace, name)) => {
            let object = super::index::rbac_object_of(project, Some(namespace), name, control);
            judge.allows("applications", "get", &object)
        }
        None => judge.allows("projects", "get", project),
    }
}

pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let audit = reader(&state)?;
    let judge = crate::policy::Judge::new(&state, &caller).await?;
    let control = state.namespace().to_string();
    let kind = query
        .kind
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: driftless_audit::UnknownKind| ApiError::bad_request(e.to_string()))?;
    let filter = Filter {
        app: query.app.map(|a| {
            if a.contains('/') {
                a
            } else {
                format!("{control}/{a}")
            }
        }),
        user: query.user,
        object: query.object,
        kind,
        since: query.since,
        until: query.until,
        after_seq: query.after_seq,
        before_seq: query.before_seq,
        newest_first: query.newest_first,
        limit: Some(query.limit.unwrap_or(PAGE).min(PAGE)),
    };
    let entries = audit.with(move |store| store.list(&filter)).await?;
    let last_seq = entries.last().map(|e| e.seq);
    let items: Vec<&Entry> = entries
        .iter()
        .filter(|e| visible(&judge, e, &control))
        .collect();
    Ok(Json(
        json!({"metadata": {"lastSeq": last_seq}, "items": items}),
    ))
}

pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(seq): Path<u64>,
) -> Result<Json<Entry>, ApiError> {
    let audit = reader(&state)?;
    let judge = crate::policy::Judge::new(&state, &caller).await?;
    let entry = audit.with(move |store| store.get(seq)).await?;
    match entry {
        Some(entry) if visible(&judge, &entry, state.namespace()) => Ok(Json(entry)),
        _ => Err(ApiError::not_found(format!("audit entry {seq} not found"))),
    }
}

/// `GET /api/v1/audit/verify`: `{"verified": true, …}`, or `{"verified": false, "message"}`
/// naming the first bad entry.
pub async fn verify(State(state): State<Shared>, caller: Caller) -> Result<Json<Value>, ApiError> {
    crate::auth::authorize(&state, &caller, "applications", "get", "*/*").await?;
    let audit = reader(&state)?;
    let published =
        driftless_controller::audit::sink::published_checkpoint(&state.client, state.namespace())
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let read = audit
        .with(|store| match store.all() {
            // A filter column that disagrees with its entry's record: edited in the database.
            Err(AuditError::Mismatch { seq, column }) => Ok(Err((seq, column))),
            all => Ok(Ok((all?, store.anchor()?, store.checkpoints()?))),
        })
        .await?;
    let (entries, anchor, mut checkpoints) = match read {
        Ok(read) => read,
        Err((seq, column)) => {
            let message =
                format!("entry {seq} was edited: its {column} column disagrees with its record");
            return Ok(Json(json!({"verified": false, "message": message})));
        }
    };
    let trusted = published.as_ref().map(|c| c.public_key.clone());
    checkpoints.extend(published);
    Ok(Json(
        match driftless_audit::verify(entries, anchor.as_ref(), &checkpoints, trusted.as_deref()) {
            Ok(verified) => json!({
                "verified": true,
                "entries": verified.entries,
                "first": verified.first,
                "head": verified.head,
                "checkpoints": verified.checkpoints,
                "publicKey": verified.public_key,
            }),
            Err(broken) => json!({"verified": false, "message": broken.to_string()}),
        },
    ))
}
