//! Volatile fields: a revision rendered twice must give the same objects. Every leaf that
//! differs (a timestamp, a random password, a generated name) makes the Application
//! OutOfSync after every render, so it is reported with the `ignoreDifferences` entry that
//! would stop the loop and the advice to move the value out of the template.

use crate::finding::{Finding, Rule, Severity};
use crate::pointer;
use crate::waiver::drop_waived;
use driftless_model::ResourceKey;
use serde_json::Value;
use std::collections::BTreeMap;

pub const VOLATILE_FIELD: Rule = Rule {
    id: "volatile-field",
    severity: Severity::Error,
    description: "rendering the same revision twice gives the same objects (no timestamps, random values or generated names)",
};

/// Longest value shown in a message; longer ones are cut.
const SHOWN_CHARS: usize = 60;

/// Compares two renders of the same revision of `app`, object by object (paired by
/// `group/Kind/namespace/name`), and reports every differing leaf JSON pointer. Values of
/// Secrets are never shown.
pub fn volatile_fields(app: &str, first_render: &[Value], second_render: &[Value]) -> Vec<Finding> {
    let first = by_key(first_render);
    let second = by_key(second_render);
    let mut out = Vec::new();
    for (key, a) in &first {
        match second.get(key) {
            Some(b) => {
                let mut leaves = Vec::new();
                diff(a, b, String::new(), &mut leaves);
                out.extend(
                    leaves
                        .into_iter()
                        .map(|(path, x, y)| leaf_finding(app, key, &path, x, y)),
                );
            }
            None => out.push(unpaired(app, key, "first")),
        }
    }
    out.extend(
        second
            .keys()
            .filter(|k| !first.contains_key(*k))
            .map(|key| unpaired(app, key, "second")),
    );
    let objects = first
        .iter()
        .chain(second.iter())
        .map(|(k, v)| (k.to_string(), *v));
    let mut out = drop_waived(objects, out);
    out.sort();
    out
}

fn by_key(objects: &[Value]) -> BTreeMap<ResourceKey, &Value> {
    let mut map = BTreeMap::new();
    for object in objects {
        if let Ok(key) = ResourceKey::of(object) {
            map.entry(key).or_insert(object);
        }
    }
    map
}

type Leaf<'a> = (String, Option<&'a Value>, Option<&'a Value>);

/// Pushes the pointer of every leaf where `a` and `b` differ. Arrays of different lengths
/// differ as a whole (their elements cannot be paired).
fn diff<'a>(a: &'a Value, b: &'a Value, path: String, out: &mut Vec<Leaf<'a>>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => diff(v, w, pointer::key(&path, k), out),
                    None => out.push((pointer::key(&path, k), Some(v), None)),
                }
            }
            for (k, w) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                out.push((pointer::key(&path, k), None, Some(w)));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                diff(v, w, pointer::index(&path, i), out);
            }
        }
        _ if a != b => out.push((path, Some(a), Some(b))),
        _ => {}
    }
}

fn leaf_finding(
    app: &str,
    key: &ResourceKey,
    path: &str,
    a: Option<&Value>,
    b: Option<&Value>,
) -> Finding {
    let secret = key.group.is_empty() && key.kind == "Secret";
    // Argo CD compares a Secret's stringData as data, so that is what must be ignored.
    let ignore_pointer = match path.strip_prefix("/stringData/") {
        Some(rest) if secret => format!("/data/{rest}"),
        _ => path.to_string(),
    };
    let values = if secret {
        "values not shown: Secret data".to_string()
    } else {
        format!("{} then {}", show(a), show(b))
    };
    let advice = if secret {
        "create the Secret once outside the template (a pre-created Secret, External Secrets or Sealed Secrets) and reference it by name"
    } else {
        "pass a fixed value (e.g. in values.yaml) or keep generated values in a pre-created Secret referenced by name; avoid now, randAlphaNum, uuidv4 and the like in templates"
    };
    let message = format!(
        "{path} differs between two renders of the same revision ({values}), so the app is OutOfSync after every render and a sync re-applies it. \
To stop the loop, add to the Application's spec.ignoreDifferences (with syncOptions RespectIgnoreDifferences=true so a sync keeps the live value):\n{}\nBetter, move the value out of the template: {advice}.",
        ignore_entry(key, &ignore_pointer)
    );
    VOLATILE_FIELD.finding(app, key, path, message)
}

fn unpaired(app: &str, key: &ResourceKey, render: &str) -> Finding {
    VOLATILE_FIELD.finding(app, key, "", format!(
        "object appears only in the {render} of two renders of the same revision: its identity is generated at render time (e.g. a random or time-based name suffix), so every render creates a new object and prunes the old one; no ignoreDifferences entry can stop this, give it a fixed name"
    ))
}

/// The exact `ignoreDifferences` entry, as YAML list item; the core group is left out.
pub fn ignore_entry(key: &ResourceKey, json_pointer: &str) -> String {
    let mut lines = Vec::new();
    let mut first = true;
    let mut field = |text: String| {
        lines.push(format!("{}{text}", if first { "- " } else { "  " }));
        first = false;
    };
    if !key.group.is_empty() {
        field(format!("group: {}", key.group));
    }
    field(format!("kind: {}", key.kind));
    field(format!("name: {}", key.name));
    if !key.namespace.is_empty() {
        field(format!("namespace: {}", key.namespace));
    }
    field("jsonPointers:".to_string());
    lines.push(format!("  - {json_pointer}"));
    lines.join("\n")
}

fn show(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "absent".to_string();
    };
    let text = value.to_string();
    if text.chars().count() <= SHOWN_CHARS {
        text
    } else {
        format!("{}…", text.chars().take(SHOWN_CHARS).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ignore_entry_is_the_yaml_argo_cd_reads() {
        let deploy = ResourceKey::new("apps", "Deployment", "shop", "web");
        assert_eq!(
            ignore_entry(&deploy, "/spec/template/metadata/annotations/rollme"),
            "- group: apps\n  kind: Deployment\n  name: web\n  namespace: shop\n  jsonPointers:\n  - /spec/template/metadata/annotations/rollme"
        );
        let cm = ResourceKey::new("", "ConfigMap", "", "cfg");
        assert_eq!(
            ignore_entry(&cm, "/data/at"),
            "- kind: ConfigMap\n  name: cfg\n  jsonPointers:\n  - /data/at"
        );
    }

    #[test]
    fn each_differing_leaf_is_one_finding_and_equal_leaves_none() {
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop",
            "annotations": {"checksum/config": "aaa", "team": "x"}}, "spec": {"replicas": 2, "args": ["--seed", "1"]}});
        let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop",
            "annotations": {"checksum/config": "bbb", "team": "x"}}, "spec": {"replicas": 2, "args": ["--seed", "2"]}});
        let findings = volatile_fields("shop", &[a], &[b]);
        let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/metadata/annotations/checksum~1config", "/spec/args/1"]
        );
        assert!(
            findings[0]
                .message
                .contains("  - /metadata/annotations/checksum~1config")
        );
        assert!(findings[0].message.contains("\"aaa\" then \"bbb\""));
        assert_eq!(findings[0].object, "apps/Deployment/shop/web");
    }

    #[test]
    fn secret_values_are_never_shown_and_string_data_is_ignored_as_data() {
        let secret = |pw: &str| {
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
            "stringData": {"password": pw}})
        };
        let findings = volatile_fields("shop", &[secret("hunter2-a")], &[secret("hunter2-b")]);
        assert_eq!(findings.len(), 1);
        assert!(
            !findings[0].message.contains("hunter2"),
            "{}",
            findings[0].message
        );
        assert!(findings[0].message.contains("  - /data/password"));
        assert!(findings[0].message.contains("pre-created Secret"));
    }

    #[test]
    fn objects_in_one_render_only_are_reported_and_waivers_hold() {
        let job = |name: &str| json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "shop"}});
        let findings = volatile_fields("shop", &[job("migrate-x1")], &[job("migrate-y2")]);
        let objects: Vec<&str> = findings.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(
            objects,
            ["batch/Job/shop/migrate-x1", "batch/Job/shop/migrate-y2"]
        );
        let waived = |at: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop",
            "annotations": {"driftless.dev/waive": "volatile-field # build time shown in UI"}}, "data": {"at": at}})
        };
        assert!(volatile_fields("shop", &[waived("1")], &[waived("2")]).is_empty());
    }
}
