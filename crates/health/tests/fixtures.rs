//! Every `testdata/<kind>/*.yaml` is one case: `object` (as the API server returns it),
//! `expected` (`{status, message}` or `{status, messageContains}`; null when the kind has no
//! health), and optionally `config` (argocd-cm style data with custom Lua checks).

use driftless_health::{CustomChecks, HealthCode, HealthStatus, health_of};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    object: Value,
    expected: Option<Expected>,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Expected {
    status: HealthCode,
    message: Option<String>,
    message_contains: Option<String>,
}

/// Every built-in kind or operator family has a directory, plus `convention` (custom resources
/// without a check), `none` (no health) and `lua` (custom checks).
const DIRECTORIES: [&str; 29] = [
    "deployment",
    "statefulset",
    "daemonset",
    "replicaset",
    "pod",
    "service",
    "ingress",
    "pvc",
    "job",
    "cronjob",
    "hpa",
    "apiservice",
    "crd",
    "namespace",
    "application",
    "certmanager",
    "rollout",
    "istio",
    "prometheus",
    "externalsecrets",
    "keda",
    "strimzi",
    "cnpg",
    "crossplane",
    "gatewayapi",
    "flux",
    "convention",
    "none",
    "lua",
];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn cases_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// None when the case passes, else what went wrong.
fn check(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let case: Case = match serde_norway::from_str(&text) {
        Ok(case) => case,
        Err(error) => return Some(format!("bad fixture: {error}")),
    };
    let custom = match CustomChecks::from_config_map_data(&case.config) {
        Ok(custom) => custom,
        Err(error) => return Some(format!("bad config: {error}")),
    };
    let actual = health_of(&case.object, &custom);
    match (&case.expected, &actual) {
        (None, None) => None,
        (None, Some(actual)) => Some(format!("expected no health, got {actual:?}")),
        (Some(expected), None) => Some(format!("expected {:?}, got no health", expected.status)),
        (Some(expected), Some(actual)) => compare(expected, actual),
    }
}

fn compare(expected: &Expected, actual: &HealthStatus) -> Option<String> {
    if expected.status != actual.status {
        return Some(format!("expected {:?}, got {actual:?}", expected.status));
    }
    match (&expected.message, &expected.message_contains) {
        (Some(message), None) if *message != actual.message => Some(format!(
            "expected message {message:?}, got {:?}",
            actual.message
        )),
        (None, Some(part)) if !actual.message.contains(part.as_str()) => Some(format!(
            "expected message containing {part:?}, got {:?}",
            actual.message
        )),
        (Some(_), None) | (None, Some(_)) => None,
        _ => {
            Some("the fixture must give exactly one of `message` and `messageContains`".to_string())
        }
    }
}

#[test]
fn every_fixture_gives_its_expected_health() {
    let mut failures = Vec::new();
    let mut count = 0;
    for dir in DIRECTORIES {
        let cases = cases_in(&testdata().join(dir));
        assert!(
            cases.len() >= 2,
            "testdata/{dir} needs at least two cases, has {}",
            cases.len()
        );
        for path in cases {
            count += 1;
            if let Some(failure) = check(&path) {
                failures.push(format!(
                    "{}: {failure}",
                    path.strip_prefix(testdata()).unwrap_or(&path).display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} fixtures failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_fixture_directory_is_left_out() {
    let mut on_disk: Vec<String> = std::fs::read_dir(testdata())
        .expect("testdata exists")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = DIRECTORIES.iter().map(|d| d.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}
