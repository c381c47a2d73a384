//! The comparison that decides Synced or OutOfSync, on normalized objects.
//!
//! Offline ([`compare_desired_fields`]): every field the desired manifest sets must have the
//! same value live; fields only live (server defaults, controller-set fields) do not count.
//! Server-side ([`compare_all_fields`]): a dry-run result is the full predicted object, so
//! every field on either side counts. Both share the value equality in [`scalars_equal`].

use crate::pointer::{Segment, format_pointer};
use crate::quantity::{is_quantity_path, same_quantity};
use serde_json::{Map, Number, Value};

/// What the offline comparison found: the differing fields as JSON pointers, and the two
/// sides as they should be printed. `live_view` holds only the live fields the desired
/// manifest speaks about (plus live list items past the desired list's end); where a
/// desired value equals the live one in another spelling, `desired_view` takes the live
/// spelling, so an equal field never shows as a changed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub changed_paths: Vec<String>,
    pub desired_view: Value,
    pub live_view: Value,
}

/// Compares the fields `desired` sets against `live` (both normalized). See the crate docs.
pub fn compare_desired_fields(desired: &Value, live: &Value) -> Comparison {
    let mut walker = Walker::default();
    let (desired_view, live_view) = walker.desired_fields(desired, live, false);
    Comparison {
        changed_paths: walker.changed,
        desired_view,
        live_view,
    }
}

/// Compares every field of a server-side dry-run result against live (both normalized).
pub fn compare_all_fields(predicted: &Value, live: &Value) -> Vec<String> {
    let mut walker = Walker::default();
    walker.all_fields(predicted, live);
    walker.changed
}

#[derive(Default)]
struct Walker {
    path: Vec<Segment>,
    changed: Vec<String>,
}

impl Walker {
    fn record(&mut self) {
        self.changed.push(format_pointer(&self.path));
    }

    fn at_root_api_version(&self, key: &str) -> bool {
        self.path.is_empty() && key == "apiVersion"
    }

    /// Returns (desired view, live view) of this subtree; `quiet` only builds the views
    /// (under a list already reported whole, because its length differs).
    fn desired_fields(&mut self, desired: &Value, live: &Value, quiet: bool) -> (Value, Value) {
        match (desired, live) {
            (Value::Object(d), Value::Object(l)) => {
                let mut d_view = Map::new();
                let mut l_view = Map::new();
                for (key, d_value) in d {
                    if d_value.is_null() {
                        continue; // "not set": the server drops nulls on write
                    }
                    if self.at_root_api_version(key) {
                        // Pairing is by group and kind; the version is how live was read.
                        d_view.insert(key.clone(), d_value.clone());
                        l_view.insert(key.clone(), d_value.clone());
                        continue;
                    }
                    self.path.push(Segment::Key(key.clone()));
                    match l.get(key) {
                        Some(l_value) => {
                            let (dv, lv) = self.desired_fields(d_value, l_value, quiet);
                            d_view.insert(key.clone(), dv);
                            l_view.insert(key.clone(), lv);
                        }
                        // Empty maps/lists and zero values are omitted by the server on write.
                        None if is_empty_or_zero(d_value) => {}
                        None => {
                            if !quiet {
                                self.record();
                            }
                            d_view.insert(key.clone(), d_value.clone());
                        }
                    }
                    self.path.pop();
                }
                (Value::Object(d_view), Value::Object(l_view))
            }
            (Value::Array(d), Value::Array(l)) => {
                let lengths_differ = d.len() != l.len();
                if lengths_differ && !quiet {
                    self.record();
                }
                let mut d_view = Vec::with_capacity(d.len());
                let mut l_view = Vec::with_capacity(l.len());
                for (i, d_item) in d.iter().enumerate() {
                    match l.get(i) {
                        Some(l_item) => {
                            self.path.push(Segment::Index(i));
                            let (dv, lv) =
                                self.desired_fields(d_item, l_item, quiet || lengths_differ);
                            self.path.pop();
                            d_view.push(dv);
                            l_view.push(lv);
                        }
                        None => d_view.push(d_item.clone()),
                    }
                }
                l_view.extend(l.iter().skip(d.len()).cloned());
                (Value::Array(d_view), Value::Array(l_view))
            }
            _ if scalars_equal(&self.path, desired, live) => (live.clone(), live.clone()),
            _ => {
                if !quiet {
                    self.record();
                }
                (desired.clone(), live.clone())
            }
        }
    }

    fn all_fields(&mut self, predicted: &Value, live: &Value) {
        match (predicted, live) {
            (Value::Object(p), Value::Object(l)) => {
                for (key, p_value) in p {
                    if self.at_root_api_version(key) {
                        continue;
                    }
                    self.path.push(Segment::Key(key.clone()));
                    match l.get(key) {
                        Some(l_value) => self.all_fields(p_value, l_value),
                        None if is_empty_or_zero(p_value) => {}
                        None => self.record(),
                    }
                    self.path.pop();
                }
                for (key, l_value) in l {
                    if !p.contains_key(key)
                        && !is_empty_or_zero(l_value)
                        && !self.at_root_api_version(key)
                    {
                        self.path.push(Segment::Key(key.clone()));
                        self.record();
                        self.path.pop();
                    }
                }
            }
            (Value::Array(p), Value::Array(l)) if p.len() == l.len() => {
                for (i, (p_item, l_item)) in p.iter().zip(l).enumerate() {
                    self.path.push(Segment::Index(i));
                    self.all_fields(p_item, l_item);
                    self.path.pop();
                }
            }
            _ if scalars_equal(&self.path, predicted, live) => {}
            _ => self.record(),
        }
    }
}

/// Null, false, 0, "", and maps/lists holding nothing but such values: what the API
/// server leaves out when it writes an object (Go's `omitempty`).
pub fn is_empty_or_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.values().all(is_empty_or_zero),
    }
}

/// Equality of two values at `path` up to the spellings the API server rewrites:
/// numbers by value (`1` = `1.0`), a number given as a string (`"80"` = `80`), and,
/// where the API types the field as a quantity, quantities by value (`1000m` = `1`).
pub fn scalars_equal(path: &[Segment], a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let same = match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            string_is_number(s, n)
        }
        _ => false,
    };
    same || (is_quantity_path(path) && same_quantity(a, b))
}

fn numbers_equal(x: &Number, y: &Number) -> bool {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        return a == b;
    }
    matches!((x.as_f64(), y.as_f64()), (Some(a), Some(b)) if a == b)
}

fn string_is_number(s: &str, n: &Number) -> bool {
    let s = s.trim();
    if let (Ok(a), Some(b)) = (s.parse::<i64>(), n.as_i64()) {
        return a == b;
    }
    if let (Ok(a), Some(b)) = (s.parse::<u64>(), n.as_u64()) {
        return a == b;
    }
    let looks_numeric = s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'));
    looks_numeric && matches!((s.parse::<f64>(), n.as_f64()), (Ok(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn live_only_fields_do_not_count_but_desired_ones_do() {
        let desired = json!({"spec": {"replicas": 2, "paused": false, "labels": {}, "x": null}});
        let live = json!({"spec": {"replicas": 2, "progressDeadlineSeconds": 600}});
        let result = compare_desired_fields(&desired, &live);
        assert!(
            result.changed_paths.is_empty(),
            "{:?}",
            result.changed_paths
        );
        assert_eq!(result.live_view, json!({"spec": {"replicas": 2}}));
        assert_eq!(result.desired_view, json!({"spec": {"replicas": 2}}));

        let desired = json!({"spec": {"replicas": 3, "extra": "yes"}});
        let result = compare_desired_fields(&desired, &live);
        assert_eq!(result.changed_paths, ["/spec/replicas", "/spec/extra"]);
    }

    #[test]
    fn lists_compare_by_position_and_a_length_change_is_one_difference() {
        let desired = json!({"args": ["a", "b"]});
        assert_eq!(
            compare_desired_fields(&desired, &json!({"args": ["a", "c"]})).changed_paths,
            ["/args/1"]
        );
        let result = compare_desired_fields(&desired, &json!({"args": ["a", "b", "c"]}));
        assert_eq!(result.changed_paths, ["/args"]);
        assert_eq!(result.live_view, json!({"args": ["a", "b", "c"]}));
    }

    #[test]
    fn other_spellings_of_the_same_value_are_equal_and_print_as_live() {
        let desired = json!({"spec": {"ports": [{"port": "80"}], "resources": {"limits": {"cpu": "1000m", "memory": "1073741824"}}}});
        let live = json!({"spec": {"ports": [{"port": 80}], "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}});
        let result = compare_desired_fields(&desired, &live);
        assert!(
            result.changed_paths.is_empty(),
            "{:?}",
            result.changed_paths
        );
        assert_eq!(result.desired_view, live);
        // A string that only looks like a quantity outside quantity fields stays a string.
        let result = compare_desired_fields(
            &json!({"data": {"cpu": "1000m"}}),
            &json!({"data": {"cpu": "1"}}),
        );
        assert_eq!(result.changed_paths, ["/data/cpu"]);
    }

    #[test]
    fn server_side_comparison_counts_fields_on_either_side() {
        let predicted = json!({"apiVersion": "apps/v1", "spec": {"replicas": 2, "a": {}}});
        let live = json!({"apiVersion": "apps/v1beta2", "spec": {"replicas": 2, "b": 1}});
        assert_eq!(compare_all_fields(&predicted, &live), ["/spec/b"]);
        assert_eq!(compare_all_fields(&live, &live), Vec::<String>::new());
    }
}
