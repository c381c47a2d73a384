//! Every case of testdata/gotemplate-fixtures.json (outputs made by Go's text/template with
//! Argo CD's function map, see testdata/go-oracle) rendered by our engine.

// A panic in a test is a failed test.
#![allow(clippy::unwrap_used)]

use driftless_appset::gotemplate::{GoTemplateOptions, from_json, render};
use serde_json::Value;

/// Cases where we knowingly differ from Go, and why. Each must still differ (so the list
/// cannot go stale): remove an entry when the difference is fixed.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "printf with d on a float is a bad verb",
        "gotmpl formats a float with %d; Go prints %!d(float64=3)",
    ),
    (
        "case helpers",
        "kebabcase, snakecase and camelcase are not provided",
    ),
    (
        "set and unset",
        "template values are immutable: set and unset are not provided",
    ),
    ("sha256sum and sha1sum", "sha1sum is not provided"),
];

#[test]
fn go_template_fixtures_agree_with_go() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/gotemplate-fixtures.json"
    ))
    .unwrap();
    let fixtures: Value = serde_json::from_str(&text).unwrap();
    let cases = fixtures["templates"].as_array().unwrap();
    assert!(cases.len() > 100, "the fixture table lost its cases");
    let mut failures = Vec::new();
    let mut known_seen = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let template = case["template"].as_str().unwrap();
        let options: Vec<String> = case["options"]
            .as_array()
            .map(|o| o.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        let options = GoTemplateOptions::parse(&options).unwrap();
        let got = render(template, &from_json(&case["data"]), options);
        match (case.get("output").and_then(Value::as_str), got) {
            (Some(want), Ok(got)) if want == got => {}
            (None, Err(_)) => {}
            _ if KNOWN_DIFFERENCES.iter().any(|(n, _)| *n == name) => {
                known_seen.push(name);
                continue;
            }
            (want, got) => failures.push(format!(
                "{name}: template {template:?}\n   go: {}\n  ours: {got:?}",
                want.map(|w| format!("{w:?}"))
                    .unwrap_or_else(|| format!("error {}", case["error"]))
            )),
        }
    }
    for (name, why) in KNOWN_DIFFERENCES {
        assert!(
            known_seen.contains(name),
            "{name:?} now agrees with Go (or is gone): drop it from KNOWN_DIFFERENCES ({why})"
        );
    }
    assert!(
        failures.is_empty(),
        "{} cases differ from Go:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Default-mode parameters from a git file, flattened as Argo CD flattens them (the Go
/// outputs in the fixture table come from jeremywohl/flatten and `%v`).
#[test]
fn flattened_file_parameters_agree_with_go() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/gotemplate-fixtures.json"
    ))
    .unwrap();
    let fixtures: Value = serde_json::from_str(&text).unwrap();
    let cases = fixtures["flatten"].as_array().unwrap();
    assert!(cases.len() >= 3);
    for case in cases {
        let file: serde_json::Map<String, Value> =
            serde_norway::from_str(case["file"].as_str().unwrap()).unwrap();
        let flat = driftless_appset::params::flatten(&file);
        assert_eq!(
            Value::Object(flat),
            case["output"],
            "{}",
            case["name"].as_str().unwrap()
        );
    }
}
