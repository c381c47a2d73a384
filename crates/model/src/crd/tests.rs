use super::*;
use serde_json::json;

/// Every violation of the API server's structural-schema rules (and of "keep unknown
/// fields") found under `node`, as `path: problem` lines.
fn structural_violations(node: &Value, path: &str, is_root: bool, found: &mut Vec<String>) {
    let Some(map) = node.as_object() else {
        found.push(format!("{path}: schema is not an object"));
        return;
    };
    let flag = |key: &str| map.get(key) == Some(&Value::Bool(true));
    if !map.contains_key("type") && !flag(PRESERVE_UNKNOWN) && !flag(INT_OR_STRING) {
        found.push(format!("{path}: no type"));
    }
    for junctor in ["anyOf", "oneOf", "allOf", "not"] {
        if map.contains_key(junctor) {
            found.push(format!("{path}: uses {junctor}"));
        }
    }
    for forbidden in [
        "default",
        "$ref",
        "$defs",
        "definitions",
        "$schema",
        "const",
    ] {
        if map.contains_key(forbidden) {
            found.push(format!("{path}: has {forbidden}"));
        }
    }
    if map.contains_key("properties") && map.contains_key("additionalProperties") {
        found.push(format!("{path}: additionalProperties next to properties"));
    }
    if map.contains_key("properties") && !is_root && !flag(PRESERVE_UNKNOWN) {
        found.push(format!("{path}: object drops unknown fields"));
    }
    if let Some(properties) = map.get("properties") {
        let Some(properties) = properties.as_object() else {
            found.push(format!("{path}: properties is not a map"));
            return;
        };
        if is_root && properties.contains_key("metadata") {
            found.push(format!("{path}: restricts metadata"));
        }
        for (name, child) in properties {
            structural_violations(child, &format!("{path}.{name}"), false, found);
        }
    }
    match map.get("items") {
        Some(items @ Value::Object(_)) => {
            structural_violations(items, &format!("{path}[]"), false, found)
        }
        Some(_) => found.push(format!("{path}: items is not a single schema")),
        None if map.get("type") == Some(&json!("array")) => {
            found.push(format!("{path}: array without items"))
        }
        None => {}
    }
    match map.get("additionalProperties") {
        Some(extra @ Value::Object(_)) => {
            structural_violations(extra, &format!("{path}{{}}"), false, found)
        }
        Some(Value::Bool(false)) => found.push(format!("{path}: additionalProperties false")),
        _ => {}
    }
}

fn schema_of(crd: &CustomResourceDefinition) -> Value {
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    serde_json::to_value(schema.expect("CRD has a schema")).expect("schema serializes")
}

fn property<'a>(schema: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(schema, |node, name| {
        if *name == "[]" {
            &node["items"]
        } else {
            &node["properties"][*name]
        }
    })
}

#[test]
fn every_crd_schema_is_structural_and_keeps_unknown_fields() {
    for crd in crds() {
        let mut found = Vec::new();
        structural_violations(&schema_of(&crd), &crd.spec.names.kind, true, &mut found);
        assert!(
            found.is_empty(),
            "{} schema is not structural:\n{}",
            crd.spec.names.kind,
            found.join("\n")
        );
    }
}

#[test]
fn the_walker_catches_what_the_api_server_rejects() {
    let bad = json!({
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "both": {"type": "object", "properties": {"a": {"type": "string"}},
                     "additionalProperties": true, "x-kubernetes-preserve-unknown-fields": true},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "defaulted": {"type": "string", "default": "x"},
            "strict": {"type": "object", "properties": {"a": {"type": "string"}}}
        }
    });
    let mut found = Vec::new();
    structural_violations(&bad, "bad", true, &mut found);
    let expected = [
        "bad.untyped: no type",
        "bad.both: additionalProperties next to properties",
        "bad.either: no type",
        "bad.either: uses anyOf",
        "bad.defaulted: has default",
        "bad.strict: object drops unknown fields",
    ];
    for problem in expected {
        assert!(
            found.iter().any(|f| f == problem),
            "missing {problem:?} in {found:?}"
        );
    }
}

#[test]
fn make_structural_fixes_generated_shapes() {
    let mut schema = json!({
        "type": "object",
        "default": {},
        "properties": {
            "anything": {},
            "alsoAnything": true,
            "flattened": {"properties": {"a": {"type": "string", "default": ""}}, "additionalProperties": true},
            "list": {"items": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "count": {"x-kubernetes-int-or-string": true}
        }
    });
    make_structural(&mut schema, true);
    assert_eq!(
        schema,
        json!({
            "type": "object",
            "properties": {
                "anything": {PRESERVE_UNKNOWN: true},
                "alsoAnything": {PRESERVE_UNKNOWN: true},
                "flattened": {"type": "object", "properties": {"a": {"type": "string"}}, PRESERVE_UNKNOWN: true},
                "list": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "count": {"x-kubernetes-int-or-string": true}
            }
        })
    );
}

#[test]
fn crds_have_argo_cd_names_scope_and_subresources() {
    let crds = crds();
    let summary: Vec<_> = crds
        .iter()
        .map(|crd| {
            let version = &crd.spec.versions[0];
            (
                crd.metadata.name.clone().unwrap_or_default(),
                crd.spec.group.clone(),
                version.name.clone(),
                crd.spec.scope.clone(),
                crd.spec.names.short_names.clone().unwrap_or_default(),
                version
                    .subresources
                    .as_ref()
                    .and_then(|s| s.status.as_ref())
                    .is_some(),
                version.served && version.storage,
            )
        })
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        [
            (
                "applications.argoproj.io".into(),
                "argoproj.io".into(),
                "v1alpha1".into(),
                "Namespaced".into(),
                s(&["app", "apps"]),
                true,
                true
            ),
            (
                "applicationsets.argoproj.io".into(),
                "argoproj.io".into(),
                "v1alpha1".into(),
                "Namespaced".into(),
                s(&["appset", "appsets"]),
                true,
                true
            ),
            (
                "appprojects.argoproj.io".into(),
                "argoproj.io".into(),
                "v1alpha1".into(),
                "Namespaced".into(),
                s(&["appproj", "appprojs"]),
                false,
                true
            ),
        ]
    );
}

#[test]
fn application_schema_has_operation_next_to_spec_and_status() {
    let schema = schema_of(&Application::crd());
    let top: Vec<&String> = schema["properties"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(top, ["operation", "spec", "status"]);
    assert_eq!(schema["required"], json!(["spec"]));
    assert_eq!(
        property(&schema, &["spec"])["required"],
        json!(["destination", "project"])
    );
    let sync = property(&schema, &["operation", "sync", "resources", "[]"]);
    assert_eq!(sync["required"], json!(["kind", "name"]));
    let values_object = property(&schema, &["spec", "source", "helm", "valuesObject"]);
    assert_eq!(
        values_object,
        &json!({"description": "Values as an object; wins over `values` when both are set.",
        "type": "object", PRESERVE_UNKNOWN: true})
    );
    let count = property(
        &schema,
        &[
            "spec",
            "sources",
            "[]",
            "kustomize",
            "replicas",
            "[]",
            "count",
        ],
    );
    assert_eq!(count[INT_OR_STRING], json!(true));
    let health = property(&schema, &["status", "health", "status"]);
    assert_eq!(health["type"], json!("string"));
    assert!(
        health.get("enum").is_none(),
        "unknown health codes must be accepted"
    );
}

#[test]
fn yaml_stream_holds_the_three_crds() {
    let yaml = crds_yaml();
    assert!(yaml.starts_with("---\n"));
    let parsed: Vec<CustomResourceDefinition> = yaml
        .split("---\n")
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| serde_norway::from_str(doc).expect("each document is a CRD"))
        .collect();
    assert_eq!(parsed, crds());
}
