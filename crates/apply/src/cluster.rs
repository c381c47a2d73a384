//! Object-level calls to the API server, by `ResourceKey` and JSON value: get, server-side
//! apply, replace, create, delete, and listing the objects an app tracks.

use crate::catalog::{ApiCatalog, CatalogError, KindInfo};
use crate::tracking::{self, TrackingMethod};
use driftless_model::{GroupKind, ResourceKey};
use driftless_plan::{ApplyOptions, DeletePropagation};
use kube::api::{
    DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, PropagationPolicy,
    ValidationDirective,
};
use kube::{Api, Client};
use serde_json::Value;
use std::sync::{Arc, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("failed to {verb} {key}: {message}")]
    Api {
        verb: &'static str,
        key: ResourceKey,
        code: u16,
        message: String,
    },
    #[error(
        "failed to apply {key}: field conflict with manager(s) {managers:?}: {message} (set ServerSideApply=true or Force=true to take the fields over)"
    )]
    Conflict {
        key: ResourceKey,
        managers: Vec<String>,
        message: String,
    },
    /// Objects a sync waited for did not become healthy, complete or gone in time.
    #[error("timed out after {timeout:?} waiting for {}", joined(pending))]
    WaitTimeout {
        timeout: std::time::Duration,
        pending: Vec<ResourceKey>,
    },
    #[error("failed to read object {0}: it has no apiVersion, kind or name")]
    InvalidObject(String),
    #[error("failed to {verb} {key}: {source}")]
    Transport {
        verb: &'static str,
        key: ResourceKey,
        source: Box<kube::Error>,
    },
}

fn joined(keys: &[ResourceKey]) -> String {
    let names: Vec<String> = keys.iter().map(ToString::to_string).collect();
    names.join(", ")
}

impl ClusterError {
    fn from_kube(verb: &'static str, key: &ResourceKey, err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => Self::Api {
                verb,
                key: key.clone(),
                code: status.code,
                message: status.message.clone(),
            },
            other => Self::Transport {
                verb,
                key: key.clone(),
                source: Box::new(other),
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { code: 404, .. })
    }
}

/// How one object is applied.
#[derive(Debug, Clone)]
pub struct ApplyRequest<'a> {
    pub object: &'a Value,
    pub options: &'a ApplyOptions,
    pub field_manager: &'a str,
    pub dry_run: bool,
}

/// The API server, reached through discovery.
pub struct ClusterClient {
    /// Reads (get, list) and discovery.
    client: Client,
    /// Writes (apply, dry runs, create, replace, delete), when they go as another identity
    /// (an impersonated ServiceAccount); `None`: through `client`.
    writer: Option<Client>,
    /// Shared with the clients [`ClusterClient::writing_through`] makes.
    catalog: Arc<RwLock<ApiCatalog>>,
}

impl ClusterClient {
    pub async fn connect(client: Client) -> Result<Self, ClusterError> {
        let catalog = ApiCatalog::discover(&client).await?;
        Ok(Self {
            client,
            writer: None,
            catalog: Arc::new(RwLock::new(catalog)),
        })
    }

    /// The same cluster with its writes sent through `writer` (an impersonating client); reads
    /// and discovery stay with this client's identity, and the discovered kinds are shared.
    pub fn writing_through(&self, writer: Client) -> Self {
        Self {
            client: self.client.clone(),
            writer: Some(writer),
            catalog: self.catalog.clone(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn catalog(&self) -> ApiCatalog {
        self.catalog.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// Discovers again; called when a kind is missing (a CRD applied a moment ago).
    pub async fn refresh(&self) -> Result<(), ClusterError> {
        let fresh = ApiCatalog::discover(&self.client).await?;
        if let Ok(mut catalog) = self.catalog.write() {
            *catalog = fresh;
        }
        Ok(())
    }

    async fn kind(&self, gk: &GroupKind) -> Result<KindInfo, ClusterError> {
        let cached = self
            .catalog
            .read()
            .ok()
            .and_then(|c| c.get(gk).ok().cloned());
        if let Some(info) = cached {
            return Ok(info);
        }
        self.refresh().await?;
        let catalog = self.catalog();
        Ok(catalog.get(gk)?.clone())
    }

    async fn api(&self, key: &ResourceKey) -> Result<Api<DynamicObject>, ClusterError> {
        self.api_through(&self.client, key).await
    }

    /// The API objects of `key`'s kind are written through.
    async fn write_api(&self, key: &ResourceKey) -> Result<Api<DynamicObject>, ClusterError> {
        self.api_through(self.writer.as_ref().unwrap_or(&self.client), key)
            .await
    }

    async fn api_through(
        &self,
        client: &Client,
        key: &ResourceKey,
    ) -> Result<Api<DynamicObject>, ClusterError> {
        let info = self.kind(&key.group_kind()).await?;
        Ok(if info.namespaced {
            let ns = if key.namespace.is_empty() {
                "default"
            } else {
                &key.namespace
            };
            Api::namespaced_with(client.clone(), ns, &info.resource)
        } else {
            Api::all_with(client.clone(), &info.resource)
        })
    }

    pub async fn get(&self, key: &ResourceKey) -> Result<Option<Value>, ClusterError> {
        let api = self.api(key).await?;
        let found = api
            .get_opt(&key.name)
            .await
            .map_err(|e| ClusterError::from_kube("get", key, e))?;
        Ok(found.map(to_value))
    }

    /// Server-side apply. Without `force`, a conflict with a field manager that applied
    /// (another tool owning the field on purpose) is an error; fields last written by a plain
    /// update (`kubectl edit`, `kubectl scale`: drift) are taken back, as a sync must revert drift.
    pub async fn apply(&self, req: &ApplyRequest<'_>) -> Result<Value, ClusterError> {
        let key = key_of(req.object)?;
        let api = self.write_api(&key).await?;
        if req.options.replace {
            return self.replace(&api, &key, req).await;
        }
        let mut params = PatchParams::apply(req.field_manager);
        params.dry_run = req.dry_run;
        params.field_validation = Some(validation(req.options));
        if req.options.server_side_apply || req.options.force {
            params.force = true;
        }
        match api
            .patch(&key.name, &params, &Patch::Apply(req.object))
            .await
        {
            Ok(obj) => Ok(to_value(obj)),
            Err(kube::Error::Api(status)) if status.code == 409 && !params.force => {
                let managers = conflicting_managers(&status.message);
                let live = self.get(&key).await?;
                if live
                    .as_ref()
                    .is_some_and(|l| all_update_managers(l, &managers))
                {
                    params.force = true;
                    let obj = api
                        .patch(&key.name, &params, &Patch::Apply(req.object))
                        .await
                        .map_err(|e| ClusterError::from_kube("apply", &key, e))?;
                    Ok(to_value(obj))
                } else {
                    Err(ClusterError::Conflict {
                        key,
                        managers,
                        message: status.message.clone(),
                    })
                }
            }
            Err(err) if req.options.force && !req.dry_run => {
                tracing::info!(%key, error = %err, "apply failed; Force=true: deleting and re-creating");
                self.delete(&key, DeletePropagation::Foreground).await?;
                self.create(req.object).await
            }
            Err(err) => Err(ClusterError::from_kube("apply", &key, err)),
        }
    }

    async fn replace(
        &self,
        api: &Api<DynamicObject>,
        key: &ResourceKey,
        req: &ApplyRequest<'_>,
    ) -> Result<Value, ClusterError> {
        let mut obj: DynamicObject = serde_json::from_value(req.object.clone())
            .map_err(|e| ClusterError::InvalidObject(e.to_string()))?;
        let post = PostParams {
            dry_run: req.dry_run,
            field_manager: Some(req.field_manager.to_string()),
        };
        let live = self
            .api(key)
            .await?
            .get_opt(&key.name)
            .await
            .map_err(|e| ClusterError::from_kube("get", key, e))?;
        match live {
            Some(live) => {
                obj.metadata.resource_version = live.metadata.resource_version;
                let replaced = api.replace(&key.name, &post, &obj).await;
                match replaced {
                    Ok(o) => Ok(to_value(o)),
                    Err(err) if req.options.force && !req.dry_run => {
                        tracing::info!(%key, error = %err, "replace failed; Force=true: deleting and re-creating");
                        self.delete(key, DeletePropagation::Foreground).await?;
                        self.create(req.object).await
                    }
                    Err(err) => Err(ClusterError::from_kube("replace", key, err)),
                }
            }
            None => api
                .create(&post, &obj)
                .await
                .map(to_value)
                .map_err(|e| ClusterError::from_kube("create", key, e)),
        }
    }

    /// Creates an object (hooks); an object that exists already is an error.
    pub async fn create(&self, object: &Value) -> Result<Value, ClusterError> {
        let key = key_of(object)?;
        let api = self.write_api(&key).await?;
        let obj: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| ClusterError::InvalidObject(e.to_string()))?;
        api.create(&PostParams::default(), &obj)
            .await
            .map(to_value)
            .map_err(|e| ClusterError::from_kube("create", &key, e))
    }

    /// Deletes an object; one that is already gone counts as deleted.
    pub async fn delete(
        &self,
        key: &ResourceKey,
        propagation: DeletePropagation,
    ) -> Result<(), ClusterError> {
        let api = self.write_api(key).await?;
        let params = DeleteParams {
            propagation_policy: Some(match propagation {
                DeletePropagation::Foreground => PropagationPolicy::Foreground,
                DeletePropagation::Background => PropagationPolicy::Background,
                DeletePropagation::Orphan => PropagationPolicy::Orphan,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&key.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(err) => Err(ClusterError::from_kube("delete", key, err)),
        }
    }

    /// Every live object `app` tracks. Lists metadata only across every kind (the tracking
    /// annotation cannot be selected server-side), then reads the tracked objects whole.
    pub async fn list_tracked(
        &self,
        app: &str,
        method: TrackingMethod,
    ) -> Result<Vec<Value>, ClusterError> {
        let catalog = self.catalog();
        let params = match method {
            TrackingMethod::Label => ListParams::default().labels(&format!(
                "{}={app}",
                driftless_model::annotations::INSTANCE_LABEL
            )),
            _ => ListParams::default(),
        };
        let lists = catalog.trackable().map(|(gk, info)| {
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &info.resource);
            let params = params.clone();
            let gk = gk.clone();
            async move { (gk, api.list_metadata(&params).await) }
        });
        let mut owned = Vec::new();
        for (gk, listed) in futures::future::join_all(lists).await {
            let Ok(list) = listed else {
                tracing::debug!(kind = %gk, "cannot list kind; skipped when looking for tracked objects");
                continue;
            };
            let info = catalog.get(&gk)?;
            for meta in list.items {
                let probe = serde_json::json!({
                    "apiVersion": info.resource.api_version,
                    "kind": info.resource.kind,
                    "metadata": serde_json::to_value(&meta.metadata).unwrap_or_default(),
                });
                if tracking::owner(&probe, method).as_deref() == Some(app)
                    && let Ok(key) = ResourceKey::of(&probe)
                {
                    owned.push(key);
                }
            }
        }
        let mut objects = Vec::with_capacity(owned.len());
        for key in owned {
            if let Some(obj) = self.get(&key).await? {
                objects.push(obj);
            }
        }
        Ok(objects)
    }
}

fn validation(options: &ApplyOptions) -> ValidationDirective {
    if options.validate {
        ValidationDirective::Strict
    } else {
        ValidationDirective::Ignore
    }
}

fn key_of(object: &Value) -> Result<ResourceKey, ClusterError> {
    ResourceKey::of(object).map_err(|e| ClusterError::InvalidObject(e.to_string()))
}

fn to_value(obj: DynamicObject) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

/// Managers named in a 409 apply conflict: `conflict with "kubectl-edit" using apps/v1: .spec.replicas`.
pub fn conflicting_managers(message: &str) -> Vec<String> {
    let mut managers: Vec<String> = message
        .split("conflict with \"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(name, _)| name.to_string()))
        .collect();
    managers.sort();
    managers.dedup();
    managers
}

/// True when every named manager wrote with a plain update (operation `Update`), never applied.
fn all_update_managers(live: &Value, managers: &[String]) -> bool {
    let entries = live["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    !managers.is_empty()
        && managers.iter().all(|m| {
            entries
                .iter()
                .filter(|e| e["manager"].as_str() == Some(m))
                .all(|e| e["operation"].as_str() == Some("Update"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn managers_are_read_from_a_conflict_message() {
        let msg = r#"Apply failed with 2 conflicts: conflict with "kubectl-edit" using apps/v1: .spec.replicas; conflict with "hpa" using apps/v1: .spec.replicas"#;
        assert_eq!(conflicting_managers(msg), vec!["hpa", "kubectl-edit"]);
    }

    #[test]
    fn drift_from_plain_updates_is_taken_back_but_not_from_appliers() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "kubectl-edit", "operation": "Update"},
            {"manager": "other-tool", "operation": "Apply"}
        ]}});
        assert!(all_update_managers(&live, &["kubectl-edit".into()]));
        assert!(!all_update_managers(&live, &["other-tool".into()]));
        assert!(!all_update_managers(&live, &[]));
    }
}
