//! Desired against live for one Application: connect, render with the cluster's scopes, read
//! what the app tracks, and diff each pair. Shared by `driftless diff` and `driftless sync`.

use super::app_source::{self, AppArgs, CommandError, Credentials};
use clap::Args;
use driftless_apply::{ClusterClient, TrackingMethod};
use driftless_controller::app_loop::render::CatalogScopes;
use driftless_decisions::compare::ignore_rules;
use driftless_decisions::project_resources::{Boundary, Refusal};
use driftless_decisions::project_scope::ProjectScope;
use driftless_decisions::validate;
use driftless_diff::{Differ, IgnoreRule, ObjectDiff, rules_from_config_map};
use driftless_health::CustomChecks;
use driftless_model::annotations::{SECRET_TYPE, SECRET_TYPE_CLUSTER, SECRET_TYPE_REPOSITORY};
use driftless_model::project::AppProjectSpec;
use driftless_model::{AppProject, Application};
use driftless_source::{KubeSecrets, SecretSource, credentials_for};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;

#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// How applied objects are marked as the app's: annotation, label or annotation+label.
    #[arg(long, default_value = "annotation")]
    pub tracking: TrackingMethod,
    /// Compare with a server-side dry-run apply instead of the offline normaliser
    /// (sees mutating webhooks and defaulting).
    #[arg(long)]
    pub server_side_diff: bool,
    /// Namespace of the `argocd-cm` ConfigMap whose resource customizations (health Lua
    /// scripts, system-wide ignoreDifferences) apply, as in Argo CD.
    #[arg(long, env = "DRIFTLESS_CONFIG_NAMESPACE", default_value = "argocd")]
    pub config_namespace: String,
}

/// Resource customizations from `argocd-cm`: health checks and system-wide ignore rules.
#[derive(Default)]
pub struct Customizations {
    pub health: CustomChecks,
    pub ignore: Vec<IgnoreRule>,
}

pub async fn customizations(
    cluster: &ClusterClient,
    namespace: &str,
) -> Result<Customizations, CommandError> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client().clone(), namespace);
    let Some(cm) = api
        .get_opt("argocd-cm")
        .await
        .map_err(|e| CommandError::Failed(format!("failed to read {namespace}/argocd-cm: {e}")))?
    else {
        return Ok(Customizations::default());
    };
    let data = cm.data.unwrap_or_default();
    let health = CustomChecks::from_config_map_data(&data)
        .map_err(|e| CommandError::Failed(format!("{namespace}/argocd-cm: {e}")))?;
    let ignore = rules_from_config_map(&data)
        .map_err(|e| CommandError::Failed(format!("{namespace}/argocd-cm: {e}")))?;
    Ok(Customizations { health, ignore })
}

pub struct Comparison {
    pub app: Application,
    pub desired: Vec<Value>,
    pub live: Vec<Value>,
    pub diffs: Vec<ObjectDiff>,
    pub customizations: Customizations,
    /// Objects the app's project (read from the config namespace) or its cluster Secret's
    /// scope keeps out: `sync` changes nothing while there are any.
    pub refused: Vec<Refusal>,
    /// The app's AppProject as read (None: the built-in default).
    pub project: Option<AppProjectSpec>,
}

impl Comparison {
    pub fn out_of_sync(&self) -> impl Iterator<Item = &ObjectDiff> {
        self.diffs
            .iter()
            .filter(|d| d.status != driftless_diff::SyncStatus::Synced)
    }
}

pub async fn connect() -> Result<ClusterClient, CommandError> {
    let client = kube::Client::try_default().await.map_err(|e| {
        CommandError::Failed(format!(
            "failed to connect to the cluster (KUBECONFIG): {e}"
        ))
    })?;
    ClusterClient::connect(client)
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))
}

pub async fn compare(
    cluster: &ClusterClient,
    args: &AppArgs,
    opts: &ClusterArgs,
) -> Result<Comparison, CommandError> {
    let app = app_source::load_application(&args.file)?;
    compare_app(cluster, app, args, opts).await
}

/// [`compare`] of an Application already read (`--core`'s from the cluster); `args.file`
/// is not read.
pub async fn compare_app(
    cluster: &ClusterClient,
    mut app: Application,
    args: &AppArgs,
    opts: &ClusterArgs,
) -> Result<Comparison, CommandError> {
    let name = app.metadata.name.clone().unwrap_or_default();
    let scopes = CatalogScopes(cluster.catalog());
    let creds = repo_credentials(cluster, &app, &opts.config_namespace).await?;
    let args_owned = args.clone();
    let rendered = tokio::task::block_in_place(|| {
        app_source::render(&mut app, &args_owned, &creds, Some(&scopes))
    })?;
    let desired: Vec<Value> = rendered.objects.into_iter().map(|o| o.object).collect();
    let mut live = cluster
        .list_tracked(&name, opts.tracking)
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    // Stamped as the controller that applied the live objects stamps what it applies.
    let installation = driftless_decisions::installation::common_id(&live).map(str::to_string);
    let mut desired = desired;
    driftless_decisions::installation::stamp(&mut desired, installation.as_deref());
    let (project, secrets) = boundary_inputs(cluster, &app, &opts.config_namespace).await?;
    let project_name = validate::project_name(&app);
    let project_scope = ProjectScope::of(&secrets, project_name);
    validate::validate(&app, project.as_ref(), &project_scope).map_err(CommandError::Failed)?;
    let cluster_scope =
        driftless_decisions::cluster_lookup::scope_of(&app.spec.destination, &secrets);
    let boundary = Boundary {
        project: project.as_ref(),
        project_name,
        project_scope: &project_scope,
        cluster_name: validate::IN_CLUSTER_NAME,
        cluster_server: validate::IN_CLUSTER_SERVER,
        cluster_scope: &cluster_scope,
        // The CLI compares as its user; the engine's --namespaces is not known here.
        engine_scope: &driftless_decisions::cluster_lookup::ClusterScope::default(),
    };
    validate::destination_permitted(
        &app,
        project.as_ref(),
        &project_scope,
        validate::IN_CLUSTER_NAME,
        validate::IN_CLUSTER_SERVER,
    )
    .map_err(CommandError::Failed)?;
    let refused = boundary.refused(&desired);
    live.retain(|object| boundary.refusal(object).is_none());

    let customizations = customizations(cluster, &opts.config_namespace).await?;
    let mut rules = ignore_rules(&app);
    rules.extend(customizations.ignore.iter().cloned());
    let differ = Differ::new(&rules, salt())
        .map_err(|e| CommandError::Failed(format!("app {name}: {e}")))?;
    let pairs = driftless_decisions::compare::pair(&app, &desired, &live)
        .map_err(|e| CommandError::Failed(format!("app {name}: {e}")))?;
    let mut diffs = Vec::new();
    for (key, (want, have)) in pairs {
        let diff = match (want, have, opts.server_side_diff) {
            (Some(want), Some(have), true) => {
                let predicted = dry_run(cluster, &name, want, opts.tracking).await?;
                differ.diff_server_side(&predicted, have)
            }
            _ => differ.diff(want, have),
        };
        diffs.push(
            diff.map_err(|e| {
                CommandError::Failed(format!("app {name}: failed to diff {key}: {e}"))
            })?,
        );
    }
    Ok(Comparison {
        app,
        desired,
        live,
        diffs,
        customizations,
        refused,
        project,
    })
}

/// The app's AppProject (None: the built-in `default` without an object, or no AppProject
/// kind in the cluster) and the cluster and repository Secrets, from `namespace`.
async fn boundary_inputs(
    cluster: &ClusterClient,
    app: &Application,
    namespace: &str,
) -> Result<(Option<AppProjectSpec>, Vec<Secret>), CommandError> {
    let client = cluster.client().clone();
    let name = validate::project_name(app);
    let projects: Api<AppProject> = Api::namespaced(client.clone(), namespace);
    let project = match projects.get_opt(name).await {
        Ok(project) => project.map(|p| p.spec),
        // No AppProject kind installed: only the built-in default project exists.
        Err(kube::Error::Api(status)) if status.code == 404 => None,
        Err(e) => {
            return Err(CommandError::Failed(format!(
                "failed to read AppProject {namespace}/{name}: {e}"
            )));
        }
    };
    let secrets: Api<Secret> = Api::namespaced(client, namespace);
    let selector = format!("{SECRET_TYPE} in ({SECRET_TYPE_CLUSTER},{SECRET_TYPE_REPOSITORY})");
    let secrets = secrets
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| {
            CommandError::Failed(format!("failed to list the Secrets of {namespace}: {e}"))
        })?
        .items;
    Ok((project, secrets))
}

/// Credentials for each source, from the repository Secrets in the config namespace, chosen
/// as Argo CD chooses them (exact `repository` URL first, else the longest `repo-creds` prefix).
async fn repo_credentials(
    cluster: &ClusterClient,
    app: &Application,
    namespace: &str,
) -> Result<Credentials, CommandError> {
    let secrets = KubeSecrets::new(cluster.client().clone(), namespace);
    let mut creds = Credentials::default();
    for source in app.sources() {
        let found = credentials_for(&secrets, &source.repo_url, Some(app.spec.project.as_str()))
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?;
        creds.git.insert(source.repo_url.clone(), found);
    }
    if app
        .sources()
        .iter()
        .any(|s| driftless_render::chart_of(s).is_some())
    {
        creds.secrets = secrets
            .repository_secrets()
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?;
    }
    Ok(creds)
}

async fn dry_run(
    cluster: &ClusterClient,
    app: &str,
    object: &Value,
    tracking: TrackingMethod,
) -> Result<Value, CommandError> {
    let mut object = object.clone();
    driftless_apply::tracking::stamp(&mut object, app, tracking);
    let options = driftless_plan::ApplyOptions {
        server_side_apply: true,
        ..Default::default()
    };
    let req = driftless_apply::cluster::ApplyRequest {
        object: &object,
        options: &options,
        field_manager: driftless_model::annotations::FIELD_MANAGER,
        dry_run: true,
    };
    cluster
        .apply(&req)
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))
}

/// A per-process salt for Secret masks: the same value gets the same mask within one run.
pub fn salt() -> Vec<u8> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id()).into_bytes()
}
