//! What a change of an Application writes (pure), as the API server writes it
//! (crates/server/src/api/applications.rs): the `operation` of a sync or a rollback, and the
//! finalizers of a delete. `--core` writes these itself.

use super::{RollbackRequest, SyncRequest};
use crate::cli::app_source::CommandError;
use driftless_model::annotations::RESOURCES_FINALIZER;
use serde_json::{Value, json};

/// The `operation.sync` of a sync request.
pub fn sync_of(request: &SyncRequest) -> Value {
    let mut sync = json!({});
    if let Some(revision) = request.revision.as_ref().filter(|r| !r.is_empty()) {
        sync["revision"] = json!(revision);
    }
    if request.prune {
        sync["prune"] = json!(true);
    }
    if request.dry_run {
        sync["dryRun"] = json!(true);
    }
    if !request.resources.is_empty() {
        sync["resources"] = json!(request.resources);
    }
    if !request.sync_options.is_empty() {
        sync["syncOptions"] = json!(request.sync_options);
    }
    sync
}

/// The `operation.sync` that redeploys a history entry; refused while automated sync is on
/// (it would undo the rollback at once) or when the entry does not exist.
pub fn rollback_of(
    app: &Value,
    name: &str,
    request: RollbackRequest,
) -> Result<Value, CommandError> {
    let automated = &app["spec"]["syncPolicy"]["automated"];
    if automated.is_object() && automated["enabled"] != false {
        return Err(CommandError::Failed(format!(
            "failed to roll back {name}: automated sync is on (it would undo the rollback); turn it off first"
        )));
    }
    let history = app["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let entry = history
        .iter()
        .find(|h| h["id"].as_i64() == Some(request.id))
        .ok_or_else(|| {
            let ids: Vec<String> = history
                .iter()
                .filter_map(|h| h["id"].as_i64())
                .map(|i| i.to_string())
                .collect();
            CommandError::NotFound(format!(
                "application {name} has no history entry {} (ids: {})",
                request.id,
                ids.join(", ")
            ))
        })?;
    let mut sync = json!({"prune": request.prune});
    if request.dry_run {
        sync["dryRun"] = json!(true);
    }
    for field in ["revision", "source", "revisions", "sources"] {
        if !entry[field].is_null() {
            sync[field] = entry[field].clone();
        }
    }
    Ok(sync)
}

/// The merge patch that requests `sync` as `username`; refused while another operation runs.
///
/// `requested_at` (a time) goes into `operation.info` beside the reason: it makes a request
/// equal to the last operation differ from it, which the controller would otherwise take as
/// already run and remove without running it.
pub fn operation_patch(
    app: &Value,
    name: &str,
    sync: Value,
    username: &str,
    requested_at: &str,
) -> Result<Value, CommandError> {
    let running = app["status"]["operationState"]["phase"].as_str() == Some("Running");
    if !app["operation"].is_null() || running {
        return Err(CommandError::Failed(format!(
            "failed to start an operation on {name}: another operation is already in progress"
        )));
    }
    Ok(json!({
        "metadata": {"resourceVersion": app["metadata"]["resourceVersion"]},
        "operation": {
            "sync": sync,
            "initiatedBy": {"username": username},
            "info": [
                {"name": "Reason", "value": "requested with driftless --core"},
                {"name": "Requested at", "value": requested_at},
            ],
        },
    }))
}

/// The finalizers a delete leaves on the app before deleting it: the resources finalizer
/// (background variant on request) for a cascading delete, none of it otherwise.
pub fn finalizers_for_delete(
    current: &[String],
    cascade: bool,
    propagation_policy: Option<&str>,
) -> Result<Vec<String>, CommandError> {
    let mut kept: Vec<String> = current
        .iter()
        .filter(|f| !f.starts_with(RESOURCES_FINALIZER))
        .cloned()
        .collect();
    if cascade {
        let finalizer = match propagation_policy {
            None | Some("foreground") => RESOURCES_FINALIZER.to_string(),
            Some("background") => format!("{RESOURCES_FINALIZER}/background"),
            Some(other) => {
                return Err(CommandError::Usage(format!(
                    "--propagation-policy is foreground or background, not {other:?}"
                )));
            }
        };
        kept.push(finalizer);
    }
    Ok(kept)
}

/// The status patch that asks the controller to end the running operation (what Argo CD's
/// `terminate-op` writes); refused when none runs.
pub fn terminate_patch(app: &Value, name: &str) -> Result<Value, CommandError> {
    let phase = app["status"]["operationState"]["phase"]
        .as_str()
        .unwrap_or("");
    if !matches!(phase, "Running" | "Terminating") {
        return Err(CommandError::Failed(format!(
            "failed to terminate the operation of {name}: no operation is in progress"
        )));
    }
    Ok(json!({
        "metadata": {"resourceVersion": app["metadata"]["resourceVersion"]},
        "status": {"operationState": {"phase": "Terminating"}},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_sync_request_writes_only_what_was_asked() {
        let request = SyncRequest {
            revision: Some("v2".into()),
            prune: true,
            resources: vec![json!({"group": "apps", "kind": "Deployment", "name": "web"})],
            ..SyncRequest::default()
        };
        assert_eq!(
            sync_of(&request),
            json!({"revision": "v2", "prune": true, "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}]})
        );
        assert_eq!(sync_of(&SyncRequest::default()), json!({}));
    }

    #[test]
    fn a_rollback_takes_the_entry_and_is_refused_under_automation() {
        let app = json!({"spec": {}, "status": {"history": [
            {"id": 0, "revision": "a", "source": {"repoURL": "r", "path": "p"}},
            {"id": 1, "revision": "b"},
        ]}});
        let request = RollbackRequest {
            id: 0,
            prune: false,
            dry_run: false,
        };
        assert_eq!(
            rollback_of(&app, "shop", request).ok(),
            Some(json!({"prune": false, "revision": "a", "source": {"repoURL": "r", "path": "p"}}))
        );
        let missing = rollback_of(&app, "shop", RollbackRequest { id: 7, ..request });
        assert!(matches!(missing, Err(CommandError::NotFound(m)) if m.contains("ids: 0, 1")));
        let mut automated = app.clone();
        automated["spec"]["syncPolicy"] = json!({"automated": {}});
        assert!(matches!(
            rollback_of(&automated, "shop", request),
            Err(CommandError::Failed(_))
        ));
    }

    #[test]
    fn an_operation_is_refused_while_another_runs() {
        let running = json!({"status": {"operationState": {"phase": "Running"}}});
        assert!(operation_patch(&running, "a", json!({}), "me", "t").is_err());
        let idle = json!({"metadata": {"resourceVersion": "7"}, "status": {}});
        let patch = operation_patch(&idle, "a", json!({}), "me", "t").ok();
        assert_eq!(
            patch.map(|p| p["operation"]["initiatedBy"].clone()),
            Some(json!({"username": "me"}))
        );
        assert!(terminate_patch(&idle, "a").is_err());
        assert!(terminate_patch(&running, "a").is_ok());
    }

    #[test]
    fn delete_finalizers_follow_cascade_and_policy() {
        let current = vec!["other".to_string(), RESOURCES_FINALIZER.to_string()];
        assert_eq!(
            finalizers_for_delete(&current, false, None).ok(),
            Some(vec!["other".to_string()])
        );
        assert_eq!(
            finalizers_for_delete(&current, true, Some("background")).ok(),
            Some(vec![
                "other".to_string(),
                format!("{RESOURCES_FINALIZER}/background")
            ])
        );
        assert!(finalizers_for_delete(&current, true, Some("orphan")).is_err());
    }
}
