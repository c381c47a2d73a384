//! The reconcile loop's bookkeeping, shared by Applications and ApplicationSets: one run per
//! name at a time; requests that arrive meanwhile fold into one more run after it; a run may
//! ask to be run again after a delay; a failed run is tried again after a jittered backoff that
//! grows while the name keeps failing. Every name
//! may run at once: a sync waiting for child apps must never keep the children from running.

use futures::future::BoxFuture;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What a run ends with: when to run again (zero: at once), or why it failed.
pub type Outcome = Result<Option<Duration>, String>;

/// Starts the run of one name.
pub type Job = Arc<dyn Fn(String) -> BoxFuture<'static, Outcome> + Send + Sync>;

pub struct WorkQueue {
    /// What the names are, for logs ("application", "applicationset").
    what: &'static str,
    error_backoff: Duration,
    job: Job,
    running: JoinSet<(String, Outcome)>,
    active: HashSet<String>,
    again: HashSet<String>,
    timers: JoinSet<String>,
    due: HashMap<String, Instant>,
    /// The backoff of each name whose last runs failed; gone on its next success.
    failing: HashMap<String, backon::ExponentialBackoff>,
}

impl WorkQueue {
    pub fn new(what: &'static str, error_backoff: Duration, job: Job) -> Self {
        Self {
            what,
            error_backoff,
            job,
            running: JoinSet::new(),
            active: HashSet::new(),
            again: HashSet::new(),
            timers: JoinSet::new(),
            due: HashMap::new(),
            failing: HashMap::new(),
        }
    }

    /// Runs `name` now, or once more after its current run.
    pub fn request(&mut self, name: String) {
        if self.active.contains(&name) {
            self.again.insert(name);
            return;
        }
        self.active.insert(name.clone());
        let run = (self.job)(name.clone());
        self.running.spawn(async move { (name, run.await) });
    }

    /// Runs `name` at `at`, unless a run is already due by then.
    pub fn request_at(&mut self, name: String, at: Instant) {
        if self.due.get(&name).is_some_and(|d| *d <= at) {
            return;
        }
        self.due.insert(name.clone(), at);
        self.timers.spawn(async move {
            tokio::time::sleep_until(at).await;
            name
        });
    }

    /// Waits for a run to end or a timer to fire, and deals with it. Never ends while idle.
    pub async fn step(&mut self) {
        tokio::select! {
            Some(done) = self.running.join_next() => {
                if let Ok((name, outcome)) = done {
                    self.done(name, outcome);
                }
            }
            Some(fired) = self.timers.join_next() => {
                if let Ok(name) = fired {
                    self.timer_fired(name);
                }
            }
            else => std::future::pending().await,
        }
    }

    /// Starts nothing more and waits for the runs under way to end (a stopping controller).
    pub async fn drain(&mut self) {
        self.timers.abort_all();
        self.due.clear();
        self.again.clear();
        while self.running.join_next().await.is_some() {}
        self.active.clear();
    }

    /// Stops the runs under way wherever they are (a stop that ran out of time).
    pub async fn abort(&mut self) {
        self.running.shutdown().await;
        self.active.clear();
    }

    fn timer_fired(&mut self, name: String) {
        if self.due.get(&name).is_some_and(|d| *d <= Instant::now()) {
            self.due.remove(&name);
            self.request(name);
        }
    }

    fn done(&mut self, name: String, outcome: Outcome) {
        self.active.remove(&name);
        if outcome.is_ok() {
            self.failing.remove(&name);
        }
        match outcome {
            Ok(Some(delay)) if delay.is_zero() => {
                self.again.insert(name.clone());
            }
            Ok(Some(delay)) => self.request_at(name.clone(), Instant::now() + delay),
            Ok(None) => {}
            Err(error) => {
                let base = self.error_backoff;
                let delay = self
                    .failing
                    .entry(name.clone())
                    .or_insert_with(|| crate::runtime::backoff::reconcile_backoff(base))
                    .next()
                    .unwrap_or(base);
                tracing::warn!(kind = self.what, name = %name, %error, retry_in = ?delay, "reconcile failed; trying again");
                self.request_at(name.clone(), Instant::now() + delay);
            }
        }
        if self.again.remove(&name) {
            self.request(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A queue whose job records each start and ends with the outcomes given, in turn.
    fn recording(outcomes: Vec<Outcome>) -> (WorkQueue, Arc<Mutex<Vec<String>>>) {
        let started = Arc::new(Mutex::new(Vec::new()));
        let outcomes = Arc::new(Mutex::new(outcomes.into_iter()));
        let seen = started.clone();
        let job: Job = Arc::new(move |name: String| {
            seen.lock().unwrap().push(name);
            let outcome = outcomes.lock().unwrap().next().unwrap_or(Ok(None));
            Box::pin(async move { outcome })
        });
        (
            WorkQueue::new("test", Duration::from_millis(20), job),
            started,
        )
    }

    /// Like `recording`, with the instant of each start.
    fn timed(outcomes: Vec<Outcome>) -> (WorkQueue, Arc<Mutex<Vec<Instant>>>) {
        let started = Arc::new(Mutex::new(Vec::new()));
        let outcomes = Arc::new(Mutex::new(outcomes.into_iter()));
        let seen = started.clone();
        let job: Job = Arc::new(move |_| {
            seen.lock().unwrap().push(Instant::now());
            let outcome = outcomes.lock().unwrap().next().unwrap_or(Ok(None));
            Box::pin(async move { outcome })
        });
        (
            WorkQueue::new("test", Duration::from_millis(20), job),
            started,
        )
    }

    async fn settle(queue: &mut WorkQueue) {
        while tokio::time::timeout(Duration::from_millis(200), queue.step())
            .await
            .is_ok()
        {}
    }

    #[tokio::test]
    async fn requests_during_a_run_fold_into_one_more_run() {
        let (mut queue, started) = recording(Vec::new());
        queue.request("a".into());
        queue.request("a".into());
        queue.request("a".into());
        settle(&mut queue).await;
        assert_eq!(*started.lock().unwrap(), ["a", "a"]);
    }

    #[tokio::test]
    async fn draining_waits_for_the_runs_and_starts_no_more() {
        let (mut queue, started) = recording(vec![Ok(Some(Duration::ZERO))]);
        queue.request("a".into());
        queue.request("a".into());
        queue.request_at("b".into(), Instant::now() + Duration::from_millis(10));
        queue.drain().await;
        settle(&mut queue).await;
        assert_eq!(*started.lock().unwrap(), ["a"]);
    }

    #[tokio::test]
    async fn failures_and_asked_delays_run_again_later() {
        let (mut queue, started) = recording(vec![
            Err("api server away".into()),
            Ok(Some(Duration::from_millis(10))),
            Ok(Some(Duration::ZERO)),
            Ok(None),
        ]);
        queue.request("a".into());
        settle(&mut queue).await;
        assert_eq!(*started.lock().unwrap(), ["a", "a", "a", "a"]);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_in_a_row_wait_longer_each_time_and_a_success_starts_over() {
        let failure = || Err::<Option<Duration>, String>("api server away".into());
        let (mut queue, started) = timed(vec![failure(), failure(), failure(), Ok(None)]);
        queue.request("a".into());
        settle(&mut queue).await;
        let starts = started.lock().unwrap().clone();
        assert_eq!(starts.len(), 4);
        let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        for (failures, gap) in gaps.iter().enumerate() {
            let floor = Duration::from_millis(20) * 2u32.pow(failures as u32);
            assert!(
                *gap >= floor && *gap <= floor * 2,
                "after {} failures: {gap:?}",
                failures + 1
            );
        }
        assert!(
            !queue.failing.contains_key("a"),
            "the success forgot the failures"
        );
    }
}
