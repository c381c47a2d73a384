//! The ApplicationSet's status (pure): the next one from the conditions and generated
//! Applications, and the merge patch that writes it (none when nothing changed, so the
//! reconciler never writes the same status twice).

use driftless_model::appset::{ApplicationSetCondition, ApplicationSetStatus};
use driftless_model::status::ResourceStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Map, Value};

/// The status after a reconcile: `conditions` (with transition times kept from `previous`
/// where their status did not change) and `resources`; the rest of `previous` is kept.
pub fn next_status(
    previous: &ApplicationSetStatus,
    conditions: Vec<ApplicationSetCondition>,
    resources: Vec<ResourceStatus>,
    now: &Time,
) -> ApplicationSetStatus {
    let before = previous.conditions.clone().unwrap_or_default();
    let count = i64::try_from(resources.len()).unwrap_or(i64::MAX);
    ApplicationSetStatus {
        conditions: Some(driftless_appset::status::with_transition_times(
            &before, conditions, now,
        )),
        resources: (!resources.is_empty()).then_some(resources),
        resources_count: Some(count),
        ..previous.clone()
    }
}

/// The merge patch of `status` turning `previous` into `next`: each top-level field that
/// differs, with `null` for one that went away; None when they are equal.
pub fn status_patch(previous: &ApplicationSetStatus, next: &ApplicationSetStatus) -> Option<Value> {
    let old = serde_json::to_value(previous).ok()?;
    let new = serde_json::to_value(next).ok()?;
    let (empty_old, empty_new) = (Map::new(), Map::new());
    let old = old.as_object().unwrap_or(&empty_old);
    let new = new.as_object().unwrap_or(&empty_new);
    let mut patch = Map::new();
    for (key, value) in new {
        if old.get(key) != Some(value) {
            patch.insert(key.clone(), value.clone());
        }
    }
    for key in old.keys() {
        if !new.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_appset::status::{ERROR_OCCURRED, success_conditions};
    use driftless_decisions::time::time_of;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn resource(name: &str) -> ResourceStatus {
        ResourceStatus {
            name: Some(name.into()),
            kind: Some("Application".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_same_outcome_later_writes_nothing() {
        let first = next_status(
            &ApplicationSetStatus::default(),
            success_conditions(),
            vec![resource("a")],
            &time_of(100),
        );
        let again = next_status(
            &first,
            success_conditions(),
            vec![resource("a")],
            &time_of(200),
        );
        assert_eq!(status_patch(&first, &again), None);
    }

    #[test]
    fn a_new_error_changes_the_conditions_and_their_transition_times() {
        let ok = next_status(
            &ApplicationSetStatus::default(),
            success_conditions(),
            vec![resource("a")],
            &time_of(100),
        );
        let error = driftless_appset::AppSetError::DuplicateName {
            appset: "set".into(),
            name: "a".into(),
        };
        let failed = next_status(
            &ok,
            driftless_appset::status::error_conditions(&error),
            vec![resource("a")],
            &time_of(200),
        );
        let patch = status_patch(&ok, &failed).unwrap();
        assert_eq!(
            patch.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["conditions"]
        );
        let occurred = failed
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.condition_type == ERROR_OCCURRED)
            .unwrap();
        assert_eq!(occurred.status, "True");
        assert!(
            occurred.message.contains("duplicate name: a"),
            "{}",
            occurred.message
        );
        assert_eq!(occurred.last_transition_time, Some(time_of(200)));
    }

    #[test]
    fn resources_that_went_away_are_removed_with_null() {
        let two = next_status(
            &ApplicationSetStatus::default(),
            success_conditions(),
            vec![resource("a")],
            &time_of(1),
        );
        let none = next_status(&two, success_conditions(), vec![], &time_of(2));
        assert_eq!(
            status_patch(&two, &none),
            Some(json!({"resources": null, "resourcesCount": 0}))
        );
    }
}
