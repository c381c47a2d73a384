//! The next `Application.status` (pure): made from a comparison, or, when nothing could be
//! compared (bad spec, unreachable repo, failed render), the last good status with the
//! conditions saying why. Also the merge patch from one status to the next, and what counts
//! as a change: timestamps alone never do, so re-reading our own write never writes again.

use crate::compare::Comparison;
use crate::conditions::{self, Found};
use crate::time::time_of;
use driftless_model::status::{ApplicationSummary, ComparedTo, HealthStatus, SyncStatus};
use driftless_model::{Application, ApplicationStatus, OperationPhase};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// What the reconcile learned about the app's objects.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    Compared {
        comparison: &'a Comparison,
        revisions: &'a [String],
    },
    /// Nothing could be compared: keep the last good sync, health and resources.
    NotCompared,
}

/// The status to write after a reconcile. `found` are the conditions seen this time
/// (errors and warnings); a SyncError for a failed last operation is added here.
pub fn next_status(
    app: &Application,
    outcome: Outcome<'_>,
    mut found: Vec<Found>,
    now: i64,
) -> ApplicationStatus {
    let old = app.status.clone().unwrap_or_default();
    let mut status = old.clone();
    if let Outcome::Compared {
        comparison,
        revisions,
    } = outcome
    {
        let multi = app.spec.has_multiple_sources();
        status.sync = Some(SyncStatus {
            status: comparison.sync.clone(),
            compared_to: Some(ComparedTo {
                source: (!multi).then(|| app.spec.source.clone()).flatten(),
                sources: multi.then(|| app.spec.sources.clone()).flatten(),
                destination: app.spec.destination.clone(),
                ignore_differences: app.spec.ignore_differences.clone(),
                ..ComparedTo::default()
            }),
            revision: if multi {
                None
            } else {
                revisions.first().cloned()
            },
            revisions: multi.then(|| revisions.to_vec()),
            ..SyncStatus::default()
        });
        let same_health =
            old.health.as_ref().and_then(|h| h.status.as_ref()) == Some(&comparison.health);
        status.health = Some(HealthStatus {
            status: Some(comparison.health.clone()),
            message: None,
            last_transition_time: if same_health {
                old.health
                    .as_ref()
                    .and_then(|h| h.last_transition_time.clone())
            } else {
                Some(time_of(now))
            },
            ..HealthStatus::default()
        });
        status.resources = Some(comparison.resources.clone()).filter(|r| !r.is_empty());
        let mut summary = old.summary.clone().unwrap_or_default();
        summary.images = Some(comparison.images.clone()).filter(|i| !i.is_empty());
        status.summary = Some(summary).filter(|s| *s != ApplicationSummary::default());
    }
    if let Some(op) = &old.operation_state
        && matches!(op.phase, OperationPhase::Failed | OperationPhase::Error)
    {
        let revision = op
            .sync_result
            .as_ref()
            .map(|r| r.revision.clone())
            .unwrap_or_default();
        let message = op.message.clone().unwrap_or_default();
        found.push(Found::new(
            conditions::SYNC_ERROR,
            format!("Failed sync attempt to {revision}: {message}"),
        ));
    }
    let merged = conditions::merge(old.conditions.as_deref().unwrap_or_default(), found, now);
    status.conditions = Some(merged).filter(|c| !c.is_empty());
    status
}

/// The status as compared for "did it change": timestamps of the reconcile left out.
pub fn comparable(status: &ApplicationStatus) -> Value {
    let mut value = serde_json::to_value(status).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("reconciledAt");
        map.remove("observedAt");
    }
    value
}

/// A fingerprint of [`comparable`], kept per app to remember what was last written.
pub fn digest(status: &ApplicationStatus) -> [u8; 32] {
    let text = serde_json::to_string(&comparable(status)).unwrap_or_default();
    Sha256::digest(text.as_bytes()).into()
}

/// The JSON merge patch (RFC 7386) that turns `old` into `new`, or None when they are equal.
/// Keys gone from `new` become `null`; lists and scalars are replaced whole.
pub fn merge_patch(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = Map::new();
            for (key, value) in new {
                let child = match old.get(key) {
                    Some(previous) => merge_patch(previous, value),
                    None => Some(value.clone()),
                };
                if let Some(child) = child {
                    patch.insert(key.clone(), child);
                }
            }
            for key in old.keys().filter(|k| !new.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            Some(Value::Object(patch))
        }
        // A null in a merge patch means "delete"; a new null value can only be written that way too.
        _ => Some(new.clone()),
    }
}

/// A JSON merge patch that writes all of `new` and removes the keys of `old` (the target as
/// last read) that `new` lacks, at every depth: unlike [`merge_patch`], it turns the target
/// into `new` even when the target changed after `old` was read.
pub fn replacing_patch(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch: Map<String, Value> = new
                .iter()
                .map(|(key, value)| {
                    let child = match old.get(key) {
                        Some(previous) => replacing_patch(previous, value),
                        None => value.clone(),
                    };
                    (key.clone(), child)
                })
                .collect();
            for key in old.keys().filter(|k| !new.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::{COMPARISON_ERROR, SHARED_RESOURCE_WARNING};
    use driftless_model::{HealthStatusCode, SyncStatusCode};
    use pretty_assertions::assert_eq;
    use serde_json::json;
    use std::collections::BTreeSet;

    fn app(status: Value) -> Application {
        serde_json::from_value(json!({
            "metadata": {"name": "shop"},
            "spec": {"project": "default", "destination": {"namespace": "shop"},
                     "source": {"repoURL": "file:///r", "path": "shop"}},
            "status": status
        }))
        .unwrap()
    }

    fn comparison(sync: SyncStatusCode, health: HealthStatusCode) -> Comparison {
        Comparison {
            sync,
            health,
            resources: vec![],
            out_of_sync: BTreeSet::new(),
            changed_paths: Default::default(),
            images: vec!["nginx:1".into()],
        }
    }

    #[test]
    fn compared_status_names_revision_source_and_health() {
        let c = comparison(SyncStatusCode::OutOfSync, HealthStatusCode::Progressing);
        let revs = ["abc".to_string()];
        let s = next_status(
            &app(json!({})),
            Outcome::Compared {
                comparison: &c,
                revisions: &revs,
            },
            vec![],
            50,
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["sync"]["status"], "OutOfSync");
        assert_eq!(v["sync"]["revision"], "abc");
        assert_eq!(v["sync"]["comparedTo"]["source"]["path"], "shop");
        assert_eq!(v["health"]["status"], "Progressing");
        assert_eq!(v["health"]["lastTransitionTime"], "1970-01-01T00:00:50Z");
        assert_eq!(v["summary"]["images"], json!(["nginx:1"]));
    }

    #[test]
    fn a_second_identical_reconcile_changes_nothing() {
        let c = comparison(SyncStatusCode::Synced, HealthStatusCode::Healthy);
        let revs = ["abc".to_string()];
        let warn = || vec![Found::new(SHARED_RESOURCE_WARNING, "x")];
        let first = next_status(
            &app(json!({})),
            Outcome::Compared {
                comparison: &c,
                revisions: &revs,
            },
            warn(),
            10,
        );
        let stored = app(serde_json::to_value(&first).unwrap());
        let second = next_status(
            &stored,
            Outcome::Compared {
                comparison: &c,
                revisions: &revs,
            },
            warn(),
            99,
        );
        assert_eq!(comparable(&first), comparable(&second));
        assert_eq!(digest(&first), digest(&second));
    }

    #[test]
    fn failed_comparison_keeps_the_last_good_state_and_says_why() {
        let c = comparison(SyncStatusCode::Synced, HealthStatusCode::Healthy);
        let revs = ["abc".to_string()];
        let good = next_status(
            &app(json!({})),
            Outcome::Compared {
                comparison: &c,
                revisions: &revs,
            },
            vec![],
            10,
        );
        let stored = app(serde_json::to_value(&good).unwrap());
        let failed = next_status(
            &stored,
            Outcome::NotCompared,
            vec![Found::new(COMPARISON_ERROR, "repo down")],
            20,
        );
        assert_eq!(failed.sync, good.sync);
        assert_eq!(failed.health, good.health);
        let conditions = failed.conditions.unwrap();
        assert_eq!(conditions[0].condition_type, COMPARISON_ERROR);
        assert_eq!(conditions[0].message, "repo down");
    }

    #[test]
    fn a_failed_operation_is_a_sync_error() {
        let stored = app(
            json!({"operationState": {"operation": {"sync": {}}, "phase": "Failed",
            "message": "one or more objects failed to apply", "startedAt": "2024-01-01T00:00:00Z",
            "syncResult": {"revision": "abc"}}}),
        );
        let s = next_status(&stored, Outcome::NotCompared, vec![], 1);
        let conditions = s.conditions.unwrap();
        assert_eq!(conditions[0].condition_type, "SyncError");
        assert_eq!(
            conditions[0].message,
            "Failed sync attempt to abc: one or more objects failed to apply"
        );
    }

    #[test]
    fn merge_patch_nulls_removed_keys_and_replaces_lists() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        let new = json!({"a": 1, "b": {"c": 5}, "l": [1], "e": true});
        assert_eq!(
            merge_patch(&old, &new),
            Some(json!({"b": {"c": 5, "d": null}, "l": [1], "e": true}))
        );
        assert_eq!(merge_patch(&old, &old), None);
    }
}
