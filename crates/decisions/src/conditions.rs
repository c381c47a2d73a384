//! `status.conditions` (pure): the condition types the controller reports, and how a fresh set
//! replaces the old one while keeping the transition time of a condition that did not change.

use crate::time::time_of;
use driftless_model::status::ApplicationCondition;

pub const COMPARISON_ERROR: &str = "ComparisonError";
pub const SYNC_ERROR: &str = "SyncError";
pub const INVALID_SPEC_ERROR: &str = "InvalidSpecError";
pub const SHARED_RESOURCE_WARNING: &str = "SharedResourceWarning";
pub const ORPHANED_RESOURCE_WARNING: &str = "OrphanedResourceWarning";
pub const DELETION_ERROR: &str = "DeletionError";
/// driftless' own: the app waits for the apps named in `driftless.dev/depends-on`.
pub const DEPENDENCY_WARNING: &str = "DependencyWarning";
/// driftless' own: objects left out of automated sync because they kept being changed back.
pub const SYNC_LOOP: &str = "SyncLoop";
/// driftless' own: guard findings (project mode `warn`, or warnings in `enforce`).
pub const GUARD_WARNING: &str = "GuardWarning";
/// driftless' own: a sync window keeps an automated sync from starting.
pub const SYNC_WINDOW_BLOCKED: &str = "SyncWindowBlocked";
/// driftless' own: a field that differs between two renders of one revision.
pub const VOLATILE_FIELD: &str = "VolatileField";
/// driftless' own: guard errors in a project with mode `enforce`; the app is not synced.
pub const GUARD_ERROR: &str = "GuardError";

/// A condition to report: type and message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub kind: &'static str,
    pub message: String,
}

impl Found {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// The new `status.conditions`: exactly `found` (sorted, deduplicated), each keeping the
/// `lastTransitionTime` it had when the same type and message were reported before.
pub fn merge(
    old: &[ApplicationCondition],
    mut found: Vec<Found>,
    now: i64,
) -> Vec<ApplicationCondition> {
    found.sort();
    found.dedup();
    found
        .into_iter()
        .map(|f| {
            let previous = old
                .iter()
                .find(|c| c.condition_type == f.kind && c.message == f.message);
            ApplicationCondition {
                condition_type: f.kind.to_string(),
                message: f.message,
                last_transition_time: previous
                    .and_then(|p| p.last_transition_time.clone())
                    .or_else(|| Some(time_of(now))),
                ..ApplicationCondition::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn unchanged_conditions_keep_their_transition_time() {
        let first = merge(&[], vec![Found::new(COMPARISON_ERROR, "repo down")], 100);
        let again = merge(&first, vec![Found::new(COMPARISON_ERROR, "repo down")], 200);
        assert_eq!(first, again);
        let changed = merge(
            &first,
            vec![Found::new(COMPARISON_ERROR, "render failed")],
            300,
        );
        assert_eq!(changed[0].last_transition_time, Some(time_of(300)));
    }

    #[test]
    fn conditions_not_found_again_are_dropped() {
        let first = merge(
            &[],
            vec![
                Found::new(SYNC_ERROR, "x"),
                Found::new(SHARED_RESOURCE_WARNING, "y"),
            ],
            1,
        );
        let next = merge(&first, vec![Found::new(SHARED_RESOURCE_WARNING, "y")], 2);
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].condition_type, SHARED_RESOURCE_WARNING);
        assert!(merge(&next, vec![], 3).is_empty());
    }
}
