//! The ApplicationSet loop: one reconcile per ApplicationSet at a time; requests arriving
//! meanwhile fold into one more run after it; a failed reconcile is tried again later.

use super::AppSets;
use super::reconcile::reconcile;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Wait before reconciling again an ApplicationSet whose reconcile failed.
const ERROR_BACKOFF: Duration = Duration::from_secs(5);

pub async fn run(
    sets: Arc<AppSets>,
    mut requests: mpsc::UnboundedReceiver<String>,
) -> &'static str {
    let mut queue = Queue::default();
    loop {
        tokio::select! {
            request = requests.recv() => match request {
                Some(name) => queue.request(&sets, name),
                None => return "applicationset loop",
            },
            Some(done) = queue.running.join_next() => {
                if let Ok((name, outcome)) = done {
                    queue.done(&sets, name, outcome);
                }
            }
            Some(name) = queue.timers.join_next() => {
                if let Ok(name) = name {
                    queue.timer_fired(&sets, name);
                }
            }
        }
    }
}

#[derive(Default)]
struct Queue {
    running: JoinSet<(String, Result<Option<Duration>, String>)>,
    active: HashSet<String>,
    again: HashSet<String>,
    timers: JoinSet<String>,
    due: HashMap<String, Instant>,
}

impl Queue {
    fn request(&mut self, sets: &Arc<AppSets>, name: String) {
        let config = &sets.ctx.config;
        if !config.shard.owns(&config.app_namespace, &name) {
            return;
        }
        if self.active.contains(&name) {
            self.again.insert(name);
            return;
        }
        self.active.insert(name.clone());
        let sets = sets.clone();
        self.running.spawn(async move {
            let outcome = reconcile(&sets, &name).await.map_err(|e| e.to_string());
            (name, outcome)
        });
    }

    fn request_at(&mut self, name: String, at: Instant) {
        if self.due.get(&name).is_some_and(|d| *d <= at) {
            return;
        }
        self.due.insert(name.clone(), at);
        self.timers.spawn(async move {
            tokio::time::sleep_until(at).await;
            name
        });
    }

    fn timer_fired(&mut self, sets: &Arc<AppSets>, name: String) {
        if self.due.get(&name).is_some_and(|d| *d <= Instant::now()) {
            self.due.remove(&name);
            self.request(sets, name);
        }
    }

    fn done(
        &mut self,
        sets: &Arc<AppSets>,
        name: String,
        outcome: Result<Option<Duration>, String>,
    ) {
        self.active.remove(&name);
        match outcome {
            Ok(Some(delay)) => self.request_at(name.clone(), Instant::now() + delay),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(applicationset = %name, %error, "applicationset reconcile failed; trying again");
                self.request_at(name.clone(), Instant::now() + ERROR_BACKOFF);
            }
        }
        if self.again.remove(&name) {
            self.request(sets, name);
        }
    }
}
