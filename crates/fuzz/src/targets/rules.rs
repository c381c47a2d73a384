//! ignoreDifferences rules as JSON, shared by the diff, ignore and jq targets.

use crate::generators::{jq, json};
use crate::rng::{Rng, one_in, pick, small};
use driftless_diff::IgnoreRule;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// Argo CD's `ResourceIgnoreDifferences`, as written in an Application.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    pub group: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub json_pointers: Vec<String>,
    pub jq_path_expressions: Vec<String>,
    pub managed_fields_managers: Vec<String>,
}

impl Rule {
    pub fn to_rule(&self) -> IgnoreRule {
        IgnoreRule {
            group: self.group.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            json_pointers: self.json_pointers.clone(),
            jq_path_expressions: self.jq_path_expressions.clone(),
            managed_fields_managers: self.managed_fields_managers.clone(),
        }
    }
}

pub fn to_rules(rules: &[Rule]) -> Vec<IgnoreRule> {
    rules.iter().map(Rule::to_rule).collect()
}

/// A JSON pointer, valid or not.
pub fn pointer(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..=small(rng, 5) {
        out.push('/');
        out.push_str(&match rng.random_range(0..8) {
            0 => rng.random_range(0..4).to_string(),
            1 => pick(
                rng,
                &[
                    "~0",
                    "~1",
                    "~",
                    "~2",
                    "-",
                    "",
                    "a~1b",
                    "01",
                    "-1",
                    "99999999999999999999",
                ],
            )
            .to_string(),
            2 => json::string(rng),
            _ => pick(
                rng,
                &[
                    "spec",
                    "metadata",
                    "annotations",
                    "template",
                    "containers",
                    "replicas",
                    "data",
                    "image",
                    "name",
                    "status",
                ],
            )
            .to_string(),
        });
    }
    if one_in(rng, 10) {
        out = out.trim_start_matches('/').to_string();
    }
    out
}

/// A rule aimed at the kinds the generators make.
pub fn rule(rng: &mut Rng) -> Rule {
    Rule {
        group: pick(rng, &["", "*", "apps", "ap?s", "*.k8s.io", "[", "**"]).to_string(),
        kind: pick(
            rng,
            &["*", "Deployment", "Secret", "ConfigMap", "Deploy*", "?", ""],
        )
        .to_string(),
        name: pick(rng, &["", "", "web", "a"]).to_string(),
        namespace: pick(rng, &["", "", "ns"]).to_string(),
        json_pointers: (0..small(rng, 2)).map(|_| pointer(rng)).collect(),
        // Compiling jq costs ~0.5 ms (jaq parses its standard library each time), so rules
        // carry one only now and then; the jq target covers expressions in depth.
        jq_path_expressions: (0..usize::from(one_in(rng, 4)))
            .map(|_| jq::expr(rng, 2))
            .collect(),
        managed_fields_managers: (0..small(rng, 2))
            .map(|_| {
                pick(
                    rng,
                    &[
                        "kubectl",
                        "hpa",
                        "kube-controller-manager",
                        "driftless",
                        "",
                        "*",
                    ],
                )
                .to_string()
            })
            .collect(),
    }
}
