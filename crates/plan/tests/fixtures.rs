//! Table-driven plan tests: every `testdata/plans/*.yaml` holds one input and the plan
//! (or error) it must give. See `testdata/plans/README.md` for the format.

#![allow(clippy::unwrap_used)]

use driftless_model::ResourceKey;
use driftless_model::sync_policy::ManagedNamespaceMetadata;
use driftless_plan::{
    DeletionInput, Plan, PlanError, PlanInput, ResourceSelector, plan_deletion, plan_sync,
};
use pretty_assertions::assert_eq;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    deletion: bool,
    input: Input,
    expect: Expect,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct Input {
    app: String,
    namespace: String,
    namespace_exists: bool,
    desired: Vec<Value>,
    live: Vec<Value>,
    out_of_sync: Vec<String>,
    sync_options: Vec<String>,
    prune: bool,
    prune_confirmed: bool,
    delete_confirmed: bool,
    allow_empty: bool,
    dry_run: bool,
    resources: Vec<String>,
    managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    revision: String,
    started_at: i64,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct Expect {
    steps: Vec<String>,
    error: Option<String>,
    ignored: Vec<String>,
    warnings_contain: Vec<String>,
    objects: BTreeMap<String, Value>,
}

fn key(text: &str) -> ResourceKey {
    let parts: Vec<&str> = text.split('/').collect();
    assert_eq!(
        parts.len(),
        4,
        "key {text:?} is not group/Kind/namespace/name"
    );
    ResourceKey::new(parts[0], parts[1], parts[2], parts[3])
}

fn run(fixture: &Fixture) -> Result<Plan, PlanError> {
    let input = &fixture.input;
    if fixture.deletion {
        return plan_deletion(&DeletionInput {
            app_name: input.app.clone(),
            desired: input.desired.clone(),
            live: input.live.clone(),
            sync_options: input.sync_options.clone(),
            delete_confirmed: input.delete_confirmed,
            destination_namespace: input.namespace.clone(),
            dry_run: input.dry_run,
            revision: input.revision.clone(),
            started_at: input.started_at,
        });
    }
    plan_sync(&PlanInput {
        app_name: input.app.clone(),
        desired: input.desired.clone(),
        live: input.live.clone(),
        out_of_sync: input.out_of_sync.iter().map(|k| key(k)).collect(),
        sync_options: input.sync_options.clone(),
        prune: input.prune,
        prune_confirmed: input.prune_confirmed,
        allow_empty: input.allow_empty,
        dry_run: input.dry_run,
        skip_hooks: false,
        resources: input
            .resources
            .iter()
            .map(|r| r.parse::<ResourceSelector>().unwrap())
            .collect(),
        destination_namespace: input.namespace.clone(),
        destination_namespace_exists: input.namespace_exists,
        managed_namespace_metadata: input.managed_namespace_metadata.clone(),
        revision: input.revision.clone(),
        started_at: input.started_at,
    })
}

fn check(path: &Path) {
    let name = path.display();
    let text = std::fs::read_to_string(path).unwrap();
    let fixture: Fixture = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let expect = &fixture.expect;
    match (run(&fixture), &expect.error) {
        (Err(error), Some(expected)) => {
            assert!(
                format!("{error:?}").starts_with(expected.as_str()),
                "{name}: got error {error:?}, expected {expected}"
            );
            assert!(
                error.to_string().starts_with("failed to"),
                "{name}: message {error}"
            );
        }
        (Err(error), None) => panic!("{name}: unexpected error {error}"),
        (Ok(plan), Some(expected)) => panic!("{name}: expected error {expected}, got plan\n{plan}"),
        (Ok(plan), None) => {
            assert_eq!(plan.summaries(), expect.steps, "{name}\n{plan}");
            let ignored: Vec<String> = plan
                .ignored
                .iter()
                .map(|i| format!("{}: {}", i.key, i.reason))
                .collect();
            assert_eq!(ignored, expect.ignored, "{name}: ignored");
            for fragment in &expect.warnings_contain {
                assert!(
                    plan.warnings.iter().any(|w| w.contains(fragment)),
                    "{name}: no warning with {fragment:?} in {:?}",
                    plan.warnings
                );
            }
            for (id, object) in &expect.objects {
                let step = plan
                    .step(id)
                    .unwrap_or_else(|| panic!("{name}: no step {id}"));
                assert_eq!(step.object.as_ref(), Some(object), "{name}: object of {id}");
            }
            // Every plan survives being saved and read back (it is resumed from JSON).
            let json = serde_json::to_string(&plan).unwrap();
            assert_eq!(
                serde_json::from_str::<Plan>(&json).unwrap(),
                plan,
                "{name}: serde round trip"
            );
        }
    }
}

#[test]
fn every_fixture_gives_its_expected_plan() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/plans");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "fixtures missing in {}", dir.display());
    for path in &paths {
        check(path);
    }
}
