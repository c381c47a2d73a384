//! Table tests: every `testdata/*.yaml` file is a list of groups, each an argocd-rbac-cm
//! `config` (its `data`), optional AppProject roles, and cases of a request by a user (with
//! groups, or token claims) and the expected decision.

#![allow(clippy::unwrap_used)]

use driftless_rbac::{Decision, Policy, ProjectRoles, Subjects};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    name: String,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    projects: Vec<ProjectRoles>,
    /// Every error `with_projects` reports, displayed, in order.
    #[serde(default)]
    project_errors: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    user: String,
    #[serde(default)]
    groups: Vec<String>,
    /// Token claims, read with the config's `scopes`; replaces `user` and `groups`.
    claims: Option<serde_json::Value>,
    resource: String,
    action: String,
    object: String,
    expect: Expect,
    /// For a denial: whether a `deny` rule refused it.
    explicit: Option<bool>,
    /// The decision's display, exactly.
    reason: Option<String>,
}

#[derive(Deserialize, Debug, PartialEq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Allow,
    Deny,
}

#[test]
fn testdata_tables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());

    let (mut failures, mut count) = (Vec::new(), 0);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let groups: Vec<Group> = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("failed to read {}: {e}", file.display()));
        let file_name = file.file_name().unwrap().to_string_lossy();
        for group in &groups {
            let policy = match load(group) {
                Ok(policy) => policy,
                Err(error) => {
                    failures.push(format!("{file_name}: {}: {error}", group.name));
                    continue;
                }
            };
            for (i, case) in group.cases.iter().enumerate() {
                count += 1;
                let where_ = format!(
                    "{file_name}: {} (case {i}: {} {} {} {})",
                    group.name, case.user, case.resource, case.action, case.object
                );
                failures.extend(check(&policy, case).err().map(|e| format!("{where_}: {e}")));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("{count} fixture cases passed");
}

fn load(group: &Group) -> Result<Policy, String> {
    let policy = Policy::from_config_map(&group.config).map_err(|e| e.to_string())?;
    let (policy, errors) = policy.with_projects(&group.projects);
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if errors != group.project_errors {
        return Err(format!(
            "project errors\n  expected: {:?}\n  got:      {errors:?}",
            group.project_errors
        ));
    }
    Ok(policy)
}

fn check(policy: &Policy, case: &Case) -> Result<(), String> {
    let subjects = match &case.claims {
        Some(claims) => policy.subjects_from_claims(claims),
        None => Subjects::new(case.user.as_str(), &case.groups),
    };
    let decision = policy.enforce(&subjects, &case.resource, &case.action, &case.object);
    let (got, explicit, shown) = match &decision {
        Decision::Allow => (Expect::Allow, false, "allowed".to_string()),
        Decision::Deny(denial) => (Expect::Deny, denial.is_explicit(), denial.to_string()),
    };
    if got != case.expect {
        return Err(format!("expected {:?}, got {shown}", case.expect));
    }
    if let Some(expected) = case.explicit
        && expected != explicit
    {
        return Err(format!("expected explicit = {expected}, got {decision:?}"));
    }
    if let Some(reason) = &case.reason
        && shown != *reason
    {
        return Err(format!("reason\n  expected: {reason}\n  got:      {shown}"));
    }
    Ok(())
}
