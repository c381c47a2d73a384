//! Kubernetes-shaped objects: the kinds the code treats specially, the annotations it reads,
//! and live copies with what the API server adds (defaults, status, managedFields).

use crate::generators::json;
use crate::rng::{Rng, one_in, pick, small};
use rand::Rng as _;
use serde_json::{Map, Value, json};

const KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Namespace"),
    ("v1", "Service"),
    ("v1", "Pod"),
    ("v1", "ResourceQuota"),
    ("v1", "List"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("argoproj.io/v1alpha1", "Application"),
    ("example.com/v1", "Widget"),
    ("cert-manager.io/v1", "Certificate"),
    ("", "ConfigMap"),
    ("v1/extra/slash", "Secret"),
];

const NAMES: &[&str] = &[
    "web",
    "db",
    "a",
    "ns",
    "default",
    "kube-system",
    "x",
    "widgets.example.com",
];

const ANNOTATIONS: &[&str] = &[
    "argocd.argoproj.io/sync-wave",
    "argocd.argoproj.io/hook",
    "argocd.argoproj.io/hook-delete-policy",
    "argocd.argoproj.io/sync-options",
    "argocd.argoproj.io/compare-options",
    "argocd.argoproj.io/tracking-id",
    "helm.sh/hook",
    "helm.sh/hook-weight",
    "helm.sh/hook-delete-policy",
    "helm.sh/resource-policy",
    "kubectl.kubernetes.io/last-applied-configuration",
];

const ANNOTATION_VALUES: &[&str] = &[
    "0",
    "-1",
    "5",
    "2147483647",
    "-2147483648",
    "99999999999",
    " 3 ",
    "x",
    "PreSync",
    "Sync",
    "PostSync",
    "SyncFail",
    "Skip",
    "PreSync,PostSync",
    "pre-install",
    "post-upgrade",
    "test",
    "crd-install",
    "pre-delete",
    "post-delete",
    "HookSucceeded",
    "HookFailed,BeforeHookCreation",
    "hook-succeeded",
    "keep",
    "Prune=false",
    "Prune=confirm",
    "Delete=false",
    "PruneLast=true",
    "ServerSideApply=true",
    "Replace=true",
    "Force=true",
    "IgnoreExtraneous",
    "ApplyOutOfSyncOnly=true",
    "SkipDryRunOnMissingResource=true",
    "Validate=false",
    "PrunePropagationPolicy=orphan",
    "app:/ConfigMap:ns/web",
    "{\"a\":1}",
    "",
];

/// Field names worth adding to these objects.
pub const KEYS: &[&str] = &[
    "spec",
    "template",
    "containers",
    "name",
    "image",
    "replicas",
    "data",
    "stringData",
    "ports",
    "resources",
    "limits",
    "requests",
    "cpu",
    "memory",
    "hard",
    "env",
    "value",
    "status",
    "conditions",
    "names",
    "group",
    "kind",
    "plural",
    "versions",
    "managedFields",
    "fieldsV1",
];

fn name(rng: &mut Rng) -> String {
    if one_in(rng, 8) {
        json::string(rng)
    } else {
        pick(rng, NAMES).to_string()
    }
}

fn annotations(rng: &mut Rng) -> Map<String, Value> {
    let mut out = Map::new();
    for _ in 0..small(rng, 4) {
        let value = if one_in(rng, 10) {
            json::value(rng, 1, &[])
        } else {
            Value::String(pick(rng, ANNOTATION_VALUES).to_string())
        };
        out.insert(pick(rng, ANNOTATIONS).to_string(), value);
    }
    out
}

/// A desired object of a kind the code knows, with odd annotations and a random body.
pub fn object(rng: &mut Rng) -> Value {
    let (api_version, kind) = *pick(rng, KINDS);
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(name(rng)));
    if kind != "Namespace" && kind != "CustomResourceDefinition" && !one_in(rng, 4) {
        meta.insert(
            "namespace".into(),
            Value::String(pick(rng, &["ns", "default", "other"]).to_string()),
        );
    }
    if rng.random() {
        meta.insert("annotations".into(), Value::Object(annotations(rng)));
    }
    if one_in(rng, 4) {
        meta.insert("labels".into(), json!({"app": name(rng)}));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String(api_version.into()));
    obj.insert("kind".into(), Value::String(kind.into()));
    obj.insert("metadata".into(), Value::Object(meta));
    match kind {
        "Secret" => {
            obj.insert(
                "data".into(),
                json!({"password": pick(rng, &["aGVsbG8=", "!!", "", "c2VjcmV0"]).to_string()}),
            );
            if rng.random() {
                obj.insert("stringData".into(), json!({"token": json::string(rng)}));
            }
        }
        "ConfigMap" => {
            obj.insert("data".into(), json!({"k": json::string(rng)}));
        }
        "Deployment" | "StatefulSet" => {
            obj.insert("spec".into(), json!({
                "replicas": json::number(rng),
                "template": {"spec": {"containers": [
                    {"name": "app", "image": "app:1", "resources": {"limits": {"cpu": json::string(rng), "memory": "1Gi"}}},
                    {"name": name(rng), "image": json::string(rng)}
                ]}}
            }));
        }
        "CustomResourceDefinition" => {
            obj.insert("spec".into(), json!({
                "group": pick(rng, &["example.com", "", "cert-manager.io"]).to_string(),
                "names": {"kind": pick(rng, &["Widget", "Certificate", ""]).to_string(), "plural": "widgets"},
                "scope": "Namespaced"
            }));
        }
        "ResourceQuota" => {
            obj.insert(
                "spec".into(),
                json!({"hard": {"cpu": json::string(rng), "memory": json::string(rng)}}),
            );
        }
        "List" => {
            obj.insert(
                "items".into(),
                Value::Array(vec![json::value(rng, 2, KEYS)]),
            );
        }
        _ => {
            obj.insert("spec".into(), json::value(rng, 3, KEYS));
        }
    }
    Value::Object(obj)
}

/// fieldsV1 as the API server writes it (`f:`, `k:`, `v:`, `i:` and `.`), with odd entries.
pub fn fields_v1(rng: &mut Rng, desired: &Value, depth: usize) -> Value {
    let mut out = Map::new();
    if let Value::Object(map) = desired {
        for (k, v) in map {
            if depth > 6 || one_in(rng, 4) {
                continue;
            }
            out.insert(format!("f:{k}"), fields_v1(rng, v, depth + 1));
        }
    }
    if let Value::Array(items) = desired {
        for (i, item) in items.iter().enumerate() {
            let key = match item.get("name").and_then(Value::as_str) {
                Some(name) if rng.random() => format!("k:{}", json!({ "name": name })),
                _ if one_in(rng, 3) => format!("v:{item}"),
                _ => format!("i:{i}"),
            };
            out.insert(key, fields_v1(rng, item, depth + 1));
        }
    }
    if one_in(rng, 6) {
        out.insert(
            pick(
                rng,
                &["k:{", "k:[]", "v:", "i:x", "f:", "x:y", "k:{\"a\":}", "."],
            )
            .to_string(),
            json!({}),
        );
    }
    if one_in(rng, 4) {
        out.insert(".".into(), json!({}));
    }
    Value::Object(out)
}

/// The live copy of `desired`: server fields added, maybe a value changed or one removed,
/// managedFields naming driftless and others.
pub fn live_of(rng: &mut Rng, desired: &Value) -> Value {
    let mut live = desired.clone();
    if let Some(Value::Object(meta)) = live.get_mut("metadata") {
        meta.insert("uid".into(), json!("1234"));
        meta.insert("resourceVersion".into(), json!("77"));
        meta.insert("creationTimestamp".into(), json!("2024-01-01T00:00:00Z"));
        if !meta.contains_key("namespace") && rng.random() {
            meta.insert("namespace".into(), json!("ns"));
        }
        let mut entries = Vec::new();
        for _ in 0..small(rng, 3) {
            entries.push(json!({
                "manager": pick(rng, &["driftless", "kubectl", "kube-controller-manager", "hpa", ""]).to_string(),
                "operation": pick(rng, &["Apply", "Update", "X"]).to_string(),
                "apiVersion": "v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": fields_v1(rng, desired, 0),
            }));
        }
        meta.insert("managedFields".into(), Value::Array(entries));
    }
    if let Value::Object(map) = &mut live {
        map.insert(
            "status".into(),
            json!({"observedGeneration": 1, "conditions": []}),
        );
        if one_in(rng, 3) {
            map.insert(json::key(rng, KEYS), json::value(rng, 2, KEYS));
        }
    }
    live
}
