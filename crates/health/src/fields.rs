//! Lenient readers for the fields health checks look at. A field that is absent or of the
//! wrong type reads as absent: health checks must never fail on odd input.

use serde_json::Value;

/// The value at `path` (object keys), if every step exists.
pub fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |value, key| value.get(key))
}

pub fn str_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(obj, path).and_then(Value::as_str)
}

/// A string field, empty when absent.
pub fn text<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    str_at(obj, path).unwrap_or("")
}

/// Whether the object has a non-empty `status` (some controller has written to it).
pub fn has_status(obj: &Value) -> bool {
    at(obj, &["status"])
        .and_then(Value::as_object)
        .is_some_and(|status| !status.is_empty())
}

pub fn int_at(obj: &Value, path: &[&str]) -> Option<i64> {
    at(obj, path).and_then(Value::as_i64)
}

/// An integer field, 0 when absent (as Go's zero value, which Argo CD's checks rely on).
pub fn int(obj: &Value, path: &[&str]) -> i64 {
    int_at(obj, path).unwrap_or(0)
}

pub fn bool_at(obj: &Value, path: &[&str]) -> bool {
    at(obj, path).and_then(Value::as_bool).unwrap_or(false)
}

/// The items of a list field; empty when absent or not a list.
pub fn list<'a>(obj: &'a Value, path: &[&str]) -> &'a [Value] {
    at(obj, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The object's name, for messages.
pub fn name(obj: &Value) -> &str {
    text(obj, &["metadata", "name"])
}

/// One entry of a Kubernetes `status.conditions` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition<'a> {
    pub kind: &'a str,
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

impl<'a> Condition<'a> {
    pub fn read(value: &'a Value) -> Self {
        Self {
            kind: text(value, &["type"]),
            status: text(value, &["status"]),
            reason: text(value, &["reason"]),
            message: text(value, &["message"]),
        }
    }

    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// All entries of `status.conditions`.
pub fn conditions(obj: &Value) -> impl Iterator<Item = Condition<'_>> {
    list(obj, &["status", "conditions"])
        .iter()
        .map(Condition::read)
}

/// The first condition of a given type.
pub fn condition<'a>(obj: &'a Value, kind: &str) -> Option<Condition<'a>> {
    conditions(obj).find(|c| c.kind == kind)
}
