//! The live cache: one watch per resource kind in use (cluster-wide, or one per namespace when
//! the cluster's scope lists namespaces: `driftless serve --namespaces`, a cluster Secret's
//! `namespaces`; cluster-scoped kinds are then not watched unless the scope allows them), keeping only objects that
//! carry an owner (tracking annotation or label), indexed by owning app. Reconciles read it and
//! never list the cluster per app; every change to a tracked object tells its app, which is how
//! drift (`kubectl scale`, `kubectl edit`) is seen within moments.
//!
//! Kinds are watched once some app desires or last reported an object of that kind. Objects of
//! a kind no app ever named stay unseen (Argo CD watches every kind instead).

use crate::runtime::mutex::lock;
use driftless_apply::{ClusterClient, TrackingMethod, tracking};
use driftless_decisions::cluster_lookup::ClusterScope;
use driftless_model::{GroupKind, ResourceKey};
use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject, TypeMeta};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a reconcile waits for the first listing of a kind it needs.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Discovery is asked again for an unknown kind at most this often.
const REDISCOVER_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("failed to list {0} for the live cache within {READY_TIMEOUT:?}")]
    NotReady(GroupKind),
}

/// Called with an app name when an object it owns changed.
pub type Notify = Arc<dyn Fn(&str) + Send + Sync>;

struct Entry {
    owner: String,
    resource_version: String,
    /// The object as compact JSON: a parsed `Value` takes several times the memory, and a
    /// reconcile parses the few objects of its app in microseconds.
    json: Box<str>,
}

#[derive(Default)]
struct Index {
    objects: HashMap<ResourceKey, Entry>,
    by_app: HashMap<String, BTreeSet<ResourceKey>>,
}

impl Index {
    fn remove(&mut self, key: &ResourceKey) -> Option<String> {
        let entry = self.objects.remove(key)?;
        if let Some(keys) = self.by_app.get_mut(&entry.owner) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_app.remove(&entry.owner);
            }
        }
        Some(entry.owner)
    }

    fn insert(&mut self, key: ResourceKey, entry: Entry) {
        self.by_app
            .entry(entry.owner.clone())
            .or_default()
            .insert(key.clone());
        self.objects.insert(key, entry);
    }
}

/// The watches of one kind (one, or one per namespace of the scope); aborted when the cache
/// goes away.
struct Watch {
    ready: Vec<tokio::sync::watch::Receiver<bool>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// What each watch lists.
    listed: Vec<Listed>,
}

impl Watch {
    fn covers(&self, key: &ResourceKey) -> bool {
        self.listed.iter().any(|listed| listed.covers(key))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub struct LiveCache {
    client: Client,
    tracking: TrackingMethod,
    /// Objects of other installations are not ours to see.
    installation: Option<String>,
    notify: Notify,
    index: Arc<Mutex<Index>>,
    watches: Mutex<HashMap<GroupKind, Watch>>,
    last_discovery: Mutex<Option<Instant>>,
    /// Namespaces watched one by one (empty: the whole cluster), and whether cluster-scoped
    /// kinds are watched then.
    scope: ClusterScope,
}

impl LiveCache {
    pub fn new(
        client: Client,
        tracking: TrackingMethod,
        installation: Option<String>,
        notify: Notify,
        scope: ClusterScope,
    ) -> Self {
        Self {
            client,
            tracking,
            installation,
            notify,
            index: Arc::new(Mutex::new(Index::default())),
            watches: Mutex::new(HashMap::new()),
            last_discovery: Mutex::new(None),
            scope,
        }
    }

    /// Starts watching the kinds not watched yet and waits until each has been listed once.
    /// Kinds the API server does not serve (a CRD not installed yet) are skipped.
    pub async fn ensure(
        &self,
        cluster: &ClusterClient,
        kinds: &BTreeSet<GroupKind>,
    ) -> Result<(), LiveError> {
        let missing: Vec<&GroupKind> = {
            let watches = lock(&self.watches);
            kinds
                .iter()
                .filter(|gk| !watches.contains_key(*gk))
                .collect()
        };
        if missing.is_empty() {
            return self.wait_ready(kinds).await;
        }
        let mut catalog = cluster.catalog();
        if missing.iter().any(|gk| catalog.get(gk).is_err()) && self.may_rediscover() {
            if let Err(error) = cluster.refresh().await {
                tracing::warn!(%error, "discovery failed");
            }
            catalog = cluster.catalog();
        }
        {
            let mut watches = lock(&self.watches);
            for gk in missing {
                let Ok(info) = catalog.get(gk) else { continue };
                if watches.contains_key(gk) || !info.listable {
                    continue;
                }
                let namespaces: Vec<Option<&str>> = match (self.scope.is_limited(), info.namespaced)
                {
                    (false, _) => vec![None],
                    (true, true) => self
                        .scope
                        .namespaces
                        .iter()
                        .map(|n| Some(n.as_str()))
                        .collect(),
                    (true, false) if self.scope.cluster_resources => vec![None],
                    // Out of scope: no app may have such objects here (the boundary refuses them).
                    (true, false) => continue,
                };
                let mut watch = Watch {
                    ready: Vec::new(),
                    tasks: Vec::new(),
                    listed: Vec::new(),
                };
                for namespace in namespaces {
                    let api: Api<DynamicObject> = match namespace {
                        Some(ns) => Api::namespaced_with(self.client.clone(), ns, &info.resource),
                        None => Api::all_with(self.client.clone(), &info.resource),
                    };
                    let (ready_tx, ready) = tokio::sync::watch::channel(false);
                    let listed = Listed {
                        kind: gk.clone(),
                        namespace: namespace.map(str::to_string),
                    };
                    let task = tokio::spawn(watch_kind(
                        api,
                        info.resource.clone(),
                        listed.clone(),
                        self.index.clone(),
                        self.owners(),
                        self.notify.clone(),
                        ready_tx,
                    ));
                    watch.ready.push(ready);
                    watch.tasks.push(task);
                    watch.listed.push(listed);
                }
                tracing::debug!(kind = %gk, "watching");
                watches.insert(gk.clone(), watch);
            }
        }
        self.wait_ready(kinds).await
    }

    fn owners(&self) -> Owners {
        Owners {
            method: self.tracking,
            installation: self.installation.clone(),
        }
    }

    fn may_rediscover(&self) -> bool {
        let mut last = lock(&self.last_discovery);
        if last.is_some_and(|t| t.elapsed() < REDISCOVER_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    async fn wait_ready(&self, kinds: &BTreeSet<GroupKind>) -> Result<(), LiveError> {
        let receivers: Vec<(GroupKind, tokio::sync::watch::Receiver<bool>)> = {
            let watches = lock(&self.watches);
            kinds
                .iter()
                .filter_map(|gk| watches.get(gk).map(|w| (gk, &w.ready)))
                .flat_map(|(gk, ready)| ready.iter().map(|r| (gk.clone(), r.clone())))
                .collect()
        };
        for (gk, mut ready) in receivers {
            let waited = tokio::time::timeout(READY_TIMEOUT, ready.wait_for(|r| *r)).await;
            if !matches!(waited, Ok(Ok(_))) {
                return Err(LiveError::NotReady(gk));
            }
        }
        Ok(())
    }

    /// Holds `object`, just created by a sync as the API server answered, ahead of its watch
    /// event (which then changes nothing: same resourceVersion). Only for an object a watch
    /// covers, which keeps it current from then on, and only if the cache has no copy: one the
    /// watch brought may be newer (resourceVersions cannot be ordered). Nobody is told; the
    /// sync's own follow-up comparison reads it.
    pub fn written(&self, object: &Value) {
        // Read from the reference: no copy of the object is made to convert it.
        let Ok(object) = DynamicObject::deserialize(object) else {
            return;
        };
        let Some((key, entry)) = owned(object, &self.owners()) else {
            return;
        };
        let covered = lock(&self.watches)
            .get(&key.group_kind())
            .is_some_and(|w| w.covers(&key));
        let mut index = lock(&self.index);
        if covered && !index.objects.contains_key(&key) {
            index.insert(key, entry);
        }
    }

    /// The live objects `app` owns, among the kinds watched.
    pub fn tracked(&self, app: &str) -> Vec<Value> {
        let index = lock(&self.index);
        let Some(keys) = index.by_app.get(app) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| index.objects.get(k))
            .filter_map(|e| serde_json::from_str(&e.json).ok())
            .collect()
    }

    /// The app that owns the live object `key`, if the cache holds it (its kind watched and
    /// an owner on it).
    pub fn owner_of(&self, key: &ResourceKey) -> Option<String> {
        lock(&self.index).objects.get(key).map(|e| e.owner.clone())
    }

    /// The kinds being watched.
    pub fn kinds(&self) -> BTreeSet<GroupKind> {
        lock(&self.watches).keys().cloned().collect()
    }

    /// How many objects the cache holds (for diagnostics and tests of its size).
    pub fn len(&self) -> usize {
        lock(&self.index).objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How owners are read: the tracking method, and the installation objects must belong to.
struct Owners {
    method: TrackingMethod,
    installation: Option<String>,
}

/// The parts of an object that say what it is and who owns it: kind, name, namespace, labels
/// and annotations. Ownership is read from this before anything else of the object is
/// converted: most objects of a watched kind belong to no app.
fn header(object: &DynamicObject) -> Value {
    let meta = &object.metadata;
    let types = object.types.as_ref();
    serde_json::json!({
        "apiVersion": types.map(|t| t.api_version.as_str()),
        "kind": types.map(|t| t.kind.as_str()),
        "metadata": {
            "name": meta.name, "namespace": meta.namespace,
            "labels": meta.labels, "annotations": meta.annotations,
        },
    })
}

/// What the cache keeps of an object: its tracking owner and the object without the bulky
/// last-applied annotation (the differ drops it anyway).
fn owned(mut object: DynamicObject, owners: &Owners) -> Option<(ResourceKey, Entry)> {
    let head = header(&object);
    if !driftless_decisions::installation::belongs(&head, owners.installation.as_deref()) {
        return None;
    }
    let owner = tracking::owner(&head, owners.method)?;
    let key = ResourceKey::of(&head).ok()?;
    if let Some(annotations) = object.metadata.annotations.as_mut() {
        annotations.remove(driftless_diff::LAST_APPLIED);
    }
    let resource_version = object.metadata.resource_version.clone().unwrap_or_default();
    let json = serde_json::to_string(&object).ok()?.into_boxed_str();
    Some((
        key,
        Entry {
            owner,
            resource_version,
            json,
        },
    ))
}

/// What one watch lists: a kind, in one namespace or everywhere.
#[derive(Clone)]
struct Listed {
    kind: GroupKind,
    namespace: Option<String>,
}

impl Listed {
    fn covers(&self, key: &ResourceKey) -> bool {
        key.group == self.kind.group
            && key.kind == self.kind.kind
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == key.namespace)
    }
}

fn key_of(object: &DynamicObject) -> Option<ResourceKey> {
    ResourceKey::of(&header(object)).ok()
}

async fn watch_kind(
    api: Api<DynamicObject>,
    resource: ApiResource,
    listed: Listed,
    index: Arc<Mutex<Index>>,
    owners: Owners,
    notify: Notify,
    ready: tokio::sync::watch::Sender<bool>,
) {
    let stream = watcher::watcher(api, watcher::Config::default())
        .backoff(crate::runtime::backoff::watch_backoff());
    futures::pin_mut!(stream);
    let mut listing: Option<HashSet<ResourceKey>> = None;
    while let Some(event) = stream.next().await {
        // Owners to tell, collected under the lock and told after it.
        let mut touched: Vec<String> = Vec::new();
        let initialized = *ready.borrow();
        match event {
            Ok(Event::Init) => listing = Some(HashSet::new()),
            Ok(Event::InitApply(mut object)) | Ok(Event::Apply(mut object)) => {
                // Items of a list come without apiVersion and kind; the watch knows them.
                object.types.get_or_insert_with(|| TypeMeta {
                    api_version: resource.api_version.clone(),
                    kind: resource.kind.clone(),
                });
                let key = key_of(&object);
                let mut index = lock(&index);
                match (key, owned(object, &owners)) {
                    (_, Some((key, entry))) => {
                        if let Some(seen) = listing.as_mut() {
                            seen.insert(key.clone());
                        }
                        let previous = index
                            .objects
                            .get(&key)
                            .map(|e| (e.owner.clone(), e.resource_version.clone()));
                        if previous.as_ref().map(|(_, rv)| rv) != Some(&entry.resource_version) {
                            if let Some((old_owner, _)) =
                                previous.filter(|(o, _)| *o != entry.owner)
                            {
                                touched.push(old_owner);
                            }
                            touched.push(entry.owner.clone());
                            index.remove(&key);
                            index.insert(key, entry);
                        }
                    }
                    (Some(key), None) => touched.extend(index.remove(&key)),
                    (None, None) => {}
                }
            }
            Ok(Event::Delete(mut object)) => {
                object.types.get_or_insert_with(|| TypeMeta {
                    api_version: resource.api_version.clone(),
                    kind: resource.kind.clone(),
                });
                if let Some(key) = key_of(&object) {
                    touched.extend(lock(&index).remove(&key));
                }
            }
            Ok(Event::InitDone) => {
                if let Some(seen) = listing.take() {
                    let mut index = lock(&index);
                    let gone: Vec<ResourceKey> = index
                        .objects
                        .keys()
                        .filter(|k| listed.covers(k) && !seen.contains(*k))
                        .cloned()
                        .collect();
                    for key in gone {
                        touched.extend(index.remove(&key));
                    }
                }
                let _ = ready.send(true);
            }
            Err(error) => {
                tracing::debug!(kind = %listed.kind, namespace = ?listed.namespace, %error, "watch interrupted; retrying")
            }
        }
        // Before the first listing completes nobody needs telling: reconciles wait for it.
        if initialized {
            touched.sort();
            touched.dedup();
            for app in touched {
                notify(&app);
            }
        }
    }
}
