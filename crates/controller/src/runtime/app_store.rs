//! The Applications as the watch last delivered them, so a reconcile reads its app without a
//! request. The watch lags our own writes by a moment, and a reconcile must never act on an
//! `operation` it removed itself or a status it replaced: each write of ours records the
//! resourceVersion it produced and the object the API server answered with; until the watch
//! has delivered that version, that answer is the app (the newest state known), and an answer
//! that could not be read means the app is read from the API server. A read that finds another
//! version (someone wrote after us) waits for that one, and is settled at once if the watch has
//! delivered it already. A relist settles every write it saw past.

use driftless_diff::LAST_APPLIED;
use driftless_model::Application;
use kube::api::DynamicObject;
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::watcher;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// The app `object` is, as the store keeps it: without `managedFields` and kubectl's
/// last-applied copy, which no reconcile reads and which are most of an app's memory (the
/// field sets of an app whose status is written often run to kilobytes; at 10,000 apps they
/// were most of the controller's heap). None when it does not parse as an Application.
pub fn kept(object: &DynamicObject) -> Option<Application> {
    let mut value = serde_json::to_value(object).ok()?;
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove(LAST_APPLIED);
        }
    }
    serde_json::from_value(value).ok()
}

/// How many of an app's latest versions the watch delivered are remembered: a write of ours
/// whose answer comes back after the watch delivered it (and maybe a later change) is known
/// as seen.
const RECENT: usize = 16;

/// A write of ours the watch has not delivered yet: the newest resourceVersion we know of
/// (written or read by us; `None`: a write whose version is not known), and the app as our
/// write left it (`None`: to be read from the API server).
type Unseen = (Option<String>, Option<Arc<Application>>);

struct Maps {
    /// Feeds the reflector store. Every delivery is an `Apply` (a relisted app is served
    /// the moment it is listed, not when the listing ends); `relisted` removes the rest.
    writer: Writer<Application>,
    /// The apps the watch delivered last in a form that does not parse.
    unreadable: HashSet<String>,
    /// Per app, the versions the watch delivered lately, oldest first.
    recent: HashMap<String, VecDeque<String>>,
    unseen_writes: HashMap<String, Unseen>,
}

/// kube-runtime's reflector store of the Applications, with our own writes the watch has not
/// delivered yet laid over it. One lock over the writer and the other maps: a write noted and
/// the watch delivering it must not interleave (a write noted after its own event was
/// delivered would wait for it for ever).
pub struct AppStore {
    /// Where keys without a namespace part live.
    control: String,
    delivered: Store<Application>,
    maps: Mutex<Maps>,
}

impl AppStore {
    pub fn new(control_namespace: &str) -> Self {
        let (delivered, writer) = reflector::store::<Application>();
        Self {
            control: control_namespace.to_string(),
            delivered,
            maps: Mutex::new(Maps {
                writer,
                unreadable: HashSet::new(),
                recent: HashMap::new(),
                unseen_writes: HashMap::new(),
            }),
        }
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        crate::runtime::mutex::lock(&self.maps)
    }

    /// The app of `key` (its namespace and name, and nothing else).
    fn named(&self, key: &str) -> Application {
        let (namespace, name) = driftless_decisions::app_key::split(key, &self.control);
        let mut app = Application::default();
        app.metadata.namespace = Some(namespace.to_string());
        app.metadata.name = Some(name.to_string());
        app
    }

    fn stored(&self, key: &str) -> Option<Arc<Application>> {
        let (namespace, name) = driftless_decisions::app_key::split(key, &self.control);
        self.delivered.get(&ObjectRef::new(name).within(namespace))
    }

    /// The version the watch delivered last of `key`, and whether it delivered any.
    fn delivered_version(&self, maps: &Maps, key: &str) -> Option<Option<String>> {
        let known = maps.unreadable.contains(key) || self.stored(key).is_some();
        known.then(|| maps.recent.get(key).and_then(|r| r.back().cloned()))
    }

    /// The watch delivered the app of `key` at `version`: `app` as read, None if it does not
    /// parse (reconciles then read it from the API server and report why).
    pub fn observed(&self, key: &str, app: Option<Application>, version: Option<&str>) {
        let mut maps = self.maps();
        match app {
            Some(app) => {
                maps.unreadable.remove(key);
                maps.writer.apply_watcher_event(&watcher::Event::Apply(app));
            }
            None => {
                maps.writer
                    .apply_watcher_event(&watcher::Event::Delete(self.named(key)));
                maps.unreadable.insert(key.to_string());
            }
        }
        if let Some(version) = version {
            let recent = maps.recent.entry(key.to_string()).or_default();
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(version.to_string());
        }
        if let (Some((Some(written), _)), Some(version)) = (maps.unseen_writes.get(key), version)
            && written == version
        {
            maps.unseen_writes.remove(key);
        }
    }

    /// The watch saw the app go.
    pub fn deleted(&self, key: &str) {
        let mut maps = self.maps();
        self.forget(&mut maps, key);
        maps.unseen_writes.remove(key);
    }

    fn forget(&self, maps: &mut Maps, key: &str) {
        maps.writer
            .apply_watcher_event(&watcher::Event::Delete(self.named(key)));
        maps.unreadable.remove(key);
        maps.recent.remove(key);
    }

    /// A relist of the watch is over and listed `listed`: apps it did not list are gone (their
    /// deletion fell in a gap of the watch). Returns them.
    pub fn relisted(&self, listed: &HashSet<String>) -> Vec<String> {
        let mut maps = self.maps();
        let stored = self.delivered.state().into_iter().map(|app| {
            driftless_decisions::app_key::key(
                app.metadata.namespace.as_deref().unwrap_or_default(),
                app.metadata.name.as_deref().unwrap_or_default(),
                &self.control,
            )
        });
        let known: Vec<String> = stored.chain(maps.unreadable.iter().cloned()).collect();
        let gone: Vec<String> = known.into_iter().filter(|k| !listed.contains(k)).collect();
        for key in &gone {
            self.forget(&mut maps, key);
        }
        // What a relist delivered is at least as new as every write of ours before it; a write
        // whose event fell in the gap is read from the API server once more.
        for (key, pending) in maps.unseen_writes.iter_mut() {
            if listed.contains(key) {
                pending.1 = None;
            }
        }
        gone
    }

    /// We wrote the app; the write left it at `version` (if the answer said), as `app` (if the
    /// answer could be read). Nothing to wait for if the watch delivered that version already
    /// (what it holds is as new or newer), or if the app is gone from it (deleted meanwhile:
    /// the next read asks the API server).
    pub fn wrote(&self, key: &str, version: Option<String>, app: Option<Application>) {
        let mut maps = self.maps();
        if self.delivered_version(&maps, key).is_none() {
            return;
        }
        if let (Some(version), Some(delivered)) = (&version, maps.recent.get(key))
            && delivered.contains(version)
        {
            return;
        }
        let app = app.filter(|_| version.is_some()).map(Arc::new);
        maps.unseen_writes.insert(key.to_string(), (version, app));
    }

    /// The app as the watch delivered it last, however old: for hints, never for decisions.
    pub fn last_delivered(&self, key: &str) -> Option<Arc<Application>> {
        self.stored(key)
    }

    /// The app as the watch has it, unless a write of ours is newer than what it delivered.
    pub fn fresh(&self, key: &str) -> Option<Arc<Application>> {
        let maps = self.maps();
        if let Some((_, ours)) = maps.unseen_writes.get(key) {
            return ours.clone();
        }
        self.stored(key)
    }

    /// The app was read from the API server at `version`, while a write of ours was unseen:
    /// settled if the watch delivered that version already, else that version is awaited.
    pub fn fetched(&self, key: &str, version: Option<&str>) {
        let mut maps = self.maps();
        if !maps.unseen_writes.contains_key(key) {
            return;
        }
        let delivered = self.delivered_version(&maps, key).flatten();
        if version.is_some() && delivered.as_deref() == version {
            maps.unseen_writes.remove(key);
        } else {
            maps.unseen_writes
                .insert(key.to_string(), (version.map(str::to_string), None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTROL: &str = "argocd";

    /// The app of `key` in the control namespace, told apart by a `marker` label.
    fn at(key: &str, marker: &str) -> Option<Application> {
        let mut app = Application::default();
        app.metadata.namespace = Some(CONTROL.to_string());
        app.metadata.name = Some(key.to_string());
        app.metadata.labels = Some([("marker".to_string(), marker.to_string())].into());
        Some(app)
    }

    #[test]
    fn kept_apps_leave_out_managed_fields_and_the_last_applied_copy() {
        let object: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {
                "name": "web", "namespace": "argocd", "resourceVersion": "7",
                "annotations": {LAST_APPLIED: "{\"spec\":{}}", "team": "shop"},
                "managedFields": [{"manager": "kubectl", "operation": "Update",
                                   "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}],
            },
            "spec": {"project": "default", "destination": {"namespace": "shop"}},
        }))
        .unwrap();
        let app = kept(&object).unwrap();
        assert!(app.metadata.managed_fields.is_none());
        let annotations = app.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(annotations.keys().collect::<Vec<_>>(), vec!["team"]);
        assert_eq!(app.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(app.spec.project, "default");
    }

    fn name(app: Option<Arc<Application>>) -> Option<String> {
        app.and_then(|a| a.metadata.labels.as_ref()?.get("marker").cloned())
    }

    #[test]
    fn a_watched_app_is_read_from_the_store() {
        let store = AppStore::new(CONTROL);
        assert!(
            store.fresh("web").is_none(),
            "never seen: read from the API server"
        );
        store.observed("web", at("web", "v1"), Some("10"));
        assert_eq!(name(store.fresh("web")), Some("v1".into()));
        store.deleted("web");
        assert!(store.fresh("web").is_none());
    }

    #[test]
    fn after_our_write_the_store_serves_only_once_the_watch_delivered_it() {
        let store = AppStore::new(CONTROL);
        store.observed("web", at("web", "before"), Some("10"));
        store.wrote("web", Some("12".into()), None);
        assert!(
            store.fresh("web").is_none(),
            "the store is older than our write"
        );
        // An event from before our write changes nothing.
        store.observed("web", at("web", "other"), Some("11"));
        assert!(store.fresh("web").is_none());
        store.observed("web", at("web", "ours"), Some("12"));
        assert_eq!(name(store.fresh("web")), Some("ours".into()));
    }

    #[test]
    fn a_read_waits_for_the_version_it_found_unless_the_watch_has_it() {
        let store = AppStore::new(CONTROL);
        store.observed("web", at("web", "before"), Some("10"));
        store.wrote("web", Some("12".into()), None);
        store.fetched("web", Some("13"));
        assert!(
            store.fresh("web").is_none(),
            "someone wrote after us: the watch still holds the version before ours"
        );
        store.observed("web", at("web", "ours"), Some("12"));
        assert!(store.fresh("web").is_none(), "ours, but not the newest");
        store.observed("web", at("web", "theirs"), Some("13"));
        assert_eq!(name(store.fresh("web")), Some("theirs".into()));
        // A relist that skipped our write: the next read finds what the watch has.
        store.wrote("web", Some("15".into()), None);
        store.observed("web", at("web", "relisted"), Some("16"));
        assert!(store.fresh("web").is_none());
        store.fetched("web", Some("16"));
        assert_eq!(name(store.fresh("web")), Some("relisted".into()));
        store.wrote("web", None, at("web", "unknown"));
        assert!(store.fresh("web").is_none(), "a write of unknown version");
        store.observed("web", at("web", "next"), Some("17"));
        store.fetched("web", Some("17"));
        assert!(store.fresh("web").is_some());
    }

    #[test]
    fn our_own_write_is_served_until_the_watch_delivers_it() {
        let store = AppStore::new(CONTROL);
        store.observed("web", at("web", "before"), Some("10"));
        store.wrote("web", Some("12".into()), at("web", "ours"));
        assert_eq!(name(store.fresh("web")), Some("ours".into()));
        store.observed("web", at("web", "older event"), Some("11"));
        assert_eq!(
            name(store.fresh("web")),
            Some("ours".into()),
            "an event from before our write does not hide it"
        );
        store.observed("web", at("web", "delivered"), Some("12"));
        assert_eq!(name(store.fresh("web")), Some("delivered".into()));
        // A relist that skipped our write: read from the API server once.
        store.wrote("web", Some("14".into()), at("web", "ours again"));
        store.observed("web", at("web", "relisted"), Some("15"));
        store.relisted(&std::collections::HashSet::from(["web".to_string()]));
        assert!(store.fresh("web").is_none());
        store.fetched("web", Some("15"));
        assert_eq!(name(store.fresh("web")), Some("relisted".into()));
    }

    #[test]
    fn a_write_whose_event_came_first_waits_for_nothing() {
        let store = AppStore::new(CONTROL);
        store.observed("web", at("web", "delivered"), Some("12"));
        store.wrote("web", Some("12".into()), at("web", "ours"));
        assert_eq!(name(store.fresh("web")), Some("delivered".into()));
        store.observed("web", at("web", "edited"), Some("13"));
        assert_eq!(
            name(store.fresh("web")),
            Some("edited".into()),
            "a later edit is seen"
        );
    }

    #[test]
    fn a_write_answered_after_the_watch_moved_past_it_is_not_served() {
        let store = AppStore::new(CONTROL);
        store.observed("web", at("web", "ours, delivered"), Some("12"));
        store.observed("web", at("web", "someone else's"), Some("13"));
        store.wrote("web", Some("12".into()), at("web", "ours"));
        assert_eq!(name(store.fresh("web")), Some("someone else's".into()));
    }

    #[test]
    fn a_write_to_an_app_the_watch_saw_go_is_not_served() {
        let store = AppStore::new(CONTROL);
        store.observed("web", at("web", "before"), Some("10"));
        store.deleted("web");
        store.wrote("web", Some("12".into()), at("web", "ours, deleted"));
        store.observed("web", at("web", "created again"), Some("20"));
        assert_eq!(name(store.fresh("web")), Some("created again".into()));
    }

    #[test]
    fn a_relist_drops_the_apps_it_no_longer_lists() {
        let store = AppStore::new(CONTROL);
        store.observed("web", at("web", "web"), Some("10"));
        store.observed("db", at("db", "db"), Some("11"));
        let listed = std::collections::HashSet::from(["web".to_string()]);
        assert_eq!(store.relisted(&listed), vec!["db".to_string()]);
        assert!(store.fresh("db").is_none());
        assert!(store.fresh("web").is_some());
    }

    #[test]
    fn an_unreadable_app_is_not_served_from_the_store() {
        let store = AppStore::new(CONTROL);
        store.observed("web", at("web", "v1"), Some("10"));
        store.observed("web", None, Some("11"));
        assert!(store.fresh("web").is_none());
    }
}
