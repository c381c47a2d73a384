//! What every reconcile shares: clients, caches, configuration, and the way to ask for a
//! reconcile of an app (now or later).

use crate::app_loop::render::Renderer;
use crate::app_loop::status_writer::AppObject;
use crate::app_loop::status_writer::application_resource;
use crate::clusters::destinations::Destinations;
use crate::git::chart_versions::ChartWatcher;
use crate::git::watcher::GitWatcher;
use crate::runtime::app_store::AppStore;
use crate::runtime::config::ControllerConfig;
use crate::runtime::mutex::lock;
use driftless_decisions::app_key::Key;
use driftless_decisions::compare::Judging;
use driftless_decisions::depends::DependencyState;
use driftless_model::{HealthStatusCode, SyncStatusCode};
use kube::api::DynamicObject;
use kube::{Api, Client};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// A request to reconcile an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Now(Key),
    After(String, Duration),
    /// An object tracked by this name changed: reconcile it if it is one of our apps (another
    /// controller's app may own objects too).
    Tracked(String),
    /// The AppProject of this name changed or went: reconcile its apps.
    Project(String),
}

/// What the app watcher last saw of an app: enough to answer `depends-on` questions.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSeen {
    pub sync: SyncStatusCode,
    pub health: HealthStatusCode,
    pub depends_on: Vec<String>,
    /// Its AppProject's name (`default` when it names none).
    pub project: String,
}

pub struct Context {
    /// The cluster driftless runs in: Applications, projects, Secrets, leases.
    pub client: Client,
    pub config: ControllerConfig,
    /// The clusters apps deploy to, each with its discovery and live cache.
    pub destinations: Destinations,
    pub git: GitWatcher,
    /// AppProjects and typed Secrets of the control namespace, kept by watches.
    pub stores: crate::runtime::stores::ControlStores,
    pub charts: Arc<ChartWatcher>,
    pub renderer: Arc<Renderer>,
    /// Health customizations, system-wide ignoreDifferences and the Secret mask salt.
    pub judging: Judging,
    /// Fingerprint of the status last written per app: never write the same twice.
    pub written: Mutex<HashMap<String, [u8; 32]>>,
    /// Apps as the watcher last saw them.
    pub seen: Mutex<HashMap<String, AppSeen>>,
    /// The Applications as the watch delivered them (see [`AppStore`]).
    pub apps: Arc<AppStore>,
    /// Bounds the comparisons running at once.
    /// Per app: the sync-loop breaker's counts for the revision last synced automatically.
    pub loops: Mutex<HashMap<String, driftless_decisions::sync_loop::LoopState>>,
    /// Automated syncs started (for tests and metrics).
    pub sync_applies: Arc<AtomicU64>,
    pub compare_slots: Semaphore,
    /// Slots for comparisons that go ahead of the queue: the one right after a sync, which
    /// reports its outcome (`Synced` at the new revision), and those of apps whose own source
    /// path a commit changed. Neither waits behind every app a shared repository's commit woke.
    pub priority_slots: Semaphore,
    /// Apps whose next comparison goes ahead of the queue.
    pub first_in_line: Mutex<std::collections::HashSet<String>>,
    /// The status a quick automated sync ended with, not written yet: the comparison that
    /// follows it at once writes it together with its own (one status write per sync).
    pub unwritten: Mutex<HashMap<String, driftless_model::ApplicationStatus>>,
    /// Volatile fields found by rendering a revision twice, per app.
    pub volatile: crate::app_loop::volatile_found::Detections,
    pub triggers: mpsc::UnboundedSender<Trigger>,
    pub status_writes: Arc<AtomicU64>,
    /// The syncs running now, each of which can be asked to stop.
    pub terminations: Terminations,
    pub metrics: Arc<crate::runtime::metrics::Metrics>,
    /// Where the audit records go (a disabled log drops them).
    pub audit: crate::audit::AuditLog,
    /// Edits to Applications and AppProjects, for the audit log.
    pub edits: Arc<crate::audit::watched::EditRecorder>,
    /// What announced a change to an app (a poll, a webhook, a chart), until a sync it starts
    /// takes it as its trigger.
    pub causes: Mutex<HashMap<String, crate::audit::trigger::Cause>>,
    /// Set when the controller is stopping: syncs stop at their next safe point.
    pub shutdown: crate::runtime::shutdown::Shutdown,
    /// Which apps this replica works on now.
    pub ownership: Arc<crate::runtime::ownership::Ownership>,
}

/// Running syncs that `terminate-op` can stop, by app key.
#[derive(Default)]
pub struct Terminations(Mutex<HashMap<String, Arc<tokio::sync::Notify>>>);

/// A running sync's place in [`Terminations`]; it leaves when dropped.
pub struct Registration<'a> {
    owner: &'a Terminations,
    app: String,
    signal: Arc<tokio::sync::Notify>,
}

impl Terminations {
    pub fn register(&self, app: &str) -> Registration<'_> {
        let signal = Arc::new(tokio::sync::Notify::new());
        lock(&self.0).insert(app.to_string(), signal.clone());
        Registration {
            owner: self,
            app: app.to_string(),
            signal,
        }
    }

    /// Asks the running sync of `app` to stop; false when none runs.
    pub fn signal(&self, app: &str) -> bool {
        match lock(&self.0).get(app) {
            Some(signal) => {
                // Stored if the sync is not waiting yet, so the request is never lost.
                signal.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Registration<'_> {
    pub async fn notified(&self) {
        self.signal.notified().await
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut running = lock(&self.owner.0);
        if running
            .get(&self.app)
            .is_some_and(|s| Arc::ptr_eq(s, &self.signal))
        {
            running.remove(&self.app);
        }
    }
}

impl Context {
    /// The Applications of the control namespace.
    pub fn apps(&self) -> Api<DynamicObject> {
        self.apps_in(&self.config.app_namespace)
    }

    pub fn apps_in(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &application_resource())
    }

    /// Every Application the controller may serve: of the control namespace, or of all
    /// namespaces when others are served too (the watcher filters them).
    pub fn watched_apps(&self) -> Api<DynamicObject> {
        if self.config.app_namespaces.is_empty() {
            self.apps()
        } else {
            Api::all_with(self.client.clone(), &application_resource())
        }
    }

    /// The object of the app `key` names, to read and write.
    pub fn app_object(&self, key: &str) -> AppObject {
        let (namespace, name) =
            driftless_decisions::app_key::split(key, &self.config.app_namespace);
        AppObject::new(self.apps_in(namespace), name, key, self.apps.clone())
    }

    /// The key of `app` (see [`driftless_decisions::app_key`]).
    pub fn key_of(&self, app: &driftless_model::Application) -> String {
        driftless_decisions::app_key::key(
            app.metadata.namespace.as_deref().unwrap_or_default(),
            app.metadata.name.as_deref().unwrap_or_default(),
            &self.config.app_namespace,
        )
    }

    /// Whether this replica works on the app `key` names now.
    pub fn owns(&self, key: &str) -> bool {
        let (namespace, name) =
            driftless_decisions::app_key::split(key, &self.config.app_namespace);
        self.ownership.owns(namespace, name)
    }

    /// What the syncs of app `key` watch to stop at their next safe point: the controller
    /// stopping, or this replica giving up the app's shard.
    pub fn stop_signal(&self, key: &str) -> tokio::sync::watch::Receiver<bool> {
        let (namespace, name) =
            driftless_decisions::app_key::split(key, &self.config.app_namespace);
        self.ownership.stop_signal(namespace, name, &self.shutdown)
    }

    /// Whether the work on app `key` must stop (no sync may start).
    pub fn stopping(&self, key: &str) -> bool {
        self.shutdown.is_asked() || *self.stop_signal(key).borrow()
    }

    pub fn reconcile(&self, app: &str) {
        self.wake(Key::App(app.to_string()));
    }

    /// Lets the next comparison of `app` go ahead of the queue (see `priority_slots`).
    pub fn put_first(&self, app: &str) {
        lock(&self.first_in_line).insert(app.to_string());
    }

    /// Asks for a reconcile of an app or an ApplicationSet.
    pub fn wake(&self, key: Key) {
        let _ = self.triggers.send(Trigger::Now(key));
    }

    /// Notes what announced a change to `app`, for the trigger of the sync it may start.
    pub fn announce(&self, app: &str, cause: crate::audit::trigger::Cause) {
        lock(&self.causes).insert(app.to_string(), cause);
    }

    /// Takes what announced the last change to `app`, if anything did.
    pub fn take_cause(&self, app: &str) -> Option<crate::audit::trigger::Cause> {
        lock(&self.causes).remove(app)
    }

    pub fn reconcile_after(&self, app: &str, delay: Duration) {
        let _ = self.triggers.send(Trigger::After(app.to_string(), delay));
    }

    /// Drops what is kept about a deleted app.
    pub fn forget(&self, app: &str) {
        self.git.forget(&Key::App(app.to_string()));
        self.charts.forget(app);
        lock(&self.written).remove(app);
        lock(&self.loops).remove(app);
        lock(&self.first_in_line).remove(app);
        lock(&self.unwritten).remove(app);
        self.volatile.forget(app);
        self.metrics.forget_app(app);
        lock(&self.causes).remove(app);
    }

    /// The sync and health of a dependency as last seen.
    pub fn dependency_state(&self, app: &str) -> DependencyState {
        lock(&self.seen)
            .get(app)
            .map(|s| (s.sync.clone(), s.health.clone()))
    }
}
