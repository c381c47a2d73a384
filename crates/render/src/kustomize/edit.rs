//! The edits Argo CD makes to a kustomization before building it (it runs `kustomize edit
//! set|add …`; `kubectl kustomize` has no `edit`, so the same changes are made here on
//! the parsed file). Pure: kustomization in, kustomization out.

use super::image;
use crate::spec::KustomizeOptions;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("failed to edit the kustomization: it is not a mapping")]
    NotAMapping,
    #[error(
        "failed to add {kind} {key}: it is already in the kustomization file (set force{kind_title}s to overwrite)"
    )]
    AlreadyPresent {
        kind: &'static str,
        kind_title: &'static str,
        key: String,
    },
    #[error("failed to add patches: the kustomization's patches is not a list")]
    PatchesNotAList,
    #[error(transparent)]
    Image(#[from] image::ImageError),
}

/// Applies the Application's kustomize options in Argo CD's order: name prefix and
/// suffix, images, replicas, labels, annotations, namespace, patches, components.
/// `components` are the ones to add (missing ones already dropped or refused by the caller).
pub fn apply(
    kustomization: &Value,
    options: &KustomizeOptions,
    components: &[String],
) -> Result<Value, EditError> {
    let mut k = match kustomization {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        _ => return Err(EditError::NotAMapping),
    };
    set_text(&mut k, "namePrefix", options.name_prefix.as_deref());
    set_text(&mut k, "nameSuffix", options.name_suffix.as_deref());
    if !options.images.is_empty() {
        let overrides = options
            .images
            .iter()
            .map(|i| image::parse(i))
            .collect::<Result<Vec<_>, _>>()?;
        let images = image::set_images(k.get("images"), &overrides);
        k.insert("images".into(), images);
    }
    if !options.replicas.is_empty() {
        set_replicas(&mut k, options);
    }
    if !options.common_labels.is_empty() {
        add_labels(&mut k, options)?;
    }
    if !options.common_annotations.is_empty() {
        let mut map = take_object(&mut k, "commonAnnotations");
        write_pairs(
            &mut map,
            &options.common_annotations,
            options.force_common_annotations,
            "annotation",
            "CommonAnnotation",
        )?;
        k.insert("commonAnnotations".into(), Value::Object(map));
    }
    set_text(&mut k, "namespace", options.namespace.as_deref());
    if !options.patches.is_empty() {
        match k
            .entry("patches")
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(patches) => patches.extend(options.patches.iter().cloned()),
            Value::Null => {
                k.insert("patches".into(), Value::Array(options.patches.clone()));
            }
            _ => return Err(EditError::PatchesNotAList),
        }
    }
    if !components.is_empty() {
        let mut list = match k.remove("components") {
            Some(Value::Array(list)) => list,
            _ => Vec::new(),
        };
        for component in components {
            let value = Value::String(component.clone());
            if !list.contains(&value) {
                list.push(value);
            }
        }
        k.insert("components".into(), Value::Array(list));
    }
    Ok(Value::Object(k))
}

fn set_text(k: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        k.insert(key.into(), Value::String(value.to_string()));
    }
}

/// `kustomize edit set replicas`: same-named entries replaced, list sorted by name.
fn set_replicas(k: &mut Map<String, Value>, options: &KustomizeOptions) {
    let mut by_name: BTreeMap<String, Value> = BTreeMap::new();
    for entry in k
        .get("replicas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = entry.get("name").and_then(Value::as_str) {
            by_name.insert(name.to_string(), entry.clone());
        }
    }
    for replica in &options.replicas {
        by_name.insert(
            replica.name.clone(),
            serde_json::json!({"name": replica.name, "count": replica.count}),
        );
    }
    k.insert(
        "replicas".into(),
        Value::Array(by_name.into_values().collect()),
    );
}

/// `kustomize edit add label [--force] [--without-selector [--include-templates]]`.
fn add_labels(k: &mut Map<String, Value>, options: &KustomizeOptions) -> Result<(), EditError> {
    if options.label_without_selector {
        let mut entry = Map::new();
        let mut pairs = Map::new();
        write_pairs(
            &mut pairs,
            &options.common_labels,
            options.force_common_labels,
            "label",
            "CommonLabel",
        )?;
        entry.insert("pairs".into(), Value::Object(pairs));
        if options.label_include_templates {
            entry.insert("includeTemplates".into(), Value::Bool(true));
        }
        match k
            .entry("labels")
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(list) => list.push(Value::Object(entry)),
            other => *other = Value::Array(vec![Value::Object(entry)]),
        }
        return Ok(());
    }
    let mut map = take_object(k, "commonLabels");
    write_pairs(
        &mut map,
        &options.common_labels,
        options.force_common_labels,
        "label",
        "CommonLabel",
    )?;
    k.insert("commonLabels".into(), Value::Object(map));
    Ok(())
}

fn take_object(k: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match k.remove(key) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn write_pairs(
    map: &mut Map<String, Value>,
    pairs: &BTreeMap<String, String>,
    force: bool,
    kind: &'static str,
    kind_title: &'static str,
) -> Result<(), EditError> {
    for (key, value) in pairs {
        if map.contains_key(key) && !force {
            return Err(EditError::AlreadyPresent {
                kind,
                kind_title,
                key: key.clone(),
            });
        }
        map.insert(key.clone(), Value::String(value.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_yaml_value;
    use pretty_assertions::assert_eq;
    use std::path::Path;

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/kustomize_edit")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The expected files were written by the real `kustomize edit` (see generate.sh);
    /// kustomize also adds apiVersion and kind, which do not change the build.
    fn expected(name: &str) -> Value {
        let mut value = parse_yaml_value(name, &fixture(name)).expect("expected parses");
        if let Some(map) = value.as_object_mut() {
            map.remove("apiVersion");
            map.remove("kind");
        }
        value
    }

    fn edit(options_file: &str) -> Result<Value, EditError> {
        let input = parse_yaml_value("input.yaml", &fixture("input.yaml")).expect("input parses");
        let options: KustomizeOptions =
            serde_json::from_str(&fixture(options_file)).expect("options parse");
        apply(&input, &options, &options.components)
    }

    #[test]
    fn edits_match_kustomize_edit() {
        assert_eq!(
            edit("options.json").expect("edits"),
            expected("expected.yaml")
        );
        assert_eq!(
            edit("options-without-selector.json").expect("edits"),
            expected("expected-without-selector.yaml")
        );
    }

    #[test]
    fn existing_label_without_force_is_refused_like_kustomize() {
        let input = serde_json::json!({"commonLabels": {"team": "a"}});
        let mut options = KustomizeOptions::default();
        options.common_labels.insert("team".into(), "b".into());
        let err = apply(&input, &options, &[]).expect_err("label exists");
        assert!(err.to_string().contains("label team"), "{err}");
    }

    #[test]
    fn patches_are_appended() {
        let input = serde_json::json!({"patches": [{"path": "a.yaml"}]});
        let options = KustomizeOptions {
            patches: vec![
                serde_json::json!({"patch": "- op: add", "target": {"kind": "Deployment"}}),
            ],
            ..KustomizeOptions::default()
        };
        let out = apply(&input, &options, &[]).expect("edits");
        assert_eq!(
            out["patches"],
            serde_json::json!([{"path": "a.yaml"}, {"patch": "- op: add", "target": {"kind": "Deployment"}}])
        );
    }
}
