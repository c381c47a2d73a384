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
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The app `object` is, as the store keeps it: without `managedFields` and kubectl's
/// last-applied copy, which no reconcile reads and which are most of an app's memory (the
/// field sets of an app whose status is written often run to kilobytes; at 10,000 apps they
/// were most of the controller's heap). None when it does not parse as an Application.
pub fn kept(object: &DynamicObject) -> Option<Arc<Application>> {
    let mut value = serde_json::to_value(object).ok()?;
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove(LAST_APPLIED);
        }
    }
    serde_json::from_value(value).ok().map(Arc::new)
}

/// What the watch delivered of one app: its resourceVersion, and the app (None: unreadable).
type Delivered = (Option<String>, Option<Arc<Application>>);

/// How many of an app's latest versions the watch delivered are remembered: a write of ours
/// whose answer comes back after the watch delivered it (and maybe a later change) is known
/// as seen.
const RECENT: usize = 16;

#[derive(Default)]
struct Maps {
    /// Per app, what the watch delivered last.
    apps: HashMap<String, Delivered>,
    /// Per app, the versions the watch delivered lately, oldest first.
    recent: HashMap<String, std::collections::VecDeque<String>>,
    /// Per app: the newest resourceVersion we know of (written or read by us), not delivered
    /// by the watch yet (`None`: a write whose version is not known), and the app as our write
    /// left it (`None`: to be read from the API server).
    unseen_writes: HashMap<String, Delivered>,
}

/// One lock over both maps: a write noted and the watch delivering it must not interleave
/// (a write noted after its own event was delivered would wait for it for ever).
#[derive(Default)]
pub struct AppStore(Mutex<Maps>);

impl AppStore {
    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        crate::runtime::mutex::lock(&self.0)
    }

    /// The watch delivered `app` (its key, and the object as read, if it parses) at `version`.
    pub fn observed(&self, key: &str, app: Option<Arc<Application>>, version: Option<&str>) {
        let mut maps = self.maps();
        // Unreadable (None): reconciles read it from the API server and report why.
        maps.apps
            .insert(key.to_string(), (version.map(str::to_string), app));
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
        maps.apps.remove(key);
        maps.recent.remove(key);
        maps.unseen_writes.remove(key);
    }

    /// A relist of the watch is over and listed `listed`: apps it did not list are gone (their
    /// deletion fell in a gap of the watch). Returns them.
    pub fn relisted(&self, listed: &std::collections::HashSet<String>) -> Vec<String> {
        let mut maps = self.maps();
        let gone: Vec<String> = maps
            .apps
            .keys()
            .filter(|k| !listed.contains(*k))
            .cloned()
            .collect();
        for key in &gone {
            maps.apps.remove(key);
            maps.recent.remove(key);
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
    pub fn wrote(&self, key: &str, version: Option<String>, app: Option<Arc<Application>>) {
        let mut maps = self.maps();
        if !maps.apps.contains_key(key) {
            return;
        }
        let delivered = maps.recent.get(key);
        if let (Some(version), Some(delivered)) = (&version, delivered)
            && delivered.contains(version)
        {
            return;
        }
        let app = app.filter(|_| version.is_some());
        maps.unseen_writes.insert(key.to_string(), (version, app));
    }

    /// The app as the watch delivered it last, however old: for hints, never for decisions.
    pub fn last_delivered(&self, key: &str) -> Option<Arc<Application>> {
        self.maps().apps.get(key).and_then(|(_, app)| app.clone())
    }

    /// The app as the watch has it, unless a write of ours is newer than what it delivered.
    pub fn fresh(&self, key: &str) -> Option<Arc<Application>> {
        let maps = self.maps();
        if let Some((_, ours)) = maps.unseen_writes.get(key) {
            return ours.clone();
        }
        maps.apps.get(key).and_then(|(_, app)| app.clone())
    }

    /// The app was read from the API server at `version`, while a write of ours was unseen:
    /// settled if the watch delivered that version already, else that version is awaited.
    pub fn fetched(&self, key: &str, version: Option<&str>) {
        let mut maps = self.maps();
        if !maps.unseen_writes.contains_key(key) {
            return;
        }
        let delivered = maps.apps.get(key).and_then(|(v, _)| v.clone());
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

    fn app(marker: &str) -> Arc<Application> {
        let mut app = Application::default();
        app.metadata.name = Some(marker.to_string());
        Arc::new(app)
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
        app.and_then(|a| a.metadata.name.clone())
    }

    #[test]
    fn a_watched_app_is_read_from_the_store() {
        let store = AppStore::default();
        assert!(
            store.fresh("web").is_none(),
            "never seen: read from the API server"
        );
        store.observed("web", Some(app("v1")), Some("10"));
        assert_eq!(name(store.fresh("web")), Some("v1".into()));
        store.deleted("web");
        assert!(store.fresh("web").is_none());
    }

    #[test]
    fn after_our_write_the_store_serves_only_once_the_watch_delivered_it() {
        let store = AppStore::default();
        store.observed("web", Some(app("before")), Some("10"));
        store.wrote("web", Some("12".into()), None);
        assert!(
            store.fresh("web").is_none(),
            "the store is older than our write"
        );
        // An event from before our write changes nothing.
        store.observed("web", Some(app("other")), Some("11"));
        assert!(store.fresh("web").is_none());
        store.observed("web", Some(app("ours")), Some("12"));
        assert_eq!(name(store.fresh("web")), Some("ours".into()));
    }

    #[test]
    fn a_read_waits_for_the_version_it_found_unless_the_watch_has_it() {
        let store = AppStore::default();
        store.observed("web", Some(app("before")), Some("10"));
        store.wrote("web", Some("12".into()), None);
        store.fetched("web", Some("13"));
        assert!(
            store.fresh("web").is_none(),
            "someone wrote after us: the watch still holds the version before ours"
        );
        store.observed("web", Some(app("ours")), Some("12"));
        assert!(store.fresh("web").is_none(), "ours, but not the newest");
        store.observed("web", Some(app("theirs")), Some("13"));
        assert_eq!(name(store.fresh("web")), Some("theirs".into()));
        // A relist that skipped our write: the next read finds what the watch has.
        store.wrote("web", Some("15".into()), None);
        store.observed("web", Some(app("relisted")), Some("16"));
        assert!(store.fresh("web").is_none());
        store.fetched("web", Some("16"));
        assert_eq!(name(store.fresh("web")), Some("relisted".into()));
        store.wrote("web", None, Some(app("unknown")));
        assert!(store.fresh("web").is_none(), "a write of unknown version");
        store.observed("web", Some(app("next")), Some("17"));
        store.fetched("web", Some("17"));
        assert!(store.fresh("web").is_some());
    }

    #[test]
    fn our_own_write_is_served_until_the_watch_delivers_it() {
        let store = AppStore::default();
        store.observed("web", Some(app("before")), Some("10"));
        store.wrote("web", Some("12".into()), Some(app("ours")));
        assert_eq!(name(store.fresh("web")), Some("ours".into()));
        store.observed("web", Some(app("older event")), Some("11"));
        assert_eq!(
            name(store.fresh("web")),
            Some("ours".into()),
            "an event from before our write does not hide it"
        );
        store.observed("web", Some(app("delivered")), Some("12"));
        assert_eq!(name(store.fresh("web")), Some("delivered".into()));
        // A relist that skipped our write: read from the API server once.
        store.wrote("web", Some("14".into()), Some(app("ours again")));
        store.observed("web", Some(app("relisted")), Some("15"));
        store.relisted(&std::collections::HashSet::from(["web".to_string()]));
        assert!(store.fresh("web").is_none());
        store.fetched("web", Some("15"));
        assert_eq!(name(store.fresh("web")), Some("relisted".into()));
    }

    #[test]
    fn a_write_whose_event_came_first_waits_for_nothing() {
        let store = AppStore::default();
        store.observed("web", Some(app("delivered")), Some("12"));
        store.wrote("web", Some("12".into()), Some(app("ours")));
        assert_eq!(name(store.fresh("web")), Some("delivered".into()));
        store.observed("web", Some(app("edited")), Some("13"));
        assert_eq!(
            name(store.fresh("web")),
            Some("edited".into()),
            "a later edit is seen"
        );
    }

    #[test]
    fn a_write_answered_after_the_watch_moved_past_it_is_not_served() {
        let store = AppStore::default();
        store.observed("web", Some(app("ours, delivered")), Some("12"));
        store.observed("web", Some(app("someone else's")), Some("13"));
        store.wrote("web", Some("12".into()), Some(app("ours")));
        assert_eq!(name(store.fresh("web")), Some("someone else's".into()));
    }

    #[test]
    fn a_write_to_an_app_the_watch_saw_go_is_not_served() {
        let store = AppStore::default();
        store.observed("web", Some(app("before")), Some("10"));
        store.deleted("web");
        store.wrote("web", Some("12".into()), Some(app("ours, deleted")));
        store.observed("web", Some(app("created again")), Some("20"));
        assert_eq!(name(store.fresh("web")), Some("created again".into()));
    }

    #[test]
    fn a_relist_drops_the_apps_it_no_longer_lists() {
        let store = AppStore::default();
        store.observed("web", Some(app("web")), Some("10"));
        store.observed("db", Some(app("db")), Some("11"));
        let listed = std::collections::HashSet::from(["web".to_string()]);
        assert_eq!(store.relisted(&listed), vec!["db".to_string()]);
        assert!(store.fresh("db").is_none());
        assert!(store.fresh("web").is_some());
    }

    #[test]
    fn an_unreadable_app_is_not_served_from_the_store() {
        let store = AppStore::default();
        store.observed("web", Some(app("v1")), Some("10"));
        store.observed("web", None, Some("11"));
        assert!(store.fresh("web").is_none());
    }
}
