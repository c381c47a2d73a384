//! The reconcile loop's bookkeeping, shared by Applications and ApplicationSets, on
//! kube-runtime's scheduler: a name asked for many times before it is due runs once, at the
//! earliest time asked; a name due while it runs is held and runs once more after that run; a
//! run may ask to be run again after a delay; a failed run is tried again after a jittered
//! backoff that grows while the name keeps failing. There is no cap on how many names run at
//! once: a sync waiting for child apps must never keep the children from running (the CPU-bound
//! part, the comparison, takes turns on its own slots).

use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use kube::runtime::scheduler::{ScheduleRequest, Scheduler, scheduler};
use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Why a run failed (logged; the name is tried again after a backoff).
pub type RunError = Box<dyn std::error::Error + Send + Sync>;

/// What a run ends with: when to run again (zero: at once), or why it failed.
pub type Outcome = Result<Option<Duration>, RunError>;

/// Starts the run of one name.
pub type Job = Arc<dyn Fn(String) -> BoxFuture<'static, Outcome> + Send + Sync>;

type Due = Pin<Box<Scheduler<String, mpsc::UnboundedReceiver<ScheduleRequest<String>>>>>;

pub struct WorkQueue {
    /// What the names are, for logs ("application", "applicationset").
    what: &'static str,
    error_backoff: Duration,
    job: Job,
    running: JoinSet<(String, Outcome)>,
    /// The names whose run is under way: the scheduler holds them when they fall due.
    active: HashSet<String>,
    requests: mpsc::UnboundedSender<ScheduleRequest<String>>,
    due: Due,
    /// The backoff of each name whose last runs failed; gone on its next success.
    failing: HashMap<String, backon::ExponentialBackoff>,
}

/// What one step saw.
enum Step {
    Ended(String, Outcome),
    Due(String),
    Aborted,
}

fn schedule() -> (mpsc::UnboundedSender<ScheduleRequest<String>>, Due) {
    let (requests, received) = mpsc::unbounded();
    (requests, Box::pin(scheduler(received)))
}

impl WorkQueue {
    pub fn new(what: &'static str, error_backoff: Duration, job: Job) -> Self {
        let (requests, due) = schedule();
        Self {
            what,
            error_backoff,
            job,
            running: JoinSet::new(),
            active: HashSet::new(),
            requests,
            due,
            failing: HashMap::new(),
        }
    }

    /// Runs `name` now, or once more after its current run.
    pub fn request(&mut self, name: String) {
        self.request_at(name, Instant::now());
    }

    /// Runs `name` at `at`, unless a run is already due by then.
    pub fn request_at(&mut self, name: String, at: Instant) {
        // The receiver lives as long as the queue: the send cannot fail.
        let _ = self.requests.unbounded_send(ScheduleRequest {
            message: name,
            run_at: at,
        });
    }

    /// Waits for a run to end or a name to fall due, and deals with it. Never ends while idle.
    pub async fn step(&mut self) {
        let step = {
            let active = &self.active;
            let mut due = self
                .due
                .as_mut()
                .hold_unless(|name: &String| !active.contains(name));
            tokio::select! {
                Some(ended) = self.running.join_next() => match ended {
                    Ok((name, outcome)) => Step::Ended(name, outcome),
                    // Only an aborted run ends so, and aborting clears every name.
                    Err(_) => Step::Aborted,
                },
                Some(name) = due.next() => Step::Due(name),
            }
        };
        match step {
            Step::Ended(name, outcome) => self.done(name, outcome),
            Step::Due(name) => self.start(name),
            Step::Aborted => {}
        }
    }

    /// Starts nothing more and waits for the runs under way to end (a stopping controller).
    pub async fn drain(&mut self) {
        (self.requests, self.due) = schedule();
        while self.running.join_next().await.is_some() {}
        self.active.clear();
    }

    /// Stops the runs under way wherever they are (a stop that ran out of time).
    pub async fn abort(&mut self) {
        self.running.shutdown().await;
        self.active.clear();
    }

    fn start(&mut self, name: String) {
        self.active.insert(name.clone());
        let run = std::panic::AssertUnwindSafe((self.job)(name.clone()));
        self.running.spawn(async move {
            // A run that panics counts as failed: its name must not stay active for ever.
            let outcome = run
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err("the reconcile panicked".into()));
            (name, outcome)
        });
    }

    fn done(&mut self, name: String, outcome: Outcome) {
        self.active.remove(&name);
        match outcome {
            Ok(again) => {
                self.failing.remove(&name);
                if let Some(delay) = again {
                    self.request_at(name, Instant::now() + delay);
                }
            }
            Err(error) => {
                let base = self.error_backoff;
                let delay = self
                    .failing
                    .entry(name.clone())
                    .or_insert_with(|| crate::runtime::backoff::reconcile_backoff(base))
                    .next()
                    .unwrap_or(base);
                tracing::warn!(kind = self.what, name = %name, %error, retry_in = ?delay, "reconcile failed; trying again");
                self.request_at(name, Instant::now() + delay);
            }
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
        queue.step().await;
        assert_eq!(
            *started.lock().unwrap(),
            ["a"],
            "two requests before it ran: one run"
        );
        // Its run is under way until the queue hears it ended.
        queue.request("a".into());
        queue.request("a".into());
        queue.request("b".into());
        settle(&mut queue).await;
        let mut started = started.lock().unwrap().clone();
        started.sort();
        assert_eq!(started, ["a", "a", "b"]);
    }

    #[tokio::test]
    async fn draining_waits_for_the_runs_and_starts_no_more() {
        let (mut queue, started) = recording(vec![Ok(Some(Duration::ZERO))]);
        queue.request("a".into());
        queue.step().await;
        assert_eq!(*started.lock().unwrap(), ["a"], "a runs");
        queue.request("a".into());
        queue.request_at("b".into(), Instant::now() + Duration::from_millis(10));
        queue.drain().await;
        settle(&mut queue).await;
        assert_eq!(
            *started.lock().unwrap(),
            ["a"],
            "neither its own request to run again, nor the one asked meanwhile, nor b ran"
        );
    }

    #[tokio::test]
    async fn a_name_asked_for_later_and_sooner_runs_once_at_the_sooner_time() {
        let (mut queue, started) = timed(Vec::new());
        let asked = Instant::now();
        queue.request_at("a".into(), asked + Duration::from_millis(300));
        queue.request_at("a".into(), asked + Duration::from_millis(50));
        queue.request_at("a".into(), asked + Duration::from_millis(100));
        settle(&mut queue).await;
        let starts = started.lock().unwrap().clone();
        assert_eq!(starts.len(), 1, "{starts:?}");
        let waited = starts[0] - asked;
        assert!(
            waited >= Duration::from_millis(50) && waited < Duration::from_millis(300),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn a_run_that_panics_is_tried_again() {
        let runs = Arc::new(Mutex::new(0));
        let counted = runs.clone();
        let job: Job = Arc::new(move |_| {
            let mut runs = counted.lock().unwrap();
            *runs += 1;
            let first = *runs == 1;
            Box::pin(async move {
                assert!(!first, "the first run panics");
                Ok(None)
            })
        });
        let mut queue = WorkQueue::new("test", Duration::from_millis(20), job);
        queue.request("a".into());
        settle(&mut queue).await;
        assert_eq!(*runs.lock().unwrap(), 2);
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
        let failure = || Err::<Option<Duration>, RunError>("api server away".into());
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
