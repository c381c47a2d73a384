//! `kubectl apply -f` of a multi-document YAML stream (server-side apply), for tests that
//! install something the way a user would: each object's kind is looked up in discovery.

use anyhow::{Context, Result};
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use kube::{Api, Client};
use serde::Deserialize;
use serde_json::Value;

/// Applies every object of `yaml` as `manager`; namespaced objects without a namespace go to
/// `default_namespace`. Returns the objects applied as `Kind/name`.
pub async fn apply_manifests(
    client: &Client,
    yaml: &str,
    default_namespace: &str,
    manager: &str,
) -> Result<Vec<String>> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .context("failed to run discovery")?;
    let mut applied = Vec::new();
    for document in serde_norway::Deserializer::from_str(yaml) {
        let object = Value::deserialize(document).context("failed to read a YAML document")?;
        if object.is_null() {
            continue;
        }
        let object: DynamicObject =
            serde_json::from_value(object).context("failed to read an object")?;
        let types = object
            .types
            .as_ref()
            .context("an object without apiVersion and kind")?;
        let (group, version) = match types.api_version.split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", types.api_version.as_str()),
        };
        let gvk = kube::api::GroupVersionKind::gvk(group, version, &types.kind);
        let (resource, capabilities) = discovery
            .resolve_gvk(&gvk)
            .with_context(|| format!("the cluster does not serve {gvk:?}"))?;
        let name = object.metadata.name.clone().unwrap_or_default();
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Cluster => Api::all_with(client.clone(), &resource),
            Scope::Namespaced => Api::namespaced_with(
                client.clone(),
                object
                    .metadata
                    .namespace
                    .as_deref()
                    .unwrap_or(default_namespace),
                &resource,
            ),
        };
        api.patch(
            &name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(&object),
        )
        .await
        .with_context(|| format!("failed to apply {}/{name}", types.kind))?;
        applied.push(format!("{}/{name}", types.kind));
    }
    Ok(applied)
}
