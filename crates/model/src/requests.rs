//! What a request to change an Application writes, as Argo CD's API server writes it: the
//! `operation` of a sync or a rollback, the status patch of `terminate-op`, and the finalizers
//! a delete leaves. Pure: the API server and `driftless app … --core` both send these, so a
//! request means the same whichever way it reaches the cluster.

use crate::annotations::RESOURCES_FINALIZER;
use crate::operation::SyncOperationResource;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Why a request is not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    #[error("another operation is already in progress on {app}")]
    InProgress { app: String },
    #[error("no operation is in progress on {app}")]
    NothingToTerminate { app: String },
    #[error(
        "rollback cannot be started while automated sync is on for {app} (it would undo the rollback): turn it off first"
    )]
    Automated { app: String },
    #[error("application {app} has no history entry {id} (ids: {})", ids.join(", "))]
    NoHistoryEntry {
        app: String,
        id: i64,
        ids: Vec<String>,
    },
    #[error("the propagation policy is foreground or background, not {0:?}")]
    Propagation(String),
}

/// A sync request: Argo CD's ApplicationSyncRequest, as the API takes it in JSON (and the CLI
/// sends it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<SyncOperationResource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_options: Option<SyncOptionsField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Value>,
}

/// Argo CD sends `syncOptions: {items: [...]}`; a plain list is taken too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SyncOptionsField {
    Items { items: Vec<String> },
    List(Vec<String>),
}

impl SyncRequest {
    /// The `operation.sync` it asks for: only the fields it sets.
    pub fn operation(&self) -> Value {
        let mut sync = json!({});
        if let Some(revision) = self.revision.as_ref().filter(|r| !r.is_empty()) {
            sync["revision"] = json!(revision);
        }
        if let Some(prune) = self.prune {
            sync["prune"] = json!(prune);
        }
        if let Some(dry_run) = self.dry_run {
            sync["dryRun"] = json!(dry_run);
        }
        if let Some(resources) = self.resources.as_ref().filter(|r| !r.is_empty()) {
            sync["resources"] = json!(resources);
        }
        if let Some(SyncOptionsField::Items { items } | SyncOptionsField::List(items)) =
            &self.sync_options
        {
            sync["syncOptions"] = json!(items);
        }
        if let Some(strategy) = &self.strategy {
            sync["syncStrategy"] = strategy.clone();
        }
        sync
    }
}

/// The `operation.sync` that deploys again what history entry `id` of `app` (the whole
/// object) recorded: its revision(s) and source(s).
pub fn rollback_operation(
    app: &Value,
    id: i64,
    prune: bool,
    dry_run: bool,
) -> Result<Value, RequestRefusal> {
    let name = name_of(app);
    let automated = &app["spec"]["syncPolicy"]["automated"];
    if automated.is_object() && automated["enabled"] != false {
        return Err(RequestRefusal::Automated { app: name });
    }
    let history = app["status"]["history"].as_array().map_or(&[][..], |h| h);
    let entry = history
        .iter()
        .find(|h| h["id"].as_i64() == Some(id))
        .ok_or_else(|| RequestRefusal::NoHistoryEntry {
            app: name,
            id,
            ids: history
                .iter()
                .filter_map(|h| h["id"].as_i64())
                .map(|i| i.to_string())
                .collect(),
        })?;
    let mut sync = json!({"prune": prune});
    if dry_run {
        sync["dryRun"] = json!(true);
    }
    for field in ["revision", "source", "revisions", "sources"] {
        if !entry[field].is_null() {
            sync[field] = entry[field].clone();
        }
    }
    Ok(sync)
}

/// The merge patch that requests `sync` for `app` on behalf of `username`, guarded by the
/// app's resourceVersion; refused while another operation is requested or running.
pub fn operation_patch(
    app: &Value,
    sync: Value,
    username: &str,
    reason: &str,
) -> Result<Value, RequestRefusal> {
    let running = app["status"]["operationState"]["phase"].as_str() == Some("Running");
    if !app["operation"].is_null() || running {
        return Err(RequestRefusal::InProgress { app: name_of(app) });
    }
    Ok(json!({
        "metadata": {"resourceVersion": app["metadata"]["resourceVersion"]},
        "operation": {
            "sync": sync,
            "initiatedBy": {"username": username},
            "info": [{"name": "Reason", "value": reason}],
        },
    }))
}

/// The status patch that asks the controller to end the running operation (Argo CD's
/// `terminate-op`); refused when none runs.
pub fn terminate_patch(app: &Value) -> Result<Value, RequestRefusal> {
    let phase = app["status"]["operationState"]["phase"].as_str();
    if !matches!(phase, Some("Running" | "Terminating")) {
        return Err(RequestRefusal::NothingToTerminate { app: name_of(app) });
    }
    Ok(json!({
        "metadata": {"resourceVersion": app["metadata"]["resourceVersion"]},
        "status": {"operationState": {"phase": "Terminating"}},
    }))
}

/// The finalizers a delete leaves on the app before deleting it: the resources finalizer
/// (its background variant on request) for a cascading delete, none of it otherwise.
pub fn finalizers_for_delete(
    current: &[String],
    cascade: bool,
    propagation_policy: Option<&str>,
) -> Result<Vec<String>, RequestRefusal> {
    let mut kept: Vec<String> = current
        .iter()
        .filter(|f| !f.starts_with(RESOURCES_FINALIZER))
        .cloned()
        .collect();
    if cascade {
        kept.push(match propagation_policy {
            None | Some("foreground") => RESOURCES_FINALIZER.to_string(),
            Some("background") => format!("{RESOURCES_FINALIZER}/background"),
            Some(other) => return Err(RequestRefusal::Propagation(other.to_string())),
        });
    }
    Ok(kept)
}

fn name_of(app: &Value) -> String {
    app["metadata"]["name"].as_str().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_sync_request_writes_only_what_was_asked() {
        let request: SyncRequest = serde_json::from_value(json!({
            "revision": "v2", "prune": true,
            "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
            "syncOptions": {"items": ["ServerSideApply=true"]}
        }))
        .expect("request");
        assert_eq!(
            request.operation(),
            json!({"revision": "v2", "prune": true,
                   "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
                   "syncOptions": ["ServerSideApply=true"]})
        );
        assert_eq!(SyncRequest::default().operation(), json!({}));
        let listed: SyncRequest =
            serde_json::from_value(json!({"syncOptions": ["Prune=false"]})).expect("list form");
        assert_eq!(listed.operation(), json!({"syncOptions": ["Prune=false"]}));
    }

    #[test]
    fn a_rollback_takes_the_entry_and_is_refused_under_automation() {
        let app = json!({"metadata": {"name": "shop"}, "spec": {}, "status": {"history": [
            {"id": 0, "revision": "a", "source": {"repoURL": "r", "path": "p"}},
            {"id": 1, "revision": "b"},
        ]}});
        assert_eq!(
            rollback_operation(&app, 0, false, false),
            Ok(json!({"prune": false, "revision": "a", "source": {"repoURL": "r", "path": "p"}}))
        );
        let missing = rollback_operation(&app, 7, false, false).expect_err("no entry 7");
        assert_eq!(
            missing.to_string(),
            "application shop has no history entry 7 (ids: 0, 1)"
        );
        let mut automated = app.clone();
        automated["spec"]["syncPolicy"] = json!({"automated": {}});
        assert_eq!(
            rollback_operation(&automated, 0, false, false),
            Err(RequestRefusal::Automated { app: "shop".into() })
        );
        automated["spec"]["syncPolicy"]["automated"]["enabled"] = json!(false);
        assert!(rollback_operation(&automated, 0, false, false).is_ok());
    }

    #[test]
    fn an_operation_is_refused_while_another_runs_and_terminate_needs_one() {
        let running =
            json!({"metadata": {"name": "a"}, "status": {"operationState": {"phase": "Running"}}});
        assert_eq!(
            operation_patch(&running, json!({}), "me", "why"),
            Err(RequestRefusal::InProgress { app: "a".into() })
        );
        let requested = json!({"metadata": {"name": "a"}, "operation": {"sync": {}}});
        assert!(operation_patch(&requested, json!({}), "me", "why").is_err());
        let idle = json!({"metadata": {"name": "a", "resourceVersion": "7"},
                          "status": {"operationState": {"phase": "Succeeded"}}});
        let patch = operation_patch(&idle, json!({"prune": true}), "me", "why").expect("idle");
        assert_eq!(
            patch,
            json!({"metadata": {"resourceVersion": "7"}, "operation": {
                "sync": {"prune": true}, "initiatedBy": {"username": "me"},
                "info": [{"name": "Reason", "value": "why"}]}})
        );
        assert_eq!(
            terminate_patch(&idle),
            Err(RequestRefusal::NothingToTerminate { app: "a".into() })
        );
        assert_eq!(
            terminate_patch(&running).map(|p| p["status"].clone()),
            Ok(json!({"operationState": {"phase": "Terminating"}}))
        );
    }

    #[test]
    fn delete_finalizers_follow_cascade_and_policy() {
        let current = vec!["other".to_string(), RESOURCES_FINALIZER.to_string()];
        assert_eq!(
            finalizers_for_delete(&current, false, None),
            Ok(vec!["other".to_string()])
        );
        assert_eq!(
            finalizers_for_delete(&current, true, Some("background")),
            Ok(vec![
                "other".to_string(),
                format!("{RESOURCES_FINALIZER}/background")
            ])
        );
        assert_eq!(
            finalizers_for_delete(&current, true, None),
            Ok(current.clone())
        );
        assert_eq!(
            finalizers_for_delete(&current, true, Some("orphan")),
            Err(RequestRefusal::Propagation("orphan".into()))
        );
    }
}
