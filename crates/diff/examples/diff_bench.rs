//! Microbenchmark: diff the realistic Deployment from testdata 10,000 times per scenario
//! and print microseconds per object. A figure to watch, not a test.
//!
//! cargo run --release -p driftless-diff --example diff_bench

use driftless_diff::{Differ, IgnoreRule};
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

const ROUNDS: u32 = 10_000;

fn object(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/objects")
        .join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn bench(label: &str, differ: &Differ, desired: &Value, live: &Value) {
    // Warm up, and check the scenario is what its label says.
    let status = differ.diff(Some(desired), Some(live)).map(|d| d.status);
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let diff = differ.diff(Some(desired), Some(live));
        std::hint::black_box(&diff);
    }
    let per_object = start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS);
    println!("{label:<48} {per_object:>8.1} µs/object  ({status:?})");
}

fn main() {
    let desired = object("deployment-desired.yaml");
    let live = object("deployment-live.yaml");
    let mut changed = desired.clone();
    if let Some(image) = changed.pointer_mut("/spec/template/spec/containers/0/image") {
        *image = Value::from("ghcr.io/example/shop-web:1.5.0");
    }
    let plain = Differ::new(&[], b"bench".to_vec()).expect("no rules");
    let with_rules = Differ::new(
        &[IgnoreRule {
            group: "apps".into(),
            kind: "Deployment".into(),
            json_pointers: vec!["/spec/replicas".into()],
            jq_path_expressions: vec![
                r#".spec.template.spec.containers[] | select(.name == "istio-proxy")"#.into(),
            ],
            managed_fields_managers: vec!["kube-controller-manager".into()],
            ..IgnoreRule::default()
        }],
        b"bench".to_vec(),
    )
    .expect("rules compile");

    println!("{ROUNDS} rounds per scenario");
    bench("Synced, no rules", &plain, &desired, &live);
    bench(
        "OutOfSync (image), no rules, with diff text",
        &plain,
        &changed,
        &live,
    );
    bench(
        "Synced, pointer + jq + managedFields rules",
        &with_rules,
        &desired,
        &live,
    );
    bench(
        "OutOfSync, rules, with diff text",
        &with_rules,
        &changed,
        &live,
    );
}
