//! Volatile fields in the controller: the first render of a revision (per app, per process) is
//! done twice, and every leaf that differs (a `randAlphaNum` password, a timestamp) becomes a
//! `VolatileField` condition with the `ignoreDifferences` entry that would cover it. Unless the
//! app opts out (`driftless.dev/volatile-fields: apply`), a live object keeps its value at such
//! a path: a controller restart with an empty cache renders a new random value, and without
//! this it would overwrite the live Secret every time.

use crate::conditions::{Found, VOLATILE_FIELD};
use driftless_diff::{IgnoreRule, IgnoreRules, respect_ignored_all};
use driftless_guard::Finding;
use driftless_model::{Application, ResourceKey};
use serde_json::Value;
use std::collections::BTreeMap;

/// The annotation by which an Application opts out of keeping live values at volatile paths.
pub const VOLATILE_FIELDS: &str = "driftless.dev/volatile-fields";

/// Whether `app` keeps live values at volatile paths (the default).
pub fn keeps_live(app: &Application) -> bool {
    app.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(VOLATILE_FIELDS))
        .is_none_or(|v| v != "apply")
}

/// `desired` with each object that is live taking the live value at its volatile paths.
pub fn keep_live(desired: &[Value], live: &[Value], found: &[Finding]) -> Vec<Value> {
    let mut pointers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for finding in found.iter().filter(|f| !f.path.is_empty()) {
        pointers
            .entry(finding.object.as_str())
            .or_default()
            .push(finding.path.clone());
    }
    let rules: Vec<IgnoreRule> = desired
        .iter()
        .filter_map(|o| ResourceKey::of(o).ok())
        .filter_map(|key| {
            let paths = pointers.get(key.to_string().as_str())?;
            Some(IgnoreRule {
                group: key.group.clone(),
                kind: key.kind.clone(),
                name: key.name.clone(),
                namespace: key.namespace.clone(),
                json_pointers: paths.clone(),
                ..IgnoreRule::default()
            })
        })
        .collect();
    if rules.is_empty() {
        return desired.to_vec();
    }
    match IgnoreRules::new(&rules) {
        Ok(rules) => respect_ignored_all(&rules, desired, live),
        // A pointer the differ cannot read: keep what git says.
        Err(_) => desired.to_vec(),
    }
}

/// One `VolatileField` condition per object, with each path and its fix.
pub fn conditions(found: &[Finding]) -> Vec<Found> {
    let mut by_object: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // Each message names its path already.
    for finding in found {
        by_object
            .entry(finding.object.as_str())
            .or_default()
            .push(finding.message.clone());
    }
    by_object
        .into_iter()
        .map(|(object, messages)| {
            Found::new(VOLATILE_FIELD, format!("{object} {}", messages.join("; ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(key: &str, pod: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keys", "namespace": "shop"},
               "data": {"master-key": key, "fixed": "Zml4ZWQ="},
               "other": pod})
    }

    #[test]
    fn live_values_are_kept_only_at_volatile_paths() {
        let first = vec![secret("Zmlyc3Q=", "a")];
        let second = vec![secret("c2Vjb25k", "a")];
        let found = driftless_guard::volatile_fields("shop", &first, &second);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "/data/master-key");
        let live = vec![secret("bGl2ZQ==", "b")];
        let kept = keep_live(&second, &live, &found);
        assert_eq!(
            kept[0]["data"]["master-key"], "bGl2ZQ==",
            "the live key stays"
        );
        assert_eq!(kept[0]["other"], "a", "other fields still come from git");
        let new = keep_live(&second, &[], &found);
        assert_eq!(
            new[0]["data"]["master-key"], "c2Vjb25k",
            "a new object takes the render"
        );
        let shown = conditions(&found);
        assert_eq!(shown.len(), 1);
        assert!(
            shown[0]
                .message
                .starts_with("/Secret/shop/keys /data/master-key differs")
        );
        assert!(
            shown[0].message.contains("jsonPointers:"),
            "{}",
            shown[0].message
        );
        assert!(
            !shown[0].message.contains("c2Vjb25k"),
            "no Secret value shown"
        );
    }

    #[test]
    fn opting_out_is_an_annotation() {
        let mut app: Application = serde_json::from_value(json!({"metadata": {"name": "a"},
            "spec": {"project": "default", "destination": {}}}))
        .unwrap();
        assert!(keeps_live(&app));
        app.metadata.annotations =
            Some([(VOLATILE_FIELDS.to_string(), "apply".to_string())].into());
        assert!(!keeps_live(&app));
    }
}
