//! The Applications and AppProjects as the notifier's watches hold them, so that an app with
//! nothing to send is evaluated without a request. Watched only while some trigger is
//! configured: most installs have none, and then nothing is watched or kept.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use kube::Api;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use std::sync::Arc;

/// What the watches delivered, after it went into the stores.
pub(crate) enum Seen {
    /// An app was created or changed: (namespace, name).
    AppChanged((String, String)),
    /// A listing of the apps is complete (the store holds it from now on).
    AppsListed,
    /// Nothing to evaluate for: a deletion, a listing under way, an AppProject.
    Other,
    Failed(watcher::Error),
}

fn seen_of(event: Event<DynamicObject>) -> Seen {
    match event {
        Event::Apply(app) => match (app.metadata.namespace, app.metadata.name) {
            (Some(namespace), Some(name)) => Seen::AppChanged((namespace, name)),
            _ => Seen::Other,
        },
        Event::InitDone => Seen::AppsListed,
        Event::Init | Event::InitApply(_) | Event::Delete(_) => Seen::Other,
    }
}

pub(crate) struct Watched {
    apps: Store<DynamicObject>,
    projects: Store<DynamicObject>,
    app_resource: ApiResource,
    project_resource: ApiResource,
    /// Where the AppProjects are (the controller's namespace).
    project_namespace: String,
}

impl Watched {
    /// Starts watching; the stores fill as the returned stream is polled.
    pub(crate) fn start(
        apps: Api<DynamicObject>,
        app_resource: ApiResource,
        projects: Api<DynamicObject>,
        project_resource: ApiResource,
        project_namespace: &str,
    ) -> (Self, BoxStream<'static, Seen>) {
        let app_writer = reflector::store::Writer::new(app_resource.clone());
        let project_writer = reflector::store::Writer::new(project_resource.clone());
        let watched = Watched {
            apps: app_writer.as_reader(),
            projects: project_writer.as_reader(),
            app_resource,
            project_resource,
            project_namespace: project_namespace.to_string(),
        };
        let app_events = watcher::watcher(apps, watcher::Config::default())
            .default_backoff()
            .reflect(app_writer)
            .map_ok(seen_of);
        let project_events = watcher::watcher(projects, watcher::Config::default())
            .default_backoff()
            .reflect(project_writer)
            .map_ok(|_| Seen::Other);
        let seen = futures::stream::select(app_events.boxed(), project_events.boxed())
            .map(|delivered| delivered.unwrap_or_else(Seen::Failed))
            .boxed();
        (watched, seen)
    }

    /// Whether both watches have listed once (false only if they were stopped first).
    pub(crate) async fn ready(&self) -> bool {
        self.apps.wait_until_ready().await.is_ok() && self.projects.wait_until_ready().await.is_ok()
    }

    pub(crate) fn app(&self, namespace: &str, name: &str) -> Option<Arc<DynamicObject>> {
        self.apps
            .get(&ObjectRef::new_with(name, self.app_resource.clone()).within(namespace))
    }

    /// The AppProject the app names, as JSON.
    pub(crate) fn project_of(&self, app: &Value) -> Option<Value> {
        let name = crate::notifier::project_name(app)?;
        let reference = ObjectRef::new_with(name, self.project_resource.clone())
            .within(&self.project_namespace);
        serde_json::to_value(&*self.projects.get(&reference)?).ok()
    }

    /// Every app the watch holds, as (namespace, name).
    pub(crate) fn keys(&self) -> Vec<(String, String)> {
        self.apps
            .state()
            .iter()
            .filter_map(|app| Some((app.metadata.namespace.clone()?, app.metadata.name.clone()?)))
            .collect()
    }
}
