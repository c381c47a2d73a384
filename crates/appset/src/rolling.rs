//! Progressive syncs (`strategy.type: RollingSync`), pure, as Argo CD's ApplicationSet
//! controller runs them: values in (the generated and live Applications, the strategy, the
//! previous `status.applicationStatus`, the time), values out (the next `applicationStatus`,
//! the `RolloutProgressing` condition, and the Applications to start a sync on).
//!
//! - [`steps`]: which step each Application is in (`matchExpressions` on its labels), how
//!   many of a step may update at once (`maxUpdate`), and the `deletionOrder: Reverse` order.
//! - [`progress`]: one pass of the rollout (Waiting → Pending → Progressing → Healthy).
//! - [`sync`]: automated sync turned off on the generated Applications, and the `operation`
//!   that starts a sync instead.

pub mod progress;
pub mod steps;
pub mod sync;

pub use progress::{Input, Outcome, SyncRequest, progress};
pub use steps::deletion_order;
pub use sync::without_automated_sync;

use driftless_model::ApplicationSetSpec;
use driftless_model::appset::RollingSyncStep;

/// The `ApplicationSetStatus.conditions` type a rollout reports.
pub const ROLLOUT_PROGRESSING: &str = "RolloutProgressing";

/// How `spec.strategy` says the generated Applications are synced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rollout<'a> {
    /// `AllAtOnce` (or no strategy, or `RollingSync` without a `rollingSync` block): each
    /// Application syncs by its own policy; no `applicationStatus` is kept.
    AllAtOnce,
    /// `RollingSync` with no steps: as `AllAtOnce`, but the `RolloutProgressing` condition is
    /// reported (always complete), as Argo CD does.
    NoSteps,
    /// `RollingSync` with steps: the ApplicationSet starts every sync itself.
    Steps(&'a [RollingSyncStep]),
}

impl<'a> Rollout<'a> {
    pub fn of(spec: &'a ApplicationSetSpec) -> Rollout<'a> {
        let Some(strategy) = spec.strategy.as_ref() else {
            return Rollout::AllAtOnce;
        };
        // The type is compared exactly, as Argo CD does (`rollingsync` is AllAtOnce).
        if strategy.strategy_type.as_deref() != Some("RollingSync") {
            return Rollout::AllAtOnce;
        }
        match strategy.rolling_sync.as_ref() {
            None => Rollout::AllAtOnce,
            Some(rolling) => match rolling.steps.as_deref() {
                Some(steps) if !steps.is_empty() => Rollout::Steps(steps),
                _ => Rollout::NoSteps,
            },
        }
    }

    /// Whether the strategy is `RollingSync` at all (with or without steps).
    pub fn is_rolling(&self) -> bool {
        !matches!(self, Rollout::AllAtOnce)
    }

    pub fn steps(&self) -> &'a [RollingSyncStep] {
        match self {
            Rollout::Steps(steps) => steps,
            _ => &[],
        }
    }
}

/// `deletionOrder: Reverse` (any case) with a `RollingSync` that has steps: deleting the
/// ApplicationSet deletes its Applications last step first. Otherwise `deletionOrder` does
/// nothing, as in Argo CD.
pub fn reverse_deletion(spec: &ApplicationSetSpec) -> bool {
    let reverse = spec
        .strategy
        .as_ref()
        .and_then(|s| s.deletion_order.as_deref())
        .is_some_and(|order| order.eq_ignore_ascii_case("Reverse"));
    reverse && matches!(Rollout::of(spec), Rollout::Steps(_))
}

#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(strategy: serde_json::Value) -> ApplicationSetSpec {
        serde_json::from_value(
            json!({"generators": [], "template": {"metadata": {}, "spec": {
            "project": "default", "destination": {}}}, "strategy": strategy}),
        )
        .unwrap()
    }

    #[test]
    fn only_rolling_sync_with_steps_rolls_out() {
        assert_eq!(Rollout::of(&spec(json!(null))), Rollout::AllAtOnce);
        assert_eq!(
            Rollout::of(&spec(json!({"type": "AllAtOnce"}))),
            Rollout::AllAtOnce
        );
        assert_eq!(
            Rollout::of(&spec(json!({"type": "RollingSync"}))),
            Rollout::AllAtOnce
        );
        assert_eq!(
            Rollout::of(&spec(json!({"type": "RollingSync", "rollingSync": {}}))),
            Rollout::NoSteps
        );
        let steps = spec(json!({"type": "RollingSync", "rollingSync": {"steps": [{}]}}));
        assert!(matches!(Rollout::of(&steps), Rollout::Steps(s) if s.len() == 1));
    }

    #[test]
    fn reverse_deletion_needs_rolling_sync_steps() {
        let reverse = |strategy| reverse_deletion(&spec(strategy));
        assert!(reverse(
            json!({"type": "RollingSync", "deletionOrder": "reverse",
            "rollingSync": {"steps": [{}]}})
        ));
        assert!(!reverse(
            json!({"type": "RollingSync", "deletionOrder": "AllAtOnce",
            "rollingSync": {"steps": [{}]}})
        ));
        assert!(!reverse(
            json!({"type": "RollingSync", "deletionOrder": "Reverse", "rollingSync": {}})
        ));
        assert!(!reverse(
            json!({"type": "AllAtOnce", "deletionOrder": "Reverse"})
        ));
    }
}
