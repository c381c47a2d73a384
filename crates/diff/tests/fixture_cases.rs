//! Table-driven cases from `testdata/cases/*.yaml`: desired, live (or a server-side dry-run
//! result), ignore rules, and the status, changed paths and diff text a user would check.
//! Objects come from `testdata/objects/` with optional patches, or inline.

use driftless_diff::pointer::parse_pointer;
use driftless_diff::{
    Differ, IgnoreRule, ObjectDiff, SecretMasker, SyncStatus, ignore_when_extraneous,
    rules_from_config_map,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SALT: &[u8] = b"fixture-salt";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[allow(dead_code)]
    about: String,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    rules: Vec<RuleYaml>,
    #[serde(default, rename = "systemConfig")]
    system_config: BTreeMap<String, String>,
    desired: Option<Source>,
    predicted: Option<Source>,
    live: Option<Source>,
    expect: Expect,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    #[default]
    Offline,
    ServerSide,
}

/// Argo CD's ResourceIgnoreDifferences, as written in an Application.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct RuleYaml {
    group: String,
    kind: String,
    name: String,
    namespace: String,
    json_pointers: Vec<String>,
    jq_path_expressions: Vec<String>,
    managed_fields_managers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    file: Option<String>,
    inline: Option<Value>,
    #[serde(default)]
    patch: Vec<Patch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    set: Option<String>,
    remove: Option<String>,
    value: Option<Value>,
    file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expect {
    status: String,
    changed_paths: Vec<String>,
    ignore_extraneous: Option<bool>,
    #[serde(default)]
    text_contains: Vec<String>,
    #[serde(default)]
    text_lacks: Vec<String>,
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn read_yaml(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn load(source: &Source) -> Value {
    let mut object = match (&source.file, &source.inline) {
        (Some(file), None) => read_yaml(&testdata().join("objects").join(file)),
        (None, Some(inline)) => inline.clone(),
        _ => panic!("a source needs exactly one of file and inline"),
    };
    for patch in &source.patch {
        match (&patch.set, &patch.remove) {
            (Some(pointer), None) => {
                let value = match (&patch.value, &patch.file) {
                    (Some(v), None) => v.clone(),
                    (None, Some(file)) => read_yaml(&testdata().join("objects").join(file)),
                    _ => panic!("set needs exactly one of value and file"),
                };
                set(&mut object, pointer, value);
            }
            (None, Some(pointer)) => {
                let tokens = parse_pointer(pointer).expect("patch pointer");
                driftless_diff::pointer::remove_tokens(&mut object, &tokens);
            }
            _ => panic!("a patch is either set or remove"),
        }
    }
    object
}

/// Sets the value at a pointer, creating maps on the way; index == length appends to a list.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let tokens = parse_pointer(pointer).expect("patch pointer");
    let (last, parents) = tokens.split_last().expect("non-empty pointer");
    let mut current = doc;
    for token in parents {
        current = match current {
            Value::Array(items) => &mut items[token.parse::<usize>().expect("index")],
            other => other
                .as_object_mut()
                .expect("map on the way")
                .entry(token.clone())
                .or_insert_with(|| Value::Object(Default::default())),
        };
    }
    match current {
        Value::Array(items) => {
            let i: usize = last.parse().expect("index");
            if i == items.len() {
                items.push(value)
            } else {
                items[i] = value
            }
        }
        other => {
            other
                .as_object_mut()
                .expect("map")
                .insert(last.clone(), value);
        }
    }
}

fn run(case: &Case) -> ObjectDiff {
    let mut rules: Vec<IgnoreRule> = case
        .rules
        .iter()
        .map(|r| IgnoreRule {
            group: r.group.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            namespace: r.namespace.clone(),
            json_pointers: r.json_pointers.clone(),
            jq_path_expressions: r.jq_path_expressions.clone(),
            managed_fields_managers: r.managed_fields_managers.clone(),
        })
        .collect();
    rules.extend(rules_from_config_map(&case.system_config).expect("system config"));
    let differ = Differ::new(&rules, SALT).expect("rules prepare");
    let live = case.live.as_ref().map(load);
    match case.mode {
        Mode::Offline => differ.diff(case.desired.as_ref().map(load).as_ref(), live.as_ref()),
        Mode::ServerSide => {
            let predicted = load(
                case.predicted
                    .as_ref()
                    .expect("server-side case needs predicted"),
            );
            differ.diff_server_side(
                &predicted,
                live.as_ref().expect("server-side case needs live"),
            )
        }
    }
    .expect("diff")
}

/// `{{mask:VALUE}}` in an expected text stands for the mask of VALUE under the test salt.
fn expand_masks(expected: &str) -> String {
    let masker = SecretMasker::new(SALT);
    let mut out = String::new();
    let mut rest = expected;
    while let Some(start) = rest.find("{{mask:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{mask:".len()..];
        let end = after.find("}}").expect("closing }}");
        out.push_str(&masker.mask(&after[..end]));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn check(name: &str, case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
    let diff = run(case);
    let status = format!("{:?}", diff.status);
    if status != case.expect.status {
        failures.push(format!(
            "status: expected {}, got {status}",
            case.expect.status
        ));
    }
    if diff.changed_paths != case.expect.changed_paths {
        failures.push(format!(
            "changed paths: expected {:?}, got {:?}",
            case.expect.changed_paths, diff.changed_paths
        ));
    }
    if let Some(expected) = case.expect.ignore_extraneous {
        let live = load(case.live.as_ref().expect("ignoreExtraneous needs live"));
        if ignore_when_extraneous(&live) != expected {
            failures.push(format!("ignoreExtraneous: expected {expected}"));
        }
    }
    let text = diff.text.clone().unwrap_or_default();
    if (diff.status == SyncStatus::Synced) != diff.text.is_none() {
        failures.push("text must be present exactly when not Synced".to_owned());
    }
    for wanted in &case.expect.text_contains {
        let wanted = expand_masks(wanted);
        if !text.contains(&wanted) {
            failures.push(format!("text lacks {wanted:?}"));
        }
    }
    for unwanted in &case.expect.text_lacks {
        if text.contains(unwanted.as_str()) {
            failures.push(format!("text contains {unwanted:?}"));
        }
    }
    if !failures.is_empty() {
        failures.insert(0, format!("case {name}:"));
        failures.push(format!("text was:\n{text}"));
    }
    failures
}

#[test]
fn fixture_cases() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(testdata().join("cases"))
        .expect("testdata/cases")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 20,
        "expected the case table, found {} files",
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).expect("read case");
        let case: Case =
            serde_norway::from_str(&text).unwrap_or_else(|e| panic!("case {name}: {e}"));
        failures.extend(check(&name, &case));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
