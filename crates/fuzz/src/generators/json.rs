//! Random JSON trees: scalars at the edges of their types, strings that look like the values
//! Kubernetes objects hold, objects keyed by names the target knows.

use crate::mutate::NUMBERS;
use crate::rng::{Rng, one_in, pick, small};
use rand::Rng as _;
use serde_json::{Map, Number, Value};

const STRINGS: &[&str] = &[
    "",
    " ",
    "a",
    "web",
    "default",
    "true",
    "false",
    "yes",
    "null",
    "~",
    "0",
    "80",
    "-1",
    "1.0",
    "100m",
    "1",
    "1000m",
    "0.5",
    "1Gi",
    "1024Mi",
    "1G",
    "1e3",
    "2Ki",
    "1.5Gi",
    "-1Gi",
    "1E",
    "9Ei",
    "0.000000001",
    "12345678901234567890",
    "Healthy",
    "Progressing",
    "Degraded",
    "True",
    "False",
    "PreSync",
    "Sync",
    "PostSync",
    "SyncFail",
    "Skip",
    "PreDelete",
    "PostDelete",
    "Prune=false",
    "Prune=confirm",
    "Delete=false",
    "PruneLast=true",
    "ServerSideApply=true",
    "Replace=true",
    "IgnoreExtraneous",
    "CreateNamespace=true",
    "HookSucceeded",
    "BeforeHookCreation",
    "aGVsbG8=",
    "!!!notbase64",
    "=",
    "a/b",
    "/",
    "~1",
    "~0",
    "~2",
    "//",
    "..",
    "%2F",
    "\\",
    "\u{0}",
    "é",
    "日本",
    "😀",
    "\u{fffd}",
    "\u{200b}",
    "line\nbreak",
    "tab\there",
    "https://github.com/team/apps.git",
    "git@github.com:team/apps.git",
    "ssh://git@x:22/a.git",
    "2024-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "apps/v1",
    "v1",
    "argoproj.io/v1alpha1",
    "{\"a\":1}",
    "[1,2]",
    "f:spec",
    "k:{\"name\":\"x\"}",
    "v:\"a\"",
    "i:0",
    ".",
];

/// Field names Kubernetes objects use, for keys.
pub const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "status",
    "data",
    "stringData",
    "replicas",
    "template",
    "containers",
    "image",
    "env",
    "value",
    "ports",
    "port",
    "containerPort",
    "resources",
    "limits",
    "requests",
    "cpu",
    "memory",
    "selector",
    "matchLabels",
    "items",
    "conditions",
    "type",
    "reason",
    "message",
    "managedFields",
    "manager",
    "operation",
    "fieldsV1",
    "finalizers",
    "generateName",
    "ownerReferences",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "hard",
    "capacity",
    "group",
    "names",
    "versions",
    "scope",
    "plural",
    "observedGeneration",
    "availableReplicas",
    "updatedReplicas",
    "readyReplicas",
    "phase",
    "health",
    "sync",
    "",
    "a",
    "b",
    "0",
    "-",
    "~",
    "/",
    "x.y/z",
];

/// A scalar number at an edge, or a small one.
pub fn number(rng: &mut Rng) -> Value {
    if one_in(rng, 3) {
        return Value::Number(rng.random_range(-3i64..100).into());
    }
    let text = pick(rng, NUMBERS);
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(Value::is_number)
        .or_else(|| Number::from_f64(rng.random::<f64>() * 1e6).map(Value::Number))
        .unwrap_or(Value::Null)
}

/// A string from the list above, or random characters.
pub fn string(rng: &mut Rng) -> String {
    match rng.random_range(0..6) {
        0 => {
            let n = small(rng, 24);
            (0..n)
                .map(|_| match rng.random_range(0..8) {
                    0 => char::from_u32(rng.random_range(0..0x11_0000)).unwrap_or('?'),
                    1 => pick(rng, &['-', '.', '/', '_', ':', '=', '*', '~', ' ', '\n']).to_owned(),
                    _ => char::from(rng.random_range(b'a'..=b'z')),
                })
                .collect()
        }
        1 => pick(rng, NUMBERS).to_string(),
        2 => pick(rng, STRINGS).repeat(1 + small(rng, 3)),
        _ => pick(rng, STRINGS).to_string(),
    }
}

/// A key: one of `keys` (or the common ones), or random.
pub fn key(rng: &mut Rng, keys: &[&str]) -> String {
    match rng.random_range(0..5) {
        0 => string(rng),
        1 | 2 if !keys.is_empty() => pick(rng, keys).to_string(),
        _ => pick(rng, KEYS).to_string(),
    }
}

/// Any JSON value, at most `depth` levels of containers deep.
pub fn value(rng: &mut Rng, depth: usize, keys: &[&str]) -> Value {
    let container = depth > 0 && rng.random_range(0..3) > 0;
    if !container {
        return match rng.random_range(0..8) {
            0 => Value::Null,
            1 => Value::Bool(rng.random()),
            2 | 3 => number(rng),
            _ => Value::String(string(rng)),
        };
    }
    if rng.random() {
        let n = small(rng, 5);
        Value::Array((0..n).map(|_| value(rng, depth - 1, keys)).collect())
    } else {
        let n = small(rng, 5);
        let mut map = Map::new();
        for _ in 0..n {
            map.insert(key(rng, keys), value(rng, depth - 1, keys));
        }
        Value::Object(map)
    }
}
