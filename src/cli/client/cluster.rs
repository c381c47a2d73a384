//! [`AppBackend`] straight against the cluster (`--core`): the Applications, AppProjects and
//! ApplicationSets of one namespace through the KUBECONFIG, written as the API server writes
//! them ([`super::operation`]), with the kube user as who asked.

use super::{
    AppBackend, AppChange, AppList, AppWatch, DeleteRequest, ListQuery, PreviewKind, Refresh,
    RollbackRequest, SyncRequest,
};
use crate::cli::app_source::CommandError;
use driftless_model::annotations::REFRESH;
use driftless_model::requests;
use driftless_server::api::index::AppIndex;
use driftless_server::api::query::{self, Filter};
use driftless_server::store::argo_resource;
use futures::StreamExt;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::{
    DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, PropagationPolicy,
};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use std::sync::Arc;

/// Who asks, when the cluster does not say (Argo CD's core mode has no user either).
const CORE_USER: &str = "core";
/// The reason `operation.info` gives for a request written straight to the cluster.
const CORE_REASON: &str = "requested with driftless --core";
/// Tries of a write that raced another writer (409).
const WRITE_TRIES: usize = 3;

pub struct ClusterBackend {
    client: kube::Client,
    namespace: String,
}

impl ClusterBackend {
    pub async fn connect(namespace: String) -> Result<Self, CommandError> {
        let client = kube::Client::try_default().await.map_err(|e| {
            CommandError::Unreachable(format!(
                "failed to connect to the cluster (KUBECONFIG): {e}"
            ))
        })?;
        Ok(Self { client, namespace })
    }

    fn api(&self, kind: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &argo_resource(kind))
    }

    async fn get(&self, kind: &str, name: &str) -> Result<DynamicObject, CommandError> {
        let what = format!("get {} {name} in {}", kind.to_lowercase(), self.namespace);
        self.api(kind)
            .get_opt(name)
            .await
            .map_err(|e| kube_error(&what, e))?
            .ok_or_else(|| {
                CommandError::NotFound(format!(
                    "{} {name} not found in namespace {}",
                    kind.to_lowercase(),
                    self.namespace
                ))
            })
    }

    async fn list(&self, kind: &str) -> Result<Vec<DynamicObject>, CommandError> {
        let what = format!("list {}s in {}", kind.to_lowercase(), self.namespace);
        let mut items = self
            .api(kind)
            .list(&ListParams::default())
            .await
            .map_err(|e| kube_error(&what, e))?
            .items;
        items.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        Ok(items)
    }

    /// The user the cluster sees (a SelfSubjectReview), else [`CORE_USER`].
    async fn username(&self) -> String {
        let reviews: Api<SelfSubjectReview> = Api::all(self.client.clone());
        match reviews
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
        {
            Ok(review) => review
                .status
                .and_then(|s| s.user_info)
                .and_then(|u| u.username)
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| CORE_USER.to_string()),
            Err(_) => CORE_USER.to_string(),
        }
    }

    /// Writes the operation `sync_for(app)` makes, as the kube user; retried when the app
    /// changed between the read and the write.
    async fn start_operation(
        &self,
        name: &str,
        sync_for: impl Fn(&Value) -> Result<Value, CommandError>,
    ) -> Result<Value, CommandError> {
        let user = self.username().await;
        let what = format!("start an operation on {name}");
        for attempt in 1..=WRITE_TRIES {
            let app = to_value(&self.get("Application", name).await?);
            let patch = requests::operation_patch(&app, sync_for(&app)?, &user, CORE_REASON)?;
            match self
                .api("Application")
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(patched) => return Ok(to_value(&patched)),
                Err(kube::Error::Api(s)) if s.code == 409 && attempt < WRITE_TRIES => continue,
                Err(e) => return Err(kube_error(&what, e)),
            }
        }
        Err(CommandError::Failed(format!(
            "failed to {what}: it kept changing; try again"
        )))
    }
}

fn to_value(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// The error a failed request to the cluster means.
fn kube_error(what: &str, error: kube::Error) -> CommandError {
    match &error {
        kube::Error::Api(status) => {
            let message = format!("failed to {what}: {}", status.message);
            match status.code {
                401 | 403 => CommandError::Denied(message),
                404 => CommandError::NotFound(message),
                408 | 504 => CommandError::Timeout(message),
                _ => CommandError::Failed(message),
            }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => CommandError::Unreachable(format!(
            "failed to {what}: the cluster could not be reached: {error}"
        )),
        _ => CommandError::Failed(format!("failed to {what}: {error}")),
    }
}

impl AppBackend for ClusterBackend {
    async fn list_apps(&self, query: &super::ListQuery) -> Result<AppList, CommandError> {
        let params = list_params(query);
        let filter = Filter::new(&params).map_err(|e| CommandError::Usage(e.to_string()))?;
        let apps: Vec<Arc<DynamicObject>> = self
            .list("Application")
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        let page = AppIndex::from_objects(&self.namespace, apps).page(
            &filter,
            |_| true,
            params.limit,
            params.continue_after.as_deref(),
        );
        Ok(AppList {
            items: page.items.iter().map(|a| to_value(a)).collect(),
            continue_after: page.continue_after,
            remaining: Some(page.remaining as u64),
        })
    }

    async fn get_app(&self, name: &str) -> Result<Value, CommandError> {
        Ok(to_value(&self.get("Application", name).await?))
    }

    async fn refresh_app(&self, name: &str, refresh: Refresh) -> Result<Value, CommandError> {
        let patch = json!({"metadata": {"annotations": {REFRESH: refresh.as_str()}}});
        let patched = self
            .api("Application")
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| kube_error(&format!("refresh application {name}"), e))?;
        Ok(to_value(&patched))
    }

    async fn sync_app(&self, name: &str, request: &SyncRequest) -> Result<Value, CommandError> {
        let sync = request.operation();
        self.start_operation(name, |_| Ok(sync.clone())).await
    }

    async fn rollback_app(
        &self,
        name: &str,
        request: RollbackRequest,
    ) -> Result<Value, CommandError> {
        self.start_operation(name, |app| {
            let RollbackRequest { id, prune, dry_run } = request;
            Ok(requests::rollback_operation(app, id, prune, dry_run)?)
        })
        .await
    }

    async fn delete_app(&self, name: &str, request: &DeleteRequest) -> Result<(), CommandError> {
        let app = self.get("Application", name).await?;
        let current = app.metadata.finalizers.clone().unwrap_or_default();
        let wanted = requests::finalizers_for_delete(
            &current,
            request.cascade,
            request.propagation_policy.as_deref(),
        )?;
        let api = self.api("Application");
        if wanted != current {
            let patch = json!({"metadata": {"finalizers": wanted}});
            api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| kube_error(&format!("set the finalizers of {name}"), e))?;
        }
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Foreground),
            ..DeleteParams::default()
        };
        api.delete(name, &params)
            .await
            .map_err(|e| kube_error(&format!("delete application {name}"), e))?;
        Ok(())
    }

    async fn terminate_operation(&self, name: &str) -> Result<(), CommandError> {
        let what = format!("terminate the operation of {name}");
        for attempt in 1..=WRITE_TRIES {
            let app = to_value(&self.get("Application", name).await?);
            let patch = requests::terminate_patch(&app)?;
            match self
                .api("Application")
                .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(s)) if s.code == 409 && attempt < WRITE_TRIES => continue,
                Err(e) => return Err(kube_error(&what, e)),
            }
        }
        Err(CommandError::Failed(format!(
            "failed to {what}: it kept changing; try again"
        )))
    }

    async fn app_preview(
        &self,
        name: &str,
        kind: PreviewKind,
        revision: Option<&str>,
    ) -> Result<Value, CommandError> {
        let object = self.get("Application", name).await?;
        super::core_preview::preview(&self.client, &self.namespace, &object, kind, revision).await
    }

    async fn generate_appset(&self, _appset: &Value) -> Result<Value, CommandError> {
        Err(CommandError::Usage(
            "`driftless appset generate` needs the API server, which generates with the controller's repository cache".into(),
        ))
    }

    async fn app_events(&self, name: &str) -> Result<Vec<Value>, CommandError> {
        let app = self.get("Application", name).await?;
        let namespace = app
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| self.namespace.clone());
        let events: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let selector = format!("involvedObject.name={name},involvedObject.kind=Application");
        let mut listed = events
            .list(&ListParams::default().fields(&selector))
            .await
            .map_err(|e| kube_error(&format!("list the events of {name}"), e))?
            .items;
        listed.sort_by_key(|e| e.last_timestamp.clone().map(|t| t.0));
        Ok(listed
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect())
    }

    async fn app_resources(&self, name: &str) -> Result<Vec<Value>, CommandError> {
        let app = self.get_app(name).await?;
        Ok(app["status"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    async fn watch_app(&self, name: &str) -> Result<AppWatch, CommandError> {
        // The first read tells a missing app or a missing permission at once; the watch
        // (which retries on its own) then brings each change.
        let first = self.get_app(name).await?;
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        // A (re)list that does not hold the app means it is gone: no Delete event tells that.
        let changes = watcher::watcher(self.api("Application"), config)
            .default_backoff()
            .scan(false, |listed, event| {
                let change = match event {
                    Ok(watcher::Event::Init) => {
                        *listed = false;
                        None
                    }
                    Ok(watcher::Event::InitApply(app)) => {
                        *listed = true;
                        Some(Ok(AppChange::Changed(Box::new(to_value(&app)))))
                    }
                    Ok(watcher::Event::InitDone) => (!*listed).then_some(Ok(AppChange::Deleted)),
                    Ok(watcher::Event::Apply(app)) => {
                        Some(Ok(AppChange::Changed(Box::new(to_value(&app)))))
                    }
                    Ok(watcher::Event::Delete(_)) => Some(Ok(AppChange::Deleted)),
                    // The watch starts again (after a backoff) on its own; waiting goes on.
                    Err(_) => None,
                };
                futures::future::ready(Some(change))
            })
            .filter_map(futures::future::ready);
        Ok(
            futures::stream::once(async move { Ok(AppChange::Changed(Box::new(first))) })
                .chain(changes)
                .boxed(),
        )
    }

    async fn list_projects(&self) -> Result<Vec<Value>, CommandError> {
        Ok(self
            .list("AppProject")
            .await?
            .iter()
            .map(to_value)
            .collect())
    }

    async fn get_project(&self, name: &str) -> Result<Value, CommandError> {
        Ok(to_value(&self.get("AppProject", name).await?))
    }

    async fn list_appsets(&self) -> Result<Vec<Value>, CommandError> {
        Ok(self
            .list("ApplicationSet")
            .await?
            .iter()
            .map(to_value)
            .collect())
    }

    async fn get_appset(&self, name: &str) -> Result<Value, CommandError> {
        Ok(to_value(&self.get("ApplicationSet", name).await?))
    }
}

/// The server's list parameters for `query`: the same filters, applied here.
fn list_params(query: &ListQuery) -> query::ListParams {
    query::ListParams {
        projects: Some(query.projects.join(",")).filter(|p| !p.is_empty()),
        selector: query.selector.clone(),
        sync: query.sync.clone(),
        health: query.health.clone(),
        repo: query.repo.clone(),
        namespace: query.namespace.clone(),
        // The namespace read is the app namespace already.
        app_namespace: None,
        search: query.search.clone(),
        limit: query.limit,
        continue_after: query.continue_after.clone(),
    }
}
