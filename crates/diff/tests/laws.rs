//! Laws of normalize and diff, checked on generated objects (proptest):
//!
//! - normalize is idempotent;
//! - an object diffed against itself is Synced (with or without ignore rules);
//! - a live object with every desired field plus fields nobody manages is Synced;
//! - no Secret value (as written, base64 or plaintext) appears in any diff text.

#![allow(clippy::unwrap_used)]

use driftless_diff::{Differ, IgnoreRule, SyncStatus, normalize};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const CASES: u32 = 512;

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "[a-z0-9 ./-]{0,10}".prop_map(Value::String),
        prop::sample::select(vec![
            "", "0", "80", "100m", "1", "1Gi", "1024Mi", "true", "null"
        ])
        .prop_map(Value::from),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A Kubernetes object of a kind the diff treats in its own way, with a random body.
fn object() -> impl Strategy<Value = Value> {
    let kinds = prop::sample::select(vec![
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("v1", "ResourceQuota"),
        ("example.com/v1", "Widget"),
    ]);
    (
        kinds,
        "[a-z]{1,8}",
        prop::option::of("[a-z]{1,6}"),
        prop::collection::btree_map("[a-z./]{1,12}", "[a-z0-9]{0,6}", 0..3),
        tree(),
        prop::collection::btree_map("[a-z]{1,6}", "[A-Za-z0-9+/=]{0,12}", 0..3),
        prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{0,8}", 0..3),
        any::<bool>(),
        prop::option::of(prop::sample::subsequence(
            vec![
                json!({"f:spec": {"f:a": {}}}),
                json!({"f:status": {"f:phase": {}}}),
                json!({"f:data": {"f:k": {}, "f:a": {}}}),
                json!({"f:metadata": {"f:annotations": {"f:x": {}}, "f:labels": {}}}),
                json!({"f:stringData": {"f:b": {}}, "f:spec": {"k:{\"name\":\"a\"}": {".": {}}}}),
            ],
            0..5,
        )),
    )
        .prop_map(
            |((api, kind), name, ns, annotations, body, data, string_data, status, managed)| {
                let mut meta = json!({"name": name, "annotations": annotations});
                if let Some(ns) = ns {
                    meta["namespace"] = json!(ns);
                }
                let mut obj = json!({"apiVersion": api, "kind": kind, "metadata": meta, "spec": body});
                if kind == "Secret" || kind == "ConfigMap" {
                    obj["data"] = json!(data);
                }
                if kind == "Secret" {
                    obj["stringData"] = json!(string_data);
                }
                if let Some(fields) = managed {
                    let entries: Vec<Value> = fields
                        .into_iter()
                        .map(|f| json!({"manager": "driftless", "operation": "Apply", "fieldsV1": f}))
                        .collect();
                    obj["metadata"]["managedFields"] = json!(entries);
                }
                if status {
                    obj["status"] = json!({"phase": "Running"});
                    obj["metadata"]["uid"] = json!("u");
                    obj["metadata"]["resourceVersion"] = json!("7");
                }
                obj
            },
        )
}

fn differ(rules: &[IgnoreRule]) -> Differ {
    Differ::new(rules, b"laws".to_vec()).unwrap()
}

fn rules() -> impl Strategy<Value = Vec<IgnoreRule>> {
    let pointer = prop::sample::select(vec![
        "/spec",
        "/data",
        "/spec/a",
        "/metadata/annotations",
        "/x",
    ]);
    let jq = prop::sample::select(vec![".spec.a", ".spec[]?", ".data", ".metadata.labels"]);
    prop::collection::vec(
        (
            prop::sample::select(vec!["", "*", "apps"]),
            prop::sample::select(vec!["*", "Secret", "ConfigMap"]),
            prop::option::of(pointer),
            prop::option::of(jq),
        ),
        0..3,
    )
    .prop_map(|rules| {
        rules
            .into_iter()
            .map(|(group, kind, pointer, jq)| IgnoreRule {
                group: group.into(),
                kind: kind.into(),
                json_pointers: pointer.into_iter().map(str::to_string).collect(),
                jq_path_expressions: jq.into_iter().map(str::to_string).collect(),
                ..IgnoreRule::default()
            })
            .collect()
    })
}

/// Adds `extra_<n>` keys (no other field has such a name) to maps at random places; lists keep
/// their length, as their length counts.
fn with_extra_fields(value: &Value, picks: &[u8], next: &mut usize, depth: usize) -> Value {
    fn pick(picks: &[u8], next: &mut usize) -> u8 {
        *next += 1;
        picks.get(*next % picks.len().max(1)).copied().unwrap_or(0)
    }
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                // managedFields is the server's record of owners, not object content.
                let v = if k == "managedFields" {
                    v.clone()
                } else {
                    with_extra_fields(v, picks, next, depth + 1)
                };
                out.insert(k.clone(), v);
            }
            if pick(picks, next).is_multiple_of(2) {
                let key = format!("extra_{depth}_{}", pick(picks, next));
                out.insert(key, json!({"set": "by", "a": ["controller"]}));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| with_extra_fields(v, picks, next, depth + 1))
                .collect(),
        ),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn normalize_is_idempotent(obj in object()) {
        let once = normalize(&obj);
        prop_assert_eq!(normalize(&once), once);
    }

    #[test]
    fn an_object_diffed_against_itself_is_synced(obj in object(), rules in rules()) {
        for differ in [differ(&[]), differ(&rules)] {
            let diff = differ.diff(Some(&obj), Some(&obj)).unwrap();
            prop_assert_eq!(diff.status, SyncStatus::Synced, "{:?}", diff);
            let server_side = differ.diff_server_side(&obj, &obj).unwrap();
            prop_assert_eq!(server_side.status, SyncStatus::Synced, "{:?}", server_side);
        }
    }

    #[test]
    fn extra_live_fields_nobody_manages_are_synced(obj in object(), picks in prop::collection::vec(any::<u8>(), 1..64)) {
        let live = with_extra_fields(&obj, &picks, &mut 0, 0);
        let diff = differ(&[]).diff(Some(&obj), Some(&live)).unwrap();
        prop_assert_eq!(diff.status, SyncStatus::Synced, "live {}\n{:?}", live, diff);
    }

    #[test]
    fn secret_values_never_appear_in_diff_text(
        desired in prop::collection::btree_map("[a-z]{1,6}", "[A-Za-z0-9]{12,20}", 1..4),
        live in prop::collection::btree_map("[a-z]{1,6}", "[A-Za-z0-9]{12,20}", 0..4),
        plain in prop::collection::btree_map("[a-z]{1,6}", "[A-Za-z0-9]{12,20}", 0..3),
        removed in "[A-Za-z0-9]{12,20}",
    ) {
        let b64 = |s: &str| base64_encode(s.as_bytes());
        let data = |m: &std::collections::BTreeMap<String, String>| -> Value {
            m.iter().map(|(k, v)| (k.clone(), json!(b64(v)))).collect::<Map<_, _>>().into()
        };
        let want = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
            "data": data(&desired), "stringData": plain});
        let mut have_data = data(&live);
        have_data["gone"] = json!(b64(&removed));
        let last_applied = json!({"data": data(&desired)}).to_string();
        let have = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "n",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied},
                "managedFields": [{"manager": "driftless", "operation": "Apply", "fieldsV1": {"f:data": {"f:gone": {}}}}]},
            "data": have_data});
        let differ = differ(&[]);
        let diffs = [
            differ.diff(Some(&want), Some(&have)).unwrap(),
            differ.diff(Some(&want), None).unwrap(),
            differ.diff(None, Some(&have)).unwrap(),
            differ.diff_server_side(&want, &have).unwrap(),
        ];
        let secrets: Vec<String> = desired.values().chain(live.values()).chain(plain.values()).chain([&removed])
            .flat_map(|v| [v.clone(), b64(v)])
            .collect();
        for diff in &diffs {
            let text = diff.text.clone().unwrap_or_default();
            for secret in &secrets {
                prop_assert!(!text.contains(secret.as_str()), "{secret} in\n{text}");
            }
        }
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
