//! `driftless app manifests|diff NAME --core`: the app read from the cluster and rendered
//! here, as `driftless render` and `driftless diff` render a file (git fetched into the local
//! cache, Helm and Kustomize run locally), then compared with the live objects it tracks.
//! The answer has the API server's shape, Secret values masked in both.

use super::PreviewKind;
use crate::cli::app_source::{AppArgs, CommandError};
use crate::cli::compare::{self, ClusterArgs};
use driftless_apply::{ClusterClient, TrackingMethod};
use driftless_diff::{SecretMasker, SyncStatus};
use driftless_model::Application;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::DynamicObject;
use serde_json::{Value, json};

const TRACKING_KEY: &str = "application.resourceTrackingMethod";

pub async fn preview(
    client: &kube::Client,
    namespace: &str,
    object: &DynamicObject,
    kind: PreviewKind,
    revision: Option<&str>,
) -> Result<Value, CommandError> {
    let name = object.metadata.name.clone().unwrap_or_default();
    let app: Application = serde_json::from_value(serde_json::to_value(object).unwrap_or_default())
        .map_err(|e| CommandError::Failed(format!("application {name} cannot be read: {e}")))?;
    let cluster = ClusterClient::connect(client.clone())
        .await
        .map_err(|e| CommandError::Unreachable(e.to_string()))?;
    let args = AppArgs {
        file: Default::default(),
        revision: revision.map(str::to_string),
        repo_root: None,
        cache_dir: std::env::var_os("DRIFTLESS_CACHE").map(Into::into),
        plugin_dir: None,
        allow_kustomize_remote_bases: false,
    };
    let opts = ClusterArgs {
        tracking: tracking_method(client, namespace).await,
        server_side_diff: false,
        config_namespace: namespace.to_string(),
    };
    let comparison = compare::compare_app(&cluster, app, &args, &opts).await?;
    match kind {
        PreviewKind::Manifests => {
            let masker = SecretMasker::new(compare::salt());
            let manifests: Vec<Value> = comparison
                .desired
                .into_iter()
                .map(|mut object| {
                    masker.mask_if_secret(&mut object);
                    object
                })
                .collect();
            Ok(json!({"revisions": [], "manifests": manifests}))
        }
        PreviewKind::Diff => {
            let mut items: Vec<Value> = comparison
                .diffs
                .iter()
                .map(|diff| {
                    json!({
                        "group": diff.key.group, "kind": diff.key.kind,
                        "namespace": diff.key.namespace, "name": diff.key.name,
                        "status": status_name(diff.status), "diff": diff.text,
                    })
                })
                .collect();
            for refusal in &comparison.refused {
                eprintln!("refused {}: {}", refusal.key, refusal.message);
                items.push(json!({
                    "group": refusal.key.group, "kind": refusal.key.kind,
                    "namespace": refusal.key.namespace, "name": refusal.key.name,
                    "status": "Refused",
                }));
            }
            let differs = items.iter().any(|i| i["status"] != "Synced");
            Ok(json!({"revisions": [], "differs": differs, "items": items}))
        }
        PreviewKind::TreeDiff => Err(CommandError::Usage(format!(
            "`driftless app diff {name} --tree` needs the API server; without one, `driftless check DIR` renders a tree from a checkout"
        ))),
    }
}

fn status_name(status: SyncStatus) -> &'static str {
    match status {
        SyncStatus::Synced => "Synced",
        SyncStatus::OutOfSync => "OutOfSync",
        SyncStatus::Missing => "Missing",
        SyncStatus::Extraneous => "Extraneous",
    }
}

/// argocd-cm's tracking method, as the controller reads it; the annotation when unset.
async fn tracking_method(client: &kube::Client, namespace: &str) -> TrackingMethod {
    let maps: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), namespace);
    maps.get_opt("argocd-cm")
        .await
        .ok()
        .flatten()
        .and_then(|cm| cm.data)
        .and_then(|data| data.get(TRACKING_KEY).and_then(|m| m.trim().parse().ok()))
        .unwrap_or_default()
}
