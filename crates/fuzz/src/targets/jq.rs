//! jq path expressions: compile, list the paths they select, and delete them, on objects.

use super::{Target, decode, encode, mutate_json, pick_or};
use crate::corpus;
use crate::generators::{jq, k8s};
use crate::rng::{Rng, one_in};
use driftless_diff::jq::JqPath;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const TARGET: Target = Target {
    name: "jq",
    about: "driftless_diff::jq::JqPath::{compile, paths, delete_from}",
    seeds,
    generate,
    mutate,
    run,
};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Input {
    expr: String,
    doc: Value,
}

/// Expressions as Argo CD's documentation and users write them.
const KNOWN: &[&str] = &[
    ".spec.template.spec.initContainers[] | select(.name == \"injected-init-container\")",
    ".webhooks[]?.clientConfig.caBundle",
    ".spec.containers[-1]",
    ".metadata.annotations[\"kubectl.kubernetes.io/restartedAt\"]",
    ".spec.template.spec.containers[] | select(.name | startswith(\"istio\")) | .image",
    ".data | to_entries[] | select(.key | test(\"^tmp\")) | .key as $k | $k",
    ".spec.rules[]?.http.paths[]?.backend",
    ".. | select(type == \"object\" and has(\"caBundle\")) | .caBundle",
];

fn seeds() -> Vec<Vec<u8>> {
    let cases = corpus::yaml_values("crates/diff/testdata/cases");
    let exprs = corpus::strings_at(&cases, "jqPathExpressions");
    let docs = corpus::objects_within(&corpus::yaml_values("crates/diff/testdata/objects"));
    let mut out = Vec::new();
    let exprs = exprs
        .iter()
        .map(String::as_str)
        .chain(KNOWN.iter().copied())
        .collect::<Vec<_>>();
    for (i, expr) in exprs.iter().enumerate() {
        for doc in docs.iter().skip(i % docs.len().max(1)).take(2) {
            out.push(encode(&Input {
                expr: expr.to_string(),
                doc: doc.clone(),
            }));
        }
    }
    out
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    let doc = if one_in(rng, 6) {
        crate::generators::json::value(rng, 4, k8s::KEYS)
    } else {
        let object = k8s::object(rng);
        let live = k8s::live_of(rng, &object);
        pick_or(rng, &[object.clone(), live], object)
    };
    encode(&Input {
        expr: jq::expr(rng, 3),
        doc,
    })
}

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    mutate_json(rng, input, others, Some(("expr", jq::DICT)), k8s::KEYS)
}

fn run(input: &[u8]) {
    let Some(input) = decode::<Input>(input) else {
        return;
    };
    let Ok(jq) = JqPath::compile(&input.expr) else {
        return;
    };
    let _ = jq.paths(&input.doc);
    let mut doc = input.doc;
    let _ = jq.delete_from(&mut doc);
}
