//! Parameter sets: what a generator produces and a template reads. In default mode every
//! value is a string under a flat, dotted key (`path.basename`); in Go-template mode values
//! keep their JSON shape (`.path.basename`).

use serde_json::{Map, Value};

use crate::gotemplate::go_float;

/// One parameter set.
pub type Params = Map<String, Value>;

/// Go's `%v` of a decoded JSON value (numbers are `float64` in Go, so a million prints
/// `1e+06`; null prints `<nil>`).
pub fn go_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".into(),
        other => crate::gotemplate::go_sprint(&crate::gotemplate::from_json(other)),
    }
}

/// Flattens an object with dots as Argo CD does for default-mode parameters and for the
/// `selector` post-filter: nested keys join with `.`, list items by index (`ports.0`),
/// leaves print with Go's `%v`; empty objects and lists contribute nothing.
pub fn flatten(object: &Params) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        flatten_into(&mut out, key, value);
    }
    out
}

fn flatten_into(out: &mut Map<String, Value>, prefix: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten_into(out, &format!("{prefix}.{k}"), v);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_into(out, &format!("{prefix}.{i}"), v);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), Value::String(go_string(leaf)));
        }
    }
}

/// The parameter set as string labels (for `selector`).
pub fn as_labels(params: &Params) -> std::collections::BTreeMap<String, String> {
    flatten(params)
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => go_string(&other),
            };
            (k, text)
        })
        .collect()
}
