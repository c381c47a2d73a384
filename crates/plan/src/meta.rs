//! Reading the few metadata fields the plan needs from a JSON object.

use driftless_model::annotations::{HELM_HOOK_WEIGHT, SYNC_WAVE};
use serde_json::Value;

/// An annotation's value, if the object has it as a string.
pub fn annotation<'a>(object: &'a Value, name: &str) -> Option<&'a str> {
    object.pointer("/metadata/annotations")?.get(name)?.as_str()
}

/// Comma separated annotation values, trimmed, empty items dropped.
pub fn annotation_list(object: &Value, name: &str) -> Vec<String> {
    annotation(object, name)
        .map(|text| {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The object's wave: `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight`, else 0,
/// as Argo CD reads them. An unreadable value is passed over (as Argo CD does) and
/// reported in the returned warning.
pub fn wave(object: &Value) -> (i32, Option<String>) {
    let mut warning = None;
    for name in [SYNC_WAVE, HELM_HOOK_WEIGHT] {
        if let Some(text) = annotation(object, name) {
            match text.trim().parse::<i32>() {
                Ok(wave) => return (wave, warning),
                Err(_) => {
                    warning.get_or_insert_with(|| {
                        format!("{name} {text:?} is not a whole number; ignored")
                    });
                }
            }
        }
    }
    (0, warning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(annotations: Value) -> Value {
        json!({"metadata": {"name": "x", "annotations": annotations}})
    }

    #[test]
    fn sync_wave_wins_then_helm_weight_then_zero() {
        assert_eq!(
            wave(&obj(json!({SYNC_WAVE: "-3", HELM_HOOK_WEIGHT: "7"}))),
            (-3, None)
        );
        assert_eq!(wave(&obj(json!({HELM_HOOK_WEIGHT: " 7 "}))), (7, None));
        assert_eq!(wave(&obj(json!({}))), (0, None));
        assert_eq!(wave(&json!({"kind": "ConfigMap"})), (0, None));
    }

    #[test]
    fn unreadable_wave_falls_back_with_a_warning() {
        let (wave, warning) = wave(&obj(json!({SYNC_WAVE: "first", HELM_HOOK_WEIGHT: "2"})));
        assert_eq!(wave, 2);
        assert!(warning.is_some_and(|w| w.contains("\"first\"")));
        let (wave, _) = super::wave(&obj(json!({SYNC_WAVE: "99999999999"})));
        assert_eq!(wave, 0);
    }

    #[test]
    fn annotation_list_is_trimmed() {
        let object = obj(json!({"a": " PreSync, ,PostSync "}));
        assert_eq!(annotation_list(&object, "a"), ["PreSync", "PostSync"]);
        assert!(annotation_list(&object, "missing").is_empty());
    }
}
