//! System-wide ignoreDifferences from the `argocd-cm` ConfigMap's data:
//!
//! - `resource.customizations.ignoreDifferences.<group_kind>`: `apps_Deployment`, or
//!   `Service` for the core group; the group and kind are separated by one `_`;
//! - `resource.customizations.ignoreDifferences.all`: every object;
//! - the older single key `resource.customizations`: a YAML map from `group/Kind` to a
//!   customization whose `ignoreDifferences` is a YAML string (or a mapping).
//!
//! Each value is YAML with `jsonPointers`, `jqPathExpressions` and `managedFieldsManagers`.

use crate::ignore::IgnoreRule;
use serde::Deserialize;

const PREFIX: &str = "resource.customizations.ignoreDifferences.";
const LEGACY_KEY: &str = "resource.customizations";

/// Why a ConfigMap entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreConfigError {
    #[error("failed to read ConfigMap key {key:?}: {detail}")]
    Yaml { key: String, detail: String },
    #[error(
        "failed to read ConfigMap key {key:?}: expected <group>_<Kind>, <Kind> or all after the prefix"
    )]
    GroupKind { key: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct IgnoreDifferencesYaml {
    json_pointers: Vec<String>,
    jq_path_expressions: Vec<String>,
    managed_fields_managers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LegacyCustomization {
    ignore_differences: Option<serde_norway::Value>,
}

/// Reads the system-wide rules out of the ConfigMap's `data` entries; keys that are not
/// about ignoreDifferences are skipped. Rules come out in key order, so the result does
/// not depend on the order a map iterates in.
pub fn rules_from_config_map<K, V>(
    data: impl IntoIterator<Item = (K, V)>,
) -> Result<Vec<IgnoreRule>, IgnoreConfigError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut entries: Vec<(K, V)> = data.into_iter().collect();
    entries.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    let mut rules = Vec::new();
    for (key, value) in &entries {
        let (key, value) = (key.as_ref(), value.as_ref());
        if let Some(group_kind) = key.strip_prefix(PREFIX) {
            let (group, kind) =
                split_group_kind(group_kind).ok_or_else(|| IgnoreConfigError::GroupKind {
                    key: key.to_owned(),
                })?;
            rules.push(rule_from_yaml(key, group, kind, value)?);
        } else if key == LEGACY_KEY {
            rules.extend(legacy_rules(key, value)?);
        }
    }
    Ok(rules)
}

fn split_group_kind(group_kind: &str) -> Option<(&str, &str)> {
    if group_kind == "all" {
        return Some(("*", "*"));
    }
    match group_kind.split('_').collect::<Vec<_>>()[..] {
        [kind] if !kind.is_empty() => Some(("", kind)),
        [group, kind] if !kind.is_empty() => Some((group, kind)),
        _ => None,
    }
}

fn rule_from_yaml(
    key: &str,
    group: &str,
    kind: &str,
    yaml: &str,
) -> Result<IgnoreRule, IgnoreConfigError> {
    let parsed: Option<IgnoreDifferencesYaml> =
        serde_norway::from_str(yaml).map_err(|e| yaml_error(key, e))?;
    Ok(to_rule(group, kind, parsed.unwrap_or_default()))
}

fn to_rule(group: &str, kind: &str, parsed: IgnoreDifferencesYaml) -> IgnoreRule {
    IgnoreRule {
        group: group.to_owned(),
        kind: kind.to_owned(),
        json_pointers: parsed.json_pointers,
        jq_path_expressions: parsed.jq_path_expressions,
        managed_fields_managers: parsed.managed_fields_managers,
        ..IgnoreRule::default()
    }
}

fn legacy_rules(key: &str, yaml: &str) -> Result<Vec<IgnoreRule>, IgnoreConfigError> {
    let parsed: Option<std::collections::BTreeMap<String, LegacyCustomization>> =
        serde_norway::from_str(yaml).map_err(|e| yaml_error(key, e))?;
    let mut rules = Vec::new();
    for (group_kind, customization) in parsed.unwrap_or_default() {
        let (group, kind) = group_kind
            .rsplit_once('/')
            .unwrap_or(("", group_kind.as_str()));
        let parsed = match customization.ignore_differences {
            None => continue,
            Some(serde_norway::Value::String(text)) => serde_norway::from_str(&text),
            Some(mapping) => serde_norway::from_value(mapping),
        };
        let parsed: Option<IgnoreDifferencesYaml> = parsed.map_err(|e| yaml_error(key, e))?;
        rules.push(to_rule(group, kind, parsed.unwrap_or_default()));
    }
    Ok(rules)
}

fn yaml_error(key: &str, error: serde_norway::Error) -> IgnoreConfigError {
    IgnoreConfigError::Yaml {
        key: key.to_owned(),
        detail: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_group_kind_core_kind_and_all_keys() {
        let data = [
            (
                "resource.customizations.ignoreDifferences.apps_Deployment",
                "jsonPointers:\n- /spec/replicas\n",
            ),
            (
                "resource.customizations.ignoreDifferences.Service",
                "jqPathExpressions:\n- .spec.clusterIP\n",
            ),
            (
                "resource.customizations.ignoreDifferences.all",
                "managedFieldsManagers:\n- kube-controller-manager\n",
            ),
            (
                "resource.customizations.health.apps_Deployment",
                "not: relevant",
            ),
            ("url", "https://example.com"),
        ];
        let rules = rules_from_config_map(data).unwrap();
        assert_eq!(
            rules,
            vec![
                IgnoreRule {
                    group: "".into(),
                    kind: "Service".into(),
                    jq_path_expressions: vec![".spec.clusterIP".into()],
                    ..Default::default()
                },
                IgnoreRule {
                    group: "*".into(),
                    kind: "*".into(),
                    managed_fields_managers: vec!["kube-controller-manager".into()],
                    ..Default::default()
                },
                IgnoreRule {
                    group: "apps".into(),
                    kind: "Deployment".into(),
                    json_pointers: vec!["/spec/replicas".into()],
                    ..Default::default()
                },
            ]
        );
    }

    #[test]
    fn reads_the_legacy_single_key() {
        let yaml = "admissionregistration.k8s.io/MutatingWebhookConfiguration:\n  ignoreDifferences: |\n    jsonPointers:\n    - /webhooks/0/clientConfig/caBundle\nConfigMap:\n  health.lua: x\n";
        let rules = rules_from_config_map([("resource.customizations", yaml)]).unwrap();
        assert_eq!(
            rules,
            vec![IgnoreRule {
                group: "admissionregistration.k8s.io".into(),
                kind: "MutatingWebhookConfiguration".into(),
                json_pointers: vec!["/webhooks/0/clientConfig/caBundle".into()],
                ..Default::default()
            }]
        );
    }

    #[test]
    fn malformed_entries_are_errors_naming_the_key() {
        let err =
            rules_from_config_map([("resource.customizations.ignoreDifferences.a_b_c", "{}")])
                .unwrap_err();
        assert!(matches!(err, IgnoreConfigError::GroupKind { .. }));
        let err = rules_from_config_map([(
            "resource.customizations.ignoreDifferences.Pod",
            "jsonPointers: 3",
        )])
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("resource.customizations.ignoreDifferences.Pod"),
            "{err}"
        );
    }
}
