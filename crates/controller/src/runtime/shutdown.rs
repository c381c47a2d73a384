//! Stopping the controller cleanly (SIGTERM): no new work is taken, running syncs stop at
//! their next safe point with their progress saved, and the leases are given back, so that
//! another replica takes over at once and resumes what this one left.

use std::time::Duration;
use tokio::sync::watch;

/// Asks a running controller to stop; cheap to clone, every clone asks the same controller.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Sender<bool>);

impl Default for Shutdown {
    fn default() -> Self {
        Self(watch::Sender::new(false))
    }
}

impl Shutdown {
    /// Asks the controller to stop (see [`crate::Controller::run`]).
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Whether a stop was asked.
    pub fn is_asked(&self) -> bool {
        *self.0.borrow()
    }

    /// A receiver that turns true when a stop is asked, for code that checks it between steps.
    pub fn asked(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }

    /// Waits until a stop is asked.
    pub async fn wait(&self) {
        let mut asked = self.asked();
        let _ = asked.wait_for(|asked| *asked).await;
    }

    /// Sleeps `period`; false when a stop was asked before it ended.
    pub async fn pause(&self, period: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(period) => !self.is_asked(),
            () = self.wait() => false,
        }
    }
}

/// Sleeps `period`; false when `stop` turned true before it ended.
pub async fn pause_unless(mut stop: watch::Receiver<bool>, period: Duration) -> bool {
    let slept = tokio::select! {
        () = tokio::time::sleep(period) => true,
        _ = stop.wait_for(|asked| *asked) => false,
    };
    slept && !*stop.borrow()
}

/// How the time allowed for stopping is shared: most for the syncs to reach a safe point, the
/// rest (at least a second, at most five) for giving the leases back.
pub fn split_grace(grace: Duration) -> (Duration, Duration) {
    let release = (grace / 5).clamp(Duration::from_secs(1), Duration::from_secs(5));
    let release = release.min(grace);
    (grace - release, release)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_of_the_grace_goes_to_the_syncs_and_some_to_the_leases() {
        let s = Duration::from_secs;
        assert_eq!(split_grace(s(20)), (s(16), s(4)));
        assert_eq!(split_grace(s(60)), (s(55), s(5)));
        assert_eq!(split_grace(s(2)), (s(1), s(1)));
        assert_eq!(split_grace(Duration::from_millis(500)).0, Duration::ZERO);
    }

    #[tokio::test]
    async fn a_pause_ends_early_when_a_stop_is_asked() {
        let shutdown = Shutdown::default();
        assert!(shutdown.pause(Duration::from_millis(10)).await);
        let asker = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            asker.stop();
        });
        let started = std::time::Instant::now();
        assert!(!shutdown.pause(Duration::from_secs(30)).await);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(shutdown.is_asked());
        shutdown.wait().await;
    }
}
