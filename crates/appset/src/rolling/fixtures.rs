//! Every case under testdata/rolling/: a strategy, the generated and live Applications, the
//! previous `applicationStatus` and the time go in; the next `applicationStatus`, the
//! `RolloutProgressing` condition, the apps to sync (and, when given, their operations and
//! the reverse deletion order) must be exactly what the file expects.

use super::{Input, deletion_order, progress};
use crate::plan::Policy;
use driftless_model::ApplicationSetSpec;
use driftless_model::appset::ApplicationSetApplicationStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn cases() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/rolling");
    let mut cases: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let case = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, case)
        })
        .collect();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

fn list(case: &Value, key: &str) -> Vec<Value> {
    case[key].as_array().cloned().unwrap_or_default()
}

#[test]
fn every_rolling_fixture_decides_what_it_expects() {
    let cases = cases();
    assert!(cases.len() >= 10, "fixtures missing: {}", cases.len());
    for (name, case) in cases {
        let spec: ApplicationSetSpec = serde_json::from_value(json!({
            "generators": [],
            "template": {"metadata": {}, "spec": {"project": "default", "destination": {}}},
            "strategy": case["strategy"],
            "ignoreApplicationDifferences": case["ignoreApplicationDifferences"],
        }))
        .unwrap_or_else(|e| panic!("{name}: the strategy does not read: {e}"));
        let policy = Policy::of(&spec).unwrap();
        let previous: Vec<ApplicationSetApplicationStatus> =
            serde_json::from_value(Value::Array(list(&case, "previous")))
                .unwrap_or_else(|e| panic!("{name}: previous: {e}"));
        let now: Time = serde_json::from_value(case["now"].clone()).unwrap();
        let (generated, live) = (list(&case, "generated"), list(&case, "live"));
        let outcome = progress(&Input {
            spec: &spec,
            policy: &policy,
            generated: &generated,
            live: &live,
            previous: &previous,
            now: &now,
        });
        let expect = &case["expect"];
        assert_eq!(
            serde_json::to_value(&outcome.application_status).unwrap(),
            expect
                .get("applicationStatus")
                .cloned()
                .unwrap_or(json!([])),
            "{name}: applicationStatus"
        );
        let condition = outcome.condition.map(|c| {
            json!({"type": c.condition_type, "status": c.status, "reason": c.reason, "message": c.message})
        });
        assert_eq!(
            condition.unwrap_or(Value::Null),
            expect["condition"],
            "{name}: condition"
        );
        let synced: Vec<&str> = outcome
            .sync
            .iter()
            .map(|s| s.application.as_str())
            .collect();
        assert_eq!(
            json!(synced),
            expect.get("sync").cloned().unwrap_or(json!([])),
            "{name}: sync"
        );
        if let Some(operations) = expect.get("operations") {
            let got: Vec<Value> = outcome
                .sync
                .iter()
                .map(|s| serde_json::to_value(&s.operation).unwrap())
                .collect();
            assert_eq!(&json!(got), operations, "{name}: operations");
        }
        if let Some(order) = expect.get("deletionOrder") {
            let steps = super::Rollout::of(&spec).steps();
            assert_eq!(
                &json!(deletion_order(steps, &live)),
                order,
                "{name}: deletion order"
            );
        }
    }
}
