//! Steps, as Argo CD reads them: an Application is in the first step all of whose
//! `matchExpressions` accept its labels, and in no step if none does (then the rollout never
//! syncs it). Only the `In` and `NotIn` operators exist; an expression whose key the
//! Application lacks passes unless it is `In`, and one with another operator (`Exists`,
//! `DoesNotExist`, …) fails on an Application that has the key.

use driftless_model::appset::{ApplicationMatchExpression, RollingSyncStep};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;
use std::collections::BTreeMap;

/// The index (0-based) of the step `app` is in: the first that selects it.
pub fn step_of(steps: &[RollingSyncStep], app: &Value) -> Option<usize> {
    selecting(steps, app).next()
}

/// Every step whose expressions all accept `app`'s labels.
fn selecting<'a>(steps: &'a [RollingSyncStep], app: &'a Value) -> impl Iterator<Item = usize> + 'a {
    let labels = &app["metadata"]["labels"];
    steps.iter().enumerate().filter_map(move |(index, step)| {
        step.match_expressions
            .iter()
            .flatten()
            .all(|expression| accepts(expression, labels))
            .then_some(index)
    })
}

fn accepts(expression: &ApplicationMatchExpression, labels: &Value) -> bool {
    let key = expression.key.as_deref().unwrap_or_default();
    let operator = expression.operator.as_deref().unwrap_or_default();
    let Some(value) = labels.get(key).and_then(Value::as_str) else {
        return operator != "In";
    };
    let listed = expression.values.iter().flatten().any(|v| v == value);
    match operator {
        "In" => listed,
        "NotIn" => !listed,
        _ => false,
    }
}

/// Each app's step (by name) and, per step, its apps in the order given. An app two steps
/// select is in the first, but (as in Argo CD) a member of both: the later one is not done
/// until it is Healthy too.
pub fn group(steps: &[RollingSyncStep], apps: &[Value]) -> Steps {
    let mut grouped = Steps {
        of: BTreeMap::new(),
        members: vec![Vec::new(); steps.len()],
    };
    for app in apps {
        let name = name_of(app);
        for step in selecting(steps, app) {
            grouped.of.entry(name.to_string()).or_insert(step);
            grouped.members[step].push(name.to_string());
        }
    }
    grouped
}

/// Applications by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Steps {
    /// App name → step index; apps in no step are absent.
    pub of: BTreeMap<String, usize>,
    /// Per step, the names of its apps.
    pub members: Vec<Vec<String>>,
}

impl Steps {
    /// The step as `applicationStatus.step` shows it: 1-based, `-1` for no step.
    pub fn label(&self, app: &str) -> String {
        match self.of.get(app) {
            Some(step) => (step + 1).to_string(),
            None => "-1".into(),
        }
    }

    /// The step whose `maxUpdate` counts `app`. As in Argo CD an app in no step counts in
    /// the first step (its index defaults to 0).
    pub fn counted_in(&self, app: &str) -> usize {
        self.of.get(app).copied().unwrap_or(0)
    }
}

/// How many of a step's `total` Applications may be Pending or Progressing at once; None is
/// no limit (`maxUpdate` unset, Argo CD's 100%). A percentage rounds down but, unless it is
/// `0%`, lets at least one through; a string that is not a percentage counts as 1 (Argo CD
/// reads it as 0 and then applies that floor).
pub fn max_update(max_update: Option<&IntOrString>, total: usize) -> Option<i64> {
    let total = i64::try_from(total).unwrap_or(i64::MAX);
    match max_update? {
        IntOrString::Int(n) => Some(i64::from(*n)),
        IntOrString::String(text) => {
            let scaled = text
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .map(|percent| percent.saturating_mul(total).div_euclid(100))
                .unwrap_or(0);
            Some(if text != "0%" && scaled < 1 {
                1
            } else {
                scaled
            })
        }
    }
}

/// The order in which `deletionOrder: Reverse` deletes the ApplicationSet's `live` apps: last
/// step first, by name within a step. Apps in no step are left to garbage collection, as in
/// Argo CD.
pub fn deletion_order(steps: &[RollingSyncStep], live: &[Value]) -> Vec<String> {
    let mut ordered: Vec<(usize, &str)> = live
        .iter()
        .filter_map(|app| Some((steps.len() - step_of(steps, app)?, name_of(app))))
        .collect();
    ordered.sort();
    ordered
        .into_iter()
        .map(|(_, name)| name.to_string())
        .collect()
}

pub(crate) fn name_of(app: &Value) -> &str {
    app["metadata"]["name"].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn steps(value: Value) -> Vec<RollingSyncStep> {
        serde_json::from_value(value).unwrap()
    }

    fn app(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}})
    }

    #[test]
    fn in_and_not_in_select_and_a_missing_key_passes_unless_in() {
        let s = steps(json!([
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev", "qa"]}]},
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]},
                                  {"key": "tier", "operator": "NotIn", "values": ["db"]}]},
        ]));
        assert_eq!(step_of(&s, &app("a", json!({"env": "qa"}))), Some(0));
        assert_eq!(step_of(&s, &app("b", json!({"env": "prod"}))), Some(1));
        assert_eq!(
            step_of(&s, &app("c", json!({"env": "prod", "tier": "db"}))),
            None
        );
        // No `env` label: `In` fails, `NotIn` passes.
        assert_eq!(step_of(&s, &app("d", json!({}))), Some(1));
    }

    #[test]
    fn operators_other_than_in_and_not_in_fail_on_a_present_key() {
        let s = steps(json!([{"matchExpressions": [{"key": "env", "operator": "Exists"}]}]));
        assert_eq!(step_of(&s, &app("a", json!({"env": "dev"}))), None);
        assert_eq!(step_of(&s, &app("b", json!({}))), Some(0));
    }

    #[test]
    fn the_first_matching_step_wins_and_no_step_is_minus_one() {
        let s = steps(json!([{}, {}]));
        let grouped = group(&s, &[app("a", json!({}))]);
        assert_eq!(grouped.label("a"), "1");
        assert_eq!(
            grouped.members,
            vec![vec!["a".to_string()], vec!["a".to_string()]]
        );
        assert_eq!(grouped.label("zz"), "-1");
        assert_eq!(grouped.counted_in("zz"), 0);
    }

    #[test]
    fn max_update_scales_percentages_down_with_a_floor_of_one() {
        let int = |n| IntOrString::Int(n);
        let text = |s: &str| IntOrString::String(s.into());
        assert_eq!(max_update(None, 10), None);
        assert_eq!(max_update(Some(&int(0)), 10), Some(0));
        assert_eq!(max_update(Some(&int(3)), 10), Some(3));
        assert_eq!(max_update(Some(&text("25%")), 10), Some(2));
        assert_eq!(max_update(Some(&text("10%")), 3), Some(1));
        assert_eq!(max_update(Some(&text("0%")), 10), Some(0));
        assert_eq!(max_update(Some(&text("150%")), 4), Some(6));
        assert_eq!(max_update(Some(&text("3")), 10), Some(1));
    }

    #[test]
    fn reverse_deletion_goes_last_step_first_and_skips_apps_in_no_step() {
        let s = steps(json!([
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]},
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]},
        ]));
        let live = [
            app("dev-b", json!({"env": "dev"})),
            app("other", json!({"env": "qa"})),
            app("prod", json!({"env": "prod"})),
            app("dev-a", json!({"env": "dev"})),
        ];
        assert_eq!(deletion_order(&s, &live), vec!["prod", "dev-a", "dev-b"]);
    }
}
