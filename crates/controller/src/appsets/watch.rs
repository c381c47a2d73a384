//! What wakes an ApplicationSet: a change to it (not to its status, which is ours), a change
//! to an Application it owns (spec drift, deletion, or a new sync or health to report), and
//! the periodic resync. Git moves arrive through the shared ref polling.

use super::AppSets;
use super::owned::owner_appset;
use futures::StreamExt;
use kube::api::DynamicObject;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// What of an ApplicationSet, when it changes, calls for a reconcile: not its status, but for
/// `applicationStatus` (as in Argo CD, a rollout's next stage follows its last one).
pub fn appset_fingerprint(appset: &Value) -> String {
    let meta = &appset["metadata"];
    json!([
        meta["uid"],
        meta["generation"],
        meta["labels"],
        meta["annotations"],
        meta["deletionTimestamp"],
        appset["status"]["applicationStatus"],
    ])
    .to_string()
}

/// What of an owned Application the ApplicationSet reacts to: what it writes (to put it back
/// when someone else changed it), whether it exists, the sync and health it reports, and
/// (for a rollout) the phase and start of its last operation.
pub fn app_fingerprint(app: &Value) -> String {
    let meta = &app["metadata"];
    let operation = &app["status"]["operationState"];
    json!([
        meta["generation"],
        meta["labels"],
        meta["annotations"],
        meta["finalizers"],
        meta["ownerReferences"],
        meta["deletionTimestamp"],
        app["status"]["sync"]["status"],
        app["status"]["health"]["status"],
        operation["phase"],
        operation["startedAt"],
    ])
    .to_string()
}

fn as_value(object: &DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

pub async fn watch_appsets(sets: Arc<AppSets>) -> &'static str {
    let stream = watcher::watcher(sets.api(), watcher::Config::default())
        .backoff(crate::runtime::backoff::watch_backoff());
    futures::pin_mut!(stream);
    let mut fingerprints: HashMap<String, String> = HashMap::new();
    let mut resync = tokio::time::interval(sets.ctx.config.resync_interval);
    resync.tick().await;
    let ownership = sets.ctx.ownership.clone();
    let mut held = ownership.watch_held();
    held.borrow_and_update();
    loop {
        let event = tokio::select! {
            event = stream.next() => match event {
                Some(event) => event,
                None => return "applicationset watch",
            },
            _ = resync.tick() => {
                for name in fingerprints.keys() {
                    sets.request(name);
                }
                continue;
            }
            Ok(()) = held.changed() => {
                // A shard gained: its sets are this replica's now (the queue skips the others).
                held.borrow_and_update();
                for name in fingerprints.keys() {
                    sets.request(name);
                }
                continue;
            }
        };
        match event {
            Ok(Event::Apply(object)) | Ok(Event::InitApply(object)) => {
                let Some(name) = object.metadata.name.clone() else {
                    continue;
                };
                let print = appset_fingerprint(&as_value(&object));
                if fingerprints.get(&name) != Some(&print) {
                    fingerprints.insert(name.clone(), print);
                    sets.request(&name);
                }
            }
            Ok(Event::Delete(object)) => {
                let Some(name) = object.metadata.name.clone() else {
                    continue;
                };
                fingerprints.remove(&name);
                sets.request(&name);
            }
            Ok(Event::Init) | Ok(Event::InitDone) => {}
            Err(error) => tracing::debug!(%error, "applicationset watch interrupted; retrying"),
        }
    }
}

pub async fn watch_owned_apps(sets: Arc<AppSets>) -> &'static str {
    let stream = watcher::watcher(sets.ctx.apps(), watcher::Config::default())
        .backoff(crate::runtime::backoff::watch_backoff());
    futures::pin_mut!(stream);
    // Per Application: its owning ApplicationSet and fingerprint as last seen.
    let mut seen: HashMap<String, (Option<String>, String)> = HashMap::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Apply(object)) | Ok(Event::InitApply(object)) => {
                let Some(name) = object.metadata.name.clone() else {
                    continue;
                };
                let app = as_value(&object);
                let now = (owner_appset(&app), app_fingerprint(&app));
                let before = seen.insert(name, now.clone());
                if before.as_ref() == Some(&now) {
                    continue;
                }
                if let Some((Some(old_owner), _)) = &before
                    && now.0.as_ref() != Some(old_owner)
                {
                    sets.request(old_owner);
                }
                if let Some(owner) = &now.0 {
                    sets.request(owner);
                }
            }
            Ok(Event::Delete(object)) => {
                let Some(name) = object.metadata.name.clone() else {
                    continue;
                };
                seen.remove(&name);
                if let Some(owner) = owner_appset(&as_value(&object)) {
                    sets.request(&owner);
                }
            }
            Ok(Event::Init) | Ok(Event::InitDone) => {}
            Err(error) => {
                tracing::debug!(%error, "application watch (for applicationsets) interrupted; retrying")
            }
        }
    }
    "application watch for applicationsets"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_status_writes_do_not_wake_the_appset() {
        let before =
            json!({"metadata": {"uid": "u", "generation": 2}, "status": {"conditions": []}});
        let after_status = json!({"metadata": {"uid": "u", "generation": 2}, "status": {"conditions": [{"type": "ErrorOccurred"}]}});
        let after_spec = json!({"metadata": {"uid": "u", "generation": 3}});
        let rollout = json!({"metadata": {"uid": "u", "generation": 2},
            "status": {"applicationStatus": [{"application": "a", "status": "Pending"}]}});
        assert_eq!(
            appset_fingerprint(&before),
            appset_fingerprint(&after_status)
        );
        assert_ne!(appset_fingerprint(&before), appset_fingerprint(&after_spec));
        assert_ne!(
            appset_fingerprint(&before),
            appset_fingerprint(&rollout),
            "a rollout's step wakes it"
        );
    }

    #[test]
    fn an_owned_app_wakes_the_appset_on_drift_and_on_new_sync_or_health_only() {
        let app = json!({"metadata": {"generation": 1}, "status": {"sync": {"status": "OutOfSync"}, "reconciledAt": "t1"}});
        let touched = json!({"metadata": {"generation": 1}, "status": {"sync": {"status": "OutOfSync"}, "reconciledAt": "t2"}});
        let synced =
            json!({"metadata": {"generation": 1}, "status": {"sync": {"status": "Synced"}}});
        let edited =
            json!({"metadata": {"generation": 2}, "status": {"sync": {"status": "OutOfSync"}}});
        assert_eq!(app_fingerprint(&app), app_fingerprint(&touched));
        assert_ne!(app_fingerprint(&app), app_fingerprint(&synced));
        assert_ne!(app_fingerprint(&app), app_fingerprint(&edited));
    }
}
