//! The per-object `argocd.argoproj.io/compare-options` annotation: a comma-separated list
//! such as `IgnoreExtraneous, ServerSideDiff=true`.

use driftless_model::annotations::COMPARE_OPTIONS;
use serde_json::Value;

/// What an object's compare-options annotation asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareOptions {
    /// `IgnoreExtraneous`: when the object is only live (not in git), it does not make
    /// the application OutOfSync.
    pub ignore_extraneous: bool,
    /// `ServerSideDiff=true|false`: overrides the application's choice of diff mode.
    pub server_side_diff: Option<bool>,
    /// `IncludeMutationWebhook=true`: in a server-side diff, keep changes that mutating
    /// webhooks make (otherwise the edge runs the dry-run without them, as Argo CD does).
    pub include_mutation_webhook: bool,
}

impl CompareOptions {
    /// Reads the annotation of `object`; no annotation means all defaults.
    pub fn of(object: &Value) -> Self {
        object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(COMPARE_OPTIONS))
            .and_then(Value::as_str)
            .map(Self::parse)
            .unwrap_or_default()
    }

    /// Parses the annotation's value; unknown options are ignored.
    pub fn parse(value: &str) -> Self {
        let mut options = Self::default();
        for option in value.split(',').map(str::trim) {
            match option.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                None if option == "IgnoreExtraneous" => options.ignore_extraneous = true,
                Some(("ServerSideDiff", v)) => options.server_side_diff = v.parse().ok(),
                Some(("IncludeMutationWebhook", v)) => {
                    options.include_mutation_webhook = v == "true"
                }
                _ => {}
            }
        }
        options
    }
}

/// Whether a live-only object should be left out of the application's sync status:
/// it carries `argocd.argoproj.io/compare-options: IgnoreExtraneous`.
pub fn ignore_when_extraneous(live: &Value) -> bool {
    CompareOptions::of(live).ignore_extraneous
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_comma_separated_options() {
        assert_eq!(
            CompareOptions::parse(" ServerSideDiff=true ,IgnoreExtraneous,Unknown=1"),
            CompareOptions {
                ignore_extraneous: true,
                server_side_diff: Some(true),
                include_mutation_webhook: false
            }
        );
        assert_eq!(
            CompareOptions::parse("ServerSideDiff=false").server_side_diff,
            Some(false)
        );
        assert_eq!(CompareOptions::parse(""), CompareOptions::default());
    }

    #[test]
    fn ignore_extraneous_needs_the_annotation() {
        let annotated = json!({"metadata": {"annotations": {COMPARE_OPTIONS: "IgnoreExtraneous"}}});
        assert!(ignore_when_extraneous(&annotated));
        assert!(!ignore_when_extraneous(
            &json!({"metadata": {"annotations": {COMPARE_OPTIONS: "ServerSideDiff=true"}}})
        ));
        assert!(!ignore_when_extraneous(&json!({"metadata": {}})));
    }
}
