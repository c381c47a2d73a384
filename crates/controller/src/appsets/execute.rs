//! Carrying out an ApplicationSet's plan: server-side apply (field manager
//! `driftless-appset`) of the Applications to create or update, and deletion of the ones no
//! longer generated — first taking off the resources finalizer when
//! `preserveResourcesOnDeletion` says their resources stay. A failure on one Application is
//! reported and the others still go ahead, as Argo CD does.

use super::owned::{APPSET_MANAGER, apply_body, without_resources_finalizers};
use driftless_appset::Plan;
use kube::Api;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One Application the plan could not be carried out for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Argo CD's condition reason: `CreateApplicationError`, `UpdateApplicationError` or
    /// `DeleteApplicationError`.
    pub reason: &'static str,
    pub message: String,
}

/// What was done, for the log and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub failures: Vec<Failure>,
}

/// Carries out `plan` for ApplicationSet `appset`. `foreign`: Applications controlled by
/// something else (name → owner), which are never taken over.
pub async fn carry_out(
    api: &Api<DynamicObject>,
    appset: &str,
    plan: &Plan,
    foreign: &BTreeMap<String, String>,
) -> Done {
    let mut done = Done::default();
    for app in &plan.create {
        let name = name_of(app);
        if let Some(owner) = foreign.get(name) {
            done.failures.push(Failure {
                reason: "CreateApplicationError",
                message: format!("failed to create application {name}: it exists and is controlled by {owner}, not by ApplicationSet {appset}"),
            });
            continue;
        }
        match apply(api, app).await {
            Ok(()) => {
                tracing::info!(
                    applicationset = appset,
                    application = name,
                    "created application"
                );
                done.created += 1;
            }
            Err(error) => done.failures.push(Failure {
                reason: "CreateApplicationError",
                message: format!("failed to create application {name}: {error}"),
            }),
        }
    }
    for app in &plan.update {
        let name = name_of(app);
        match apply(api, app).await {
            Ok(()) => {
                tracing::info!(
                    applicationset = appset,
                    application = name,
                    "updated application"
                );
                done.updated += 1;
            }
            Err(error) => done.failures.push(Failure {
                reason: "UpdateApplicationError",
                message: format!("failed to update application {name}: {error}"),
            }),
        }
    }
    for deletion in &plan.delete {
        match delete(api, &deletion.name, deletion.orphan_resources).await {
            Ok(()) => {
                tracing::info!(
                    applicationset = appset,
                    application = %deletion.name,
                    keep_resources = deletion.orphan_resources,
                    "deleted application"
                );
                done.deleted += 1;
            }
            Err(error) => done.failures.push(Failure {
                reason: "DeleteApplicationError",
                message: format!("failed to delete application {}: {error}", deletion.name),
            }),
        }
    }
    done
}

fn name_of(app: &Value) -> &str {
    app["metadata"]["name"].as_str().unwrap_or_default()
}

async fn apply(api: &Api<DynamicObject>, app: &Value) -> Result<(), kube::Error> {
    let params = PatchParams::apply(APPSET_MANAGER).force();
    api.patch(name_of(app), &params, &Patch::Apply(apply_body(app)))
        .await
        .map(|_| ())
}

async fn delete(
    api: &Api<DynamicObject>,
    name: &str,
    keep_resources: bool,
) -> Result<(), kube::Error> {
    if keep_resources {
        let Some(live) = api.get_opt(name).await? else {
            return Ok(());
        };
        let live = serde_json::to_value(&live).unwrap_or(Value::Null);
        if let Some(kept) = without_resources_finalizers(&live) {
            // The resourceVersion makes this fail rather than drop a finalizer added meanwhile.
            let patch = json!({"metadata": {"finalizers": kept, "resourceVersion": live["metadata"]["resourceVersion"]}});
            let params = PatchParams {
                field_manager: Some(APPSET_MANAGER.into()),
                ..PatchParams::default()
            };
            api.patch(name, &params, &Patch::Merge(patch)).await?;
        }
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}
