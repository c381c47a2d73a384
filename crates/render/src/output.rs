//! Printing desired objects for `driftless render`: a YAML stream or a JSON `List`, in
//! the (group, kind, namespace, name) order the render returns.

use crate::finalize::DesiredObject;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
#[error("failed to print objects: {0}")]
pub struct OutputError(String);

/// `---`-separated YAML documents, one per object.
pub fn to_yaml(objects: &[DesiredObject]) -> Result<String, OutputError> {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        out.push_str(
            &driftless_model::yaml::to_string(&object.object)
                .map_err(|e| OutputError(e.to_string()))?,
        );
    }
    Ok(out)
}

/// A `v1` `List` holding the objects, pretty-printed.
pub fn to_json(objects: &[DesiredObject]) -> Result<String, OutputError> {
    let items: Vec<&Value> = objects.iter().map(|o| &o.object).collect();
    serde_json::to_string_pretty(&json!({"apiVersion": "v1", "kind": "List", "items": items}))
        .map_err(|e| OutputError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Origin, parse_json, parse_yaml_stream};
    use driftless_model::ResourceKey;

    #[test]
    fn printed_objects_read_back_the_same() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"},
            "data": {"multi": "a\nb\n", "num": "1"}});
        let objects = vec![DesiredObject {
            key: ResourceKey::new("", "ConfigMap", "n", "c"),
            object: object.clone(),
            origin: Origin {
                file: "x.yaml".into(),
                line: 1,
                template: None,
            },
        }];
        let yaml = to_yaml(&objects).expect("yaml");
        assert_eq!(
            parse_yaml_stream("out", &yaml).expect("reads")[0].object,
            object
        );
        let list = to_json(&objects).expect("json");
        assert_eq!(parse_json("out", &list).expect("reads")[0].object, object);
    }
}
