//! Custom health checks: Lua scripts configured the way Argo CD reads them from `argocd-cm`.
//!
//! Two forms are read, as Argo CD does:
//! - flat keys `resource.customizations.health.<group>_<kind>` (or `.<kind>` for the core group),
//!   the value being the script;
//! - the `resource.customizations` key holding YAML, `<group>/<kind>` (or `<kind>`) mapping to
//!   an entry with `health.lua`; only this form can use `*` wildcards (`"*.crossplane.io/*"`).
//!
//! A flat key wins over the YAML entry for the same kind. An exact entry wins over wildcards;
//! among wildcards the first in sorted order wins (Argo CD takes an arbitrary one).
//! `resource.customizations.useOpenLibs.<group>_<kind>` is ignored on purpose: every script
//! runs in the same sandbox, whatever that key says (see `lua.rs`).
//! Other customization types (ignoreDifferences, actions, ...) belong to other parts and are skipped.

use crate::HealthStatus;
use crate::lua::{LuaLimits, run_health_script, syntax_error};
use serde_json::Value;
use std::collections::BTreeMap;

/// The ConfigMap key holding the YAML form.
pub const CUSTOMIZATIONS_KEY: &str = "resource.customizations";
/// The prefix of the flat form.
pub const HEALTH_KEY_PREFIX: &str = "resource.customizations.health.";
/// The field of a YAML entry that holds the health script.
const HEALTH_LUA_FIELD: &str = "health.lua";

/// Why the health customizations of a ConfigMap could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomChecksError {
    #[error(
        "failed to read ConfigMap key {key:?}: expected {HEALTH_KEY_PREFIX}<group>_<kind> or {HEALTH_KEY_PREFIX}<kind>"
    )]
    BadFlatKey { key: String },
    #[error("failed to parse {CUSTOMIZATIONS_KEY} as YAML: {reason}")]
    BadYaml { reason: String },
    #[error("failed to read {CUSTOMIZATIONS_KEY} entry {key:?}: {reason}")]
    BadEntry { key: String, reason: String },
    #[error("failed to compile the health script for {key}: {reason}")]
    BadScript { key: String, reason: String },
}

/// Health scripts by Argo CD's resource key: `group/Kind`, or `Kind` for the core group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomChecks {
    scripts: BTreeMap<String, String>,
    limits: LuaLimits,
}

impl CustomChecks {
    /// No custom checks: only the built-in ones apply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the health scripts out of an `argocd-cm` style ConfigMap's `data`.
    pub fn from_config_map_data(
        data: &BTreeMap<String, String>,
    ) -> Result<Self, CustomChecksError> {
        let mut checks = Self::new();
        if let Some(yaml) = data.get(CUSTOMIZATIONS_KEY) {
            checks.scripts.extend(read_yaml_form(yaml)?);
        }
        for (key, script) in data {
            let Some(group_kind) = key.strip_prefix(HEALTH_KEY_PREFIX) else {
                continue;
            };
            let resource_key = flat_key_to_resource_key(group_kind)
                .ok_or_else(|| CustomChecksError::BadFlatKey { key: key.clone() })?;
            checks.scripts.insert(resource_key, script.clone());
        }
        Ok(checks)
    }

    /// Adds (or replaces) the script for one group and kind; `group` is empty for the core group.
    pub fn with_script(mut self, group: &str, kind: &str, script: impl Into<String>) -> Self {
        self.scripts
            .insert(resource_key(group, kind), script.into());
        self
    }

    /// Changes the sandbox limits every script runs under.
    pub fn with_limits(mut self, limits: LuaLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> LuaLimits {
        self.limits
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// The configured resource keys (`group/Kind`, `Kind`, or wildcard patterns).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.scripts.keys().map(String::as_str)
    }

    /// The key and script that apply to a group and kind: exact match first, then wildcards.
    pub fn script_for(&self, group: &str, kind: &str) -> Option<(&str, &str)> {
        let wanted = resource_key(group, kind);
        if let Some((key, script)) = self.scripts.get_key_value(&wanted) {
            return Some((key, script));
        }
        self.scripts
            .iter()
            .find(|(pattern, _)| pattern.contains('*') && wildcard_match(pattern, &wanted))
            .map(|(key, script)| (key.as_str(), script.as_str()))
    }

    /// Runs the script for this object's kind, if one is configured. Any failure of the
    /// script is reported as `Unknown` with a message saying what failed; a script that
    /// returns `{}` gives no health (`None`), as Argo CD treats an empty status; the caller
    /// then falls back to the built-in check, as gitops-engine does for a nil override.
    pub fn evaluate(&self, obj: &Value, group: &str, kind: &str) -> Option<HealthStatus> {
        let (key, script) = self.script_for(group, kind)?;
        match run_health_script(key, script, obj, self.limits) {
            Ok(status) => status,
            Err(error) => Some(HealthStatus::unknown(error.to_string())),
        }
    }

    /// Scripts that do not even compile, for an offline check of the configuration.
    pub fn syntax_errors(&self) -> Vec<CustomChecksError> {
        self.scripts
            .iter()
            .filter_map(|(key, script)| {
                syntax_error(key, script).map(|reason| CustomChecksError::BadScript {
                    key: key.clone(),
                    reason,
                })
            })
            .collect()
    }
}

/// Argo CD's resource key: `group/Kind`, or just `Kind` for the core group.
fn resource_key(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{group}/{kind}")
    }
}

/// `cert-manager.io_Certificate` → `cert-manager.io/Certificate`, `Pod` → `Pod`, `all` → `*/*`.
/// Group names cannot hold `_`, so more than one `_` is an error, as in Argo CD.
fn flat_key_to_resource_key(group_kind: &str) -> Option<String> {
    let key = match group_kind.split('_').collect::<Vec<_>>().as_slice() {
        [group, kind] if !kind.is_empty() => format!("{group}/{kind}"),
        [kind] if !kind.is_empty() => (*kind).to_string(),
        _ => return None,
    };
    Some(if key == "all" { "*/*".to_string() } else { key })
}

fn read_yaml_form(yaml: &str) -> Result<BTreeMap<String, String>, CustomChecksError> {
    let parsed: serde_norway::Value =
        serde_norway::from_str(yaml).map_err(|error| CustomChecksError::BadYaml {
            reason: error.to_string(),
        })?;
    let entries = match parsed {
        serde_norway::Value::Null => return Ok(BTreeMap::new()),
        serde_norway::Value::Mapping(entries) => entries,
        _ => {
            return Err(CustomChecksError::BadYaml {
                reason: "expected a mapping of <group>/<kind> to settings".into(),
            });
        }
    };
    let mut scripts = BTreeMap::new();
    for (key, entry) in entries {
        let key = key
            .as_str()
            .ok_or_else(|| CustomChecksError::BadYaml {
                reason: format!("entry key {key:?} is not a string"),
            })?
            .to_string();
        let script = match entry.get(HEALTH_LUA_FIELD) {
            None | Some(serde_norway::Value::Null) => continue,
            Some(serde_norway::Value::String(script)) => script.clone(),
            Some(_) => {
                return Err(CustomChecksError::BadEntry {
                    key,
                    reason: format!("{HEALTH_LUA_FIELD} is not a string"),
                });
            }
        };
        scripts.insert(key, script);
    }
    Ok(scripts)
}

/// Glob match where `*` stands for any run of characters (including `/`), like Argo CD's.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle_and_last: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle_and_last.split_last() else {
        return rest.is_empty(); // no `*` at all: exact match
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flat_keys_name_group_and_kind() {
        let checks = CustomChecks::from_config_map_data(&data(&[
            (
                "resource.customizations.health.cert-manager.io_Certificate",
                "return {status='Healthy'}",
            ),
            (
                "resource.customizations.health.ConfigMap",
                "return {status='Degraded'}",
            ),
            (
                "resource.customizations.useOpenLibs.cert-manager.io_Certificate",
                "true",
            ),
            (
                "resource.customizations.ignoreDifferences.apps_Deployment",
                "jsonPointers: [/spec/replicas]",
            ),
            ("url", "https://argocd.example.com"),
        ]))
        .expect("valid config");
        assert_eq!(
            checks.keys().collect::<Vec<_>>(),
            vec!["ConfigMap", "cert-manager.io/Certificate"]
        );
        assert!(
            checks
                .script_for("cert-manager.io", "Certificate")
                .is_some()
        );
        assert!(checks.script_for("", "ConfigMap").is_some());
        assert!(checks.script_for("cert-manager.io", "Issuer").is_none());
    }

    #[test]
    fn flat_key_with_two_underscores_is_an_error() {
        let result = CustomChecks::from_config_map_data(&data(&[(
            "resource.customizations.health.a_b_C",
            "return {}",
        )]));
        assert_eq!(
            result,
            Err(CustomChecksError::BadFlatKey {
                key: "resource.customizations.health.a_b_C".into()
            })
        );
    }

    #[test]
    fn yaml_form_supports_wildcards_and_flat_keys_win() {
        let yaml = r#"
"*.aws.crossplane.io/*":
  health.lua: return {status = "Suspended"}
cert-manager.io/Certificate:
  health.lua: return {status = "Degraded"}
  useOpenLibs: true
apps/Deployment:
  ignoreDifferences: |
    jsonPointers: [/spec/replicas]
"#;
        let checks = CustomChecks::from_config_map_data(&data(&[
            ("resource.customizations", yaml),
            (
                "resource.customizations.health.cert-manager.io_Certificate",
                "return {status = 'Healthy'}",
            ),
        ]))
        .expect("valid config");
        assert_eq!(
            checks
                .script_for("cert-manager.io", "Certificate")
                .map(|(_, s)| s),
            Some("return {status = 'Healthy'}")
        );
        assert_eq!(
            checks
                .script_for("ec2.aws.crossplane.io", "Instance")
                .map(|(k, _)| k),
            Some("*.aws.crossplane.io/*")
        );
        assert!(checks.script_for("apps", "Deployment").is_none());
        assert!(
            checks
                .script_for("aws.crossplane.io.evil.com", "X")
                .is_none()
        );
    }

    #[test]
    fn bad_yaml_is_reported() {
        let result =
            CustomChecks::from_config_map_data(&data(&[("resource.customizations", "a: [1")]));
        assert!(
            matches!(result, Err(CustomChecksError::BadYaml { .. })),
            "{result:?}"
        );
        let result = CustomChecks::from_config_map_data(&data(&[(
            "resource.customizations",
            "x.io/Y:\n  health.lua: [1, 2]\n",
        )]));
        assert!(
            matches!(result, Err(CustomChecksError::BadEntry { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn wildcards_match_like_argo_cd() {
        assert!(wildcard_match("*/*", "apps/Deployment"));
        assert!(
            !wildcard_match("*/*", "Pod"),
            "core kinds have no slash in Argo CD's key"
        );
        assert!(wildcard_match(
            "ec2.aws.crossplane.io/*",
            "ec2.aws.crossplane.io/VPC"
        ));
        assert!(!wildcard_match(
            "ec2.aws.crossplane.io/*",
            "s3.aws.crossplane.io/Bucket"
        ));
        assert!(wildcard_match("*.io/Cert*", "cert-manager.io/Certificate"));
        assert!(!wildcard_match("*.io/Cert*", "cert-manager.io/Issuer"));
        assert!(wildcard_match("a*a", "aa"));
        assert!(!wildcard_match("a*a", "a"));
        assert!(wildcard_match("exact/Kind", "exact/Kind"));
    }

    #[test]
    fn all_means_every_grouped_kind() {
        let checks = CustomChecks::from_config_map_data(&data(&[(
            "resource.customizations.health.all",
            "return {status = 'Healthy'}",
        )]))
        .expect("valid config");
        assert_eq!(
            checks.script_for("apps", "Deployment").map(|(k, _)| k),
            Some("*/*")
        );
    }

    #[test]
    fn syntax_errors_are_found_without_running_scripts() {
        let checks = CustomChecks::new()
            .with_script("a.io", "Good", "while true do end")
            .with_script("a.io", "Bad", "return {status = ");
        let errors = checks.syntax_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].to_string().contains("a.io/Bad"), "{}", errors[0]);
    }
}
