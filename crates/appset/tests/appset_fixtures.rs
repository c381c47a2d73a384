//! Every ApplicationSet under testdata/appsets/: its repositories (in memory) and cluster
//! Secrets go in, and the generated Applications (or the error) must be exactly what the
//! file expects.

// A panic in a test is a failed test.
#![allow(clippy::unwrap_used)]

use driftless_appset::{Inputs, MemoryGit, generate};
use driftless_model::ApplicationSet;
use k8s_openapi::api::core::v1::Secret;
use pretty_assertions::assert_eq;
use serde_json::Value;

fn cases() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/appsets");
    let mut cases: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let case = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, case)
        })
        .collect();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

fn memory_git(repos: &Value) -> MemoryGit {
    let mut git = MemoryGit::new();
    for (url, revisions) in repos.as_object().into_iter().flatten() {
        for (revision, files) in revisions.as_object().unwrap() {
            for (path, contents) in files.as_object().unwrap() {
                git = git.file(url, revision, path, contents.as_str().unwrap());
            }
        }
    }
    git
}

#[test]
fn every_appset_fixture_generates_what_it_expects() {
    let cases = cases();
    assert!(cases.len() >= 15, "fixtures missing: {}", cases.len());
    for (name, case) in cases {
        let git = memory_git(&case["repos"]);
        let secrets: Vec<Secret> = serde_json::from_value(
            case.get("clusterSecrets")
                .cloned()
                .unwrap_or(Value::Array(vec![])),
        )
        .unwrap();
        let appset: ApplicationSet = serde_json::from_value(case["appset"].clone())
            .unwrap_or_else(|e| panic!("{name}: the appset does not read: {e}"));
        let inputs = Inputs {
            git: &git,
            cluster_secrets: &secrets,
        };
        let result = generate(&appset, inputs);
        let expect = &case["expect"];
        if let Some(error) = expect.get("error").and_then(Value::as_str) {
            let err = match result {
                Err(err) => err.to_string(),
                Ok(apps) => panic!("{name}: expected an error containing {error:?}, got {apps:#?}"),
            };
            assert!(err.contains(error), "{name}: error {err:?} lacks {error:?}");
        } else {
            let apps = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            let want = expect["applications"].as_array().unwrap();
            assert_eq!(&apps, want, "{name}");
        }
    }
}
