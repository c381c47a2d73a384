//! Which apps this replica works on, read by every loop at each decision: all of them, a
//! fixed share (`--shards N --shard I`), or the apps of the shards whose Lease it holds now
//! (`--shard-leases S`), which changes while it runs.
//!
//! With shard Leases, each shard has a stop signal its apps' syncs watch (they stop at their
//! next safe point) and a tenure lock each reconcile of its apps holds for reading: giving a
//! shard up takes the lock for writing, so it returns only once no reconcile of the shard runs,
//! and whatever starts after finds the shard gone and does nothing.

use driftless_decisions::shard::{Shard, shard_of};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedRwLockReadGuard, RwLock, watch};

pub struct Ownership {
    mode: Mode,
    /// The shards held now (always empty with a fixed share); receivers see each change, to
    /// start the gained shards' apps.
    held: watch::Sender<BTreeSet<u32>>,
}

enum Mode {
    Fixed(Shard),
    Leased(Leased),
}

struct Leased {
    count: u32,
    /// Per shard: true once its work must stop.
    stops: Vec<watch::Sender<bool>>,
    tenures: Vec<Arc<RwLock<()>>>,
}

/// Held while a reconcile of an owned app runs (see [`Ownership::enter`]).
pub struct Tenure {
    _lock: Option<OwnedRwLockReadGuard<()>>,
}

impl Ownership {
    /// A fixed share of the apps (every app with the default shard).
    pub fn fixed(shard: Shard) -> Self {
        Self {
            mode: Mode::Fixed(shard),
            held: watch::Sender::new(BTreeSet::new()),
        }
    }

    /// `count` shards, none held yet.
    pub fn leased(count: u32) -> Self {
        let count = count.max(1);
        Self {
            mode: Mode::Leased(Leased {
                count,
                stops: (0..count).map(|_| watch::Sender::new(true)).collect(),
                tenures: (0..count).map(|_| Arc::new(RwLock::new(()))).collect(),
            }),
            held: watch::Sender::new(BTreeSet::new()),
        }
    }

    /// Whether this replica works on the app now.
    pub fn owns(&self, namespace: &str, name: &str) -> bool {
        match &self.mode {
            Mode::Fixed(shard) => shard.owns(namespace, name),
            Mode::Leased(leased) => {
                self.held
                    .borrow()
                    .contains(&shard_of(namespace, name, leased.count))
            }
        }
    }

    /// The app's shard, when shards are leased.
    pub fn shard_of(&self, namespace: &str, name: &str) -> Option<u32> {
        match &self.mode {
            Mode::Fixed(_) => None,
            Mode::Leased(leased) => Some(shard_of(namespace, name, leased.count)),
        }
    }

    /// Waits until no shard change is under way for the app's shard, then: Some while the
    /// app is owned (hold the tenure for the whole reconcile), None when it is not.
    pub async fn enter(&self, namespace: &str, name: &str) -> Option<Tenure> {
        match &self.mode {
            Mode::Fixed(shard) => shard
                .owns(namespace, name)
                .then_some(Tenure { _lock: None }),
            Mode::Leased(leased) => {
                let shard = shard_of(namespace, name, leased.count);
                let guard = leased.tenures[shard as usize].clone().read_owned().await;
                // Checked under the lock: a shard given up meanwhile is seen as gone.
                self.owns(namespace, name)
                    .then_some(Tenure { _lock: Some(guard) })
            }
        }
    }

    /// What the app's syncs watch to stop at a safe point; `shutdown` with a fixed share.
    pub fn stop_signal(
        &self,
        namespace: &str,
        name: &str,
        shutdown: &crate::runtime::shutdown::Shutdown,
    ) -> watch::Receiver<bool> {
        match &self.mode {
            Mode::Fixed(_) => shutdown.asked(),
            Mode::Leased(leased) => {
                leased.stops[shard_of(namespace, name, leased.count) as usize].subscribe()
            }
        }
    }

    /// The shards held now (none with a fixed share).
    pub fn held(&self) -> BTreeSet<u32> {
        self.held.borrow().clone()
    }

    /// Follows the shards held (an empty set that never changes with a fixed share).
    pub fn watch_held(&self) -> watch::Receiver<BTreeSet<u32>> {
        self.held.subscribe()
    }

    /// Starts working on `shard` (its Lease was just taken).
    pub fn gain(&self, shard: u32) {
        if let Mode::Leased(leased) = &self.mode
            && let Some(stop) = leased.stops.get(shard as usize)
        {
            stop.send_replace(false);
            self.held.send_modify(|held| {
                held.insert(shard);
            });
        }
    }

    /// Stops working on `shard`: no new reconcile of its apps starts, its syncs are asked to
    /// stop at their next safe point, and this waits (up to `within`) until no reconcile of
    /// its apps runs any more. False when some still ran at the end: the shard's work may
    /// not have stopped.
    pub async fn give_up(&self, shard: u32, within: Duration) -> bool {
        let Mode::Leased(leased) = &self.mode else {
            return true;
        };
        let Some(tenure) = leased.tenures.get(shard as usize) else {
            return true;
        };
        self.held.send_modify(|held| {
            held.remove(&shard);
        });
        leased.stops[shard as usize].send_replace(true);
        tokio::time::timeout(within, tenure.write()).await.is_ok()
    }

    /// Asks the syncs of every shard to stop at their next safe point (the controller is
    /// stopping); the shards stay held until their Leases are given back.
    pub fn stop_all(&self) {
        if let Mode::Leased(leased) = &self.mode {
            for stop in &leased.stops {
                stop.send_replace(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_of(ownership: &Ownership, shard: u32) -> String {
        (0..)
            .map(|n| format!("app-{n}"))
            .find(|name| ownership.shard_of("argocd", name) == Some(shard))
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn an_app_is_owned_while_its_shard_is_held() {
        let ownership = Ownership::leased(4);
        let app = app_of(&ownership, 2);
        assert!(!ownership.owns("argocd", &app));
        assert!(ownership.enter("argocd", &app).await.is_none());
        let stop = ownership.stop_signal("argocd", &app, &Default::default());
        assert!(*stop.borrow(), "no sync runs on a shard not held");
        ownership.gain(2);
        assert!(ownership.owns("argocd", &app));
        assert!(!*stop.borrow());
        assert!(ownership.enter("argocd", &app).await.is_some());
        assert!(ownership.give_up(2, Duration::from_secs(1)).await);
        assert!(!ownership.owns("argocd", &app));
        assert!(*stop.borrow());
    }

    #[tokio::test]
    async fn giving_a_shard_up_waits_for_its_running_reconciles() {
        let ownership = Arc::new(Ownership::leased(4));
        ownership.gain(1);
        let app = app_of(&ownership, 1);
        let tenure = ownership.enter("argocd", &app).await;
        assert!(tenure.is_some());
        assert!(
            !ownership.give_up(1, Duration::from_millis(50)).await,
            "a reconcile still runs"
        );
        ownership.gain(1);
        let giving_up = {
            let ownership = ownership.clone();
            tokio::spawn(async move { ownership.give_up(1, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!ownership.owns("argocd", &app), "no new work meanwhile");
        drop(tenure);
        assert!(giving_up.await.unwrap_or(false));
        assert!(ownership.enter("argocd", &app).await.is_none());
    }

    #[test]
    fn a_fixed_share_never_changes() {
        let ownership = Ownership::fixed(Shard::default());
        assert!(ownership.owns("argocd", "any"));
        assert!(ownership.held().is_empty());
        assert_eq!(ownership.shard_of("argocd", "any"), None);
    }
}
