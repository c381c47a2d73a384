//! What the API reads, kept by watches: the Applications, ApplicationSets and AppProjects of
//! the control namespace, as kube-runtime reflector stores handing out shared objects. A list
//! or get is answered from memory (no API request), and every change is also published to
//! the live stream.

use crate::api::index::AppIndex;
use driftless_model::project::AppProject;
use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use tokio::sync::broadcast;

pub fn argo_resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind))
}

/// One change of an Application, for the live stream.
#[derive(Debug, Clone)]
pub enum AppChange {
    Changed(Arc<DynamicObject>),
    Deleted(Arc<DynamicObject>),
}

pub type Watch = Pin<Box<dyn Future<Output = &'static str> + Send>>;

#[derive(Clone)]
pub struct Stores {
    pub namespace: String,
    pub apps: Store<DynamicObject>,
    pub appsets: Store<DynamicObject>,
    pub projects: Store<AppProject>,
    pub changes: broadcast::Sender<AppChange>,
    /// The Applications in listing order, for lists (kept by the same watch as `apps`).
    index: Arc<RwLock<AppIndex>>,
}

impl Stores {
    /// The stores and the watches that fill them (to be spawned).
    pub fn start(client: &Client, namespace: &str) -> (Self, Vec<Watch>) {
        let app_writer = reflector::store::Writer::new(argo_resource("Application"));
        let apps = app_writer.as_reader();
        let appset_writer = reflector::store::Writer::new(argo_resource("ApplicationSet"));
        let appsets = appset_writer.as_reader();
        let (projects, project_writer) = reflector::store();
        let (changes, _) = broadcast::channel(4096);
        let app_api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &argo_resource("Application"));
        let appset_api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &argo_resource("ApplicationSet"));
        let project_api: Api<AppProject> = Api::namespaced(client.clone(), namespace);
        let sender = changes.clone();
        let index = Arc::new(RwLock::new(AppIndex::new(namespace)));
        let indexed = index.clone();
        let app_watch = async move {
            let stream = reflector::reflector(
                app_writer,
                watcher::watcher(app_api, watcher::Config::default()).default_backoff(),
            );
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                let write = || indexed.write().unwrap_or_else(PoisonError::into_inner);
                match event {
                    Ok(Event::Apply(app)) => {
                        let app = Arc::new(app);
                        write().apply(app.clone());
                        let _ = sender.send(AppChange::Changed(app));
                    }
                    Ok(Event::InitApply(app)) => {
                        let app = Arc::new(app);
                        write().relist_apply(app.clone());
                        let _ = sender.send(AppChange::Changed(app));
                    }
                    Ok(Event::Delete(app)) => {
                        let app = Arc::new(app);
                        write().delete(&app);
                        let _ = sender.send(AppChange::Deleted(app));
                    }
                    Ok(Event::Init) => write().relist_start(),
                    Ok(Event::InitDone) => write().relist_done(),
                    Err(error) => tracing::debug!(%error, "the Application watch failed; retrying"),
                }
            }
            "Application watch"
        };
        let appset_watch = drain(
            reflector::reflector(
                appset_writer,
                watcher::watcher(appset_api, watcher::Config::default()).default_backoff(),
            ),
            "ApplicationSet watch",
        );
        let project_watch = drain(
            reflector::reflector(
                project_writer,
                watcher::watcher(project_api, watcher::Config::default()).default_backoff(),
            ),
            "AppProject watch",
        );
        let stores = Self {
            namespace: namespace.to_string(),
            apps,
            appsets,
            projects,
            changes,
            index,
        };
        (
            stores,
            vec![
                Box::pin(app_watch),
                Box::pin(appset_watch),
                Box::pin(project_watch),
            ],
        )
    }

    /// Waits until every store has its first listing.
    pub async fn ready(&self) {
        let _ = futures::join!(
            self.apps.wait_until_ready(),
            self.appsets.wait_until_ready(),
            self.projects.wait_until_ready()
        );
    }

    /// The Applications in listing order; held only while a page is taken from it.
    pub fn index(&self) -> RwLockReadGuard<'_, AppIndex> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn app(&self, name: &str) -> Option<Arc<DynamicObject>> {
        self.apps
            .get(&ObjectRef::new_with(name, argo_resource("Application")).within(&self.namespace))
    }

    pub fn appset(&self, name: &str) -> Option<Arc<DynamicObject>> {
        self.appsets.get(
            &ObjectRef::new_with(name, argo_resource("ApplicationSet")).within(&self.namespace),
        )
    }

    pub fn project(&self, name: &str) -> Option<Arc<AppProject>> {
        self.projects
            .get(&ObjectRef::new(name).within(&self.namespace))
    }
}

async fn drain<K, S>(stream: S, name: &'static str) -> &'static str
where
    S: futures::Stream<Item = Result<Event<K>, watcher::Error>>,
{
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        if let Err(error) = event {
            tracing::debug!(%error, watch = name, "watch failed; retrying");
        }
    }
    name
}
