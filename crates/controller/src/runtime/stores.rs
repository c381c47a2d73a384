//! What the controller reads of its own namespace, kept by watches instead of asked for
//! at every reconcile: the AppProjects and Argo CD's typed Secrets (clusters, repositories,
//! repository credential templates). Each is a kube-runtime reflector store handing out
//! shared objects; until a store has its first listing (at start, or when the watch is
//! refused) readers ask the API server directly, as they did before there were stores.

use driftless_model::annotations::{
    SECRET_TYPE, SECRET_TYPE_CLUSTER, SECRET_TYPE_REPO_CREDS, SECRET_TYPE_REPOSITORY,
};
use driftless_model::project::{AppProject, AppProjectSpec};
use driftless_source::{CredentialSecret, SecretSource, SecretsError};
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// The label selector of the Secrets kept: every Argo CD Secret type driftless reads.
fn secret_selector() -> String {
    format!(
        "{SECRET_TYPE} in ({SECRET_TYPE_CLUSTER},{SECRET_TYPE_REPOSITORY},{SECRET_TYPE_REPO_CREDS})"
    )
}

/// What the AppProject watch saw of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectChange {
    /// Part of a listing (`first`: the one at start; later ones follow a lost watch).
    Listed { first: bool },
    /// Created or changed after the first listing (its apps are compared again).
    Applied,
    /// Deleted after the first listing.
    Deleted,
}

/// Called with each AppProject the watch delivers and what happened to it.
pub type ProjectChanged = Arc<dyn Fn(&AppProject, ProjectChange) + Send + Sync>;

/// Readers of the control namespace's AppProjects and typed Secrets.
#[derive(Clone)]
pub struct ControlStores {
    client: Client,
    namespace: String,
    projects: Store<AppProject>,
    secrets: Store<Secret>,
}

impl ControlStores {
    /// The stores, and the two watches that fill them (to be spawned; each ends only if its
    /// stream does).
    pub fn start(
        client: Client,
        namespace: &str,
        on_project: ProjectChanged,
    ) -> (
        Self,
        impl Future<Output = &'static str> + Send + 'static,
        impl Future<Output = &'static str> + Send + 'static,
    ) {
        let (projects, project_writer) = reflector::store();
        let (secrets, secret_writer) = reflector::store();
        let project_api: Api<AppProject> = Api::namespaced(client.clone(), namespace);
        let secret_api: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let backoff = crate::runtime::backoff::watch_backoff;
        let project_watch = async move {
            let stream = reflector::reflector(
                project_writer,
                watcher::watcher(project_api, watcher::Config::default()).backoff(backoff()),
            );
            futures::pin_mut!(stream);
            let mut listed = false;
            while let Some(event) = stream.next().await {
                match event {
                    Ok(Event::InitDone) => listed = true,
                    Ok(Event::InitApply(project)) => {
                        on_project(&project, ProjectChange::Listed { first: !listed })
                    }
                    Ok(Event::Apply(project)) if listed => {
                        on_project(&project, ProjectChange::Applied)
                    }
                    Ok(Event::Delete(project)) if listed => {
                        on_project(&project, ProjectChange::Deleted)
                    }
                    Ok(_) => {}
                    Err(error) => tracing::debug!(%error, "the AppProject watch failed; retrying"),
                }
            }
            "AppProject watch"
        };
        let secret_watch = async move {
            let config = watcher::Config::default().labels(&secret_selector());
            let stream = reflector::reflector(
                secret_writer,
                watcher::watcher(secret_api, config).backoff(backoff()),
            );
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                if let Err(error) = event {
                    tracing::debug!(%error, "the Secret watch failed; retrying");
                }
            }
            "Secret watch"
        };
        let stores = Self {
            client,
            namespace: namespace.to_string(),
            projects,
            secrets,
        };
        (stores, project_watch, secret_watch)
    }

    /// Both watches have made their first listing.
    pub fn listed(&self) -> bool {
        is_ready(&self.projects) && is_ready(&self.secrets)
    }

    /// The AppProject `name`: from the store once it has listed, else from the API server
    /// (`None` also when that read fails; logged).
    pub async fn project(&self, name: &str) -> Option<Arc<AppProject>> {
        if is_ready(&self.projects) {
            return self
                .projects
                .get(&ObjectRef::new(name).within(&self.namespace));
        }
        let api: Api<AppProject> = Api::namespaced(self.client.clone(), &self.namespace);
        match api.get_opt(name).await {
            Ok(project) => project.map(Arc::new),
            Err(error) => {
                tracing::debug!(%error, project = name, "cannot read the project");
                None
            }
        }
    }

    /// The specs of every AppProject of the namespace, by name.
    pub async fn project_specs(&self) -> Result<BTreeMap<String, AppProjectSpec>, kube::Error> {
        let projects = if is_ready(&self.projects) {
            self.projects.state()
        } else {
            let api: Api<AppProject> = Api::namespaced(self.client.clone(), &self.namespace);
            let listed = api.list(&ListParams::default()).await?;
            listed.items.into_iter().map(Arc::new).collect()
        };
        Ok(projects
            .iter()
            .filter_map(|p| Some((p.metadata.name.clone()?, p.spec.clone())))
            .collect())
    }

    /// The Secrets of the given Argo CD types (`argocd.argoproj.io/secret-type`).
    pub async fn secrets(&self, types: &[&str]) -> Result<Vec<Arc<Secret>>, kube::Error> {
        let of_type = |secret: &Secret| {
            let labels = secret.metadata.labels.as_ref();
            labels
                .and_then(|l| l.get(SECRET_TYPE))
                .is_some_and(|t| types.contains(&t.as_str()))
        };
        if is_ready(&self.secrets) {
            return Ok(self.secrets.state_filter(|s| of_type(s)));
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let listed = api
            .list(&ListParams::default().labels(&secret_selector()))
            .await?;
        Ok(listed
            .items
            .into_iter()
            .filter(|s| of_type(s))
            .map(Arc::new)
            .collect())
    }
}

/// Whether `store` has had its first listing (no waiting).
fn is_ready<K>(store: &Store<K>) -> bool
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    matches!(store.wait_until_ready().now_or_never(), Some(Ok(())))
}

impl SecretSource for ControlStores {
    async fn repository_secrets(&self) -> Result<Vec<CredentialSecret>, SecretsError> {
        let secrets = self
            .secrets(&[SECRET_TYPE_REPOSITORY, SECRET_TYPE_REPO_CREDS])
            .await
            .map_err(|e| SecretsError::List {
                namespace: self.namespace.clone(),
                message: e.to_string(),
            })?;
        Ok(secrets
            .iter()
            .filter_map(|s| CredentialSecret::from_secret(s))
            .collect())
    }
}
