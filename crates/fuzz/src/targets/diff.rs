//! Normalize and diff: a desired and a live object under ignore rules, through every entry
//! point the controller and `driftless diff` use (offline, missing, extraneous, server-side).

use super::rules::{self, Rule};
use super::{Target, decode, encode, mutate_json};
use crate::corpus;
use crate::generators::{jq, k8s};
use crate::rng::{Rng, one_in, small};
use driftless_diff::{CompareOptions, Differ, ignore_when_extraneous, normalize};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const TARGET: Target = Target {
    name: "diff",
    about: "driftless_diff::{normalize, Differ::diff, Differ::diff_server_side}",
    seeds,
    generate,
    mutate,
    run,
};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Input {
    pub desired: Value,
    pub live: Value,
    pub rules: Vec<Rule>,
    /// `None` turns the removed-field check off.
    pub field_manager: Option<String>,
}

/// Desired/live pairs and rules from crates/diff/testdata (cases name their objects by file;
/// patches are left out: the mutations stand in for them).
pub fn seed_inputs() -> Vec<Input> {
    let objects = corpus::files("crates/diff/testdata/objects", &[".yaml"]);
    let object = |name: &str| -> Value {
        objects
            .iter()
            .find(|(p, _)| p.file_name().is_some_and(|f| f.to_string_lossy() == name))
            .and_then(|(_, b)| serde_norway::from_slice(b).ok())
            .unwrap_or(Value::Null)
    };
    let side = |case: &Value, which: &str| -> Value {
        match case.get(which) {
            Some(source) => match (
                source.get("inline"),
                source.get("file").and_then(Value::as_str),
            ) {
                (Some(inline), _) => inline.clone(),
                (None, Some(file)) => object(file),
                _ => Value::Null,
            },
            None => Value::Null,
        }
    };
    corpus::yaml_values("crates/diff/testdata/cases")
        .iter()
        .map(|case| Input {
            desired: match side(case, "desired") {
                Value::Null => side(case, "predicted"),
                v => v,
            },
            live: side(case, "live"),
            rules: case
                .get("rules")
                .and_then(|r| serde_json::from_value(r.clone()).ok())
                .unwrap_or_default(),
            field_manager: Some("driftless".into()),
        })
        .collect()
}

fn seeds() -> Vec<Vec<u8>> {
    seed_inputs().iter().map(encode).collect()
}

pub fn generate_input(rng: &mut Rng) -> Input {
    let desired = k8s::object(rng);
    let mut live = k8s::live_of(rng, &desired);
    if one_in(rng, 3) {
        crate::mutate::tree(rng, &mut live, jq::DICT, k8s::KEYS, None);
    }
    Input {
        desired,
        live,
        rules: (0..small(rng, 3)).map(|_| rules::rule(rng)).collect(),
        field_manager: if one_in(rng, 5) {
            None
        } else {
            Some("driftless".into())
        },
    }
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    encode(&generate_input(rng))
}

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    mutate_json(rng, input, others, None, k8s::KEYS)
}

fn run(input: &[u8]) {
    let Some(input) = decode::<Input>(input) else {
        return;
    };
    let _ = normalize(&input.desired);
    let _ = normalize(&input.live);
    let _ = CompareOptions::of(&input.live);
    let _ = ignore_when_extraneous(&input.live);
    let Ok(differ) = Differ::new(&rules::to_rules(&input.rules), b"fuzz".to_vec()) else {
        return;
    };
    let differ = differ.with_field_manager(input.field_manager.as_deref());
    let _ = differ.diff(Some(&input.desired), Some(&input.live));
    let _ = differ.diff(Some(&input.desired), None);
    let _ = differ.diff(None, Some(&input.live));
    let _ = differ.diff_server_side(&input.desired, &input.live);
}
