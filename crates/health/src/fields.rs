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

/// A generation: an integer, or the decimal string some controllers write (Argo Rollouts,
/// Istio's int-or-string fields). Anything else (an old Rollout's hash) is not comparable
/// and reads as absent.
pub fn generation_at(obj: &Value, path: &[&str]) -> Option<i64> {
    let value = at(obj, path)?;
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
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
    /// The `metadata.generation` the condition was computed for, when the controller says.
    pub observed_generation: Option<i64>,
}

impl<'a> Condition<'a> {
    pub fn read(value: &'a Value) -> Self {
        Self {
            kind: text(value, &["type"]),
            status: text(value, &["status"]),
            reason: text(value, &["reason"]),
            message: text(value, &["message"]),
            observed_generation: generation_at(value, &["observedGeneration"]),
        }
    }

    pub fn is_true(&self) -> bool {
        self.status == "True"
    }

    pub fn is_false(&self) -> bool {
        self.status == "False"
    }

    /// "reason: message", or whichever of the two is present.
    pub fn describe(&self) -> String {
        match (self.reason, self.message) {
            ("", message) => message.to_string(),
            (reason, "") => reason.to_string(),
            (reason, message) => format!("{reason}: {message}"),
        }
    }
}

/// All entries of `status.conditions`.
pub fn conditions(obj: &Value) -> impl Iterator<Item = Condition<'_>> {
    conditions_in(obj, &["status", "conditions"])
}

/// All entries of a conditions list at `path` (Gateway API keeps one per parent).
pub fn conditions_in<'a>(obj: &'a Value, path: &[&str]) -> impl Iterator<Item = Condition<'a>> {
    list(obj, path).iter().map(Condition::read)
}

/// The first condition of a given type.
pub fn condition<'a>(obj: &'a Value, kind: &str) -> Option<Condition<'a>> {
    conditions(obj).find(|c| c.kind == kind)
}
