//! The sync-loop breaker (pure): an object that automated sync keeps re-applying for one desired
//! revision, because something else keeps changing the same fields back (another controller,
//! a mutating webhook, a `randAlphaNum` render), is taken out of automated sync after
//! `threshold` re-applies, and the app gets a `SyncLoop` condition naming the object, the paths
//! that keep changing and the other field managers that write them (from `managedFields`).
//! The rest of the app keeps syncing. A new desired revision or a manual sync starts over.

use crate::conditions::{self, Found};
use driftless_model::ResourceKey;
use driftless_model::annotations::FIELD_MANAGER;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Paths shown in one condition message, at most; the rest are counted.
const PATHS_SHOWN: usize = 5;

/// What the breaker remembers of one app: counts for the revision it last saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoopState {
    revisions: Vec<String>,
    objects: BTreeMap<ResourceKey, Repeats>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Repeats {
    /// Paths changed at the last re-apply.
    paths: BTreeSet<String>,
    /// Re-applies in a row whose paths overlapped the previous ones.
    applies: u32,
    /// When the last re-apply was counted (seconds).
    last: i64,
    /// The live object's resourceVersion at the last re-apply counted.
    version: String,
    broken: Option<Broken>,
}

#[derive(Debug, Clone, PartialEq)]
struct Broken {
    applies: u32,
    paths: Vec<String>,
    managers: Vec<String>,
}

/// One live object an automated sync is about to re-apply, and how it differs from git.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub key: ResourceKey,
    /// JSON pointers that differ from the desired state.
    pub paths: Vec<String>,
    /// Field managers other than driftless that own some of `paths` in the live object.
    pub managers: Vec<String>,
    /// The live object's resourceVersion.
    pub version: String,
}

impl Drift {
    /// The drift of `live` at `paths`, with the managers read from its `managedFields`.
    pub fn of(key: ResourceKey, live: &Value, paths: Vec<String>) -> Self {
        let managers = other_managers(live, &paths);
        let version = live
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Self {
            key,
            paths,
            managers,
            version,
        }
    }
}

impl LoopState {
    /// Starts over when the desired revisions are not those counted so far.
    pub fn follow(&mut self, revisions: &[String]) {
        if self.revisions != revisions {
            *self = Self {
                revisions: revisions.to_vec(),
                objects: BTreeMap::new(),
            };
        }
    }

    /// A manual sync: every object is given back to automated sync.
    pub fn clear(&mut self) {
        self.objects.clear();
    }

    /// Counts the re-applies an automated sync is about to make at `now` (seconds) and returns
    /// the objects to leave out of it: those taken out before. An object whose count reaches
    /// `threshold` now is re-applied this once more and taken out from then on. A count
    /// starts over when other paths changed, or after a quiet time as long as self-heal's.
    pub fn record(
        &mut self,
        drifted: Vec<Drift>,
        threshold: u32,
        now: i64,
    ) -> BTreeSet<ResourceKey> {
        let before = self.excluded();
        for drift in drifted.into_iter().filter(|d| !d.paths.is_empty()) {
            let entry = self.objects.entry(drift.key).or_default();
            // The live object has not changed since the last re-apply: the view of it is behind
            // (a watch catching up after an outage), nothing moved it away; not a loop.
            if entry.broken.is_some()
                || (!drift.version.is_empty() && drift.version == entry.version)
            {
                continue;
            }
            entry.version = drift.version;
            let paths: BTreeSet<String> = drift.paths.into_iter().collect();
            let again: Vec<String> = entry.paths.intersection(&paths).cloned().collect();
            let quiet = now - entry.last >= crate::decide::HEAL_COOLDOWN_SECS;
            entry.applies = if again.is_empty() || quiet {
                1
            } else {
                entry.applies.saturating_add(1)
            };
            entry.paths = paths;
            entry.last = now;
            if entry.applies >= threshold.max(1) {
                let shown = if again.is_empty() {
                    entry.paths.iter().cloned().collect()
                } else {
                    again
                };
                entry.broken = Some(Broken {
                    applies: entry.applies,
                    paths: shown,
                    managers: drift.managers,
                });
            }
        }
        before
    }

    /// Objects taken out of automated sync.
    pub fn excluded(&self) -> BTreeSet<ResourceKey> {
        self.objects
            .iter()
            .filter(|(_, r)| r.broken.is_some())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// One `SyncLoop` condition per object taken out.
    pub fn conditions(&self) -> Vec<Found> {
        self.objects
            .iter()
            .filter_map(|(key, r)| {
                r.broken
                    .as_ref()
                    .map(|b| Found::new(conditions::SYNC_LOOP, message(key, b)))
            })
            .collect()
    }
}

fn message(key: &ResourceKey, broken: &Broken) -> String {
    let mut paths = broken
        .paths
        .iter()
        .take(PATHS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if broken.paths.len() > PATHS_SHOWN {
        paths.push_str(&format!(" and {} more", broken.paths.len() - PATHS_SHOWN));
    }
    let (by, fix) = if broken.managers.is_empty() {
        (
            "no other field manager owns them".to_string(),
            "find what changes them outside the API server's field managers (a mutating webhook, \
             a defaulting controller) and set those values in git, or add the paths to the \
             Application's spec.ignoreDifferences"
                .to_string(),
        )
    } else {
        let managers = broken.managers.join(", ");
        (
            format!("also written by field manager {managers}"),
            format!(
                "stop {managers} from writing these fields, or add the paths to the \
                 Application's spec.ignoreDifferences (managedFieldsManagers: [{managers}] \
                 ignores all it owns)"
            ),
        )
    };
    format!(
        "{key} was re-applied {} times for the same revision but {paths} kept changing ({by}); \
         it is left out of automated sync until a new revision or a manual sync. \
         To stop the loop, {fix}.",
        broken.applies
    )
}

/// Field managers other than driftless whose `fieldsV1` own one of `paths` (or a field under
/// it) in `live`, sorted and unique.
pub fn other_managers(live: &Value, paths: &[String]) -> Vec<String> {
    let entries = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    let mut managers = BTreeSet::new();
    for entry in entries.into_iter().flatten() {
        let Some(manager) = entry
            .get("manager")
            .and_then(Value::as_str)
            .filter(|m| *m != FIELD_MANAGER)
        else {
            continue;
        };
        let Some(fields) = entry.get("fieldsV1") else {
            continue;
        };
        if paths.iter().any(|p| owns(fields, live, p)) {
            managers.insert(manager.to_string());
        }
    }
    managers.into_iter().collect()
}

/// Whether the fieldsV1 tree `fields` reaches the JSON pointer `path` of `object`.
fn owns(fields: &Value, object: &Value, path: &str) -> bool {
    let mut node = fields;
    let mut at = object;
    for raw in path.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        let Some(map) = node.as_object() else {
            return false;
        };
        if map.is_empty() {
            // A leaf: the manager owns the whole value here.
            return true;
        }
        let next = match at {
            Value::Array(items) => {
                let Ok(index) = segment.parse::<usize>() else {
                    return false;
                };
                let Some(item) = items.get(index) else {
                    return false;
                };
                at = item;
                map.iter()
                    .find(|(k, _)| picks_item(k, index, item))
                    .map(|(_, v)| v)
            }
            _ => {
                at = at.get(&segment).unwrap_or(&Value::Null);
                map.get(&format!("f:{segment}"))
            }
        };
        let Some(next) = next else { return false };
        node = next;
    }
    true
}

/// Whether a fieldsV1 list key (`k:{…}`, `v:…`, `i:N`) picks `item` at `index`.
fn picks_item(key: &str, index: usize, item: &Value) -> bool {
    if let Some(json) = key.strip_prefix("k:") {
        let Ok(Value::Object(wanted)) = serde_json::from_str::<Value>(json) else {
            return false;
        };
        wanted
            .iter()
            .all(|(name, value)| item.get(name) == Some(value))
    } else if let Some(json) = key.strip_prefix("v:") {
        serde_json::from_str::<Value>(json).is_ok_and(|v| v == *item)
    } else if let Some(i) = key.strip_prefix("i:") {
        i.parse::<usize>().is_ok_and(|i| i == index)
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn key(name: &str) -> ResourceKey {
        ResourceKey {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: name.into(),
        }
    }

    /// A drift of a live object that changed since the last one (a new resourceVersion).
    fn drift(name: &str, paths: &[&str]) -> Drift {
        static VERSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let version = VERSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Drift {
            key: key(name),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            managers: vec!["fighter".into()],
            version: version.to_string(),
        }
    }

    fn live() -> Value {
        json!({"metadata": {"name": "web", "managedFields": [
            {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}}},
            {"manager": "fighter", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "sidecar", "operation": "Update", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {
                "f:containers": {"k:{\"name\":\"proxy\"}": {".": {}, "f:image": {}}}}}}}}
        ]},
        "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "web"}, {"name": "proxy", "image": "p:1"}]}}}})
    }

    #[test]
    fn an_object_changed_back_again_and_again_is_taken_out_after_the_threshold() {
        let mut state = LoopState::default();
        state.follow(&["rev".into()]);
        for at in 1..=3 {
            assert!(
                state.conditions().is_empty(),
                "no loop reported before re-apply {at}"
            );
            assert!(
                state
                    .record(vec![drift("web", &["/spec/replicas"])], 3, at)
                    .is_empty(),
                "re-apply {at} goes ahead"
            );
        }
        let excluded = state.record(
            vec![
                drift("web", &["/spec/replicas"]),
                drift("other", &["/data/x"]),
            ],
            3,
            4,
        );
        assert_eq!(
            excluded,
            BTreeSet::from([key("web")]),
            "only the looping object is left out"
        );
        let found = state.conditions();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, conditions::SYNC_LOOP);
        let message = &found[0].message;
        for part in [
            "apps/Deployment/shop/web",
            "/spec/replicas",
            "fighter",
            "3 times",
            "To stop the loop, stop fighter from writing these fields",
            "managedFieldsManagers: [fighter]",
        ] {
            assert!(message.contains(part), "{part} in {message}");
        }
    }

    #[test]
    fn re_applies_against_an_unchanged_live_object_are_not_a_loop() {
        // After an outage the live cache can lag: the same stale object is seen again and again.
        let mut state = LoopState::default();
        state.follow(&["rev".into()]);
        let stale = drift("web", &["/spec/replicas"]);
        for at in 1..=5 {
            assert!(state.record(vec![stale.clone()], 3, at).is_empty());
        }
        assert!(state.conditions().is_empty());
    }

    #[test]
    fn changes_to_other_paths_do_not_count_as_a_loop() {
        let mut state = LoopState::default();
        state.follow(&["rev".into()]);
        for path in ["/a", "/b", "/c", "/d", "/e"] {
            assert!(
                state.record(vec![drift("web", &[path])], 2, 1).is_empty(),
                "{path}"
            );
        }
        assert!(state.conditions().is_empty());
    }

    #[test]
    fn re_applies_far_apart_are_not_a_loop() {
        let mut state = LoopState::default();
        state.follow(&["rev".into()]);
        for day in 0..5 {
            state.record(vec![drift("web", &["/spec/replicas"])], 3, day * 86_400);
        }
        assert!(state.excluded().is_empty());
    }

    #[test]
    fn a_new_revision_or_a_manual_sync_gives_the_object_back() {
        let mut state = LoopState::default();
        state.follow(&["rev".into()]);
        for _ in 0..3 {
            state.record(vec![drift("web", &["/spec/replicas"])], 2, 1);
        }
        assert_eq!(state.excluded().len(), 1);
        state.follow(&["rev".into()]);
        assert_eq!(state.excluded().len(), 1, "the same revision keeps it out");
        state.follow(&["new".into()]);
        assert!(state.excluded().is_empty() && state.conditions().is_empty());
        for _ in 0..3 {
            state.record(vec![drift("web", &["/spec/replicas"])], 2, 1);
        }
        state.clear();
        assert!(state.excluded().is_empty());
    }

    #[test]
    fn managers_are_read_from_managed_fields_leaving_driftless_out() {
        let object = live();
        assert_eq!(
            other_managers(&object, &["/spec/replicas".into()]),
            ["fighter"]
        );
        assert_eq!(
            other_managers(&object, &["/spec/template/spec/containers/1/image".into()]),
            ["sidecar"]
        );
        assert!(
            other_managers(&object, &["/spec/template/spec/containers/0/image".into()]).is_empty()
        );
        assert!(other_managers(&json!({"metadata": {}}), &["/spec".into()]).is_empty());
    }
}
