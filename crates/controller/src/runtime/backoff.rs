//! Backoffs with jitter, so that replicas and apps that failed together do not all come back
//! at the same instant and knock on the API server in step.
//!
//! Watches double from a quarter second and stay within five seconds, so that after an API
//! server outage the caches catch up within moments of its return (kube's default grows to
//! thirty seconds, and a cache that far behind makes the controller compare against objects
//! that have long changed). A failed reconcile waits from its queue's base delay up to eight
//! times that, doubling per failure in a row.

use backon::{BackoffBuilder, ExponentialBuilder};
use kube::runtime::watcher::ExponentialBackoff;
use std::time::Duration;

/// Jitter adds up to one more delay on top of each, so the cap is half the longest wait.
const WATCH_FIRST: Duration = Duration::from_millis(250);
const WATCH_MAX: Duration = Duration::from_millis(2500);
const RECONCILE_GROWTH: u32 = 8;

/// The backoff of every watch the controller keeps (kube-runtime resets it on success).
pub fn watch_backoff() -> ExponentialBackoff {
    jittered(WATCH_FIRST, WATCH_MAX).into()
}

/// The waits after one name's failures in a row, starting at `base`.
pub fn reconcile_backoff(base: Duration) -> backon::ExponentialBackoff {
    jittered(base, base * RECONCILE_GROWTH).build()
}

fn jittered(first: Duration, max: Duration) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(first)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::utils::Backoff;

    #[test]
    fn watch_delays_double_with_jitter_stay_within_five_seconds_and_start_over_on_reset() {
        let mut backoff = watch_backoff();
        let delays: Vec<Duration> = backoff.by_ref().take(8).collect();
        for (attempt, delay) in delays.iter().enumerate() {
            let floor = (WATCH_FIRST * 2u32.pow(attempt as u32)).min(WATCH_MAX);
            assert!(
                *delay >= floor && *delay <= floor * 2,
                "attempt {attempt}: {delay:?}"
            );
        }
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(5)));
        backoff.reset();
        assert!(backoff.next().unwrap() <= WATCH_FIRST * 2);
    }

    #[test]
    fn reconcile_delays_differ_between_names_that_failed_together() {
        let firsts: Vec<Duration> = (0..32)
            .map(|_| reconcile_backoff(Duration::from_secs(5)).next().unwrap())
            .collect();
        assert!(
            firsts
                .iter()
                .all(|d| *d >= Duration::from_secs(5) && *d <= Duration::from_secs(10))
        );
        assert!(
            firsts.iter().any(|d| *d != firsts[0]),
            "jitter spreads them: {firsts:?}"
        );
        let mut one = reconcile_backoff(Duration::from_secs(5));
        let longest = one.by_ref().take(10).max().unwrap();
        assert!(longest <= Duration::from_secs(80));
    }
}
