//! One table over `testdata/<rule>/{fires,near-miss}/`: every `fires` case yields at least one
//! finding of that rule (at each `# path:` given in the file's header), every `near-miss`
//! case yields none of it. Each case is a multi-document YAML file of rendered objects whose
//! app is the file stem (or `# app: <name>`); `volatile-field` cases are directories holding
//! the two renders, `first.yaml` and `second.yaml`.

use driftless_guard::{Finding, RULES, Tree, check, volatile_fields};
use serde::Deserialize;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// Folders of `testdata/` that are not rule fixtures.
const NOT_RULES: [&str; 1] = ["route"];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
}

fn documents(path: &Path) -> Vec<Value> {
    serde_norway::Deserializer::from_str(&read(path))
        .map(|doc| {
            Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("failed to parse {}: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// `# app: name` and every `# path: /pointer` from the leading comment lines.
fn header(path: &Path) -> (Option<String>, Vec<String>) {
    let mut app = None;
    let mut paths = Vec::new();
    for line in read(path).lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# app:") {
            app = Some(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("# path:") {
            paths.push(rest.trim().to_string());
        }
    }
    (app, paths)
}

/// Runs one case: the findings, and the paths its header expects.
fn run(rule: &str, case: &Path) -> (Vec<Finding>, Vec<String>) {
    let stem = case
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("case")
        .to_string();
    if rule == "volatile-field" {
        let (first, second) = (case.join("first.yaml"), case.join("second.yaml"));
        let (app, paths) = header(&first);
        let findings = volatile_fields(
            &app.unwrap_or(stem),
            &documents(&first),
            &documents(&second),
        );
        return (findings, paths);
    }
    let (app, paths) = header(case);
    let tree = Tree::of_app(&app.unwrap_or(stem), documents(case));
    (check(&tree), paths)
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_rule_fires_on_its_fixtures_and_spares_its_near_misses() {
    let mut failures = Vec::new();
    let mut counted = 0;
    for (rule, _, _) in RULES {
        let base = testdata().join(rule);
        let fires = cases(&base.join("fires"));
        let near = cases(&base.join("near-miss"));
        if fires.is_empty() || near.is_empty() {
            failures.push(format!(
                "{rule}: needs at least one fires and one near-miss case under {}",
                base.display()
            ));
        }
        for case in &fires {
            counted += 1;
            let (findings, paths) = run(rule, case);
            let own: Vec<&Finding> = findings.iter().filter(|f| f.rule == *rule).collect();
            if own.is_empty() {
                failures.push(format!(
                    "{}: expected a {rule} finding, got {:#?}",
                    case.display(),
                    findings
                ));
            }
            for path in paths {
                // A further place of the same object and rule is named in the message.
                let further = format!("; {path}: ");
                if !own
                    .iter()
                    .any(|f| f.path == path || f.message.contains(&further))
                {
                    let got: Vec<&str> = own.iter().map(|f| f.path.as_str()).collect();
                    failures.push(format!(
                        "{}: expected {rule} at {path:?}, got {got:?}",
                        case.display()
                    ));
                }
            }
        }
        for case in &near {
            counted += 1;
            let (findings, _) = run(rule, case);
            let own: Vec<&Finding> = findings.iter().filter(|f| f.rule == *rule).collect();
            if !own.is_empty() {
                failures.push(format!(
                    "{}: near-miss fired {rule}: {own:#?}",
                    case.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {counted} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fixture_folder_is_a_rule() {
    let ids: Vec<&str> = RULES.iter().map(|r| r.0).collect();
    for dir in cases(&testdata()) {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            ids.contains(&name) || NOT_RULES.contains(&name),
            "testdata/{name} is not a rule id"
        );
    }
}

#[test]
fn findings_of_check_are_json_with_the_documented_keys() {
    let tree = Tree::of_app(
        "shop",
        documents(&testdata().join("run-as-non-root/fires/missing.yaml")),
    );
    let json = serde_json::to_value(check(&tree)).expect("findings serialize");
    let items = json.as_array().expect("an array");
    assert!(!items.is_empty());
    for item in items {
        let keys: Vec<&str> = item
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            ["rule", "severity", "app", "object", "path", "message"]
        );
        assert_eq!(item["app"], "shop");
    }
    let on_deployment = items
        .iter()
        .find(|i| i["rule"] == "run-as-non-root")
        .expect("run-as-non-root fires");
    assert_eq!(on_deployment["object"], "apps/Deployment/shop/web");
    assert_eq!(on_deployment["severity"], "error");
}
