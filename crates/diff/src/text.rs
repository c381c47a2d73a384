//! Printing: objects as YAML and a unified diff per object.

use driftless_model::ResourceKey;
use serde_json::Value;
use similar::TextDiff;

/// YAML of an object, or nothing for an absent side.
pub fn to_yaml(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        // YAML of a JSON value cannot fail; fall back to JSON rather than panic if it ever does.
        Some(v) => serde_norway::to_string(v).unwrap_or_else(|_| format!("{v:#}\n")),
    }
}

/// A unified diff of `old` → `new` with a `---`/`+++` header naming the object as
/// `group/Kind/namespace/name` and which side is which (e.g. "live", "desired").
/// Callers mask Secrets before calling; [`crate::Differ`] always does.
pub fn unified_diff(
    key: &ResourceKey,
    old_label: &str,
    old: Option<&Value>,
    new_label: &str,
    new: Option<&Value>,
) -> String {
    let (old, new) = (to_yaml(old), to_yaml(new));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{old_label} {key}"), &format!("{new_label} {key}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_the_object_and_marks_changed_lines() {
        let key = ResourceKey::new("apps", "Deployment", "shop", "web");
        let text = unified_diff(
            &key,
            "live",
            Some(&json!({"spec": {"replicas": 1, "paused": false}})),
            "desired",
            Some(&json!({"spec": {"replicas": 2, "paused": false}})),
        );
        assert!(
            text.starts_with(
                "--- live apps/Deployment/shop/web\n+++ desired apps/Deployment/shop/web\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("-  replicas: 1\n") && text.contains("+  replicas: 2\n"),
            "{text}"
        );
        assert!(text.contains("   paused: false\n"), "{text}");
    }
}
