//! The three ways JSON values are combined: mergo-style merges (for matrix/merge parameter
//! sets and per-generator templates) and the JSON merge patch of `templatePatch`.

use serde_json::{Map, Value};

/// `mergo.Merge(dst, src, WithOverride)`: objects merge key by key, anything else in `src`
/// replaces what `dst` has.
pub fn merge_override(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (key, value) in src {
        match (dst.get_mut(key), value) {
            (Some(Value::Object(d)), Value::Object(s)) => merge_override(d, s),
            _ => {
                dst.insert(key.clone(), value.clone());
            }
        }
    }
}

/// `mergo.Merge(dst, src)`: `src` only fills what `dst` leaves empty (missing, null, `""`,
/// `0`, `false`, `[]`); objects merge key by key.
pub fn fill_empty(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (key, value) in src {
        match (dst.get_mut(key), value) {
            (Some(Value::Object(d)), Value::Object(s)) => fill_empty(d, s),
            (Some(existing), _) if !is_empty(existing) => {}
            _ => {
                dst.insert(key.clone(), value.clone());
            }
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    }
}

/// RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else replaces. (What
/// a strategic merge patch does for an Application, whose lists have no merge keys.)
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn override_merges_objects_and_replaces_the_rest() {
        let mut dst = obj(json!({"a": {"x": 1, "y": 2}, "b": [1], "c": "keep"}));
        merge_override(&mut dst, &obj(json!({"a": {"y": 3}, "b": [2, 3]})));
        assert_eq!(
            Value::Object(dst),
            json!({"a": {"x": 1, "y": 3}, "b": [2, 3], "c": "keep"})
        );
    }

    #[test]
    fn fill_only_fills_empty_fields() {
        let mut dst = obj(json!({"name": "mine", "labels": {"a": "1"}, "ns": ""}));
        fill_empty(
            &mut dst,
            &obj(json!({"name": "base", "labels": {"b": "2"}, "ns": "x"})),
        );
        assert_eq!(
            Value::Object(dst),
            json!({"name": "mine", "labels": {"a": "1", "b": "2"}, "ns": "x"})
        );
    }

    #[test]
    fn merge_patch_deletes_with_null() {
        let mut target = json!({"spec": {"a": 1, "b": {"c": 2}}});
        merge_patch(&mut target, &json!({"spec": {"a": null, "b": {"d": 3}}}));
        assert_eq!(target, json!({"spec": {"b": {"c": 2, "d": 3}}}));
    }
}
