//! The I/O edge: reads an Argo CD namespace into an [`Install`]. Secret values stay here: only
//! key names (and the field names of a cluster Secret's `config`) leave this file.

use super::finding::{CredentialSecret, Install};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;
use std::collections::BTreeMap;

const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("failed to read {what} in namespace {namespace}: {source}")]
    Read {
        what: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to read {kind} objects as JSON: {source}")]
    Json {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Everything the report judges, from `namespace`.
pub async fn read_install(client: &Client, namespace: &str) -> Result<Install, FetchError> {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let read_map = |name: &'static str| {
        let maps = maps.clone();
        async move {
            maps.get_opt(name)
                .await
                .map(|m| m.map(|m| m.data.unwrap_or_default()))
                .map_err(|source| FetchError::Read {
                    what: format!("ConfigMap {name}"),
                    namespace: namespace.to_string(),
                    source,
                })
        }
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let argocd_secret =
        secrets
            .get_opt("argocd-secret")
            .await
            .map_err(|source| FetchError::Read {
                what: "Secret argocd-secret".into(),
                namespace: namespace.to_string(),
                source,
            })?;
    Ok(Install {
        argocd_cm: read_map("argocd-cm").await?,
        rbac_cm: read_map("argocd-rbac-cm").await?,
        cmd_params_cm: read_map("argocd-cmd-params-cm").await?,
        notifications_cm_present: read_map("argocd-notifications-cm").await?.is_some(),
        argocd_secret_keys: argocd_secret.as_ref().map(secret_keys),
        credential_secrets: credential_secrets(&secrets, namespace).await?,
        projects: list(client, namespace, "AppProject").await?,
        applications: list(client, namespace, "Application").await?,
        application_sets: list(client, namespace, "ApplicationSet").await?,
    })
}

fn secret_keys(secret: &Secret) -> Vec<String> {
    let mut keys: Vec<String> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    keys.extend(secret.string_data.iter().flatten().map(|(k, _)| k.clone()));
    keys.sort();
    keys.dedup();
    keys
}

async fn credential_secrets(
    secrets: &Api<Secret>,
    namespace: &str,
) -> Result<Vec<CredentialSecret>, FetchError> {
    let labelled = secrets
        .list(&ListParams::default().labels(SECRET_TYPE_LABEL))
        .await
        .map_err(|source| FetchError::Read {
            what: "repository and cluster Secrets".into(),
            namespace: namespace.to_string(),
            source,
        })?;
    let mut out: Vec<CredentialSecret> = labelled
        .items
        .iter()
        .filter_map(|secret| {
            let secret_type = secret.metadata.labels.as_ref()?.get(SECRET_TYPE_LABEL)?;
            Some(CredentialSecret {
                name: secret.metadata.name.clone().unwrap_or_default(),
                secret_type: secret_type.clone(),
                keys: secret_keys(secret),
                config_fields: config_fields(secret),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The top-level field names of a cluster Secret's `config` JSON; the values are dropped here.
fn config_fields(secret: &Secret) -> Vec<String> {
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get("config"))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get("config"))
                .map(|s| s.clone().into_bytes())
        });
    let Some(bytes) = bytes else {
        return Vec::new();
    };
    match serde_json::from_slice::<BTreeMap<String, Value>>(&bytes) {
        Ok(config) => config.into_keys().collect(),
        Err(_) => Vec::new(),
    }
}

/// The objects of an argoproj.io kind, as JSON; none when the CRD is not installed.
async fn list(
    client: &Client,
    namespace: &str,
    kind: &'static str,
) -> Result<Vec<Value>, FetchError> {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk));
    let objects = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(kube::Error::Api(status)) if status.code == 404 => Vec::new(),
        Err(source) => {
            return Err(FetchError::Read {
                what: format!("{kind}s"),
                namespace: namespace.to_string(),
                source,
            });
        }
    };
    let mut values = objects
        .into_iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| FetchError::Json { kind, source })?;
    values.sort_by(|a, b| {
        a["metadata"]["name"]
            .as_str()
            .cmp(&b["metadata"]["name"].as_str())
    });
    Ok(values)
}
