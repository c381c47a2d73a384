//! One reconcile of one ApplicationSet: check its repositories through the shared ref
//! polling, generate its Applications and plan against the ones it owns
//! (`driftless_appset::reconcile`), carry the plan out, and write the status if it changed.
//!
//! A generator error (an unreachable repository included) changes no Application: it only
//! becomes a condition. The plan exists only after a successful generation, so "could not
//! read the repository" never reads as "the file is gone".

use super::AppSets;
use super::execute::carry_out;
use super::files::SharedCacheFiles;
use super::keys::{self, GitSource};
use super::owned::{self, APPSET_MANAGER};
use super::status::{next_status, status_patch};
use crate::runtime::clock::now_secs;
use crate::runtime::context::Context;
use crate::runtime::mutex::lock;
use driftless_appset::status::{
    apply_error_conditions, error_conditions, resources, success_conditions,
};
use driftless_appset::{AppSetError, GeneratorError, GitError, Inputs, Reconciled};
use driftless_decisions::time::time_of;
use driftless_model::ApplicationSet;
use driftless_model::annotations::{SECRET_TYPE, SECRET_TYPE_CLUSTER};
use driftless_model::appset::ApplicationSetStatus;
use driftless_model::project::AppProjectSpec;
use driftless_source::redact_url;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Argo CD's annotation asking an ApplicationSet to read its generators' sources again now.
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/application-set-refresh";

/// Wait before trying again when some Applications could not be written.
const APPLY_RETRY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AppSetReconcileError {
    #[error("failed to read ApplicationSet {name}: {source}")]
    Read { name: String, source: kube::Error },
    #[error("failed to list the Applications of namespace {namespace}: {source}")]
    ListApps {
        namespace: String,
        source: kube::Error,
    },
    #[error("failed to list the cluster Secrets of namespace {namespace}: {source}")]
    ListSecrets {
        namespace: String,
        source: kube::Error,
    },
    #[error("failed to list the AppProjects of namespace {namespace}: {source}")]
    ListProjects {
        namespace: String,
        source: kube::Error,
    },
    #[error("failed to write the status of ApplicationSet {name}: {source}")]
    WriteStatus { name: String, source: kube::Error },
    #[error("failed to generate the Applications of ApplicationSet {name}: {message}")]
    Generate { name: String, message: String },
    #[error(transparent)]
    Rolling(#[from] super::rolling::RollingError),
}

/// Reconciles ApplicationSet `name`; returns when to look again, if a time is due.
pub async fn reconcile(
    sets: &Arc<AppSets>,
    name: &str,
) -> Result<Option<Duration>, AppSetReconcileError> {
    let api = sets.api();
    let object = api
        .get_opt(name)
        .await
        .map_err(|source| AppSetReconcileError::Read {
            name: name.into(),
            source,
        })?;
    let Some(object) = object else {
        sets.forget(name);
        return Ok(None);
    };
    let raw = serde_json::to_value(&object).unwrap_or(Value::Null);
    if !raw["metadata"]["deletionTimestamp"].is_null() {
        // Its Applications go by garbage collection, following their ownerReferences (after
        // `deletionOrder: Reverse` has deleted them in order).
        sets.forget(name);
        return Ok(super::rolling::finish_deletion(sets, &api, &raw).await?);
    }
    let appset: ApplicationSet = match serde_json::from_value(raw.clone()) {
        Ok(appset) => appset,
        Err(error) => {
            let previous: ApplicationSetStatus =
                serde_json::from_value(raw["status"].clone()).unwrap_or_default();
            let conditions = error_conditions(&AppSetError::Spec(error.to_string()));
            let resources = previous.resources.clone().unwrap_or_default();
            let next = next_status(&previous, conditions, resources, &time_of(now_secs()));
            write_status(sets, &api, name, &previous, &next).await?;
            return Ok(None);
        }
    };
    super::rolling::ensure_finalizer(&api, &appset).await?;
    let previous = appset.status.clone().unwrap_or_default();
    let refresh = appset
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(REFRESH_ANNOTATION));
    let generators = serde_json::to_value(&appset.spec.generators).unwrap_or(Value::Null);
    let sources = keys::git_sources(&generators);
    let urls = keys::repo_urls(&sources);
    sets.ctx.git.register(
        &driftless_decisions::app_key::Key::AppSet(name.to_string()),
        &urls,
    );

    let all_apps = list_apps(&sets.ctx).await?;
    let existing = owned::split(
        &all_apps,
        appset.metadata.uid.as_deref().unwrap_or_default(),
    );
    let generated = match check_repositories(&sets.ctx, &sources, refresh).await {
        Ok(()) => generate(&sets.ctx, &appset, &generators, &urls, &existing.owned).await?,
        Err(error) => Err(error),
    };
    let mut rollout = None;
    let (conditions, listed, retry) = match generated {
        Err(error) => {
            tracing::warn!(applicationset = name, %error, "generation failed; no application changed");
            (
                error_conditions(&error),
                resources(&existing.owned, &existing.owned),
                None,
            )
        }
        Ok(Reconciled {
            generated,
            plan,
            refused,
        }) => {
            // The rollout reads the apps as listed before this reconcile writes them.
            let pass = super::rolling::progress(&appset, &generated, &existing.owned);
            let apps = sets.ctx.apps();
            let mut done = carry_out(&apps, name, &plan, &existing.foreign).await;
            let owned = &existing.owned;
            let started = super::rolling::start_syncs(&apps, &appset, &pass, owned, &refused);
            done.failures.extend(started.await);
            rollout = Some(pass);
            let listed = resources(&generated, &all_apps);
            match done.failures.first() {
                None if refused.is_empty() => (success_conditions(), listed, None),
                None => {
                    let message = refused_message(&refused);
                    tracing::warn!(applicationset = name, %message, "generated applications refused");
                    (
                        apply_error_conditions("ApplicationValidationError", &message),
                        listed,
                        None,
                    )
                }
                Some(first) => {
                    let message = done
                        .failures
                        .iter()
                        .map(|f| f.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ");
                    tracing::warn!(applicationset = name, %message, "some applications could not be written");
                    (
                        apply_error_conditions(first.reason, &message),
                        listed,
                        Some(APPLY_RETRY),
                    )
                }
            }
        }
    };
    let conditions = super::rolling::with_condition(&appset, conditions, rollout.as_ref());
    let mut next = next_status(&previous, conditions, listed, &time_of(now_secs()));
    super::rolling::set_application_status(&mut next, rollout.as_ref());
    write_status(sets, &api, name, &previous, &next).await?;
    if refresh {
        let patch = json!({"metadata": {"annotations": {REFRESH_ANNOTATION: null}}});
        let params = PatchParams {
            field_manager: Some(APPSET_MANAGER.into()),
            ..PatchParams::default()
        };
        if let Err(error) = api.patch(name, &params, &Patch::Merge(patch)).await {
            tracing::warn!(applicationset = name, %error, "cannot remove the refresh annotation");
        }
    }
    Ok(retry)
}

/// Every refusal, one per app (Argo CD keeps only the last one and counts the rest).
fn refused_message(refused: &[driftless_appset::Refused]) -> String {
    refused
        .iter()
        .map(|r| format!("application {}: {}", r.name, r.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) async fn list_apps(ctx: &Context) -> Result<Vec<Value>, AppSetReconcileError> {
    let listed = ctx
        .apps()
        .list(&ListParams::default())
        .await
        .map_err(|source| AppSetReconcileError::ListApps {
            namespace: ctx.config.app_namespace.clone(),
            source,
        })?;
    Ok(listed
        .items
        .iter()
        .map(|app| serde_json::to_value(app).unwrap_or(Value::Null))
        .collect())
}

/// Makes sure each repository was checked by the shared polling (again now, on a refresh),
/// and fails with the generator's error if its last check failed.
pub(crate) async fn check_repositories(
    ctx: &Context,
    sources: &[GitSource],
    refresh: bool,
) -> Result<(), AppSetError> {
    let mut checked: Vec<&str> = Vec::new();
    for source in sources {
        if checked.contains(&source.repo_url.as_str()) {
            continue;
        }
        checked.push(&source.repo_url);
        if let Err(failed) = ctx.git.ensure(&source.repo_url, refresh).await {
            let error = GitError {
                repo_url: redact_url(&source.repo_url),
                revision: source.revision.clone(),
                message: failed.to_string(),
            };
            return Err(AppSetError::Generator {
                index: source.generator,
                source: GeneratorError::Git(error),
            });
        }
    }
    Ok(())
}

/// Generates and plans, reading git from the shared cache (blocking, so on its own thread).
pub(crate) async fn generate(
    ctx: &Context,
    appset: &ApplicationSet,
    generators: &Value,
    polled: &[String],
    owned: &[Value],
) -> Result<Result<Reconciled, AppSetError>, AppSetReconcileError> {
    let name = appset.metadata.name.clone().unwrap_or_default();
    let cluster_secrets = if keys::uses_clusters(generators) {
        cluster_secrets(ctx).await?
    } else {
        Vec::new()
    };
    let (projects, secrets) = boundary_inputs(ctx).await?;
    let control = ctx.config.app_namespace.clone();
    let cache = ctx.git.cache().clone();
    let (appset, polled, owned) = (appset.clone(), polled.to_vec(), owned.to_vec());
    let task = tokio::task::spawn_blocking(move || {
        let git = SharedCacheFiles::new(&cache, &polled);
        let refuse = |app: &Value| refusal(app, &projects, &secrets, &control);
        driftless_appset::reconcile(
            &appset,
            Inputs {
                git: &git,
                cluster_secrets: &cluster_secrets,
            },
            &owned,
            &refuse,
        )
    });
    task.await.map_err(|e| AppSetReconcileError::Generate {
        name,
        message: e.to_string(),
    })
}

/// Why a generated Application may not be written: its project is missing or refuses it, or
/// its destination names no cluster (Argo CD: "application destination spec is invalid").
fn refusal(
    app: &Value,
    projects: &BTreeMap<String, AppProjectSpec>,
    secrets: &[Secret],
    control: &str,
) -> Option<String> {
    if let Some(why) = driftless_decisions::validate::child_refusal(app, projects, secrets, control)
    {
        return Some(why);
    }
    let destination = serde_json::from_value(app["spec"]["destination"].clone()).ok()?;
    driftless_decisions::cluster_lookup::resolve(&destination, secrets)
        .err()
        .map(|e| format!("application destination spec is invalid: {e}"))
}

/// The AppProjects by name and the cluster and repository Secrets generated apps are checked
/// against.
async fn boundary_inputs(
    ctx: &Context,
) -> Result<(BTreeMap<String, AppProjectSpec>, Arc<Vec<Secret>>), AppSetReconcileError> {
    let namespace = ctx.config.app_namespace.clone();
    let projects =
        ctx.stores
            .project_specs()
            .await
            .map_err(|source| AppSetReconcileError::ListProjects {
                namespace: namespace.clone(),
                source,
            })?;
    let secrets = ctx
        .destinations
        .secrets()
        .await
        .map_err(|e| AppSetReconcileError::Generate {
            name: namespace,
            message: e.to_string(),
        })?;
    Ok((projects, secrets))
}

/// Argo CD cluster Secrets of the app namespace, for the clusters generator.
async fn cluster_secrets(ctx: &Context) -> Result<Vec<Secret>, AppSetReconcileError> {
    let namespace = ctx.config.app_namespace.clone();
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let selector = ListParams::default().labels(&format!("{SECRET_TYPE}={SECRET_TYPE_CLUSTER}"));
    let listed = api
        .list(&selector)
        .await
        .map_err(|source| AppSetReconcileError::ListSecrets { namespace, source })?;
    Ok(listed.items)
}

/// Writes `next` if it differs from the status read (`previous`) and from the one this
/// reconciler last wrote (a status the server stores differently is not written again).
async fn write_status(
    sets: &AppSets,
    api: &Api<DynamicObject>,
    name: &str,
    previous: &ApplicationSetStatus,
    next: &ApplicationSetStatus,
) -> Result<(), AppSetReconcileError> {
    let Some(patch) = status_patch(previous, next) else {
        return Ok(());
    };
    let next_value = serde_json::to_value(next).unwrap_or(Value::Null);
    if lock(&sets.written).get(name) == Some(&next_value) {
        return Ok(());
    }
    let params = PatchParams {
        field_manager: Some(APPSET_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch_status(name, &params, &Patch::Merge(json!({ "status": patch })))
        .await
        .map_err(|source| AppSetReconcileError::WriteStatus {
            name: name.into(),
            source,
        })?;
    lock(&sets.written).insert(name.to_string(), next_value);
    Ok(())
}
