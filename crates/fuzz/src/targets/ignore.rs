//! ignoreDifferences end to end: system rules read from an `argocd-cm` data map, app rules,
//! the paths they select, `RespectIgnoreDifferences` and the diff under them.

use super::rules::{self, Rule};
use super::{Target, decode, encode, mutate_json};
use crate::corpus;
use crate::generators::k8s;
use crate::rng::{Rng, one_in, pick, small};
use driftless_diff::{
    Differ, IgnoreRules, normalize, respect_ignored, respect_ignored_all, rules_from_config_map,
};
use driftless_model::ResourceKey;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const TARGET: Target = Target {
    name: "ignore",
    about: "driftless_diff::{rules_from_config_map, IgnoreRules, respect_ignored}",
    seeds,
    generate,
    mutate,
    run,
};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Input {
    /// `argocd-cm` data: `resource.customizations.ignoreDifferences.<group_kind>` and the legacy key.
    config: BTreeMap<String, String>,
    rules: Vec<Rule>,
    desired: Value,
    live: Value,
}

fn seeds() -> Vec<Vec<u8>> {
    let cases = corpus::yaml_values("crates/diff/testdata/cases");
    let pairs = super::diff::seed_inputs();
    cases
        .iter()
        .zip(pairs)
        .map(|(case, pair)| {
            let config = case
                .get("systemConfig")
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .unwrap_or_default();
            encode(&Input {
                config,
                rules: pair.rules,
                desired: pair.desired,
                live: pair.live,
            })
        })
        .collect()
}

fn yaml_rule(rng: &mut Rng) -> String {
    let rule = rules::rule(rng);
    let mut yaml = String::new();
    for (field, items) in [
        ("jsonPointers", &rule.json_pointers),
        ("jqPathExpressions", &rule.jq_path_expressions),
        ("managedFieldsManagers", &rule.managed_fields_managers),
    ] {
        if !items.is_empty() {
            yaml.push_str(&format!("{field}:\n"));
            for item in items {
                yaml.push_str(&format!("- {}\n", serde_json::Value::String(item.clone())));
            }
        }
    }
    if one_in(rng, 4) {
        yaml = crate::mutate::text(
            rng,
            &yaml,
            &["- ", ":", "\n", "  ", "[", "{", "|", "!!", "&a", "*a"],
        );
    }
    yaml
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    let pair = super::diff::generate_input(rng);
    let mut config = BTreeMap::new();
    for _ in 0..small(rng, 3) {
        let gk = pick(
            rng,
            &[
                "apps_Deployment",
                "Secret",
                "all",
                "_",
                "a_b_c",
                "",
                "ConfigMap",
                "apps_",
            ],
        );
        config.insert(
            format!("resource.customizations.ignoreDifferences.{gk}"),
            yaml_rule(rng),
        );
    }
    if one_in(rng, 3) {
        let gk = pick(rng, &["apps/Deployment", "Secret", "*/*", "", "a/b/c"]);
        let inner = yaml_rule(rng);
        let value = if rng.random_bool(0.5) {
            format!(
                "{gk}:\n  ignoreDifferences: {}\n",
                serde_json::Value::String(inner)
            )
        } else {
            format!(
                "{gk}:\n  ignoreDifferences:\n    jsonPointers: [/spec/replicas]\n  health.lua: x\n"
            )
        };
        config.insert("resource.customizations".into(), value);
    }
    encode(&Input {
        config,
        rules: pair.rules,
        desired: pair.desired,
        live: pair.live,
    })
}

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    mutate_json(rng, input, others, None, k8s::KEYS)
}

fn run(input: &[u8]) {
    let Some(input) = decode::<Input>(input) else {
        return;
    };
    let mut all = rules::to_rules(&input.rules);
    if let Ok(system) = rules_from_config_map(&input.config) {
        all.extend(system);
    }
    let Ok(prepared) = IgnoreRules::new(&all) else {
        return;
    };
    let Ok(key) = ResourceKey::of(&input.live).or_else(|_| ResourceKey::of(&input.desired)) else {
        return;
    };
    let (mut desired, mut live) = (normalize(&input.desired), normalize(&input.live));
    let _ = prepared.apply(&key, &[&input.live], &mut [&mut desired, &mut live]);
    let _ = prepared.selected_paths(&key, &input.live);
    let _ = respect_ignored(&prepared, &key, &input.desired, &input.live);
    let _ = respect_ignored_all(
        &prepared,
        std::slice::from_ref(&input.desired),
        std::slice::from_ref(&input.live),
    );
    if let Ok(differ) = Differ::new(&all, b"fuzz".to_vec()) {
        let _ = differ.diff(Some(&input.desired), Some(&input.live));
    }
}
