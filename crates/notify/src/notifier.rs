//! The running part: watches the served Applications and evaluates an app each time it
//! changes, and every app on a periodic pass (for time-based conditions); sends what the plan
//! says and writes the notified state back into the app's annotation.
//!
//! Each app is evaluated by one task at a time (a change during an evaluation runs it again
//! after), first from the watch's copies of the app and its AppProject (`watched`, kept
//! only while some trigger is configured), then, when there is something to send or record,
//! from a fresh read of both; the ConfigMap and Secret as their watches last told them
//! (`config_watch`; parsed again only when changed).
//! With a leader Lease given, only the replica holding it evaluates and sends.

use crate::config::{self, CONFIG_MAP, NotifyConfig};
use crate::config_watch;
use crate::engine::{self, Delivery, Finding};
use crate::send::{self, NetTransport, Retry, Transport};
use crate::state::ANNOTATION;
use crate::template::{self, Vars};
use crate::triggers::Triggers;
use crate::watched::{Seen, Watched};
use futures::StreamExt;
use futures::stream::BoxStream;
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a read of the Lease is used before reading again.
const FRESH_FOR: Duration = Duration::from_secs(2);
const FIELD_MANAGER: &str = "driftless-notifications";

/// The Lease whose holder alone sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    pub lease_name: String,
    pub identity: String,
}

/// Which apps this replica notifies for (its shard's, when `--shards` splits them).
#[derive(Clone)]
pub struct AppFilter(Arc<Owns>);

type Owns = dyn Fn(&str, &str) -> bool + Send + Sync;

impl AppFilter {
    /// `owns(namespace, name)`.
    pub fn new(owns: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Self {
        AppFilter(Arc::new(owns))
    }
}

impl std::fmt::Debug for AppFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppFilter")
    }
}

#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// The controller's namespace: the ConfigMap, the Secret, AppProjects and Applications.
    pub namespace: String,
    /// Other namespaces whose Applications are served (globs, or `/regexp/`).
    pub app_namespaces: Vec<String>,
    /// Every app is evaluated this often even when it did not change.
    pub resync: Duration,
    pub retry: Retry,
    pub leader: Option<Leader>,
    /// Only these apps (default: every served app).
    pub owns: Option<AppFilter>,
}

impl NotifierConfig {
    pub fn new(namespace: impl Into<String>) -> Self {
        NotifierConfig {
            namespace: namespace.into(),
            app_namespaces: Vec::new(),
            resync: Duration::from_secs(60),
            retry: Retry::default(),
            leader: None,
            owns: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("failed to set up the HTTP client for notifications: {0}")]
    Client(#[source] reqwest::Error),
    #[error("the configuration watches of the notifications ended")]
    WatchEnded,
}

/// The notifications task of `driftless serve`.
pub struct Notifier {
    shared: Arc<Shared>,
}

/// The configuration as its watches last told it.
struct Loaded {
    config: NotifyConfig,
    triggers: Triggers,
    versions: (Option<String>, Option<String>),
}

struct Shared {
    client: Client,
    config: NotifierConfig,
    transport: Arc<dyn Transport>,
    /// None until the ConfigMap and the Secret have both been listed.
    loaded: tokio::sync::watch::Sender<Option<Arc<Loaded>>>,
    leading: Mutex<Option<(Instant, bool)>>,
    /// The apps and projects as watched while some trigger is configured.
    watched: Mutex<Option<Arc<Watched>>>,
    /// Findings already logged, so each is logged once per configuration.
    reported: Mutex<HashSet<String>>,
}

type AppKey = (String, String);

fn resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Notifier {
    pub fn new(client: Client, config: NotifierConfig) -> Result<Self, NotifyError> {
        let transport = NetTransport::new().map_err(NotifyError::Client)?;
        Ok(Self::with_transport(client, config, Arc::new(transport)))
    }

    /// A notifier sending through `transport` (tests).
    pub fn with_transport(
        client: Client,
        config: NotifierConfig,
        transport: Arc<dyn Transport>,
    ) -> Self {
        Notifier {
            shared: Arc::new(Shared {
                client,
                config,
                transport,
                loaded: tokio::sync::watch::Sender::new(None),
                leading: Mutex::new(None),
                watched: Mutex::new(None),
                reported: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// Runs until the configuration's watches end (they retry on their own, so: never).
    pub async fn run(self) -> Result<(), NotifyError> {
        let shared = self.shared;
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<AppKey>();
        let mut scheduler = Scheduler {
            shared: shared.clone(),
            done: done_tx,
            running: HashSet::new(),
            again: HashSet::new(),
        };
        let resync = shared.config.resync.max(Duration::from_secs(1));
        let mut pass = tokio::time::interval_at(tokio::time::Instant::now() + resync, resync);
        pass.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Evaluations are skipped while another replica leads: on taking over, all apps are
        // evaluated at once instead of at the next pass.
        let mut leadership = tokio::time::interval(FRESH_FOR);
        let mut was_leading = shared.config.leader.is_none();
        let following = config_watch::follow(
            shared.client.clone(),
            &shared.config.namespace,
            |map, secret| shared.publish(map, secret),
        );
        tokio::pin!(following);
        let mut configured = shared.loaded.subscribe();
        // The apps' and projects' watches, while some trigger is configured.
        let mut seen: Option<BoxStream<'static, Seen>> = None;
        tracing::info!(namespace = %shared.config.namespace, "notifications started");
        loop {
            tokio::select! {
                () = &mut following => return Err(NotifyError::WatchEnded),
                Ok(()) = configured.changed() => {
                    let wanted = configured
                        .borrow_and_update()
                        .as_ref()
                        .is_some_and(|loaded| !loaded.config.triggers.is_empty());
                    if wanted && seen.is_none() {
                        seen = Some(shared.watch());
                    } else if !wanted && seen.is_some() {
                        seen = None;
                        *lock(&shared.watched) = None;
                        tracing::info!("no notification trigger is configured: the Applications are no longer watched for them");
                    }
                }
                Some(delivered) = next_seen(&mut seen) => match delivered {
                    Seen::AppChanged(key) => scheduler.schedule(key),
                    Seen::AppsListed => scheduler.schedule_all(shared.watched_keys()),
                    Seen::Other => {}
                    Seen::Failed(error) => tracing::debug!(%error, "a watch of the notifier failed; retrying"),
                },
                _ = pass.tick() => scheduler.schedule_all(shared.watched_keys()),
                _ = leadership.tick(), if !was_leading => {
                    if shared.leading().await {
                        was_leading = true;
                        tracing::info!("this replica leads: notifications are sent from here");
                        scheduler.schedule_all(shared.watched_keys());
                    }
                }
                Some(key) = done_rx.recv() => scheduler.done(key),
            }
        }
    }
}

/// The next delivery of the watches, if they run (else never).
async fn next_seen(seen: &mut Option<BoxStream<'static, Seen>>) -> Option<Seen> {
    match seen {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// One evaluation per app at a time; a change meanwhile runs it once more after.
struct Scheduler {
    shared: Arc<Shared>,
    done: mpsc::UnboundedSender<AppKey>,
    running: HashSet<AppKey>,
    again: HashSet<AppKey>,
}

impl Scheduler {
    fn schedule(&mut self, key: AppKey) {
        if !self.shared.serves(&key.0, &key.1) {
            return;
        }
        if self.running.contains(&key) {
            self.again.insert(key);
            return;
        }
        self.running.insert(key.clone());
        let shared = self.shared.clone();
        let done = self.done.clone();
        tokio::spawn(async move {
            // Told from Drop, so the app is not left "running" even if the evaluation panics.
            let finished = Finished(Some(key), done);
            if let Some((namespace, name)) = &finished.0 {
                shared.evaluate(namespace, name).await;
            }
        });
    }

    fn schedule_all(&mut self, keys: Vec<AppKey>) {
        for key in keys {
            self.schedule(key);
        }
    }

    fn done(&mut self, key: AppKey) {
        self.running.remove(&key);
        if self.again.remove(&key) {
            self.schedule(key);
        }
    }
}

struct Finished(Option<AppKey>, mpsc::UnboundedSender<AppKey>);

impl Drop for Finished {
    fn drop(&mut self) {
        if let Some(key) = self.0.take() {
            let _ = self.1.send(key);
        }
    }
}

impl Shared {
    fn apps_api(&self) -> Api<DynamicObject> {
        if self.config.app_namespaces.is_empty() {
            Api::namespaced_with(
                self.client.clone(),
                &self.config.namespace,
                &resource("Application"),
            )
        } else {
            Api::all_with(self.client.clone(), &resource("Application"))
        }
    }

    /// Starts the apps' and projects' watches; their stores are used once the stream is polled.
    fn watch(&self) -> BoxStream<'static, Seen> {
        let projects = Api::namespaced_with(
            self.client.clone(),
            &self.config.namespace,
            &resource("AppProject"),
        );
        let (watched, seen) = Watched::start(
            self.apps_api(),
            resource("Application"),
            projects,
            resource("AppProject"),
            &self.config.namespace,
        );
        *lock(&self.watched) = Some(Arc::new(watched));
        tracing::info!("a notification trigger is configured: watching the Applications for it");
        seen
    }

    fn watched_keys(&self) -> Vec<AppKey> {
        lock(&self.watched)
            .as_ref()
            .map(|watched| watched.keys())
            .unwrap_or_default()
    }

    fn serves(&self, namespace: &str, name: &str) -> bool {
        let served = namespace == self.config.namespace
            || driftless_model::glob::in_list(&self.config.app_namespaces, namespace);
        served
            && self
                .config
                .owns
                .as_ref()
                .is_none_or(|owns| (owns.0)(namespace, name))
    }

    /// Evaluates one app, sends, and keeps the state.
    async fn evaluate(&self, namespace: &str, name: &str) {
        if !self.leading().await {
            return;
        }
        let loaded = self.configuration().await;
        if loaded.config.triggers.is_empty() {
            // Nothing configured (the usual case without argocd-notifications-cm): no reads.
            return;
        }
        let Some(watched) = lock(&self.watched).clone() else {
            return;
        };
        if !watched.ready().await {
            return;
        }
        let Some(seen) = watched.app(namespace, name) else {
            return;
        };
        let seen = serde_json::to_value(&*seen).unwrap_or(Value::Null);
        let seen_project = watched.project_of(&seen);
        let plan = engine::plan(
            &loaded.config,
            &loaded.triggers,
            &seen,
            seen_project.as_ref(),
            Timestamp::now(),
        );
        if plan.deliveries.is_empty() && plan.state == plan.previous {
            for finding in &plan.findings {
                self.report(namespace, name, finding);
            }
            return;
        }
        // Something to send or to record. The watch's copy may not hold the state recorded
        // last yet, so that is decided again from a fresh read: no notification twice.
        let apps: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &resource("Application"));
        let app = match apps.get_opt(name).await {
            Ok(Some(app)) => serde_json::to_value(app).unwrap_or(Value::Null),
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(app = %format!("{namespace}/{name}"), %error, "failed to read the Application for notifications");
                return;
            }
        };
        let project = self.project(&app).await;
        let now = Timestamp::now();
        let plan = engine::plan(
            &loaded.config,
            &loaded.triggers,
            &app,
            project.as_ref(),
            now,
        );
        for finding in &plan.findings {
            self.report(namespace, name, finding);
        }
        let mut state = plan.state.clone();
        let sent = futures::future::join_all(
            plan.deliveries
                .iter()
                .map(|d| self.deliver(&loaded.config, &app, project.as_ref(), d, now)),
        )
        .await;
        for (delivery, ok) in plan.deliveries.iter().zip(sent) {
            if !ok {
                // Tried again at the app's next evaluation.
                state.forget(&delivery.entry);
            }
        }
        if state != plan.previous {
            let patch = json!({"metadata": {"annotations": {ANNOTATION: state.to_annotation()}}});
            if let Err(error) = apps
                .patch(
                    name,
                    &PatchParams::apply(FIELD_MANAGER),
                    &Patch::Merge(&patch),
                )
                .await
            {
                tracing::warn!(app = %format!("{namespace}/{name}"), %error, "failed to record the notified state");
            }
        }
    }

    async fn deliver(
        &self,
        config: &NotifyConfig,
        app: &Value,
        project: Option<&Value>,
        delivery: &Delivery,
        now: Timestamp,
    ) -> bool {
        let app_name = format!(
            "{}/{}",
            app["metadata"]["namespace"].as_str().unwrap_or_default(),
            app["metadata"]["name"].as_str().unwrap_or_default()
        );
        let to = &delivery.destination;
        let Some(service) = config.services.get(&to.service) else {
            return false;
        };
        let vars = Vars {
            app,
            app_project: project,
            context: &config.context,
            service: &to.service,
            recipient: &to.recipient,
        };
        let notification = match template::render(&config.templates, &delivery.templates, &vars) {
            Ok(n) => n,
            Err(error) => {
                tracing::error!(app = %app_name, trigger = %delivery.trigger, service = %to.service, %error, "failed to render a notification");
                return false;
            }
        };
        match send::send(
            self.transport.as_ref(),
            self.config.retry,
            &to.service,
            service,
            &notification,
            &to.recipient,
            now.as_second(),
        )
        .await
        {
            Ok(()) => {
                tracing::info!(app = %app_name, trigger = %delivery.trigger, service = %to.service, recipient = %to.recipient, "sent a notification");
                true
            }
            Err(error) => {
                tracing::warn!(app = %app_name, trigger = %delivery.trigger, service = %to.service, recipient = %to.recipient, %error, "failed to send a notification");
                false
            }
        }
    }

    fn report(&self, namespace: &str, name: &str, finding: &Finding) {
        let (key, text) = match finding {
            Finding::UnknownTrigger { trigger } => (
                format!("trigger:{trigger}"),
                format!(
                    "a subscription names trigger {trigger:?}, which {CONFIG_MAP} does not define"
                ),
            ),
            Finding::UnknownService { trigger, service } => (
                format!("service:{service}"),
                format!(
                    "a subscription to {trigger:?} names service {service:?}, which {CONFIG_MAP} does not define"
                ),
            ),
            Finding::Evaluation { trigger, error } => {
                tracing::debug!(app = %format!("{namespace}/{name}"), %trigger, %error, "a condition failed to evaluate; it counts as false");
                (
                    format!("eval:{trigger}:{error}"),
                    format!("trigger {trigger:?}: {error}; it counts as false"),
                )
            }
        };
        // A condition failing on an app without that status yet is common (catalog triggers do):
        // told once, not as a warning.
        let expected = matches!(finding, Finding::Evaluation { .. });
        let mut reported = lock(&self.reported);
        if reported.len() > 10_000 {
            reported.clear();
        }
        if reported.insert(key) {
            let app = format!("{namespace}/{name}");
            if expected {
                tracing::info!(%app, "{text}");
            } else {
                tracing::warn!(%app, "{text}");
            }
        }
    }

    async fn project(&self, app: &Value) -> Option<Value> {
        let name = project_name(app)?;
        let projects: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &self.config.namespace,
            &resource("AppProject"),
        );
        match projects.get_opt(name).await {
            Ok(found) => found.and_then(|p| serde_json::to_value(p).ok()),
            Err(error) => {
                tracing::debug!(project = name, %error, "failed to read the AppProject for notifications");
                None
            }
        }
    }

    /// Whether this replica may send: always without a Lease, else while holding it.
    async fn leading(&self) -> bool {
        let Some(leader) = &self.config.leader else {
            return true;
        };
        if let Some((at, leading)) = *lock(&self.leading)
            && at.elapsed() < FRESH_FOR
        {
            return leading;
        }
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), &self.config.namespace);
        let leading = match leases.get_opt(&leader.lease_name).await {
            Ok(lease) => lease
                .and_then(|l| l.spec)
                .and_then(|s| s.holder_identity)
                .is_some_and(|holder| holder == leader.identity),
            Err(error) => {
                tracing::debug!(%error, "failed to read the leader Lease; not sending meanwhile");
                false
            }
        };
        *lock(&self.leading) = Some((Instant::now(), leading));
        leading
    }

    /// The configuration, once its watches have listed it.
    async fn configuration(&self) -> Arc<Loaded> {
        let mut published = self.loaded.subscribe();
        match published.wait_for(Option::is_some).await {
            Ok(loaded) => loaded.clone().unwrap_or_else(|| Arc::new(empty())),
            // Not reached: the sender lives in `self`.
            Err(_) => Arc::new(empty()),
        }
    }

    /// Takes the ConfigMap and the Secret as their watches tell them; parses them again only
    /// when either is another version than the one in use.
    fn publish(&self, map: Option<&ConfigMap>, secret: Option<&Secret>) {
        let versions = (
            map.and_then(|m| m.metadata.resource_version.clone()),
            secret.and_then(|s| s.metadata.resource_version.clone()),
        );
        if self
            .loaded
            .borrow()
            .as_ref()
            .is_some_and(|loaded| loaded.versions == versions)
        {
            return;
        }
        let data = map.and_then(|m| m.data.clone()).unwrap_or_default();
        let secret_data: BTreeMap<String, Vec<u8>> = secret
            .and_then(|s| s.data.as_ref())
            .map(|data| data.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
            .unwrap_or_default();
        let parsed = config::parse(&data, &secret_data);
        for problem in &parsed.problems {
            tracing::warn!(error = %problem, "a notifications setting is left out");
        }
        let triggers = Triggers::compile(&parsed.config.triggers);
        for (trigger, error) in triggers.problems() {
            tracing::error!(%trigger, %error, "a trigger condition is outside the supported expression subset or does not parse; it never fires");
        }
        lock(&self.reported).clear();
        self.loaded.send_replace(Some(Arc::new(Loaded {
            config: parsed.config,
            triggers,
            versions,
        })));
    }
}

/// The AppProject an app names, if any.
pub(crate) fn project_name(app: &Value) -> Option<&str> {
    app["spec"]["project"].as_str().filter(|p| !p.is_empty())
}

fn empty() -> Loaded {
    Loaded {
        config: NotifyConfig::default(),
        triggers: Triggers::default(),
        versions: (None, None),
    }
}
