//! The edges of progressive syncs (the decisions are `driftless_appset::rolling`'s):
//!
//! - each reconcile, one pass of the rollout over the owned Applications; its syncs are
//!   started by writing `operation` on the Application (as `argocd app sync` does), and its
//!   `applicationStatus` and `RolloutProgressing` condition join the status;
//! - `deletionOrder: Reverse`: the ApplicationSet carries Argo CD's resources finalizer, and
//!   once it is deleted its Applications are deleted one at a time, last step first, each
//!   gone before the next is deleted; then the finalizer comes off and garbage collection
//!   takes what is left (apps in no step).

use super::AppSets;
use super::execute::Failure;
use super::owned::{self, APPSET_MANAGER};
use crate::runtime::clock::now_secs;
use driftless_appset::rolling::{self, Input, Outcome, ROLLOUT_PROGRESSING, Rollout};
use driftless_appset::{Policy, Refused};
use driftless_decisions::status::replacing_patch;
use driftless_decisions::time::time_of;
use driftless_model::ApplicationSet;
use driftless_model::annotations::RESOURCES_FINALIZER;
use driftless_model::appset::{ApplicationSetCondition, ApplicationSetStatus};
use kube::Api;
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

/// How long to wait before looking again at a reverse deletion in progress (Argo CD's), if no
/// Application event comes first.
pub const DELETION_RECHECK: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum RollingError {
    #[error("failed to add the resources finalizer to ApplicationSet {name}: {source}")]
    AddFinalizer { name: String, source: kube::Error },
    #[error("failed to remove the resources finalizer of ApplicationSet {name}: {source}")]
    RemoveFinalizer { name: String, source: kube::Error },
    #[error("failed to list the Applications of ApplicationSet {name}: {source}")]
    ListApps { name: String, source: kube::Error },
    #[error("failed to delete application {app} of ApplicationSet {name}: {source}")]
    DeleteApp {
        name: String,
        app: String,
        source: kube::Error,
    },
}

/// One pass of the rollout, now.
pub fn progress(appset: &ApplicationSet, generated: &[Value], live: &[Value]) -> Outcome {
    let Ok(policy) = Policy::of(&appset.spec) else {
        return Outcome::default();
    };
    let previous = appset
        .status
        .as_ref()
        .and_then(|s| s.application_status.as_deref())
        .unwrap_or_default();
    rolling::progress(&Input {
        spec: &appset.spec,
        policy: &policy,
        generated,
        live,
        previous,
        now: &time_of(now_secs()),
    })
}

/// Starts the syncs the pass asked for, on the Applications that exist, are not being
/// deleted and may be written (not refused; the policy allows updates, as Argo CD writes the
/// operation with the update). An operation already there is left alone.
pub async fn start_syncs(
    api: &Api<DynamicObject>,
    appset: &ApplicationSet,
    outcome: &Outcome,
    live: &[Value],
    refused: &[Refused],
) -> Vec<Failure> {
    let allowed = Policy::of(&appset.spec).is_ok_and(|p| p.allows_update());
    let mut failures = Vec::new();
    for request in outcome.sync.iter().filter(|_| allowed) {
        let name = request.application.as_str();
        let Some(app) = live.iter().find(|a| a["metadata"]["name"] == name) else {
            continue;
        };
        if refused.iter().any(|r| r.name == name) || !app["metadata"]["deletionTimestamp"].is_null()
        {
            continue;
        }
        let operation = serde_json::to_value(&request.operation).unwrap_or(Value::Null);
        if app["operation"] == operation {
            continue;
        }
        // Against the live one, so no field of another operation survives the merge; with
        // every field of ours written, so a live copy the Application controller has cleared
        // meanwhile (it ran that operation) still gets the whole operation, not the changes.
        let patch = replacing_patch(&app["operation"], &operation);
        let params = PatchParams {
            field_manager: Some(APPSET_MANAGER.into()),
            ..PatchParams::default()
        };
        match api
            .patch(name, &params, &Patch::Merge(json!({"operation": patch})))
            .await
        {
            Ok(_) => tracing::info!(
                applicationset = appset.metadata.name.as_deref().unwrap_or_default(),
                application = name,
                "rolling sync started a sync"
            ),
            Err(error) => failures.push(Failure {
                reason: "UpdateApplicationError",
                message: format!("failed to start the sync of application {name}: {error}"),
            }),
        }
    }
    failures
}

/// The conditions with the rollout's: the pass's `RolloutProgressing` (none when the
/// strategy is not a RollingSync, so it is dropped). Without a pass (generation failed) a
/// RollingSync keeps the one it had, as Argo CD does.
pub fn with_condition(
    appset: &ApplicationSet,
    mut conditions: Vec<ApplicationSetCondition>,
    outcome: Option<&Outcome>,
) -> Vec<ApplicationSetCondition> {
    let condition = match outcome {
        Some(outcome) => outcome.condition.clone(),
        None if Rollout::of(&appset.spec).is_rolling() => appset
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.condition_type == ROLLOUT_PROGRESSING))
            .cloned(),
        None => None,
    };
    conditions.extend(condition);
    conditions
}

/// Puts the pass's `applicationStatus` in `next` (without a pass the old one stays).
pub fn set_application_status(next: &mut ApplicationSetStatus, outcome: Option<&Outcome>) {
    if let Some(outcome) = outcome {
        let list = outcome.application_status.clone();
        next.application_status = (!list.is_empty()).then_some(list);
    }
}

/// Adds Argo CD's resources finalizer to an ApplicationSet with `deletionOrder: Reverse`, so
/// that its deletion waits for the ordered deletion of its Applications.
pub async fn ensure_finalizer(
    api: &Api<DynamicObject>,
    appset: &ApplicationSet,
) -> Result<(), RollingError> {
    let mut finalizers = appset.metadata.finalizers.clone().unwrap_or_default();
    if !rolling::reverse_deletion(&appset.spec)
        || finalizers.iter().any(|f| f == RESOURCES_FINALIZER)
    {
        return Ok(());
    }
    finalizers.push(RESOURCES_FINALIZER.into());
    let name = appset.metadata.name.clone().unwrap_or_default();
    set_finalizers(
        api,
        &name,
        &finalizers,
        appset.metadata.resource_version.as_deref(),
    )
    .await
    .map_err(|source| RollingError::AddFinalizer { name, source })
}

/// The deleted ApplicationSet `raw`: with `deletionOrder: Reverse` (and a policy that deletes)
/// the next Application in reverse step order is deleted, or waited for; when none is left,
/// the resources finalizer is removed. Returns when to look again.
pub async fn finish_deletion(
    sets: &AppSets,
    api: &Api<DynamicObject>,
    raw: &Value,
) -> Result<Option<Duration>, RollingError> {
    let name = raw["metadata"]["name"].as_str().unwrap_or_default();
    let finalizers: Vec<String> = raw["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    if let Some(appset) = serde_json::from_value::<ApplicationSet>(raw.clone())
        .ok()
        .filter(|a| rolling::reverse_deletion(&a.spec))
        .filter(|a| Policy::of(&a.spec).is_ok_and(|p| p.allows_delete()))
        && let Some(wait) = delete_next(sets, &appset).await?
    {
        return Ok(Some(wait));
    }
    if !finalizers.iter().any(|f| f == RESOURCES_FINALIZER) {
        return Ok(None);
    }
    let kept: Vec<String> = finalizers
        .into_iter()
        .filter(|f| f != RESOURCES_FINALIZER)
        .collect();
    set_finalizers(
        api,
        name,
        &kept,
        raw["metadata"]["resourceVersion"].as_str(),
    )
    .await
    .map_err(|source| RollingError::RemoveFinalizer {
        name: name.into(),
        source,
    })?;
    Ok(None)
}

/// Deletes (or waits for) the first of the ApplicationSet's Applications in reverse step
/// order; None when none is left.
async fn delete_next(
    sets: &AppSets,
    appset: &ApplicationSet,
) -> Result<Option<Duration>, RollingError> {
    let name = appset.metadata.name.clone().unwrap_or_default();
    let apps = sets.ctx.apps();
    let listed =
        apps.list(&ListParams::default())
            .await
            .map_err(|source| RollingError::ListApps {
                name: name.clone(),
                source,
            })?;
    let all: Vec<Value> = listed
        .items
        .iter()
        .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
        .collect();
    let owned = owned::split(&all, appset.metadata.uid.as_deref().unwrap_or_default()).owned;
    let order = rolling::deletion_order(Rollout::of(&appset.spec).steps(), &owned);
    let Some(next) = order.first() else {
        return Ok(None);
    };
    let terminating = owned.iter().any(|a| {
        a["metadata"]["name"] == next.as_str() && !a["metadata"]["deletionTimestamp"].is_null()
    });
    if terminating {
        tracing::debug!(applicationset = %name, application = %next, "waiting for the application to go");
        return Ok(Some(DELETION_RECHECK));
    }
    match apps.delete(next, &DeleteParams::default()).await {
        Ok(_) => {
            tracing::info!(applicationset = %name, application = %next, "deleted application (reverse order)");
            Ok(Some(DELETION_RECHECK))
        }
        // Gone meanwhile: look again at once for the next one.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Some(Duration::ZERO)),
        Err(source) => Err(RollingError::DeleteApp {
            name,
            app: next.clone(),
            source,
        }),
    }
}

async fn set_finalizers(
    api: &Api<DynamicObject>,
    name: &str,
    finalizers: &[String],
    resource_version: Option<&str>,
) -> Result<(), kube::Error> {
    // The resourceVersion makes this fail rather than drop a finalizer added meanwhile.
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}});
    let params = PatchParams {
        field_manager: Some(APPSET_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch(name, &params, &Patch::Merge(patch))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_appset::status::success_conditions;
    use pretty_assertions::assert_eq;

    fn appset(strategy: Value, conditions: Value) -> ApplicationSet {
        serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "set"},
            "spec": {"generators": [], "strategy": strategy,
                     "template": {"metadata": {}, "spec": {"project": "default", "destination": {}}}},
            "status": {"conditions": conditions}}))
        .unwrap()
    }

    fn types(conditions: &[ApplicationSetCondition]) -> Vec<&str> {
        conditions
            .iter()
            .map(|c| c.condition_type.as_str())
            .collect()
    }

    #[test]
    fn a_failed_generation_keeps_the_rollout_condition_of_a_rolling_sync_only() {
        let progressing = json!([{"type": "RolloutProgressing", "status": "True",
            "reason": "ApplicationSetModified", "message": "ApplicationSet is performing rollout of step 1"}]);
        let rolling = appset(
            json!({"type": "RollingSync", "rollingSync": {"steps": [{}]}}),
            progressing.clone(),
        );
        let kept = with_condition(&rolling, success_conditions(), None);
        assert_eq!(
            types(&kept),
            vec![
                "ParametersGenerated",
                "ResourcesUpToDate",
                "ErrorOccurred",
                "RolloutProgressing"
            ]
        );
        let all_at_once = appset(json!({"type": "AllAtOnce"}), progressing);
        assert_eq!(
            with_condition(&all_at_once, success_conditions(), None).len(),
            3
        );
        let dropped = with_condition(&rolling, success_conditions(), Some(&Outcome::default()));
        assert_eq!(dropped.len(), 3, "a pass without a condition drops it");
    }

    #[test]
    fn an_empty_application_status_is_removed() {
        let mut next: ApplicationSetStatus = serde_json::from_value(json!({"applicationStatus": [
            {"application": "a", "message": "m", "status": "Waiting", "step": "1", "targetRevisions": []}]}))
        .unwrap();
        set_application_status(&mut next, None);
        assert!(next.application_status.is_some(), "no pass: kept");
        set_application_status(&mut next, Some(&Outcome::default()));
        assert_eq!(next.application_status, None);
    }

    #[test]
    fn a_sync_request_patch_carries_the_whole_operation_and_removes_what_the_old_one_had() {
        let live = json!({"sync": {"revision": "a", "prune": true},
                          "initiatedBy": {"username": "x"}, "info": [{"name": "n", "value": "1"}]});
        let ours = json!({"sync": {"prune": true}, "initiatedBy": {"username": "x"},
                          "info": [{"name": "n", "value": "2"}]});
        let patch = replacing_patch(&live, &ours);
        assert_eq!(
            patch,
            json!({"sync": {"revision": null, "prune": true}, "initiatedBy": {"username": "x"},
                   "info": [{"name": "n", "value": "2"}]})
        );
        // Applied to the live operation or to none (cleared meanwhile): ours either way.
        for current in [live, Value::Null] {
            let mut merged = current;
            driftless_appset::merge_json::merge_patch(&mut merged, &patch);
            assert_eq!(merged, ours);
        }
    }
}
