//! The controller's loop: watch the Applications of one namespace, poll git, and reconcile
//! each app when something it depends on changed (its spec, a tracked object, its
//! repository, an app it waits for) or the resync period passed. One app is never
//! reconciled twice at once; requests that arrive meanwhile fold into one more run after.

use crate::app_loop::reconcile::reconcile;
use crate::app_loop::render::Renderer;
use crate::app_loop::status_writer::StatusWriter;
use crate::git::chart_versions::ChartWatcher;
use crate::git::watcher::GitWatcher;
use crate::runtime::config::ControllerConfig;
use crate::runtime::context::{AppSeen, Context, Trigger};
use crate::runtime::mutex::lock;
use crate::runtime::queue::WorkQueue;
use driftless_apply::ClusterClient;
use driftless_charts::ChartRepos;
use driftless_decisions::app_key::Key;
use driftless_decisions::compare::Judging;
use driftless_decisions::depends;
use driftless_diff::rules_from_config_map;
use driftless_health::CustomChecks;
use driftless_model::annotations::REFRESH;
use driftless_model::project::{AppProject, AppProjectSpec};
use driftless_model::{Application, ApplicationDestination};
use driftless_render::RenderCache;
use driftless_source::RepoCache;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DynamicObject, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{Predicate, WatchStreamExt, predicates};
use kube::{Api, Client};
use rand::Rng;
use std::collections::BTreeSet;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

/// Wait before reconciling again an app whose reconcile failed (API server away, say).
const ERROR_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("failed to connect to the API server: {0}")]
    Connect(String),
    #[error("failed to open the cache in {path}: {message}")]
    Cache { path: String, message: String },
    #[error("the {0} task of the controller stopped")]
    TaskEnded(&'static str),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditStartError),
}

/// Counters for tests and diagnostics.
#[derive(Clone)]
pub struct Handle(Arc<Context>);

impl Handle {
    /// Remote ref listings and fetches made so far.
    pub fn git_network_counts(&self) -> (u64, u64) {
        self.0.git.network_counts()
    }

    /// Ready to be counted as an available replica: its AppProject and Secret watches have
    /// listed. A standby (leader election, not holding the Lease) is ready too, so that a
    /// Deployment's rollout never waits on who leads.
    pub fn ready(&self) -> bool {
        self.0.stores.listed()
    }

    /// Status writes made so far.
    pub fn status_writes(&self) -> u64 {
        self.0.status_writes.load(Ordering::Relaxed)
    }

    /// Automated syncs started so far (requested ones not counted).
    pub fn automated_syncs(&self) -> u64 {
        self.0.sync_applies.load(Ordering::Relaxed)
    }

    /// Every metric, in Prometheus's text format (see [`crate::runtime::metrics`]).
    pub fn metrics_text(&self) -> String {
        self.0.metrics.encode(
            self.0.renderer.cache_lookups(),
            &self.0.destinations.live_objects_by_cluster(),
        )
    }

    /// Objects held by the live cache (tracked objects only).
    pub fn live_objects(&self) -> usize {
        self.0.destinations.live_objects()
    }

    /// `app` rendered at `revision` (its own target when None) and diffed against the live
    /// cluster, Secrets masked; nothing is written (see [`crate::preview`]).
    pub async fn preview(
        &self,
        app: &Application,
        revision: Option<&str>,
    ) -> Result<crate::preview::Preview, crate::preview::PreviewError> {
        crate::preview::preview(&self.0, app, revision).await
    }

    /// The live objects below the app's own, each naming its owners (see
    /// [`crate::preview::children`]).
    pub async fn children(
        &self,
        app: &Application,
    ) -> Result<Vec<serde_json::Value>, crate::preview::children::ChildrenError> {
        crate::preview::children::children(&self.0, app).await
    }

    /// The App-of-Apps tree under `root` rendered at `revision` and diffed against the live
    /// cluster, with the guard's findings; nothing is written (see [`crate::preview::tree`]).
    pub async fn preview_tree(
        &self,
        root: &Application,
        revision: Option<&str>,
    ) -> Result<crate::preview::tree::TreePreview, crate::preview::PreviewError> {
        crate::preview::tree::preview_tree(&self.0, root, revision).await
    }

    /// What `appset` would generate and change, nothing written (see
    /// [`crate::appsets::preview`]).
    pub async fn generate_appset(
        &self,
        appset: &driftless_model::ApplicationSet,
    ) -> Result<
        crate::appsets::preview::GeneratePreview,
        crate::appsets::preview::GeneratePreviewError,
    > {
        crate::appsets::preview::preview(&self.0, appset).await
    }

    /// Checks now the repositories in use whose URL is one of `urls` (a verified webhook's)
    /// and compares again the apps whose repository moved; returns how many.
    pub async fn check_repositories(&self, urls: &[String]) -> usize {
        let moved = self.0.git.check_urls(urls).await;
        for app in moved.iter().filter_map(Key::app) {
            self.0.announce(app, crate::audit::trigger::Cause::Webhook);
        }
        let count = moved.len();
        wake_moved(&self.0, moved, BTreeSet::new()).await;
        count
    }
}

/// A watch or loop the controller runs in the background; it ends only when it failed.
type BackgroundTask = std::pin::Pin<Box<dyn std::future::Future<Output = &'static str> + Send>>;

pub struct Controller {
    ctx: Arc<Context>,
    triggers: mpsc::UnboundedReceiver<Trigger>,
    /// The watches that fill [`Context::stores`].
    store_watches: Vec<BackgroundTask>,
}

impl Controller {
    /// Connects (discovery), opens the caches, and reads health customizations from `argocd-cm`.
    pub async fn new(client: Client, config: ControllerConfig) -> Result<Self, ControllerError> {
        let cluster = ClusterClient::connect(client.clone())
            .await
            .map_err(|e| ControllerError::Connect(e.to_string()))?;
        let cache_error =
            |path: &std::path::Path, e: &dyn std::fmt::Display| ControllerError::Cache {
                path: path.display().to_string(),
                message: e.to_string(),
            };
        let repo_dir = config.cache_dir.join("repos");
        let repos = Arc::new(RepoCache::new(&repo_dir).map_err(|e| cache_error(&repo_dir, &e))?);
        let chart_dir = config.cache_dir.join("charts");
        let chart_repos =
            Arc::new(ChartRepos::new(&chart_dir).map_err(|e| cache_error(&chart_dir, &e))?);
        let metrics = Arc::new(crate::runtime::metrics::Metrics::new());
        let audit = match &config.audit {
            Some(audit) => {
                crate::audit::sink::start(
                    client.clone(),
                    &config.app_namespace,
                    audit.clone(),
                    metrics.clone(),
                )
                .await?
            }
            None => crate::audit::AuditLog::disabled(metrics.clone()),
        };
        let edits = Arc::new(crate::audit::watched::EditRecorder::new(audit.clone()));
        let (tx, triggers) = mpsc::unbounded_channel();
        let project_tx = tx.clone();
        let project_edits = edits.clone();
        let (stores, project_watch, secret_watch) = crate::runtime::stores::ControlStores::start(
            client.clone(),
            &config.app_namespace,
            Arc::new(move |project: &AppProject, change| {
                project_edits.project(project, change);
                if !matches!(change, crate::runtime::stores::ProjectChange::Listed { .. }) {
                    let name = project.metadata.name.clone().unwrap_or_default();
                    let _ = project_tx.send(Trigger::Project(name));
                }
            }),
        );
        let store_watches: Vec<BackgroundTask> =
            vec![Box::pin(project_watch), Box::pin(secret_watch)];
        let charts = Arc::new(ChartWatcher::new(
            chart_repos,
            Some((client.clone(), stores.clone())),
            &config.app_namespace,
            config.poll_interval,
        ));
        let render_dir = config.cache_dir.join("render");
        let render_cache =
            RenderCache::open(&render_dir).map_err(|e| cache_error(&render_dir, &e))?;
        let notify_tx = tx.clone();
        let notify: crate::clusters::live_cache::Notify = Arc::new(move |app: &str| {
            let _ = notify_tx.send(Trigger::Tracked(app.to_string()));
        });
        let (mut judging, configured_id) =
            read_customizations(&client, &config.app_namespace).await;
        let mut config = config;
        if config.installation_id.is_none() {
            config.installation_id = configured_id;
        }
        let ownership = Arc::new(match &config.shard_leases {
            Some(leases) => crate::runtime::ownership::Ownership::leased(leases.shards),
            None => crate::runtime::ownership::Ownership::fixed(config.shard),
        });
        let salt: [u8; 32] = rand::rng().random();
        judging.salt = salt.to_vec();
        let ctx = Context {
            destinations: crate::clusters::destinations::Destinations::new(
                crate::clusters::destinations::LocalCluster {
                    control: client.clone(),
                    cluster,
                    config: config.kube_config.clone(),
                    namespaces: config.namespaces.clone(),
                },
                config.app_namespace.clone(),
                config.tracking,
                config.installation_id.clone(),
                notify,
                stores.clone(),
            ),
            git: GitWatcher::new(repos.clone(), Some(stores.clone()), metrics.clone()),
            renderer: Arc::new(Renderer::new(
                repos,
                render_cache,
                charts.clone(),
                config.render_limits,
                config.kustomize_remote_bases,
            )),
            charts,
            stores,
            judging,
            written: Default::default(),
            seen: Default::default(),
            apps: Arc::new(crate::runtime::app_store::AppStore::new(
                &config.app_namespace,
            )),
            loops: Default::default(),
            sync_applies: Arc::new(AtomicU64::new(0)),
            compare_slots: tokio::sync::Semaphore::new(config.workers.max(1)),
            priority_slots: tokio::sync::Semaphore::new(config.workers.max(1)),
            first_in_line: Default::default(),
            unwritten: Default::default(),
            volatile: Default::default(),
            triggers: tx,
            status_writes: Arc::new(AtomicU64::new(0)),
            terminations: Default::default(),
            metrics,
            audit,
            edits,
            causes: Default::default(),
            shutdown: Default::default(),
            ownership,
            client,
            config,
        };
        Ok(Self {
            ctx: Arc::new(ctx),
            triggers,
            store_watches,
        })
    }

    pub fn handle(&self) -> Handle {
        Handle(self.ctx.clone())
    }

    /// Which apps this replica works on now (for the notifier, which follows the same share).
    pub fn ownership(&self) -> Arc<crate::runtime::ownership::Ownership> {
        self.ctx.ownership.clone()
    }

    /// Asks [`Controller::run`] to stop cleanly.
    pub fn shutdown(&self) -> crate::runtime::shutdown::Shutdown {
        self.ctx.shutdown.clone()
    }

    /// Runs until a background task ends (an error), until asked to stop through
    /// [`Controller::shutdown`] (Ok, once the syncs under way stopped at a safe point and the
    /// leases were given back, or `shutdown_timeout` passed), or until the future is dropped,
    /// which stops every task it started.
    pub async fn run(self) -> Result<(), ControllerError> {
        let Controller {
            ctx,
            mut triggers,
            store_watches,
        } = self;
        let mut background: JoinSet<&'static str> = JoinSet::new();
        for watch in store_watches {
            background.spawn(watch);
        }
        let shutdown = ctx.shutdown.clone();
        if let Some(election) = &ctx.config.leader_election {
            tokio::select! {
                () = crate::runtime::lease::acquire(&ctx.client, &ctx.config.app_namespace, election) => {}
                () = shutdown.wait() => return Ok(()),
            }
            background.spawn(crate::runtime::lease::keep(
                ctx.client.clone(),
                ctx.config.app_namespace.clone(),
                election.clone(),
            ));
        }
        if let Some(leases) = &ctx.config.shard_leases {
            background.spawn(crate::runtime::shard_leases::keep(
                ctx.clone(),
                leases.clone(),
            ));
        }
        ensure_default_project(&ctx).await;
        background.spawn(watch_apps(ctx.clone()));
        background.spawn(poll_git(ctx.clone()));
        let appsets = crate::appsets::start(&ctx, &mut background);
        let job_ctx = ctx.clone();
        let job: crate::runtime::queue::Job = Arc::new(move |app: String| {
            let ctx = job_ctx.clone();
            let span = crate::runtime::telemetry::reconcile_span(&app);
            Box::pin(
                async move {
                    // Held to the end: giving the app's shard up waits for this reconcile.
                    let (namespace, name) =
                        driftless_decisions::app_key::split(&app, &ctx.config.app_namespace);
                    let Some(_tenure) = ctx.ownership.enter(namespace, name).await else {
                        return Ok(None);
                    };
                    // Boxed only once it starts: a thousand queued apps then hold a few
                    // hundred bytes each, not a whole reconcile's state (kilobytes) each.
                    Box::pin(reconcile(&ctx, &app)).await.map_err(Into::into)
                }
                .instrument(span),
            )
        });
        // The comparisons, which cost CPU, take turns on `Context::compare_slots`.
        let mut queue = WorkQueue::new("application", ERROR_BACKOFF, job);
        let owned = |app: &str| ctx.owns(app);
        loop {
            tokio::select! {
                Some(trigger) = triggers.recv() => match trigger {
                    Trigger::Now(Key::App(app)) => {
                        if owned(&app) {
                            queue.request(app);
                        }
                    }
                    Trigger::Now(Key::AppSet(set)) => appsets.request(set),
                    Trigger::After(app, delay) => queue.request_at(app, Instant::now() + delay),
                    Trigger::Tracked(app) => {
                        if lock(&ctx.seen).contains_key(&app) && owned(&app) {
                            queue.request(app);
                        }
                    }
                    Trigger::Project(project) => {
                        let apps: Vec<String> = lock(&ctx.seen)
                            .iter()
                            .filter(|(app, seen)| seen.project == project && owned(app))
                            .map(|(app, _)| app.clone())
                            .collect();
                        for app in apps {
                            queue.request(app);
                        }
                    }
                },
                () = queue.step() => {}
                Some(ended) = background.join_next() => {
                    let name = ended.unwrap_or("background");
                    return Err(ControllerError::TaskEnded(name));
                }
                () = shutdown.wait() => break,
            }
        }
        stop_cleanly(&ctx, &mut queue, background).await;
        Ok(())
    }
}

/// Lets the reconciles under way end (their syncs stop at the next safe point, progress saved),
/// then stops the background tasks (lease renewals first of all) and gives the leases back;
/// bounded by `shutdown_timeout`.
async fn stop_cleanly(ctx: &Context, queue: &mut WorkQueue, mut background: JoinSet<&'static str>) {
    let (drain_for, release_for) =
        crate::runtime::shutdown::split_grace(ctx.config.shutdown_timeout);
    tracing::info!("stopping: no new work; syncs under way stop at their next safe point");
    ctx.ownership.stop_all();
    if tokio::time::timeout(drain_for, queue.drain())
        .await
        .is_err()
    {
        tracing::warn!(
            "reconciles still running at the shutdown timeout are stopped where they are; their syncs resume from the last saved step"
        );
        queue.abort().await;
    }
    flush_unwritten(ctx).await;
    // No renewal may follow the release.
    background.shutdown().await;
    if let Some(election) = &ctx.config.leader_election {
        let release =
            crate::runtime::lease::release(&ctx.client, &ctx.config.app_namespace, election);
        if tokio::time::timeout(release_for, release).await.is_err() {
            tracing::warn!(lease = %election.lease_name, "releasing the leader lease timed out; it expires after its duration");
        }
    }
    if let Some(leases) = &ctx.config.shard_leases {
        let release = crate::runtime::shard_leases::release_all(ctx, leases);
        if tokio::time::timeout(release_for, release).await.is_err() {
            tracing::warn!(
                "releasing the shard leases timed out; they expire after their duration"
            );
        }
    }
    tracing::info!("stopped");
}

/// Writes the outcomes of quick syncs whose follow-up comparison never ran (see
/// `Context::unwritten`), so that stopping loses none.
async fn flush_unwritten(ctx: &Context) {
    let pending: Vec<_> = lock(&ctx.unwritten).drain().collect();
    for (name, status) in pending {
        let Some(app) = ctx.apps.last_delivered(&name) else {
            continue;
        };
        let mut writer = StatusWriter::for_app(ctx, &name, &app, app.status.clone());
        if let Err(error) = writer.write(&status).await {
            tracing::warn!(app = %name, %error, "cannot write the outcome of the last sync");
        }
    }
}

/// What of an Application, when it changes, calls for a reconcile of the app itself: not its
/// status (our own writes), but its spec and operation (the generation), labels, finalizers,
/// deletion and annotations. The refresh annotation is left out: its presence asks for a
/// reconcile by itself ([`refresh_asked`]), and the controller removing it asks for none.
fn fingerprint(object: &DynamicObject) -> Option<u64> {
    predicates::generation
        .combine(predicates::labels)
        .combine(predicates::finalizers)
        .combine(deletion)
        .combine(annotations_but_refresh)
        .hash_property(object)
}

/// A predicate over the deletion timestamp.
fn deletion(object: &DynamicObject) -> Option<u64> {
    object
        .metadata
        .deletion_timestamp
        .as_ref()
        .map(|t| hash_of(&t.0.as_second()))
}

/// A predicate over the annotations, the refresh request left out.
fn annotations_but_refresh(object: &DynamicObject) -> Option<u64> {
    let annotations = object.metadata.annotations.as_ref()?;
    let kept: std::collections::BTreeMap<&String, &String> =
        annotations.iter().filter(|(k, _)| *k != REFRESH).collect();
    Some(hash_of(&kept))
}

fn hash_of(value: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Whether someone asked to stop the app's operation (`status.operationState.phase` set to
/// Terminating, as `terminate-op` does).
fn terminate_asked(object: &DynamicObject) -> bool {
    object.data["status"]["operationState"]["phase"] == "Terminating"
}

/// Whether the refresh annotation is on the object.
fn refresh_asked(object: &DynamicObject) -> bool {
    object
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(REFRESH))
}

/// The key of a watched Application, if the controller serves its namespace.
fn served_key(ctx: &Context, object: &DynamicObject) -> Option<String> {
    let name = object.metadata.name.as_deref()?;
    let namespace = object.metadata.namespace.as_deref().unwrap_or_default();
    let control = &ctx.config.app_namespace;
    driftless_decisions::app_key::serves(namespace, control, &ctx.config.app_namespaces)
        .then(|| driftless_decisions::app_key::key(namespace, name, control))
}

async fn watch_apps(ctx: Arc<Context>) -> &'static str {
    let stream = watcher::watcher(ctx.watched_apps(), watcher::Config::default())
        .backoff(crate::runtime::backoff::watch_backoff());
    futures::pin_mut!(stream);
    let mut fingerprints: HashMap<String, Option<u64>> = HashMap::new();
    // The first listing is over: what it lists is remembered, not recorded as edits.
    let mut listed = false;
    // The apps a (re)listing delivered so far, while one runs.
    let mut listing: Option<HashSet<String>> = None;
    let mut resync = tokio::time::interval(ctx.config.resync_interval);
    resync.tick().await;
    let mut held = ctx.ownership.watch_held();
    let mut was_held = held.borrow_and_update().clone();
    loop {
        let event = tokio::select! {
            event = stream.next() => match event {
                Some(event) => event,
                None => return "application watch",
            },
            _ = resync.tick() => {
                for app in fingerprints.keys() {
                    ctx.reconcile(app);
                }
                continue;
            }
            Ok(()) = held.changed() => {
                // The apps of the shards just gained are this replica's to reconcile now.
                let now_held = held.borrow_and_update().clone();
                let gained: BTreeSet<u32> = now_held.difference(&was_held).copied().collect();
                was_held = now_held;
                for app in fingerprints.keys() {
                    let (namespace, name) =
                        driftless_decisions::app_key::split(app, &ctx.config.app_namespace);
                    if ctx.ownership.shard_of(namespace, name).is_some_and(|s| gained.contains(&s)) {
                        ctx.reconcile(app);
                    }
                }
                continue;
            }
        };
        match event {
            Ok(Event::Apply(object)) | Ok(Event::InitApply(object)) => {
                let Some(name) = served_key(&ctx, &object) else {
                    continue;
                };
                ctx.edits.application(&object, listed, false);
                let print = fingerprint(&object);
                let typed = crate::runtime::app_store::kept(&object);
                let seen = typed.as_ref().map(|app| {
                    let (sync, health) = depends::reported_state(app);
                    AppSeen {
                        sync,
                        health,
                        depends_on: depends::dependencies(app),
                        project: driftless_decisions::validate::project_name(app).to_string(),
                    }
                });
                ctx.apps
                    .observed(&name, typed, object.metadata.resource_version.as_deref());
                if let Some(listing) = &mut listing {
                    listing.insert(name.clone());
                }
                let state_changed = {
                    let mut all = lock(&ctx.seen);
                    let previous = all.get(&name).map(|s| (s.sync.clone(), s.health.clone()));
                    match &seen {
                        Some(seen) => {
                            let changed =
                                previous != Some((seen.sync.clone(), seen.health.clone()));
                            all.insert(name.clone(), seen.clone());
                            changed
                        }
                        None => all.remove(&name).is_some(),
                    }
                };
                if terminate_asked(&object) && !ctx.terminations.signal(&name) {
                    // No sync of ours runs it (held by a window, or the controller restarted).
                    ctx.reconcile(&name);
                }
                if fingerprints.get(&name) != Some(&print) || refresh_asked(&object) {
                    fingerprints.insert(name.clone(), print);
                    ctx.reconcile(&name);
                }
                if state_changed {
                    wake_dependents(&ctx, &name);
                }
            }
            Ok(Event::Delete(object)) => {
                let Some(name) = served_key(&ctx, &object) else {
                    continue;
                };
                ctx.edits.application(&object, true, true);
                ctx.apps.deleted(&name);
                fingerprints.remove(&name);
                lock(&ctx.seen).remove(&name);
                ctx.reconcile(&name);
                wake_dependents(&ctx, &name);
            }
            Ok(Event::InitDone) => {
                listed = true;
                for gone in ctx.apps.relisted(&listing.take().unwrap_or_default()) {
                    fingerprints.remove(&gone);
                    lock(&ctx.seen).remove(&gone);
                    ctx.reconcile(&gone);
                }
            }
            Ok(Event::Init) => listing = Some(HashSet::new()),
            Err(error) => tracing::debug!(%error, "application watch interrupted; retrying"),
        }
    }
}

/// Reconciles the apps whose `depends-on` names `app`.
fn wake_dependents(ctx: &Context, app: &str) {
    let dependents: Vec<String> = lock(&ctx.seen)
        .iter()
        .filter(|(_, seen)| seen.depends_on.iter().any(|d| d == app))
        .map(|(name, _)| name.clone())
        .collect();
    for name in dependents {
        ctx.reconcile(&name);
    }
}

async fn poll_git(ctx: Arc<Context>) -> &'static str {
    loop {
        let interval = ctx.config.poll_interval.as_secs_f64();
        let jitter = rand::rng().random_range(-0.1..=0.1) * interval;
        tokio::time::sleep(Duration::from_secs_f64((interval + jitter).max(0.1))).await;
        let (git, charts) = futures::join!(ctx.git.poll(), ctx.charts.poll());
        for app in git.iter().filter_map(Key::app) {
            ctx.announce(app, crate::audit::trigger::Cause::Poll);
        }
        for app in &charts {
            ctx.announce(app, crate::audit::trigger::Cause::ChartVersion);
        }
        let charted: BTreeSet<Key> = charts.into_iter().map(Key::App).collect();
        wake_moved(&ctx, git, charted).await;
    }
}

/// Wakes the users of repositories that moved (`git`) and the apps whose chart has a new
/// version (`charted`). Apps whose own source path moved are compared first: at a thousand
/// apps on one repository, the one a commit changed must not wait for the 999 it did not.
async fn wake_moved(ctx: &Arc<Context>, git: BTreeSet<Key>, charted: BTreeSet<Key>) {
    let moved: Vec<(String, Arc<Application>)> = git
        .iter()
        .filter_map(Key::app)
        .filter_map(|app| Some((app.to_string(), ctx.apps.last_delivered(app)?)))
        .collect();
    let cache = ctx.git.cache().clone();
    let touched: BTreeSet<String> = tokio::task::spawn_blocking(move || {
        moved
            .into_iter()
            .filter(|(_, app)| crate::git::touched::path_changed(&cache, app))
            .map(|(key, _)| key)
            .collect()
    })
    .await
    .unwrap_or_default();
    let wakes = crate::git::touched::wakes(&touched, &git, &charted);
    for app in &touched {
        ctx.put_first(app);
        ctx.reconcile(app);
    }
    for key in wakes.now {
        ctx.wake(key);
    }
    for app in &wakes.later {
        ctx.reconcile_after(app, UNTOUCHED_WAIT);
    }
}

/// How long the apps a repository move did not touch wait while the ones it touched sync.
const UNTOUCHED_WAIT: Duration = Duration::from_secs(2);

/// Creates the `default` AppProject (permitting everything) when it is missing, as Argo CD
/// does; apps of project `default` work even if this fails.
async fn ensure_default_project(ctx: &Context) {
    let api: Api<AppProject> = Api::namespaced(ctx.client.clone(), &ctx.config.app_namespace);
    if matches!(
        api.get_opt(driftless_decisions::validate::DEFAULT_PROJECT)
            .await,
        Ok(Some(_))
    ) {
        return;
    }
    let everything = ApplicationDestination {
        server: Some("*".into()),
        namespace: Some("*".into()),
        ..ApplicationDestination::default()
    };
    let spec = AppProjectSpec {
        source_repos: Some(vec!["*".into()]),
        destinations: Some(vec![everything]),
        cluster_resource_whitelist: Some(vec![driftless_model::project::ResourceRestriction {
            group: "*".into(),
            kind: "*".into(),
            ..Default::default()
        }]),
        ..AppProjectSpec::default()
    };
    let project = AppProject::new(driftless_decisions::validate::DEFAULT_PROJECT, spec);
    match api.create(&PostParams::default(), &project).await {
        Ok(_) => {
            tracing::info!(namespace = %ctx.config.app_namespace, "created the default AppProject")
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => {
            tracing::warn!(%error, "cannot create the default AppProject; it is assumed to permit everything")
        }
    }
}

/// Resource customizations from `argocd-cm`, if present: health checks and system-wide
/// ignoreDifferences (unreadable ones are reported and left out), and the installation ID.
async fn read_customizations(client: &Client, namespace: &str) -> (Judging, Option<String>) {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let Ok(Some(config)) = api.get_opt("argocd-cm").await else {
        return (Judging::default(), None);
    };
    let data = config.data.unwrap_or_default();
    let checks = CustomChecks::from_config_map_data(&data).unwrap_or_else(|error| {
        tracing::warn!(%error, "argocd-cm: health customizations ignored");
        CustomChecks::default()
    });
    let ignore = rules_from_config_map(&data).unwrap_or_else(|error| {
        tracing::warn!(%error, "argocd-cm: ignoreDifferences customizations ignored");
        Vec::new()
    });
    let installation = data
        .get("installationID")
        .filter(|id| !id.is_empty())
        .cloned();
    (
        Judging {
            checks,
            ignore,
            salt: Vec::new(),
        },
        installation,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(value: serde_json::Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn only_what_the_user_changes_calls_for_a_reconcile() {
        let base = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "generation": 3, "labels": {"team": "a"},
                         "annotations": {"note": "x"}},
            "status": {"sync": {"status": "Synced"}}
        });
        let print = fingerprint(&app(base.clone()));
        let mut status = base.clone();
        status["status"]["sync"]["status"] = json!("OutOfSync");
        status["metadata"]["resourceVersion"] = json!("99");
        assert_eq!(fingerprint(&app(status)), print, "our own status writes");
        let mut refresh = base.clone();
        refresh["metadata"]["annotations"][REFRESH] = json!("normal");
        assert_eq!(fingerprint(&app(refresh)), print, "the refresh request");
        for (pointer, value) in [
            ("/metadata/generation", json!(4)),
            ("/metadata/labels/team", json!("b")),
            ("/metadata/annotations/note", json!("y")),
            (
                "/metadata/finalizers",
                json!(["resources-finalizer.argocd.argoproj.io"]),
            ),
            ("/metadata/deletionTimestamp", json!("2026-12-04T00:00:00Z")),
        ] {
            let mut changed = base.clone();
            let (parent, field) = pointer.rsplit_once('/').unwrap();
            changed.pointer_mut(parent).unwrap()[field] = value;
            assert_ne!(fingerprint(&app(changed)), print, "{pointer}");
        }
    }
}
