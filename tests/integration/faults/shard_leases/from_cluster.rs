//! What the cluster itself records of who held each shard and who wrote each app: the shard
//! Leases' holders (`holderIdentity`, `acquireTime`) as a watch saw them change, and the
//! controller's Events on the apps, each naming its writer (`reportingInstance`) and the time
//! of the write it reports (`eventTime`, to the microsecond).

use driftless_decisions::events::COMPONENT;
use driftless_decisions::shard::shard_of;
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::ListParams;
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One replica's hold of one shard, from its `acquireTime` until the next holder's, or until
/// the watch saw the Lease given back (a little after it was).
#[derive(Debug, Clone)]
pub(super) struct Tenure {
    pub(super) shard: u32,
    pub(super) holder: String,
    pub(super) from: Timestamp,
    pub(super) until: Timestamp,
}

/// One state of a shard Lease, as the watch saw it.
#[derive(Debug, Clone)]
struct Seen {
    observed: Timestamp,
    shard: u32,
    holder: Option<String>,
    acquired: Option<Timestamp>,
}

/// Every state of the shard Leases a watch saw, from before the first replica started.
pub(super) struct LeaseHistory {
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::AbortHandle,
}

impl LeaseHistory {
    /// Watches the shard Leases; returns once the watch has listed them.
    pub(super) async fn watch(leases: Api<Lease>) -> anyhow::Result<Self> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (listed, on_listed) = tokio::sync::oneshot::channel();
        let config = watcher::Config::default().labels("driftless.dev/lease=shard");
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let mut listed = Some(listed);
            let mut events = watcher(leases, config).default_backoff().boxed();
            while let Some(event) = events.next().await {
                match event {
                    Ok(watcher::Event::Apply(lease) | watcher::Event::InitApply(lease)) => {
                        if let (Some(seen), Ok(mut all)) = (seen_of(&lease), record.lock()) {
                            all.push(seen);
                        }
                    }
                    Ok(watcher::Event::InitDone) => {
                        if let Some(listed) = listed.take() {
                            let _ = listed.send(());
                        }
                    }
                    _ => {}
                }
            }
        });
        tokio::time::timeout(std::time::Duration::from_secs(30), on_listed).await??;
        Ok(Self {
            seen,
            task: task.abort_handle(),
        })
    }

    /// Each tenure of each shard, in the order the Lease went from holder to holder.
    pub(super) fn tenures(&self) -> Vec<Tenure> {
        tenures_of(&self.seen.lock().map(|s| s.clone()).unwrap_or_default())
    }
}

impl Drop for LeaseHistory {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The tenures the states of the shard Leases (in the order seen) mean.
fn tenures_of(seen: &[Seen]) -> Vec<Tenure> {
    let mut tenures: Vec<Tenure> = Vec::new();
    // Per shard: the index of its open tenure in `tenures`.
    let mut open: BTreeMap<u32, usize> = BTreeMap::new();
    for state in seen {
        let (Some(holder), Some(acquired)) = (&state.holder, state.acquired) else {
            // Given back: the tenure ended before the watch saw it.
            if let Some(i) = open.remove(&state.shard) {
                tenures[i].until = tenures[i].until.min(state.observed);
            }
            continue;
        };
        let current = open.get(&state.shard).map(|&i| &tenures[i]);
        if current.is_some_and(|t| &t.holder == holder && t.from == acquired) {
            continue; // a renewal
        }
        // The previous tenure (still open, or given back a little before the watch saw it)
        // ends when this one starts.
        if let Some(previous) = tenures.iter_mut().rev().find(|t| t.shard == state.shard) {
            previous.until = previous.until.min(acquired);
        }
        open.insert(state.shard, tenures.len());
        tenures.push(Tenure {
            shard: state.shard,
            holder: holder.clone(),
            from: acquired,
            until: Timestamp::MAX,
        });
    }
    tenures
}

fn seen_of(lease: &Lease) -> Option<Seen> {
    let shard = lease
        .metadata
        .name
        .as_deref()?
        .strip_prefix("driftless-shard-")?
        .parse()
        .ok()?;
    let spec = lease.spec.as_ref();
    Some(Seen {
        observed: Timestamp::now(),
        shard,
        holder: spec
            .and_then(|s| s.holder_identity.clone())
            .filter(|h| !h.is_empty()),
        acquired: spec.and_then(|s| s.acquire_time.as_ref()).map(|t| t.0),
    })
}

/// One controller Event on an app: who wrote it, when, and why.
#[derive(Debug, Clone)]
pub(super) struct Written {
    pub(super) app: String,
    pub(super) writer: String,
    pub(super) at: Timestamp,
    pub(super) reason: String,
}

/// The controller's Events on Applications in the namespace; each must name its writer and
/// the time of its write.
pub(super) async fn app_events(events: &Api<Event>) -> anyhow::Result<Vec<Written>> {
    let listed = events.list(&ListParams::default()).await?.items;
    let mut written = Vec::new();
    for event in listed {
        let on_app = event.involved_object.kind.as_deref() == Some("Application");
        let ours = event.source.as_ref().and_then(|s| s.component.as_deref()) == Some(COMPONENT);
        if !(on_app && ours) {
            continue;
        }
        let name = event.metadata.name.clone().unwrap_or_default();
        anyhow::ensure!(
            event.reporting_component.as_deref() == Some(COMPONENT),
            "Event {name} names no reporting component: {event:?}"
        );
        let host = event.source.as_ref().and_then(|s| s.host.clone());
        let (Some(writer), Some(at)) = (event.reporting_instance, event.event_time) else {
            anyhow::bail!("Event {name} names no writer or time of its write");
        };
        anyhow::ensure!(
            host.as_deref()
                .is_some_and(|h| writer.starts_with(&format!("{h}-"))),
            "Event {name}: host {host:?} is not the writer {writer}'s"
        );
        written.push(Written {
            app: event.involved_object.name.unwrap_or_default(),
            writer,
            at: at.0,
            reason: event.reason.unwrap_or_default(),
        });
    }
    written.sort_by_key(|w| w.at);
    Ok(written)
}

/// Checks that the shard Leases went from holder to holder (no tenure starts before the one
/// before it), and that each Event was written inside a tenure of its writer of its app's
/// shard. So no two replicas interleave on one app: a write by A after a write by B needs a
/// tenure of A that starts after B's ended (the Lease went back to A), and a replica writes
/// nothing once its shard has gone to another. Returns, per app, its writers in turn.
pub(super) fn check_writers(
    written: &[Written],
    tenures: &[Tenure],
    ns: &str,
    shards: u32,
) -> BTreeMap<String, Vec<String>> {
    for (i, one) in tenures.iter().enumerate() {
        for other in &tenures[i + 1..] {
            let overlap =
                one.shard == other.shard && one.from < other.until && other.from < one.until;
            assert!(
                !overlap,
                "the Lease of shard {} was held by {} ({} to {}) and by {} ({} to {}) at once",
                one.shard, one.holder, one.from, one.until, other.holder, other.from, other.until
            );
        }
    }
    let mut turns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for write in written {
        let shard = shard_of(ns, &write.app, shards);
        let inside = tenures.iter().any(|t| {
            t.shard == shard
                && t.holder == write.writer
                && t.from <= write.at
                && write.at <= t.until
        });
        if !inside {
            let holders: Vec<String> = tenures
                .iter()
                .filter(|t| t.shard == shard)
                .map(|t| format!("{} {} to {}", t.holder, t.from, t.until))
                .collect();
            let writes: Vec<String> = written
                .iter()
                .filter(|w| w.app == write.app)
                .map(|w| format!("{} {} {}", w.at, w.writer, w.reason))
                .collect();
            panic!(
                "{} wrote Event {} on {} at {} outside its tenures of shard {shard}\nthe shard's holders: {holders:#?}\nthe app's Events: {writes:#?}",
                write.writer, write.reason, write.app, write.at
            );
        }
        let app = turns.entry(write.app.clone()).or_default();
        if app.last() != Some(&write.writer) {
            app.push(write.writer.clone());
        }
    }
    turns
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "shards";

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).expect("a time")
    }

    fn held(shard: u32, holder: &str, acquired: i64, observed: i64) -> Seen {
        Seen {
            observed: at(observed),
            shard,
            holder: Some(holder.into()),
            acquired: Some(at(acquired)),
        }
    }

    fn released(shard: u32, observed: i64) -> Seen {
        Seen {
            observed: at(observed),
            shard,
            holder: None,
            acquired: None,
        }
    }

    /// An app of shard 0 of 2.
    fn app() -> String {
        (0..)
            .map(|i| format!("app-{i}"))
            .find(|name| shard_of(NS, name, 2) == 0)
            .expect("an app of shard 0")
    }

    fn wrote(writer: &str, second: i64) -> Written {
        Written {
            app: app(),
            writer: writer.into(),
            at: at(second),
            reason: "OperationCompleted".into(),
        }
    }

    /// Shard 0 held by a, released at 10 (seen at 11), taken by b at 12 (its Lease expired
    /// at 30: c took it at 30), then a again at 40 after c gave it back; renewals in between.
    fn history() -> Vec<Tenure> {
        tenures_of(&[
            held(0, "a", 0, 0),
            held(0, "a", 0, 3),
            released(0, 11),
            held(0, "b", 12, 12),
            held(0, "b", 12, 15),
            held(0, "c", 30, 30),
            released(0, 39),
            held(0, "a", 40, 40),
            held(1, "b", 5, 5),
        ])
    }

    #[test]
    fn the_leases_states_give_each_holders_tenure() {
        let history = history();
        let tenures: Vec<(u32, &str, Timestamp, Timestamp)> = history
            .iter()
            .map(|t| (t.shard, t.holder.as_str(), t.from, t.until))
            .collect();
        assert_eq!(
            tenures,
            vec![
                (0, "a", at(0), at(11)),
                (0, "b", at(12), at(30)),
                (0, "c", at(30), at(39)),
                (0, "a", at(40), Timestamp::MAX),
                (1, "b", at(5), Timestamp::MAX),
            ]
        );
    }

    #[test]
    fn writes_inside_the_tenures_pass_and_a_move_back_after_a_reassignment_too() {
        let written = [
            wrote("a", 5),
            wrote("b", 20),
            wrote("c", 35),
            wrote("a", 45),
        ];
        let turns = check_writers(&written, &history(), NS, 2);
        assert_eq!(turns[&app()], ["a", "b", "c", "a"]);
    }

    #[test]
    #[should_panic(expected = "outside its tenures")]
    fn a_replica_writing_an_app_while_another_holds_its_shard_fails() {
        // a, b, a: a still writes after b took the shard.
        let written = [wrote("a", 5), wrote("b", 20), wrote("a", 21)];
        check_writers(&written, &history(), NS, 2);
    }

    #[test]
    #[should_panic(expected = "at once")]
    fn a_lease_taken_before_its_tenure_ended_fails() {
        // c holds shard 1 from 6 while b still holds it (from 5, never ended).
        let mut tenures = history();
        tenures.push(Tenure {
            shard: 1,
            holder: "c".into(),
            from: at(6),
            until: Timestamp::MAX,
        });
        check_writers(&[], &tenures, NS, 2);
    }
}
